//! Exactly-once for mutations other than message sends. The client sends a mutation id; the
//! first transaction to claim it (an INSERT guarded by the primary key) applies the change and
//! stores its result, and any retry, even a concurrent one, gets that stored result back.

use chat_protocol::ErrorCode;
use serde::Serialize;
use uuid::Uuid;

use super::events::Tx;
use super::validate;
use crate::error::{Error, Result};

/// What claiming a mutation id found.
pub enum Claim {
    /// First time: apply the change, then call [`finish`] in the same transaction.
    Fresh(Uuid),
    /// Already applied: this is its stored result.
    Done(serde_json::Value),
    /// No mutation id was given: apply the change without a record.
    Untracked,
}

/// Claims `mutation_id` inside `tx`. A concurrent claim of the same id waits for this
/// transaction and then sees it as done.
pub async fn claim(
    tx: &mut Tx<'_>,
    app_id: Uuid,
    user_id: Uuid,
    kind: &str,
    mutation_id: Option<&str>,
) -> Result<Claim> {
    let Some(raw) = mutation_id else { return Ok(Claim::Untracked) };
    let id = validate::uuid("mutation_id", raw)?;
    let inserted: Option<(Uuid,)> = sqlx::query_as(
        "INSERT INTO mutations (id, app_id, user_id, kind, result) VALUES ($1, $2, $3, $4, 'null')
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(id)
    .bind(app_id)
    .bind(user_id)
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        return Ok(Claim::Fresh(id));
    }
    let (owner_app, owner_user, owner_kind, result): (Uuid, Uuid, String, serde_json::Value) =
        sqlx::query_as("SELECT app_id, user_id, kind, result FROM mutations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    if owner_app != app_id || owner_user != user_id || owner_kind != kind {
        return Err(Error::api(ErrorCode::IdConflict, "that mutation_id was used for another change"));
    }
    Ok(Claim::Done(result))
}

/// Stores the result of a fresh mutation (no-op for untracked ones).
pub async fn finish(tx: &mut Tx<'_>, claim: &Claim, result: &impl Serialize) -> Result<()> {
    if let Claim::Fresh(id) = claim {
        sqlx::query("UPDATE mutations SET result = $2 WHERE id = $1")
            .bind(id)
            .bind(serde_json::to_value(result)?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
