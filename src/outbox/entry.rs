//! [`OutboxEntry`]: one change the user made that the server has not confirmed yet, as it is
//! stored (durably, in the same transaction as its local echo), and its wire-object encoding
//! ([`OutboxEntry::to_wire`] / [`OutboxEntry::from_wire`]) — the shape schema version 2 wrote:
//! `{id, cid, order, op: {<kind>: {...}}, state: "pending" | "in_flight" | {failed: {code,
//! message}}, attempts}`.

use crate::state::Wire;

/// What the entry asks the server to do. Every request carries the entry's id as its client
/// id (a send's message id, otherwise the `mutation_id`), so a resend is harmless.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxOp<W> {
    /// Send a new message: the `SendMessage` body (its `id` is the entry's id).
    Send(W),
    /// Edit a message: an `UpdateMessage` body (`text`, `attachments`, ...).
    Edit { message_id: String, body: W },
    Delete { message_id: String, hard: bool },
    AddReaction { message_id: String, kind: String },
    RemoveReaction { message_id: String, kind: String },
    /// Mark the channel read up to the message `message_id` (sequence `seq`), or all of it
    /// when `message_id` is `None`.
    MarkRead {
        message_id: Option<String>,
        seq: u64,
    },
    /// Any other change: one REST call, sent with `?mutation_id=<entry id>` (members, channel
    /// operations, drafts, pins, ...). Never folded.
    Call {
        method: String,
        path: String,
        body: Option<W>,
    },
}

impl<W: Wire> OutboxOp<W> {
    /// The message the operation is about (`None` for channel-level operations).
    pub fn message_id(&self) -> Option<String> {
        match self {
            OutboxOp::Send(m) => m.str_of("id"),
            OutboxOp::Edit { message_id, .. }
            | OutboxOp::Delete { message_id, .. }
            | OutboxOp::AddReaction { message_id, .. }
            | OutboxOp::RemoveReaction { message_id, .. } => Some(message_id.clone()),
            OutboxOp::MarkRead { .. } | OutboxOp::Call { .. } => None,
        }
    }

    fn to_wire(&self) -> W {
        let s = |v: &str| W::string(v);
        let (kind, fields) = match self {
            OutboxOp::Send(m) => ("send", m.clone()),
            OutboxOp::Edit { message_id, body } => (
                "edit",
                W::object(vec![("message_id", s(message_id)), ("body", body.clone())]),
            ),
            OutboxOp::Delete { message_id, hard } => (
                "delete",
                W::object(vec![("message_id", s(message_id)), ("hard", W::boolean(*hard))]),
            ),
            OutboxOp::AddReaction { message_id, kind } => (
                "add_reaction",
                W::object(vec![("message_id", s(message_id)), ("kind", s(kind))]),
            ),
            OutboxOp::RemoveReaction { message_id, kind } => (
                "remove_reaction",
                W::object(vec![("message_id", s(message_id)), ("kind", s(kind))]),
            ),
            OutboxOp::MarkRead { message_id, seq } => {
                let mut f = vec![("seq", W::number(*seq))];
                if let Some(m) = message_id {
                    f.push(("message_id", s(m)));
                }
                ("mark_read", W::object(f))
            }
            OutboxOp::Call { method, path, body } => {
                let mut f = vec![("method", s(method)), ("path", s(path))];
                if let Some(b) = body {
                    f.push(("body", b.clone()));
                }
                ("call", W::object(f))
            }
        };
        W::object(vec![(kind, fields)])
    }

    fn from_wire(op: &W) -> Option<Self> {
        let string = |v: &W, k: &str| v.str_of(k);
        if let Some(m) = op.field("send") {
            return Some(OutboxOp::Send(m));
        }
        if let Some(v) = op.field("edit") {
            // Version 2 stored `{message_id, text}`.
            let body = v.field("body").unwrap_or_else(|| {
                W::object(vec![("text", W::string(&v.str_of("text").unwrap_or_default()))])
            });
            return Some(OutboxOp::Edit {
                message_id: string(&v, "message_id")?,
                body,
            });
        }
        if let Some(v) = op.field("delete") {
            return Some(OutboxOp::Delete {
                message_id: string(&v, "message_id")?,
                hard: v.flag("hard"),
            });
        }
        if let Some(v) = op.field("add_reaction") {
            return Some(OutboxOp::AddReaction {
                message_id: string(&v, "message_id")?,
                kind: string(&v, "kind")?,
            });
        }
        if let Some(v) = op.field("remove_reaction") {
            return Some(OutboxOp::RemoveReaction {
                message_id: string(&v, "message_id")?,
                kind: string(&v, "kind")?,
            });
        }
        if let Some(v) = op.field("mark_read") {
            return Some(OutboxOp::MarkRead {
                message_id: string(&v, "message_id"),
                seq: v.u64_of("seq").unwrap_or(0),
            });
        }
        let v = op.field("call")?;
        Some(OutboxOp::Call {
            method: string(&v, "method")?,
            path: string(&v, "path")?,
            body: v.field("body"),
        })
    }
}

/// Where an entry is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent (also after a retryable failure).
    Pending,
    /// Handed to the network; on restart it goes back to pending (resending is idempotent:
    /// the server recognises the id).
    InFlight,
    /// The server refused it for good (`code` is the server's stable error code); stays
    /// visible until `retry()` or `discard()`.
    Failed { code: String, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry<W> {
    /// The client mutation id: for a send, the message id; otherwise a fresh uuid.
    pub id: String,
    /// The channel the change belongs to; entries are delivered in `order` per channel.
    pub cid: String,
    /// Position in the outbox, increasing in enqueue order (`retry()` moves an entry to the
    /// end of its channel by giving it a new one).
    pub order: u64,
    pub op: OutboxOp<W>,
    pub state: OutboxState,
    /// How many times sending was attempted.
    pub attempts: u32,
}

impl<W: Wire> OutboxEntry<W> {
    /// A new pending entry.
    pub fn new(id: &str, cid: &str, op: OutboxOp<W>) -> Self {
        OutboxEntry {
            id: id.to_owned(),
            cid: cid.to_owned(),
            order: 0,
            op,
            state: OutboxState::Pending,
            attempts: 0,
        }
    }

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

    /// The stored form.
    pub fn to_wire(&self) -> W {
        let state = match &self.state {
            OutboxState::Pending => W::string("pending"),
            OutboxState::InFlight => W::string("in_flight"),
            OutboxState::Failed { code, message } => W::object(vec![(
                "failed",
                W::object(vec![("code", W::string(code)), ("message", W::string(message))]),
            )]),
        };
        W::object(vec![
            ("id", W::string(&self.id)),
            ("cid", W::string(&self.cid)),
            ("order", W::number(self.order)),
            ("op", self.op.to_wire()),
            ("state", state),
            ("attempts", W::number(u64::from(self.attempts))),
        ])
    }

    /// Reads a stored entry; `None` when it is not one.
    pub fn from_wire(value: &W) -> Option<Self> {
        let state = match value.field("state") {
            Some(s) if s.as_string().as_deref() == Some("in_flight") => OutboxState::InFlight,
            Some(s) => match s.field("failed") {
                Some(f) => OutboxState::Failed {
                    code: f.str_of("code").unwrap_or_default(),
                    message: f.str_of("message").unwrap_or_default(),
                },
                None => OutboxState::Pending,
            },
            None => OutboxState::Pending,
        };
        Some(OutboxEntry {
            id: value.str_of("id")?,
            cid: value.str_of("cid")?,
            order: value.u64_of("order")?,
            op: OutboxOp::from_wire(&value.field("op")?)?,
            state,
            attempts: value.u64_of("attempts").unwrap_or(0) as u32,
        })
    }
}

/// Puts entries in delivery order (`order`). One function for every store.
pub fn sort_by_order<W>(entries: &mut [OutboxEntry<W>]) {
    crate::vecmap::sort_small(entries, |a, b| a.order < b.order);
}
