// js/io.js's Rest (REST calls with the client's headers and the token refresh) against a real
// HTTP server on the loopback, and its Writer (the store's writes in order) over js/memory.js.
// What an answer means is the wasm's decision; the host here applies the same rule (a 2xx
// answer's value, else the server's error body as an Error with `code`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Rest, Writer } from '../../js/io.js';
import { Memory } from '../../js/memory.js';

const ANSWER = 37;
const EVICTABLE = 39;

function answerHost(status, value) {
  if (status >= 200 && status < 300) return value;
  throw Object.assign(new Error(value?.message || 'http'), { code: value?.code, status, retryable: false });
}

/** A server whose tokens `valid` are accepted; records every request. */
async function serve(valid) {
  const seen = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, key: req.headers['x-api-key'], auth: req.headers.authorization, body });
      const token = (req.headers.authorization || '').replace('Bearer ', '');
      const ok = valid.has(token);
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { echo: body ? JSON.parse(body) : null, token } : { code: 'token_expired', message: 'expired', retryable: false }));
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, seen, close: () => new Promise((ok) => server.close(ok)) };
}

test('calls carry the api key and token; concurrent expiries share one provider call, each call is repeated once', { timeout: 10_000 }, async () => {
  const valid = new Set(['fresh']);
  const srv = await serve(valid);
  let asked = 0;
  const provider = async () => {
    asked += 1;
    await new Promise((ok) => setTimeout(ok, 20));
    return 'fresh';
  };
  const rest = new Rest(srv.base, 'key-1', 'old', provider, (kind, a, b) => (kind === ANSWER ? answerHost(a, b) : undefined));
  const answers = await Promise.all([1, 2, 3].map((n) => rest.call('POST', `/v1/x/${n}`, { n })));
  assert.deepEqual(answers.map((a) => [a.echo.n, a.token]), [[1, 'fresh'], [2, 'fresh'], [3, 'fresh']]);
  assert.equal(asked, 1, 'one provider call for three expiries');
  assert.equal(rest.token, 'fresh');
  assert.ok(srv.seen.every((r) => r.key === 'key-1'));
  assert.equal(srv.seen.filter((r) => r.auth === 'Bearer old').length, 3);
  assert.equal(srv.seen.filter((r) => r.auth === 'Bearer fresh').length, 3);
  await srv.close();
});

test('without a provider, or when it fails, the expiry is the answer; no answer at all is unavailable and retryable', { timeout: 10_000 }, async () => {
  const srv = await serve(new Set());
  const host = (kind, a, b) => (kind === ANSWER ? answerHost(a, b) : undefined);
  await assert.rejects(new Rest(srv.base, 'k', 'old', undefined, host).call('GET', '/v1/x'), (e) => e.code === 'token_expired');
  const failing = new Rest(srv.base, 'k', 'old', async () => { throw new Error('no'); }, host);
  await assert.rejects(failing.call('GET', '/v1/x'), (e) => e.code === 'token_expired' && e.message === 'the tokenProvider failed');
  await srv.close();
  const gone = new Rest(srv.base, 'k', 'old', undefined, host);
  await assert.rejects(gone.call('GET', '/v1/x'), (e) => e.code === 'unavailable' && e.retryable === true && e.status === 0);
});

test('after() hands the outcome to the host: [answer, undefined] or [undefined, error]', { timeout: 10_000 }, async () => {
  const srv = await serve(new Set(['t']));
  const got = [];
  const rest = new Rest(srv.base, 'k', 't', undefined, (kind, a, b) => {
    if (kind === ANSWER) return answerHost(a, b);
    got.push([kind, a, b]);
    return undefined;
  });
  rest.after(40, 'arg', 'POST', '/v1/sync', { channels: {} });
  const bad = new Rest(srv.base, 'k', 'expired', undefined, rest.host);
  bad.after(41, 'c', 'GET', '/v1/channels/a/b');
  await new Promise((ok) => setTimeout(ok, 300));
  got.sort((x, y) => x[0] - y[0]);
  assert.equal(got[0][0], 40);
  assert.deepEqual(got[0][2][0].echo, { channels: {} });
  assert.equal(got[1][0], 41);
  assert.equal(got[1][2][0], undefined);
  assert.equal(got[1][2][1].code, 'token_expired');
  await srv.close();
});

const msg = (cid, seq) => ({ id: `${cid}-${seq}`, cid, channel_seq: seq, text: `m${seq}` });
const put = (m) => ['put', 'messages', m];

test('writer: writes in order, what queued meanwhile merged into the next transaction', { timeout: 10_000 }, async () => {
  const store = new Memory();
  const batches = [];
  const write = store.write.bind(store);
  store.write = async (w) => { batches.push(w.length); await new Promise((ok) => setTimeout(ok, 10)); return write(w); };
  const writer = new Writer(store, 50, () => []);
  writer.put([put({ ...msg('c', 1), text: 'first' })]);
  writer.put([put({ ...msg('c', 1), text: 'second' })]);
  writer.put([put(msg('c', 2))]);
  await new Promise((ok) => setTimeout(ok, 100));
  assert.deepEqual(batches, [1, 2], 'the first write alone, the two queued meanwhile together');
  assert.equal((await store.get('messages', 'c-1')).text, 'second', 'later writes win');
});

test('writer: an older page is stored only where it reaches the stored messages, judged after earlier writes', { timeout: 10_000 }, async () => {
  const store = new Memory();
  const writer = new Writer(store, 50, () => []);
  writer.put([put(msg('c', 10)), put(msg('c', 11))]);
  writer.older('c', 10, [put(msg('c', 8)), put(msg('c', 9))]);   // reaches seq 10
  writer.older('c', 5, [put(msg('c', 3)), put(msg('c', 4))]);    // a hole between 4 and 8
  await new Promise((ok) => setTimeout(ok, 100));
  const seqs = (await store.page('by_seq', 'c', 0, Infinity, 0, false)).map((m) => m.channel_seq);
  assert.deepEqual(seqs, [8, 9, 10, 11]);
});

test('writer: a write refused because the store is full evicts older cached messages and is tried again', { timeout: 10_000 }, async () => {
  const store = new Memory();
  await store.write([1, 2, 3, 4].map((s) => put(msg('c', s))));
  const write = store.write.bind(store);
  let refusals = 1;
  store.write = async (w) => {
    if (refusals-- > 0) throw Object.assign(new Error('full'), { name: 'QuotaExceededError' });
    return write(w);
  };
  const asked = [];
  const writer = new Writer(store, 2, (kind) => { asked.push(kind); return kind === EVICTABLE ? ['c'] : undefined; });
  writer.put([put(msg('c', 5))]);
  await new Promise((ok) => setTimeout(ok, 100));
  assert.deepEqual(asked, [EVICTABLE]);
  const seqs = (await store.page('by_seq', 'c', 0, Infinity, 0, false)).map((m) => m.channel_seq);
  assert.deepEqual(seqs, [3, 4, 5], 'the newest 2 kept before the write, then the write');
});
