//! The record kinds the store keeps and the wire fields each is keyed by. Records are wire
//! objects exactly as the server sends them (`chat_protocol`'s model types serialized), or
//! local echoes built the same way; backends read only these fields.
//!
//! | store | record (wire type) | key | also read |
//! | --- | --- | --- | --- |
//! | channels | `Channel` | `cid` | `last_seq` (checked) |
//! | members | `ChannelMember` | the write's `cid` + `user_id` | |
//! | users | `User` | `id` | |
//! | messages | `Message` | `id` | `cid`, `channel_seq` (absent or 0: a local echo), `parent_id` |
//! | reactions | `Reaction` | `message_id` + `user_id` + `type` | |
//! | reads | `ReadState` | `cid` + `user_id` | `last_read_seq` (checked) |
//! | drafts | `Draft` | `cid` + `parent_id` (absent: the channel's draft) | |
//! | outbox | [`crate::outbox::OutboxEntry`] | `id` | `order` |
//! | meta | a string | its key | |
//!
//! The IndexedDB backend files a few of these under extra fields it sets on its stored copy and
//! removes on read (`cid` on members, `thread` on drafts, `kind` on reactions): a record must
//! not bring its own field of that name (no wire type does).

use crate::state::Wire;

/// The `channel_seq` of a stored message; 0 for a local echo.
pub fn seq_of<W: Wire>(message: &W) -> u64 {
    message.u64_of("channel_seq").unwrap_or(0)
}

/// The id of a record (`id` field), or `""`.
pub fn id_of<W: Wire>(record: &W) -> String {
    record.str_of("id").unwrap_or_default()
}

/// The key of a reaction: (message id, user id, type).
pub fn reaction_key<W: Wire>(reaction: &W) -> (String, String, String) {
    (
        reaction.str_of("message_id").unwrap_or_default(),
        reaction.str_of("user_id").unwrap_or_default(),
        reaction.str_of("type").unwrap_or_default(),
    )
}

/// The key of a draft: (cid, thread parent id or `""`).
pub fn draft_key<W: Wire>(draft: &W) -> (String, String) {
    (
        draft.str_of("cid").unwrap_or_default(),
        draft.str_of("parent_id").unwrap_or_default(),
    )
}
