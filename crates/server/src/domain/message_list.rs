//! Reading messages: keyset pages of a channel by sequence (before / after / around), thread
//! replies, pinned messages, and `decorate`, which turns rows into wire messages with authors,
//! reaction counts, latest and own reactions, and quoted messages.

use std::collections::{BTreeMap, HashMap};

use chat_protocol::model::Reaction;
use chat_protocol::Message;
use chrono::NaiveDateTime;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::channels::ChannelRow;
use super::messages::{MessageRow, MESSAGE_COLUMNS};
use super::users::{UserRow, USER_COLUMNS};
use crate::error::Result;
use crate::time::fmt;

/// Which page of a channel's messages to read (by channel sequence, exclusive bounds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub limit: i64,
    pub before_seq: Option<i64>,
    pub after_seq: Option<i64>,
    /// The page centred on this message (it included), instead of before/after.
    pub around: Option<Uuid>,
}

/// Visible, delivered messages of the channel's main list (thread replies are listed by
/// [`replies`]).
const VISIBLE: &str = "is_hard_deleted IS NOT TRUE AND channel_seq IS NOT NULL";

pub async fn users_of(db: &mut PgConnection, ids: &[Uuid]) -> Result<HashMap<Uuid, UserRow>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1)");
    let users = sqlx::query_as::<_, UserRow>(&sql).bind(&ids).fetch_all(&mut *db).await?;
    Ok(users.into_iter().map(|u| (u.id, u)).collect())
}

/// A page of the channel's messages, oldest first: the latest `limit` before `before_seq`, the
/// first `limit` after `after_seq`, or the page around a message.
pub async fn page(db: &PgPool, viewer: Uuid, channel: &ChannelRow, p: Page) -> Result<Vec<Message>> {
    let limit = p.limit.clamp(1, 200);
    let base = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE channel_id = $1 AND parent_message_id IS NULL AND {VISIBLE}
           AND {}",
        super::posting::VISIBLE_TO_VIEWER
    );
    let (cut, me) = (channel.truncated_seq, viewer);
    let older = |before: i64, n: i64| {
        let sql = format!("{base} AND channel_seq < $2 ORDER BY channel_seq DESC LIMIT $3");
        async move {
            let q = sqlx::query_as::<_, MessageRow>(&sql).bind(channel.id).bind(before).bind(n);
            q.bind(cut).bind(me).fetch_all(db).await
        }
    };
    let newer = |after: i64, n: i64| {
        let sql = format!("{base} AND channel_seq > $2 ORDER BY channel_seq ASC LIMIT $3");
        async move {
            let q = sqlx::query_as::<_, MessageRow>(&sql).bind(channel.id).bind(after).bind(n);
            q.bind(cut).bind(me).fetch_all(db).await
        }
    };
    let mut rows = if let Some(center) = p.around {
        let seq: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT channel_seq FROM messages WHERE id = $1 AND channel_id = $2")
                .bind(center)
                .bind(channel.id)
                .fetch_optional(db)
                .await?;
        let Some((Some(seq),)) = seq else {
            return Err(crate::error::Error::not_found("around_id names no message of this channel"));
        };
        // The message itself, up to `limit / 2` before it, and the rest after it: `limit` in all.
        let half = limit / 2;
        let mut r = older(seq + 1, half + 1).await?;
        r.extend(newer(seq, limit - half - 1).await?);
        r
    } else if let Some(after) = p.after_seq {
        newer(after, limit).await?
    } else {
        older(p.before_seq.unwrap_or(i64::MAX), limit).await?
    };
    rows.sort_by_key(|r| r.channel_seq);
    decorate(&mut *db.acquire().await?, viewer, &channel.cid(), rows).await
}

/// Replies in the thread of `parent`, oldest first, paged by sequence.
pub async fn replies(db: &PgPool, viewer: Uuid, channel: &ChannelRow, parent: Uuid, p: Page) -> Result<Vec<Message>> {
    let limit = p.limit.clamp(1, 200);
    let mut rows = if let Some(after) = p.after_seq {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE parent_message_id = $1 AND {VISIBLE}
               AND {} AND channel_seq > $2 ORDER BY channel_seq ASC LIMIT $3",
            super::posting::VISIBLE_TO_VIEWER
        );
        let q = sqlx::query_as::<_, MessageRow>(&sql).bind(parent).bind(after).bind(limit);
        q.bind(channel.truncated_seq).bind(viewer).fetch_all(db).await?
    } else {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE parent_message_id = $1 AND {VISIBLE}
               AND {} AND channel_seq < $2 ORDER BY channel_seq DESC LIMIT $3",
            super::posting::VISIBLE_TO_VIEWER
        );
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(parent)
            .bind(p.before_seq.unwrap_or(i64::MAX))
            .bind(limit)
            .bind(channel.truncated_seq)
            .bind(viewer)
            .fetch_all(db)
            .await?
    };
    rows.sort_by_key(|r| r.channel_seq);
    decorate(&mut *db.acquire().await?, viewer, &channel.cid(), rows).await
}

/// Pinned messages of the channel, most recently pinned first.
pub async fn pinned(db: &PgPool, viewer: Uuid, channel: &ChannelRow, limit: i64) -> Result<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE channel_id = $1 AND is_pinned = true
           AND is_deleted IS NOT TRUE AND {VISIBLE}
           AND channel_seq > $3 AND (shadowed IS NOT TRUE OR user_id = $4) ORDER BY pinned_at DESC LIMIT $2"
    );
    let q = sqlx::query_as::<_, MessageRow>(&sql).bind(channel.id).bind(limit.clamp(1, 200));
    let rows = q.bind(channel.truncated_seq).bind(viewer).fetch_all(db).await?;
    decorate(&mut *db.acquire().await?, viewer, &channel.cid(), rows).await
}

#[derive(sqlx::FromRow)]
struct ReactionRow {
    message_id: Uuid,
    user_id: Uuid,
    external_id: String,
    emoji: String,
    created_at: Option<NaiveDateTime>,
    rank: i64,
}

impl ReactionRow {
    fn to_wire(&self) -> Reaction {
        Reaction {
            message_id: self.message_id.to_string(),
            user_id: self.external_id.clone(),
            reaction_type: self.emoji.clone(),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
        }
    }
}

/// Wire messages for `rows` (kept in order) as `viewer` sees them: authors, reaction counts,
/// the 10 latest reactions, the viewer's own reactions and the quoted message.
pub async fn decorate(db: &mut PgConnection, viewer: Uuid, cid: &str, rows: Vec<MessageRow>) -> Result<Vec<Message>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let quoted_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.quoted_message_id).collect();
    let quoted: Vec<MessageRow> = if quoted_ids.is_empty() {
        Vec::new()
    } else {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1)");
        sqlx::query_as::<_, MessageRow>(&sql).bind(&quoted_ids).fetch_all(&mut *db).await?
    };
    let mut user_ids: Vec<Uuid> = rows.iter().chain(quoted.iter()).map(|r| r.user_id).collect();
    user_ids.extend(rows.iter().filter_map(|r| r.pinned_by));
    let users = users_of(&mut *db, &user_ids).await?;
    let counts: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT message_id, emoji, COUNT(*) FROM message_reactions WHERE message_id = ANY($1)
          GROUP BY message_id, emoji",
    )
    .bind(&ids)
    .fetch_all(&mut *db)
    .await?;
    let reactions: Vec<ReactionRow> = sqlx::query_as(
        "SELECT * FROM (
           SELECT r.message_id, r.user_id, u.external_id, r.emoji, r.created_at,
                  ROW_NUMBER() OVER (PARTITION BY r.message_id ORDER BY r.created_at DESC, r.id) AS rank
             FROM message_reactions r JOIN users u ON u.id = r.user_id
            WHERE r.message_id = ANY($1)) x
          WHERE rank <= 10 OR user_id = $2",
    )
    .bind(&ids)
    .bind(viewer)
    .fetch_all(&mut *db)
    .await?;
    let quoted_wire: HashMap<Uuid, Message> = quoted.iter().map(|q| (q.id, q.to_wire(cid, &users))).collect();
    Ok(rows
        .iter()
        .map(|r| {
            let mut m = r.to_wire(cid, &users);
            let mut rc = BTreeMap::new();
            for (mid, emoji, n) in &counts {
                if *mid == r.id {
                    rc.insert(emoji.clone(), (*n).max(0) as u32);
                }
            }
            m.reaction_counts = rc;
            m.latest_reactions =
                reactions.iter().filter(|x| x.message_id == r.id && x.rank <= 10).map(ReactionRow::to_wire).collect();
            m.own_reactions =
                reactions.iter().filter(|x| x.message_id == r.id && x.user_id == viewer).map(ReactionRow::to_wire).collect();
            m.quoted_message = r.quoted_message_id.and_then(|q| quoted_wire.get(&q).cloned()).map(Box::new);
            m
        })
        .collect())
}
