//! Folding: how a new change combines with the still-unsent entries already in the outbox, so
//! the server receives the least it needs to reach the same final state. Only entries the
//! server certainly has not applied are touched ([`OutboxEntry::is_unsent`]: never attempted, or
//! refused for good); one that is in flight or was attempted may already be applied, so it is
//! never changed, and the new change is simply enqueued after it.
//!
//! | new change | unsent entry in the outbox | result |
//! | --- | --- | --- |
//! | edit of `m` | send of `m` | the edit's fields merged into the send's body; nothing enqueued |
//! | edit of `m` | edit of `m` | the new edit's fields merged into that edit's body; nothing enqueued |
//! | delete of `m` (soft or hard) | send of `m` | the send and every entry about `m` removed, the echo deleted |
//! | delete of `m` (soft or hard) | edits / reactions / deletes of `m` | those removed; the delete enqueued |
//! | add reaction `k` on `m` | remove of `k` on `m` | both cancel out |
//! | remove reaction `k` on `m` | add of `k` on `m` | both cancel out |
//! | add / remove `k` on `m` | the same add / remove | duplicate; nothing enqueued |
//! | mark read up to `s` | mark read in the same channel | one entry, up to the larger `s` (a mark read of everything, `message_id: None`, wins) |
//! | a call (any other REST change) | anything | never folded: enqueued |
//! | send of `m` | an entry with id `m` | duplicate; nothing enqueued (enqueue is idempotent) |
//!
//! Merging is shallow (`Object.assign`): a field of the later edit replaces the same field of
//! the earlier body as a whole.
//!
//! Reaction cancelling assumes what the UI guarantees: a remove is only issued for a reaction
//! the user has, an add only for one they do not have.

use super::entry::{OutboxEntry, OutboxOp};
use crate::state::Wire;
use crate::store::{Write, WriteBatch};

/// What enqueueing a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoldOutcome {
    /// A new entry was added.
    Enqueued,
    /// An existing unsent entry (by id) was changed instead.
    FoldedInto(String),
    /// The change and an unsent entry cancelled each other out (or the change was a duplicate):
    /// nothing about it will be sent.
    Cancelled,
}

fn about<'a, W: Wire>(
    entries: &'a [OutboxEntry<W>],
    message_id: &'a str,
) -> impl DoubleEndedIterator<Item = &'a OutboxEntry<W>> {
    entries
        .iter()
        .filter(move |e| e.op.message_id().as_deref() == Some(message_id))
}

fn is_send_of<W: Wire>(op: &OutboxOp<W>, message_id: &str) -> bool {
    matches!(op, OutboxOp::Send(m) if m.str_of("id").as_deref() == Some(message_id))
}

/// Adds to `batch` the outbox writes for enqueueing `new` given the current `entries`.
pub fn fold<W: Wire>(
    entries: &[OutboxEntry<W>],
    new: OutboxEntry<W>,
    batch: &mut WriteBatch<W>,
) -> FoldOutcome {
    if entries.iter().any(|e| e.id == new.id) {
        return FoldOutcome::Cancelled;
    }
    match &new.op {
        OutboxOp::Send(_) | OutboxOp::Call { .. } => {}
        OutboxOp::Edit {
            message_id,
            body: changes,
        } => {
            // Only fold into the latest send or edit of the message, and only while it is
            // unsent: an edit must not jump over a later in-flight edit of the same message.
            let latest = about(entries, message_id)
                .rev()
                .find(|e| matches!(e.op, OutboxOp::Send(_) | OutboxOp::Edit { .. }));
            if let Some(target) = latest.filter(|e| e.is_unsent()) {
                let mut folded = target.clone();
                match &mut folded.op {
                    OutboxOp::Send(m) => *m = m.merged(changes),
                    OutboxOp::Edit { body, .. } => *body = body.merged(changes),
                    _ => unreachable!("target is a send or an edit"),
                }
                let id = folded.id.clone();
                batch.push(Write::PutOutbox(folded));
                return FoldOutcome::FoldedInto(id);
            }
        }
        OutboxOp::Delete { message_id, .. } => {
            let unsent_send = entries
                .iter()
                .any(|e| e.is_unsent() && is_send_of(&e.op, message_id));
            if unsent_send {
                // Never delivered: forget it entirely, with everything about it.
                for e in about(entries, message_id) {
                    batch.push(Write::DeleteOutbox(e.id.clone()));
                }
                batch.push(Write::DeleteMessage(message_id.clone()));
                return FoldOutcome::Cancelled;
            }
            for e in about(entries, message_id).filter(|e| e.is_unsent()) {
                batch.push(Write::DeleteOutbox(e.id.clone()));
            }
        }
        OutboxOp::AddReaction { message_id, kind }
        | OutboxOp::RemoveReaction { message_id, kind } => {
            let adding = matches!(new.op, OutboxOp::AddReaction { .. });
            let latest = about(entries, message_id).rev().find(|e| match &e.op {
                OutboxOp::AddReaction { kind: k, .. }
                | OutboxOp::RemoveReaction { kind: k, .. } => k == kind,
                _ => false,
            });
            if let Some(latest) = latest.filter(|e| e.is_unsent()) {
                let same = matches!(latest.op, OutboxOp::AddReaction { .. }) == adding;
                if !same {
                    batch.push(Write::DeleteOutbox(latest.id.clone()));
                }
                return FoldOutcome::Cancelled;
            }
        }
        OutboxOp::MarkRead { message_id, seq } => {
            if let Some(read) = entries
                .iter()
                .filter(|e| e.cid == new.cid)
                .rev()
                .find(|e| e.is_unsent() && matches!(e.op, OutboxOp::MarkRead { .. }))
            {
                let mut folded = read.clone();
                if let OutboxOp::MarkRead {
                    message_id: m,
                    seq: s,
                } = &mut folded.op
                {
                    // "Everything" (no message) covers any position; otherwise the later one.
                    *m = match (m.take(), message_id) {
                        (None, _) | (_, None) => None,
                        (Some(old), Some(new_id)) => Some(if *seq >= *s { new_id.clone() } else { old }),
                    };
                    *s = (*s).max(*seq);
                }
                let id = folded.id.clone();
                batch.push(Write::PutOutbox(folded));
                return FoldOutcome::FoldedInto(id);
            }
        }
    }
    batch.push(Write::PutOutbox(new));
    FoldOutcome::Enqueued
}
