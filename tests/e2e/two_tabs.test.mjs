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
import { randomUUID } from 'node:crypto';
import { setUp, watchPage, TIMEOUT } from './harness.mjs';

let baseUrl = null;
let browser = null;
let env = null;         // the harness: server under test + launched browser
const logs = [];        // browser console + page errors, printed when a test fails

// ---- page helpers --------------------------------------------------------------------------

async function openAs(user) {
  const context = await browser.newContext();
  const page = await context.newPage();
  watchPage(page, user, logs);
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
  env = await setUp();
  ({ baseUrl, browser } = env);
});

after(async () => {
  if (env) await env.close();
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
