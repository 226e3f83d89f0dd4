//! The local store: what the SDK keeps on the device (channels, members, users, messages,
//! reactions, reads, drafts, outbox entries, cursors) behind one [`Store`] trait with two
//! backends — [`MemoryStore`] (native) and, in the browser, `BrowserStore` (`browser`, wasm
//! only: IndexedDB through `js/idb.js`, or JS memory through `js/memory.js`) — all checked by
//! the one [`store_conformance_tests!`] suite.
//!
//! Records are wire objects ([`Wire`]): exactly what the server sent (or the local echo the
//! client built), kept without any Rust encoding in between, so the browser stores the JS
//! objects it received as they are. [`records`] names the fields each record is keyed by.
//!
//! Every write goes through [`Store::write`] with a [`WriteBatch`]: one batch is one
//! transaction, so a whole sync page, or a local echo together with its outbox entry, is stored
//! completely or not at all.
//!
//! [`store_conformance_tests!`]: crate::store_conformance_tests

pub mod batch;
#[doc(hidden)]
pub mod conformance;
pub mod error;
pub mod memory;
pub mod records;

#[cfg(all(target_family = "wasm", feature = "bench"))]
mod bench;
#[cfg(target_family = "wasm")]
pub mod browser;

use std::future::Future;
use std::pin::Pin;

pub use batch::{Write, WriteBatch};
pub use error::StoreError;
pub use memory::MemoryStore;

use crate::outbox::OutboxEntry;
use crate::state::Wire;

/// The future every [`Store`] method returns: boxed so the trait stays object-safe
/// (`Rc<dyn Store<W>>`), and not `Send` because browser futures never are.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + 'a>>;

/// Which confirmed messages of a channel (or replies of a thread) to read. Results are always
/// ordered oldest first, by `channel_seq`. Local echoes (messages not yet confirmed by the
/// server: no `channel_seq`, or 0) are never part of a page: they are read by id or through
/// their outbox entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest `n` messages.
    Latest(u32),
    /// The newest `limit` messages with `channel_seq < seq`.
    Before { seq: u64, limit: u32 },
    /// The oldest `limit` messages with `channel_seq > seq`.
    After { seq: u64, limit: u32 },
    /// Every cached message.
    All,
}

/// One channel as [`Store::cold_start`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached<W> {
    pub channel: W,
    pub members: Vec<W>,
    pub messages: Vec<W>,
    pub reads: Vec<W>,
}

/// What [`Store::cold_start`] reads: every channel, and every metadata record (cursors, cached
/// channel lists), ordered by key.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStart<W> {
    pub channels: Vec<Cached<W>>,
    pub meta: Vec<(String, String)>,
}

impl<W> ColdStart<W> {
    /// The metadata value under `key`, as [`Store::meta`] would read it.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The device's copy of one user's chat data. One store holds one app + user; see
/// [`database_name`] for how the IndexedDB backend names it. Every record read back equals the
/// record written (same fields and values; backends may not add or drop fields).
pub trait Store<W: Wire> {
    /// Applies every write of `batch`, in order, in ONE transaction: all or nothing.
    fn write(&self, batch: WriteBatch<W>) -> StoreFuture<'_, ()>;

    /// A channel (`Channel` on the wire) by cid.
    fn channel(&self, cid: &str) -> StoreFuture<'_, Option<W>>;
    /// Every stored channel, ordered by cid.
    fn channels(&self) -> StoreFuture<'_, Vec<W>>;
    /// The members (`ChannelMember`) of a channel, ordered by user id.
    fn members(&self, cid: &str) -> StoreFuture<'_, Vec<W>>;
    fn user(&self, id: &str) -> StoreFuture<'_, Option<W>>;

    /// A message (confirmed or local echo) by id.
    fn message(&self, id: &str) -> StoreFuture<'_, Option<W>>;
    /// A page of a channel's confirmed messages, oldest first.
    fn messages(&self, cid: &str, page: Page) -> StoreFuture<'_, Vec<W>>;
    /// A page of the confirmed replies to `parent_id`, oldest first.
    fn thread(&self, parent_id: &str, page: Page) -> StoreFuture<'_, Vec<W>>;

    /// The reactions (`Reaction`) on a message, ordered by (user id, type).
    fn reactions(&self, message_id: &str) -> StoreFuture<'_, Vec<W>>;
    /// The read states (`ReadState`) of a channel, ordered by user id.
    fn reads(&self, cid: &str) -> StoreFuture<'_, Vec<W>>;
    /// The draft (`Draft`) of a channel (`parent_id: None`) or of a thread in it.
    fn draft(&self, cid: &str, parent_id: Option<&str>) -> StoreFuture<'_, Option<W>>;
    /// Every stored draft, ordered by (cid, parent id).
    fn drafts(&self) -> StoreFuture<'_, Vec<W>>;

    /// Every outbox entry, ordered by `order` (the order they were enqueued in).
    fn outbox(&self) -> StoreFuture<'_, Vec<OutboxEntry<W>>>;
    /// A metadata value (sync cursors and the like) by key.
    fn meta(&self, key: &str) -> StoreFuture<'_, Option<String>>;

    /// Every stored channel (ordered by cid) with what a cold start shows of it: its members,
    /// read states and newest `latest` confirmed messages (oldest first); and every metadata
    /// record. IndexedDB reads it in one transaction.
    fn cold_start(&self, latest: u32) -> StoreFuture<'_, ColdStart<W>>;

    /// Drops the confirmed messages of `cid` older than the newest `keep_latest`, except those
    /// an outbox entry refers to; never touches outbox entries or local echoes. Returns how many
    /// messages were removed (their reactions go with them).
    fn evict_messages(&self, cid: &str, keep_latest: u32) -> StoreFuture<'_, u32>;
    /// Deletes everything this store holds (sign-out): one transaction.
    fn clear(&self) -> StoreFuture<'_, ()>;
}

/// The name of the IndexedDB database of one app + user: both are part of it, so two users of
/// one app, or one user of two apps, never share data on a device.
pub fn database_name(api_key: &str, user_id: &str) -> String {
    ["chat-sdk:", api_key, ":", user_id].concat()
}

/// Sorts and cuts the confirmed messages of one channel (or thread) to a [`Page`]; `sorted` is
/// ordered by `channel_seq` ascending. Shared by the backends that filter in Rust.
pub(crate) fn page_of<T: Clone>(sorted: &[(u64, T)], page: Page) -> Vec<T> {
    let pick = |items: &[(u64, T)]| items.iter().map(|(_, m)| m.clone()).collect();
    match page {
        Page::All => pick(sorted),
        Page::Latest(n) => pick(&sorted[sorted.len().saturating_sub(n as usize)..]),
        Page::Before { seq, limit } => {
            let end = sorted.partition_point(|(s, _)| *s < seq);
            pick(&sorted[end.saturating_sub(limit as usize)..end])
        }
        Page::After { seq, limit } => {
            let start = sorted.partition_point(|(s, _)| *s <= seq);
            let end = (start + limit as usize).min(sorted.len());
            pick(&sorted[start..end])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_has_app_and_user() {
        assert_eq!(database_name("k1", "alice"), "chat-sdk:k1:alice");
        assert_ne!(database_name("k1", "alice"), database_name("k2", "alice"));
    }

    #[test]
    fn pages_cut_sorted_lists() {
        let items: Vec<(u64, u64)> = [1, 2, 4, 5, 9].iter().map(|s| (*s, *s)).collect();
        assert_eq!(page_of(&items, Page::Latest(2)), vec![5, 9]);
        assert_eq!(page_of(&items, Page::Latest(10)), vec![1, 2, 4, 5, 9]);
        assert_eq!(
            page_of(&items, Page::Before { seq: 5, limit: 2 }),
            vec![2, 4]
        );
        assert_eq!(
            page_of(&items, Page::After { seq: 2, limit: 2 }),
            vec![4, 5]
        );
        assert_eq!(
            page_of(&items, Page::After { seq: 9, limit: 2 }),
            Vec::<u64>::new()
        );
    }
}
