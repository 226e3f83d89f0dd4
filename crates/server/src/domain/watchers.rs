//! Who is looking at a channel right now, in Redis: `channel:watchers:{channel}` (users who
//! called `.../watch` and have not stopped or disconnected), `user:watching:{user}` (the
//! channels a user watches, so a disconnect can clean up), and `channel:online:{channel}`
//! (members with at least one live socket). Ids are internal UUIDs. `user.watching.start/stop`
//! are ephemeral events: they carry no channel sequence and are not logged or replayed (the
//! current count is part of the channel state).

use chat_protocol::requests::ChannelState;
use chat_protocol::ServerFrame;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::channels;
use super::users::UserRow;
use crate::error::Result;
use crate::fanout::Outgoing;
use crate::state::AppState;

fn watchers_key(channel_id: Uuid) -> String {
    format!("channel:watchers:{channel_id}")
}

fn watching_key(user_id: Uuid) -> String {
    format!("user:watching:{user_id}")
}

fn online_key(channel_id: Uuid) -> String {
    format!("channel:online:{channel_id}")
}

/// `(watcher_count, online_count)` of a channel.
pub async fn counts(redis: &mut ConnectionManager, channel_id: Uuid) -> Result<(u32, u32)> {
    let (w, o): (u32, u32) =
        redis::pipe().scard(watchers_key(channel_id)).scard(online_key(channel_id)).query_async(redis).await?;
    Ok((w, o))
}

/// Starts watching: the caller joins the watcher set and the members get `user.watching.start`
/// (only when the caller was not watching already). Returns the channel state.
pub async fn watch(
    db: &sqlx::PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<(ChannelState, Vec<Outgoing>)> {
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    let (added, _, count): (u32, u32, u32) = redis::pipe()
        .sadd(watchers_key(channel.id), caller.id.to_string())
        .sadd(watching_key(caller.id), channel.id.to_string())
        .scard(watchers_key(channel.id))
        .query_async(redis)
        .await?;
    let mut out = Vec::new();
    if added == 1 {
        let frame = ServerFrame::UserWatchingStart {
            cid: channel.cid(),
            user_id: caller.external_id.clone(),
            watcher_count: count,
        };
        out.push(Outgoing { recipients: channels::recipient_ids(db, channel.id).await?, frame, stream: None });
    }
    Ok((channels::state_of(db, redis, caller, &channel, &me).await?, out))
}

/// Stops watching; `user.watching.stop` when the caller was watching.
pub async fn stop_watching(
    db: &sqlx::PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<(u32, Vec<Outgoing>)> {
    let (channel, _) = channels::for_member(db, caller, channel_type, key).await?;
    stop(db, redis, channel.id, &channel.cid(), caller).await
}

async fn stop(
    db: &sqlx::PgPool,
    redis: &mut ConnectionManager,
    channel_id: Uuid,
    cid: &str,
    user: &UserRow,
) -> Result<(u32, Vec<Outgoing>)> {
    let (removed, _, count): (u32, u32, u32) = redis::pipe()
        .srem(watchers_key(channel_id), user.id.to_string())
        .srem(watching_key(user.id), channel_id.to_string())
        .scard(watchers_key(channel_id))
        .query_async(redis)
        .await?;
    let mut out = Vec::new();
    if removed == 1 {
        let frame = ServerFrame::UserWatchingStop {
            cid: cid.to_string(),
            user_id: user.external_id.clone(),
            watcher_count: count,
        };
        out.push(Outgoing { recipients: channels::recipient_ids(db, channel_id).await?, frame, stream: None });
    }
    Ok((count, out))
}

/// Called by the websocket session when the user's first socket opens: the user is online in
/// every channel they belong to.
pub async fn on_connect(state: &AppState, user: &UserRow) {
    let rows: Result<Vec<(Uuid,)>, _> = sqlx::query_as(
        "SELECT m.channel_id FROM channel_members m JOIN channels c ON c.id = m.channel_id
          WHERE m.user_id = $1 AND m.invite_rejected_at IS NULL AND c.deleted_at IS NULL LIMIT 10000",
    )
    .bind(user.id)
    .fetch_all(state.db())
    .await;
    let Ok(rows) = rows else { return };
    let mut pipe = redis::pipe();
    for (c,) in &rows {
        pipe.sadd(online_key(*c), user.id.to_string()).ignore();
    }
    if let Err(e) = pipe.query_async::<()>(&mut state.redis()).await {
        tracing::warn!(error = %e, "could not record channel presence");
    }
}

/// Called by the websocket session when a socket closed (after presence): once the user has no
/// live socket left on any node, they stop watching every channel (members get
/// `user.watching.stop`) and are no longer online in any channel.
pub async fn on_disconnect(state: &AppState, user: &UserRow) {
    if let Err(e) = disconnect(state, user).await {
        tracing::warn!(error = %e, "could not clean up watchers after a disconnect");
    }
}

async fn disconnect(state: &AppState, user: &UserRow) -> Result<()> {
    let mut redis = state.redis();
    // Only when the user's last live socket anywhere has closed (presence prunes dead ones).
    let live: u32 = redis::cmd("SCARD").arg(format!("user:sessions:{}", user.id)).query_async(&mut redis).await?;
    if live > 0 {
        return Ok(());
    }
    let watching: Vec<String> = redis::cmd("SMEMBERS").arg(watching_key(user.id)).query_async(&mut redis).await?;
    let ids: Vec<Uuid> = watching.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect();
    let cids: Vec<(Uuid, String, Option<String>)> =
        sqlx::query_as("SELECT id, type, channel_key FROM channels WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(state.db())
            .await?;
    let mut events = Vec::new();
    for (id, t, key) in cids {
        let cid = chat_protocol::cid(&t, &key.unwrap_or_else(|| id.to_string()));
        events.extend(stop(state.db(), &mut redis, id, &cid, user).await?.1);
    }
    let _: () = redis::cmd("DEL").arg(watching_key(user.id)).query_async(&mut redis).await?;
    state.hub().publish(&events).await;
    let rows: Vec<(Uuid,)> = sqlx::query_as("SELECT channel_id FROM channel_members WHERE user_id = $1")
        .bind(user.id)
        .fetch_all(state.db())
        .await?;
    let mut pipe = redis::pipe();
    for (c,) in &rows {
        pipe.srem(online_key(*c), user.id.to_string()).ignore();
    }
    pipe.query_async::<()>(&mut redis).await?;
    Ok(())
}

/// New members that have a live socket are online in the channel. Failures are logged.
pub async fn mark_online_if_connected(redis: &mut ConnectionManager, channel_id: Uuid, user_ids: &[Uuid]) {
    for uid in user_ids {
        let n: Result<u32, _> = redis::cmd("SCARD").arg(format!("user:sessions:{uid}")).query_async(redis).await;
        if let Ok(n) = n {
            if n > 0 {
                let _: Result<(), _> =
                    redis::cmd("SADD").arg(online_key(channel_id)).arg(uid.to_string()).query_async(redis).await;
            }
        }
    }
}

/// A member who left or was removed no longer watches nor is online in the channel.
pub async fn forget_member(redis: &mut ConnectionManager, channel_id: Uuid, user_id: Uuid) {
    let r: Result<(), _> = redis::pipe()
        .srem(watchers_key(channel_id), user_id.to_string())
        .ignore()
        .srem(online_key(channel_id), user_id.to_string())
        .ignore()
        .srem(watching_key(user_id), channel_id.to_string())
        .ignore()
        .query_async(redis)
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not forget a removed member in redis");
    }
}

/// A deleted channel has no watchers and nobody online.
pub async fn forget_channel(redis: &mut ConnectionManager, channel_id: Uuid) {
    let r: Result<(), _> = redis::pipe()
        .del(watchers_key(channel_id))
        .ignore()
        .del(online_key(channel_id))
        .ignore()
        .query_async(redis)
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not clear a deleted channel in redis");
    }
}
