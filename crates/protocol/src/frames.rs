//! Websocket frames: what a client may send ([`ClientFrame`]) and what the server sends
//! ([`ServerFrame`]). Every frame is one JSON text message with a dotted `type` tag.
//!
//! Events that change a channel carry `cid` and `channel_seq`, the channel's sequence number
//! assigned in the same transaction as the change (gapless per channel); events addressed to a
//! user carry `user_seq`. A client that sees a gap fetches the missing range.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{Channel, ChannelDetails, Draft, MemberDetails, Message, Reaction, ReadState, User};

/// Frames a client sends. Unknown types and unknown fields are refused with `invalid_frame`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ClientFrame {
    /// Liveness probe; the server answers `pong` with the same id.
    #[serde(rename = "ping")]
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// The client's answer to the server's `health.check`.
    #[serde(rename = "health.check")]
    HealthCheck {},
    /// Sets the user's presence: `online` or `away` (`user.presence.changed` goes to the users
    /// who share a channel with them when it changes).
    #[serde(rename = "presence.set")]
    PresenceSet { status: String },
    /// The user started (or is still) typing in a channel, or a thread of it. Repeat it every
    /// few seconds while typing; the server sends `typing.stop` itself after 5 s of silence.
    #[serde(rename = "typing.start")]
    TypingStart {
        cid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id: Option<String>,
    },
    /// The user stopped typing.
    #[serde(rename = "typing.stop")]
    TypingStop {
        cid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id: Option<String>,
    },
}

/// Frames the server sends. (Variants differ in size; frames are short-lived, so no boxing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    /// First frame of every accepted connection.
    #[serde(rename = "connection.ok")]
    ConnectionOk {
        connection_id: String,
        me: User,
        protocol: u32,
        /// How often the server sends `health.check`; the client reconnects when it has heard
        /// nothing for about twice this long.
        health_interval_ms: u32,
        /// The user's latest user-event sequence number: where a fresh client starts its user
        /// stream (a resuming client syncs from its own cursor instead). Not named `user_seq`:
        /// this frame is not itself a user event.
        #[serde(default)]
        user_last_seq: u64,
    },
    /// Periodic liveness frame from the server; the client answers `health.check`.
    #[serde(rename = "health.check")]
    HealthCheck { connection_id: String },
    /// Answer to a client `ping`.
    #[serde(rename = "pong")]
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A request over the socket failed, or the connection is about to be closed.
    #[serde(rename = "error")]
    Error { error: ApiError },
    /// A new message in a channel the user is a member of.
    #[serde(rename = "message.new")]
    MessageNew { cid: String, channel_seq: u64, message: Message },
    /// Members were added to a channel (also sent when a channel is created with members).
    #[serde(rename = "member.added")]
    MemberAdded { cid: String, channel_seq: u64, member: MemberDetails },
    /// The user was added to a channel; carries the whole channel so a client can list it.
    #[serde(rename = "notification.added_to_channel")]
    AddedToChannel { user_seq: u64, channel: Channel },
    /// A message was edited, pinned or unpinned; carries the whole message as it now is.
    #[serde(rename = "message.updated")]
    MessageUpdated { cid: String, channel_seq: u64, message: Message },
    /// A message was deleted. Soft: the message stays with `is_deleted` and empty text. Hard: it
    /// is gone; clients drop it.
    #[serde(rename = "message.deleted")]
    MessageDeleted { cid: String, channel_seq: u64, message: Message, hard_delete: bool },
    /// A reaction was added; `message` carries the new counts.
    #[serde(rename = "reaction.new")]
    ReactionNew { cid: String, channel_seq: u64, reaction: Reaction, message: Message },
    /// A reaction was removed.
    #[serde(rename = "reaction.deleted")]
    ReactionDeleted { cid: String, channel_seq: u64, reaction: Reaction, message: Message },
    /// A member's read position moved (mark read or mark unread).
    #[serde(rename = "message.read")]
    MessageRead { cid: String, channel_seq: u64, read: ReadState },
    /// The user was mentioned in a message.
    #[serde(rename = "notification.mention")]
    Mention { user_seq: u64, cid: String, message: Message },
    /// A user's profile changed (sent to the user and to the users sharing a channel with them).
    #[serde(rename = "user.updated")]
    UserUpdated { user_seq: u64, user: User },
    /// A user's presence changed. Ephemeral: no sequence number, not logged.
    #[serde(rename = "user.presence.changed")]
    PresenceChanged {
        user_id: String,
        /// `online`, `away` or `offline`.
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen_at: Option<String>,
    },
    /// The user's draft was saved (on another device, or this one).
    #[serde(rename = "draft.updated")]
    DraftUpdated { user_seq: u64, draft: Draft },
    /// The user's draft was deleted.
    #[serde(rename = "draft.deleted")]
    DraftDeleted {
        user_seq: u64,
        cid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id: Option<String>,
    },
    /// A member started typing. Ephemeral: no sequence number, not logged.
    #[serde(rename = "typing.start")]
    TypingStart {
        cid: String,
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id: Option<String>,
    },
    /// A member stopped typing (or went silent for 5 s, or disconnected). Ephemeral.
    #[serde(rename = "typing.stop")]
    TypingStop {
        cid: String,
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id: Option<String>,
    },
    /// The channel's name, description, avatar, metadata, settings, slow mode, cooldown or frozen
    /// flag changed.
    #[serde(rename = "channel.updated")]
    ChannelUpdated { cid: String, channel_seq: u64, channel: ChannelDetails },
    /// The channel was deleted; it can no longer be read or written.
    #[serde(rename = "channel.deleted")]
    ChannelDeleted { cid: String, channel_seq: u64, channel: ChannelDetails },
    /// Messages up to this event are hidden; a system message may follow.
    #[serde(rename = "channel.truncated")]
    ChannelTruncated { cid: String, channel_seq: u64, channel: ChannelDetails },
    /// A member left or was removed.
    #[serde(rename = "member.removed")]
    MemberRemoved { cid: String, channel_seq: u64, user_id: String },
    /// A member's role, ban or invitation changed.
    #[serde(rename = "member.updated")]
    MemberUpdated { cid: String, channel_seq: u64, member: MemberDetails },
    /// A user started watching the channel (ephemeral: no sequence, not replayed).
    #[serde(rename = "user.watching.start")]
    UserWatchingStart { cid: String, user_id: String, watcher_count: u32 },
    /// A user stopped watching the channel (ephemeral: no sequence, not replayed).
    #[serde(rename = "user.watching.stop")]
    UserWatchingStop { cid: String, user_id: String, watcher_count: u32 },
    /// The user was removed from a channel (or left it from another device).
    #[serde(rename = "notification.removed_from_channel")]
    RemovedFromChannel { user_seq: u64, cid: String },
    /// The user was invited to a channel; accept or reject it.
    #[serde(rename = "notification.invited")]
    Invited { user_seq: u64, channel: ChannelDetails },
    /// The user's own membership changed (hidden, shown, muted, unmuted) — their other devices
    /// follow.
    #[serde(rename = "notification.membership_updated")]
    MembershipUpdated { user_seq: u64, cid: String, member: MemberDetails },
}

impl ServerFrame {
    /// The `(cid, channel_seq)` of a channel event, if this frame is one.
    pub fn channel_position(&self) -> Option<(&str, u64)> {
        match self {
            ServerFrame::MessageNew { cid, channel_seq, .. }
            | ServerFrame::MemberAdded { cid, channel_seq, .. }
            | ServerFrame::MessageUpdated { cid, channel_seq, .. }
            | ServerFrame::MessageDeleted { cid, channel_seq, .. }
            | ServerFrame::ReactionNew { cid, channel_seq, .. }
            | ServerFrame::ReactionDeleted { cid, channel_seq, .. }
            | ServerFrame::MessageRead { cid, channel_seq, .. }
            | ServerFrame::ChannelUpdated { cid, channel_seq, .. }
            | ServerFrame::ChannelDeleted { cid, channel_seq, .. }
            | ServerFrame::ChannelTruncated { cid, channel_seq, .. }
            | ServerFrame::MemberRemoved { cid, channel_seq, .. }
            | ServerFrame::MemberUpdated { cid, channel_seq, .. } => Some((cid, *channel_seq)),
            _ => None,
        }
    }

    /// The dotted event name of this frame (`message.new`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            ServerFrame::ConnectionOk { .. } => "connection.ok",
            ServerFrame::HealthCheck { .. } => "health.check",
            ServerFrame::Pong { .. } => "pong",
            ServerFrame::Error { .. } => "error",
            ServerFrame::MessageNew { .. } => "message.new",
            ServerFrame::MemberAdded { .. } => "member.added",
            ServerFrame::AddedToChannel { .. } => "notification.added_to_channel",
            ServerFrame::MessageUpdated { .. } => "message.updated",
            ServerFrame::MessageDeleted { .. } => "message.deleted",
            ServerFrame::ReactionNew { .. } => "reaction.new",
            ServerFrame::ReactionDeleted { .. } => "reaction.deleted",
            ServerFrame::MessageRead { .. } => "message.read",
            ServerFrame::Mention { .. } => "notification.mention",
            ServerFrame::UserUpdated { .. } => "user.updated",
            ServerFrame::PresenceChanged { .. } => "user.presence.changed",
            ServerFrame::DraftUpdated { .. } => "draft.updated",
            ServerFrame::DraftDeleted { .. } => "draft.deleted",
            ServerFrame::TypingStart { .. } => "typing.start",
            ServerFrame::TypingStop { .. } => "typing.stop",
            ServerFrame::ChannelUpdated { .. } => "channel.updated",
            ServerFrame::ChannelDeleted { .. } => "channel.deleted",
            ServerFrame::ChannelTruncated { .. } => "channel.truncated",
            ServerFrame::MemberRemoved { .. } => "member.removed",
            ServerFrame::MemberUpdated { .. } => "member.updated",
            ServerFrame::UserWatchingStart { .. } => "user.watching.start",
            ServerFrame::UserWatchingStop { .. } => "user.watching.stop",
            ServerFrame::RemovedFromChannel { .. } => "notification.removed_from_channel",
            ServerFrame::Invited { .. } => "notification.invited",
            ServerFrame::MembershipUpdated { .. } => "notification.membership_updated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_are_strict() {
        let f: ClientFrame = serde_json::from_str(r#"{"type":"ping","id":"7"}"#).unwrap();
        assert_eq!(f, ClientFrame::Ping { id: Some("7".into()) });
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"ping","x":1}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope"}"#).is_err());
        let hc: ClientFrame = serde_json::from_str(r#"{"type":"health.check"}"#).unwrap();
        assert_eq!(hc, ClientFrame::HealthCheck {});
    }

    #[test]
    fn server_frames_use_dotted_tags() {
        let f = ServerFrame::Pong { id: None };
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"type":"pong"}"#);
        assert_eq!(f.kind(), "pong");
        let e = ServerFrame::Error { error: ApiError::new(crate::ErrorCode::InvalidFrame, "x") };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["code"], "invalid_frame");
    }
}
