//! The outbox: changes the user made that the server has not confirmed yet — durable (stored
//! with their local echo in one transaction), delivered in order per channel, folded while
//! unsent, and kept visible when refused. Pure logic over [`crate::store::Store`].

pub mod entry;

pub use entry::{OutboxEntry, OutboxOp, OutboxState};
