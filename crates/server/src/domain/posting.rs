//! Who may post in a channel right now, and what a post changes besides the message itself.
//! The message send path calls [`check_can_post`] before it stores anything and [`after_post`]
//! inside its transaction.
//!
//! Slow mode and cooldown live in Redis: `ratelimit:channel:{channel uuid}:{user uuid}` (per
//! user, TTL `slow_mode`) and `ratelimit:channel:{channel uuid}` (channel-wide, TTL `cooldown`).
//! The internal channel UUID stands for the seed's `{cid}` because a `type:id` is only unique
//! inside one application. Keys are claimed with `SET NX EX` in the check, so two concurrent
//! sends cannot both pass; a send that then fails for another reason still spends its window.

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

/// Refuses a post with a stable code: not a member (`forbidden`), invitation not accepted
/// (`forbidden`), banned (`banned_from_channel`, unless the ban expired), frozen
/// (`channel_frozen`), slow mode or cooldown (`slow_mode` with `retry_after`; owners, admins and
/// moderators are exempt).
pub async fn check_can_post(redis: &mut ConnectionManager, channel: &ChannelRow, member: &MemberRow) -> Result<()> {
    if member.invite_rejected_at.is_some() {
        return Err(Error::forbidden("you are not a member of this channel"));
    }
    if member.invite_pending() {
        return Err(Error::forbidden("accept the invitation before posting"));
    }
    if member.banned_now() {
        let until = member.ban_expires_at.map(|t| format!(" until {}", crate::time::fmt(t))).unwrap_or_default();
        return Err(Error::api(ErrorCode::BannedFromChannel, format!("you are banned from this channel{until}")));
    }
    if channel.frozen() {
        return Err(Error::api(ErrorCode::ChannelFrozen, "the channel is frozen"));
    }
    if Role::of(member) < Role::Moderator {
        let slow = channel.slow_mode.unwrap_or(0).max(0) as u64;
        let cool = channel.cooldown.unwrap_or(0).max(0) as u64;
        let user_key = slow_mode_key(channel.id, member.user.id);
        if slow > 0 {
            claim(redis, &user_key, slow, "slow mode is on").await?;
        }
        if cool > 0 {
            if let Err(e) = claim(redis, &cooldown_key(channel.id), cool, "the channel cooldown is on").await {
                if slow > 0 {
                    let _: Result<(), _> = redis::cmd("DEL").arg(&user_key).query_async(redis).await;
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn claim(redis: &mut ConnectionManager, key: &str, secs: u64, what: &str) -> Result<()> {
    let set: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(crate::time::now_unix())
        .arg("NX")
        .arg("EX")
        .arg(secs)
        .query_async(redis)
        .await?;
    if set.is_some() {
        return Ok(());
    }
    let ttl: i64 = redis::cmd("TTL").arg(key).query_async(redis).await?;
    let wait = ttl.clamp(1, i64::from(u32::MAX)) as u32;
    let mut err = ApiError::new(ErrorCode::SlowMode, format!("{what}: wait {wait} s before posting again"));
    err.retry_after = Some(wait);
    Err(Error::Api(err))
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
