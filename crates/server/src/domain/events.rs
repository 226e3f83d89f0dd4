//! Sequence numbers and the event log. Every change to a channel takes the channel's next
//! sequence number inside the transaction that makes the change, and its frame is logged in
//! `channel_events` under that number; user-level events do the same with the user's sequence.
//! The row lock taken by `UPDATE ... RETURNING` serialises writers, so sequences are gapless and
//! strictly increasing; a rolled-back transaction gives its number back.

use chat_protocol::ServerFrame;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::Result;
use crate::fanout::Outgoing;

pub type Tx<'a> = Transaction<'a, Postgres>;

/// Takes the channel's row lock up front. Lock order everywhere is channel row, then member and
/// message rows, then user rows: a change that will emit a channel event and also locks other
/// rows of the channel takes this first, so it can never deadlock with a send.
pub async fn lock_channel(tx: &mut Tx<'_>, channel_id: Uuid) -> Result<()> {
    sqlx::query("SELECT 1 FROM channels WHERE id = $1 FOR UPDATE").bind(channel_id).execute(&mut **tx).await?;
    Ok(())
}

/// Takes the channel's next sequence number (and marks the channel updated).
pub async fn next_channel_seq(tx: &mut Tx<'_>, channel_id: Uuid) -> Result<i64> {
    let (seq,): (i64,) = sqlx::query_as(
        "UPDATE channels SET last_seq = last_seq + 1, updated_at = NOW() WHERE id = $1
         RETURNING last_seq",
    )
    .bind(channel_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(seq)
}

pub async fn log_channel_event(
    tx: &mut Tx<'_>,
    channel_id: Uuid,
    seq: i64,
    event_type: &str,
    frame: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO channel_events (channel_id, seq, event_type, payload) VALUES ($1, $2, $3, $4)",
    )
    .bind(channel_id)
    .bind(seq)
    .bind(event_type)
    .bind(frame)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the user's next sequence number for a user-level event.
pub async fn next_user_seq(tx: &mut Tx<'_>, user_id: Uuid) -> Result<i64> {
    let (seq,): (i64,) =
        sqlx::query_as("UPDATE users SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(seq)
}

pub async fn log_user_event(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    seq: i64,
    event_type: &str,
    frame: &serde_json::Value,
) -> Result<()> {
    sqlx::query("INSERT INTO user_events (user_id, seq, event_type, payload) VALUES ($1, $2, $3, $4)")
        .bind(user_id)
        .bind(seq)
        .bind(event_type)
        .bind(frame)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a channel event inside `tx`: takes the channel's next sequence number, builds the
/// frame with it, logs the frame, and returns it addressed to the channel's current recipients
/// (members who are not banned). Publish the result after the commit.
pub async fn emit_channel(
    tx: &mut Tx<'_>,
    channel_id: Uuid,
    build: impl FnOnce(u64) -> ServerFrame,
) -> Result<Outgoing> {
    let seq = next_channel_seq(tx, channel_id).await?;
    let frame = build(seq as u64);
    log_channel_event(tx, channel_id, seq, frame.kind(), &serde_json::to_value(&frame)?).await?;
    let recipients = super::channels::recipient_ids(&mut **tx, channel_id).await?;
    Ok(Outgoing { recipients, frame, stream: Some(channel_id) })
}

/// Records a user-level event inside `tx` under the user's next sequence number and returns it
/// addressed to that user. Publish the result after the commit.
pub async fn emit_user(tx: &mut Tx<'_>, user_id: Uuid, build: impl FnOnce(u64) -> ServerFrame) -> Result<Outgoing> {
    let seq = next_user_seq(tx, user_id).await?;
    let frame = build(seq as u64);
    log_user_event(tx, user_id, seq, frame.kind(), &serde_json::to_value(&frame)?).await?;
    Ok(Outgoing { recipients: vec![user_id], frame, stream: None })
}
