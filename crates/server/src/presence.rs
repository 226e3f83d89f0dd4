//! Sessions and presence in Redis, the online flag in Postgres, and `user.presence.changed`.
//!
//! Keys: `session:{sid}` (hash userId, deviceId, node, lastActivity; 24 h TTL),
//! `user:presence:{uid}` ("online"/"away"/"offline"; 300 s TTL, refreshed by health checks) and
//! `user:sessions:{uid}` (set of the user's live session ids, so the last socket to close on any
//! node marks the user offline). `uid` is the internal user UUID (unique across applications).
//!
//! Opening and closing a session are each one atomic step in Redis (MULTI / a Lua script) that
//! also returns the previous status, so across nodes exactly the transitions are announced: the
//! first socket anywhere (→ online), the last socket anywhere (→ offline), and an explicit
//! `presence.set`. Presence events are ephemeral: no sequence number, not logged.

use chat_protocol::ServerFrame;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::domain::users::{self, UserRow};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::state::AppState;
use crate::time::now_unix;

pub const SESSION_TTL_SECS: i64 = 86_400;
pub const PRESENCE_TTL_SECS: i64 = 300;
/// A session whose lastActivity is older than this is dead (its node crashed).
const SESSION_STALE_SECS: i64 = 120;

pub const ONLINE: &str = "online";
pub const AWAY: &str = "away";
pub const OFFLINE: &str = "offline";

/// Records a session; returns the user's previous presence value (if any).
pub async fn open(
    redis: &mut ConnectionManager,
    sid: Uuid,
    user: Uuid,
    device_id: &str,
    node: &str,
) -> Result<Option<String>> {
    let now = now_unix();
    let (prev,): (Option<String>,) = redis::pipe()
        .atomic()
        .hset_multiple(
            format!("session:{sid}"),
            &[("userId", user.to_string()), ("deviceId", device_id.to_string()), ("node", node.to_string()), ("lastActivity", now.to_string())],
        )
        .ignore()
        .expire(format!("session:{sid}"), SESSION_TTL_SECS)
        .ignore()
        .sadd(format!("user:sessions:{user}"), sid.to_string())
        .ignore()
        .cmd("SET")
        .arg(format!("user:presence:{user}"))
        .arg(ONLINE)
        .arg("EX")
        .arg(PRESENCE_TTL_SECS)
        .arg("GET")
        .query_async(redis)
        .await?;
    Ok(prev)
}

/// Refreshes the session's lastActivity and the presence TTL (keeping `away`).
pub async fn touch(redis: &mut ConnectionManager, sid: Uuid, user: Uuid) -> Result<()> {
    let script = r"redis.call('HSET', KEYS[1], 'lastActivity', ARGV[1])
          redis.call('EXPIRE', KEYS[1], ARGV[2])
          if redis.call('GET', KEYS[2]) == 'away' then
            redis.call('EXPIRE', KEYS[2], ARGV[3])
          else
            redis.call('SET', KEYS[2], 'online', 'EX', ARGV[3])
          end
          return 1";
    let _: i64 = redis::cmd("EVAL")
        .arg(script)
        .arg(2)
        .arg(format!("session:{sid}"))
        .arg(format!("user:presence:{user}"))
        .arg(now_unix())
        .arg(SESSION_TTL_SECS)
        .arg(PRESENCE_TTL_SECS)
        .query_async(redis)
        .await?;
    Ok(())
}

/// Closes a session. Returns whether it was the user's last live session anywhere (presence is
/// then set to offline) and the presence value it replaced.
pub async fn close(redis: &mut ConnectionManager, sid: Uuid, user: Uuid) -> Result<(bool, String)> {
    let script = r"redis.call('DEL', KEYS[1])
          redis.call('SREM', KEYS[2], ARGV[1])
          local live = 0
          for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            local last = redis.call('HGET', 'session:' .. other, 'lastActivity')
            if last and (tonumber(ARGV[2]) - tonumber(last)) < tonumber(ARGV[3]) then
              live = live + 1
            else
              redis.call('SREM', KEYS[2], other)
            end
          end
          if live == 0 then
            local prev = redis.call('GET', KEYS[3])
            redis.call('SET', KEYS[3], 'offline', 'EX', ARGV[4])
            return {1, prev or ''}
          end
          return {0, ''}";
    let (last, prev): (i64, String) = redis::cmd("EVAL")
        .arg(script)
        .arg(3)
        .arg(format!("session:{sid}"))
        .arg(format!("user:sessions:{user}"))
        .arg(format!("user:presence:{user}"))
        .arg(sid.to_string())
        .arg(now_unix())
        .arg(SESSION_STALE_SECS)
        .arg(PRESENCE_TTL_SECS)
        .query_async(redis)
        .await?;
    Ok((last == 1, prev))
}

/// Sends `user.presence.changed` to everyone sharing a channel with the user (not the user).
async fn announce(state: &AppState, user: &UserRow, status: &str) -> Result<()> {
    let mut recipients = users::contacts(state.db(), user.id).await?;
    recipients.retain(|u| *u != user.id);
    if recipients.is_empty() {
        return Ok(());
    }
    let frame = ServerFrame::PresenceChanged {
        user_id: user.external_id.clone(),
        status: status.to_string(),
        last_seen_at: Some(crate::time::fmt(chrono::Utc::now().naive_utc())),
    };
    state.hub().publish(&[Outgoing { recipients, frame, stream: None }]).await;
    Ok(())
}

/// A socket of `user` opened: records it, and announces `online` when the user was not online.
pub async fn connected(state: &AppState, user: &UserRow, sid: Uuid, device_id: &str) {
    let mut redis = state.redis();
    let prev = match open(&mut redis, sid, user.id, device_id, &state.config().node_id).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "could not record the session in redis");
            return;
        }
    };
    if let Err(e) = users::set_online(state.db(), user.id, true).await {
        tracing::warn!(error = %e, "could not mark the user online");
    }
    if prev.as_deref() != Some(ONLINE) {
        if let Err(e) = announce(state, user, ONLINE).await {
            tracing::warn!(error = %e, "could not announce presence");
        }
    }
}

/// A socket of `user` closed: when it was the last one on any node, marks the user offline and
/// announces it.
pub async fn disconnected(state: &AppState, user: &UserRow, sid: Uuid) {
    let mut redis = state.redis();
    match close(&mut redis, sid, user.id).await {
        Ok((true, prev)) => {
            if let Err(e) = users::set_online(state.db(), user.id, false).await {
                tracing::warn!(error = %e, "could not mark the user offline");
            }
            if prev != OFFLINE {
                if let Err(e) = announce(state, user, OFFLINE).await {
                    tracing::warn!(error = %e, "could not announce presence");
                }
            }
        }
        Ok((false, _)) => {}
        Err(e) => tracing::warn!(error = %e, "could not close the session in redis"),
    }
}

/// The client's `presence.set`: `online` or `away`; announced when it changes.
pub async fn set_status(state: &AppState, user: &UserRow, status: &str) -> Result<()> {
    if status != ONLINE && status != AWAY {
        return Err(Error::invalid("status must be online or away"));
    }
    crate::ratelimit::check(state, user.id, "presence.set", state.config().rate_limits.presence).await?;
    let mut redis = state.redis();
    let prev: Option<String> = redis::cmd("SET")
        .arg(format!("user:presence:{}", user.id))
        .arg(status)
        .arg("EX")
        .arg(PRESENCE_TTL_SECS)
        .arg("GET")
        .query_async(&mut redis)
        .await?;
    if prev.as_deref() != Some(status) {
        announce(state, user, status).await?;
    }
    Ok(())
}

/// The user's current presence value (`offline` when unknown).
pub async fn status(state: &AppState, user: Uuid) -> Result<String> {
    let mut redis = state.redis();
    let v: Option<String> = redis::cmd("GET").arg(format!("user:presence:{user}")).query_async(&mut redis).await?;
    Ok(v.unwrap_or_else(|| OFFLINE.to_string()))
}
