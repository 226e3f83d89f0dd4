//! Message drafts of a user, per channel and per thread (the thread's parent message). Postgres
//! is the truth; `draft:{channel}:{user}` (and `draft:{channel}:{user}:{parent}` for a thread) is
//! a Redis hash cache (fields text, attachments, mentions, created_at, updated_at, version; 7-day
//! TTL), written through after each commit and filled on a read miss.
//!
//! Every write takes a new `version` while it holds the draft's row lock, and the cache accepts
//! only a higher version than the one it holds; a delete leaves a tombstone (`deleted`) with its
//! version. So a slow writer or a read-through fill can never put back an older draft or bring a
//! deleted one back. `draft.updated` / `draft.deleted` are user events (the user's other
//! devices sync through them).

use std::collections::HashMap;

use chat_protocol::model::Draft;
use chat_protocol::requests::UpsertDraft;
use chat_protocol::{ServerFrame, MAX_MESSAGE_TEXT_CHARS};
use chrono::NaiveDateTime;
use sqlx::types::Json;
use uuid::Uuid;

use super::channels::{self, ChannelRow};
use super::users::UserRow;
use super::{events, messages, validate};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::state::AppState;
use crate::time::fmt;

pub const CACHE_TTL_SECS: i64 = 7 * 86_400;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DraftRow {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub parent_message_id: Option<Uuid>,
    pub text: Option<String>,
    pub attachments: Option<Json<Vec<serde_json::Value>>>,
    pub mentions: Option<Json<Vec<String>>>,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    pub version: i64,
}

const COLUMNS: &str =
    "id, channel_id, parent_message_id, text, attachments, mentions, created_at, updated_at, version";

impl DraftRow {
    fn to_wire(&self, cid: &str) -> Draft {
        Draft {
            cid: cid.to_string(),
            parent_id: self.parent_message_id.map(|p| p.to_string()),
            text: self.text.clone().unwrap_or_default(),
            attachments: self.attachments.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            mentions: self.mentions.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
        }
    }
}

fn cache_key(channel_id: Uuid, user_id: Uuid, parent: Option<Uuid>) -> String {
    match parent {
        Some(p) => format!("draft:{channel_id}:{user_id}:{p}"),
        None => format!("draft:{channel_id}:{user_id}"),
    }
}

/// Replaces the cached hash with `fields` unless the cache holds the same or a newer version.
const CACHE_PUT: &str = r"local cur = redis.call('HGET', KEYS[1], 'version')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1";

async fn cache_put(state: &AppState, key: &str, version: i64, fields: &[(&str, String)]) {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(CACHE_PUT).arg(1).arg(key).arg(version).arg(CACHE_TTL_SECS);
    for (k, v) in fields {
        cmd.arg(*k).arg(v);
    }
    let mut redis = state.redis();
    if let Err(e) = cmd.query_async::<i64>(&mut redis).await {
        tracing::warn!(error = %e, "could not update the draft cache");
    }
}

async fn cache_draft(state: &AppState, key: &str, row: &DraftRow, draft: &Draft) {
    let fields = [
        ("text", draft.text.clone()),
        ("attachments", serde_json::to_string(&draft.attachments).unwrap_or_else(|_| "[]".into())),
        ("mentions", serde_json::to_string(&draft.mentions).unwrap_or_else(|_| "[]".into())),
        ("created_at", draft.created_at.clone()),
        ("updated_at", draft.updated_at.clone()),
    ];
    cache_put(state, key, row.version, &fields).await;
}

/// What the cache says: `Some(Some(draft))`, `Some(None)` (deleted), or `None` (unknown).
async fn cache_get(state: &AppState, key: &str, cid: &str, parent: Option<Uuid>) -> Option<Option<Draft>> {
    let mut redis = state.redis();
    let h: HashMap<String, String> = match redis::cmd("HGETALL").arg(key).query_async(&mut redis).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the draft cache");
            return None;
        }
    };
    if h.contains_key("deleted") {
        return Some(None);
    }
    fn json<T: serde::de::DeserializeOwned>(h: &HashMap<String, String>, k: &str) -> Option<T> {
        h.get(k).and_then(|v| serde_json::from_str(v).ok())
    }
    Some(Some(Draft {
        cid: cid.to_string(),
        parent_id: parent.map(|p| p.to_string()),
        text: h.get("text")?.clone(),
        attachments: json(&h, "attachments")?,
        mentions: json(&h, "mentions")?,
        created_at: h.get("created_at")?.clone(),
        updated_at: h.get("updated_at")?.clone(),
    }))
}

fn validate_input(input: &UpsertDraft) -> Result<()> {
    if input.text.chars().count() > MAX_MESSAGE_TEXT_CHARS {
        return Err(Error::invalid(format!("text is longer than {MAX_MESSAGE_TEXT_CHARS} characters")));
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
    if input.text.trim().is_empty() && input.attachments.is_empty() {
        return Err(Error::invalid("a draft needs text or attachments (delete it instead)"));
    }
    Ok(())
}

/// The channel (caller must be a member) and the thread parent, checked to be its message.
async fn target(
    state: &AppState,
    user: &UserRow,
    channel_type: &str,
    key: &str,
    parent_id: Option<&str>,
) -> Result<(ChannelRow, Option<Uuid>)> {
    let parent = parent_id.map(|p| validate::uuid("parent_id", p)).transpose()?;
    let (channel, _) = channels::for_member(state.db(), user, channel_type, key).await?;
    if let Some(p) = parent {
        match messages::by_id(state.db(), p).await? {
            Some(m) if m.channel_id == channel.id => {}
            _ => return Err(Error::invalid("parent_id names no message of this channel")),
        }
    }
    Ok((channel, parent))
}

/// Saves the caller's draft (last write wins) and returns it with its `draft.updated` event.
pub async fn upsert(
    state: &AppState,
    user: &UserRow,
    channel_type: &str,
    key: &str,
    input: &UpsertDraft,
) -> Result<(Draft, Vec<Outgoing>)> {
    validate_input(input)?;
    let (channel, parent) = target(state, user, channel_type, key, input.parent_id.as_deref()).await?;
    let mut tx = state.db().begin().await?;
    let sql = format!(
        "INSERT INTO message_drafts (channel_id, user_id, parent_message_id, text, attachments, mentions, version)
         VALUES ($1, $2, $3, $4, $5, $6, nextval('message_drafts_version_seq'))
         ON CONFLICT ON CONSTRAINT message_drafts_channel_user_parent_key DO UPDATE SET
           text = EXCLUDED.text, attachments = EXCLUDED.attachments, mentions = EXCLUDED.mentions,
           updated_at = NOW(), version = nextval('message_drafts_version_seq')
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, DraftRow>(&sql)
        .bind(channel.id)
        .bind(user.id)
        .bind(parent)
        .bind(&input.text)
        .bind(Json(&input.attachments))
        .bind(Json(&input.mentions))
        .fetch_one(&mut *tx)
        .await?;
    let draft = row.to_wire(&channel.cid());
    let d = draft.clone();
    let ev = events::emit_user(&mut tx, user.id, |seq| ServerFrame::DraftUpdated { user_seq: seq, draft: d }).await?;
    tx.commit().await?;
    cache_draft(state, &cache_key(channel.id, user.id, parent), &row, &draft).await;
    Ok((draft, vec![ev]))
}

/// The caller's draft of the channel (or thread): from the cache, else from Postgres (and then
/// cached). `not_found` when there is none.
pub async fn get(state: &AppState, user: &UserRow, channel_type: &str, key: &str, parent_id: Option<&str>) -> Result<Draft> {
    let (channel, parent) = target(state, user, channel_type, key, parent_id).await?;
    let ck = cache_key(channel.id, user.id, parent);
    let cid = channel.cid();
    let none = || Error::not_found("there is no draft here");
    match cache_get(state, &ck, &cid, parent).await {
        Some(Some(d)) => return Ok(d),
        Some(None) => return Err(none()),
        None => {}
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM message_drafts
          WHERE channel_id = $1 AND user_id = $2 AND parent_message_id IS NOT DISTINCT FROM $3"
    );
    let row = sqlx::query_as::<_, DraftRow>(&sql)
        .bind(channel.id)
        .bind(user.id)
        .bind(parent)
        .fetch_optional(state.db())
        .await?
        .ok_or_else(none)?;
    let draft = row.to_wire(&cid);
    cache_draft(state, &ck, &row, &draft).await;
    Ok(draft)
}

/// Deletes the caller's draft; true (with a `draft.deleted` event) when there was one.
pub async fn delete(
    state: &AppState,
    user: &UserRow,
    channel_type: &str,
    key: &str,
    parent_id: Option<&str>,
) -> Result<(bool, Vec<Outgoing>)> {
    let (channel, parent) = target(state, user, channel_type, key, parent_id).await?;
    let mut tx = state.db().begin().await?;
    let version: Option<(i64,)> = sqlx::query_as(
        "DELETE FROM message_drafts
          WHERE channel_id = $1 AND user_id = $2 AND parent_message_id IS NOT DISTINCT FROM $3
         RETURNING nextval('message_drafts_version_seq')",
    )
    .bind(channel.id)
    .bind(user.id)
    .bind(parent)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((version,)) = version else {
        tx.rollback().await?;
        return Ok((false, Vec::new()));
    };
    let cid = channel.cid();
    let p = parent.map(|p| p.to_string());
    let ev = events::emit_user(&mut tx, user.id, |seq| ServerFrame::DraftDeleted { user_seq: seq, cid, parent_id: p }).await?;
    tx.commit().await?;
    cache_put(state, &cache_key(channel.id, user.id, parent), version, &[("deleted", "1".into())]).await;
    Ok((true, vec![ev]))
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    draft: DraftRow,
    #[sqlx(rename = "type")]
    channel_type: String,
    channel_key: Option<String>,
}

/// The caller's drafts, newest first, keyset-paginated by `next`.
pub async fn list(state: &AppState, user: &UserRow, limit: i64, next: Option<&str>) -> Result<(Vec<Draft>, Option<String>)> {
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid("limit must be 1-100"));
    }
    let cursor = next
        .map(|n| {
            let bad = || Error::invalid("next is not a cursor of this list");
            let (micros, id) = n.split_once(':').ok_or_else(bad)?;
            let at = micros
                .parse::<i64>()
                .ok()
                .and_then(chrono::DateTime::from_timestamp_micros)
                .ok_or_else(bad)?
                .naive_utc();
            Ok::<_, Error>((at, Uuid::parse_str(id).map_err(|_| bad())?))
        })
        .transpose()?;
    let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("d.{c}")).collect();
    let sql = format!(
        "SELECT {}, c.type, c.channel_key FROM message_drafts d JOIN channels c ON c.id = d.channel_id
          WHERE d.user_id = $1 AND ($2::timestamp IS NULL OR (d.updated_at, d.id) < ($2, $3))
            AND (c.team_id IS NOT DISTINCT FROM $5::uuid OR NOT {})
          ORDER BY d.updated_at DESC, d.id DESC LIMIT $4",
        cols.join(", "),
        // Team isolation: a multi-tenant app lists only drafts in the caller's team's channels.
        super::users::multi_tenant_sql("$6::uuid")
    );
    let mut rows = sqlx::query_as::<_, ListedRow>(&sql)
        .bind(user.id)
        .bind(cursor.map(|c| c.0))
        .bind(cursor.map(|c| c.1))
        .bind(limit + 1)
        .bind(user.team_id)
        .bind(user.app_id)
        .fetch_all(state.db())
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            format!("{}:{}", r.draft.updated_at.map(|t| t.and_utc().timestamp_micros()).unwrap_or(0), r.draft.id)
        })
    } else {
        None
    };
    let drafts = rows
        .iter()
        .map(|r| {
            let key = r.channel_key.clone().unwrap_or_else(|| r.draft.channel_id.to_string());
            r.draft.to_wire(&chat_protocol::cid(&r.channel_type, &key))
        })
        .collect();
    Ok((drafts, next))
}
