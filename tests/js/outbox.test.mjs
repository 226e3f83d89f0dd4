// js/io.js's Outbox: the delivery loop over a store's outbox records (js/memory.js here). The
// rules it asks its host for are the wasm's (src/outbox/plan.rs, tested natively); the host
// below applies simple ones of the same shape, so what is tested is the loop: per-channel
// order, one request per channel at a time, the promise of each change, retries, refusals,
// discard and dispose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox } from '../../js/io.js';
import { Memory } from '../../js/memory.js';

const error = (code, retryable) => Object.assign(new Error(code), { code, status: 0, retryable });

/** A host with the plan's shapes; `send(record)` answers each delivery. */
function host(send) {
  const events = [];
  const put = (records, id, change) => {
    const r = records.find((x) => x.id === id);
    return r ? [['put', 'outbox', change(structuredClone(r))]] : [];
  };
  const order = (records) => Math.max(0, ...records.map((r) => r.order)) + 1;
  const call = (kind, a, b) => {
    switch (kind) {
      case 0: return { writes: [['put', 'outbox', { ...b, order: order(a) }]], target: b.id };
      case 1: return put(a, b, (r) => ({ ...r, state: 'in_flight', attempts: r.attempts + 1 }));
      case 2: {
        const [id, e] = b;
        const permanent = !e.retryable;
        const state = permanent ? { failed: { code: e.code, message: e.message } } : 'pending';
        return { writes: put(a, id, (r) => ({ ...r, state })), permanent };
      }
      case 3: return put(a, b, (r) => ({ ...r, state: 'pending', order: order(a) }));
      case 4: return [['del', 'outbox', b]];
      case 5: return a.filter((r) => r.state === 'in_flight').map((r) => ['put', 'outbox', { ...r, state: 'pending' }]);
      case 6: {
        const sorted = [...a].sort((x, y) => x.order - y.order);
        const busy = new Set(sorted.filter((r) => r.state === 'in_flight').map((r) => r.cid));
        const picked = new Set();
        return sorted.filter((r) => {
          if (busy.has(r.cid) || picked.has(r.cid) || r.state !== 'pending') return false;
          picked.add(r.cid);
          return true;
        });
      }
      case 7: return send(a);
      case 10: events.push(a); return undefined;
      default: events.push({ kind, a, b }); return undefined;
    }
  };
  return { call, events };
}

const entry = (id, cid) => ({ id, cid, order: 0, op: { call: { method: 'POST', path: `/v1/x/${id}` } }, state: 'pending', attempts: 0 });

test('per channel one request at a time, in order; channels side by side; each change resolves with its answer', { timeout: 10_000 }, async () => {
  const inFlight = new Map();
  const sent = [];
  let most = 0;
  const h = host(async (r) => {
    sent.push(r.id);
    inFlight.set(r.cid, (inFlight.get(r.cid) || 0) + 1);
    most = Math.max(most, inFlight.get(r.cid));
    await new Promise((ok) => setTimeout(ok, 5));
    inFlight.set(r.cid, inFlight.get(r.cid) - 1);
    return { answered: r.id };
  });
  const store = new Memory();
  const outbox = new Outbox(store, h.call);
  const ids = ['a1', 'b1', 'a2', 'a3', 'b2'];
  const answers = await Promise.all(ids.map((id) => outbox.enqueue(entry(id, id[0]), [])));
  assert.deepEqual(answers.map((a) => a.answered), ids);
  assert.deepEqual(sent.filter((id) => id[0] === 'a'), ['a1', 'a2', 'a3']);
  assert.deepEqual(sent.filter((id) => id[0] === 'b'), ['b1', 'b2']);
  assert.equal(most, 1, 'never two requests of one channel at once');
  assert.deepEqual(await store.all('outbox'), []);
  const last = h.events.filter((e) => e.type === 'outbox.changed').at(-1);
  assert.deepEqual(last, { type: 'outbox.changed', pending: 0, failed: 0 });
});

test('a retryable failure keeps the entry at its place; a reconnect sends it again at once', { timeout: 10_000 }, async () => {
  let fail = true;
  const sent = [];
  const h = host(async (r) => {
    sent.push(r.id);
    if (fail) throw error('unavailable', true);
    return { ok: r.id };
  });
  const outbox = new Outbox(new Memory(), h.call);
  const first = outbox.enqueue(entry('x1', 'c'), []);
  const second = outbox.enqueue(entry('x2', 'c'), []);
  await new Promise((ok) => setTimeout(ok, 50));
  assert.deepEqual(sent, ['x1'], 'x2 waits behind the failed x1');
  fail = false;
  outbox.reconnected();
  assert.deepEqual([(await first).ok, (await second).ok], ['x1', 'x2']);
  assert.deepEqual(sent, ['x1', 'x1', 'x2']);
  outbox.dispose();
});

test('a refusal rejects the change and leaves it failed; the rest of the channel goes on; discard drops it', { timeout: 10_000 }, async () => {
  const h = host(async (r) => {
    if (r.id === 'bad') throw error('forbidden', false);
    return { ok: r.id };
  });
  const store = new Memory();
  const outbox = new Outbox(store, h.call);
  const bad = outbox.enqueue(entry('bad', 'c'), []);
  const good = outbox.enqueue(entry('good', 'c'), []);
  await assert.rejects(bad, (e) => e.code === 'forbidden');
  assert.equal((await good).ok, 'good');
  const pending = await outbox.pending();
  assert.deepEqual(pending.map((p) => [p.id, p.state, p.code, p.kind]), [['bad', 'failed', 'forbidden', 'call']]);
  assert.ok(h.events.some((e) => e.kind === 9 && e.a.id === 'bad'), 'the refusal reached the host');
  await outbox.discard('bad');
  assert.deepEqual(await outbox.pending(), []);
});

test('dispose: changes still waiting reject as disconnected, and nothing more is sent', { timeout: 10_000 }, async () => {
  const sent = [];
  const h = host(async (r) => {
    sent.push(r.id);
    throw error('unavailable', true);
  });
  const store = new Memory();
  const outbox = new Outbox(store, h.call);
  const waiting = outbox.enqueue(entry('w', 'c'), []);
  await new Promise((ok) => setTimeout(ok, 20));
  outbox.dispose();
  await assert.rejects(waiting, (e) => e.code === 'unavailable' && e.retryable === false);
  outbox.kick();
  await new Promise((ok) => setTimeout(ok, 1200));
  assert.deepEqual(sent, ['w'], 'no retry after dispose');
  assert.equal((await store.all('outbox')).length, 1, 'the change stays stored for the next session');
});

test('recover puts entries left in flight back to pending', { timeout: 10_000 }, async () => {
  const store = new Memory();
  await store.write([['put', 'outbox', { ...entry('f', 'c'), state: 'in_flight', attempts: 1, order: 1 }]]);
  const outbox = new Outbox(store, host(async () => ({})).call);
  const records = await outbox.recover();
  assert.deepEqual(records.map((r) => r.state), ['pending']);
});
