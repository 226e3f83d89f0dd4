//! Messages: the row and its wire form, idempotent send with a client-generated id (the primary
//! key is the guard: a resend returns the stored message), and delivery (sequence number, unread
//! counts, thread counts, mentions) shared by send and the scheduler.

use std::collections::HashMap;

use chat_protocol::frames::ServerFrame;
use chat_protocol::requests::SendMessage;
use chat_protocol::{ErrorCode, Message, MAX_MESSAGE_TEXT_CHARS};
use chrono::NaiveDateTime;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::channels::{self, ChannelRow};
use super::users::UserRow;
use super::events::{self, Tx};
use super::{posting, validate};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::time::{fmt, fmt_opt};

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
    pub reply_count: i32,
    pub pinned_at: Option<NaiveDateTime>,
    pub pinned_by: Option<Uuid>,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub scheduled_for: Option<NaiveDateTime>,
    pub is_hard_deleted: Option<bool>,
}

pub const MESSAGE_COLUMNS: &str = "id, channel_id, user_id, parent_message_id, quoted_message_id, text, \
     type, status, is_silent, is_pinned, is_edited, is_deleted, metadata, attachments, mentions, \
     channel_seq, created_at, updated_at, reply_count, pinned_at, pinned_by, edited_at, deleted_at, \
     scheduled_for, is_hard_deleted";

impl MessageRow {
    pub fn deleted(&self) -> bool {
        self.is_deleted.unwrap_or(false) || self.is_hard_deleted.unwrap_or(false)
    }

    /// The wire form; `users` resolves the author and `pinned_by` to application user ids.
    /// Reactions and the quoted message are added by `message_list::decorate`.
    pub fn to_wire(&self, cid: &str, users: &HashMap<Uuid, UserRow>) -> Message {
        let author = users.get(&self.user_id);
        let deleted = self.deleted();
        Message {
            id: self.id.to_string(),
            cid: cid.to_string(),
            channel_seq: self.channel_seq.unwrap_or(0).max(0) as u64,
            user_id: author.map(|u| u.external_id.clone()).unwrap_or_default(),
            user: author.map(UserRow::to_wire),
            // A deleted message keeps its place in the history but none of its content.
            text: if deleted { String::new() } else { self.text.clone().unwrap_or_default() },
            message_type: if deleted {
                "deleted".into()
            } else {
                self.message_type.clone().unwrap_or_else(|| "text".into())
            },
            status: self.status.clone().unwrap_or_else(|| "sent".into()),
            parent_id: self.parent_message_id.map(|u| u.to_string()),
            quoted_message_id: self.quoted_message_id.map(|u| u.to_string()),
            attachments: if deleted {
                Vec::new()
            } else {
                self.attachments.as_ref().map(|j| j.0.clone()).unwrap_or_default()
            },
            mentions: if deleted { Vec::new() } else { self.mentions.as_ref().map(|j| j.0.clone()).unwrap_or_default() },
            metadata: if deleted {
                Default::default()
            } else {
                self.metadata.as_ref().map(|j| j.0.clone()).unwrap_or_default()
            },
            is_silent: self.is_silent.unwrap_or(false),
            is_pinned: self.is_pinned.unwrap_or(false),
            is_edited: self.is_edited.unwrap_or(false),
            is_deleted: deleted,
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
            reply_count: self.reply_count.max(0) as u32,
            reaction_counts: Default::default(),
            latest_reactions: Vec::new(),
            own_reactions: Vec::new(),
            quoted_message: None,
            pinned_at: fmt_opt(self.pinned_at),
            pinned_by: self.pinned_by.and_then(|u| users.get(&u)).map(|u| u.external_id.clone()),
            edited_at: fmt_opt(self.edited_at),
            deleted_at: fmt_opt(self.deleted_at),
            scheduled_for: fmt_opt(self.scheduled_for),
        }
    }
}

/// Checks a send's own content, without looking anything up: its id, type, limits and schedule.
pub fn validate_send(input: &SendMessage) -> Result<(Uuid, Option<NaiveDateTime>)> {
    let id = validate::uuid("id", &input.id)?;
    if let Some(t) = &input.message_type {
        if !CLIENT_TYPES.contains(&t.as_str()) {
            return Err(Error::invalid(format!("type must be one of {}", CLIENT_TYPES.join(", "))));
        }
    }
    validate_content(&input.text, &input.attachments, &input.mentions, input.metadata.as_ref())?;
    if input.text.trim().is_empty() && input.attachments.is_empty() {
        return Err(Error::invalid("a message needs text or attachments"));
    }
    let scheduled = match &input.scheduled_for {
        None => None,
        Some(t) => {
            let at = chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| Error::invalid("scheduled_for must be an RFC 3339 time"))?
                .naive_utc();
            let now = chrono::Utc::now().naive_utc();
            if at <= now {
                return Err(Error::invalid("scheduled_for must be in the future"));
            }
            if at > now + chrono::Duration::days(366) {
                return Err(Error::invalid("scheduled_for must be within a year"));
            }
            Some(at)
        }
    };
    Ok((id, scheduled))
}

/// Limits shared by send and edit.
pub fn validate_content(
    text: &str,
    attachments: &[serde_json::Value],
    mentions: &[String],
    metadata: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<()> {
    if text.chars().count() > MAX_MESSAGE_TEXT_CHARS {
        return Err(Error::invalid(format!("text is longer than {MAX_MESSAGE_TEXT_CHARS} characters")));
    }
    if attachments.len() > 30 {
        return Err(Error::invalid("at most 30 attachments"));
    }
    if attachments.iter().any(|a| !a.is_object()) {
        return Err(Error::invalid("each attachment must be a JSON object"));
    }
    validate::max_json_bytes("attachments", &attachments, 64 * 1024)?;
    if mentions.len() > 100 {
        return Err(Error::invalid("at most 100 mentions"));
    }
    for m in mentions {
        validate::external_id("mention", m)?;
    }
    if let Some(m) = metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    Ok(())
}

/// A send that passed every check and waits to be stored: by [`store_one`] in its own
/// transaction, or together with others by the send batcher (`send_batch`).
#[derive(Debug, Clone)]
pub struct PreparedSend {
    pub id: Uuid,
    pub channel: ChannelRow,
    pub sender: UserRow,
    pub parent: Option<Uuid>,
    pub quoted: Option<MessageRow>,
    pub input: SendMessage,
    pub silent: bool,
    pub scheduled: Option<NaiveDateTime>,
    /// Slow-mode / cooldown windows this send claimed (given back if it is not stored).
    pub claimed: Vec<String>,
}

/// What checking a send found.
pub enum Checked {
    /// The id is already stored (a resend): the stored message, nothing to publish.
    Stored(Box<Message>),
    Ready(Box<PreparedSend>),
}

/// Validates a send and checks the sender may post it now (membership, ban, frozen, slow mode,
/// cooldown, parent and quoted message); a resend of a stored id is answered here.
pub async fn check(
    db: &PgPool,
    redis: &mut redis::aio::ConnectionManager,
    sender: &UserRow,
    channel_type: &str,
    key: &str,
    input: &SendMessage,
) -> Result<Checked> {
    let (id, scheduled) = validate_send(input)?;
    let ((channel, member), existing) =
        tokio::try_join!(channels::for_member(db, sender, channel_type, key), by_id(db, id))?;
    // A resend of a stored id is answered before the posting checks: it is not a new post (slow
    // mode must not refuse it). Concurrent copies still in flight are caught when storing.
    if let Some(existing) = existing {
        return Ok(Checked::Stored(Box::new(resend(db, existing, &channel, sender).await?.0)));
    }
    // Membership, ban, frozen (domain/posting.rs).
    posting::check_can_post(&channel, &member)?;
    let parent = opt_uuid("parent_id", input.parent_id.as_deref())?;
    let quoted = opt_uuid("quoted_message_id", input.quoted_message_id.as_deref())?;
    let mut quoted_row = None;
    for (field, m) in [("parent_id", parent), ("quoted_message_id", quoted)] {
        if let Some(m) = m {
            match by_id(db, m).await? {
                Some(r) => {
                    if let Some(e) = reference_refusal(field, r.channel_id == channel.id, r.deleted(), r.parent_message_id.is_some()) {
                        return Err(e);
                    }
                    if field == "quoted_message_id" {
                        quoted_row = Some(r);
                    }
                }
                None => return Err(reference_missing(field)),
            }
        }
    }
    // Slow mode and cooldown last: a send refused for another reason spends no window.
    let windows = posting::PostingFacts::of(&member).windows(channel.id, sender.id, channel.slow_mode, channel.cooldown);
    if !windows.is_empty() {
        posting::claim(redis, &[&windows]).await.pop().unwrap_or(Ok(()))?;
    }
    let silent = input.silent || input.message_type.as_deref() == Some("silent");
    Ok(Checked::Ready(Box::new(PreparedSend {
        id,
        channel,
        sender: sender.clone(),
        parent,
        quoted: quoted_row,
        input: input.clone(),
        silent,
        scheduled,
        claimed: windows.keys(),
    })))
}

/// Why a message named by `field` (parent_id / quoted_message_id) cannot be referenced, if so:
/// it is in another channel, deleted, or (as a parent) itself a reply.
pub fn reference_refusal(field: &str, same_channel: bool, deleted: bool, is_reply: bool) -> Option<Error> {
    if !same_channel || deleted {
        return Some(reference_missing(field));
    }
    if field == "parent_id" && is_reply {
        return Some(Error::invalid("replies cannot have replies; use the thread's parent"));
    }
    None
}

pub fn reference_missing(field: &str) -> Error {
    Error::invalid(format!("{field} names no message of this channel"))
}

/// Stores a checked send in its own transaction; a send that fails to be stored gives its
/// slow-mode window back.
pub async fn store_checked(
    db: &PgPool,
    redis: &mut redis::aio::ConnectionManager,
    p: &PreparedSend,
) -> Result<(Message, Vec<Outgoing>)> {
    let stored = store_one(db, p).await;
    if stored.is_err() {
        posting::release(redis, &p.claimed).await;
    }
    stored
}

/// Stores one checked send in its own transaction.
pub async fn store_one(db: &PgPool, p: &PreparedSend) -> Result<(Message, Vec<Outgoing>)> {
    let (channel, sender, input) = (&p.channel, &p.sender, &p.input);
    let mut tx = db.begin().await?;
    let sql = format!(
        "INSERT INTO messages (id, channel_id, user_id, parent_message_id, quoted_message_id, text,
                               type, is_silent, metadata, attachments, mentions, scheduled_for)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'text'), $8, COALESCE($9, '{{}}'::jsonb), $10, $11, $12)
         ON CONFLICT (id) DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query_as::<_, MessageRow>(&sql)
        .bind(p.id)
        .bind(channel.id)
        .bind(sender.id)
        .bind(p.parent)
        .bind(p.quoted.as_ref().map(|q| q.id))
        .bind(&input.text)
        .bind(&input.message_type)
        .bind(p.silent)
        .bind(input.metadata.clone().map(Json))
        .bind(Json(&input.attachments))
        .bind(Json(&input.mentions))
        .bind(p.scheduled)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        // A concurrent resend committed first.
        tx.rollback().await?;
        let existing = by_id(db, p.id)
            .await?
            .ok_or_else(|| Error::api(ErrorCode::Internal, "message vanished after conflict"))?;
        return resend(db, existing, channel, sender).await;
    };
    let users = HashMap::from([(sender.id, sender.clone())]);
    if p.scheduled.is_some() {
        tx.commit().await?;
        return Ok((row.to_wire(&channel.cid(), &users), Vec::new()));
    }
    let (row, events) = deliver(&mut tx, channel, row, sender).await?;
    tx.commit().await?;
    let message = with_quoted(db, row.to_wire(&channel.cid(), &users), p).await?;
    Ok((message, events))
}

/// The answer to a send whose id turned out to be stored already: the stored message when it is
/// the same sender's in the same channel, `id_conflict` otherwise.
pub async fn answer_resend(db: &PgPool, p: &PreparedSend) -> Result<Message> {
    let existing =
        by_id(db, p.id).await?.ok_or_else(|| Error::api(ErrorCode::Internal, "message vanished after conflict"))?;
    Ok(resend(db, existing, &p.channel, &p.sender).await?.0)
}

/// The answer to a resend whose stored message is known to be the same sender's in the same
/// channel: that message as a list would show it to the sender.
pub async fn stored_answer(db: &PgPool, id: Uuid, sender: Uuid, cid: &str) -> Result<Message> {
    let existing = by_id(db, id).await?.ok_or_else(|| Error::api(ErrorCode::Internal, "message vanished"))?;
    let mut list = super::message_list::decorate(&mut *db.acquire().await?, sender, cid, vec![existing]).await?;
    list.pop().ok_or_else(|| Error::api(ErrorCode::Internal, "message vanished"))
}

/// Adds the quoted message `quoted` to a freshly stored message's wire form.
pub async fn attach_quoted(db: &PgPool, message: &mut Message, quoted: Uuid) -> Result<()> {
    if let Some(q) = by_id(db, quoted).await? {
        let users = super::message_list::users_of(&mut *db.acquire().await?, &[q.user_id]).await?;
        message.quoted_message = Some(Box::new(q.to_wire(&message.cid, &users)));
    }
    Ok(())
}

/// Adds the quoted message to a freshly stored message's wire form.
pub async fn with_quoted(db: &PgPool, mut message: Message, p: &PreparedSend) -> Result<Message> {
    if let Some(q) = &p.quoted {
        let users = super::message_list::users_of(&mut *db.acquire().await?, &[q.user_id]).await?;
        message.quoted_message = Some(Box::new(q.to_wire(&p.channel.cid(), &users)));
    }
    Ok(message)
}

/// Delivers a stored message inside `tx`: gives it the channel's next sequence number, updates
/// unread counts, the sender's read position, the parent's reply count and last_message_at, and
/// logs `message.new` plus a `notification.mention` per mentioned member. Used by send and by
/// the scheduler.
pub async fn deliver(
    tx: &mut Tx<'_>,
    channel: &ChannelRow,
    row: MessageRow,
    sender: &UserRow,
) -> Result<(MessageRow, Vec<Outgoing>)> {
    // The sequence number is taken first: the channel row lock it holds orders concurrent sends.
    let seq = events::next_channel_seq(tx, channel.id).await?;
    let shadowed = posting::shadowed(tx, channel.id, sender.id).await?;
    let sql = format!(
        "UPDATE messages SET channel_seq = $2, created_at = CASE WHEN scheduled_for IS NULL
           THEN created_at ELSE NOW() END, updated_at = NOW() WHERE id = $1 RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query_as::<_, MessageRow>(&sql).bind(row.id).bind(seq).fetch_one(&mut **tx).await?;
    sqlx::query("UPDATE channels SET last_message_at = $2 WHERE id = $1")
        .bind(channel.id)
        .bind(row.created_at)
        .execute(&mut **tx)
        .await?;
    if !row.is_silent.unwrap_or(false) && row.parent_message_id.is_none() && !shadowed {
        sqlx::query(
            "UPDATE channel_members SET unread_count = unread_count + 1
              WHERE channel_id = $1 AND user_id <> $2",
        )
        .bind(channel.id)
        .bind(sender.id)
        .execute(&mut **tx)
        .await?;
    }
    // The sender has read everything up to its own message.
    sqlx::query(
        "UPDATE channel_members SET last_read_seq = $3, last_read_at = NOW(), unread_count = 0
          WHERE channel_id = $1 AND user_id = $2 AND last_read_seq < $3",
    )
    .bind(channel.id)
    .bind(sender.id)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    if let Some(parent) = row.parent_message_id {
        sqlx::query("UPDATE messages SET reply_count = reply_count + 1 WHERE id = $1")
            .bind(parent)
            .execute(&mut **tx)
            .await?;
    }
    let users = HashMap::from([(sender.id, sender.clone())]);
    let cid = channel.cid();
    let message = row.to_wire(&cid, &users);
    let frame = ServerFrame::MessageNew { cid: cid.clone(), channel_seq: seq as u64, message: message.clone() };
    events::log_channel_event(tx, channel.id, seq, "message.new", &serde_json::to_value(&frame)?).await?;
    let recipients = posting::after_post(tx, channel, sender, row.id, seq, shadowed).await?;
    let mut out = vec![Outgoing { recipients, frame, stream: Some(channel.id) }];
    let mentioned: Vec<String> = message.mentions.iter().filter(|m| **m != sender.external_id).cloned().collect();
    if !mentioned.is_empty() && !shadowed {
        let ids: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT u.id FROM users u JOIN channel_members m ON m.user_id = u.id AND m.channel_id = $1
              WHERE u.app_id = $2 AND u.external_id = ANY($3) AND m.is_banned IS NOT TRUE",
        )
        .bind(channel.id)
        .bind(channel.app_id)
        .bind(&mentioned)
        .fetch_all(&mut **tx)
        .await?;
        for (uid,) in ids {
            let m = message.clone();
            let c = cid.clone();
            out.push(events::emit_user(tx, uid, |user_seq| ServerFrame::Mention { user_seq, cid: c, message: m }).await?);
        }
    }
    Ok((row, out))
}

async fn resend(
    db: &PgPool,
    existing: MessageRow,
    channel: &ChannelRow,
    sender: &UserRow,
) -> Result<(Message, Vec<Outgoing>)> {
    if existing.channel_id != channel.id || existing.user_id != sender.id {
        return Err(Error::api(ErrorCode::IdConflict, "that message id is already used by another message"));
    }
    let mut list = super::message_list::decorate(&mut *db.acquire().await?, sender.id, &channel.cid(), vec![existing]).await?;
    let message = list.pop().ok_or_else(|| Error::api(ErrorCode::Internal, "message vanished"))?;
    Ok((message, Vec::new()))
}

pub fn opt_uuid(field: &str, v: Option<&str>) -> Result<Option<Uuid>> {
    v.map(|s| validate::uuid(field, s)).transpose()
}

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<MessageRow>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
    Ok(sqlx::query_as::<_, MessageRow>(&sql).bind(id).fetch_optional(db).await?)
}
