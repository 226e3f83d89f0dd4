//! Full-text search over the messages of the caller's channels, through the seed's GIN index
//! (`to_tsvector('english', text)`), newest first, with keyset pagination. In a multi-tenant
//! application only channels of the caller's team are searched.

use chat_protocol::requests::{SearchRequest, SearchResponse};
use chrono::NaiveDateTime;
use sqlx::PgPool;
use uuid::Uuid;

use super::message_list;
use super::messages::{MessageRow, MESSAGE_COLUMNS};
use super::users::UserRow;
use super::{channels, validate};
use crate::error::{Error, Result};

fn parse_next(next: &str) -> Result<(NaiveDateTime, Uuid)> {
    let bad = || Error::invalid("next is not a cursor from a previous search page");
    let (micros, id) = next.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?.naive_utc();
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

pub async fn search(db: &PgPool, caller: &UserRow, req: &SearchRequest) -> Result<SearchResponse> {
    let query = req.query.trim();
    if query.is_empty() || query.chars().count() > 200 {
        return Err(Error::invalid("query must be 1-200 characters"));
    }
    let limit = req.limit.unwrap_or(20) as i64;
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid("limit must be 1-100"));
    }
    let mut channel_ids: Option<Vec<Uuid>> = None;
    if let Some(cids) = &req.cids {
        if cids.is_empty() || cids.len() > 100 {
            return Err(Error::invalid("cids must name 1-100 channels"));
        }
        let mut ids = Vec::new();
        for cid in cids {
            let (t, key) = chat_protocol::split_cid(cid).ok_or_else(|| Error::invalid(format!("{cid:?} is not a cid")))?;
            validate::channel_type(t)?;
            validate::external_id("channel id", key)?;
            let (c, _) = channels::for_member(db, caller, t, key).await?;
            ids.push(c.id);
        }
        channel_ids = Some(ids);
    }
    let cursor = req.next.as_deref().map(parse_next).transpose()?;
    let cols: Vec<String> = MESSAGE_COLUMNS.split(", ").map(|c| format!("m.{}", c.trim())).collect();
    let sql = format!(
        "SELECT {}, c.type AS c_type, c.channel_key AS c_key
           FROM messages m
           JOIN channel_members cm ON cm.channel_id = m.channel_id AND cm.user_id = $1
           JOIN channels c ON c.id = m.channel_id
          WHERE to_tsvector('english', m.text) @@ plainto_tsquery('english', $2)
            AND m.is_deleted IS NOT TRUE AND m.is_hard_deleted IS NOT TRUE AND m.channel_seq IS NOT NULL
            AND cm.is_banned IS NOT TRUE
            AND (m.shadowed IS NOT TRUE OR m.user_id = $1) AND m.channel_seq > c.truncated_seq
            AND c.deleted_at IS NULL AND cm.invite_rejected_at IS NULL
            AND ($3::uuid[] IS NULL OR m.channel_id = ANY($3))
            AND ($4::timestamp IS NULL OR (m.created_at, m.id) < ($4, $5))
            AND (c.team_id IS NOT DISTINCT FROM $7::uuid OR NOT {})
          ORDER BY m.created_at DESC, m.id DESC LIMIT $6",
        cols.join(", "),
        super::users::multi_tenant_sql("$8::uuid")
    );
    #[derive(sqlx::FromRow)]
    struct Hit {
        #[sqlx(flatten)]
        row: MessageRow,
        c_type: String,
        c_key: Option<String>,
    }
    let hits: Vec<Hit> = sqlx::query_as(&sql)
        .bind(caller.id)
        .bind(query)
        .bind(channel_ids)
        .bind(cursor.map(|c| c.0))
        .bind(cursor.map(|c| c.1))
        .bind(limit + 1)
        .bind(caller.team_id)
        .bind(caller.app_id)
        .fetch_all(db)
        .await?;
    let has_more = hits.len() as i64 > limit;
    let mut results = Vec::new();
    let mut conn = db.acquire().await?;
    for h in hits.iter().take(limit as usize) {
        let cid = chat_protocol::cid(&h.c_type, &h.c_key.clone().unwrap_or_else(|| h.row.channel_id.to_string()));
        results.extend(message_list::decorate(&mut conn, caller.id, &cid, vec![h.row.clone()]).await?);
    }
    let next = if has_more {
        hits.get(limit as usize - 1).and_then(|h| {
            h.row.created_at.map(|t| format!("{}_{}", t.and_utc().timestamp_micros(), h.row.id))
        })
    } else {
        None
    };
    Ok(SearchResponse { results, next })
}
