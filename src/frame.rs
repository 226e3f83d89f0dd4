//! The SDK's light view of an incoming server frame: the `type` tag plus the few fields that
//! route it (cid, sequence numbers, connection data, error). The full frame stays a JS object
//! for listeners; only this header is deserialized, which keeps parsing cheap in wasm.

use chat_protocol::ApiError;
use serde::Deserialize;

use crate::connection::IncomingFrame;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FrameHeader {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub cid: Option<String>,
    #[serde(default)]
    pub channel_seq: Option<u64>,
    #[serde(default)]
    pub user_seq: Option<u64>,
    #[serde(default)]
    pub health_interval_ms: Option<u32>,
    #[serde(default)]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub error: Option<ApiError>,
    /// `notification.added_to_channel` carries the channel instead of a top-level cid.
    #[serde(default)]
    pub channel: Option<ChannelRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChannelRef {
    pub cid: String,
}

impl FrameHeader {
    /// The channel this frame is about, if any.
    pub fn channel_cid(&self) -> Option<&str> {
        self.cid
            .as_deref()
            .or(self.channel.as_ref().map(|c| c.cid.as_str()))
    }

    /// The channel position `(cid, channel_seq)` of a channel event.
    pub fn channel_position(&self) -> Option<(&str, u64)> {
        Some((self.cid.as_deref()?, self.channel_seq?))
    }

    /// What the connection state machine needs to know about this frame.
    pub fn to_incoming(&self) -> IncomingFrame {
        match (self.kind.as_str(), &self.error) {
            ("connection.ok", _) => IncomingFrame::ConnectionOk {
                health_interval_ms: self.health_interval_ms.unwrap_or(10_000),
            },
            ("health.check", _) => IncomingFrame::HealthCheck,
            ("error", Some(error)) => IncomingFrame::Error(error.clone()),
            _ => IncomingFrame::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::ErrorCode;

    fn parse(json: &str) -> FrameHeader {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_channel_events_and_ignores_the_payload() {
        let h = parse(
            r#"{"type":"message.new","cid":"messaging:a","channel_seq":9,
                "message":{"id":"x","text":"hi","nested":{"deep":[1,2]}}}"#,
        );
        assert_eq!(h.kind, "message.new");
        assert_eq!(h.channel_position(), Some(("messaging:a", 9)));
        assert_eq!(h.to_incoming(), IncomingFrame::Other);
    }

    #[test]
    fn added_to_channel_is_routed_by_its_channels_cid() {
        let h = parse(
            r#"{"type":"notification.added_to_channel","user_seq":3,
                "channel":{"cid":"messaging:b","id":"b","type":"messaging"}}"#,
        );
        assert_eq!(h.channel_cid(), Some("messaging:b"));
        assert_eq!(h.channel_position(), None);
        assert_eq!(h.user_seq, Some(3));
    }

    #[test]
    fn connection_frames_feed_the_state_machine() {
        let ok = parse(
            r#"{"type":"connection.ok","connection_id":"c1","protocol":1,
                "health_interval_ms":5000,"me":{"id":"alice"}}"#,
        );
        assert_eq!(
            ok.to_incoming(),
            IncomingFrame::ConnectionOk {
                health_interval_ms: 5000
            }
        );
        assert_eq!(
            parse(r#"{"type":"health.check","connection_id":"c1"}"#).to_incoming(),
            IncomingFrame::HealthCheck
        );
        let err = parse(
            r#"{"type":"error","error":{"code":"unknown_api_key","message":"no","retryable":false}}"#,
        );
        let IncomingFrame::Error(e) = err.to_incoming() else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::UnknownApiKey);
    }
}
