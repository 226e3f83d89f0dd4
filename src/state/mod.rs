//! Client-side state, pure and platform-free: per-channel state ([`ChannelState`]) and the
//! client-wide view ([`ClientState`]: channel list, drafts, presence), built from API answers
//! and advanced by applying events. Wire objects are kept as they came ([`Wire`]), so the JS
//! facade hands them to apps without re-encoding.

pub mod channel;
pub mod client;
pub mod message_list;
pub mod wire;

#[cfg(test)]
mod tests;

pub use channel::{ChannelState, TYPING_TTL_MS};
pub use client::ClientState;
pub use message_list::{Entry, MessageList};
pub use wire::{position, Position, Wire};
