// The store benchmark page: our BrowserStore (through the `bench` build of the wasm) and
// Dexie 4 on the same data in the same browser, alternating so that machine load hits both.
// Sets window.__result to the medians.
import init, { storeWrite, storeLatest50, storeReadAll, storeDelete } from './pkg/chat_sdk.js';
import Dexie from './dexie.mjs';

const params = new URLSearchParams(location.search);
const TOTAL = +(params.get('total') || 10000);
const PAGE = +(params.get('page') || 100);
const REPS = +(params.get('reps') || 5);
const COLD_OPENS = 30;
const CID = 'messaging:bench';
const T = '2026-01-01T00:00:00Z';

// The same record as bench_message() in src/store/bench.rs, as it arrives on the wire.
function makeMessage(i) {
  const m = {
    id: `m-${i}`, cid: CID, channel_seq: i + 1, user_id: `u${i % 10}`,
    text: `message number ${i}: the quick brown fox jumps over the lazy dog`,
    type: 'text', status: 'sent', attachments: [], mentions: [], metadata: {},
    created_at: T, updated_at: T,
  };
  if (i % 20 === 19) m.parent_id = `m-${i - (i % 100)}`;
  return m;
}

const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

function dexieDb(name) {
  const db = new Dexie(name);
  // The same indexes as ours: primary key id, channel order, thread order.
  db.version(1).stores({ messages: 'id, [cid+channel_seq], [parent_id+channel_seq]' });
  return db;
}

const channel = (db) =>
  db.messages.where('[cid+channel_seq]').between([CID, Dexie.minKey], [CID, Dexie.maxKey]);

async function dexieWrite(name) {
  await Dexie.delete(name);
  const db = dexieDb(name);
  await db.open();
  const pages = [];
  for (let start = 0; start < TOTAL; start += PAGE) {
    const page = [];
    for (let i = start; i < Math.min(start + PAGE, TOTAL); i++) page.push(makeMessage(i));
    pages.push(page);
  }
  const t0 = performance.now();
  for (const page of pages) await db.messages.bulkPut(page);
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

async function dexieLatest50(name) {
  const t0 = performance.now();
  const db = dexieDb(name);
  await db.open();
  const t1 = performance.now();
  const page = await channel(db).reverse().limit(50).toArray();
  const t2 = performance.now();
  db.close();
  if (page.length !== 50) throw new Error(`dexie latest-50 returned ${page.length}`);
  return { open_ms: t1 - t0, query_ms: t2 - t1 };
}

async function dexieReadAll(name) {
  const db = dexieDb(name);
  await db.open();
  const t0 = performance.now();
  const every = await channel(db).toArray();
  const ms = performance.now() - t0;
  db.close();
  if (every.length !== TOTAL) throw new Error(`dexie read-all returned ${every.length}`);
  return ms;
}

async function main() {
  await init();
  const OURS = 'bench-store', DEXIE = 'bench-dexie';
  const r = { write: [], dexie_write: [], latest: [], dexie_latest: [],
    open: [], dexie_open: [], all: [], dexie_all: [] };
  for (let rep = 0; rep < REPS; rep++) {
    if (rep % 2) {
      r.dexie_write.push(await dexieWrite(DEXIE));
      r.write.push(await storeWrite(OURS, TOTAL, PAGE));
    } else {
      r.write.push(await storeWrite(OURS, TOTAL, PAGE));
      r.dexie_write.push(await dexieWrite(DEXIE));
    }
  }
  for (let i = 0; i < COLD_OPENS; i++) {
    const ours = await storeLatest50(OURS);
    const dexie = await dexieLatest50(DEXIE);
    r.latest.push(ours.query_ms); r.open.push(ours.open_ms);
    r.dexie_latest.push(dexie.query_ms); r.dexie_open.push(dexie.open_ms);
  }
  for (let rep = 0; rep < REPS; rep++) {
    r.all.push(await storeReadAll(OURS, TOTAL));
    r.dexie_all.push(await dexieReadAll(DEXIE));
  }
  await storeDelete(OURS);
  await Dexie.delete(DEXIE);
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  return { ...m, dexie_version: Dexie.semVer, total: TOTAL, page: PAGE, reps: REPS, cold_opens: COLD_OPENS };
}

main().then(
  (r) => { window.__result = r; },
  (e) => { window.__result = { error: String((e && e.stack) || e) }; },
);
