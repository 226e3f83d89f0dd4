//! [`MemoryStore`]: the [`Store`] kept in memory — natively (tests, servers-side use) and as the
//! browser fallback when IndexedDB is unavailable (private modes, blocked storage).

use std::cell::RefCell;
use std::collections::BTreeMap;

use chat_protocol::{Channel, ChannelMember, Message, User};

use super::{
    page_of, Draft, OutboxEntry, Page, Reaction, ReadState, Store, StoreFuture, Write, WriteBatch,
};

#[derive(Debug, Default)]
struct Tables {
    channels: BTreeMap<String, Channel>,
    members: BTreeMap<(String, String), ChannelMember>,
    users: BTreeMap<String, User>,
    messages: BTreeMap<String, Message>,
    /// (cid, channel_seq) → id, confirmed messages only.
    by_seq: BTreeMap<(String, u64), String>,
    /// (parent_id, channel_seq) → id, confirmed replies only.
    by_parent: BTreeMap<(String, u64), String>,
    reactions: BTreeMap<(String, String, String), Reaction>,
    reads: BTreeMap<(String, String), ReadState>,
    drafts: BTreeMap<(String, String), Draft>,
    outbox: BTreeMap<String, OutboxEntry>,
    meta: BTreeMap<String, String>,
}

impl Tables {
    fn unindex(&mut self, message: &Message) {
        if message.channel_seq > 0 {
            self.by_seq
                .remove(&(message.cid.clone(), message.channel_seq));
            if let Some(parent) = &message.parent_id {
                self.by_parent
                    .remove(&(parent.clone(), message.channel_seq));
            }
        }
    }

    fn put_message(&mut self, message: Message) {
        if let Some(old) = self.messages.remove(&message.id) {
            self.unindex(&old);
        }
        if message.channel_seq > 0 {
            let seq = message.channel_seq;
            self.by_seq
                .insert((message.cid.clone(), seq), message.id.clone());
            if let Some(parent) = &message.parent_id {
                self.by_parent
                    .insert((parent.clone(), seq), message.id.clone());
            }
        }
        self.messages.insert(message.id.clone(), message);
    }

    fn delete_message(&mut self, id: &str) {
        if let Some(old) = self.messages.remove(id) {
            self.unindex(&old);
        }
        let range = (id.to_owned(), String::new(), String::new())..;
        let keys: Vec<_> = self
            .reactions
            .range(range)
            .take_while(|(k, _)| k.0 == id)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.reactions.remove(&k);
        }
    }

    fn apply(&mut self, write: Write) {
        match write {
            Write::PutChannel(c) => {
                self.channels.insert(c.cid.clone(), c);
            }
            Write::DeleteChannel(cid) => {
                self.channels.remove(&cid);
            }
            Write::PutMember { cid, member } => {
                self.members.insert((cid, member.user_id.clone()), member);
            }
            Write::DeleteMember { cid, user_id } => {
                self.members.remove(&(cid, user_id));
            }
            Write::PutUser(u) => {
                self.users.insert(u.id.clone(), u);
            }
            Write::PutMessage(m) => self.put_message(m),
            Write::DeleteMessage(id) => self.delete_message(&id),
            Write::PutReaction(r) => {
                let key = (r.message_id.clone(), r.user_id.clone(), r.kind.clone());
                self.reactions.insert(key, r);
            }
            Write::DeleteReaction {
                message_id,
                user_id,
                kind,
            } => {
                self.reactions.remove(&(message_id, user_id, kind));
            }
            Write::PutRead(r) => {
                self.reads.insert((r.cid.clone(), r.user_id.clone()), r);
            }
            Write::PutDraft(d) => {
                self.drafts
                    .insert((d.cid.clone(), d.thread_key().to_owned()), d);
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

    /// Confirmed messages of an index prefix, `(seq, message)` ascending.
    fn indexed(&self, index: &BTreeMap<(String, u64), String>, key: &str) -> Vec<(u64, Message)> {
        index
            .range((key.to_owned(), 0)..=(key.to_owned(), u64::MAX))
            .filter_map(|((_, seq), id)| self.messages.get(id).map(|m| (*seq, m.clone())))
            .collect()
    }
}

/// The in-memory [`Store`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: RefCell<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read<T>(&self, f: impl FnOnce(&Tables) -> T) -> T {
        f(&self.tables.borrow())
    }
}

fn ready<'a, T: 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

fn prefix<V: Clone>(map: &BTreeMap<(String, String), V>, key: &str) -> Vec<V> {
    map.range((key.to_owned(), String::new())..)
        .take_while(|((k, _), _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

impl Store for MemoryStore {
    fn write(&self, batch: WriteBatch) -> StoreFuture<'_, ()> {
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

    fn channel(&self, cid: &str) -> StoreFuture<'_, Option<Channel>> {
        ready(self.read(|t| t.channels.get(cid).cloned()))
    }

    fn channels(&self) -> StoreFuture<'_, Vec<Channel>> {
        ready(self.read(|t| t.channels.values().cloned().collect()))
    }

    fn members(&self, cid: &str) -> StoreFuture<'_, Vec<ChannelMember>> {
        ready(self.read(|t| prefix(&t.members, cid)))
    }

    fn user(&self, id: &str) -> StoreFuture<'_, Option<User>> {
        ready(self.read(|t| t.users.get(id).cloned()))
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>> {
        ready(self.read(|t| t.messages.get(id).cloned()))
    }

    fn messages(&self, cid: &str, page: Page) -> StoreFuture<'_, Vec<Message>> {
        ready(self.read(|t| page_of(&t.indexed(&t.by_seq, cid), page)))
    }

    fn thread(&self, parent_id: &str, page: Page) -> StoreFuture<'_, Vec<Message>> {
        ready(self.read(|t| page_of(&t.indexed(&t.by_parent, parent_id), page)))
    }

    fn reactions(&self, message_id: &str) -> StoreFuture<'_, Vec<Reaction>> {
        ready(self.read(|t| {
            t.reactions
                .range((message_id.to_owned(), String::new(), String::new())..)
                .take_while(|(k, _)| k.0 == message_id)
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    fn reads(&self, cid: &str) -> StoreFuture<'_, Vec<ReadState>> {
        ready(self.read(|t| prefix(&t.reads, cid)))
    }

    fn draft(&self, cid: &str, parent_id: Option<&str>) -> StoreFuture<'_, Option<Draft>> {
        let key = (cid.to_owned(), parent_id.unwrap_or("").to_owned());
        ready(self.read(|t| t.drafts.get(&key).cloned()))
    }

    fn outbox(&self) -> StoreFuture<'_, Vec<OutboxEntry>> {
        let mut entries: Vec<_> = self.read(|t| t.outbox.values().cloned().collect());
        entries.sort_by_key(|e: &OutboxEntry| e.order);
        ready(entries)
    }

    fn meta(&self, key: &str) -> StoreFuture<'_, Option<String>> {
        ready(self.read(|t| t.meta.get(key).cloned()))
    }

    fn evict_messages(&self, cid: &str, keep_latest: u32) -> StoreFuture<'_, u32> {
        let mut tables = self.tables.borrow_mut();
        let referenced: Vec<String> = tables
            .outbox
            .values()
            .filter_map(|e| e.op.message_id().map(str::to_owned))
            .collect();
        let confirmed = tables.indexed(&tables.by_seq, cid);
        let old = confirmed.len().saturating_sub(keep_latest as usize);
        let mut removed = 0;
        for (_, message) in &confirmed[..old] {
            if !referenced.contains(&message.id) {
                tables.delete_message(&message.id);
                removed += 1;
            }
        }
        ready(removed)
    }

    fn clear(&self) -> StoreFuture<'_, ()> {
        *self.tables.borrow_mut() = Tables::default();
        ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    crate::store_conformance_tests!(native, MemoryStore::new());
}
