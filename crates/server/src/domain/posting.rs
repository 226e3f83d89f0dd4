//! Who may post in a channel right now, and what a post changes besides the message itself.
//! The message send path calls [`check_can_post`] before it stores anything and [`after_post`]
//! inside its transaction.
//!
//! Slow mode and cooldown live in Redis: `ratelimit:channel:{channel uuid}:{user uuid}` (per
//! user, TTL `slow_mode`) and `ratelimit:channel:{channel uuid}` (channel-wide, TTL `cooldown`).
//! The internal channel UUID stands for the seed's `{cid}` because a `type:id` is only unique
//! inside one application. Keys are claimed with `SET NX EX` after every other check of the send
//! passed, so two concurrent sends cannot both pass, and a refused send spends no window; a send
//! that then fails to be stored gives its window back.

use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::channels::{self, ChannelRow, MemberRow};
use super::events::Tx;
use super::permissions::Role;
use super::users::UserRow;
use crate::error::{Error, Result};
use chat_protocol::{ApiError, ErrorCode};

/// SQL condition on `messages` for list queries binding `$4` = the channel's truncated_seq and
/// `$5` = the viewer: hides truncated messages and other users' shadowed messages.
pub const VISIBLE_TO_VIEWER: &str = "channel_seq > $4 AND (shadowed IS NOT TRUE OR user_id = $5)";

pub fn slow_mode_key(channel_id: Uuid, user_id: Uuid) -> String {
    format!("ratelimit:channel:{channel_id}:{user_id}")
}

pub fn cooldown_key(channel_id: Uuid) -> String {
    format!("ratelimit:channel:{channel_id}")
}

/// What decides whether a member may post (from a [`MemberRow`], or read by the send batch).
#[derive(Debug, Clone)]
pub struct PostingFacts {
    pub invite_pending: bool,
    pub banned_now: bool,
    pub ban_expires_at: Option<chrono::NaiveDateTime>,
    pub role: Role,
}

impl PostingFacts {
    pub fn of(member: &MemberRow) -> PostingFacts {
        PostingFacts {
            invite_pending: member.invite_pending(),
            banned_now: member.banned_now(),
            ban_expires_at: member.ban_expires_at,
            role: Role::of(member),
        }
    }

    /// Why this member may not post in a channel (frozen or not) now, if so: invitation not
    /// accepted (`forbidden`), banned (`banned_from_channel`), frozen (`channel_frozen`).
    pub fn refusal(&self, frozen: bool) -> Option<Error> {
        if self.invite_pending {
            return Some(Error::forbidden("accept the invitation before posting"));
        }
        if self.banned_now {
            let until = self.ban_expires_at.map(|t| format!(" until {}", crate::time::fmt(t))).unwrap_or_default();
            return Some(Error::api(ErrorCode::BannedFromChannel, format!("you are banned from this channel{until}")));
        }
        if frozen {
            return Some(Error::api(ErrorCode::ChannelFrozen, "the channel is frozen"));
        }
        None
    }

    /// The slow-mode and cooldown windows a post by this member opens (owners, admins and
    /// moderators are exempt).
    pub fn windows(&self, channel_id: Uuid, user_id: Uuid, slow_mode: Option<i32>, cooldown: Option<i32>) -> Windows {
        let mut w = Windows::default();
        if self.role < Role::Moderator {
            let slow = slow_mode.unwrap_or(0).max(0) as u64;
            let cool = cooldown.unwrap_or(0).max(0) as u64;
            if slow > 0 {
                w.user = Some((slow_mode_key(channel_id, user_id), slow));
            }
            if cool > 0 {
                w.channel = Some((cooldown_key(channel_id), cool));
            }
        }
        w
    }
}

/// The Redis windows (key, seconds) a post must claim: the poster's slow mode and the
/// channel-wide cooldown.
#[derive(Debug, Clone, Default)]
pub struct Windows {
    pub user: Option<(String, u64)>,
    pub channel: Option<(String, u64)>,
}

impl Windows {
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.channel.is_none()
    }

    /// The keys this post holds once claimed (to give back if it is not stored after all).
    pub fn keys(&self) -> Vec<String> {
        self.user.iter().chain(self.channel.iter()).map(|(k, _)| k.clone()).collect()
    }
}

/// Refuses a post with a stable code: not a member (`forbidden`), invitation not accepted
/// (`forbidden`), banned (`banned_from_channel`, unless the ban expired), frozen
/// (`channel_frozen`). Slow mode and cooldown are claimed separately ([`claim`]), after every
/// other check of the send passed.
pub fn check_can_post(channel: &ChannelRow, member: &MemberRow) -> Result<()> {
    if member.invite_rejected_at.is_some() {
        return Err(Error::forbidden("you are not a member of this channel"));
    }
    match PostingFacts::of(member).refusal(channel.frozen()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Claims the windows of several posts, in order, in one Redis round trip: per post, atomically,
/// either every window it needs is free and is taken (`SET EX`), or none is taken and the post
/// gets `slow_mode` with `retry_after`, so two concurrent posts cannot both pass. When Redis
/// cannot be reached, posts are let through (fail open, logged): slow mode paces a channel, it
/// does not protect anything.
pub async fn claim(redis: &mut ConnectionManager, posts: &[&Windows]) -> Vec<Result<()>> {
    const CLAIM: &str = "for i, k in ipairs(KEYS) do
           local ttl = redis.call('TTL', k)
           if ttl ~= -2 then return {i, ttl} end
         end
         for i, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1], 'EX', ARGV[i + 1]) end
         return {0, 0}";
    let mut pipe = redis::pipe();
    let now = crate::time::now_unix();
    for w in posts {
        let windows: Vec<&(String, u64)> = w.user.iter().chain(w.channel.iter()).collect();
        let cmd = pipe.cmd("EVAL").arg(CLAIM).arg(windows.len());
        for (key, _) in &windows {
            cmd.arg(key);
        }
        cmd.arg(now);
        for (_, secs) in &windows {
            cmd.arg(*secs);
        }
    }
    let answers: Vec<(i64, i64)> = match pipe.query_async(redis).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "redis unavailable: slow mode not enforced for these posts");
            return posts.iter().map(|_| Ok(())).collect();
        }
    };
    posts
        .iter()
        .zip(answers)
        .map(|(w, (refused_by, ttl))| {
            if refused_by == 0 {
                return Ok(());
            }
            let what = if refused_by == 1 && w.user.is_some() { "slow mode is on" } else { "the channel cooldown is on" };
            let wait = ttl.clamp(1, i64::from(u32::MAX)) as u32;
            let mut err = ApiError::new(ErrorCode::SlowMode, format!("{what}: wait {wait} s before posting again"));
            err.retry_after = Some(wait);
            Err(Error::Api(err))
        })
        .collect()
}

/// Gives claimed windows back (a post that was not stored after all). Best effort.
pub async fn release(redis: &mut ConnectionManager, keys: &[String]) {
    if keys.is_empty() {
        return;
    }
    let res: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query_async(redis).await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not give slow-mode windows back");
    }
}

/// Whether `user`'s messages in the channel are shadowed now (shadow ban in force), read inside
/// the delivering transaction (also for scheduled messages).
pub async fn shadowed(tx: &mut Tx<'_>, channel_id: Uuid, user_id: Uuid) -> Result<bool> {
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT is_shadow_banned IS TRUE AND (ban_expires_at IS NULL OR ban_expires_at > NOW())
           FROM channel_members WHERE channel_id = $1 AND user_id = $2",
    )
    .bind(channel_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some_and(|(s,)| s))
}

/// Inside the send transaction, after the message row and its event are written: a shadowed
/// message is marked (row and event log) and goes to its sender only; any other message unhides
/// the channel for every member who hid it. Returns the recipients of `message.new`.
pub async fn after_post(
    tx: &mut Tx<'_>,
    channel: &ChannelRow,
    sender: &UserRow,
    message_id: Uuid,
    seq: i64,
    shadowed: bool,
) -> Result<Vec<Uuid>> {
    if shadowed {
        sqlx::query("UPDATE messages SET shadowed = true WHERE id = $1").bind(message_id).execute(&mut **tx).await?;
        sqlx::query("UPDATE channel_events SET only_user_id = $3 WHERE channel_id = $1 AND seq = $2")
            .bind(channel.id)
            .bind(seq)
            .bind(sender.id)
            .execute(&mut **tx)
            .await?;
        return Ok(vec![sender.id]);
    }
    sqlx::query("UPDATE channel_members SET is_hidden = false WHERE channel_id = $1 AND is_hidden IS TRUE")
        .bind(channel.id)
        .execute(&mut **tx)
        .await?;
    channels::recipient_ids(&mut **tx, channel.id).await
}

/// Whether a stored message is invisible to `viewer`: truncated away, or shadowed and not theirs.
pub async fn hidden_from(db: &sqlx::PgPool, message_id: Uuid, channel: &ChannelRow, viewer: Uuid) -> Result<bool> {
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT (shadowed AND user_id <> $2) OR (channel_seq IS NOT NULL AND channel_seq <= $3)
           FROM messages WHERE id = $1",
    )
    .bind(message_id)
    .bind(viewer)
    .bind(channel.truncated_seq)
    .fetch_optional(db)
    .await?;
    Ok(row.is_some_and(|(h,)| h))
}
