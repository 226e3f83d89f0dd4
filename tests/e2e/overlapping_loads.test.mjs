// End-to-end: a slow answer to a channel load must not roll a channel back. Two loads of one
// channel overlap (two `watch()` calls, or a `watch()` and the reload the SDK starts itself on
// `notification.added_to_channel`); the first one's answer is slow to arrive, and live
// messages are applied in between. The late answer is older than what the client already
// shows. Found by the server-restart test, where it showed as a message.new delivered twice.
//
// The slow answer is real: the request reaches the real server and is answered at once; only
// its delivery to the page is held back (Playwright's route.fetch, then route.fulfill later).
//
// Run:  CHAT_DEMO_URL=http://127.0.0.1:PORT node --test tests/e2e/   (or without: own server)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setUp } from './harness.mjs';
import { openClient, eventually } from './client.mjs';

let env = null;
const logs = [];

before(async () => { env = await setUp(); });
after(async () => { if (env) await env.close(); });

test('a late answer of an overlapping watch() does not drop newer messages from the state nor deliver them twice',
  async (t) => {
    const run = randomUUID().slice(0, 8);
    const clientEnv = { browser: env.browser, baseUrl: env.baseUrl, logs };
    const alice = await openClient(clientEnv, `alice-${run}`);
    const bob = await openClient(clientEnv, `bob-${run}`);
    const mark = logs.length;
    try {
      const id = `slow-${randomUUID().slice(0, 12)}`;
      const cid = `messaging:${id}`;
      await alice.call(async (a) => {
        const c = client.channel('messaging', a.id, { members: [a.bob] });
        window.handles[c.cid] = c;
        await c.create();
        await c.watch();
      }, { id, bob: bob.userId });
      await bob.call((c) => ch(c).watch(), cid);
      const send = (text) => alice.call(async (a) => (await ch(a.cid).sendMessage({ text: a.text })).id, { cid, text });
      const m0 = await send('m0');
      await bob.waitEvent('m0', (e, mid) => e.type === 'message.new' && e.message?.id === mid, m0);

      // bob's next watch() is answered by the server now, but the answer reaches the page only
      // when the test lets it.
      let release;
      const held = new Promise((r) => { release = r; });
      let answered;
      const fetched = new Promise((r) => { answered = r; });
      let first = true;
      await bob.page.route(`**/v1/channels/messaging/${id}/watch*`, async (route) => {
        if (!first) return route.continue();
        first = false;
        const response = await route.fetch();
        answered();
        await held;
        return route.fulfill({ response });
      });
      await bob.page.evaluate((c) => { window.slowWatch = ch(c).watch(); }, cid);
      await fetched;
      await bob.call((c) => ch(c).watch(), cid);           // a second load, answered at once
      const newer = [await send('m1'), await send('m2')];
      for (const mid of newer) await bob.waitEvent(mid, (e, x) => e.type === 'message.new' && e.message?.id === x, mid);
      release();
      await bob.page.evaluate(() => window.slowWatch);
      await bob.page.unrouteAll();

      const afterLateAnswer = await bob.call((c) => ch(c).state.messages.map((m) => m.id), cid);
      const m3 = await send('m3');
      await bob.waitEvent('m3', (e, x) => e.type === 'message.new' && e.message?.id === x, m3);
      const final = await eventually('bob\'s state has m3', async () => {
        const now = await bob.call((c) => ch(c).state.messages.map((m) => m.id), cid);
        assert.ok(now.includes(m3));
        return now;
      });
      const delivered = (await bob.events((e) => e.type === 'message.new')).map((e) => e.message.id);
      const name = (x) => ({ [m0]: 'm0', [newer[0]]: 'm1', [newer[1]]: 'm2', [m3]: 'm3' }[x] ?? x);
      assert.deepEqual(
        { afterLateAnswer: afterLateAnswer.map(name), final: final.map(name), delivered: delivered.map(name) },
        { afterLateAnswer: ['m0', 'm1', 'm2'], final: ['m0', 'm1', 'm2', 'm3'], delivered: ['m0', 'm1', 'm2', 'm3'] },
        'the late, older answer neither rolls the state back nor makes messages arrive twice',
      );
    } catch (e) {
      for (const line of logs.slice(mark).slice(-40)) t.diagnostic(line);
      throw e;
    } finally {
      await alice.close();
      await bob.close();
    }
  });
