// End-to-end: offline use with the durable outbox (IndexedDB), in Debian's Chromium against a
// real server. The server is made unreachable for one browser context only: its REST calls are
// refused and its websockets closed by Playwright routes (the page itself still loads, so it
// can be reloaded "offline"); the other client stays online.
//
// Run:  CHAT_DEMO_URL=http://127.0.0.1:PORT node --test tests/e2e/   (see api.test.mjs)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { setUp, watchPage, TIMEOUT } from './harness.mjs';
import { eventually } from './client.mjs';

let baseUrl = null;
let browser = null;
let env = null;
const logs = [];

/** A browser context whose access to the server can be cut (`offline = true`). */
async function openContext(who) {
  const context = await browser.newContext();
  const net = { offline: false, sockets: new Set(), context };
  await context.route('**/v1/**', (route) => {
    if (net.offline) return route.abort('connectionrefused');
    return route.continue();
  });
  await context.routeWebSocket(/\/v1\/ws/, (ws) => {
    if (net.offline) {
      ws.close({ code: 1013, reason: 'offline (test)' });
      return;
    }
    ws.connectToServer();
    net.sockets.add(ws);
    ws.onClose(() => net.sockets.delete(ws));
  });
  net.goOffline = async () => {
    net.offline = true;
    for (const ws of net.sockets) await ws.close({ code: 1013, reason: 'offline (test)' }).catch(() => {});
  };
  net.goOnline = () => { net.offline = false; };
  net.page = async () => {
    const page = await context.newPage();
    watchPage(page, who, logs);
    await page.goto(`${baseUrl}/healthz`, { timeout: TIMEOUT });
    return page;
  };
  return net;
}

/** Connects a ChatClient for `userId` in `page` (credentials fetched while online, kept in
 * localStorage so a reload while offline can connect from the cache). */
async function connect(page, userId) {
  await page.evaluate(async (id) => {
    const { ChatClient } = await import('/js/index.js');
    let creds = localStorage.getItem(`creds:${id}`);
    if (!creds) {
      const r = await fetch(`/dev/credentials?user_id=${encodeURIComponent(id)}`);
      if (!r.ok) throw new Error(`credentials: HTTP ${r.status}`);
      creds = await r.text();
      localStorage.setItem(`creds:${id}`, creds);
    }
    const { api_key: apiKey, user_id: userId, token } = JSON.parse(creds);
    window.events = [];
    const client = await ChatClient.connect({ apiUrl: location.origin, apiKey, userId, token });
    client.on('*', (e) => {
      try { window.events.push(JSON.parse(JSON.stringify(e))); } catch { window.events.push({ type: e?.type }); }
    });
    window.client = client;
    window.handles = {};
    window.ch = (cid) => {
      if (!window.handles[cid]) {
        const i = cid.indexOf(':');
        window.handles[cid] = client.channel(cid.slice(0, i), cid.slice(i + 1));
      }
      return window.handles[cid];
    };
  }, userId);
}

/** Runs `fn(arg)` in the page; returns `{ok}` or `{err}` (JSON-safe). */
async function run(page, fn, arg) {
  return page.evaluate(async ([src, a]) => {
    // eslint-disable-next-line no-eval
    const f = (0, eval)(`(${src})`);
    try {
      const v = await f(a);
      return { ok: v === undefined ? null : JSON.parse(JSON.stringify(v)) };
    } catch (e) {
      return { err: { code: e?.code, message: String(e?.message ?? e) } };
    }
  }, [fn.toString(), arg]);
}

async function ok(page, fn, arg) {
  const r = await run(page, fn, arg);
  if (r.err) throw new Error(`page call failed: ${JSON.stringify(r.err)}\n${fn}`);
  return r.ok;
}

/** The server's messages of `cid` as `bobPage`'s client reads them (oldest first). */
async function serverMessages(page, cid) {
  return ok(page, async (cid) => {
    const msgs = await window.ch(cid).queryMessages({ limit: 100 });
    return msgs.map((m) => ({
      id: m.id, seq: m.channel_seq, text: m.text, deleted: !!m.is_deleted,
      counts: m.reaction_counts || {}, edited: !!m.is_edited,
    }));
  }, cid);
}

/** `user` connected in a page of a context of its own. */
async function connected(user) {
  const net = await openContext(user);
  const page = await net.page();
  await connect(page, user);
  return { net, page };
}

/** `${who}-${suffix}` connected in a context of its own, with a new channel
 * `messaging:${name}-${suffix}` it created (with `data`) and watches. */
async function withChannel(suffix, who, name, data = {}) {
  const user = `${who}-${suffix}`;
  const cid = `messaging:${name}-${suffix}`;
  const { net, page } = await connected(user);
  await ok(page, async ([cid, data]) => {
    const c = window.client.channel(cid.split(':')[0], cid.split(':')[1], data);
    window.handles[cid] = c;
    await c.create();
    await c.watch();
  }, [cid, data]);
  return { user, cid, net, page };
}

before(async () => {
  env = await setUp();
  ({ baseUrl, browser } = env);
});

after(async () => {
  if (env) await env.close();
});

test('offline: 20 sends, edit, delete, react, un-react, read; reload; back online → applied exactly once, in order; cache equals server', { timeout: 120_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const suffix = randomUUID().slice(0, 8);
  const alice = `alice-${suffix}`;
  const bob = `bob-${suffix}`;
  const cid = `messaging:offline-${suffix}`;

  const an = await openContext(alice);
  const bn = await openContext(bob);
  let ap = await an.page();
  const bp = await bn.page();
  await connect(bp, bob);
  await connect(ap, alice);
  assert.equal(await ok(ap, () => window.client.persistence), 'indexeddb');

  // Online: the channel, two confirmed messages and a reaction to undo later.
  await ok(ap, async ([cid, bob]) => {
    const c = window.client.channel(cid.split(':')[0], cid.split(':')[1], { members: [bob] });
    window.handles[cid] = c;
    await c.create();
    await c.watch();
    const m0 = await c.sendMessage({ text: 'm0' });
    const m1 = await c.sendMessage({ text: 'm1' });
    await window.client.sendReaction(m0.id, 'wow');
    window.base = { m0: m0.id, m1: m1.id };
  }, [cid, bob]);
  const base = await ok(ap, () => window.base);
  await ok(bp, (cid) => window.ch(cid).watch(), cid);

  // Offline: nothing reaches the server from alice's context.
  await an.goOffline();
  await ok(ap, () => new Promise((resolve) => {
    if (window.client.connectionState !== 'online') return resolve();
    const off = window.client.on('connection.changed', (e) => { if (!e.online) { off(); resolve(); } });
  }));
  const ids = await ok(ap, async ([cid, base]) => {
    const c = window.ch(cid);
    const ids = [];
    window.sent = [];
    for (let i = 0; i < 20; i++) {
      const id = crypto.randomUUID();
      ids.push(id);
      // Not awaited: a send resolves when delivered.
      window.sent.push(c.sendMessage({ id, text: `offline ${i}` }).catch((e) => ({ failed: e.code })));
    }
    // Let every echo land in the outbox before the next changes refer to them.
    await new Promise((r) => setTimeout(r, 300));
    const later = [
      window.client.updateMessage(base.m0, { text: 'm0 edited offline' }),
      window.client.deleteMessage(base.m1),
      window.client.sendReaction(base.m0, 'like'),
      window.client.deleteReaction(base.m0, 'wow'),
      window.client.updateMessage(ids[5], { text: 'offline 5 (edited before it was sent)' }),
      window.client.deleteMessage(ids[7]),
      window.client.sendReaction(ids[3], 'sad'),
      window.client.deleteReaction(ids[3], 'sad'),
      c.markRead(),
    ];
    window.later = later.map((p) => p.catch((e) => ({ failed: e.code })));
    await new Promise((r) => setTimeout(r, 300));
    return ids;
  }, [cid, base]);

  const pendingBefore = await ok(ap, () => window.client.pending());
  assert.ok(pendingBefore.length >= 20, `outbox holds the offline changes (${pendingBefore.length})`);
  assert.ok(pendingBefore.every((e) => e.state !== 'failed'), 'nothing failed while offline');
  assert.ok(!pendingBefore.some((e) => e.id === ids[7]), 'deleting an unsent message removed it from the outbox');
  const echoes = await ok(ap, (cid) => window.ch(cid).state.messages.map((m) => [m.id, m.status, m.text]), cid);
  assert.ok(echoes.some(([id, st]) => id === ids[0] && st === 'sending'), 'echoes show at once');
  assert.ok(!echoes.some(([id]) => id === ids[7]), 'the deleted unsent message is gone');
  assert.equal(echoes.find(([id]) => id === ids[5])[2], 'offline 5 (edited before it was sent)');

  // The server saw none of it.
  const during = await serverMessages(bp, cid);
  assert.deepEqual(during.map((m) => m.text), ['m0', 'm1']);

  // Reload while still offline: the client opens from the cache, with the queued changes.
  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  const reopened = await ok(ap, async (cid) => {
    const st = await window.ch(cid).watch();
    return {
      fromCache: st.from_cache === true,
      state: window.client.connectionState,
      texts: window.ch(cid).state.messages.map((m) => m.text),
      pending: (await window.client.pending()).length,
    };
  }, cid);
  assert.equal(reopened.fromCache, true, 'watch answered from the cache');
  assert.notEqual(reopened.state, 'online');
  assert.equal(reopened.pending, pendingBefore.length, 'the outbox survived the reload');
  assert.ok(reopened.texts.includes('offline 19'), 'echoes restored from the cache');
  assert.ok(reopened.texts.includes('m0 edited offline'), 'local edits restored from the cache');

  // Back online: everything is delivered once, in order.
  an.goOnline();
  await ok(ap, () => { window.dispatchEvent(new Event('online')); });
  await eventually('alice reconnects', async () => {
    assert.equal(await ok(ap, () => window.client.connectionState), 'online');
  });
  await eventually('alice\'s outbox drains', async () => {
    const p = await ok(ap, () => window.client.pending());
    assert.deepEqual(p, []);
  }, 60_000);

  const expectedTexts = ['m0 edited offline', '', ...Array.from({ length: 20 }, (_, i) => i)
    .filter((i) => i !== 7)
    .map((i) => (i === 5 ? 'offline 5 (edited before it was sent)' : `offline ${i}`))];
  const final = await eventually('the server holds the final state', async () => {
    const msgs = await serverMessages(bp, cid);
    assert.deepEqual(msgs.map((m) => m.text), expectedTexts);
    return msgs;
  });
  // Exactly once: every id once, the offline sends in the order they were made.
  assert.equal(new Set(final.map((m) => m.id)).size, final.length);
  const order = final.slice(2).map((m) => ids.indexOf(m.id));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  assert.ok(final.every((m, i) => i === 0 || m.seq > final[i - 1].seq));
  assert.equal(final[1].deleted, true);
  assert.deepEqual(final[0].counts, { like: 1 }, 'wow removed, like added once');
  assert.equal(final[0].edited, true);
  const m3 = final.find((m) => m.id === ids[3]);
  assert.deepEqual(m3.counts, {}, 'add then remove of an unsent reaction sent nothing');

  // Bob sees the final state live.
  await eventually('bob converges', async () => {
    const bobs = await ok(bp, (cid) => window.ch(cid).state.messages
      .map((m) => (m.is_deleted ? '' : m.text)), cid);
    assert.deepEqual(bobs, expectedTexts);
  });
  // Alice's read state reached the server.
  await eventually('alice\'s read state reaches bob', async () => {
    const read = await ok(bp, (cid) => window.ch(cid).state.read, cid);
    assert.ok(read[alice] && read[alice].last_read_seq >= final[final.length - 1].seq,
      `alice's read state: ${JSON.stringify(read[alice])}`);
  });

  // Alice's cache equals the server: reopen offline and read the channel from the cache only.
  const view = (cid) => window.ch(cid).state.messages.map((m) => ({
    id: m.id, seq: m.channel_seq, text: m.text, deleted: !!m.is_deleted,
    counts: m.reaction_counts || {}, edited: !!m.is_edited,
  }));
  await eventually('alice\'s state equals the server\'s', async () => {
    const mine = await ok(ap, view, cid);
    assert.deepEqual(mine, final);
  });
  await delay(500); // let the last writes reach IndexedDB
  await an.goOffline();
  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  await ok(ap, (cid) => window.ch(cid).watch(), cid);
  const cached = await ok(ap, view, cid);
  assert.deepEqual(cached, final, 'the cache holds exactly the server\'s messages');
  await an.context.close();
  await bn.context.close();
});

test('a tab closed after the server applied a send but before the answer arrived: nothing is sent twice or lost', { timeout: 90_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const suffix = randomUUID().slice(0, 8);
  const alice = `alice-${suffix}`;
  const cid = `messaging:crash-${suffix}`;
  const an = await openContext(alice);
  let ap = await an.page();
  await connect(ap, alice);
  await ok(ap, async (cid) => {
    const c = window.ch(cid);
    await c.create();
    await c.watch();
  }, cid);

  // The first send reaches the server, which stores it; its answer never reaches the tab,
  // which is closed at that moment with two more sends queued behind it.
  let applied = null;
  const appliedOnce = new Promise((resolve) => { applied = resolve; });
  await ap.route('**/v1/channels/*/*/messages', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const response = await route.fetch();
    applied(await response.json());
    // Hold the answer back for good; the tab closes before it could arrive.
    await new Promise(() => {});
  });
  const ids = await ok(ap, (cid) => {
    const c = window.ch(cid);
    const ids = [0, 1, 2].map(() => crypto.randomUUID());
    ids.forEach((id, i) => { c.sendMessage({ id, text: `crash ${i}` }).catch(() => {}); });
    return ids;
  }, cid);
  const stored = await appliedOnce;
  assert.equal(stored?.message?.id, ids[0], `the server applied the first send: ${JSON.stringify(stored)}`);
  const inFlight = await ok(ap, () => window.client.pending());
  assert.deepEqual(inFlight.map((e) => [e.id, e.state]),
    [[ids[0], 'in_flight'], [ids[1], 'pending'], [ids[2], 'pending']]);
  await ap.close({ runBeforeUnload: false });

  // Reopen: the outbox resends the first (the server recognises its id) and the rest.
  ap = await an.page();
  await connect(ap, alice);
  await ok(ap, (cid) => window.ch(cid).watch(), cid);
  await eventually('the outbox drains after reopening', async () => {
    assert.deepEqual(await ok(ap, () => window.client.pending()), []);
  }, 30_000);
  const msgs = await ok(ap, async (cid) => (await window.ch(cid).queryMessages({ limit: 50 }))
    .map((m) => [m.id, m.text]), cid);
  assert.deepEqual(msgs, ids.map((id, i) => [id, `crash ${i}`]), 'each message once, in order');
  await an.context.close();
});

test('persistence: memory keeps nothing across reloads; disconnect({ clearCache }) deletes the user\'s database', { timeout: 60_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const suffix = randomUUID().slice(0, 8);
  const alice = `alice-${suffix}`;
  const cid = `messaging:mem-${suffix}`;
  const an = await openContext(alice);
  let ap = await an.page();

  // In memory: usable, but nothing is written to IndexedDB.
  const mem = await ok(ap, async ([id, cid]) => {
    const { ChatClient } = await import('/js/index.js');
    const r = await fetch(`/dev/credentials?user_id=${encodeURIComponent(id)}`);
    const { api_key: apiKey, user_id: userId, token } = await r.json();
    localStorage.setItem(`creds:${id}`, JSON.stringify({ api_key: apiKey, user_id: userId, token }));
    const client = await ChatClient.connect({ apiUrl: location.origin, apiKey, userId, token, persistence: 'memory' });
    const c = client.channel(cid.split(':')[0], cid.split(':')[1]);
    await c.create();
    await c.sendMessage({ text: 'kept in memory only' });
    const dbs = (await indexedDB.databases()).map((d) => d.name);
    const where = client.persistence;
    await client.disconnect();
    return { where, dbs, apiKey };
  }, [alice, cid]);
  assert.equal(mem.where, 'memory');
  assert.ok(!mem.dbs.includes(`chat-sdk:${mem.apiKey}:${alice}`), 'no database for a memory client');

  // With IndexedDB: the database exists while signed in and is gone after clearCache.
  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  const cleared = await ok(ap, async ([id, cid, key]) => {
    const c = window.ch(cid);
    await c.watch();
    await c.sendMessage({ text: 'stored' });
    const name = `chat-sdk:${key}:${id}`;
    const before = (await indexedDB.databases()).map((d) => d.name).includes(name);
    await window.client.disconnect({ clearCache: true });
    const after = (await indexedDB.databases()).map((d) => d.name).includes(name);
    return { before, after };
  }, [alice, cid, mem.apiKey]);
  assert.deepEqual(cleared, { before: true, after: false });
  await an.context.close();
});

test('older history read while online can be scrolled back offline, after a reload, from the cache', { timeout: 90_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const { user: alice, cid, net: an, page } = await withChannel(randomUUID().slice(0, 8), 'alice-h', 'history');
  let ap = page;

  // 70 messages: a watch holds the latest page; scrolling back asks the server for older ones.
  const online = await ok(ap, async (cid) => {
    const c = window.ch(cid);
    for (let i = 0; i < 70; i++) await c.sendMessage({ text: `h${i}` });
    await c.watch();
    const first = c.state.messages[0];
    const older = await c.queryMessages({ before_seq: first.channel_seq, limit: 30 });
    window.firstLoaded = first.text;
    // The cache is written in the background (milliseconds): leave it ample time before the
    // tab goes away, also on a loaded machine.
    await new Promise((r) => setTimeout(r, 1500));
    return { older: older.map((m) => m.text), fromCache: older.fromCache ?? false, first: first.text };
  }, cid);
  assert.equal(online.fromCache, false);
  const k = Number(online.first.slice(1));
  assert.ok(k >= 30, `the watch loaded a latest page (from h${k})`);
  assert.deepEqual(online.older, Array.from({ length: 30 }, (_, i) => `h${k - 30 + i}`));

  await an.goOffline();
  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  const offline = await ok(ap, async (cid) => {
    const c = window.ch(cid);
    const watched = await c.watch();
    const first = c.state.messages[0];
    const older = await c.queryMessages({ before_seq: first.channel_seq, limit: 30 });
    let beyond = null;
    try {
      await c.queryMessages({ before_seq: older[0].channel_seq, limit: 30 });
    } catch (e) {
      beyond = { code: e.code, retryable: e.retryable };
    }
    return {
      fromCacheWatch: watched.from_cache ?? false,
      first: first.text,
      older: older.map((m) => m.text),
      fromCache: older.fromCache ?? false,
      state: c.state.messages.map((m) => m.text),
      beyond,
    };
  }, cid);
  const range = (from, to) => Array.from({ length: to - from }, (_, i) => `h${from + i}`);
  assert.equal(offline.fromCacheWatch, true, 'the channel opened from the cache');
  assert.equal(offline.fromCache, true, 'the older page came from the cache');
  const f = Number(offline.first.slice(1));
  assert.ok(f > k - 30, `the cold start showed the cached latest page (from h${f})`);
  assert.deepEqual(offline.older, range(k - 30, f), 'the rest of what was read online, before it, with no hole');
  assert.deepEqual(offline.state, range(k - 30, 70), 'merged into the state: all history read online');
  assert.ok(offline.beyond && offline.beyond.retryable, `past the cached history the network error stands: ${JSON.stringify(offline.beyond)}`);
  await an.context.close();
});

test('drafts offline: saved and deleted at once on the device, read back after a reload, delivered once online', { timeout: 90_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const { user: alice, cid, net: an, page } = await withChannel(randomUUID().slice(0, 8), 'alice-d', 'drafts');
  let ap = page;
  const parent = await ok(ap, async (cid) => {
    const c = window.ch(cid);
    await c.saveDraft({ text: 'online draft' });
    return (await c.sendMessage({ text: 'a thread' })).id;
  }, cid);

  await an.goOffline();
  const offline = await ok(ap, async ([cid, parent]) => {
    const c = window.ch(cid);
    window.saved = [c.saveDraft({ text: 'written offline' }), c.saveDraft({ text: 'reply offline', parent_id: parent })]
      .map((p) => p.then((d) => d.text, (e) => ({ failed: e.code })));
    const main = await c.getDraft();
    const reply = await c.getDraft(parent);
    return { main: main.text, reply: reply.text, replyParent: reply.parent_id };
  }, [cid, parent]);
  assert.deepEqual(offline, { main: 'written offline', reply: 'reply offline', replyParent: parent }, 'the device answers at once');

  // Reload while offline: the queued drafts are read back from the device.
  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  const reloaded = await ok(ap, async ([cid, parent]) => {
    const c = window.ch(cid);
    const list = await window.client.queryDrafts();
    return {
      main: (await c.getDraft()).text,
      reply: (await c.getDraft(parent)).text,
      list: list.drafts.map((d) => d.text).sort(),
      listFromCache: !!list.fromCache,
    };
  }, [cid, parent]);
  assert.deepEqual(reloaded, { main: 'written offline', reply: 'reply offline', list: ['reply offline', 'written offline'], listFromCache: true });

  // Deleting offline: gone at once.
  const deleted = await ok(ap, async ([cid, parent]) => {
    const c = window.ch(cid);
    window.deleted = c.deleteDraft(parent).catch((e) => ({ failed: e.code }));
    try {
      await c.getDraft(parent);
      return 'still there';
    } catch (e) {
      return e.code;
    }
  }, [cid, parent]);
  assert.equal(deleted, 'not_found');

  // Online: the outbox delivers; the server holds the channel draft and no thread draft.
  an.goOnline();
  await eventually('the draft changes are delivered', async () => {
    assert.deepEqual(await ok(ap, () => window.client.pending()), []);
  }, 60_000);
  const server = await ok(ap, async ([cid, parent]) => {
    const c = window.ch(cid);
    const main = await c.getDraft();
    let reply = null;
    try { reply = (await c.getDraft(parent)).text; } catch (e) { reply = e.code; }
    return { main: main.text, reply };
  }, [cid, parent]);
  assert.equal(server.main, 'written offline', 'the server has the draft written offline');
  assert.equal(server.reply, 'not_found', 'and not the thread draft deleted offline');
  const drafts = await ok(ap, () => window.client.queryDrafts());
  assert.equal(drafts.fromCache, undefined, 'online, the server answers');
  assert.deepEqual(drafts.drafts.map((d) => d.text), ['written offline'], 'the server lists exactly the final drafts');
  await an.context.close();
});

test('member operations offline: add, remove and role changes show at once, survive a reload, reach the server once online', { timeout: 90_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const suffix = randomUUID().slice(0, 8);
  const [bob, carol, dave] = ['bob', 'carol', 'dave'].map((n) => `${n}-m-${suffix}`);
  const { user: alice, cid, net: an, page } = await withChannel(suffix, 'alice-m', 'members', {});
  let ap = page;
  await ok(ap, async ([cid, ids]) => {
    for (const id of ids) await fetch(`/dev/credentials?user_id=${encodeURIComponent(id)}`);
    await window.ch(cid).addMembers([ids[0], ids[2]]);
  }, [cid, [bob, carol, dave]]);
  const members = (cid) => {
    const s = window.ch(cid).state;
    return Object.values(s.members).map((m) => `${m.user_id}:${m.role}`).sort();
  };
  await eventually('bob and dave are members', async () => {
    assert.equal((await ok(ap, members, cid)).length, 3);
  });

  await an.goOffline();
  const echoed = await ok(ap, async ([cid, bob, carol, dave]) => {
    const c = window.ch(cid);
    window.ops = [c.addMembers([carol]), c.removeMembers([bob]), c.setRole(dave, 'moderator')]
      .map((p) => p.then(() => 'ok', (e) => e.code));
    await new Promise((r) => setTimeout(r, 0));
    const s = c.state;
    return Object.values(s.members).map((m) => `${m.user_id}:${m.role}`).sort();
  }, [cid, bob, carol, dave]);
  const expected = [`${alice}:owner`, `${carol}:member`, `${dave}:moderator`].sort();
  assert.deepEqual(echoed, expected, 'shown at once');
  await eventually('the three operations are queued', async () => {
    assert.equal((await ok(ap, () => window.client.pending())).length, 3);
  });

  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  const reloaded = await ok(ap, async (cid) => {
    const answer = await window.ch(cid).watch();
    const s = window.ch(cid).state;
    return { fromCache: !!answer.from_cache, members: Object.values(s.members).map((m) => `${m.user_id}:${m.role}`).sort() };
  }, cid);
  assert.deepEqual(reloaded, { fromCache: true, members: expected }, 'the echo survives a reload');

  an.goOnline();
  await eventually('the operations are delivered', async () => {
    assert.deepEqual(await ok(ap, () => window.client.pending()), []);
  }, 60_000);
  const server = await ok(ap, async (cid) => {
    const [type, id] = cid.split(':');
    const answer = await window.client.request('GET', `/v1/channels/${type}/${id}`);
    return answer.members.map((m) => `${m.user_id}:${m.role}`).sort();
  }, cid);
  assert.deepEqual(server, expected, 'the server holds every operation');
  await eventually('the state has the server\'s members', async () => {
    assert.deepEqual(await ok(ap, members, cid), expected);
  });
  await an.context.close();
});

test('a channel operation the server refuses is undone: the state and the cache show the server\'s channel again', { timeout: 90_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const suffix = randomUUID().slice(0, 8);
  const bob = `bob-r-${suffix}`;
  const { net: bn, page: bp } = await connected(bob);
  // Alice owns the channel; bob is a plain member, whom the server does not let rename it.
  const { cid, net: an } = await withChannel(suffix, 'alice-r', 'refused', { name: 'Kept', members: [bob] });
  await ok(bp, (cid) => window.ch(cid).watch(), cid);

  await bn.goOffline();
  const echoed = await ok(bp, async (cid) => {
    const c = window.ch(cid);
    window.failed = new Promise((resolve) => window.client.on('outbox.failed', resolve));
    window.rename = c.updatePartial({ name: 'Not allowed' }).then(() => 'ok', (e) => e.code);
    await new Promise((r) => setTimeout(r, 0));
    return c.state.channel?.name;
  }, cid);
  assert.equal(echoed, 'Not allowed', 'the echo is shown at once');

  bn.goOnline();
  const refusal = await ok(bp, async () => ({ event: (await window.failed).code, call: await window.rename }));
  assert.deepEqual(refusal, { event: 'forbidden', call: 'forbidden' });
  await eventually('the state shows the server\'s channel again', async () => {
    assert.equal(await ok(bp, (cid) => window.ch(cid).state.channel?.name, cid), 'Kept');
  }, 30_000);
  // The cached copy too: a new page opened offline reads the channel from the device.
  await bn.goOffline();
  await eventually('the cache holds the server\'s channel', async () => {
    const p = await bn.page();
    try {
      await connect(p, bob);
      const cached = await ok(p, async (cid) => {
        const answer = await window.ch(cid).watch();
        return { fromCache: !!answer.from_cache, name: window.ch(cid).state.channel?.name };
      }, cid);
      assert.deepEqual(cached, { fromCache: true, name: 'Kept' });
    } finally {
      await p.close();
    }
  });
  await an.context.close();
  await bn.context.close();
});

test('channel operations offline: rename, mute and freeze show at once, survive a reload, reach the server once online', { timeout: 90_000 }, async (t) => {
  t.after(() => { if (t.passed === false) console.log(logs.join('\n')); });
  const suffix = randomUUID().slice(0, 8);
  const bob = `bob-c-${suffix}`;
  const { net: bn, page: bp } = await connected(bob);
  const { user: alice, cid, net: an, page } = await withChannel(suffix, 'alice-c', 'chops', { name: 'Before', members: [bob] });
  let ap = page;
  await ok(bp, (cid) => window.ch(cid).watch(), cid);

  await an.goOffline();
  const echoed = await ok(ap, async (cid) => {
    const c = window.ch(cid);
    window.ops = [c.updatePartial({ name: 'Renamed offline' }), c.mute(), c.freeze()]
      .map((p) => p.then(() => 'ok', (e) => e.code));
    await new Promise((r) => setTimeout(r, 0)); // the calls run from the next microtask on
    const s = c.state;
    let refused = null;
    try {
      await c.sendMessage({ text: 'into a frozen channel' });
    } catch (e) {
      refused = e.code;
    }
    return { state: { name: s.channel?.name, frozen: !!s.channel?.is_frozen, muted: !!s.membership?.is_muted }, refused };
  }, cid);
  assert.deepEqual(echoed.state, { name: 'Renamed offline', frozen: true, muted: true }, 'shown at once');
  assert.equal(echoed.refused, 'channel_frozen', 'a send after the freeze is refused at once');
  // Durable once in the outbox (its transaction is committed a few milliseconds later).
  await eventually('the three operations are queued', async () => {
    const pending = await ok(ap, () => window.client.pending());
    assert.deepEqual(pending.map((e) => [e.kind, e.state]), [['call', 'pending'], ['call', 'pending'], ['call', 'pending']]);
  });

  await ap.close();
  ap = await an.page();
  await connect(ap, alice);
  const reloaded = await ok(ap, async (cid) => {
    const c = window.ch(cid);
    const answer = await c.watch();
    const s = c.state;
    return { fromCache: !!answer.from_cache, state: { name: s.channel?.name, frozen: !!s.channel?.is_frozen, muted: !!s.membership?.is_muted } };
  }, cid);
  assert.equal(reloaded.fromCache, true);
  assert.deepEqual(reloaded.state, { name: 'Renamed offline', frozen: true, muted: true }, 'the echo survives a reload');

  an.goOnline();
  await eventually('the operations are delivered', async () => {
    assert.deepEqual(await ok(ap, () => window.client.pending()), []);
  }, 60_000);
  await eventually('bob sees the renamed, frozen channel', async () => {
    const s = await ok(bp, (cid) => { const s = window.ch(cid).state; return { name: s.channel?.name, frozen: !!s.channel?.is_frozen }; }, cid);
    assert.deepEqual(s, { name: 'Renamed offline', frozen: true });
  });
  const server = await ok(ap, async (cid) => {
    const [type, id] = cid.split(':');
    const answer = await window.client.request('GET', `/v1/channels/${type}/${id}`);
    return { name: answer.channel.name, frozen: !!answer.channel.is_frozen, muted: !!answer.membership?.is_muted };
  }, cid);
  assert.deepEqual(server, { name: 'Renamed offline', frozen: true, muted: true }, 'the server holds every operation');
  await an.context.close();
  await bn.context.close();
});
