//! [`WriteBatch`]: the writes one [`super::Store::write`] call applies in one transaction, in
//! the order they were added (a later write to the same key wins).

use chat_protocol::{Channel, ChannelMember, Message, User};

use super::records::{Draft, Reaction, ReadState};
use super::StoreError;
use crate::outbox::OutboxEntry;

/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One write. Puts are upserts by the record's key; deletes of missing keys are no-ops.
// Variants differ in size (a message is large); batches are short-lived, so no boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    PutChannel(Channel),
    DeleteChannel(String),
    /// A member of the channel named by `cid`.
    PutMember {
        cid: String,
        member: ChannelMember,
    },
    DeleteMember {
        cid: String,
        user_id: String,
    },
    PutUser(User),
    /// Upsert by message id: a confirmed copy replaces the local echo with the same id.
    PutMessage(Message),
    /// Deletes the message and its reactions.
    DeleteMessage(String),
    PutReaction(Reaction),
    DeleteReaction {
        message_id: String,
        user_id: String,
        kind: String,
    },
    PutRead(ReadState),
    PutDraft(Draft),
    DeleteDraft {
        cid: String,
        parent_id: Option<String>,
    },
    PutOutbox(OutboxEntry),
    DeleteOutbox(String),
    PutMeta {
        key: String,
        value: String,
    },
}

/// An ordered list of [`Write`]s applied atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    pub writes: Vec<Write>,
}

impl WriteBatch {
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Checks what every backend must refuse before writing anything: sequence numbers a JS
    /// number cannot hold exactly (IndexedDB keys are JS numbers).
    pub fn validate(&self) -> Result<(), StoreError> {
        let too_big = |seq: u64| seq > MAX_SAFE_INTEGER;
        for write in &self.writes {
            let bad = match write {
                Write::PutMessage(m) => too_big(m.channel_seq),
                Write::PutChannel(c) => too_big(c.last_seq),
                Write::PutRead(r) => too_big(r.last_read_seq),
                Write::PutOutbox(e) => too_big(e.order),
                _ => false,
            };
            if bad {
                return Err(StoreError::Codec {
                    message: format!("a sequence number above 2^53 - 1 in {write:?}"),
                });
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn push(&mut self, write: Write) -> &mut Self {
        self.writes.push(write);
        self
    }

    pub fn put_channel(&mut self, channel: Channel) -> &mut Self {
        self.push(Write::PutChannel(channel))
    }

    pub fn put_member(&mut self, cid: &str, member: ChannelMember) -> &mut Self {
        self.push(Write::PutMember {
            cid: cid.to_owned(),
            member,
        })
    }

    pub fn put_user(&mut self, user: User) -> &mut Self {
        self.push(Write::PutUser(user))
    }

    pub fn put_message(&mut self, message: Message) -> &mut Self {
        self.push(Write::PutMessage(message))
    }

    /// A whole page of messages (a sync frame), in one transaction with the rest of the batch.
    pub fn put_messages(&mut self, messages: impl IntoIterator<Item = Message>) -> &mut Self {
        self.writes
            .extend(messages.into_iter().map(Write::PutMessage));
        self
    }

    pub fn delete_message(&mut self, id: &str) -> &mut Self {
        self.push(Write::DeleteMessage(id.to_owned()))
    }

    pub fn put_reaction(&mut self, reaction: Reaction) -> &mut Self {
        self.push(Write::PutReaction(reaction))
    }

    pub fn delete_reaction(&mut self, message_id: &str, user_id: &str, kind: &str) -> &mut Self {
        self.push(Write::DeleteReaction {
            message_id: message_id.to_owned(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
        })
    }

    pub fn put_read(&mut self, read: ReadState) -> &mut Self {
        self.push(Write::PutRead(read))
    }

    pub fn put_draft(&mut self, draft: Draft) -> &mut Self {
        self.push(Write::PutDraft(draft))
    }

    pub fn delete_draft(&mut self, cid: &str, parent_id: Option<&str>) -> &mut Self {
        self.push(Write::DeleteDraft {
            cid: cid.to_owned(),
            parent_id: parent_id.map(str::to_owned),
        })
    }

    pub fn put_outbox(&mut self, entry: OutboxEntry) -> &mut Self {
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
