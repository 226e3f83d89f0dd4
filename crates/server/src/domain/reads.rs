//! Read state: mark a channel read (entirely or up to a message), mark unread from a message,
//! and unread counts per channel and in total. The read position is a channel sequence number
//! (`channel_members.last_read_seq`); unread counts are recomputed from it exactly, counting
//! other members' delivered, non-silent, non-deleted main-list messages. Each change is a
//! `message.read` channel event (so other members see receipts and the user's other devices
//! follow), exactly-once by mutation id; mark read also records a `message_reads` receipt.

use chat_protocol::frames::ServerFrame;
use chat_protocol::model::ReadState;
use chat_protocol::requests::{MarkRead, ReadResponse, UnreadResponse};
use chrono::NaiveDateTime;
use sqlx::PgPool;
use uuid::Uuid;

use super::channels::{self, ChannelRow};
use super::mutations::{self, Claim};
use super::users::UserRow;
use super::{events, messages, validate};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::time::fmt_opt;

/// Messages counted as unread for `user` after sequence `after`.
const UNREAD_SQL: &str = "SELECT COUNT(*) FROM messages WHERE channel_id = $1 AND channel_seq > $2
    AND user_id <> $3 AND parent_message_id IS NULL AND is_silent IS NOT TRUE
    AND is_deleted IS NOT TRUE AND channel_seq IS NOT NULL";

async fn target(db: &PgPool, channel: &ChannelRow, message_id: Option<&str>) -> Result<(i64, Option<Uuid>)> {
    match message_id {
        None => Ok((channel.last_seq, None)),
        Some(id) => {
            let id = validate::uuid("message_id", id)?;
            let row = messages::by_id(db, id).await?;
            match row {
                Some(r) if r.channel_id == channel.id && r.channel_seq.is_some() => {
                    Ok((r.channel_seq.unwrap_or(0), Some(r.id)))
                }
                _ => Err(Error::invalid("message_id names no message of this channel")),
            }
        }
    }
}

/// Where a read position moves: to `seq` (through `message`), only forward (mark read) or to
/// exactly `seq` (mark unread).
struct Move<'a> {
    kind: &'a str,
    mutation_id: Option<&'a str>,
    seq: i64,
    message: Option<Uuid>,
    forward_only: bool,
}

/// Moves the caller's read position and emits `message.read`.
async fn set_position(
    db: &PgPool,
    caller: &UserRow,
    channel: &ChannelRow,
    mv: Move<'_>,
) -> Result<(ReadResponse, Vec<Outgoing>)> {
    let Move { kind, mutation_id, seq, message, forward_only } = mv;
    let mut tx = db.begin().await?;
    let claim = mutations::claim(&mut tx, caller.app_id, caller.id, kind, mutation_id).await?;
    if let Claim::Done(result) = claim {
        tx.rollback().await?;
        return Ok((serde_json::from_value(result)?, Vec::new()));
    }
    events::lock_channel(&mut tx, channel.id).await?;
    let (current,): (i64,) =
        sqlx::query_as("SELECT last_read_seq FROM channel_members WHERE channel_id = $1 AND user_id = $2 FOR UPDATE")
            .bind(channel.id)
            .bind(caller.id)
            .fetch_one(&mut *tx)
            .await?;
    let new_seq = if forward_only { current.max(seq) } else { seq };
    let (unread,): (i64,) =
        sqlx::query_as(UNREAD_SQL).bind(channel.id).bind(new_seq).bind(caller.id).fetch_one(&mut *tx).await?;
    let (at,): (Option<NaiveDateTime>,) = sqlx::query_as(
        "UPDATE channel_members SET last_read_seq = $3, unread_count = $4, last_read_at = NOW()
          WHERE channel_id = $1 AND user_id = $2 RETURNING last_read_at",
    )
    .bind(channel.id)
    .bind(caller.id)
    .bind(new_seq)
    .bind(unread as i32)
    .fetch_one(&mut *tx)
    .await?;
    if let (Some(m), true) = (message, forward_only) {
        sqlx::query(
            "INSERT INTO message_reads (message_id, user_id) VALUES ($1, $2)
             ON CONFLICT (message_id, user_id) DO UPDATE SET read_at = NOW()",
        )
        .bind(m)
        .bind(caller.id)
        .execute(&mut *tx)
        .await?;
    }
    let read = ReadState {
        cid: channel.cid(),
        user_id: caller.external_id.clone(),
        last_read_seq: new_seq.max(0) as u64,
        last_read_at: fmt_opt(at),
        last_read_message_id: message.map(|m| m.to_string()),
        unread_count: unread.max(0) as u32,
    };
    let r = read.clone();
    let cid = channel.cid();
    let ev = events::emit_channel(&mut tx, channel.id, |seq| ServerFrame::MessageRead { cid, channel_seq: seq, read: r })
        .await?;
    let resp = ReadResponse { read };
    mutations::finish(&mut tx, &claim, &resp).await?;
    tx.commit().await?;
    Ok((resp, vec![ev]))
}

pub async fn mark_read(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &MarkRead,
) -> Result<(ReadResponse, Vec<Outgoing>)> {
    let (channel, _) = channels::for_member(db, caller, channel_type, key).await?;
    let (seq, message) = target(db, &channel, input.message_id.as_deref()).await?;
    let mv = Move { kind: "channel.read", mutation_id: input.mutation_id.as_deref(), seq, message, forward_only: true };
    set_position(db, caller, &channel, mv).await
}

pub async fn mark_unread(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &MarkRead,
) -> Result<(ReadResponse, Vec<Outgoing>)> {
    let (channel, _) = channels::for_member(db, caller, channel_type, key).await?;
    let Some(message_id) = input.message_id.as_deref() else {
        return Err(Error::invalid("mark unread needs message_id: the first unread message"));
    };
    let (seq, message) = target(db, &channel, Some(message_id)).await?;
    let mv = Move {
        kind: "channel.unread",
        mutation_id: input.mutation_id.as_deref(),
        seq: seq - 1,
        message,
        forward_only: false,
    };
    set_position(db, caller, &channel, mv).await
}

/// The caller's unread counts: every channel with unread messages, and the total over channels
/// that are not muted (in a multi-tenant application, channels of the caller's team only).
pub async fn unread(db: &PgPool, caller: &UserRow) -> Result<UnreadResponse> {
    let sql = format!(
        "SELECT c.type, c.channel_key, c.id, m.last_read_seq, m.last_read_at, m.unread_count, m.is_muted
           FROM channel_members m JOIN channels c ON c.id = m.channel_id
          WHERE m.user_id = $1 AND m.unread_count > 0 AND m.invite_rejected_at IS NULL
            AND c.deleted_at IS NULL
            AND (c.team_id IS NOT DISTINCT FROM $2::uuid OR NOT {})
          ORDER BY c.last_message_at DESC NULLS LAST LIMIT 500",
        super::users::multi_tenant_sql("$3::uuid")
    );
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, Option<String>, Uuid, i64, Option<NaiveDateTime>, Option<i32>, Option<bool>)> =
        sqlx::query_as(&sql).bind(caller.id).bind(caller.team_id).bind(caller.app_id).fetch_all(db).await?;
    let mut total = 0u64;
    let mut channels = Vec::with_capacity(rows.len());
    for (t, key, id, seq, at, count, muted) in rows {
        let count = count.unwrap_or(0).max(0) as u32;
        if !muted.unwrap_or(false) {
            total += count as u64;
        }
        channels.push(ReadState {
            cid: chat_protocol::cid(&t, &key.unwrap_or_else(|| id.to_string())),
            user_id: caller.external_id.clone(),
            last_read_seq: seq.max(0) as u64,
            last_read_at: fmt_opt(at),
            last_read_message_id: None,
            unread_count: count,
        });
    }
    Ok(UnreadResponse { total_unread_count: total, unread_channels: channels.len() as u32, channels })
}
