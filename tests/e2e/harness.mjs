// Shared by the e2e test files: the server under test (CHAT_DEMO_URL, or one this process
// starts with a throw-away data dir: binary from CHAT_SERVER_BIN, else `cargo run -p
// chat-server`), Debian's Chromium launch options, and page diagnostics collected for failures.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const TIMEOUT = 15_000;
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

let server = null; // { proc, dataDir } when this process started the server

function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  const args = ['serve', '--demo', '--port', '0', '--data-dir', dataDir,
    '--static', '/pkg=pkg', '--static', '/js=js', '--static', '/=examples/demo'];
  const bin = process.env.CHAT_SERVER_BIN;
  const proc = bin
    ? spawn(bin, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('cargo', ['run', '-q', '-p', 'chat-server', '--', ...args],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  server = { proc, dataDir };
  return new Promise((resolveUrl, reject) => {
    let out = '';
    let err = '';
    // Building the server may take minutes the first time; this is a start-up guard, not a test.
    const timer = setTimeout(() => reject(new Error(`server did not start in time\n${out}\n${err}`)), 15 * 60_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/chat-server listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolveUrl(m[1].replace(/\/+$/, '')); }
    });
    proc.stderr.on('data', (d) => { err += d; if (err.length > 20_000) err = err.slice(-20_000); });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code})\n${out}\n${err}`)); });
  });
}

async function stopServer() {
  if (!server) return;
  const { proc, dataDir } = server;
  server = null;
  if (proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
  try { rmSync(dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
}

/** The server's base URL and a launched browser; `close()` ends both (the server only when this
 * process started it). */
export async function setUp() {
  const given = process.env.CHAT_DEMO_URL;
  const baseUrl = given ? given.replace(/\/+$/, '') : await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return {
    baseUrl,
    browser,
    async close() {
      await browser.close();
      await stopServer();
    },
  };
}

/** Records a page's console, errors, failed and refused requests in `logs`, tagged `who`. */
export function watchPage(page, who, logs) {
  page.on('console', (m) => logs.push(`[${who}] console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[${who}] pageerror: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) logs.push(`[${who}] HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  page.on('requestfailed', (r) => logs.push(`[${who}] request failed: ${r.url()} ${r.failure()?.errorText}`));
}
