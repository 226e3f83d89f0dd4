//! [`IndexedDbStore`]: the [`Store`] in the browser's IndexedDB (wasm only). One database per
//! app + user ([`crate::store::database_name`]); schema and migrations in [`schema`]; one
//! IndexedDB transaction per [`WriteBatch`]; a connection closed under us (another tab upgraded
//! or deleted the database) is reported once as [`StoreError::ConnectionClosed`] and reopened
//! on the next call.
//!
//! Built on `idb`, the crate rexie wraps: rexie hides the open request and the transaction
//! object, so it can report neither a blocked upgrade nor why a transaction aborted (a full
//! quota shows up only as the aborted transaction's `.error`).

mod codec;
mod errors;
pub mod schema;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use chat_protocol::{Channel, ChannelMember, Message, User};
use idb::{CursorDirection, Database, Query, TransactionMode, TransactionResult};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use self::codec::{from_all, from_js, key, prefix_range, range, rseq, s, to_js, with_field};
use self::errors::{from_idb, from_js as js_error};
use self::schema::*;
use super::{
    Draft, OutboxEntry, Page, Reaction, ReadState, Store, StoreError, StoreFuture, Write,
    WriteBatch,
};

/// The IndexedDB-backed store. Cheap to share behind an `Rc`; all methods take `&self`.
#[derive(Debug)]
pub struct IndexedDbStore {
    name: String,
    version: u32,
    db: RefCell<Option<Rc<Database>>>,
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
        let db = schema::open(name, version).await?;
        Ok(IndexedDbStore {
            name: name.to_owned(),
            version,
            db: RefCell::new(Some(Rc::new(db))),
        })
    }

    /// Deletes the database `name` and everything in it.
    pub async fn delete(name: &str) -> Result<(), StoreError> {
        schema::delete(name).await
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

    async fn connection(&self) -> Result<Rc<Database>, StoreError> {
        if let Some(db) = self.db.borrow().as_ref() {
            return Ok(db.clone());
        }
        let db = Rc::new(schema::open(&self.name, self.version).await?);
        *self.db.borrow_mut() = Some(db.clone());
        Ok(db)
    }

    /// Opens a transaction; a closed connection is dropped so that the next call reopens it.
    async fn transaction(
        &self,
        stores: &[&str],
        mode: TransactionMode,
    ) -> Result<idb::Transaction, StoreError> {
        let db = self.connection().await?;
        db.transaction(stores, mode)
            .map_err(|e| self.seen(from_idb(e)))
    }

    /// Notes an error: a closed connection is forgotten (reopened on the next call).
    fn seen(&self, error: StoreError) -> StoreError {
        if error.needs_reopen() {
            *self.db.borrow_mut() = None;
        }
        error
    }

    async fn get<T: DeserializeOwned>(
        &self,
        store: &str,
        k: JsValue,
    ) -> Result<Option<T>, StoreError> {
        let tx = self
            .transaction(&[store], TransactionMode::ReadOnly)
            .await?;
        let value = tx
            .object_store(store)
            .map_err(from_idb)?
            .get(k)
            .map_err(from_idb)?
            .await;
        match value.map_err(|e| self.seen(from_idb(e)))? {
            Some(v) => from_js(v).map(Some),
            None => Ok(None),
        }
    }

    async fn get_all<T: DeserializeOwned>(
        &self,
        store: &str,
        query: Option<Query>,
    ) -> Result<Vec<T>, StoreError> {
        let tx = self
            .transaction(&[store], TransactionMode::ReadOnly)
            .await?;
        let request = tx
            .object_store(store)
            .map_err(from_idb)?
            .get_all(query, None);
        from_all(
            request
                .map_err(from_idb)?
                .await
                .map_err(|e| self.seen(from_idb(e)))?,
        )
    }

    /// A page of an ordering index (`by_seq` or `by_parent`) under `prefix`, oldest first.
    async fn page(
        &self,
        index: &str,
        prefix: &str,
        page: Page,
    ) -> Result<Vec<Message>, StoreError> {
        from_all(self.page_js(index, prefix, page).await?)
    }

    /// A page of a channel's confirmed messages as the stored JS objects, oldest first, without
    /// decoding them into Rust: for the JS facade, which hands messages to apps as objects.
    pub async fn messages_js(&self, cid: &str, page: Page) -> Result<Vec<JsValue>, StoreError> {
        self.page_js(BY_SEQ, cid, page).await
    }

    async fn page_js(
        &self,
        index: &str,
        prefix: &str,
        page: Page,
    ) -> Result<Vec<JsValue>, StoreError> {
        let tx = self
            .transaction(&[MESSAGES], TransactionMode::ReadOnly)
            .await?;
        let index = tx
            .object_store(MESSAGES)
            .map_err(from_idb)?
            .index(index)
            .map_err(from_idb)?;
        let p = || s(prefix);
        // Confirmed messages have rseq <= -1; [prefix] sorts before every [prefix, rseq].
        let newest_first = |lower: JsValue, lower_open: bool, limit: Option<u32>| {
            let r = range(lower, key(&[p(), JsValue::from_f64(0.0)]), lower_open, true)?;
            index
                .get_all(Some(Query::KeyRange(r)), limit)
                .map_err(from_idb)
        };
        let mut values = match page {
            Page::All => newest_first(key(&[p()]), false, None)?.await,
            Page::Latest(0) | Page::Before { limit: 0, .. } | Page::After { limit: 0, .. } => {
                return Ok(Vec::new())
            }
            Page::Latest(n) => newest_first(key(&[p()]), false, Some(n))?.await,
            Page::Before { seq, limit } => {
                newest_first(key(&[p(), rseq(seq)]), true, Some(limit))?.await
            }
            Page::After { seq, limit } => {
                // Oldest first above `seq`: walk the index backwards from [prefix, -seq).
                let r = range(key(&[p()]), key(&[p(), rseq(seq)]), false, true)?;
                let cursor = index
                    .open_cursor(Some(Query::KeyRange(r)), Some(CursorDirection::Prev))
                    .map_err(from_idb)?
                    .await
                    .map_err(from_idb)?;
                let mut out = Vec::new();
                if let Some(cursor) = cursor {
                    let mut cursor = cursor.into_managed();
                    while out.len() < limit as usize {
                        match cursor.value().map_err(from_idb)? {
                            Some(v) => out.push(v),
                            None => break,
                        }
                        cursor.next(None).await.map_err(from_idb)?;
                    }
                }
                return Ok(out);
            }
        }
        .map_err(|e| self.seen(from_idb(e)))?;
        values.reverse();
        Ok(values)
    }

    /// The channel ids `user_id` is a member of (uses the version-2 index `members.by_user`).
    pub async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let tx = self
            .transaction(&[MEMBERS], TransactionMode::ReadOnly)
            .await?;
        let index = tx
            .object_store(MEMBERS)
            .map_err(from_idb)?
            .index(BY_USER)
            .map_err(from_idb)?;
        let keys = index
            .get_all_keys(Some(Query::KeyRange(prefix_range(user_id)?)), None)
            .map_err(from_idb)?
            .await
            .map_err(from_idb)?;
        // Primary keys are [cid, user_id].
        Ok(keys
            .iter()
            .filter_map(|k| js_sys::Reflect::get_u32(k, 0).ok()?.as_string())
            .collect())
    }

    async fn write_batch(&self, batch: WriteBatch) -> Result<(), StoreError> {
        batch.validate()?;
        // Encode everything before the transaction: nothing is written if a record cannot be.
        let mut names = BTreeSet::new();
        let mut ops: Vec<(&'static str, Op)> = Vec::with_capacity(batch.writes.len());
        for write in &batch.writes {
            for (store, op) in encode(write)? {
                names.insert(store);
                ops.push((store, op));
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = names.into_iter().collect();
        let tx = self.transaction(&names, TransactionMode::ReadWrite).await?;
        let stores: Vec<idb::ObjectStore> = names
            .iter()
            .map(|n| tx.object_store(n))
            .collect::<Result<_, _>>()
            .map_err(from_idb)?;
        let store_of = |name: &str| &stores[names.iter().position(|n| *n == name).unwrap_or(0)];
        for (name, op) in &ops {
            let store = store_of(name);
            // Requests are not awaited one by one: the transaction's completion covers them all.
            match op {
                Op::Put(value) => drop(store.put(value, None).map_err(from_idb)?),
                Op::Delete(k) => drop(store.delete(Query::Key(k.clone())).map_err(from_idb)?),
                Op::DeleteRange(r) => {
                    drop(store.delete(Query::KeyRange(r.clone())).map_err(from_idb)?)
                }
            }
        }
        self.finish(tx, &stores[0]).await
    }

    /// Waits for a read-write transaction; an abort reports the transaction's own error
    /// (e.g. `QuotaExceededError`).
    async fn finish(
        &self,
        tx: idb::Transaction,
        any_store: &idb::ObjectStore,
    ) -> Result<(), StoreError> {
        match tx.await {
            Ok(TransactionResult::Committed) => Ok(()),
            Ok(TransactionResult::Aborted) => {
                let error = any_store.transaction().error();
                Err(match error {
                    Some(e) => js_error("transaction aborted", &e.into()),
                    None => StoreError::Backend {
                        context: "transaction aborted".into(),
                        name: "AbortError".into(),
                        message: "the transaction was aborted without an error".into(),
                    },
                })
            }
            Err(e) => Err(from_idb(e)),
        }
        .map_err(|e| self.seen(e))
    }

    async fn evict(&self, cid: &str, keep_latest: u32) -> Result<u32, StoreError> {
        let tx = self
            .transaction(&[MESSAGES, REACTIONS, OUTBOX], TransactionMode::ReadWrite)
            .await?;
        let messages = tx.object_store(MESSAGES).map_err(from_idb)?;
        let reactions = tx.object_store(REACTIONS).map_err(from_idb)?;
        let outbox = tx.object_store(OUTBOX).map_err(from_idb)?;
        let entries: Vec<OutboxEntry> = from_all(
            outbox
                .get_all(None, None)
                .map_err(from_idb)?
                .await
                .map_err(from_idb)?,
        )?;
        let referenced: BTreeSet<&str> = entries.iter().filter_map(|e| e.op.message_id()).collect();
        let r = range(
            key(&[s(cid)]),
            key(&[s(cid), JsValue::from_f64(0.0)]),
            false,
            true,
        )?;
        let index = messages.index(BY_SEQ).map_err(from_idb)?;
        let ids = index
            .get_all_keys(Some(Query::KeyRange(r)), None)
            .map_err(from_idb)?
            .await;
        let ids = ids.map_err(from_idb)?; // newest first
        let mut removed = 0;
        for id in ids.into_iter().skip(keep_latest as usize) {
            let Some(text) = id.as_string() else { continue };
            if referenced.contains(text.as_str()) {
                continue;
            }
            drop(messages.delete(Query::Key(id)).map_err(from_idb)?);
            drop(
                reactions
                    .delete(Query::KeyRange(prefix_range(&text)?))
                    .map_err(from_idb)?,
            );
            removed += 1;
        }
        self.finish(tx, &messages).await?;
        Ok(removed)
    }

    async fn clear_all(&self) -> Result<(), StoreError> {
        let tx = self
            .transaction(&ALL_STORES, TransactionMode::ReadWrite)
            .await?;
        let mut first = None;
        for name in ALL_STORES {
            let store = tx.object_store(name).map_err(from_idb)?;
            drop(store.clear().map_err(from_idb)?);
            first.get_or_insert(store);
        }
        let first = first.expect("at least one store");
        self.finish(tx, &first).await
    }
}

/// One request of a write transaction.
enum Op {
    Put(JsValue),
    Delete(JsValue),
    DeleteRange(idb::KeyRange),
}

/// The requests one [`Write`] becomes.
fn encode(write: &Write) -> Result<Vec<(&'static str, Op)>, StoreError> {
    let one = |store, op| Ok(vec![(store, op)]);
    match write {
        Write::PutChannel(c) => one(CHANNELS, Op::Put(to_js(c)?)),
        Write::DeleteChannel(cid) => one(CHANNELS, Op::Delete(s(cid))),
        Write::PutMember { cid, member } => {
            one(MEMBERS, Op::Put(with_field(member, "cid", s(cid))?))
        }
        Write::DeleteMember { cid, user_id } => {
            one(MEMBERS, Op::Delete(key(&[s(cid), s(user_id)])))
        }
        Write::PutUser(u) => one(USERS, Op::Put(to_js(u)?)),
        Write::PutMessage(m) => {
            // Local echoes (seq 0) get no rseq: they stay out of the ordering indexes.
            let value = if m.channel_seq > 0 {
                with_field(m, "rseq", rseq(m.channel_seq))?
            } else {
                to_js(m)?
            };
            one(MESSAGES, Op::Put(value))
        }
        Write::DeleteMessage(id) => Ok(vec![
            (MESSAGES, Op::Delete(s(id))),
            (REACTIONS, Op::DeleteRange(prefix_range(id)?)),
        ]),
        Write::PutReaction(r) => one(REACTIONS, Op::Put(to_js(r)?)),
        Write::DeleteReaction {
            message_id,
            user_id,
            kind,
        } => one(
            REACTIONS,
            Op::Delete(key(&[s(message_id), s(user_id), s(kind)])),
        ),
        Write::PutRead(r) => one(READS, Op::Put(to_js(r)?)),
        Write::PutDraft(d) => one(DRAFTS, Op::Put(with_field(d, "thread", s(d.thread_key()))?)),
        Write::DeleteDraft { cid, parent_id } => one(
            DRAFTS,
            Op::Delete(key(&[s(cid), s(parent_id.as_deref().unwrap_or(""))])),
        ),
        Write::PutOutbox(e) => one(OUTBOX, Op::Put(to_js(e)?)),
        Write::DeleteOutbox(id) => one(OUTBOX, Op::Delete(s(id))),
        Write::PutMeta { key: k, value } => one(
            META,
            Op::Put(with_field(&MetaValue { value }, "key", s(k))?),
        ),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MetaValue<V> {
    value: V,
}

impl Store for IndexedDbStore {
    fn write(&self, batch: WriteBatch) -> StoreFuture<'_, ()> {
        Box::pin(self.write_batch(batch))
    }

    fn channel(&self, cid: &str) -> StoreFuture<'_, Option<Channel>> {
        let k = s(cid);
        Box::pin(async move { self.get(CHANNELS, k).await })
    }

    fn channels(&self) -> StoreFuture<'_, Vec<Channel>> {
        Box::pin(self.get_all(CHANNELS, None))
    }

    fn members(&self, cid: &str) -> StoreFuture<'_, Vec<ChannelMember>> {
        let r = prefix_range(cid);
        Box::pin(async move { self.get_all(MEMBERS, Some(Query::KeyRange(r?))).await })
    }

    fn user(&self, id: &str) -> StoreFuture<'_, Option<User>> {
        let k = s(id);
        Box::pin(async move { self.get(USERS, k).await })
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>> {
        let k = s(id);
        Box::pin(async move { self.get(MESSAGES, k).await })
    }

    fn messages(&self, cid: &str, page: Page) -> StoreFuture<'_, Vec<Message>> {
        let cid = cid.to_owned();
        Box::pin(async move { self.page(BY_SEQ, &cid, page).await })
    }

    fn thread(&self, parent_id: &str, page: Page) -> StoreFuture<'_, Vec<Message>> {
        let parent = parent_id.to_owned();
        Box::pin(async move { self.page(BY_PARENT, &parent, page).await })
    }

    fn reactions(&self, message_id: &str) -> StoreFuture<'_, Vec<Reaction>> {
        let r = prefix_range(message_id);
        Box::pin(async move { self.get_all(REACTIONS, Some(Query::KeyRange(r?))).await })
    }

    fn reads(&self, cid: &str) -> StoreFuture<'_, Vec<ReadState>> {
        let r = prefix_range(cid);
        Box::pin(async move { self.get_all(READS, Some(Query::KeyRange(r?))).await })
    }

    fn draft(&self, cid: &str, parent_id: Option<&str>) -> StoreFuture<'_, Option<Draft>> {
        let k = key(&[s(cid), s(parent_id.unwrap_or(""))]);
        Box::pin(async move { self.get(DRAFTS, k).await })
    }

    fn outbox(&self) -> StoreFuture<'_, Vec<OutboxEntry>> {
        Box::pin(async move {
            let mut entries: Vec<OutboxEntry> = self.get_all(OUTBOX, None).await?;
            entries.sort_by_key(|e| e.order);
            Ok(entries)
        })
    }

    fn meta(&self, k: &str) -> StoreFuture<'_, Option<String>> {
        let k = s(k);
        Box::pin(async move {
            let value: Option<MetaValue<String>> = self.get(META, k).await?;
            Ok(value.map(|m| m.value))
        })
    }

    fn evict_messages(&self, cid: &str, keep_latest: u32) -> StoreFuture<'_, u32> {
        let cid = cid.to_owned();
        Box::pin(async move { self.evict(&cid, keep_latest).await })
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.clear_all())
    }
}
