//! Catch-up after a disconnect: the client sends its cursors (last applied sequence number per
//! channel, and of its user stream) and gets the events it missed from the event logs, in order,
//! a page at a time. When the history needed is no longer there, or the client has no access to
//! the channel any more, or its cursor is ahead of the server, the answer for that stream is an
//! explicit `resync`, never a silent gap. Each stream's cursor says where its page ended
//! (`page_seq`), so a page whose events were all left out for the caller still advances.

use std::collections::BTreeMap;

use chat_protocol::requests::{SyncCursor, SyncRequest, SyncResponse};
use serde_json::Value;
use sqlx::PgPool;

use super::channels;
use super::users::UserRow;
use crate::error::{Error, Result};

/// Most channels one sync call may name.
pub const MAX_SYNC_CHANNELS: usize = 300;

pub async fn sync(db: &PgPool, caller: &UserRow, req: &SyncRequest) -> Result<SyncResponse> {
    if req.channels.len() > MAX_SYNC_CHANNELS {
        return Err(Error::invalid(format!("sync at most {MAX_SYNC_CHANNELS} channels per call")));
    }
    let limit = req.limit.unwrap_or(200) as i64;
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit must be 1-1000"));
    }
    let mut events = Vec::new();
    let mut cursors = BTreeMap::new();
    for (cid, after) in &req.channels {
        let Some((t, key)) = chat_protocol::split_cid(cid) else {
            return Err(Error::invalid(format!("{cid:?} is not a type:id channel reference")));
        };
        super::validate::channel_type(t)?;
        super::validate::external_id("channel id", key)?;
        let channel = channels::by_key_with_deleted(db, caller.app_id, t, key).await?;
        let member = match &channel {
            Some(c) => channels::membership(db, c.id, caller.id).await?,
            None => None,
        };
        let (Some(channel), Some(_)) = (channel, member) else {
            cursors.insert(cid.clone(), resync(0));
            continue;
        };
        // A channel of another team (multi-tenant applications) is no longer the caller's to
        // read: like a channel left, it answers `resync` with no events.
        match channels::team_guard(db, caller, &channel).await {
            Ok(()) => {}
            Err(Error::Api(_)) => {
                cursors.insert(cid.clone(), resync(0));
                continue;
            }
            Err(e) => return Err(e),
        }
        let last_seq = channel.last_seq.max(0) as u64;
        let (page, cursor) =
            read_stream(db, "channel_events", "channel_id", channel.id, *after, last_seq, limit, Some(caller.id)).await?;
        events.extend(page);
        cursors.insert(cid.clone(), cursor);
    }
    let (user_events, user) = match req.user_seq {
        None => (Vec::new(), None),
        Some(after) => {
            let (last,): (i64,) =
                sqlx::query_as("SELECT last_seq FROM users WHERE id = $1").bind(caller.id).fetch_one(db).await?;
            let (page, cursor) =
                read_stream(db, "user_events", "user_id", caller.id, after, last.max(0) as u64, limit, None).await?;
            (page, Some(cursor))
        }
    };
    Ok(SyncResponse { events, channels: cursors, user_events, user })
}

/// Reads up to `limit` events after `after` from one stream of an event log.
#[allow(clippy::too_many_arguments)] // one stream of one log, plus who reads it
async fn read_stream(
    db: &PgPool,
    table: &str,
    key_column: &str,
    key: uuid::Uuid,
    after: u64,
    last_seq: u64,
    limit: i64,
    viewer: Option<uuid::Uuid>,
) -> Result<(Vec<Value>, SyncCursor)> {
    if after > last_seq {
        return Ok((Vec::new(), resync(last_seq)));
    }
    if after == last_seq {
        return Ok((Vec::new(), SyncCursor { last_seq, has_more: false, resync: false, page_seq: Some(after) }));
    }
    // A channel event meant for one user (a shadowed message) keeps its place in the sequence
    // but is delivered to that user only (posting.rs).
    let payload = match viewer {
        Some(_) => "CASE WHEN only_user_id IS NULL OR only_user_id = $4 THEN payload END",
        None => "payload",
    };
    let sql = format!(
        "SELECT seq, {payload} FROM {table} WHERE {key_column} = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    let mut q = sqlx::query_as(&sql).bind(key).bind(after as i64).bind(limit + 1);
    if let Some(v) = viewer {
        q = q.bind(v);
    }
    let mut rows: Vec<(i64, Option<Value>)> = q.fetch_all(db).await?;
    // The log must continue exactly where the client stopped; anything else is a hole.
    if rows.first().map(|r| r.0 as u64) != Some(after + 1) {
        return Ok((Vec::new(), resync(last_seq)));
    }
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    // The page cursor counts the events left out for this viewer: a page of nothing but other
    // members' shadowed messages still moves the client on.
    let page_seq = rows.last().map(|r| r.0 as u64);
    let page = rows.into_iter().filter_map(|(_, p)| p).collect();
    Ok((page, SyncCursor { last_seq, has_more, resync: false, page_seq }))
}

fn resync(last_seq: u64) -> SyncCursor {
    SyncCursor { last_seq, has_more: false, resync: true, page_seq: None }
}
