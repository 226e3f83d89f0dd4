//! Sessions and presence in Redis, and the online flag in Postgres.
//!
//! Keys: `session:{sid}` (hash userId, deviceId, node, lastActivity; 24 h TTL),
//! `user:presence:{uid}` ("online"/"offline"; 300 s TTL, refreshed by health checks) and
//! `user:sessions:{uid}` (set of the user's live session ids, so the last socket to close on any
//! node marks the user offline). `uid` is the internal user UUID (unique across applications).

use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::error::Result;
use crate::time::now_unix;

pub const SESSION_TTL_SECS: i64 = 86_400;
pub const PRESENCE_TTL_SECS: i64 = 300;
/// A session whose lastActivity is older than this is dead (its node crashed).
const SESSION_STALE_SECS: i64 = 120;

pub async fn open(
    redis: &mut ConnectionManager,
    sid: Uuid,
    user: Uuid,
    device_id: &str,
    node: &str,
) -> Result<()> {
    let now = now_unix();
    redis::pipe()
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
        .set_ex(format!("user:presence:{user}"), "online", PRESENCE_TTL_SECS as u64)
        .ignore()
        .query_async::<()>(redis)
        .await?;
    Ok(())
}

/// Refreshes the session's lastActivity and the presence TTL.
pub async fn touch(redis: &mut ConnectionManager, sid: Uuid, user: Uuid) -> Result<()> {
    redis::pipe()
        .hset(format!("session:{sid}"), "lastActivity", now_unix())
        .ignore()
        .expire(format!("session:{sid}"), SESSION_TTL_SECS)
        .ignore()
        .set_ex(format!("user:presence:{user}"), "online", PRESENCE_TTL_SECS as u64)
        .ignore()
        .query_async::<()>(redis)
        .await?;
    Ok(())
}

/// Closes a session. Returns true when it was the user's last live session anywhere, in which
/// case presence is set to offline.
pub async fn close(redis: &mut ConnectionManager, sid: Uuid, user: Uuid) -> Result<bool> {
    let set = format!("user:sessions:{user}");
    redis::pipe()
        .del(format!("session:{sid}"))
        .ignore()
        .srem(&set, sid.to_string())
        .ignore()
        .query_async::<()>(redis)
        .await?;
    let others: Vec<String> = redis::cmd("SMEMBERS").arg(&set).query_async(redis).await?;
    let now = now_unix();
    let mut live = 0;
    for other in others {
        let last: Option<i64> =
            redis::cmd("HGET").arg(format!("session:{other}")).arg("lastActivity").query_async(redis).await?;
        match last {
            Some(t) if now - t < SESSION_STALE_SECS => live += 1,
            _ => {
                let _: () = redis::cmd("SREM").arg(&set).arg(&other).query_async(redis).await?;
            }
        }
    }
    if live == 0 {
        let _: () = redis::cmd("SET")
            .arg(format!("user:presence:{user}"))
            .arg("offline")
            .arg("EX")
            .arg(PRESENCE_TTL_SECS)
            .query_async(redis)
            .await?;
    }
    Ok(live == 0)
}
