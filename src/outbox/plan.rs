//! The outbox's transitions as pure functions over the entries it holds (ordered by `order`):
//! each returns the writes that make the change, to be applied in one transaction. The async
//! [`super::Outbox`] (over a [`crate::store::Store`]) and the browser's delivery loop
//! (`js/io.js`, through `bindings::outbox`) both apply exactly these.

use super::classify::{classify, Failure};
use super::entry::{OutboxEntry, OutboxOp, OutboxState};
use super::fold::{fold, FoldOutcome};
use crate::error::SdkError;
use crate::state::Wire;
use crate::store::{Write, WriteBatch};

fn next_order<W>(entries: &[OutboxEntry<W>]) -> u64 {
    entries.iter().map(|e| e.order).max().unwrap_or(0) + 1
}

/// `change` applied to the entry `id`, as a write (nothing when there is no such entry).
fn update<W: Wire>(
    entries: &[OutboxEntry<W>],
    id: &str,
    change: impl FnOnce(&mut OutboxEntry<W>),
) -> WriteBatch<W> {
    let mut batch = WriteBatch::new();
    if let Some(entry) = entries.iter().find(|e| e.id == id) {
        let mut entry = entry.clone();
        change(&mut entry);
        batch.put_outbox(entry);
    }
    batch
}

/// Records a change: `echo` (the local echo's writes) followed by the outbox entry, folded
/// into unsent entries where possible. `id` is the client mutation id (the message id for a
/// send).
pub fn enqueue<W: Wire>(
    entries: &[OutboxEntry<W>],
    id: &str,
    cid: &str,
    op: OutboxOp<W>,
    echo: WriteBatch<W>,
) -> (FoldOutcome, WriteBatch<W>) {
    let mut entry = OutboxEntry::new(id, cid, op);
    entry.order = next_order(entries);
    let mut batch = echo;
    let outcome = fold(entries, entry, &mut batch);
    (outcome, batch)
}

/// The entry is handed to the network.
pub fn start<W: Wire>(entries: &[OutboxEntry<W>], id: &str) -> WriteBatch<W> {
    update(entries, id, |e| {
        e.state = OutboxState::InFlight;
        e.attempts += 1;
    })
}

/// The server accepted the entry: it goes, with `confirmed` (e.g. the server's copy of the
/// message, replacing the local echo) in the same transaction.
pub fn complete<W: Wire>(id: &str, confirmed: WriteBatch<W>) -> WriteBatch<W> {
    let mut batch = confirmed;
    batch.delete_outbox(id);
    batch
}

/// A delivery failed: back to pending when retryable, failed (with the server's code) when
/// permanent.
pub fn fail<W: Wire>(
    entries: &[OutboxEntry<W>],
    id: &str,
    error: &SdkError,
) -> (Failure, WriteBatch<W>) {
    let failure = classify(error);
    let state = match &failure {
        Failure::Retryable => OutboxState::Pending,
        Failure::Permanent { code, message } => OutboxState::Failed {
            code: code.as_str().to_owned(),
            message: message.clone(),
        },
    };
    (failure, update(entries, id, move |e| e.state = state))
}

/// A failed entry goes again, after everything else queued in its channel.
pub fn retry<W: Wire>(entries: &[OutboxEntry<W>], id: &str) -> WriteBatch<W> {
    let order = next_order(entries);
    update(entries, id, move |e| {
        if e.is_failed() {
            e.state = OutboxState::Pending;
            e.order = order;
        }
    })
}

/// Gives up on an entry. A send also takes its local echo and every entry about that message
/// (they cannot succeed without it). For other operations the local echo stays until the
/// channel's next sync brings the server's state.
pub fn discard<W: Wire>(entries: &[OutboxEntry<W>], id: &str) -> WriteBatch<W> {
    let mut batch = WriteBatch::new();
    let Some(entry) = entries.iter().find(|e| e.id == id) else {
        return batch;
    };
    batch.delete_outbox(id);
    if let OutboxOp::Send(message) = &entry.op {
        let message_id = message.str_of("id").unwrap_or_else(|| entry.id.clone());
        for e in entries
            .iter()
            .filter(|e| e.op.message_id().as_deref() == Some(message_id.as_str()))
        {
            batch.delete_outbox(&e.id);
        }
        batch.delete_message(&message_id);
    }
    batch
}

/// After a restart: entries that were in flight go back to pending. Resending them is safe
/// because the server recognises their ids (delivered exactly once).
pub fn recover<W: Wire>(entries: &[OutboxEntry<W>]) -> WriteBatch<W> {
    let mut batch = WriteBatch::new();
    for e in entries {
        if e.state == OutboxState::InFlight {
            let mut e = e.clone();
            e.state = OutboxState::Pending;
            batch.push(Write::PutOutbox(e));
        }
    }
    batch
}
