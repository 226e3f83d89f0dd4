// End-to-end: the demo page (examples/demo) driven in Debian's Chromium via playwright-core.
//
// Run:  CHAT_DEMO_URL=http://127.0.0.1:PORT node --test tests/e2e/
// where the server was started with
//   chat-server serve --demo --port 0 --static /pkg=pkg --static /js=js --static /=examples/demo
// If CHAT_DEMO_URL is not set, this file starts such a server itself (binary from
// CHAT_SERVER_BIN, else `cargo run -p chat-server`), with a throw-away data dir.
//
// Timeouts are generous; nothing here asserts how long anything took.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const TIMEOUT = 15_000;
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

let baseUrl = process.env.CHAT_DEMO_URL ? process.env.CHAT_DEMO_URL.replace(/\/+$/, '') : null;
let server = null;      // { proc, dataDir } when this file started the server
let browser = null;
const logs = [];        // browser console + page errors, printed when a test fails

// ---- server (only when CHAT_DEMO_URL is not given) -----------------------------------------

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

// ---- page helpers --------------------------------------------------------------------------

async function openAs(user) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => logs.push(`[${user}] console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[${user}] pageerror: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) logs.push(`[${user}] HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  page.on('requestfailed', (r) => logs.push(`[${user}] request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${baseUrl}/?user=${encodeURIComponent(user)}`, { timeout: TIMEOUT });
  await waitReady(page, user);
  return { context, page };
}

async function describe(page) {
  try {
    return await page.evaluate(() => ({
      status: document.querySelector('#status')?.textContent,
      ready: document.body.dataset.ready ?? null,
      error: document.querySelector('#error')?.hidden ? null : document.querySelector('#error')?.textContent,
      messages: document.querySelectorAll('#messages .message').length,
    }));
  } catch (e) {
    return { unavailable: String(e) };
  }
}

/** Waits until #status reads `online` and the page has loaded its channel. */
async function waitReady(page, user) {
  try {
    await page.waitForFunction(
      () => document.querySelector('#status')?.textContent.trim() === 'online'
        && document.body.dataset.ready === 'true',
      null, { timeout: TIMEOUT });
  } catch (e) {
    throw new Error(`${user}'s page did not become ready (status online + channel loaded): `
      + `${JSON.stringify(await describe(page))}\n${e.message}`);
  }
}

/** How many `.message` elements in #messages have exactly this text. */
function countText(page, text) {
  return page.$$eval('#messages .message', (els, t) =>
    els.filter((el) => el.querySelector('.text')?.textContent === t).length, text);
}

async function waitForText(page, text, who) {
  try {
    await page.waitForFunction((t) => [...document.querySelectorAll('#messages .message .text')]
      .some((el) => el.textContent === t), text, { timeout: TIMEOUT });
  } catch (e) {
    throw new Error(`message ${JSON.stringify(text)} never appeared on ${who}'s page: `
      + `${JSON.stringify(await describe(page))}\n${e.message}`);
  }
}

async function send(page, text) {
  await page.fill('#composer', text, { timeout: TIMEOUT });
  await page.click('#send', { timeout: TIMEOUT });
}

/** Sender (user id, and the name shown) of the message element carrying this text. */
function senderOf(page, text) {
  return page.$$eval('#messages .message', (els, t) => {
    const el = els.find((e) => e.querySelector('.text')?.textContent === t);
    const sender = el?.querySelector('.sender');
    return el ? { sender: sender?.dataset.user, senderText: sender?.textContent, id: el.dataset.id } : null;
  }, text);
}

async function errorShown(page) {
  return page.evaluate(() => {
    const e = document.querySelector('#error');
    return e && !e.hidden ? e.textContent : null;
  });
}

// ---- lifecycle -----------------------------------------------------------------------------

before(async () => {
  if (!baseUrl) baseUrl = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  if (browser) await browser.close();
  await stopServer();
});

async function withDiagnostics(t, fn) {
  const mark = logs.length;
  try {
    await fn();
  } catch (e) {
    const tail = logs.slice(mark).slice(-80);
    if (tail.length) t.diagnostic('browser log:');
    for (const line of tail) t.diagnostic(line);
    throw e;
  }
}

// ---- tests ---------------------------------------------------------------------------------

test('a message typed in alice\'s tab shows up exactly once in bob\'s tab (and in alice\'s)', async (t) => {
  await withDiagnostics(t, async () => {
    const alice = await openAs('alice');
    const bob = await openAs('bob');
    try {
      const text = `hello bob ${randomUUID()}`;
      await send(alice.page, text);
      await waitForText(bob.page, text, 'bob');
      await waitForText(alice.page, text, 'alice');

      // A duplicate would arrive before a later message on the same ordered stream, so send a
      // marker and wait for it before counting (no sleeping, no timing assumptions).
      const marker = `marker ${randomUUID()}`;
      await send(alice.page, marker);
      await waitForText(bob.page, marker, 'bob');
      await waitForText(alice.page, marker, 'alice');

      assert.equal(await countText(bob.page, text), 1, 'bob sees the message exactly once');
      assert.equal(await countText(alice.page, text), 1, 'alice sees the message exactly once');
      const seen = await senderOf(bob.page, text);
      assert.equal(seen.sender, 'alice', 'bob sees alice as the sender');
      assert.match(seen.senderText, /alice/i, 'the sender is shown by name');
      assert.ok(seen.id, 'message element carries data-id');
      assert.equal((await senderOf(alice.page, text)).id, seen.id, 'same message id in both tabs');
      assert.equal(await errorShown(alice.page), null, 'no error shown to alice');
      assert.equal(await errorShown(bob.page), null, 'no error shown to bob');
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });
});

test('a message that arrived live is still there after bob reloads (history from the server)', async (t) => {
  await withDiagnostics(t, async () => {
    const bob = await openAs('bob');
    const alice = await openAs('alice');
    try {
      const text = `before reload ${randomUUID()}`;
      await send(alice.page, text);
      await waitForText(bob.page, text, 'bob');
      assert.equal(await countText(bob.page, text), 1, 'arrived once while bob was open');

      await bob.page.reload({ timeout: TIMEOUT });
      await waitReady(bob.page, 'bob');
      await waitForText(bob.page, text, 'bob (after reload)');
      assert.equal(await countText(bob.page, text), 1, 'still exactly once after reload');
      assert.equal((await senderOf(bob.page, text)).sender, 'alice');
      assert.equal(await errorShown(bob.page), null, 'no error shown to bob');
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });
});
