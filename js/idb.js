// The IndexedDB side of the Rust `BrowserStore` (src/store/browser/mod.rs): the schema and its
// migrations, transactions and requests. The Rust store says WHAT to read or write (one batch =
// one transaction); this file only talks to the browser, in JS because every IndexedDB call
// made from wasm costs far more code than the call itself (bench/run size).
//
// Errors are the browser's own (DOMException name and message kept), plus three of ours, named
// like `StoreError::name()` in Rust: `NotSupportedError` (no IndexedDB here), `UpgradeBlocked`
// (another connection keeps an older version open) and `ConnectionClosed` (another tab upgraded
// or deleted the database: the connection closed itself; the next call opens it again).
//
// Schema. Steps are immutable once released: a change is a new step with the next version.
//
// | version | step |
// | --- | --- |
// | 1 | every store below, `messages.by_seq`, `messages.by_parent` |
// | 2 | `members.by_user` `[user_id, cid]` (the channels a user is in) |
// | 3 | records are wire objects: reactions written before get their `type` (from `kind`) |
// | 4 | `by_seq` / `by_parent` become `[cid, channel_seq]` / `[parent_id, channel_seq]`; messages lose their `rseq` |
//
// Records are the wire objects themselves (structured clone). Three stores need a key field the
// wire object lacks; it is set on a shallow copy before the put and removed from what is read:
// a member's `cid`, a draft's `thread` (`parent_id`, or "" for the channel's draft) and a
// reaction's `kind` (= `type`). Message order: `[cid, channel_seq]` / `[parent_id,
// channel_seq]`; local echoes (`channel_seq` absent or 0) fall outside every range used here.

const ALL = ['channels', 'members', 'users', 'messages', 'reactions', 'reads', 'drafts', 'outbox', 'meta'];
const MSG = 'messages', REACT = 'reactions', MEMBERS = 'members', OUTBOX = 'outbox';

/** Resolves with a request's result, rejects with its error. */
const done = (req) => new Promise((ok, no) => {
  req.onsuccess = () => ok(req.result);
  req.onerror = () => no(req.error);
});

/** Resolves when a transaction commits; rejects with why it aborted (e.g. QuotaExceededError). */
const committed = (tx) => new Promise((ok, no) => {
  tx.oncomplete = () => ok();
  tx.onabort = () => no(tx.error || { name: 'AbortError', message: 'the transaction was aborted without an error' });
});

const fail = (name, message) => ({ name, message });

/** Every compound key starting with `prefix` (arrays sort above strings and numbers). */
const prefixRange = (prefix) => IDBKeyRange.bound([prefix], [prefix, []]);

/** Confirmed messages of `prefix` with after < channel_seq < before. */
const seqRange = (prefix, after, before) => IDBKeyRange.bound([prefix, after], [prefix, before], true, true);

/** Walks every record of `store` in the upgrade transaction; `change` returning true writes it back. */
function rewrite(tx, store, change) {
  tx.objectStore(store).openCursor().onsuccess = (e) => {
    const cursor = e.target.result;
    if (!cursor) return;
    if (change(cursor.value)) cursor.update(cursor.value);
    cursor.continue();
  };
}

const STEPS = [
  (db) => {
    const create = (name, keyPath) => db.createObjectStore(name, { keyPath });
    create('channels', 'cid');
    create(MEMBERS, ['cid', 'user_id']);
    create('users', 'id');
    const messages = create(MSG, 'id');
    messages.createIndex('by_seq', ['cid', 'rseq']);
    messages.createIndex('by_parent', ['parent_id', 'rseq']);
    create(REACT, ['message_id', 'user_id', 'kind']);
    create('reads', ['cid', 'user_id']);
    create('drafts', ['cid', 'thread']);
    create(OUTBOX, 'id');
    create('meta', 'key');
  },
  (db, tx) => tx.objectStore(MEMBERS).createIndex('by_user', ['user_id', 'cid']),
  // Reactions stored as serde encoded them (`kind`, no `type`) get `type = kind`.
  (db, tx) => rewrite(tx, REACT, (r) => typeof r.type != 'string' && ((r.type = r.kind), true)),
  (db, tx) => {
    const messages = tx.objectStore(MSG);
    messages.deleteIndex('by_seq');
    messages.deleteIndex('by_parent');
    messages.createIndex('by_seq', ['cid', 'channel_seq']);
    messages.createIndex('by_parent', ['parent_id', 'channel_seq']);
    rewrite(tx, MSG, (m) => 'rseq' in m && delete m.rseq);
  },
];

/** The message an outbox entry refers to (kept when older messages are evicted). */
export function referenced(entry) {
  const op = entry.op || {};
  const kind = Object.keys(op)[0];
  if (kind == 'send') return op.send.id;
  return kind == 'mark_read' || kind == 'call' ? undefined : (op[kind] || {}).message_id;
}

/** Deletes a message and its reactions. */
function deleteMessage(tx, id) {
  tx.objectStore(MSG).delete(id);
  tx.objectStore(REACT).delete(prefixRange(id));
}

/** Deletes the confirmed messages of `cid` below `before`, except the newest `keep` and those
 * the outbox refers to, with their reactions. Resolves with how many went. */
async function deleteConfirmed(tx, cid, before, keep) {
  if (before <= 1) return 0;
  const refs = new Set((await done(tx.objectStore(OUTBOX).getAll())).map(referenced));
  const ids = await done(tx.objectStore(MSG).index('by_seq').getAllKeys(seqRange(cid, 0, before)));
  let removed = 0;
  for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
    if (!refs.has(id)) {
      deleteMessage(tx, id);
      removed++;
    }
  }
  return removed;
}

/** A write of the Rust store (`[kind, ...arguments]`, see `encode` in src/store/browser) as a
 * plain `['put', store, record]` or `['del', store, key]`, with the key field the record lacks
 * added; `message` and `before` writes come back as they are. Shared with js/memory.js. */
export function plain([kind, a, b, ...rest]) {
  switch (kind) {
    case 'del': return [kind, a, rest.length ? [b, ...rest] : b];
    case 'member': return ['put', MEMBERS, { ...b, cid: a }];
    case 'reaction': return ['put', REACT, { ...a, kind: a.type }];
    case 'draft': return ['put', 'drafts', { ...a, thread: a.parent_id ?? '' }];
    case 'meta': return ['put', 'meta', { key: a, value: b }];
    default: return [kind, a, b];
  }
}

/** The stores a plain write touches. */
const scope = ([kind, store]) => (kind == 'message' ? [MSG, REACT] : kind == 'before' ? [MSG, REACT, OUTBOX] : [store]);

const strip = (records, field) => {
  for (const r of records) delete r[field];
  return records;
};

/** One database connection, opened again after it closed itself. */
export class Idb {
  constructor(name, version) {
    this.name = name;
    this.version = version;
    this.db = null;
    this.opening = null;
    this.created = false;
    /** Tests: read newest-first pages with a cursor even where getAll takes a direction. */
    this.cursorPages = false;
  }

  /** Opens (creating or upgrading) `name` at `version`; rejects with UpgradeBlocked instead of
   * waiting for another connection to let go. */
  static async open(name, version) {
    const idb = new Idb(name, version);
    await idb.connect();
    return idb;
  }

  /** Deletes the database `name`; waits until every connection closed (ours close themselves). */
  static async remove(name) {
    return done(factory().deleteDatabase(name));
  }

  connect() {
    if (this.db) return Promise.resolve(this.db);
    // Calls that find the connection closed at the same time share one open.
    if (!this.opening) this.opening = this.reopen().finally(() => { this.opening = null; });
    return this.opening;
  }

  /** Opens the database (runs the migrations); see `connect`. */
  reopen() {
    return new Promise((ok, no) => {
      let failure;
      const req = factory().open(this.name, this.version);
      req.onupgradeneeded = (e) => {
        this.created = e.oldVersion == 0;
        try {
          for (let v = e.oldVersion; v < this.version; v++) STEPS[v](req.result, req.transaction);
        } catch (err) {
          // Aborting the upgrade fails the open and leaves the old version intact.
          failure = err;
          req.transaction.abort();
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        // Never block another tab's upgrade or delete: close, and open again on the next call.
        // The next transaction on it then fails with ConnectionClosed, once.
        db.onversionchange = () => db.close();
        this.db = db;
        ok(db);
      };
      req.onerror = () => no(failure || req.error);
      req.onblocked = () => {
        // Should the open go through once the other connection lets go, close that one too.
        req.onsuccess = () => req.result.close();
        no(fail('UpgradeBlocked', `opening ${this.name} at version ${this.version} waits for another connection to close`));
      };
    });
  }

  close() {
    if (this.db) this.db.close();
    this.db = null;
  }

  async tx(names, mode) {
    const db = await this.connect();
    try {
      return db.transaction(names, mode);
    } catch (e) {
      if (e.name != 'InvalidStateError') throw e;
      this.db = null;
      throw fail('ConnectionClosed', e.message);
    }
  }

  async get(store, key, field) {
    const value = await done((await this.tx(store)).objectStore(store).get(key));
    if (value && field) delete value[field];
    return value;
  }

  /** Every record of `store`, or those whose key starts with `prefix`, without `field`. */
  async all(store, prefix, field) {
    const query = prefix == null ? undefined : prefixRange(prefix);
    return strip(await done((await this.tx(store)).objectStore(store).getAll(query)), field);
  }

  /** The cids `user` is a member of. */
  async memberChannels(user) {
    const index = (await this.tx(MEMBERS)).objectStore(MEMBERS).index('by_user');
    return (await done(index.getAllKeys(prefixRange(user)))).map((k) => k[0]);
  }

  /** Oldest first: the confirmed messages of `prefix` in `index` with after < seq < before,
   * the first `limit` of them (0: all), or with `newest` the last `limit`. */
  async page(index, prefix, after, before, limit, newest) {
    index = (await this.tx(MSG)).objectStore(MSG).index(index);
    const query = seqRange(prefix, after, before);
    return newest ? this.newest(index, query, limit) : done(index.getAll(query, limit || undefined));
  }

  /** The last `limit` records of `query` in `index`, oldest first. Browsers with IndexedDB 3
   * take a direction in `getAll({query, count, direction})`; others walk a cursor back. */
  async newest(index, query, limit) {
    if (!limit) return [];
    if (!this.cursorPages && 'getAllRecords' in index) {
      return (await done(index.getAll({ query, count: limit, direction: 'prev' }))).reverse();
    }
    const out = [];
    const req = index.openCursor(query, 'prev');
    for (;;) {
      const cursor = await done(req);
      if (!cursor) break;
      out.push(cursor.value);
      if (out.length == limit) break;
      cursor.continue();
    }
    return out.reverse();
  }

  /** A cold start in ONE transaction: every channel with its members, newest `latest`
   * messages (oldest first) and reads, as `[channel, members, messages, reads]`, and every
   * meta record as `[key, value]` (in key order). Members, reads and meta are read whole (one request each,
   * grouped here); messages with one request per channel, all issued before any answer. */
  async coldStart(latest) {
    const tx = await this.tx(['channels', MEMBERS, 'reads', MSG, 'meta']);
    const all = (name) => done(tx.objectStore(name).getAll());
    const index = tx.objectStore(MSG).index('by_seq');
    const [channels, members, reads, metas] = await Promise.all(['channels', MEMBERS, 'reads', 'meta'].map(all));
    const byCid = (records) => {
      const map = new Map();
      for (const r of records) {
        if (!map.has(r.cid)) map.set(r.cid, []);
        map.get(r.cid).push(r);
      }
      return map;
    };
    const [memberMap, readMap] = [byCid(members), byCid(reads)];
    const rows = channels.filter((c) => typeof c.cid == 'string').map(async (c) => [
      c,
      strip(memberMap.get(c.cid) || [], 'cid'),
      await this.newest(index, seqRange(c.cid, 0, Infinity), latest),
      readMap.get(c.cid) || [],
    ]);
    return [await Promise.all(rows), metas.map((m) => [m.key, m.value])];
  }

  /** Applies a batch of writes (see `apply` and the Rust `Write`) in one transaction: all or
   * nothing. */
  async write(writes) {
    writes = writes.map(plain);
    const names = new Set(writes.flatMap(scope));
    if (!names.size) return;
    const tx = await this.tx([...names], 'readwrite');
    return this.run(tx, async () => {
      for (const [kind, a, b] of writes) {
        if (kind == 'put') tx.objectStore(a).put(b);
        else if (kind == 'del') tx.objectStore(a).delete(b);
        else if (kind == 'message') deleteMessage(tx, a);
        else if (kind == 'before') await deleteConfirmed(tx, a, b, 0);
      }
    });
  }

  /** Drops the confirmed messages of `cid` older than the newest `keep`, except those the
   * outbox refers to. */
  async evict(cid, keep) {
    const tx = await this.tx(scope(['before']), 'readwrite');
    return this.run(tx, () => deleteConfirmed(tx, cid, Infinity, keep));
  }

  async clear() {
    const tx = await this.tx(ALL, 'readwrite');
    return this.run(tx, async () => ALL.forEach((n) => tx.objectStore(n).clear()));
  }

  /** Issues `requests` in `tx`, commits and waits: resolves with what `requests` did, rejects
   * with the first failure (the transaction then aborts). */
  async run(tx, requests) {
    const end = committed(tx);
    let result;
    try {
      result = await requests();
    } catch (e) {
      end.catch(() => {});
      try { tx.abort(); } catch {}
      throw e;
    }
    // Commit as soon as the requests issued are done (where supported).
    if (tx.commit) tx.commit();
    await end;
    return result;
  }
}

function factory() {
  if (!globalThis.indexedDB) throw fail('NotSupportedError', 'IndexedDB is not available here');
  return indexedDB;
}
