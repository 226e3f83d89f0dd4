//! Folding: how a new change combines with the still-unsent entries already in the outbox, so
//! the server receives the least it needs to reach the same final state. Only entries the
//! server certainly has not applied are touched ([`OutboxEntry::is_unsent`]: never attempted, or
//! refused for good); one that is in flight or was attempted may already be applied, so it is
//! never changed, and the new change is simply enqueued after it.
//!
//! | new change | unsent entry in the outbox | result |
//! | --- | --- | --- |
//! | edit of `m` | send of `m` | the send carries the new text; nothing enqueued |
//! | edit of `m` | edit of `m` | that edit carries the new text; nothing enqueued |
//! | delete of `m` | send of `m` | the send and every entry about `m` removed, the echo deleted |
//! | delete of `m` | edits / reactions of `m` | those removed; the delete enqueued |
//! | add reaction `k` on `m` | remove of `k` on `m` | both cancel out |
//! | remove reaction `k` on `m` | add of `k` on `m` | both cancel out |
//! | add / remove `k` on `m` | the same add / remove | duplicate; nothing enqueued |
//! | mark read up to `s` | mark read in the same channel | one entry, up to the larger `s` |
//! | send of `m` | an entry with id `m` | duplicate; nothing enqueued (enqueue is idempotent) |
//!
//! Reaction cancelling assumes what the UI guarantees: a remove is only issued for a reaction
//! the user has, an add only for one they do not have.

use super::entry::{OutboxEntry, OutboxOp};
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

fn about<'a>(
    entries: &'a [OutboxEntry],
    message_id: &'a str,
) -> impl DoubleEndedIterator<Item = &'a OutboxEntry> {
    entries
        .iter()
        .filter(move |e| e.op.message_id() == Some(message_id))
}

fn last_unsent(entries: &[OutboxEntry], pred: impl Fn(&OutboxOp) -> bool) -> Option<&OutboxEntry> {
    entries.iter().rev().find(|e| e.is_unsent() && pred(&e.op))
}

/// Adds to `batch` the outbox writes for enqueueing `new` given the current `entries`.
pub fn fold(entries: &[OutboxEntry], new: OutboxEntry, batch: &mut WriteBatch) -> FoldOutcome {
    if entries.iter().any(|e| e.id == new.id) {
        return FoldOutcome::Cancelled;
    }
    let same_cid = |e: &&OutboxEntry| e.cid == new.cid;
    match &new.op {
        OutboxOp::Send(_) => {}
        OutboxOp::Edit {
            message_id,
            text: new_text,
        } => {
            let target = last_unsent(entries, |op| match op {
                OutboxOp::Send(m) => &m.id == message_id,
                OutboxOp::Edit { message_id: m, .. } => m == message_id,
                _ => false,
            });
            // Only fold into the latest entry about the message: an edit must not jump over a
            // later in-flight edit of the same message.
            let latest = about(entries, message_id)
                .rev()
                .find(|e| matches!(e.op, OutboxOp::Send(_) | OutboxOp::Edit { .. }));
            if let (Some(target), Some(latest)) = (target, latest) {
                if target.id == latest.id {
                    let mut folded = target.clone();
                    match &mut folded.op {
                        OutboxOp::Send(m) => m.text = new_text.clone(),
                        OutboxOp::Edit { text, .. } => *text = new_text.clone(),
                        _ => unreachable!("target is a send or an edit"),
                    }
                    let id = folded.id.clone();
                    batch.push(Write::PutOutbox(folded));
                    return FoldOutcome::FoldedInto(id);
                }
            }
        }
        OutboxOp::Delete { message_id } => {
            let unsent_send = entries.iter().find(|e| {
                e.is_unsent() && matches!(&e.op, OutboxOp::Send(m) if &m.id == message_id)
            });
            if unsent_send.is_some() {
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
                | OutboxOp::RemoveReaction { kind: k, .. } => k == kind.as_str(),
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
        OutboxOp::MarkRead { seq } => {
            if let Some(read) = entries
                .iter()
                .filter(same_cid)
                .rev()
                .find(|e| e.is_unsent() && matches!(e.op, OutboxOp::MarkRead { .. }))
            {
                let mut folded = read.clone();
                if let OutboxOp::MarkRead { seq: s } = &mut folded.op {
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
