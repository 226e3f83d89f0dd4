//! [`OutboxEntry`]: one change the user made that the server has not confirmed yet, as it is
//! stored (durably, in the same transaction as its local echo).

use chat_protocol::requests::SendMessage;
use chat_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

/// What the entry asks the server to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxOp {
    /// Send a new message; the entry's id is the message id.
    Send(SendMessage),
    Edit {
        message_id: String,
        text: String,
    },
    Delete {
        message_id: String,
    },
    AddReaction {
        message_id: String,
        kind: String,
    },
    RemoveReaction {
        message_id: String,
        kind: String,
    },
    /// Mark the channel read up to `seq`.
    MarkRead {
        seq: u64,
    },
}

impl OutboxOp {
    /// The message the operation is about (`None` for channel-level operations).
    pub fn message_id(&self) -> Option<&str> {
        match self {
            OutboxOp::Send(m) => Some(&m.id),
            OutboxOp::Edit { message_id, .. }
            | OutboxOp::Delete { message_id }
            | OutboxOp::AddReaction { message_id, .. }
            | OutboxOp::RemoveReaction { message_id, .. } => Some(message_id),
            OutboxOp::MarkRead { .. } => None,
        }
    }
}

/// Where an entry is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent (also after a retryable failure).
    Pending,
    /// Handed to the network; on restart it goes back to pending (resending is idempotent:
    /// the server recognises the id).
    InFlight,
    /// The server refused it for good; stays visible until `retry()` or `discard()`.
    Failed { code: ErrorCode, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The client mutation id: for a send, the message id; otherwise a fresh uuid.
    pub id: String,
    /// The channel the change belongs to; entries are delivered in `order` per channel.
    pub cid: String,
    /// Position in the outbox, increasing in enqueue order (`retry()` moves an entry to the
    /// end of its channel by giving it a new one).
    pub order: u64,
    pub op: OutboxOp,
    pub state: OutboxState,
    /// How many times sending was attempted.
    pub attempts: u32,
}

impl OutboxEntry {
    pub fn is_failed(&self) -> bool {
        matches!(self.state, OutboxState::Failed { .. })
    }

    /// Whether the server certainly has not applied the entry, so it may still be changed
    /// locally (folded): never attempted, or refused for good. An entry that is in flight, or
    /// pending again after a retryable failure, may have been applied (the answer can be lost
    /// after the server stored it), so it is never folded.
    pub fn is_unsent(&self) -> bool {
        match self.state {
            OutboxState::Pending => self.attempts == 0,
            OutboxState::Failed { .. } => true,
            OutboxState::InFlight => false,
        }
    }
}
