// End-to-end: short-lived user tokens in real pages against a real server. A client given a
// `tokenProvider` outlives its token (the server closes the socket with 4002 at the token's
// `exp`; the SDK asks the provider and reconnects, and nothing sent meanwhile is lost or
// doubled), a REST call made with an expired token is refreshed once and repeated, and without
// a provider the expiry ends the session with a clear state and error code.
//
// The demo's /dev/credentials hands out 24 h tokens only, so this file starts a server of its
// own with an operator token, creates an application, and mints tokens with a few seconds'
// lifetime through the server-side API (`POST /v1/tokens` with the app secret), as an app's
// backend would. The pages' `tokenProvider` calls that same backend (this test process).
//
// Every wait polls with a deadline; nothing here asserts how long anything took. Waiting for a
// token to expire is a precondition checked against the server (a REST call with it answers
// 401 token_expired), not a sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, launchBrowser } from './harness.mjs';
import { openClient, eventually } from './client.mjs';

const ADMIN_TOKEN = `admin-${randomUUID()}`;
let server = null;
let browser = null;
let app = null;          // { api_key, api_secret }
const logs = [];

// ---- the app's backend: users and tokens, with the secret ------------------------------------

async function serverSide(path, body, headers) {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${text}`);
  return JSON.parse(text);
}

const secretHeaders = () => ({ 'x-api-key': app.api_key, 'x-api-secret': app.api_secret });

async function upsertUsers(ids) {
  await serverSide('/v1/users', { users: ids.map((id) => ({ id })) }, secretHeaders());
}

/** `{token, expires_at}` for `userId`, valid for `expiresIn` seconds. */
function mint(userId, expiresIn) {
  return serverSide('/v1/tokens', { user_id: userId, expires_in: expiresIn }, secretHeaders());
}

/** Status and error code the server answers to a user REST call made with `token`. */
async function probe(token) {
  const r = await fetch(`${server.url}/v1/unread`, {
    headers: { 'x-api-key': app.api_key, authorization: `Bearer ${token}` },
  });
  const body = await r.json().catch(() => ({}));
  return { status: r.status, code: body?.error?.code ?? body?.code };
}

/** Waits until the server rejects `token` as expired (the precondition of the HTTP tests). */
async function expired(token) {
  await eventually('the token has expired', async () => {
    const answer = await probe(token);
    assert.deepEqual(answer, { status: 401, code: 'token_expired' });
  }, 20_000);
}

// ---- lifecycle -----------------------------------------------------------------------------

before(async () => {
  server = await startServer({ adminToken: ADMIN_TOKEN });
  browser = await launchBrowser();
  app = await serverSide('/admin/apps', { name: 'token refresh e2e' }, { 'x-admin-token': ADMIN_TOKEN });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Runs a test body with fresh users of the app; closes their pages; prints the browser log
 * when it fails. `open(name, options)` connects `name-<run>`. */
async function withClients(t, fn) {
  const mark = logs.length;
  const opened = [];
  const run = randomUUID().slice(0, 8);
  const open = async (name, options) => {
    const c = await openClient({ browser, baseUrl: server.url, logs }, `${name}-${run}`, { apiKey: app.api_key, ...options });
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
    for (const c of opened) await c.close();
  }
}

/** A new channel of `owner` with `others` as members, created and watched by `owner`; the
 * `others` that are open clients watch it too. */
async function channelOf(owner, others) {
  const id = `tok-${randomUUID().slice(0, 12)}`;
  const cid = `messaging:${id}`;
  await owner.call(async (a) => {
    const c = client.channel('messaging', a.id, { members: a.members });
    window.handles[c.cid] = c;
    await c.create();
    await c.watch();
  }, { id, members: others.map((o) => o.userId) });
  for (const o of others) if (o.call) await o.call((c) => ch(c).watch(), cid);
  return cid;
}

const send = (who, cid, text) => who.call(async (a) => (await ch(a.cid).sendMessage({ text: a.text })).id, { cid, text });

/** Ids of the messages in `who`'s state of `cid`, in order, with their local status. */
const stateOf = (who, cid) => who.call((c) => ch(c).state.messages.map((m) => ({ id: m.id, text: m.text, status: m.status ?? null })), cid);

const types = (events) => events.map((e) => (e.type === 'connection.changed' ? `state:${e.state}` : e.type));

// ---- tests ---------------------------------------------------------------------------------

test('an expiring token is refreshed through tokenProvider: 4002, one provider call, reconnect, no message lost or doubled', async (t) => {
  await withClients(t, async ({ run, open }) => {
    await upsertUsers([`alice-${run}`, `bob-${run}`]);
    // bob and the channel first, so alice's token only has to outlive her connect and watch.
    const bob = await open('bob', { token: (await mint(`bob-${run}`, 3600)).token });
    const cid = await channelOf(bob, [{ userId: `alice-${run}` }]);
    // alice's first refresh is held until the test lets it go, so the gap between the expiry
    // and her new socket is long enough for bob to send into it.
    const short = await mint(`alice-${run}`, 5);
    const alice = await open('alice', {
      token: short.token, holdProvider: true, mint: async () => (await mint(`alice-${run}`, 3600)).token,
    });
    await alice.call((c) => ch(c).watch(), cid);
    const m1 = await send(bob, cid, 'before expiry');

    const closed = await alice.waitEvent('the server closing the socket at expiry',
      (e) => e.type === 'test.ws.closed');
    assert.equal(closed.code, 4002, 'the server closes with 4002 (token expired)');
    await alice.waitEvent('a tokenProvider call', (e) => e.type === 'test.provider.called');
    assert.equal(await alice.call(() => client.connectionState), 'reconnecting', 'waiting for the provider, not closed');

    const m2 = await send(bob, cid, 'during the refresh 1');
    const m3 = await send(bob, cid, 'during the refresh 2');
    await alice.page.evaluate(() => window.releaseProvider());

    // Online again on a new socket, and the gap is filled.
    await eventually('alice is online again with the gap filled', async () => {
      const log = types(await alice.events((e) => e.type.startsWith('test.') || e.type === 'connection.changed'));
      const afterClose = log.slice(log.indexOf('test.ws.closed'));
      assert.deepEqual(afterClose.filter((x) => x !== 'test.ws.open'),
        ['test.ws.closed', 'state:reconnecting', 'test.provider.called', 'test.ws.created', 'state:online']);
      assert.deepEqual((await stateOf(alice, cid)).map((m) => m.id), [m1, m2, m3]);
    });
    const m4 = await send(bob, cid, 'after the refresh');
    await alice.waitEvent('m4', (e, id) => e.type === 'message.new' && e.message?.id === id, m4);

    const state = await stateOf(alice, cid);
    assert.deepEqual(state.map((m) => m.id), [m1, m2, m3, m4], 'every message once, in order');
    const delivered = await alice.events((e) => e.type === 'message.new');
    assert.deepEqual(delivered.map((e) => e.message.id), [m1, m2, m3, m4], 'one message.new each, in order');
    assert.equal((await alice.events((e) => e.type === 'test.provider.called')).length, 1, 'the provider was called once');
    const sockets = await alice.events((e) => e.type === 'test.ws.created' || e.type === 'test.ws.closed');
    assert.deepEqual(sockets.map((e) => `${e.type}:${e.code ?? ''}`),
      ['test.ws.created:', 'test.ws.closed:4002', 'test.ws.created:'], 'one socket before the expiry, one after');
    assert.equal((await alice.events((e) => e.type === 'connection.changed' && e.state === 'closed')).length, 0, 'never closed');
    // The refreshed token is what the client uses from now on, for REST too.
    assert.ok(await alice.call((c) => ch(c).queryMessages({ limit: 10 }), cid), 'REST works with the refreshed token');
    assert.equal((await alice.events((e) => e.type === 'test.provider.called')).length, 1, 'still one provider call');
  });
});

test('a REST call made with an expired token is refreshed through tokenProvider once and succeeds', async (t) => {
  await withClients(t, async ({ run, open }) => {
    await upsertUsers([`alice-${run}`]);
    const short = await mint(`alice-${run}`, 4);
    const alice = await open('alice', { token: short.token, mint: async () => (await mint(`alice-${run}`, 3600)).token });
    // The browser reports the network gone (the SDK drops the socket itself), so the websocket
    // cannot refresh the token first: the REST call below is the first to find out. (The event
    // is synthetic: REST still reaches the server.)
    await alice.page.evaluate(() => window.dispatchEvent(new Event('offline')));
    await alice.waitEvent('offline', (e) => e.type === 'connection.changed' && e.state === 'offline');
    const cid = await channelOf(alice, []);
    const responses = [];
    alice.page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v1/')) responses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    await expired(short.token);
    assert.equal((await alice.events((e) => e.type === 'test.provider.called')).length, 0, 'no refresh yet');

    const sent = await alice.call(async (c) => ch(c).sendMessage({ text: 'sent with an expired token' }), cid);
    assert.equal(sent.text, 'sent with an expired token');
    assert.equal((await alice.events((e) => e.type === 'test.provider.called')).length, 1, 'the provider was called once');
    const path = `/v1/channels/messaging/${cid.split(':')[1]}/messages`;
    assert.deepEqual(responses.filter((r) => r.startsWith(`POST ${path} `)), [`POST ${path} 401`, `POST ${path} 200`],
      'one 401 (token_expired), then the same call repeated with the new token');
    const state = await stateOf(alice, cid);
    assert.deepEqual(state.map((m) => [m.id, m.status === 'failed']), [[sent.id, false]], 'stored once, not failed');

    // Later calls and the next socket use the refreshed token: no further refresh.
    assert.ok(await alice.call((c) => ch(c).queryMessages({ limit: 10 }), cid));
    await alice.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await alice.waitEvent('online again', (e) => e.type === 'connection.changed' && e.state === 'online');
    assert.equal((await alice.events((e) => e.type === 'test.provider.called')).length, 1, 'still one provider call');
    assert.equal((await alice.events((e) => e.type === 'test.ws.closed' && e.code === 4002)).length, 0, 'no socket refused');
  });
});

test('connecting with an already expired token and a tokenProvider: the provider is asked once, then connect() succeeds', async (t) => {
  await withClients(t, async ({ run, open }) => {
    await upsertUsers([`alice-${run}`]);
    const stale = await mint(`alice-${run}`, 0);
    await expired(stale.token);
    const alice = await open('alice', { token: stale.token, mint: async () => (await mint(`alice-${run}`, 3600)).token });
    assert.equal(await alice.call(() => client.connectionState), 'online');
    // `connect()` resolved before the listener was added: read the socket log only.
    const log = await alice.events((e) => e.type.startsWith('test.'));
    assert.deepEqual(log.map((e) => (e.type === 'test.ws.closed' ? `closed:${e.code}` : e.type)),
      ['test.ws.created', 'test.ws.open', 'closed:4002', 'test.provider.called', 'test.ws.created', 'test.ws.open']);
    const cid = await channelOf(alice, []);
    assert.ok(await send(alice, cid, 'hello'), 'REST works with the provider\'s token');
  });
});

test('without a tokenProvider the expiry ends the session: state closed, error token_expired, no reconnect', async (t) => {
  await withClients(t, async ({ run, open }) => {
    await upsertUsers([`alice-${run}`]);
    const short = await mint(`alice-${run}`, 4);
    const alice = await open('alice', { token: short.token });
    const cid = await channelOf(alice, []);

    await alice.waitEvent('the session closing', (e) => e.type === 'connection.changed' && e.state === 'closed');
    const log = await alice.events((e) => ['test.ws.created', 'test.ws.closed', 'error', 'connection.changed'].includes(e.type));
    assert.deepEqual(log.map((e) => (e.type === 'test.ws.closed' ? `closed:${e.code}`
      : e.type === 'error' ? `error:${e.error?.code}` : e.type === 'connection.changed' ? `state:${e.state}` : e.type)),
    ['test.ws.created', 'error:token_expired', 'closed:4002', 'state:closed'],
    'the server says why (error frame, close 4002); the client stops at closed, with no new socket');
    assert.equal(await alice.call(() => client.connectionState), 'closed');

    await expired(short.token);
    const err = await alice.fail((c) => ch(c).sendMessage({ text: 'too late' }), cid);
    assert.equal(err.code, 'token_expired');
    assert.equal(err.status, 401);
    assert.equal(err.retryable, false);
    assert.equal((await alice.events((e) => e.type === 'test.ws.created')).length, 1, 'still no new socket');
  });
});

test('concurrent REST calls that all find the token expired share one tokenProvider call', async (t) => {
  await withClients(t, async ({ run, open }) => {
    await upsertUsers([`alice-${run}`]);
    const short = await mint(`alice-${run}`, 4);
    const alice = await open('alice', { token: short.token, mint: async () => (await mint(`alice-${run}`, 3600)).token });
    await alice.page.evaluate(() => window.dispatchEvent(new Event('offline')));
    await alice.waitEvent('offline', (e) => e.type === 'connection.changed' && e.state === 'offline');
    const cid = await channelOf(alice, []);
    await expired(short.token);

    const sent = await alice.call((c) => Promise.all([1, 2, 3].map((i) => ch(c).sendMessage({ text: `parallel ${i}` }))), cid);
    assert.equal(sent.length, 3, 'all three calls succeed');
    assert.equal((await alice.events((e) => e.type === 'test.provider.called')).length, 1, 'one provider call for the three');
  });
});
