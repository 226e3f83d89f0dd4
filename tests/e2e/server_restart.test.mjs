// End-to-end: the server goes away under two connected clients and comes back on the same port
// and data dir (its embedded Postgres keeps the data; its Redis starts empty). Meanwhile one
// client keeps sending: its sends wait in the durable outbox and are delivered by the SDK itself
// once the server is back (same ids, so a send the server already took is not stored twice).
// Afterwards both clients must hold exactly what the server stored: every message once, in the
// server's order, no failed or pending echo left.
//
// This file runs servers of its own (a shared CHAT_DEMO_URL server cannot be restarted).
// Every wait polls with a deadline; nothing here asserts how long anything took.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startServer, launchBrowser } from './harness.mjs';
import { openClient, eventually, createChannel, pauseClock } from './client.mjs';

let server = null;
let dataDir = null;
let browser = null;
const logs = [];

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'chat-e2e-restart-'));
  server = await startServer({ dataDir });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Starts the server again on its port and data dir, the way a supervisor restarts a crashed
 * service (systemd's Restart=on-failure): a start that fails is tried again shortly after, up
 * to 40 times. Resolves with the failed starts' output. (A start stops the Postgres a killed
 * server left running on its data dir; a start racing the dead server's watchdog can still fail
 * once.)
 */
async function restart() {
  const { port } = server;
  const failures = [];
  for (;;) {
    try {
      server = await startServer({ port, dataDir });
      return failures;
    } catch (e) {
      failures.push(e.output ?? e.message);
      if (failures.length >= 40) throw e;
      await delay(250);
    }
  }
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
    const tail = logs.slice(mark).filter((l) => !l.includes('ERR_CONNECTION_REFUSED')).slice(-80);
    if (tail.length) t.diagnostic('browser log:');
    for (const line of tail) t.diagnostic(line);
    const serverLog = server.output().split('\n').filter((l) => /WARN|ERROR|panic/.test(l)).slice(-30);
    if (serverLog.length) t.diagnostic('server log (warnings and errors):');
    for (const line of serverLog) t.diagnostic(line);
    throw e;
  } finally {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) await restart();
    for (const c of opened) await c.close();
  }
}

/** A new channel of alice-<run> with `others` (names) as members, created over REST before
 * the clients connect (see createChannel in client.mjs). */
async function channelFor(run, others) {
  const channel = await createChannel(server.url, `alice-${run}`, others.map((n) => `${n}-${run}`), 'rst');
  return channel;
}

async function watchAll(clients, cid) {
  for (const c of clients) await c.call((x) => ch(x).watch(), cid);
}

/** The channel's messages as the server stored them (oldest first), read directly over REST
 * with a fresh token of `userId`, so no client state is involved. */
async function stored(userId, channelId) {
  const cred = await (await fetch(`${server.url}/dev/credentials?user_id=${encodeURIComponent(userId)}`)).json();
  const r = await fetch(`${server.url}/v1/channels/messaging/${channelId}/messages?limit=200`, {
    headers: { 'x-api-key': cred.api_key, authorization: `Bearer ${cred.token}` },
  });
  assert.equal(r.status, 200);
  const { messages } = await r.json();
  return messages;
}

/** Waits until `who` went through `reconnecting` and is `online` again. */
async function backOnline(who) {
  await eventually(`${who.userId} is online again`, async () => {
    const states = (await who.events((e) => e.type === 'connection.changed')).map((e) => e.state);
    assert.ok(states.includes('reconnecting') && states.at(-1) === 'online', states.join(' '));
  }, 60_000); // the reconnect backoff reaches 25 s (+ jitter) while the server is down
}

const stateOf = (who, cid) => who.call((c) => ch(c).state.messages.map((m) => ({ id: m.id, status: m.status ?? null })), cid);

/** Both clients converge on what the server stored: each message once, in order, none left
 * failed or pending; and each was delivered to bob's listeners once, in order. `expected`:
 * every id alice tried to send, in the order she sent them. */
async function assertConverged({ alice, bob }, { id, cid }, expected) {
  const server_ = (await stored(alice.userId, id)).map((m) => m.id);
  assert.deepEqual(server_, expected, 'the server stored every message alice sent, once, in order');
  for (const who of [alice, bob]) {
    await eventually(`${who.userId}'s state matches the server`, async () => {
      const state = await stateOf(who, cid);
      assert.deepEqual(state.map((m) => m.id), server_);
      assert.deepEqual(state.filter((m) => m.status === 'failed' || m.status === 'sending'), [], 'no echo left behind');
    });
  }
  const delivered = (await bob.events((e) => e.type === 'message.new')).map((e) => e.message.id);
  assert.deepEqual(delivered, server_, 'bob got one message.new per message, in order');
}

test('SIGTERM: a send while the server is down waits in the outbox; after the restart it and the rest reach both clients once, in order (bob catching up by sync)', async (t) => {
  await withClients(t, async ({ run, open }) => {
    const channel = await channelFor(run, ['bob']);
    const alice = await open('alice');
    const bob = await open('bob', { clock: true });
    await watchAll([alice, bob], channel.cid);
    const { cid } = channel;
    const sent = [];
    const send = async (text, id = randomUUID()) => {
      const m = await alice.call((a) => ch(a.cid).sendMessage({ id: a.id, text: a.text }), { cid, id, text });
      assert.equal(m.id, id);
      return id;
    };
    for (const text of ['one', 'two', 'three']) sent.push(await send(text));
    await bob.waitEvent('three', (e, id) => e.type === 'message.new' && e.message?.id === id, sent[2]);

    await server.stop({ signal: 'SIGTERM' });
    const down = randomUUID();
    sent.push(down);
    // Not awaited: the send resolves once delivered, after the restart.
    await alice.page.evaluate((a) => {
      window.downSend = ch(a.cid).sendMessage({ id: a.id, text: 'while down' })
        .then((m) => ({ id: m.id }), (e) => ({ failed: e.code }));
    }, { cid, id: down });
    await eventually('the send waits in the outbox, shown as sending', async () => {
      assert.deepEqual((await stateOf(alice, cid)).filter((m) => m.id === down), [{ id: down, status: 'sending' }]);
      const pending = await alice.call(() => client.pending());
      assert.deepEqual(pending.map((e) => [e.id, e.kind]), [[down, 'send']]);
    });

    // bob stays away until alice is done: his clock stops (no backoff timer fires) once he
    // has noticed the server is gone and has no attempt in flight.
    await eventually('bob noticed', async () => {
      assert.equal(await bob.call(() => client.connectionState), 'reconnecting');
    });
    await pauseClock(bob.page);
    await eventually('bob has no attempt in flight', async () => {
      const open = await bob.page.evaluate(() => {
        const closed = new Set(window.events.filter((e) => e.type === 'test.ws.closed').map((e) => e.socket));
        return window.events.filter((e) => e.type === 'test.ws.created' && !closed.has(e.socket)).length;
      });
      assert.equal(open, 0);
    });

    const failedStarts = await restart();
    assert.deepEqual(failedStarts, [], 'after a graceful stop the server starts again at once');
    assert.deepEqual((await stored(alice.userId, channel.id)).map((m) => m.id).slice(0, 3), sent.slice(0, 3),
      'what was acknowledged before the stop survived it');
    await backOnline(alice);
    // The outbox delivers the send made while the server was down, by itself.
    const delivered = await eventually('the queued send is delivered', async () => {
      const r = await alice.page.evaluate(() => window.downSend && Promise.race([window.downSend, null]));
      assert.ok(r, 'not delivered yet');
      return r;
    }, 60_000);
    assert.deepEqual(delivered, { id: down });
    sent.push(await send('after 1'));
    sent.push(await send('after 2'));
    assert.equal(await bob.call(() => client.connectionState), 'reconnecting', 'bob was away for all of it');

    await bob.page.clock.resume();
    await backOnline(bob);
    await assertConverged({ alice, bob }, channel, sent);
    sent.push(await send('live again'));
    await bob.waitEvent('a live message after the catch-up', (e, id) => e.type === 'message.new' && e.message?.id === id, sent.at(-1));
    await assertConverged({ alice, bob }, channel, sent);
  });
});

test('SIGKILL in the middle of a burst, with one send committed but its answer lost: after the restart, resending the failed ones (same ids) leaves every message once, in order, in both clients', async (t) => {
  await withClients(t, async ({ run, open }) => {
    const channel = await channelFor(run, ['bob']);
    const alice = await open('alice');
    const bob = await open('bob');
    await watchAll([alice, bob], channel.cid);
    const { cid } = channel;
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const KILL_AT = 6;

    // From the 6th send on, the first one the server takes (200) is committed and the server is
    // killed before its answer gets back to the page, which sees the connection reset. (A send
    // the loaded server answers 503 is passed through: the outbox retries it, in order.)
    let posts = 0;
    let killing = false;
    let killed = null;
    await alice.page.route(`**/v1/channels/messaging/${channel.id}/messages*`, async (route) => {
      if (route.request().method() !== 'POST' || ++posts < KILL_AT || killing) return route.continue();
      const answer = await route.fetch();
      if (answer.status() !== 200) return route.fulfill({ response: answer });
      killing = true;
      await server.stop({ signal: 'SIGKILL' });
      await route.abort('connectionreset');
      // Only now: the test unroutes once it sees this, which must not race the abort.
      killed = JSON.parse(route.request().postData()).id;
    });

    // alice sends the burst as an app does: every send at once (the outbox keeps the order),
    // recording each outcome.
    await alice.page.evaluate(({ c, ids: all }) => {
      window.burst = { acked: [], failed: [] };
      for (const [i, id] of all.entries()) {
        ch(c).sendMessage({ id, text: `burst ${i}` }).then(
          () => window.burst.acked.push(id),
          (e) => window.burst.failed.push({ id, code: e.code, retryable: e.retryable }),
        );
      }
    }, { c: cid, ids });
    await eventually('the server was killed with a send committed', async () => {
      assert.ok(killed);
    }, 30_000);
    const k = ids.indexOf(killed);
    assert.ok(k >= KILL_AT - 1, 'the committed send is one of the burst');
    const before = await eventually('the sends before it were acknowledged', async () => {
      const b = await alice.page.evaluate(() => window.burst);
      assert.deepEqual(b.acked, ids.slice(0, k));
      return b;
    });
    assert.deepEqual(before.failed, [], 'nothing is refused: the rest waits in the outbox');
    await alice.page.unrouteAll();

    const failedStarts = await restart();
    if (failedStarts.length) {
      t.diagnostic(`${failedStarts.length} start(s) failed after the SIGKILL before one succeeded; first: ${failedStarts[0].split('\n').slice(-3).join(' | ')}`);
    }
    const afterKill = (await stored(alice.userId, channel.id)).map((m) => m.id);
    assert.deepEqual(afterKill.slice(0, k + 1), ids.slice(0, k + 1),
      'every acknowledged send, and the committed one whose answer was lost, survived the kill');

    await backOnline(alice);
    await backOnline(bob);
    // The outbox resends the one whose answer was lost (the server recognises its id) and
    // delivers the rest, by itself.
    const burst = await eventually('every send of the burst is delivered', async () => {
      const b = await alice.page.evaluate(() => window.burst);
      if (b.acked.length !== ids.length) {
        const outbox = await alice.call(() => client.pending());
        const onServer = (await stored(alice.userId, channel.id)).length;
        assert.fail(`${b.acked.length}/${ids.length} acknowledged, ${onServer} on the server, ` +
          `outbox: ${JSON.stringify(outbox.map((e) => [ids.indexOf(e.id), e.state, e.attempts, e.code ?? '']))}`);
      }
      return b;
    }, 90_000);
    assert.deepEqual(burst.failed, []);
    await assertConverged({ alice, bob }, channel, ids);
  });
});

/** Whether the watchdog of the server process `pid` (a shell polling `kill -0 pid`) runs. */
function watchdogRunning(pid) {
  return spawnSync('pgrep', ['-f', `kill -0 ${pid} `]).status === 0;
}

/** A REST call that needs the server's Postgres: a new user's credentials and its channels. */
async function usesTheDatabase(url) {
  const cred = await (await fetch(`${url}/dev/credentials?user_id=${randomUUID().slice(0, 8)}`)).json();
  const r = await fetch(`${url}/v1/channels/query`, {
    method: 'POST',
    headers: { 'x-api-key': cred.api_key, authorization: `Bearer ${cred.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ filter: {} }),
  });
  return r.status;
}

test('a server killed with SIGKILL starts again on its data dir (the Postgres it left running is stopped), and the dead server\'s watchdog leaves the new one\'s Postgres alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-e2e-kill-'));
  let s = await startServer({ dataDir: dir });
  try {
    const dead = s.proc.pid;
    assert.ok(watchdogRunning(dead), 'the server runs a watchdog');
    await s.stop({ signal: 'SIGKILL' });
    const failed = [];
    for (;;) {
      try {
        s = await startServer({ port: s.port, dataDir: dir });
        break;
      } catch (e) {
        failed.push(e.output ?? e.message);
        if (failed.length >= 3) throw e;
        await delay(250);
      }
    }
    if (failed.length) t.diagnostic(`${failed.length} start(s) failed first`);
    assert.ok(failed.length <= 2, 'no supervisor loop waiting for the dead server\'s watchdog');
    // The dead server's watchdog wakes up (it polls once a second) and cleans up after it: it
    // must stop only what that server started, not the Postgres now running on the same dir.
    await eventually('the dead server\'s watchdog has finished', () => assert.ok(!watchdogRunning(dead)), 20_000);
    assert.equal(await usesTheDatabase(s.url), 200, 'the restarted server still has its database');
  } finally {
    await s.stop();
    // Leave nothing running in there: the killed server's watchdog stops its Postgres.
    await eventually('the killed server\'s Postgres has stopped', () =>
      assert.ok(!existsSync(join(dir, 'pg', 'postmaster.pid'))), 20_000).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
