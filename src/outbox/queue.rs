//! [`Outbox`]: the durable send queue over a [`Store`] — enqueue (folded, atomically with the
//! local echo), pick what to send next, and record each delivery's outcome.
//!
//! Delivery order: per channel, one entry at a time, in `order`. Channels never wait for each
//! other. Within a channel:
//! - a retryable failure puts the entry back to pending at the head of its channel (the channel
//!   waits for it: nothing behind it overtakes it);
//! - a permanent failure leaves the entry visible as failed, in place. The entries behind it keep
//!   going, in order — except those about the failed message (an edit or reaction of a message
//!   that was never delivered), which wait until it is delivered or discarded;
//! - [`Outbox::retry`] puts a failed entry back as pending at the END of its channel: it is
//!   sent after what was sent meanwhile, so the server's order is the order things were
//!   actually sent; the UI places it where the server's sequence number puts it;
//! - [`Outbox::discard`] drops a failed entry (a send takes its local echo and its dependents
//!   with it).

use super::classify::Failure;
use super::entry::{OutboxEntry, OutboxOp, OutboxState};
use super::fold::FoldOutcome;
use super::plan;
use crate::error::SdkError;
use crate::state::Wire;
use crate::store::{Store, StoreError, WriteBatch};

/// The outbox of one store.
pub struct Outbox<'s, W> {
    store: &'s dyn Store<W>,
}

/// What [`Outbox::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub outcome: FoldOutcome,
}

impl<'s, W: Wire> Outbox<'s, W> {
    pub fn new(store: &'s dyn Store<W>) -> Self {
        Outbox { store }
    }

    /// Records a change: `echo` (the local echo's writes) and the outbox entry — folded into
    /// unsent entries where possible — in ONE transaction. `id` is the client mutation id (the
    /// message id for a send).
    pub async fn enqueue(
        &self,
        id: &str,
        cid: &str,
        op: OutboxOp<W>,
        echo: WriteBatch<W>,
    ) -> Result<Enqueued, StoreError> {
        let entries = self.store.outbox().await?;
        let (outcome, batch) = plan::enqueue(&entries, id, cid, op, echo);
        self.store.write(batch).await?;
        Ok(Enqueued { outcome })
    }

    /// The entries to send now: at most one per channel, none from a channel with one in flight.
    pub async fn ready(&self) -> Result<Vec<OutboxEntry<W>>, StoreError> {
        Ok(ready(&self.store.outbox().await?))
    }

    /// Marks an entry as handed to the network.
    pub async fn start(&self, id: &str) -> Result<(), StoreError> {
        let entries = self.store.outbox().await?;
        self.store.write(plan::start(&entries, id)).await
    }

    /// The server accepted the entry: removes it and applies `confirmed` (e.g. the server's
    /// copy of the message, replacing the local echo) in the same transaction.
    pub async fn complete(&self, id: &str, confirmed: WriteBatch<W>) -> Result<(), StoreError> {
        self.store.write(plan::complete(id, confirmed)).await
    }

    /// A delivery failed: back to pending when retryable, failed (with the server's code)
    /// when permanent. Returns the classification.
    pub async fn fail(&self, id: &str, error: &SdkError) -> Result<Failure, StoreError> {
        let entries = self.store.outbox().await?;
        let (failure, batch) = plan::fail(&entries, id, error);
        self.store.write(batch).await?;
        Ok(failure)
    }

    /// Sends a failed entry again, after everything else queued in its channel.
    pub async fn retry(&self, id: &str) -> Result<(), StoreError> {
        let entries = self.store.outbox().await?;
        self.store.write(plan::retry(&entries, id)).await
    }

    /// Gives up on an entry ([`plan::discard`]).
    pub async fn discard(&self, id: &str) -> Result<(), StoreError> {
        let entries = self.store.outbox().await?;
        self.store.write(plan::discard(&entries, id)).await
    }

    /// After a restart: entries that were in flight go back to pending. Returns how many.
    pub async fn recover(&self) -> Result<u32, StoreError> {
        let batch = plan::recover(&self.store.outbox().await?);
        let n = batch.writes.len() as u32;
        self.store.write(batch).await?;
        Ok(n)
    }
}

/// The pure scheduling rule of [`Outbox::ready`] over entries ordered by `order`.
pub fn ready<W: Wire>(entries: &[OutboxEntry<W>]) -> Vec<OutboxEntry<W>> {
    // Plain vectors, not sets: an outbox is short, and sets cost wasm size.
    let busy: Vec<&str> = entries
        .iter()
        .filter(|e| e.state == OutboxState::InFlight)
        .map(|e| e.cid.as_str())
        .collect();
    // Messages whose send is still in the outbox: entries about them must wait for it.
    let unsent: Vec<String> = entries
        .iter()
        .filter_map(|e| match &e.op {
            OutboxOp::Send(m) => m.str_of("id"),
            _ => None,
        })
        .collect();
    let mut picked: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for e in entries {
        if busy.contains(&e.cid.as_str()) || picked.contains(&e.cid.as_str()) {
            continue;
        }
        match e.state {
            OutboxState::Failed { .. } | OutboxState::InFlight => continue,
            OutboxState::Pending => {}
        }
        let waits_for_send = !matches!(e.op, OutboxOp::Send(_))
            && e.op.message_id().is_some_and(|m| unsent.contains(&m));
        if waits_for_send {
            // Its send is failed (a pending or in-flight send comes earlier in this channel).
            continue;
        }
        picked.push(e.cid.as_str());
        out.push(e.clone());
    }
    out
}
