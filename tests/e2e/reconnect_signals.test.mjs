// End-to-end: the browser's signals cut a reconnect backoff short. With the socket down and the
// client waiting out its backoff, the tab becoming visible again, or the network coming back
// (`online`), makes it reconnect at once instead of when the backoff timer fires.
//
// This file runs a server of its own, so it can stop it (the client loses its socket and fails
// to reconnect for a while: real backoff) and start it again on the same port and data dir.
//
// Causality, not speed: the page of the client under test runs on Playwright's controllable
// clock. Once the client is in backoff the test pauses that clock, so no timer of the page can
// fire any more (the backoff's included); only then does the server come back and the signal
// get sent. A reconnect that follows can only have been caused by the signal. Nothing here
// measures how long anything took.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser } from './harness.mjs';
import { openClient, eventually, createChannel, pauseClock } from './client.mjs';

let server = null;
let dataDir = null;
let browser = null;
const logs = [];

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'chat-e2e-signals-'));
  server = await startServer({ dataDir });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function stopServer() {
  await server.stop({ signal: 'SIGTERM' });
}

async function startAgain() {
  server = await startServer({ port: server.port, dataDir });
}

async function withClients(t, fn) {
  const mark = logs.length;
  const opened = [];
  const run = randomUUID().slice(0, 8);
  const open = async (name, options) => {
    const c = await openClient({ browser, baseUrl: server.url, logs }, `${name}-${run}`, options);
    opened.push(c);
    return c;
  };
  try {
    await fn({ run, open });
  } catch (e) {
    const tail = logs.slice(mark).slice(-80);
    if (tail.length) t.diagnostic('browser log:');
    for (const line of tail) t.diagnostic(line);
    throw e;
  } finally {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) await startAgain();
    for (const c of opened) await c.close();
  }
}

/** A new channel of alice-<run> with `others` (names) as members, created over REST before
 * the clients connect (see createChannel in client.mjs). */
async function channelFor(run, others) {
  const channel = await createChannel(server.url, `alice-${run}`, others.map((n) => `${n}-${run}`), 'sig');
  return channel;
}

async function watchAll(clients, cid) {
  for (const c of clients) await c.call((x) => ch(x).watch(), cid);
}

const mark = (who, what) => who.page.evaluate((w) => window.events.push({ type: 'test.mark', what: w }), what);

/** The page's log from its last `test.mark` of `from` on, as short strings. */
async function logFrom(who, from) {
  const all = await who.events((e) => e.type.startsWith('test.') || e.type === 'connection.changed');
  const start = all.findIndex((e) => e.type === 'test.mark' && e.what === from);
  assert.ok(start >= 0, `no mark ${from}`);
  return all.slice(start).map((e) => (e.type === 'test.mark' ? `mark:${e.what}`
    : e.type === 'connection.changed' ? `state:${e.state}`
      : e.type === 'test.ws.closed' ? `closed:${e.code}` : e.type.replace(/^test\./, '')));
}

/**
 * Stops the server under `who` and waits until `who` is in backoff: it lost its socket and at
 * least `failures` reconnect attempts have failed since. Then pauses `who`'s clock and waits
 * for its last attempt to settle (no socket in flight), and starts the server again. From
 * then on only an outside signal can make `who` reconnect. Marks the log `paused`.
 */
async function intoFrozenBackoff(who, failures = 2) {
  await mark(who, 'stop');
  await stopServer();
  await eventually(`${who.userId} has failed ${failures} reconnect attempts`, async () => {
    const log = await logFrom(who, 'stop');
    assert.ok(log.includes('state:reconnecting'), `not reconnecting: ${log.join(' ')}`);
    const refused = log.filter((x) => x === 'closed:1006').length;
    assert.ok(refused >= failures, `${refused} refused attempts: ${log.join(' ')}`);
  }, 30_000);
  await pauseClock(who.page);
  await eventually(`${who.userId}'s last attempt has settled`, async () => {
    const open = await who.page.evaluate(() => {
      const created = window.events.filter((e) => e.type === 'test.ws.created').map((e) => e.socket);
      const closed = new Set(window.events.filter((e) => e.type === 'test.ws.closed').map((e) => e.socket));
      return created.filter((n) => !closed.has(n));
    });
    assert.deepEqual(open, [], 'a socket is still opening');
  });
  await startAgain();
  await mark(who, 'paused');
  assert.equal(await who.call(() => client.connectionState), 'reconnecting');
}

/** Asserts `who` went online again on exactly one new socket opened after the `cause` mark,
 * with nothing opened between `paused` and `cause`. */
async function reconnectedBy(who, cause) {
  const log = await eventually(`${who.userId} is online again`, async () => {
    const l = await logFrom(who, 'paused');
    assert.ok(l.includes('state:online'), l.join(' '));
    return l;
  });
  const at = log.indexOf(`mark:${cause}`);
  assert.ok(at > 0, log.join(' '));
  assert.deepEqual(log.slice(0, at).filter((x) => x === 'ws.created'), [], `no attempt before the ${cause} signal: ${log.join(' ')}`);
  assert.deepEqual(log.slice(at).filter((x) => !x.startsWith('mark:') && x !== 'state:reconnecting'),
    ['ws.created', 'ws.open', 'state:online'],
    `one new socket after the signal, then online: ${log.join(' ')}`);
}

test('a hidden tab becoming visible again ends the backoff at once, and the client catches up', async (t) => {
  await withClients(t, async ({ run, open }) => {
    const { cid } = await channelFor(run, ['bob']);
    const alice = await open('alice', { clock: true });
    const bob = await open('bob');
    await watchAll([alice, bob], cid);
    const m1 = await bob.call(async (c) => (await ch(c).sendMessage({ text: 'before' })).id, cid);
    await alice.waitEvent('m1', (e, id) => e.type === 'message.new' && e.message?.id === id, m1);

    await intoFrozenBackoff(alice);
    // bob (real clock) gets back by himself and sends while alice is still away.
    await eventually('bob is online again', async () => {
      const states = (await bob.events((e) => e.type === 'connection.changed')).map((e) => e.state);
      assert.ok(states.includes('reconnecting') && states.at(-1) === 'online', states.join(' '));
    });
    const m2 = await bob.call(async (c) => (await ch(c).sendMessage({ text: 'while alice waits' })).id, cid);

    // The tab is hidden (no reconnect for that), then visible again.
    await alice.page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await mark(alice, 'visible');
    await alice.page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await reconnectedBy(alice, 'visible');

    await eventually('alice has caught up', async () => {
      const ids = await alice.call((c) => ch(c).state.messages.map((m) => m.id), cid);
      assert.deepEqual(ids, [m1, m2]);
    });
    const delivered = await alice.events((e) => e.type === 'message.new');
    assert.deepEqual(delivered.map((e) => e.message.id), [m1, m2], 'each message delivered once, in order');
    await alice.page.clock.resume();
  });
});

test('the network coming back (offline, then online) reconnects at once, not when the backoff ends', async (t) => {
  await withClients(t, async ({ open }) => {
    const alice = await open('alice', { clock: true });
    await intoFrozenBackoff(alice);

    await alice.context.setOffline(true);
    await alice.waitEvent('offline', (e) => e.type === 'connection.changed' && e.state === 'offline');
    await mark(alice, 'online');
    await alice.context.setOffline(false);
    await reconnectedBy(alice, 'online');
    const log = await logFrom(alice, 'paused');
    assert.deepEqual(log.filter((x) => x.startsWith('state:')), ['state:offline', 'state:reconnecting', 'state:online'],
      `offline while the network is gone, then straight back: ${log.join(' ')}`);
    await alice.page.clock.resume();
  });
});

test('an `online` event while in backoff (no `offline` before it) reconnects at once', async (t) => {
  await withClients(t, async ({ open }) => {
    const alice = await open('alice', { clock: true });
    await intoFrozenBackoff(alice);
    await mark(alice, 'online');
    await alice.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await reconnectedBy(alice, 'online');
    await alice.page.clock.resume();
  });
});
