// Shared by the e2e test files: the server under test (CHAT_DEMO_URL, or one this process
// starts with a throw-away data dir: binary from CHAT_SERVER_BIN, else `cargo run -p
// chat-server`), servers of a test's own (`startServer`: fixed port and data dir, to stop and
// restart), Debian's Chromium launch options, and page diagnostics collected for failures.
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

/**
 * Starts a chat-server of this process's own (binary from CHAT_SERVER_BIN, else `cargo run -p
 * chat-server`) in demo mode with the demo's static mounts, and resolves once it listens.
 *
 * Options: `port` (0 picks a free one; give the old one to restart on the same port), `dataDir`
 * (where the embedded Postgres and Redis live; default a fresh temporary directory, which
 * `stop()` removes unless told to keep it), `adminToken` (enables `POST /admin/apps`).
 *
 * Resolves with `{ url, port, dataDir, proc, output(), stop({ signal, keepData }) }`; rejects
 * with the server's output when it exits before listening (e.g. its data dir is still busy).
 */
export function startServer({ port = 0, dataDir, adminToken } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  const args = ['serve', '--demo', '--port', String(port), '--data-dir', dir,
    '--static', '/pkg=pkg', '--static', '/js=js', '--static', '/=examples/demo'];
  if (adminToken) args.push('--admin-token', adminToken);
  const bin = process.env.CHAT_SERVER_BIN;
  const proc = bin
    ? spawn(bin, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('cargo', ['run', '-q', '-p', 'chat-server', '--', ...args],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  let out = '';
  let err = '';
  const output = () => `${out}\n${err}`.trim();
  const handle = {
    proc,
    dataDir: dir,
    exited,
    output,
    /** Ends the server with `signal` (SIGTERM: graceful; SIGKILL: a crash) and waits for it
     * to exit; a SIGTERM that hangs for 10 s becomes a SIGKILL. Removes the data dir unless
     * `keepData` (or it was given by the caller). */
    async stop({ signal = 'SIGTERM', keepData = dataDir !== undefined } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      if (!keepData) {
        try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
      }
    },
  };
  return new Promise((resolveHandle, reject) => {
    // Building the server may take minutes the first time; this is a start-up guard, not a test.
    const timer = setTimeout(() => reject(new Error(`server did not start in time\n${output()}`)), 15 * 60_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/chat-server listening on (http:\/\/\S+)/);
      if (m && !handle.url) {
        clearTimeout(timer);
        handle.url = m[1].replace(/\/+$/, '');
        handle.port = Number(new URL(handle.url).port);
        resolveHandle(handle);
      }
    });
    proc.stderr.on('data', (d) => { err += d; if (err.length > 20_000) err = err.slice(-20_000); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!handle.url) {
        if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
        reject(Object.assign(new Error(`server exited (${code ?? signal}) before listening\n${output()}`),
          { output: output() }));
      }
    });
  });
}

/** Launches Debian's Chromium, headless, with the options that work on these machines. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** The server's base URL and a launched browser; `close()` ends both (the server only when this
 * process started it). */
export async function setUp() {
  const given = process.env.CHAT_DEMO_URL;
  const server = given ? null : await startServer();
  const baseUrl = given ? given.replace(/\/+$/, '') : server.url;
  const browser = await launchBrowser();
  return {
    baseUrl,
    browser,
    async close() {
      await browser.close();
      if (server) await server.stop();
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
