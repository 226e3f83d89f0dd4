// The browser I/O the wasm drives, apart from the stores (idb.js, memory.js): the connection
// (`Link`: one websocket, its timers, the browser's connectivity signals), the outbox's
// delivery loop (`Outbox`), REST calls (`Rest`), the store's writer (`Writer`) and
// client-chosen ids (`newId`). One module rather than six: every module the wasm imports is
// one more request when the package loads (and the wasm-bindgen test runner's server stalls
// when a page opens many connections at once).
// Imported by the wasm as a wasm-bindgen snippet.

// ---- the connection (src/bindings/driver.rs) -----------------------------------------------
// One websocket at a time, the reconnect timer, the health-check tick, and the browser's
// connectivity signals (the window's online / offline events, a hidden tab becoming visible).
// It decides nothing: every happening goes to the one listener as (kind, value); what happens
// before a listener is set (the first frames of the socket connect() opens early) waits for
// it, in order.
// Kinds, as src/bindings/driver.rs reads them.
const FRAME = 0; // value: the text of a frame
const CLOSED = 1; // value: the close code
const RECONNECT = 2;
const TICK = 3;
const ONLINE = 4;
const OFFLINE = 5;
const VISIBLE = 6;

export class Link {
  constructor() {
    this.ws = null;
    this.listener = null;
    this.waiting = [];
    this.timers = {};
    this.signals = [];
    const on = (target, name, kind, when = () => true) => {
      if (!target || !target.addEventListener) return;
      const handler = () => { if (when()) this.emit(kind); };
      target.addEventListener(name, handler);
      this.signals.push([target, name, handler]);
    };
    const win = typeof window === 'undefined' ? null : window;
    const doc = typeof document === 'undefined' ? null : document;
    on(win, 'online', ONLINE);
    on(win, 'offline', OFFLINE);
    on(doc, 'visibilitychange', VISIBLE, () => !doc.hidden);
  }

  /** Sets the listener `(kind, value) => void` and hands it what waited. */
  listen(listener) {
    this.listener = listener;
    const waiting = this.waiting;
    this.waiting = [];
    for (const [kind, value] of waiting) listener(kind, value);
  }

  emit(kind, value) {
    if (this.listener) this.listener(kind, value);
    else if (this.waiting) this.waiting.push([kind, value]);
  }

  /** Opens a socket in place of the current one; false when the URL is refused at once. */
  open(url) {
    this.drop();
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      return false;
    }
    ws.onmessage = (e) => { if (typeof e.data === 'string') this.emit(FRAME, e.data); };
    // An error event is always followed by a close event.
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.emit(CLOSED, e.code);
    };
    this.ws = ws;
    return true;
  }

  /** Sends a client frame (an object) if the socket is open; drops it otherwise. */
  send(frame) {
    const ws = this.ws;
    if (ws && ws.readyState === 1) {
      try { ws.send(JSON.stringify(frame)); } catch { /* closing: the close event follows */ }
    }
  }

  /** Closes the socket; no close event is reported for it. */
  close(code, reason) {
    this.drop(code, reason);
  }

  drop(code, reason) {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onmessage = ws.onclose = null;
    try { ws.close(code, reason); } catch { ws.close(); }
  }

  /** Reports RECONNECT after `ms` (the previous one is cancelled; a negative `ms` only cancels). */
  reconnect(ms) { this.timer(RECONNECT, ms); }

  /** Reports TICK after `ms` (re-armed by the driver on each). */
  tick(ms) { this.timer(TICK, ms); }

  timer(kind, ms) {
    clearTimeout(this.timers[kind]);
    delete this.timers[kind];
    if (ms >= 0) {
      this.timers[kind] = setTimeout(() => { delete this.timers[kind]; this.emit(kind); }, ms);
    }
  }

  /** Releases everything: socket, timers, signal listeners; nothing is reported afterwards. */
  dispose() {
    this.listener = null;
    this.waiting = null;
    this.drop();
    for (const kind of Object.keys(this.timers)) clearTimeout(this.timers[kind]);
    this.timers = {};
    for (const [target, name, handler] of this.signals) target.removeEventListener(name, handler);
    this.signals = [];
  }
}

// ---- the outbox's delivery (src/bindings/outbox.rs) ----------------------------------------
// Delivers the queued changes stored in the store's `outbox` records: one at a time per
// channel, exactly once (each request carries the entry's id), retrying with backoff (0.5 s
// doubling to 16 s; a reconnect starts over at once) while the server cannot be reached, a
// request without an answer after 20 s counting as such. What each step does to the entries is
// decided by the wasm (`host(kind, a, b)`, the rules of src/outbox/plan.rs); this loop applies
// those writes, one read-modify-write of the outbox at a time, and answers the promise of each
// change once the server confirmed or refused it (or the entry it was folded into).
// Host calls, as src/bindings/outbox.rs reads them.
const FOLD = 0;      // (records, new entry record) -> {writes, target?: the id to wait for}
const START = 1;     // (records, id) -> writes
const FAIL = 2;      // (records, [id, error]) -> {writes, permanent}
const RETRY = 3;     // (records, id) -> writes
const DISCARD = 4;   // (records, id) -> writes
const RECOVER = 5;   // (records) -> writes
const READY = 6;     // (records) -> the records to send now
const DELIVER = 7;   // (record) -> Promise of the server's answer
const CONFIRMED = 8; // (record, answer)
const REFUSED = 9;   // (record, error)
const EMIT = 10;     // (event)
const RETRIED = 11;  // (id): its echo shows as sending again
const DISCARDED = 12; // (id): its echo goes

const sdkError = (code, retryable, message) =>
  Object.assign(new Error(message), { code, status: 0, retryable });
// A store failure as the SDK reports it: unavailable, not worth repeating as it is.
const storeError = (e) =>
  sdkError('unavailable', false, `storage: ${(e && e.name) || 'Error'}: ${(e && e.message) || e}`);

export class Outbox {
  constructor(store, host) {
    this.store = store;
    this.host = host;
    this.tail = Promise.resolve();
    this.waiters = new Map(); // entry id -> [[resolve, reject]]
    this.draining = false;
    this.again = false;
    this.failures = 0;
    this.timer = null;
    this.disposed = false;
  }

  /** Runs `fn(records)` with the outbox to itself (its records read afresh). */
  locked(fn) {
    const run = this.tail.then(async () => fn(await this.store.all('outbox')));
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * Stores a change (`entry`: its record) with its local echo's writes in one transaction,
   * folded into unsent entries where it can be; resolves with the server's answer once it is
   * delivered (undefined when it cancelled out), rejects with the refusal.
   */
  async enqueue(entry, echo) {
    const target = await this.locked(async (records) => {
      const plan = this.host(FOLD, records, entry);
      await this.store.write(echo.concat(plan.writes));
      return plan.target;
    }).catch((e) => { throw storeError(e); });
    const answer = target === undefined
      ? Promise.resolve(undefined)
      : new Promise((ok, no) => {
        if (!this.waiters.has(target)) this.waiters.set(target, []);
        this.waiters.get(target).push([ok, no]);
      });
    await this.counts();
    this.kick();
    return answer;
  }

  settle(id, ok, value) {
    const waiting = this.waiters.get(id) || [];
    this.waiters.delete(id);
    for (const [resolve, reject] of waiting) (ok ? resolve : reject)(value);
  }

  /** Emits `outbox.changed` with the number of entries waiting and failed. */
  async counts() {
    let records;
    try { records = await this.store.all('outbox'); } catch { return; }
    const failed = records.filter((r) => r.state && r.state.failed).length;
    this.host(EMIT, { type: 'outbox.changed', pending: records.length - failed, failed });
  }

  /** Entries that were in flight when the page went away go back to pending; resolves with every record. */
  recover() {
    return this.locked(async (records) => {
      await this.store.write(this.host(RECOVER, records));
      return this.store.all('outbox');
    });
  }

  /** Every record, once the changes being stored are. */
  entries() {
    return this.locked((records) => records);
  }

  /** The connection is back: deliver now, with the backoff started over. */
  reconnected() {
    this.failures = 0;
    this.kick();
  }

  /** Starts delivering unless it is under way (then the running pass looks again). */
  kick() {
    this.again = true;
    if (this.draining || this.disposed) return;
    this.draining = true;
    this.drain().then((retry) => {
      this.draining = false;
      if (this.disposed) return;
      if (retry) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => { this.timer = null; this.kick(); }, 500 << Math.min(this.failures, 5));
      } else if (this.again) {
        this.kick();
      }
    });
  }

  /** Delivers until nothing is ready; resolves with whether a retryable failure stopped it. */
  async drain() {
    for (;;) {
      this.again = false;
      let ready;
      try {
        ready = await this.locked((records) => this.host(READY, records));
      } catch (e) {
        console.warn('chat-sdk: outbox unreadable:', e);
        return false;
      }
      if (!ready.length || this.disposed) return false;
      const retry = (await Promise.all(ready.map((r) => this.deliver(r)))).some(Boolean);
      await this.counts();
      if (retry) {
        this.failures += 1;
        return true;
      }
      this.failures = 0;
    }
  }

  /** Sends one entry and records the outcome; resolves with whether it failed in a retryable way. */
  async deliver(record) {
    const id = record.id;
    try {
      await this.locked((records) => this.store.write(this.host(START, records, id)));
    } catch (e) {
      console.warn('chat-sdk: outbox unwritable:', e);
      return true;
    }
    let answer, error;
    try {
      answer = await new Promise((ok, no) => {
        const timer = setTimeout(() => no(sdkError('unavailable', true, 'no answer within 20 s')), 20000);
        Promise.resolve(this.host(DELIVER, record)).then(ok, no).finally(() => clearTimeout(timer));
      });
    } catch (e) {
      error = e;
    }
    const after = await this.locked(async (records) => {
      if (!error) {
        try {
          await this.store.write([['del', 'outbox', id]]);
        } catch (e) {
          console.warn('chat-sdk: outbox unwritable:', e);
        }
        return () => {
          this.host(CONFIRMED, record, answer);
          this.settle(id, true, answer);
          return false;
        };
      }
      try {
        const plan = this.host(FAIL, records, [id, error]);
        await this.store.write(plan.writes);
        if (!plan.permanent) return () => true;
      } catch {
        return () => true;
      }
      return () => {
        this.host(REFUSED, record, error);
        this.settle(id, false, error);
        return false;
      };
    });
    return after();
  }

  /** Queues a refused entry again, after what was queued meanwhile. */
  async retry(id) {
    await this.locked(async (records) => {
      await this.store.write(this.host(RETRY, records, id));
      this.host(RETRIED, id);
    }).catch((e) => { throw storeError(e); });
    await this.counts();
    this.kick();
  }

  /** Gives up on an entry (a send's echo goes with it); its promise rejects with not_found. */
  async discard(id) {
    await this.locked(async (records) => {
      await this.store.write(this.host(DISCARD, records, id));
      this.host(DISCARDED, id);
    }).catch((e) => { throw storeError(e); });
    this.settle(id, false, sdkError('not_found', false, 'discarded'));
    await this.counts();
  }

  /** The entries as `{id, cid, kind, state, attempts, code?, message?}`, in the order they were made. */
  async pending() {
    let records;
    try { records = await this.store.all('outbox'); } catch (e) { throw storeError(e); }
    return records.sort((a, b) => a.order - b.order).map((r) => {
      const failed = r.state && r.state.failed;
      return {
        id: r.id,
        cid: r.cid,
        kind: Object.keys(r.op)[0],
        state: failed ? 'failed' : r.state,
        attempts: r.attempts,
        code: failed ? failed.code : undefined,
        message: failed ? failed.message : undefined,
      };
    });
  }

  /** The session is over: nothing more is sent; promises still waiting reject with `closed`. */
  dispose() {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const id of [...this.waiters.keys()]) {
      this.settle(id, false, sdkError('unavailable', false, 'the client is disconnected'));
    }
  }
}

// ---- REST and the store's writer (src/bindings/rest.rs) -------------------------------------
// Host calls, as src/bindings/host.rs reads them.
const ANSWER = 37;    // (status, parsed JSON or undefined) -> the value; throws the SDK's error
const EVICTABLE = 39; // () -> the cids whose older cached messages may go (the store is full)

/** An answer that came back after its client was released (the host throws `closed`). */
const gone = () => {};

/** Errors made here; the wasm makes the others (`ANSWER`). */
const failure = (code, status, retryable, message) =>
  Object.assign(new Error(message), { code, status, retryable });

// REST calls of one client: the global fetch (window or worker) with the client's headers and
// current token and a JSON body. What an answer means is the wasm's decision (the value, or the
// error for the status and the server's error body). An expired token is refreshed once through
// the token provider and the call repeated; calls that found the same token expired share one
// provider call.
export class Rest {
  constructor(base, apiKey, token, provider, host) {
    this.base = base;
    this.apiKey = apiKey;
    this.token = token;
    this.provider = provider;
    this.host = host;
    this.refreshing = null;
  }

  /** One call (`path` starts with `/v1/`); resolves with the answer, rejects with the SDK's error. */
  async call(method, path, body) {
    const used = this.token;
    try {
      return await this.once(method, path, body);
    } catch (e) {
      if (e.code !== 'token_expired' || !this.provider) throw e;
      await this.refresh(used);
      return this.once(method, path, body);
    }
  }

  async once(method, path, body) {
    const init = { method, headers: { 'X-Api-Key': this.apiKey, Authorization: `Bearer ${this.token}` } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    let status, text;
    try {
      const response = await fetch(this.base + path, init);
      status = response.status;
      text = await response.text();
    } catch (e) {
      // No answer: offline, refused, CORS.
      throw failure('unavailable', 0, true, (e && e.message) || 'the request failed');
    }
    let value;
    try { value = JSON.parse(text); } catch { value = undefined; }
    return this.host(ANSWER, status, value);
  }

  /** `call`, its outcome handed to the wasm: `host(kind, arg, [answer, error])`. */
  after(kind, arg, method, path, body) {
    this.call(method, path, body).then(
      (answer) => this.host(kind, arg, [answer, undefined]),
      (error) => this.host(kind, arg, [undefined, error]),
    ).catch(gone);
  }

  /** A new token from the provider unless the token changed since `stale` was used. */
  refresh(stale) {
    if (this.token !== stale) return Promise.resolve();
    if (!this.refreshing) this.refreshing = this.ask().finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  /** `refresh` for the connection: its outcome as `host(kind, undefined, [true, error])`. */
  renew(kind) {
    this.refresh(this.token).then(
      () => this.host(kind, undefined, [true, undefined]),
      (error) => this.host(kind, undefined, [undefined, error]),
    ).catch(gone);
  }

  async ask() {
    if (!this.provider) throw failure('token_expired', 401, false, 'no tokenProvider');
    let token;
    try {
      token = await this.provider();
    } catch {
      throw failure('token_expired', 0, false, 'the tokenProvider failed');
    }
    if (typeof token !== 'string' || !token) throw failure('token_expired', 0, false, 'the tokenProvider gave no token');
    // From now on for every call, and for the connection's next socket.
    this.token = token;
  }
}

// Mirrors the client's state into its store, in the order the changes were made: what queues
// up while a write runs goes in the next one, merged into one transaction. An older page of a
// channel's messages (`older`) is stored only where it reaches the channel's stored messages
// (so pages read back have no holes), judged after what was queued before it is stored. A write
// refused because the store is full drops older cached messages (never outbox entries or what
// they refer to) and is tried once more.
export class Writer {
  constructor(store, keep, host) {
    this.store = store;
    this.keep = keep;
    this.host = host;
    this.queue = [];
    this.writing = false;
  }

  /** Queues writes (the encoding js/idb.js applies). */
  put(writes) {
    if (writes.length) this.push({ writes });
  }

  /** Queues the writes of an older page of `cid` (answered for `before_seq` = `before`). */
  older(cid, before, writes) {
    if (writes.length) this.push({ cid, before, writes });
  }

  push(item) {
    this.queue.push(item);
    if (this.writing) return;
    this.writing = true;
    this.drain().finally(() => { this.writing = false; });
  }

  async drain() {
    while (this.queue.length) {
      const items = this.queue;
      this.queue = [];
      let all = [];
      for (const item of items) {
        if (item.cid === undefined) {
          all = all.concat(item.writes);
          continue;
        }
        await this.write(all);
        all = [];
        const first = await this.store.page('by_seq', item.cid, 0, Infinity, 1, false).catch(() => []);
        if (first.length && first[0].channel_seq <= item.before) all = all.concat(item.writes);
      }
      await this.write(all);
    }
  }

  async write(writes) {
    if (!writes.length) return;
    try {
      await this.store.write(writes);
    } catch (e) {
      if (!e || e.name !== 'QuotaExceededError') return console.warn('chat-sdk: could not store changes:', e);
      for (const cid of this.host(EVICTABLE)) await this.store.evict(cid, this.keep).catch(() => {});
      await this.store.write(writes).catch((again) => console.warn('chat-sdk: could not store changes:', again));
    }
  }
}

// ---- ids (src/bindings/shared.rs) ------------------------------------------------------------
// Client-chosen ids (uuid v4, lower case) for messages and mutations: crypto.randomUUID where
// the page is a secure context, else the same format from crypto.getRandomValues.
export function newId(c = globalThis.crypto) {
  if (c.randomUUID) return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
