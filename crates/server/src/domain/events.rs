//! Sequence numbers and the event log. Every change to a channel takes the channel's next
//! sequence number inside the transaction that makes the change, and its frame is logged in
//! `channel_events` under that number; user-level events do the same with the user's sequence.
//! The row lock taken by `UPDATE ... RETURNING` serialises writers, so sequences are gapless and
//! strictly increasing; a rolled-back transaction gives its number back.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::Result;

pub type Tx<'a> = Transaction<'a, Postgres>;

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
