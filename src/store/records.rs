//! The records the store keeps besides the wire types of `chat_protocol` (channels, members,
//! users, messages): reactions, read states and drafts. Outbox entries are owned by
//! [`crate::outbox`].

use serde::{Deserialize, Serialize};

/// One user's reaction of one kind on one message. Key: (message_id, user_id, kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub message_id: String,
    pub user_id: String,
    /// The reaction type, e.g. `like`.
    pub kind: String,
    pub created_at: String,
}

/// How far one member has read a channel. Key: (cid, user_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    pub cid: String,
    pub user_id: String,
    /// The `channel_seq` of the last message read.
    pub last_read_seq: u64,
    pub last_read_at: String,
}

/// Unsent text the user typed in a channel or in a thread of it. Key: (cid, parent_id or "").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub cid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub text: String,
    pub updated_at: String,
}

impl Draft {
    /// The second half of the draft's key: the thread's parent id, or `""` for the channel.
    pub fn thread_key(&self) -> &str {
        self.parent_id.as_deref().unwrap_or("")
    }
}
