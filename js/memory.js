// The store's records in JS memory, for this page only: what the Rust `BrowserStore` uses
// with `persistence: 'memory'` and where IndexedDB cannot be opened. Same methods and results
// as `Idb` in js/idb.js (the Rust store conformance suite runs on both): key paths, index
// order, copies in and out (structured clone, as IndexedDB does), one batch all or nothing.
import { plain, referenced } from './idb.js';

const KEYS = {
  channels: 'cid', members: ['cid', 'user_id'], users: 'id', messages: 'id',
  reactions: ['message_id', 'user_id', 'kind'], reads: ['cid', 'user_id'], drafts: ['cid', 'thread'],
  outbox: 'id', meta: 'key',
};
const INDEXES = { by_seq: ['cid', 'channel_seq'], by_parent: ['parent_id', 'channel_seq'] };

/** IndexedDB's key order for the keys used here: numbers < strings < arrays (0: not a key). */
const rank = (k) => (Array.isArray(k) ? 3 : typeof k == 'string' ? 2 : typeof k == 'number' && k == k ? 1 : 0);

export function cmp(a, b) {
  const r = rank(a) - rank(b);
  if (r || rank(a) < 3) return r || (a < b ? -1 : a > b ? 1 : 0);
  for (let i = 0; i < a.length && i < b.length; i++) {
    const c = cmp(a[i], b[i]);
    if (c) return c;
  }
  return a.length - b.length;
}

/** The key of `record` at `path`, or undefined where it has none. */
function keyOf(record, path) {
  const key = typeof path == 'string' ? record[path] : path.map((p) => record[p]);
  return rank(key) && (!Array.isArray(key) || key.every(rank)) ? key : undefined;
}

const copy = (v) => structuredClone(v);
const byKey = (x, y) => cmp(x[0], y[0]);

export class Memory {
  constructor() {
    this.data = {};
    for (const name in KEYS) this.data[name] = new Map();
    this.created = true;
    this.cursorPages = false;
  }

  close() {}

  /** `[key, record]` of `store` in key order; only keys starting with `prefix` if given. */
  rows(store, prefix) {
    const rows = [...this.data[store].values()].sort(byKey);
    return prefix == null ? rows : rows.filter(([k]) => Array.isArray(k) && k[0] === prefix);
  }

  async get(store, key, field) {
    const row = this.data[store].get(JSON.stringify(key));
    const value = row && copy(row[1]);
    if (value && field) delete value[field];
    return value;
  }

  async all(store, prefix, field) {
    return this.rows(store, prefix).map(([, r]) => {
      const value = copy(r);
      if (field) delete value[field];
      return value;
    });
  }

  async memberChannels(user) {
    return this.rows('members').filter(([, m]) => m.user_id === user).map(([k]) => k[0]);
  }

  /** The records of an ordering index under `prefix` with after < seq < before, in order. */
  ordered(index, prefix, after, before) {
    const path = INDEXES[index];
    const rows = [];
    for (const [k, r] of this.data.messages.values()) {
      const i = keyOf(r, path);
      if (i && i[0] === prefix && typeof i[1] == 'number' && i[1] > after && i[1] < before) rows.push([i, k, r]);
    }
    return rows.sort((x, y) => cmp(x[0], y[0]) || cmp(x[1], y[1]));
  }

  async page(index, prefix, after, before, limit, newest) {
    const rows = this.ordered(index, prefix, after, before);
    const cut = !limit ? rows : newest ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit);
    return cut.map(([, , r]) => copy(r));
  }

  async coldStart(latest) {
    const meta = this.rows('meta').map(([, m]) => [m.key, m.value]);
    const rows = [];
    for (const [, c] of this.rows('channels')) {
      if (typeof c.cid != 'string') continue;
      rows.push([
        copy(c),
        await this.all('members', c.cid, 'cid'),
        latest ? await this.page('by_seq', c.cid, 0, Infinity, latest, true) : [],
        await this.all('reads', c.cid),
      ]);
    }
    return [rows, meta];
  }

  put(store, value) {
    const key = keyOf(value, KEYS[store]);
    if (key === undefined) throw { name: 'DataError', message: `a ${store} record without its key` };
    this.data[store].set(JSON.stringify(key), [key, copy(value)]);
  }

  del(store, key) {
    this.data[store].delete(JSON.stringify(key));
  }

  deleteMessage(id) {
    this.del('messages', id);
    for (const [k] of this.rows('reactions', id)) this.del('reactions', k);
  }

  deleteConfirmed(cid, before, keep) {
    if (before <= 1) return 0;
    const refs = new Set(this.rows('outbox').map(([, e]) => referenced(e)));
    const ids = this.ordered('by_seq', cid, 0, before).map(([, k]) => k);
    let removed = 0;
    for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
      if (!refs.has(id)) {
        this.deleteMessage(id);
        removed++;
      }
    }
    return removed;
  }

  /** Runs `change`; should it throw, every store is put back as it was. */
  atomic(change) {
    const saved = {};
    for (const name in this.data) saved[name] = new Map(this.data[name]);
    try {
      return change();
    } catch (e) {
      this.data = saved;
      throw e;
    }
  }

  async write(writes) {
    this.atomic(() => {
      for (const [kind, a, b] of writes.map(plain)) {
        if (kind == 'put') this.put(a, b);
        else if (kind == 'del') this.del(a, b);
        else if (kind == 'message') this.deleteMessage(a);
        else if (kind == 'before') this.deleteConfirmed(a, b, 0);
      }
    });
  }

  async evict(cid, keep) {
    return this.deleteConfirmed(cid, Infinity, keep);
  }

  async clear() {
    for (const name in this.data) this.data[name].clear();
  }
}
