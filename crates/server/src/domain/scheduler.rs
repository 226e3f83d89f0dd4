//! Delivery of scheduled messages. Every node polls for due messages (stored with
//! `scheduled_for` and no sequence number) and delivers each in its own transaction, picked with
//! `FOR UPDATE SKIP LOCKED` so several nodes never deliver one twice. The rows are in Postgres, so
//! a restart loses nothing: what came due while no node ran is delivered at the next poll.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::messages::{self, MessageRow, MESSAGE_COLUMNS};
use super::{channels, users};
use crate::error::Result;
use crate::fanout::Hub;

/// Delivers what is due now; returns how many messages it delivered.
pub async fn deliver_due(db: &PgPool, hub: &Hub) -> Result<usize> {
    let mut delivered = 0;
    loop {
        let mut tx = db.begin().await?;
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
              WHERE channel_seq IS NULL AND scheduled_for IS NOT NULL AND scheduled_for <= NOW()
                AND is_deleted IS NOT TRUE
              ORDER BY scheduled_for LIMIT 1 FOR UPDATE SKIP LOCKED"
        );
        let Some(row) = sqlx::query_as::<_, MessageRow>(&sql).fetch_optional(&mut *tx).await? else {
            tx.rollback().await?;
            return Ok(delivered);
        };
        let (channel_app,): (Uuid,) =
            sqlx::query_as("SELECT app_id FROM channels WHERE id = $1").bind(row.channel_id).fetch_one(&mut *tx).await?;
        let channel = channels::by_id(&mut *tx, channel_app, row.channel_id).await?;
        let sender = sqlx::query_as::<_, users::UserRow>(&format!(
            "SELECT {} FROM users WHERE id = $1",
            users::USER_COLUMNS
        ))
        .bind(row.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (Some(channel), Some(sender)) = (channel, sender) else {
            // The channel or the sender is gone: the message can never be delivered.
            sqlx::query("UPDATE messages SET is_deleted = true, deleted_at = NOW() WHERE id = $1")
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            continue;
        };
        let (_, events) = messages::deliver(&mut tx, &channel, row, &sender).await?;
        tx.commit().await?;
        hub.publish(&events).await;
        delivered += 1;
    }
}

/// Polls every `every` until the process ends.
pub fn spawn(db: PgPool, hub: Hub, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = deliver_due(&db, &hub).await {
                tracing::warn!(error = %e, "delivering scheduled messages failed");
            }
        }
    })
}
