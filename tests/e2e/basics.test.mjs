// End-to-end: the client's basics through the JS API (js/index.js) in Debian's Chromium against
// a real server — connect and disconnect, a message reaching the other client exactly once, a
// resend of the same id, error codes, listeners after disconnect and unsubscribe, live events
// in `channel.state`, and a dropped socket catching up with nothing lost or doubled.
//
// Run:  CHAT_DEMO_URL=http://127.0.0.1:PORT node --test tests/e2e/  (see api.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setUp } from './harness.mjs';
import { openClient as openClientIn, eventually } from './client.mjs';

let env = null;
const logs = [];
const opened = [];

before(async () => { env = await setUp(); });
after(async () => {
  for (const c of opened) await c.close();
  if (env) await env.close();
});

const unique = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`;
const open = async (userId) => {
  const c = await openClientIn({ browser: env.browser, baseUrl: env.baseUrl, logs }, userId);
  opened.push(c);
  return c;
};

/** `creator` creates (and watches) a new channel with `members`; returns its cid. */
async function room(creator, members) {
  const cid = `messaging:${unique('room')}`;
  await creator.call(async ([c, m]) => {
    const made = client.channel('messaging', c.split(':')[1], { name: 'Test room', members: m });
    window.handles[c] = made;
    await made.create();
  }, [cid, members]);
  return cid;
}

/** Runs `fn` and prints the browser log when it fails. */
async function logged(t, fn) {
  const mark = logs.length;
  try {
    await fn();
  } catch (e) {
    for (const line of logs.slice(mark).slice(-80)) t.diagnostic(line);
    throw e;
  }
}

test('connect goes online; disconnect closes (connection.changed), twice is harmless', { timeout: 60_000 }, (t) => logged(t, async () => {
  const user = unique('u');
  const c = await open(user);
  assert.equal(await c.call(() => client.userId), user);
  assert.equal(await c.call(() => client.connectionState), 'online');
  await c.call(() => client.disconnect());
  assert.equal(await c.call(() => client.connectionState), 'closed');
  const closed = await c.waitEvent('connection.changed (closed)', (e) => e.type === 'connection.changed' && e.state === 'closed');
  assert.equal(closed.online, false);
  await c.call(() => client.disconnect());
}));

test('a message reaches the other client exactly once, and only listeners of its channel', { timeout: 60_000 }, (t) => logged(t, async () => {
  const [a, b] = [unique('alice'), unique('bob')];
  const alice = await open(a);
  const bob = await open(b);
  const cid = await room(alice, [a, b]);
  await bob.call((c) => {
    window.inRoom = [];
    window.elsewhere = [];
    ch(c).on('message.new', (e) => window.inRoom.push(e.message.id));
    ch(`messaging:${c.split(':')[1]}-other`).on('*', (e) => window.elsewhere.push(e.type));
  }, cid);
  const sent = await alice.call((c) => ch(c).sendMessage({ text: 'hello bob' }), cid);
  assert.match(sent.id, /^[0-9a-f-]{36}$/, 'a uuid was generated');
  assert.equal(sent.text, 'hello bob');
  const is = (e, id) => e.type === 'message.new' && e.message.id === id;
  const event = await bob.waitEvent('message.new', is, sent.id);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await bob.events(is, sent.id)).length, 1, 'delivered exactly once');
  assert.deepEqual(await bob.call(() => window.inRoom), [sent.id], 'the channel listener got it too');
  assert.deepEqual(await bob.call(() => window.elsewhere), [], 'other channels\' listeners did not');
  assert.equal(event.cid, cid);
  assert.equal(event.message.text, 'hello bob');
  assert.equal(event.message.user_id, a);
}));

test('resending the same id returns the same message, stored once', { timeout: 60_000 }, (t) => logged(t, async () => {
  const user = unique('u');
  const c = await open(user);
  const cid = await room(c, [user]);
  const id = randomUUID();
  const [first, again] = await c.call(async ([cid, id]) => [
    await ch(cid).sendMessage({ id, text: 'once' }),
    await ch(cid).sendMessage({ id, text: 'once' }),
  ], [cid, id]);
  assert.equal(first.id, id);
  assert.equal(again.id, id);
  assert.equal(first.channel_seq, again.channel_seq);
  const page = await c.call((cid) => ch(cid).queryMessages({ limit: 50 }), cid);
  assert.equal(page.filter((m) => m.id === id).length, 1, 'stored once');
}));

test('an unknown api key, a bad token and missing options reject with their codes', { timeout: 60_000 }, (t) => logged(t, async () => {
  const c = await open(unique('u'));
  const tries = await c.call(async () => {
    const { ChatClient } = await import('/js/index.js');
    const base = { apiUrl: location.origin, userId: client.userId };
    const attempt = async (options) => {
      try {
        await ChatClient.connect(options);
        return null;
      } catch (e) {
        return { error: e instanceof Error, code: e.code, status: e.status, retryable: e.retryable };
      }
    };
    const r = await fetch(`/dev/credentials?user_id=${encodeURIComponent(client.userId)}`);
    const { token } = await r.json();
    return [
      await attempt({ ...base, apiKey: 'no-such-key', token }),
      await attempt({ ...base, apiKey: 'demo', token: 'not.a.jwt' }),
      await attempt({ apiKey: 'demo' }),
    ];
  });
  assert.deepEqual([tries[0].error, tries[0].code, tries[0].retryable], [true, 'unknown_api_key', false]);
  assert.equal(tries[1].code, 'invalid_token');
  assert.deepEqual([tries[2].code, tries[2].status], ['invalid_input', 0]);
}));

test('HTTP errors reject with code, status and retryable', { timeout: 60_000 }, (t) => logged(t, async () => {
  const owner = await open(unique('owner'));
  const cid = await room(owner, [owner.userId]);
  const outsider = await open(unique('outsider'));
  const e = await outsider.fail((c) => ch(c).queryMessages(), cid);
  assert.ok(['forbidden', 'not_found'].includes(e.code), e.code);
  assert.ok([403, 404].includes(e.status), String(e.status));
  assert.equal(e.retryable, false);
}));

test('no events after disconnect() or after unsubscribing; other listeners still called', { timeout: 60_000 }, (t) => logged(t, async () => {
  const [a, b, c] = [unique('alice'), unique('bob'), unique('carol')];
  const alice = await open(a);
  const bob = await open(b);
  const carol = await open(c);
  const cid = await room(alice, [a, b, c]);
  await bob.call(() => { window.got = []; client.on('message.new', (e) => window.got.push(e.type)); });
  await carol.call(() => {
    window.got = [];
    window.still = [];
    const off = client.on('message.new', (e) => window.got.push(e.type));
    client.on('message.new', (e) => window.still.push(e.type));
    off();
  });
  await bob.call(() => client.disconnect());
  assert.equal(await bob.call(() => client.connectionState), 'closed');
  await alice.call((cid) => ch(cid).sendMessage({ text: 'anyone?' }), cid);
  await eventually('the remaining listener is called', async () => {
    assert.equal((await carol.call(() => window.still)).length, 1);
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await bob.call(() => window.got), [], 'no events after disconnect');
  assert.deepEqual(await carol.call(() => window.got), [], 'no events after unsubscribe');
}));

test('live events update the other client\'s channel.state: messages, edits, reactions, threads, pins, reads, typing, members', { timeout: 90_000 }, (t) => logged(t, async () => {
  const [a, b] = [unique('alice'), unique('bob')];
  const alice = await open(a);
  const bob = await open(b);
  const cid = await room(alice, [a, b]);
  await bob.call((c) => ch(c).watch(), cid);
  assert.ok((await bob.call((c) => ch(c).state.watcherCount, cid)) >= 1);
  const ids = (who) => who.call((c) => ch(c).state.messages.map((m) => m.id), cid);

  const sent = await alice.call((c) => ch(c).sendMessage({ text: 'one' }), cid);
  assert.deepEqual(await ids(alice), [sent.id], 'the echo was replaced by the server\'s copy');
  await eventually('bob got it', async () => assert.deepEqual(await ids(bob), [sent.id]));
  assert.equal(await bob.call((c) => ch(c).state.unreadCount, cid), 1);
  assert.equal(await bob.call(() => client.unreadCount.total_unread_count), 1);

  await alice.call((id) => client.updateMessage(id, { text: 'edited' }), sent.id);
  await alice.call((id) => client.sendReaction(id, 'like'), sent.id);
  await eventually('edit and reaction reached bob', async () => {
    const first = await bob.call((c) => ch(c).state.messages[0], cid);
    assert.equal(first.text, 'edited');
    assert.equal(first.reaction_counts?.like, 1);
  });

  await alice.call(([c, id]) => ch(c).sendMessage({ text: 'in thread', parent_id: id }), [cid, sent.id]);
  await alice.call((id) => client.pinMessage(id), sent.id);
  await eventually('thread reply and pin reached bob', async () => {
    const s = await bob.call(([c, id]) => ({ thread: ch(c).state.threads[id]?.length, pinned: ch(c).state.pinned.length }), [cid, sent.id]);
    assert.deepEqual(s, { thread: 1, pinned: 1 });
  });
  assert.deepEqual(await ids(bob), [sent.id], 'replies stay out of the main list');

  await bob.call((c) => ch(c).markRead(), cid);
  assert.equal(await bob.call((c) => ch(c).state.unreadCount, cid), 0);
  await eventually('alice sees bob\'s read', async () => {
    assert.ok(await alice.call(([c, u]) => Boolean(ch(c).state.read[u]), [cid, b]));
  });

  await alice.call((c) => { ch(c).keystroke(); ch(c).keystroke(); }, cid);
  await eventually('bob sees alice typing', async () => {
    assert.equal(await bob.call((c) => ch(c).state.typing.length, cid), 1);
  });
  await alice.call((c) => ch(c).stopTyping(), cid);
  await eventually('bob sees alice stop', async () => {
    assert.equal(await bob.call((c) => ch(c).state.typing.length, cid), 0);
  });

  const carol = await open(unique('carol'));
  await carol.call(() => client.disconnect());
  await alice.call(([c, u]) => ch(c).addMembers([u]), [cid, carol.userId]);
  await eventually('bob sees carol join', async () => {
    assert.ok(await bob.call(([c, u]) => Boolean(ch(c).state.members[u]), [cid, carol.userId]));
  });
}));

test('a dropped socket catches up: nothing lost or doubled, edits made meanwhile applied', { timeout: 90_000 }, (t) => logged(t, async () => {
  const [a, b] = [unique('alice'), unique('bob')];
  const alice = await open(a);
  const bob = await open(b);
  const cid = await room(alice, [a, b]);
  await bob.call((c) => {
    window.seen = [];
    window.recovered = 0;
    ch(c).on('message.new', (e) => window.seen.push(e.message.id));
    client.on('connection.recovered', () => { window.recovered += 1; });
    return ch(c).watch();
  }, cid);
  await alice.call((c) => ch(c).sendMessage({ text: 'before' }), cid);
  await eventually('bob got the first', async () => assert.equal((await bob.call(() => window.seen)).length, 1));

  await bob.page.evaluate(() => window.dispatchEvent(new Event('offline')));
  await eventually('bob is offline', async () => assert.equal(await bob.call(() => client.connectionState), 'offline'));
  const sent = [];
  for (let i = 0; i < 5; i++) sent.push((await alice.call(([c, i]) => ch(c).sendMessage({ text: `while away ${i}` }), [cid, i])).id);
  await alice.call((id) => client.updateMessage(id, { text: 'edited away' }), sent[0]);
  await bob.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await eventually('connection.recovered', async () => assert.ok((await bob.call(() => window.recovered)) >= 1));

  const mine = await bob.call((c) => ch(c).state.messages.map((m) => m.id), cid);
  const server = (await alice.call((c) => ch(c).queryMessages({ limit: 50 }), cid)).map((m) => m.id);
  assert.deepEqual(mine, server, 'bob\'s messages equal the server\'s, in order');
  assert.equal((await bob.call(() => window.seen)).length, 6, 'each message delivered once');
  assert.equal(await bob.call((c) => ch(c).state.messages[1].text, cid), 'edited away');
}));
