//! Messages: idempotent send with a client-generated id (the primary key is the guard: a resend
//! returns the stored message), keyset pages by channel sequence, and the wire form.

use std::collections::HashMap;

use chat_protocol::frames::ServerFrame;
use chat_protocol::requests::SendMessage;
use chat_protocol::{ErrorCode, Message, MAX_MESSAGE_TEXT_CHARS};
use chrono::NaiveDateTime;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::channels::{self, ChannelRow};
use super::users::{UserRow, USER_COLUMNS};
use super::{events, posting, validate};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::time::fmt;

/// Message types a client may send (`system` is the server's own).
const CLIENT_TYPES: [&str; 7] = ["text", "image", "video", "file", "silent", "pending", "draft"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub user_id: Uuid,
    pub parent_message_id: Option<Uuid>,
    pub quoted_message_id: Option<Uuid>,
    pub text: Option<String>,
    #[sqlx(rename = "type")]
    pub message_type: Option<String>,
    pub status: Option<String>,
    pub is_silent: Option<bool>,
    pub is_pinned: Option<bool>,
    pub is_edited: Option<bool>,
    pub is_deleted: Option<bool>,
    pub metadata: Option<Json<serde_json::Map<String, serde_json::Value>>>,
    pub attachments: Option<Json<Vec<serde_json::Value>>>,
    pub mentions: Option<Json<Vec<String>>>,
    pub channel_seq: Option<i64>,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

const MESSAGE_COLUMNS: &str = "id, channel_id, user_id, parent_message_id, quoted_message_id, text, \
     type, status, is_silent, is_pinned, is_edited, is_deleted, metadata, attachments, mentions, \
     channel_seq, created_at, updated_at";

impl MessageRow {
    pub fn to_wire(&self, cid: &str, author: Option<&UserRow>) -> Message {
        Message {
            id: self.id.to_string(),
            cid: cid.to_string(),
            channel_seq: self.channel_seq.unwrap_or(0).max(0) as u64,
            user_id: author.map(|u| u.external_id.clone()).unwrap_or_default(),
            user: author.map(UserRow::to_wire),
            text: self.text.clone().unwrap_or_default(),
            message_type: self.message_type.clone().unwrap_or_else(|| "text".into()),
            status: self.status.clone().unwrap_or_else(|| "sent".into()),
            parent_id: self.parent_message_id.map(|u| u.to_string()),
            quoted_message_id: self.quoted_message_id.map(|u| u.to_string()),
            attachments: self.attachments.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            mentions: self.mentions.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            metadata: self.metadata.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            is_silent: self.is_silent.unwrap_or(false),
            is_pinned: self.is_pinned.unwrap_or(false),
            is_edited: self.is_edited.unwrap_or(false),
            is_deleted: self.is_deleted.unwrap_or(false),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
        }
    }
}

fn validate_send(input: &SendMessage) -> Result<Uuid> {
    let id = validate::uuid("id", &input.id)?;
    if input.text.chars().count() > MAX_MESSAGE_TEXT_CHARS {
        return Err(Error::invalid(format!("text is longer than {MAX_MESSAGE_TEXT_CHARS} characters")));
    }
    if let Some(t) = &input.message_type {
        if !CLIENT_TYPES.contains(&t.as_str()) {
            return Err(Error::invalid(format!("type must be one of {}", CLIENT_TYPES.join(", "))));
        }
    }
    if input.attachments.len() > 30 {
        return Err(Error::invalid("at most 30 attachments"));
    }
    validate::max_json_bytes("attachments", &input.attachments, 64 * 1024)?;
    if input.mentions.len() > 100 {
        return Err(Error::invalid("at most 100 mentions"));
    }
    for m in &input.mentions {
        validate::external_id("mention", m)?;
    }
    if let Some(m) = &input.metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    if input.text.trim().is_empty() && input.attachments.is_empty() {
        return Err(Error::invalid("a message needs text or attachments"));
    }
    Ok(id)
}

/// Stores a message from `sender` in the channel and returns it with the `message.new` event to
/// publish. A resend of an id already stored by the same sender in the same channel returns the
/// stored message and no event; an id used elsewhere is `id_conflict`.
pub async fn send(
    db: &PgPool,
    redis: &mut redis::aio::ConnectionManager,
    sender: &UserRow,
    channel_type: &str,
    key: &str,
    input: &SendMessage,
) -> Result<(Message, Option<Outgoing>)> {
    let id = validate_send(input)?;
    let (channel, member) = channels::for_member(db, sender, channel_type, key).await?;
    if let Some(existing) = by_id(db, id).await? {
        return resend(existing, &channel, sender);
    }
    // Membership, ban, frozen, slow mode, cooldown (domain/posting.rs).
    let post = posting::check_can_post(redis, &channel, &member).await?;
    let parent = opt_uuid("parent_id", input.parent_id.as_deref())?;
    let quoted = opt_uuid("quoted_message_id", input.quoted_message_id.as_deref())?;
    for (field, m) in [("parent_id", parent), ("quoted_message_id", quoted)] {
        if let Some(m) = m {
            match by_id(db, m).await? {
                Some(r) if r.channel_id == channel.id => {}
                _ => return Err(Error::invalid(format!("{field} names no message of this channel"))),
            }
        }
    }
    let silent = input.silent || input.message_type.as_deref() == Some("silent");
    let mut tx = db.begin().await?;
    // The sequence number is taken first: the channel row lock it holds orders concurrent sends.
    let seq = events::next_channel_seq(&mut tx, channel.id).await?;
    let sql = format!(
        "INSERT INTO messages (id, channel_id, user_id, parent_message_id, quoted_message_id, text,
                               type, is_silent, metadata, attachments, mentions, channel_seq)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'text'), $8, COALESCE($9, '{{}}'::jsonb), $10, $11, $12)
         ON CONFLICT (id) DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query_as::<_, MessageRow>(&sql)
        .bind(id)
        .bind(channel.id)
        .bind(sender.id)
        .bind(parent)
        .bind(quoted)
        .bind(&input.text)
        .bind(&input.message_type)
        .bind(silent)
        .bind(input.metadata.clone().map(Json))
        .bind(Json(&input.attachments))
        .bind(Json(&input.mentions))
        .bind(seq)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        // A concurrent resend committed first: give the sequence number back.
        tx.rollback().await?;
        let existing = by_id(db, id)
            .await?
            .ok_or_else(|| Error::api(ErrorCode::Internal, "message vanished after conflict"))?;
        return resend(existing, &channel, sender);
    };
    sqlx::query("UPDATE channels SET last_message_at = $2 WHERE id = $1")
        .bind(channel.id)
        .bind(row.created_at)
        .execute(&mut *tx)
        .await?;
    if !silent && !post.shadowed {
        sqlx::query(
            "UPDATE channel_members SET unread_count = unread_count + 1
              WHERE channel_id = $1 AND user_id <> $2",
        )
        .bind(channel.id)
        .bind(sender.id)
        .execute(&mut *tx)
        .await?;
    }
    let cid = channel.cid();
    let message = row.to_wire(&cid, Some(sender));
    let frame = ServerFrame::MessageNew { cid, channel_seq: seq as u64, message: message.clone() };
    events::log_channel_event(&mut tx, channel.id, seq, "message.new", &serde_json::to_value(&frame)?).await?;
    let recipients = posting::after_post(&mut tx, &channel, sender, id, seq, &post).await?;
    tx.commit().await?;
    Ok((message, Some(Outgoing { recipients, frame })))
}

fn resend(existing: MessageRow, channel: &ChannelRow, sender: &UserRow) -> Result<(Message, Option<Outgoing>)> {
    if existing.channel_id != channel.id || existing.user_id != sender.id {
        return Err(Error::api(ErrorCode::IdConflict, "that message id is already used by another message"));
    }
    Ok((existing.to_wire(&channel.cid(), Some(sender)), None))
}

fn opt_uuid(field: &str, v: Option<&str>) -> Result<Option<Uuid>> {
    v.map(|s| validate::uuid(field, s)).transpose()
}

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<MessageRow>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
    Ok(sqlx::query_as::<_, MessageRow>(&sql).bind(id).fetch_optional(db).await?)
}

/// Which page of a channel's messages to read (by channel sequence, exclusive bounds).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub before_seq: Option<i64>,
    pub after_seq: Option<i64>,
}

/// A page of visible messages, oldest first: the latest `limit` before `before_seq`, or the
/// first `limit` after `after_seq`.
pub async fn page(db: &PgPool, channel: &ChannelRow, p: Page) -> Result<Vec<Message>> {
    page_for(db, channel, None, p).await
}

/// [`page`] as `viewer` sees it: without messages before the channel's truncation and without
/// other users' shadowed messages (posting.rs).
pub async fn page_for(db: &PgPool, channel: &ChannelRow, viewer: Option<Uuid>, p: Page) -> Result<Vec<Message>> {
    let limit = p.limit.clamp(1, 200);
    let base = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
          WHERE channel_id = $1 AND is_hard_deleted IS NOT TRUE AND channel_seq IS NOT NULL
            AND channel_seq > $4 AND (shadowed IS NOT TRUE OR user_id = $5)"
    );
    let mut rows = if let Some(after) = p.after_seq {
        let sql = format!("{base} AND channel_seq > $2 ORDER BY channel_seq ASC LIMIT $3");
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(channel.id)
            .bind(after)
            .bind(limit)
            .bind(channel.truncated_seq)
            .bind(viewer)
            .fetch_all(db)
            .await?
    } else {
        let before = p.before_seq.unwrap_or(i64::MAX);
        let sql = format!("{base} AND channel_seq < $2 ORDER BY channel_seq DESC LIMIT $3");
        let mut r = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(channel.id)
            .bind(before)
            .bind(limit)
            .bind(channel.truncated_seq)
            .bind(viewer)
            .fetch_all(db)
            .await?;
        r.reverse();
        r
    };
    rows.sort_by_key(|r| r.channel_seq);
    let authors = authors(db, &rows).await?;
    let cid = channel.cid();
    Ok(rows.iter().map(|r| r.to_wire(&cid, authors.get(&r.user_id))).collect())
}

async fn authors(db: &PgPool, rows: &[MessageRow]) -> Result<HashMap<Uuid, UserRow>> {
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    ids.sort();
    ids.dedup();
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1)");
    let users = sqlx::query_as::<_, UserRow>(&sql).bind(&ids).fetch_all(db).await?;
    Ok(users.into_iter().map(|u| (u.id, u)).collect())
}
