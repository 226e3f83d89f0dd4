//! The outbox: changes the user made that the server has not confirmed yet — durable (stored
//! with their local echo in one transaction), delivered in order per channel exactly once (the
//! client-chosen id makes a resend harmless), folded while unsent ([`fold`]), and kept visible
//! when refused ([`queue`] documents the ordering rule). Pure logic over
//! [`crate::store::Store`]; the driver that sends entries lives with the SDK client.

pub mod classify;
pub mod entry;
pub mod fold;
pub mod queue;

#[cfg(test)]
mod tests;

pub use classify::{classify, Failure};
pub use entry::{sort_by_order, OutboxEntry, OutboxOp, OutboxState};
pub use fold::FoldOutcome;
pub use queue::{ready, Enqueued, Outbox};
