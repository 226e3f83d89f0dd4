//! [`IndexedDbStore`]: the [`Store`] in the browser's IndexedDB (wasm only). One database per
//! app + user ([`crate::store::database_name`]); schema and migrations in [`schema`]; one
//! IndexedDB transaction per [`WriteBatch`]; a connection closed under us (another tab upgraded
//! or deleted the database) is reported once as [`StoreError::ConnectionClosed`] and reopened
//! on the next call.
//!
//! Records are the JS objects themselves ([`codec`] describes the few key fields added for the
//! indexes and removed again on read): nothing is encoded or decoded in Rust. Writes issue
//! every request of a batch without waiting for any (no listener per request) and wait only
//! for the transaction's `complete` (or `abort`, whose `.error` says why, e.g.
//! `QuotaExceededError`).
//!
//! Built directly on web-sys: wrappers such as `idb`/rexie hide the open request (no blocked
//! upgrade) and attach listeners to every request.

mod codec;
mod errors;
mod events;
pub mod schema;

use std::cell::RefCell;

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen::JsCast;
use web_sys::{
    IdbCursorDirection, IdbCursorWithValue, IdbDatabase, IdbIndex, IdbObjectStore, IdbRequest,
    IdbTransaction, IdbTransactionMode,
};

use self::codec::{key, keyed, prefix_range, s, seq_range, strip, strip_all, KIND, MEMBER_CID, THREAD};
use self::errors::{from_js, of_abort, of_request};
use self::events::{Events, Fired};
use self::schema::*;
use super::{Cached, OutboxEntry, Page, Store, StoreError, StoreFuture, Write, WriteBatch};
use crate::state::Wire;

/// The IndexedDB-backed store. Cheap to share behind an `Rc`; all methods take `&self`.
#[derive(Debug)]
pub struct IndexedDbStore {
    name: String,
    version: u32,
    db: RefCell<Option<IdbDatabase>>,
    /// The database did not exist before [`IndexedDbStore::open`] (nothing to read back yet).
    created: bool,
    /// Read newest-first pages with a cursor even where `getAll` takes a direction (tests).
    cursor_pages: std::cell::Cell<bool>,
}

/// Waits for a request's result.
async fn request(context: &str, req: IdbRequest) -> Result<JsValue, StoreError> {
    let events = Events::of_request(&req);
    match events.next().await {
        Fired::Done => req.result().map_err(|e| from_js(context, &e)),
        _ => Err(of_request(context, &req)),
    }
}

/// Waits for a request whose result is an array.
async fn request_all(context: &str, req: IdbRequest) -> Result<Vec<JsValue>, StoreError> {
    let result = request(context, req).await?;
    Ok(result
        .dyn_into::<Array>()
        .map(|a| a.to_vec())
        .unwrap_or_default())
}

fn failed(context: &'static str) -> impl Fn(JsValue) -> StoreError {
    move |e| from_js(context, &e)
}

/// The stores one write touches, as bits of [`ALL_STORES`].
fn stores_of<W>(write: &Write<W>) -> u16 {
    let bit = |name: &str| 1u16 << ALL_STORES.iter().position(|n| *n == name).unwrap_or(0);
    match write {
        Write::PutChannel(_) | Write::DeleteChannel(_) => bit(CHANNELS),
        Write::PutMember { .. } | Write::DeleteMember { .. } => bit(MEMBERS),
        Write::PutUser(_) => bit(USERS),
        Write::PutMessage(_) => bit(MESSAGES),
        Write::DeleteMessage(_) => bit(MESSAGES) | bit(REACTIONS),
        Write::DeleteMessagesBefore { .. } => bit(MESSAGES) | bit(REACTIONS) | bit(OUTBOX),
        Write::PutReaction(_) | Write::DeleteReaction { .. } => bit(REACTIONS),
        Write::PutRead(_) => bit(READS),
        Write::PutDraft(_) | Write::DeleteDraft { .. } => bit(DRAFTS),
        Write::PutOutbox(_) | Write::DeleteOutbox(_) => bit(OUTBOX),
        Write::PutMeta { .. } => bit(META),
    }
}

/// The object stores of one read-write transaction, opened on first use.
struct Stores<'t> {
    tx: &'t IdbTransaction,
    open: [Option<IdbObjectStore>; ALL_STORES.len()],
}

impl Stores<'_> {
    fn get(&mut self, name: &'static str) -> Result<&IdbObjectStore, StoreError> {
        let i = ALL_STORES.iter().position(|n| *n == name).unwrap_or(0);
        if self.open[i].is_none() {
            self.open[i] = Some(
                self.tx
                    .object_store(name)
                    .map_err(failed("object store"))?,
            );
        }
        Ok(self.open[i].as_ref().expect("just opened"))
    }
}

/// Property names used on every record of a batch, created once per batch.
struct Names {
    member_cid: JsValue,
    thread: JsValue,
    kind: JsValue,
}

impl Names {
    fn new() -> Names {
        Names {
            member_cid: s(MEMBER_CID),
            thread: s(THREAD),
            kind: s(KIND),
        }
    }
}

fn put(store: &IdbObjectStore, value: &JsValue) -> Result<(), StoreError> {
    // Not awaited: the transaction's completion covers it.
    store.put(value).map(drop).map_err(failed("put"))
}

fn delete(store: &IdbObjectStore, k: &JsValue) -> Result<(), StoreError> {
    store.delete(k).map(drop).map_err(failed("delete"))
}

/// Deletes a message and its reactions (within the caller's transaction).
fn delete_message(stores: &mut Stores<'_>, id: &JsValue) -> Result<(), StoreError> {
    delete(stores.get(MESSAGES)?, id)?;
    let id = id.as_string().unwrap_or_default();
    delete(stores.get(REACTIONS)?, &prefix_range(&id)?.into())
}

/// Issues the requests of one write (everything except `DeleteMessagesBefore`).
fn apply(stores: &mut Stores<'_>, names: &Names, write: Write<JsValue>) -> Result<(), StoreError> {
    match write {
        Write::PutChannel(c) => put(stores.get(CHANNELS)?, &c),
        Write::DeleteChannel(cid) => delete(stores.get(CHANNELS)?, &s(&cid)),
        Write::PutMember { cid, member } => put(
            stores.get(MEMBERS)?,
            &keyed(&member, &names.member_cid, &s(&cid)),
        ),
        Write::DeleteMember { cid, user_id } => {
            delete(stores.get(MEMBERS)?, &key(&[s(&cid), s(&user_id)]))
        }
        Write::PutUser(u) => put(stores.get(USERS)?, &u),
        // As it is: it carries its keys (local echoes fall outside the ordering ranges).
        Write::PutMessage(m) => put(stores.get(MESSAGES)?, &m),
        Write::DeleteMessage(id) => delete_message(stores, &s(&id)),
        Write::DeleteMessagesBefore { .. } => unreachable!("handled by the caller"),
        Write::PutReaction(r) => {
            let kind = r.field("type").unwrap_or_default();
            put(stores.get(REACTIONS)?, &keyed(&r, &names.kind, &kind))
        }
        Write::DeleteReaction {
            message_id,
            user_id,
            kind,
        } => delete(
            stores.get(REACTIONS)?,
            &key(&[s(&message_id), s(&user_id), s(&kind)]),
        ),
        Write::PutRead(r) => put(stores.get(READS)?, &r),
        Write::PutDraft(d) => {
            let thread = d.field("parent_id").unwrap_or_else(|| s(""));
            put(stores.get(DRAFTS)?, &keyed(&d, &names.thread, &thread))
        }
        Write::DeleteDraft { cid, parent_id } => delete(
            stores.get(DRAFTS)?,
            &key(&[s(&cid), s(parent_id.as_deref().unwrap_or(""))]),
        ),
        Write::PutOutbox(e) => put(stores.get(OUTBOX)?, &e.to_wire()),
        Write::DeleteOutbox(id) => delete(stores.get(OUTBOX)?, &s(&id)),
        Write::PutMeta { key: k, value } => {
            let record = JsValue::object(vec![("key", s(&k)), ("value", s(&value))]);
            put(stores.get(META)?, &record)
        }
    }
}

/// The message ids the outbox refers to, read inside the caller's transaction.
async fn referenced(outbox: &IdbObjectStore) -> Result<Vec<String>, StoreError> {
    let entries = request_all("outbox", outbox.get_all().map_err(failed("outbox"))?).await?;
    Ok(entries
        .iter()
        .filter_map(OutboxEntry::<JsValue>::from_wire)
        .filter_map(|e| e.op.message_id())
        .collect())
}

/// Deletes the confirmed messages of `cid` below `before` (`u64::MAX`: all), except the newest
/// `keep` and those the outbox refers to, with their reactions, inside the caller's
/// transaction. Returns how many went.
async fn delete_confirmed(
    stores: &mut Stores<'_>,
    cid: &str,
    before: u64,
    keep: u32,
) -> Result<u32, StoreError> {
    if before <= 1 {
        return Ok(0);
    }
    let referenced = referenced(stores.get(OUTBOX)?).await?;
    let index = stores
        .get(MESSAGES)?
        .index(BY_SEQ)
        .map_err(failed("index"))?;
    let below = (before != u64::MAX).then_some(before);
    let ids = index
        .get_all_keys_with_key(&seq_range(cid, 0, below)?.into())
        .map_err(failed("getAllKeys"))?;
    let mut ids = request_all("getAllKeys", ids).await?; // oldest first
    ids.truncate(ids.len().saturating_sub(keep as usize));
    let mut removed = 0;
    for id in ids {
        let Some(text) = id.as_string() else { continue };
        if referenced.contains(&text) {
            continue;
        }
        delete_message(stores, &id)?;
        removed += 1;
    }
    Ok(removed)
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the database `name` at [`schema::SCHEMA_VERSION`].
    pub async fn open(name: &str) -> Result<IndexedDbStore, StoreError> {
        IndexedDbStore::open_at_version(name, SCHEMA_VERSION).await
    }

    /// Opens at an older schema version: for migration tests, which need a database as an
    /// older release wrote it.
    #[doc(hidden)]
    pub async fn open_at_version(name: &str, version: u32) -> Result<IndexedDbStore, StoreError> {
        let (db, created) = schema::open(name, version).await?;
        Ok(IndexedDbStore {
            name: name.to_owned(),
            version,
            created,
            db: RefCell::new(Some(db)),
            cursor_pages: std::cell::Cell::new(false),
        })
    }

    /// Whether this open created the database: a first visit, with nothing stored yet.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Deletes the database `name` and everything in it.
    pub async fn delete(name: &str) -> Result<(), StoreError> {
        schema::delete(name).await
    }

    /// Reads newest-first pages the way browsers without IndexedDB 3 do (a cursor walking
    /// backwards), so that tests in Chromium cover that path too.
    #[doc(hidden)]
    pub fn use_cursor_pages(&self) {
        self.cursor_pages.set(true);
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection; the next call opens it again.
    pub fn close(&self) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
    }

    async fn connection(&self) -> Result<IdbDatabase, StoreError> {
        if let Some(db) = self.db.borrow().as_ref() {
            return Ok(db.clone());
        }
        let (db, _) = schema::open(&self.name, self.version).await?;
        *self.db.borrow_mut() = Some(db.clone());
        Ok(db)
    }

    /// Notes an error: a closed connection is forgotten (reopened on the next call).
    fn seen(&self, error: StoreError) -> StoreError {
        if error.needs_reopen() {
            *self.db.borrow_mut() = None;
        }
        error
    }

    /// A read-only transaction on one store, and that store.
    async fn reading(&self, store: &str) -> Result<IdbObjectStore, StoreError> {
        let db = self.connection().await?;
        let tx = db
            .transaction_with_str(store)
            .map_err(|e| self.seen(from_js("failed to open new transaction", &e)))?;
        tx.object_store(store).map_err(failed("object store"))
    }

    /// A read-write transaction over the stores in `mask` (bits of [`ALL_STORES`]).
    async fn writing(&self, mask: u16) -> Result<IdbTransaction, StoreError> {
        let db = self.connection().await?;
        let names: Array = ALL_STORES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, n)| JsValue::from_str(n))
            .collect();
        db.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite)
            .map_err(|e| self.seen(from_js("failed to open new transaction", &e)))
    }

    /// Commits a read-write transaction whose requests are all issued, and waits for it; an
    /// abort reports the transaction's own error (e.g. `QuotaExceededError`).
    async fn finish(&self, tx: &IdbTransaction) -> Result<(), StoreError> {
        let events = Events::of_transaction(tx);
        // Commit as soon as the requests issued are done, without waiting for the event loop
        // to notice nothing more comes. Where unsupported, the transaction commits by itself.
        #[allow(deprecated)]
        let _ = tx.commit();
        match events.next().await {
            Fired::Done => Ok(()),
            _ => Err(self.seen(of_abort(tx))),
        }
    }

    async fn get(&self, store: &str, k: JsValue) -> Result<Option<JsValue>, StoreError> {
        let req = self.reading(store).await?.get(&k).map_err(failed("get"))?;
        let value = request("get", req).await.map_err(|e| self.seen(e))?;
        Ok((!value.is_undefined()).then_some(value))
    }

    async fn get_all(&self, store: &str, query: Option<JsValue>) -> Result<Vec<JsValue>, StoreError> {
        let store = self.reading(store).await?;
        let req = match query {
            Some(q) => store.get_all_with_key(&q),
            None => store.get_all(),
        }
        .map_err(failed("getAll"))?;
        request_all("getAll", req).await.map_err(|e| self.seen(e))
    }

    /// The records of `store` whose key starts with `prefix`, with the extra key field
    /// `extra` removed.
    async fn prefixed(
        &self,
        store: &str,
        prefix: &str,
        extra: Option<&str>,
    ) -> Result<Vec<JsValue>, StoreError> {
        let records = self
            .get_all(store, Some(prefix_range(prefix)?.into()))
            .await?;
        if let Some(extra) = extra {
            strip_all(&records, extra);
        }
        Ok(records)
    }

    /// A page of an ordering index (`by_seq` or `by_parent`) under `prefix`, oldest first.
    async fn page(&self, index: &str, prefix: &str, page: Page) -> Result<Vec<JsValue>, StoreError> {
        // (range, how many) read oldest first with getAll, or newest first with a cursor.
        let (range, limit, newest_first) = match page {
            Page::All => (seq_range(prefix, 0, None)?, None, false),
            Page::After { seq, limit } => (seq_range(prefix, seq, None)?, Some(limit), false),
            Page::Latest(n) => (seq_range(prefix, 0, None)?, Some(n), true),
            Page::Before { seq, limit } if seq > 1 => {
                (seq_range(prefix, 0, Some(seq))?, Some(limit), true)
            }
            Page::Before { .. } => return Ok(Vec::new()),
        };
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        let index: IdbIndex = self
            .reading(MESSAGES)
            .await?
            .index(index)
            .map_err(failed("index"))?;
        if !newest_first {
            let req = match limit {
                Some(n) => index.get_all_with_key_and_limit(&range, n),
                None => index.get_all_with_key(&range),
            }
            .map_err(failed("getAll"))?;
            return request_all("getAll", req).await.map_err(|e| self.seen(e));
        }
        // The newest `limit`, then put oldest first. Browsers with IndexedDB 3 (`getAllRecords`)
        // take a direction in `getAll({query, count, direction})`; others walk a cursor back.
        if !self.cursor_pages.get() && Reflect::has(&index, &s("getAllRecords")).unwrap_or(false) {
            let options = JsValue::object(vec![
                ("query", JsValue::from(range.clone())),
                ("count", JsValue::number(u64::from(limit.unwrap_or(0)))),
                ("direction", s("prev")),
            ]);
            let req = index.get_all_with_key(&options).map_err(failed("getAll"))?;
            let mut values = request_all("getAll", req)
                .await
                .map_err(|e| self.seen(e))?;
            values.reverse();
            return Ok(values);
        }
        let limit = limit.unwrap_or(u32::MAX) as usize;
        let req = index
            .open_cursor_with_range_and_direction(&range, IdbCursorDirection::Prev)
            .map_err(failed("openCursor"))?;
        let events = Events::of_request(&req);
        let mut out = Vec::new();
        while out.len() < limit {
            if events.next().await != Fired::Done {
                return Err(self.seen(of_request("cursor", &req)));
            }
            let cursor = req.result().map_err(failed("cursor"))?;
            if !cursor.is_object() {
                break;
            }
            let cursor: IdbCursorWithValue = cursor.unchecked_into();
            out.push(cursor.value().map_err(failed("cursor"))?);
            if out.len() < limit {
                cursor.continue_().map_err(failed("cursor"))?;
            }
        }
        out.reverse();
        Ok(out)
    }

    /// [`Store::cold_start`] in ONE read-only transaction: the channels first, then every
    /// channel's requests issued together, so a cold start costs about one round of IndexedDB
    /// latency instead of one per channel and table. None where `getAll` takes no direction
    /// (the caller then reads call by call).
    async fn cold_start_tx(
        &self,
        latest: u32,
        meta_key: fn(&str) -> String,
    ) -> Result<Option<Vec<Cached<JsValue>>>, StoreError> {
        let db = self.connection().await?;
        let names: Array = [CHANNELS, MEMBERS, READS, MESSAGES, META].iter().map(|n| s(n)).collect();
        let tx = db
            .transaction_with_str_sequence(&names)
            .map_err(|e| self.seen(from_js("failed to open new transaction", &e)))?;
        let store = |name: &str| tx.object_store(name).map_err(failed("object store"));
        let index = store(MESSAGES)?.index(BY_SEQ).map_err(failed("index"))?;
        if self.cursor_pages.get() || !Reflect::has(&index, &s("getAllRecords")).unwrap_or(false) {
            return Ok(None);
        }
        let all = store(CHANNELS)?.get_all().map_err(failed("getAll"))?;
        let channels = request_all("getAll", all).await.map_err(|e| self.seen(e))?;
        // Every request before any answer is awaited (the transaction stays active meanwhile):
        // per channel its cursor, members, newest messages and reads.
        let mut kept = Vec::with_capacity(channels.len());
        let mut requests = Vec::with_capacity(channels.len() * 4);
        for channel in channels {
            let Some(cid) = channel.str_of("cid") else {
                continue;
            };
            let range = prefix_range(&cid)?;
            let newest = JsValue::object(vec![
                ("query", JsValue::from(seq_range(&cid, 0, None)?)),
                ("count", JsValue::number(u64::from(latest))),
                ("direction", s("prev")),
            ]);
            requests.push(store(META)?.get(&s(&meta_key(&cid))));
            requests.push(store(MEMBERS)?.get_all_with_key(&range));
            requests.push(index.get_all_with_key(&newest));
            requests.push(store(READS)?.get_all_with_key(&range));
            kept.push(channel);
        }
        // One await site for all of them (smaller wasm than one per kind).
        let mut answers = Vec::with_capacity(requests.len());
        for req in requests {
            let req = req.map_err(failed("cold start"))?;
            answers.push(request("cold start", req).await.map_err(|e| self.seen(e))?);
        }
        let list = |v: &JsValue| v.dyn_ref::<Array>().map(|a| a.to_vec()).unwrap_or_default();
        let mut out = Vec::with_capacity(kept.len());
        for (channel, a) in kept.into_iter().zip(answers.chunks(4)) {
            let members = list(&a[1]);
            strip_all(&members, MEMBER_CID);
            let mut messages = list(&a[2]);
            messages.reverse();
            out.push(Cached {
                channel,
                meta: a[0].str_of("value"),
                members,
                messages,
                reads: list(&a[3]),
            });
        }
        Ok(Some(out))
    }

    /// The channel ids `user_id` is a member of (uses the version-2 index `members.by_user`).
    pub async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let index = self
            .reading(MEMBERS)
            .await?
            .index(BY_USER)
            .map_err(failed("index"))?;
        let req = index
            .get_all_keys_with_key(&prefix_range(user_id)?.into())
            .map_err(failed("getAllKeys"))?;
        let keys = request_all("getAllKeys", req)
            .await
            .map_err(|e| self.seen(e))?;
        // Primary keys are [cid, user_id].
        Ok(keys
            .iter()
            .filter_map(|k| Reflect::get_u32(k, 0).ok()?.as_string())
            .collect())
    }

    async fn write_batch(&self, batch: WriteBatch<JsValue>) -> Result<(), StoreError> {
        batch.validate()?;
        let mask = batch.writes.iter().fold(0, |m, w| m | stores_of(w));
        if mask == 0 {
            return Ok(());
        }
        let tx = self.writing(mask).await?;
        let issued = self.issue(&tx, batch).await;
        if let Err(e) = issued {
            let _ = tx.abort();
            return Err(self.seen(e));
        }
        self.finish(&tx).await
    }

    /// Issues every request of a batch, in order, in `tx`.
    async fn issue(&self, tx: &IdbTransaction, batch: WriteBatch<JsValue>) -> Result<(), StoreError> {
        let mut stores = Stores {
            tx,
            open: Default::default(),
        };
        let names = Names::new();
        for write in batch.writes {
            match write {
                Write::DeleteMessagesBefore { cid, seq } => {
                    delete_confirmed(&mut stores, &cid, seq, 0).await?;
                }
                other => apply(&mut stores, &names, other)?,
            }
        }
        Ok(())
    }

    async fn evict(&self, cid: &str, keep_latest: u32) -> Result<u32, StoreError> {
        let tx = self
            .writing(stores_of(&Write::<JsValue>::DeleteMessagesBefore {
                cid: String::new(),
                seq: 0,
            }))
            .await?;
        let mut stores = Stores {
            tx: &tx,
            open: Default::default(),
        };
        let removed = delete_confirmed(&mut stores, cid, u64::MAX, keep_latest).await;
        match removed {
            Ok(n) => {
                self.finish(&tx).await?;
                Ok(n)
            }
            Err(e) => {
                let _ = tx.abort();
                Err(self.seen(e))
            }
        }
    }

    async fn clear_all(&self) -> Result<(), StoreError> {
        let tx = self.writing(u16::MAX).await?;
        for name in ALL_STORES {
            let cleared = tx
                .object_store(name)
                .and_then(|store| store.clear())
                .map_err(failed("clear"));
            if let Err(e) = cleared {
                let _ = tx.abort();
                return Err(e);
            }
        }
        self.finish(&tx).await
    }

    async fn outbox_entries(&self) -> Result<Vec<OutboxEntry<JsValue>>, StoreError> {
        let mut entries = Vec::new();
        for value in self.get_all(OUTBOX, None).await? {
            entries.push(OutboxEntry::from_wire(&value).ok_or_else(|| StoreError::Codec {
                message: "an outbox entry that cannot be read".into(),
            })?);
        }
        crate::outbox::sort_by_order(&mut entries);
        Ok(entries)
    }
}

impl Store<JsValue> for IndexedDbStore {
    fn write(&self, batch: WriteBatch<JsValue>) -> StoreFuture<'_, ()> {
        Box::pin(self.write_batch(batch))
    }

    fn channel(&self, cid: &str) -> StoreFuture<'_, Option<JsValue>> {
        let k = s(cid);
        Box::pin(self.get(CHANNELS, k))
    }

    fn channels(&self) -> StoreFuture<'_, Vec<JsValue>> {
        Box::pin(self.get_all(CHANNELS, None))
    }

    fn members(&self, cid: &str) -> StoreFuture<'_, Vec<JsValue>> {
        let cid = cid.to_owned();
        Box::pin(async move { self.prefixed(MEMBERS, &cid, Some(MEMBER_CID)).await })
    }

    fn user(&self, id: &str) -> StoreFuture<'_, Option<JsValue>> {
        let k = s(id);
        Box::pin(self.get(USERS, k))
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<JsValue>> {
        let k = s(id);
        Box::pin(async move {
            self.get(MESSAGES, k).await
        })
    }

    fn messages(&self, cid: &str, page: Page) -> StoreFuture<'_, Vec<JsValue>> {
        let cid = cid.to_owned();
        Box::pin(async move { self.page(BY_SEQ, &cid, page).await })
    }

    fn thread(&self, parent_id: &str, page: Page) -> StoreFuture<'_, Vec<JsValue>> {
        let parent = parent_id.to_owned();
        Box::pin(async move { self.page(BY_PARENT, &parent, page).await })
    }

    fn reactions(&self, message_id: &str) -> StoreFuture<'_, Vec<JsValue>> {
        let id = message_id.to_owned();
        Box::pin(async move { self.prefixed(REACTIONS, &id, Some(KIND)).await })
    }

    fn reads(&self, cid: &str) -> StoreFuture<'_, Vec<JsValue>> {
        let cid = cid.to_owned();
        Box::pin(async move { self.prefixed(READS, &cid, None).await })
    }

    fn draft(&self, cid: &str, parent_id: Option<&str>) -> StoreFuture<'_, Option<JsValue>> {
        let k = key(&[s(cid), s(parent_id.unwrap_or(""))]);
        Box::pin(async move {
            let draft = self.get(DRAFTS, k).await?;
            if let Some(d) = &draft {
                strip(d, &s(THREAD));
            }
            Ok(draft)
        })
    }

    fn drafts(&self) -> StoreFuture<'_, Vec<JsValue>> {
        Box::pin(async move {
            let drafts = self.get_all(DRAFTS, None).await?;
            strip_all(&drafts, THREAD);
            Ok(drafts)
        })
    }

    fn outbox(&self) -> StoreFuture<'_, Vec<OutboxEntry<JsValue>>> {
        Box::pin(self.outbox_entries())
    }

    fn meta(&self, k: &str) -> StoreFuture<'_, Option<String>> {
        let k = s(k);
        Box::pin(async move {
            let record = self.get(META, k).await?;
            Ok(record.and_then(|r| r.str_of("value")))
        })
    }

    fn evict_messages(&self, cid: &str, keep_latest: u32) -> StoreFuture<'_, u32> {
        let cid = cid.to_owned();
        Box::pin(async move { self.evict(&cid, keep_latest).await })
    }

    fn cold_start(&self, latest: u32, meta_key: fn(&str) -> String) -> StoreFuture<'_, Vec<Cached<JsValue>>> {
        Box::pin(async move {
            if let Some(all) = self.cold_start_tx(latest, meta_key).await? {
                return Ok(all);
            }
            // Browsers without directed `getAll`: call by call.
            crate::store::cold_start_by_calls(self, latest, meta_key).await
        })
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.clear_all())
    }
}
