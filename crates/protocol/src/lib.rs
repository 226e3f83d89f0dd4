//! Wire types shared by the chat-sdk client (wasm) and the chat server.
//!
//! This crate owns the JSON shape of everything that crosses the network: data objects
//! ([`model`]), request bodies ([`requests`]), websocket frames in both directions
//! ([`frames`]) and the stable error codes and close codes ([`error`]). It has no I/O, async,
//! wasm or database dependencies so both sides can share it.

pub mod error;
pub mod frames;
pub mod model;
pub mod requests;

pub use error::{ApiError, CloseCode, ErrorCode};
pub use frames::{ClientFrame, ServerFrame};
pub use model::{Channel, ChannelMember, Message, User};

/// Protocol version announced in `connection.ok`; bumped on incompatible wire changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame the server accepts from a client, in bytes. Larger frames are answered
/// with an `error` frame (`frame_too_large`) and dropped; the connection stays open.
pub const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;

/// Longest message text accepted, in characters.
pub const MAX_MESSAGE_TEXT_CHARS: usize = 10_000;

/// The client-facing id of a channel: `type:id`, as in `messaging:general`.
pub fn cid(channel_type: &str, channel_id: &str) -> String {
    // Concatenated: `format!` would bring `core::fmt` into the SDK's wasm for this alone.
    [channel_type, ":", channel_id].concat()
}

/// Splits a `type:id` channel reference; `None` when either half is empty or the colon is missing.
pub fn split_cid(cid: &str) -> Option<(&str, &str)> {
    let (t, id) = cid.split_once(':')?;
    (!t.is_empty() && !id.is_empty()).then_some((t, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_round_trip() {
        assert_eq!(cid("messaging", "general"), "messaging:general");
        assert_eq!(split_cid("messaging:general"), Some(("messaging", "general")));
        assert_eq!(split_cid("a:b:c"), Some(("a", "b:c")));
        assert_eq!(split_cid("messaging:"), None);
        assert_eq!(split_cid(":x"), None);
        assert_eq!(split_cid("nocolon"), None);
    }
}
