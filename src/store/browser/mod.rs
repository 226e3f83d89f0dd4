//! [`BrowserStore`]: the [`Store`] in the browser (wasm only), in IndexedDB or in JS memory.
//! One database per app + user ([`crate::store::database_name`]); one IndexedDB transaction
//! per [`WriteBatch`];
//! a connection closed under us (another tab upgraded or deleted the database) is reported
//! once as [`StoreError::ConnectionClosed`] and opened again on the next call.
//!
//! This module decides what to read and write; `js/idb.js` talks to IndexedDB (the schema and
//! its migrations, key ranges, transactions). Every IndexedDB call made from wasm costs far
//! more code than the call itself, so the calls are made in JS: one JS call per [`Store`]
//! method. Records are the JS objects themselves: nothing is encoded or decoded in Rust.
//!
//! [`BrowserStore::memory`] is the same store over `js/memory.js`, which keeps the records in
//! JS memory with IndexedDB's semantics (the browser's `persistence: 'memory'`, and the
//! fallback where IndexedDB cannot be opened). Both pass the store conformance suite.

pub(crate) mod errors;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use self::errors::from_js;
use super::{
    Cached, ColdStart, OutboxEntry, Page, Store, StoreError, StoreFuture, Write, WriteBatch,
};
use crate::state::Wire;

/// The schema version this code writes: `js/idb.js` has one migration step per version (the
/// table of versions is there). Bump both together.
pub const SCHEMA_VERSION: u32 = 4;

#[wasm_bindgen(module = "/js/idb.js")]
extern "C" {
    /// One database connection (`js/idb.js`).
    type Idb;
    #[wasm_bindgen(static_method_of = Idb)]
    fn open(name: &str, version: u32) -> Promise;
    #[wasm_bindgen(static_method_of = Idb)]
    fn remove(name: &str) -> Promise;
    #[wasm_bindgen(method, getter)]
    fn created(this: &Idb) -> bool;
    #[wasm_bindgen(method, setter = cursorPages)]
    fn set_cursor_pages(this: &Idb, on: bool);
    #[wasm_bindgen(method)]
    fn close(this: &Idb);
    #[wasm_bindgen(method)]
    fn get(this: &Idb, store: &str, key: &JsValue, field: Option<&str>) -> Promise;
    #[wasm_bindgen(method)]
    fn all(this: &Idb, store: &str, prefix: Option<&str>, field: Option<&str>) -> Promise;
    #[wasm_bindgen(method, js_name = memberChannels)]
    fn member_channels(this: &Idb, user_id: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn page(
        this: &Idb,
        index: &str,
        prefix: &str,
        after: f64,
        before: f64,
        limit: u32,
        newest: bool,
    ) -> Promise;
    #[wasm_bindgen(method, js_name = coldStart)]
    fn cold_start(this: &Idb, latest: u32) -> Promise;
    #[wasm_bindgen(method)]
    fn write(this: &Idb, writes: Array) -> Promise;
    #[wasm_bindgen(method)]
    fn evict(this: &Idb, cid: &str, keep: u32) -> Promise;
    #[wasm_bindgen(method)]
    fn clear(this: &Idb) -> Promise;
}

#[wasm_bindgen(module = "/js/memory.js")]
extern "C" {
    /// The records in JS memory, with the methods of `Idb` (`js/memory.js`).
    type Memory;
    #[wasm_bindgen(constructor)]
    fn new() -> Memory;
}

/// Waits for a `js/idb.js` call; its failure becomes a [`StoreError`] (`context`: what the
/// store was doing).
async fn call(context: &str, promise: Promise) -> Result<JsValue, StoreError> {
    JsFuture::from(promise)
        .await
        .map_err(|e| from_js(context, &e))
}

async fn list(context: &str, promise: Promise) -> Result<Vec<JsValue>, StoreError> {
    Ok(call(context, promise).await?.items())
}

fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

/// One write as `js/idb.js` applies it: `[kind, ...arguments]`.
fn encode(write: Write<JsValue>) -> Array {
    let op = |parts: &[JsValue]| parts.iter().collect::<Array>();
    let (put, del) = (s("put"), s("del"));
    match write {
        Write::PutChannel(c) => op(&[put, s("channels"), c]),
        Write::DeleteChannel(cid) => op(&[del, s("channels"), s(&cid)]),
        Write::PutMember { cid, member } => op(&[s("member"), s(&cid), member]),
        Write::DeleteMember { cid, user_id } => op(&[del, s("members"), s(&cid), s(&user_id)]),
        Write::PutUser(u) => op(&[put, s("users"), u]),
        Write::PutMessage(m) => op(&[put, s("messages"), m]),
        Write::DeleteMessage(id) => op(&[s("message"), s(&id)]),
        Write::DeleteMessagesBefore { cid, seq } => {
            op(&[s("before"), s(&cid), JsValue::from_f64(seq as f64)])
        }
        Write::PutReaction(r) => op(&[s("reaction"), r]),
        Write::DeleteReaction {
            message_id,
            user_id,
            kind,
        } => op(&[del, s("reactions"), s(&message_id), s(&user_id), s(&kind)]),
        Write::PutRead(r) => op(&[put, s("reads"), r]),
        Write::PutDraft(d) => op(&[s("draft"), d]),
        Write::DeleteDraft { cid, parent_id } => op(&[
            del,
            s("drafts"),
            s(&cid),
            s(parent_id.as_deref().unwrap_or("")),
        ]),
        Write::PutOutbox(e) => op(&[put, s("outbox"), e.to_wire()]),
        Write::DeleteOutbox(id) => op(&[del, s("outbox"), s(&id)]),
        Write::PutMeta { key, value } => op(&[s("meta"), s(&key), s(&value)]),
    }
}

/// What `js/idb.js`'s `coldStart` answers, read: `[[[channel, members, messages, reads] per
/// channel], [[key, value] per meta record]]`.
pub(crate) fn cold_start_of(answer: &JsValue) -> ColdStart<JsValue> {
    let mut parts = answer.items().into_iter();
    let rows = parts.next().unwrap_or_default().items();
    let mut channels = Vec::with_capacity(rows.len());
    for row in rows {
        let mut parts = row.items().into_iter();
        let mut next = || parts.next().unwrap_or_default();
        channels.push(Cached {
            channel: next(),
            members: next().items(),
            messages: next().items(),
            reads: next().items(),
        });
    }
    let meta = parts
        .next()
        .unwrap_or_default()
        .items()
        .iter()
        .filter_map(|pair| {
            let mut kv = pair.items().into_iter().map(|v| v.as_string());
            Some((kv.next()??, kv.next()??))
        })
        .collect();
    ColdStart { channels, meta }
}

/// A batch as the writes `js/idb.js` applies in one transaction (checked first: see
/// [`WriteBatch::validate`]).
pub(crate) fn encode_batch(batch: WriteBatch<JsValue>) -> Result<Array, StoreError> {
    batch.validate()?;
    Ok(batch.writes.into_iter().map(encode).collect())
}

/// The browser's store: IndexedDB ([`BrowserStore::open`]) or JS memory
/// ([`BrowserStore::memory`]). Cheap to share behind an `Rc`; all methods take `&self`.
pub struct BrowserStore {
    name: String,
    db: Idb,
}

impl std::fmt::Debug for BrowserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserStore")
            .field("name", &self.name)
            .finish()
    }
}

impl BrowserStore {
    /// Opens (creating or upgrading) the database `name` at [`SCHEMA_VERSION`].
    pub async fn open(name: &str) -> Result<BrowserStore, StoreError> {
        BrowserStore::open_at_version(name, SCHEMA_VERSION).await
    }

    /// Opens at an older schema version: for migration tests, which need a database as an
    /// older release wrote it.
    #[doc(hidden)]
    pub async fn open_at_version(name: &str, version: u32) -> Result<BrowserStore, StoreError> {
        assert!(
            (1..=SCHEMA_VERSION).contains(&version),
            "unknown schema version {version}"
        );
        let db = call("open", Idb::open(name, version)).await?;
        Ok(BrowserStore {
            name: name.to_owned(),
            db: db.unchecked_into(),
        })
    }

    /// The same store with its records in JS memory, for this page only: nothing is kept on
    /// the device (`js/memory.js`).
    pub fn memory() -> BrowserStore {
        BrowserStore {
            name: String::new(),
            db: Memory::new().unchecked_into(),
        }
    }

    /// Whether this open created the database: a first visit, with nothing stored yet.
    pub fn created(&self) -> bool {
        self.db.created()
    }

    /// Deletes the database `name` and everything in it (waits for other connections to
    /// close; the store's own close themselves).
    pub async fn delete(name: &str) -> Result<(), StoreError> {
        call("delete database", Idb::remove(name)).await.map(drop)
    }

    /// Reads newest-first pages the way browsers without IndexedDB 3 do (a cursor walking
    /// backwards), so that tests in Chromium cover that path too.
    #[doc(hidden)]
    pub fn use_cursor_pages(&self) {
        self.db.set_cursor_pages(true);
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection; the next call opens it again.
    pub fn close(&self) {
        self.db.close();
    }

    /// The channel ids `user_id` is a member of (the version-2 index `members.by_user`).
    pub async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let cids = list("getAllKeys", self.db.member_channels(user_id)).await?;
        Ok(cids.iter().filter_map(JsValue::as_string).collect())
    }

    async fn get(
        &self,
        store: &str,
        key: JsValue,
        field: Option<&str>,
    ) -> Result<Option<JsValue>, StoreError> {
        let value = call("get", self.db.get(store, &key, field)).await?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Every record of `store`, or those whose key starts with `prefix`, without the extra key
    /// field `field`.
    fn all(
        &self,
        store: &str,
        prefix: Option<&str>,
        field: Option<&str>,
    ) -> StoreFuture<'_, Vec<JsValue>> {
        let promise = self.db.all(store, prefix, field);
        Box::pin(list("getAll", promise))
    }

    /// A page of an ordering index (`by_seq` or `by_parent`) under `prefix`, oldest first.
    fn page(&self, index: &str, prefix: &str, page: Page) -> StoreFuture<'_, Vec<JsValue>> {
        // (after, before, how many, the newest of them)
        let (after, before, limit, newest) = match page {
            Page::All => (0, None, 0, false),
            Page::After { seq, limit } => (seq, None, limit, false),
            Page::Latest(n) => (0, None, n, true),
            Page::Before { seq, limit } => (0, Some(seq), limit, true),
        };
        if (limit == 0 && page != Page::All) || before.is_some_and(|b| b <= 1) {
            return Box::pin(async { Ok(Vec::new()) });
        }
        let before = before.map_or(f64::INFINITY, |b| b as f64);
        let promise = self
            .db
            .page(index, prefix, after as f64, before, limit, newest);
        Box::pin(list("getAll", promise))
    }

    /// [`Store::cold_start`] in one transaction (one JS call).
    async fn cold_start_tx(&self, latest: u32) -> Result<ColdStart<JsValue>, StoreError> {
        let answer = call("cold start", self.db.cold_start(latest)).await?;
        Ok(cold_start_of(&answer))
    }

    async fn write_batch(&self, batch: WriteBatch<JsValue>) -> Result<(), StoreError> {
        let writes = encode_batch(batch)?;
        call("write", self.db.write(writes)).await.map(drop)
    }

    /// The open of the database `name` at [`SCHEMA_VERSION`], as `js/idb.js` answers it (a
    /// promise of its connection object; see [`BrowserStore::from_handle`]).
    pub(crate) fn opening(name: &str) -> Promise {
        Idb::open(name, SCHEMA_VERSION)
    }

    /// The deletion of the database `name`, as `js/idb.js` answers it (a promise).
    pub(crate) fn removing(name: &str) -> Promise {
        Idb::remove(name)
    }

    /// A new `js/memory.js` store object.
    pub(crate) fn memory_handle() -> JsValue {
        Memory::new().into()
    }

    /// The store over an opened `js/idb.js` connection or a `js/memory.js` object.
    pub(crate) fn from_handle(name: &str, handle: JsValue) -> BrowserStore {
        BrowserStore {
            name: name.to_owned(),
            db: handle.unchecked_into(),
        }
    }

    /// The `js/idb.js` (or `js/memory.js`) object itself, for JS that reads and writes it
    /// directly (the outbox's delivery loop in `js/io.js`).
    pub(crate) fn handle(&self) -> &JsValue {
        &self.db
    }

    async fn outbox_entries(&self) -> Result<Vec<OutboxEntry<JsValue>>, StoreError> {
        let mut entries = Vec::new();
        for value in self.all("outbox", None, None).await? {
            entries.push(
                OutboxEntry::from_wire(&value).ok_or_else(|| StoreError::Codec {
                    message: "an outbox entry that cannot be read".into(),
                })?,
            );
        }
        crate::outbox::sort_by_order(&mut entries);
        Ok(entries)
    }
}

impl Store<JsValue> for BrowserStore {
    fn write(&self, batch: WriteBatch<JsValue>) -> StoreFuture<'_, ()> {
        Box::pin(self.write_batch(batch))
    }

    fn channel(&self, cid: &str) -> StoreFuture<'_, Option<JsValue>> {
        Box::pin(self.get("channels", s(cid), None))
    }

    fn channels(&self) -> StoreFuture<'_, Vec<JsValue>> {
        self.all("channels", None, None)
    }

    fn members(&self, cid: &str) -> StoreFuture<'_, Vec<JsValue>> {
        self.all("members", Some(cid), Some("cid"))
    }

    fn user(&self, id: &str) -> StoreFuture<'_, Option<JsValue>> {
        Box::pin(self.get("users", s(id), None))
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<JsValue>> {
        Box::pin(self.get("messages", s(id), None))
    }

    fn messages(&self, cid: &str, page: Page) -> StoreFuture<'_, Vec<JsValue>> {
        self.page("by_seq", cid, page)
    }

    fn thread(&self, parent_id: &str, page: Page) -> StoreFuture<'_, Vec<JsValue>> {
        self.page("by_parent", parent_id, page)
    }

    fn reactions(&self, message_id: &str) -> StoreFuture<'_, Vec<JsValue>> {
        self.all("reactions", Some(message_id), Some("kind"))
    }

    fn reads(&self, cid: &str) -> StoreFuture<'_, Vec<JsValue>> {
        self.all("reads", Some(cid), None)
    }

    fn draft(&self, cid: &str, parent_id: Option<&str>) -> StoreFuture<'_, Option<JsValue>> {
        let key: Array = [s(cid), s(parent_id.unwrap_or(""))].iter().collect();
        Box::pin(self.get("drafts", key.into(), Some("thread")))
    }

    fn drafts(&self) -> StoreFuture<'_, Vec<JsValue>> {
        self.all("drafts", None, Some("thread"))
    }

    fn outbox(&self) -> StoreFuture<'_, Vec<OutboxEntry<JsValue>>> {
        Box::pin(self.outbox_entries())
    }

    fn meta(&self, key: &str) -> StoreFuture<'_, Option<String>> {
        let get = self.get("meta", s(key), None);
        Box::pin(async move { Ok(get.await?.and_then(|r| r.str_of("value"))) })
    }

    fn evict_messages(&self, cid: &str, keep_latest: u32) -> StoreFuture<'_, u32> {
        let promise = self.db.evict(cid, keep_latest);
        Box::pin(async move {
            let removed = call("evict", promise).await?;
            Ok(removed.as_f64().unwrap_or(0.0) as u32)
        })
    }

    fn cold_start(&self, latest: u32) -> StoreFuture<'_, ColdStart<JsValue>> {
        Box::pin(self.cold_start_tx(latest))
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        let promise = self.db.clear();
        Box::pin(async move { call("clear", promise).await.map(drop) })
    }
}
