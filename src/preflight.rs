//! Pre-flight checks: a change the server would certainly refuse (posting in a frozen channel,
//! while banned, or inside the slow-mode / cooldown window) fails at once, before it is queued,
//! instead of sitting in the outbox until the network returns. The checks use what the client
//! state knows (the channel object, the caller's membership, when messages were last posted);
//! the server stays the authority: a change that passes here may still be refused there.

use chat_protocol::ErrorCode;

use crate::error::SdkError;
use crate::state::{ChannelState, Wire};
use crate::vecmap::VecMap;

/// Until when this client's own posts keep slow mode (per user) and the cooldown (per
/// channel) in force, per channel (client clock, ms). A post starts the windows the channel had
/// at that moment, as on the server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostTimes {
    own_until: VecMap<String, u64>,
    any_until: VecMap<String, u64>,
}

impl PostTimes {
    /// The caller posted in `channel` at `now_ms`.
    pub fn posted<W: Wire>(&mut self, channel: &ChannelState<W>, now_ms: u64) {
        let info = channel.channel.as_ref();
        let window = |key: &str| info.and_then(|c| c.u64_of(key)).unwrap_or(0) * 1000;
        let cid = channel.cid.clone();
        self.own_until.insert(cid.clone(), now_ms + window("slow_mode"));
        self.any_until.insert(cid, now_ms + window("cooldown"));
    }
}

fn privileged<W: Wire>(membership: Option<&W>) -> bool {
    matches!(
        membership.and_then(|m| m.str_of("role")).as_deref(),
        Some("owner" | "admin" | "moderator")
    )
}

/// The error the server would answer with (same code, status and retryable verdict).
fn refuse(code: ErrorCode, message: &str) -> SdkError {
    SdkError::new(code, code.http_status(), message)
}

/// Whether the caller may change anything in the channel (edit, delete, react, mark read):
/// not while it is frozen or the caller is banned.
pub fn check_change<W: Wire>(channel: &ChannelState<W>, now_iso: &str) -> Result<(), SdkError> {
    if channel.channel.as_ref().is_some_and(|c| c.flag("is_frozen")) {
        return Err(refuse(ErrorCode::ChannelFrozen, "the channel is frozen"));
    }
    if let Some(m) = channel.membership.as_ref().filter(|m| m.flag("banned")) {
        // RFC 3339 UTC instants compare as strings.
        let in_force = m.str_of("ban_expires_at").is_none_or(|t| t.as_str() > now_iso);
        if in_force {
            return Err(refuse(
                ErrorCode::BannedFromChannel,
                "you are banned from this channel",
            ));
        }
    }
    Ok(())
}

/// Whether the caller may post a message now: [`check_change`] plus slow mode (per user) and
/// the channel cooldown, which owners, admins and moderators are exempt from.
pub fn check_post<W: Wire>(
    channel: &ChannelState<W>,
    times: &PostTimes,
    now_ms: u64,
    now_iso: &str,
) -> Result<(), SdkError> {
    check_change(channel, now_iso)?;
    if privileged(channel.membership.as_ref()) {
        return Ok(());
    }
    let cid = channel.cid.as_str();
    let running = |until: Option<&u64>| until.is_some_and(|t| now_ms < *t);
    if running(times.own_until.get(cid)) || running(times.any_until.get(cid)) {
        return Err(refuse(
            ErrorCode::SlowMode,
            "slow mode: wait before posting again",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn channel(info: Value, membership: Value) -> ChannelState<Value> {
        let mut c = ChannelState::new("t:c");
        c.channel = Some(info);
        c.membership = Some(membership);
        c
    }

    const NOW: &str = "2026-06-01T00:00:00Z";

    #[test]
    fn frozen_and_banned_refuse_every_change() {
        let frozen = channel(json!({"is_frozen": true}), json!({"role": "owner"}));
        let e = check_change(&frozen, NOW).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChannelFrozen);
        assert!(!e.retryable);
        let banned = channel(json!({}), json!({"role": "member", "banned": true}));
        assert_eq!(
            check_change(&banned, NOW).unwrap_err().code,
            ErrorCode::BannedFromChannel
        );
        let expired = channel(
            json!({}),
            json!({"banned": true, "ban_expires_at": "2026-01-01T00:00:00Z"}),
        );
        assert!(check_change(&expired, NOW).is_ok());
    }

    #[test]
    fn slow_mode_runs_from_own_posts_made_while_it_was_on() {
        let off = channel(json!({"slow_mode": 0}), json!({"role": "member"}));
        let on = channel(json!({"slow_mode": 10}), json!({"role": "member"}));
        let mut t = PostTimes::default();
        t.posted(&off, 1_000);
        assert!(check_post(&on, &t, 2_000, NOW).is_ok(), "posted before slow mode");
        t.posted(&on, 1_000);
        let e = check_post(&on, &t, 10_999, NOW).unwrap_err();
        assert_eq!((e.code, e.status, e.retryable), (ErrorCode::SlowMode, 429, true));
        assert!(check_post(&on, &t, 11_000, NOW).is_ok());
        let m = channel(json!({"slow_mode": 10}), json!({"role": "moderator"}));
        assert!(check_post(&m, &t, 2_000, NOW).is_ok());
    }

    #[test]
    fn cooldown_runs_from_own_posts() {
        let c = channel(json!({"cooldown": 5}), json!({"role": "member"}));
        let mut t = PostTimes::default();
        t.posted(&c, 1_000);
        assert!(check_post(&c, &t, 3_000, NOW).is_err());
        assert!(check_post(&c, &t, 6_000, NOW).is_ok());
    }
}
