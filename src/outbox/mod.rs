//! The outbox: changes the user made that the server has not confirmed yet — durable (stored
//! with their local echo in one transaction), delivered in order per channel exactly once (the
//! client-chosen id makes a resend harmless), folded while unsent ([`fold`]), and kept visible
//! when refused ([`queue`] documents the ordering rule). Pure logic: [`plan`] computes each
//! transition's writes from the entries, [`Outbox`] applies them to a [`crate::store::Store`];
//! the browser's delivery loop (`js/io.js`) applies the same plans.

pub mod classify;
pub mod entry;
pub mod fold;
pub mod plan;
pub mod queue;

#[cfg(test)]
mod tests;

pub use classify::{classify, Failure};
pub use entry::{sort_by_order, OutboxEntry, OutboxOp, OutboxState};
pub use fold::FoldOutcome;
pub use queue::{ready, Enqueued, Outbox};
