//! Pre-flight checks: a change the server would certainly refuse (posting in a frozen channel,
//! while banned, or inside the slow-mode / cooldown window) fails at once, before it is queued,
//! instead of sitting in the outbox until the network returns. The checks use what the client
//! state knows (the channel object, the caller's membership, when messages were last posted);
//! the server stays the authority: a change that passes here may still be refused there.

use chat_protocol::ErrorCode;

use crate::error::SdkError;
use crate::state::{ChannelState, Wire};
use crate::vecmap::VecMap;

/// When messages were last posted per channel, as this client saw them (client clock, ms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostTimes {
    own: VecMap<String, u64>,
    any: VecMap<String, u64>,
}

impl PostTimes {
    /// A message was posted in `cid` (by the caller when `own`) at `now_ms`.
    pub fn posted(&mut self, cid: &str, own: bool, now_ms: u64) {
        self.any.insert(cid.to_string(), now_ms);
        if own {
            self.own.insert(cid.to_string(), now_ms);
        }
    }
}

fn privileged<W: Wire>(membership: Option<&W>) -> bool {
    matches!(
        membership.and_then(|m| m.str_of("role")).as_deref(),
        Some("owner" | "admin" | "moderator")
    )
}

fn refuse(code: ErrorCode, message: &str) -> SdkError {
    let mut e = SdkError::new(code, 0, message);
    e.retryable = false;
    e
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
    let info = channel.channel.as_ref();
    let window = |key: &str| info.and_then(|c| c.u64_of(key)).unwrap_or(0) * 1000;
    let cid = channel.cid.as_str();
    let waiting = |last: Option<&u64>, window: u64| {
        last.is_some_and(|t| window > 0 && now_ms < t + window)
    };
    if waiting(times.own.get(cid), window("slow_mode"))
        || waiting(times.any.get(cid), window("cooldown"))
    {
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
    fn slow_mode_counts_own_posts_and_exempts_moderators() {
        let c = channel(json!({"slow_mode": 10}), json!({"role": "member"}));
        let mut t = PostTimes::default();
        t.posted("t:c", false, 1_000);
        assert!(check_post(&c, &t, 2_000, NOW).is_ok(), "others' posts don't count");
        t.posted("t:c", true, 1_000);
        assert_eq!(
            check_post(&c, &t, 10_999, NOW).unwrap_err().code,
            ErrorCode::SlowMode
        );
        assert!(check_post(&c, &t, 11_000, NOW).is_ok());
        let m = channel(json!({"slow_mode": 10}), json!({"role": "moderator"}));
        assert!(check_post(&m, &t, 2_000, NOW).is_ok());
    }

    #[test]
    fn cooldown_counts_everyones_posts() {
        let c = channel(json!({"cooldown": 5}), json!({"role": "member"}));
        let mut t = PostTimes::default();
        t.posted("t:c", false, 1_000);
        assert!(check_post(&c, &t, 3_000, NOW).is_err());
        assert!(check_post(&c, &t, 6_000, NOW).is_ok());
    }
}
