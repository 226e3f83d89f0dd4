//! [`MemoryStore`]: the [`Store`] kept in memory — natively (tests, server-side use, with
//! `W = serde_json::Value`) and as the browser fallback when IndexedDB is unavailable (private
//! modes, blocked storage; `W = JsValue`). Records are kept as they were written; the keys each
//! is filed under are read from it once, when it is written ([`super::records`]).

use std::cell::RefCell;

use super::records::{draft_key, reaction_key, seq_of};
use super::{page_of, Cached, ColdStart, OutboxEntry, Page, Store, StoreFuture, Write, WriteBatch};
use crate::state::Wire;
use crate::vecmap::VecMap;

// Sorted-vector maps, not `BTreeMap`s: this store is also the browser fallback, and every
// `VecMap<K, V>` instantiation costs kilobytes of wasm (see `crate::vecmap`).

/// A stored message with the index keys read from it when it was written.
#[derive(Debug)]
struct Stored<W> {
    cid: String,
    /// 0 for a local echo (not in the ordering indexes).
    seq: u64,
    parent_id: Option<String>,
    record: W,
}

#[derive(Debug)]
struct Tables<W> {
    channels: VecMap<String, W>,
    members: VecMap<(String, String), W>,
    users: VecMap<String, W>,
    messages: VecMap<String, Stored<W>>,
    /// (cid, channel_seq) → id, confirmed messages only.
    by_seq: VecMap<(String, u64), String>,
    /// (parent_id, channel_seq) → id, confirmed replies only.
    by_parent: VecMap<(String, u64), String>,
    reactions: VecMap<(String, String, String), W>,
    reads: VecMap<(String, String), W>,
    drafts: VecMap<(String, String), W>,
    outbox: VecMap<String, OutboxEntry<W>>,
    meta: VecMap<String, String>,
}

impl<W> Default for Tables<W> {
    fn default() -> Self {
        Tables {
            channels: VecMap::new(),
            members: VecMap::new(),
            users: VecMap::new(),
            messages: VecMap::new(),
            by_seq: VecMap::new(),
            by_parent: VecMap::new(),
            reactions: VecMap::new(),
            reads: VecMap::new(),
            drafts: VecMap::new(),
            outbox: VecMap::new(),
            meta: VecMap::new(),
        }
    }
}

fn str_of<W: Wire>(record: &W, key: &str) -> String {
    record.str_of(key).unwrap_or_default()
}

impl<W: Wire> Tables<W> {
    fn put_message(&mut self, record: W) {
        let id = str_of(&record, "id");
        self.delete_message_only(&id);
        let stored = Stored {
            cid: str_of(&record, "cid"),
            seq: seq_of(&record),
            parent_id: record.str_of("parent_id"),
            record,
        };
        if stored.seq > 0 {
            self.by_seq
                .insert((stored.cid.clone(), stored.seq), id.clone());
            if let Some(parent) = &stored.parent_id {
                self.by_parent
                    .insert((parent.clone(), stored.seq), id.clone());
            }
        }
        self.messages.insert(id, stored);
    }

    /// Removes a message and its index entries (not its reactions).
    fn delete_message_only(&mut self, id: &str) {
        let Some(old) = self.messages.remove(id) else {
            return;
        };
        if old.seq > 0 {
            self.by_seq.remove(&(old.cid, old.seq));
            if let Some(parent) = old.parent_id {
                self.by_parent.remove(&(parent, old.seq));
            }
        }
    }

    fn delete_message(&mut self, id: &str) {
        self.delete_message_only(id);
        self.reactions.retain(|k, _| k.0 != id);
    }

    /// The messages the outbox refers to (they are never dropped to save space).
    fn referenced(&self) -> Vec<String> {
        self.outbox
            .values()
            .filter_map(|e| e.op.message_id())
            .collect()
    }

    /// Ids of the confirmed messages of `cid` with `channel_seq < before`, oldest first.
    fn confirmed_ids(&self, cid: &str, before: u64) -> Vec<String> {
        self.by_seq
            .iter()
            .filter(|((c, seq), _)| c == cid && *seq < before)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Deletes the given confirmed messages (with their reactions) except those the outbox
    /// refers to; returns how many went.
    fn drop_unreferenced(&mut self, ids: Vec<String>) -> u32 {
        let referenced = self.referenced();
        let mut removed = 0;
        for id in ids {
            if !referenced.contains(&id) {
                self.delete_message(&id);
                removed += 1;
            }
        }
        removed
    }

    fn apply(&mut self, write: Write<W>) {
        match write {
            Write::PutChannel(c) => {
                self.channels.insert(str_of(&c, "cid"), c);
            }
            Write::DeleteChannel(cid) => {
                self.channels.remove(&cid);
            }
            Write::PutMember { cid, member } => {
                self.members
                    .insert((cid, str_of(&member, "user_id")), member);
            }
            Write::DeleteMember { cid, user_id } => {
                self.members.remove(&(cid, user_id));
            }
            Write::PutUser(u) => {
                self.users.insert(str_of(&u, "id"), u);
            }
            Write::PutMessage(m) => self.put_message(m),
            Write::DeleteMessage(id) => self.delete_message(&id),
            Write::DeleteMessagesBefore { cid, seq } => {
                let ids = self.confirmed_ids(&cid, seq);
                self.drop_unreferenced(ids);
            }
            Write::PutReaction(r) => {
                self.reactions.insert(reaction_key(&r), r);
            }
            Write::DeleteReaction {
                message_id,
                user_id,
                kind,
            } => {
                self.reactions.remove(&(message_id, user_id, kind));
            }
            Write::PutRead(r) => {
                self.reads
                    .insert((str_of(&r, "cid"), str_of(&r, "user_id")), r);
            }
            Write::PutDraft(d) => {
                self.drafts.insert(draft_key(&d), d);
            }
            Write::DeleteDraft { cid, parent_id } => {
                self.drafts.remove(&(cid, parent_id.unwrap_or_default()));
            }
            Write::PutOutbox(e) => {
                self.outbox.insert(e.id.clone(), e);
            }
            Write::DeleteOutbox(id) => {
                self.outbox.remove(&id);
            }
            Write::PutMeta { key, value } => {
                self.meta.insert(key, value);
            }
        }
    }

    /// Confirmed messages of an index prefix, `(seq, record)` ascending.
    fn indexed(&self, index: &VecMap<(String, u64), String>, key: &str) -> Vec<(u64, W)> {
        index
            .iter()
            .filter(|((k, _), _)| k == key)
            .filter_map(|((_, seq), id)| self.messages.get(id).map(|m| (*seq, m.record.clone())))
            .collect()
    }
}

/// The in-memory [`Store`].
#[derive(Debug)]
pub struct MemoryStore<W> {
    tables: RefCell<Tables<W>>,
}

impl<W> Default for MemoryStore<W> {
    fn default() -> Self {
        MemoryStore {
            tables: RefCell::new(Tables::default()),
        }
    }
}

impl<W: Wire> MemoryStore<W> {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read<T>(&self, f: impl FnOnce(&Tables<W>) -> T) -> T {
        f(&self.tables.borrow())
    }
}

fn ready<'a, T: 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

fn prefix<V: Clone>(map: &VecMap<(String, String), V>, key: &str) -> Vec<V> {
    map.iter()
        .filter(|((k, _), _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

impl<W: Wire> Store<W> for MemoryStore<W> {
    fn write(&self, batch: WriteBatch<W>) -> StoreFuture<'_, ()> {
        // Validate everything first; applying in memory cannot fail afterwards, so the batch
        // is all or nothing like a transaction.
        if let Err(e) = batch.validate() {
            return Box::pin(std::future::ready(Err(e)));
        }
        let mut tables = self.tables.borrow_mut();
        for write in batch.writes {
            tables.apply(write);
        }
        ready(())
    }

    fn channel(&self, cid: &str) -> StoreFuture<'_, Option<W>> {
        ready(self.read(|t| t.channels.get(cid).cloned()))
    }

    fn channels(&self) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| t.channels.values().cloned().collect()))
    }

    fn members(&self, cid: &str) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| prefix(&t.members, cid)))
    }

    fn user(&self, id: &str) -> StoreFuture<'_, Option<W>> {
        ready(self.read(|t| t.users.get(id).cloned()))
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<W>> {
        ready(self.read(|t| t.messages.get(id).map(|m| m.record.clone())))
    }

    fn messages(&self, cid: &str, page: Page) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| page_of(&t.indexed(&t.by_seq, cid), page)))
    }

    fn thread(&self, parent_id: &str, page: Page) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| page_of(&t.indexed(&t.by_parent, parent_id), page)))
    }

    fn reactions(&self, message_id: &str) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| {
            t.reactions
                .iter()
                .filter(|(k, _)| k.0 == message_id)
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    fn reads(&self, cid: &str) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| prefix(&t.reads, cid)))
    }

    fn draft(&self, cid: &str, parent_id: Option<&str>) -> StoreFuture<'_, Option<W>> {
        let key = (cid.to_owned(), parent_id.unwrap_or("").to_owned());
        ready(self.read(|t| t.drafts.get(&key).cloned()))
    }

    fn drafts(&self) -> StoreFuture<'_, Vec<W>> {
        ready(self.read(|t| t.drafts.values().cloned().collect()))
    }

    fn outbox(&self) -> StoreFuture<'_, Vec<OutboxEntry<W>>> {
        let mut entries: Vec<_> = self.read(|t| t.outbox.values().cloned().collect());
        crate::outbox::sort_by_order(&mut entries);
        ready(entries)
    }

    fn meta(&self, key: &str) -> StoreFuture<'_, Option<String>> {
        ready(self.read(|t| t.meta.get(key).cloned()))
    }

    fn cold_start(&self, latest: u32) -> StoreFuture<'_, ColdStart<W>> {
        let meta = self.read(|t| t.meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        cold_start_by_calls(self, latest, meta)
    }

    fn evict_messages(&self, cid: &str, keep_latest: u32) -> StoreFuture<'_, u32> {
        let mut tables = self.tables.borrow_mut();
        let mut ids = tables.confirmed_ids(cid, u64::MAX);
        ids.truncate(ids.len().saturating_sub(keep_latest as usize));
        ready(tables.drop_unreferenced(ids))
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        *self.tables.borrow_mut() = Tables::default();
        ready(())
    }
}

/// [`Store::cold_start`] read call by call (`meta`: every metadata record).
fn cold_start_by_calls<'a, W: Wire + 'a>(
    store: &'a dyn Store<W>,
    latest: u32,
    meta: Vec<(String, String)>,
) -> StoreFuture<'a, ColdStart<W>> {
    Box::pin(async move {
        let mut channels = Vec::new();
        for channel in store.channels().await? {
            let Some(cid) = channel.str_of("cid") else {
                continue;
            };
            channels.push(Cached {
                members: store.members(&cid).await?,
                messages: store.messages(&cid, Page::Latest(latest)).await?,
                reads: store.reads(&cid).await?,
                channel,
            });
        }
        Ok(ColdStart { channels, meta })
    })
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    crate::store_conformance_tests!(native, MemoryStore::<serde_json::Value>::new());
}
