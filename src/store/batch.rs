//! [`WriteBatch`]: the writes one [`super::Store::write`] call applies in one transaction, in
//! the order they were added (a later write to the same key wins).

use super::records::seq_of;
use super::StoreError;
use crate::outbox::OutboxEntry;
use crate::state::Wire;

/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One write. Puts are upserts by the record's key ([`super::records`]); deletes of missing keys
/// are no-ops.
#[derive(Debug, Clone, PartialEq)]
pub enum Write<W> {
    PutChannel(W),
    DeleteChannel(String),
    /// A member of the channel named by `cid`.
    PutMember {
        cid: String,
        member: W,
    },
    DeleteMember {
        cid: String,
        user_id: String,
    },
    PutUser(W),
    /// Upsert by message id: a confirmed copy replaces the local echo with the same id.
    PutMessage(W),
    /// Deletes the message and its reactions.
    DeleteMessage(String),
    /// Deletes the confirmed messages of `cid` (and their reactions) with `channel_seq < seq`:
    /// a truncation, or (`seq: u64::MAX`) a channel whose history must be loaded again. Local
    /// echoes and messages an outbox entry refers to stay.
    DeleteMessagesBefore {
        cid: String,
        seq: u64,
    },
    PutReaction(W),
    DeleteReaction {
        message_id: String,
        user_id: String,
        kind: String,
    },
    /// A `ReadState` (it carries its `cid`).
    PutRead(W),
    /// A `Draft` (it carries its `cid` and `parent_id`).
    PutDraft(W),
    DeleteDraft {
        cid: String,
        parent_id: Option<String>,
    },
    PutOutbox(OutboxEntry<W>),
    DeleteOutbox(String),
    PutMeta {
        key: String,
        value: String,
    },
}

/// An ordered list of [`Write`]s applied atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBatch<W> {
    pub writes: Vec<Write<W>>,
}

impl<W> Default for WriteBatch<W> {
    fn default() -> Self {
        WriteBatch { writes: Vec::new() }
    }
}

impl<W: Wire> WriteBatch<W> {
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Checks what every backend must refuse before writing anything: records without their
    /// key fields, and sequence numbers a JS number cannot hold exactly (IndexedDB keys are JS
    /// numbers).
    pub fn validate(&self) -> Result<(), StoreError> {
        let too_big = |seq: u64| seq > MAX_SAFE_INTEGER;
        for write in &self.writes {
            let (bad, what) = match write {
                Write::PutMessage(m) => (
                    too_big(seq_of(m)) || !m.has_str("id") || !m.has_str("cid"),
                    "message",
                ),
                Write::PutChannel(c) => (
                    too_big(c.u64_of("last_seq").unwrap_or(0)) || !c.has_str("cid"),
                    "channel",
                ),
                Write::PutRead(r) => (
                    too_big(r.u64_of("last_read_seq").unwrap_or(0))
                        || !r.has_str("cid")
                        || !r.has_str("user_id"),
                    "read state",
                ),
                Write::PutMember { member, .. } => (!member.has_str("user_id"), "member"),
                Write::PutUser(u) => (!u.has_str("id"), "user"),
                Write::PutReaction(r) => (
                    !r.has_str("message_id") || !r.has_str("user_id") || !r.has_str("type"),
                    "reaction",
                ),
                Write::PutDraft(d) => (!d.has_str("cid"), "draft"),
                Write::PutOutbox(e) => (too_big(e.order), "outbox entry"),
                _ => (false, ""),
            };
            if bad {
                return Err(StoreError::Codec {
                    message: [
                        "a ",
                        what,
                        " without its key fields or with a sequence above 2^53 - 1",
                    ]
                    .concat(),
                });
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn push(&mut self, write: Write<W>) -> &mut Self {
        self.writes.push(write);
        self
    }

    /// Appends every write of `other`.
    pub fn append(&mut self, other: WriteBatch<W>) -> &mut Self {
        self.writes.extend(other.writes);
        self
    }

    pub fn put_channel(&mut self, channel: W) -> &mut Self {
        self.push(Write::PutChannel(channel))
    }

    pub fn put_member(&mut self, cid: &str, member: W) -> &mut Self {
        self.push(Write::PutMember {
            cid: cid.to_owned(),
            member,
        })
    }

    pub fn put_user(&mut self, user: W) -> &mut Self {
        self.push(Write::PutUser(user))
    }

    pub fn put_message(&mut self, message: W) -> &mut Self {
        self.push(Write::PutMessage(message))
    }

    /// A whole page of messages (a sync frame), in one transaction with the rest of the batch.
    pub fn put_messages(&mut self, messages: impl IntoIterator<Item = W>) -> &mut Self {
        self.writes
            .extend(messages.into_iter().map(Write::PutMessage));
        self
    }

    pub fn delete_message(&mut self, id: &str) -> &mut Self {
        self.push(Write::DeleteMessage(id.to_owned()))
    }

    /// Deletes the confirmed messages of `cid` with `channel_seq < seq` (see
    /// [`Write::DeleteMessagesBefore`]).
    pub fn delete_messages_before(&mut self, cid: &str, seq: u64) -> &mut Self {
        self.push(Write::DeleteMessagesBefore {
            cid: cid.to_owned(),
            seq,
        })
    }

    pub fn put_reaction(&mut self, reaction: W) -> &mut Self {
        self.push(Write::PutReaction(reaction))
    }

    pub fn delete_reaction(&mut self, message_id: &str, user_id: &str, kind: &str) -> &mut Self {
        self.push(Write::DeleteReaction {
            message_id: message_id.to_owned(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
        })
    }

    pub fn put_read(&mut self, read: W) -> &mut Self {
        self.push(Write::PutRead(read))
    }

    pub fn put_draft(&mut self, draft: W) -> &mut Self {
        self.push(Write::PutDraft(draft))
    }

    pub fn delete_draft(&mut self, cid: &str, parent_id: Option<&str>) -> &mut Self {
        self.push(Write::DeleteDraft {
            cid: cid.to_owned(),
            parent_id: parent_id.map(str::to_owned),
        })
    }

    pub fn put_outbox(&mut self, entry: OutboxEntry<W>) -> &mut Self {
        self.push(Write::PutOutbox(entry))
    }

    pub fn delete_outbox(&mut self, id: &str) -> &mut Self {
        self.push(Write::DeleteOutbox(id.to_owned()))
    }

    pub fn put_meta(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.push(Write::PutMeta {
            key: key.to_owned(),
            value: value.into(),
        })
    }
}
