//! Users: upsert by the application's own id (`external_id`), lookup, the wire form, and the
//! online flag kept in Postgres (`is_online`, `last_seen_at`).

use chat_protocol::requests::UserInput;
use chat_protocol::User;
use chrono::NaiveDateTime;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::validate;
use crate::error::{Error, Result};
use crate::time::{fmt, fmt_opt};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub app_id: Uuid,
    pub external_id: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub user_type: Option<String>,
    pub is_deactivated: Option<bool>,
    pub metadata: Option<Json<serde_json::Map<String, serde_json::Value>>>,
    pub is_online: Option<bool>,
    pub last_seen_at: Option<NaiveDateTime>,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

pub const USER_COLUMNS: &str = "id, app_id, external_id, username, display_name, avatar_url, bio, \
     user_type, is_deactivated, metadata, is_online, last_seen_at, created_at, updated_at";

impl UserRow {
    pub fn deactivated(&self) -> bool {
        self.is_deactivated.unwrap_or(false)
    }

    pub fn to_wire(&self) -> User {
        User {
            id: self.external_id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            avatar_url: self.avatar_url.clone(),
            bio: self.bio.clone(),
            user_type: self.user_type.clone().unwrap_or_else(|| "regular".into()),
            metadata: self.metadata.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            is_online: self.is_online.unwrap_or(false),
            is_deactivated: self.deactivated(),
            last_seen_at: fmt_opt(self.last_seen_at),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
        }
    }
}

const USER_TYPES: [&str; 3] = ["regular", "anonymous", "guest"];

fn validate_input(u: &UserInput) -> Result<()> {
    validate::external_id("user id", &u.id)?;
    validate::max_chars("username", u.username.as_deref(), 255)?;
    validate::max_chars("email", u.email.as_deref(), 255)?;
    validate::max_chars("display_name", u.display_name.as_deref(), 255)?;
    validate::max_chars("avatar_url", u.avatar_url.as_deref(), 2048)?;
    validate::max_chars("bio", u.bio.as_deref(), 5000)?;
    if let Some(t) = &u.user_type {
        if !USER_TYPES.contains(&t.as_str()) {
            return Err(Error::invalid("user_type must be regular, anonymous or guest"));
        }
    }
    if let Some(m) = &u.metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    Ok(())
}

/// Creates or updates users by id; fields left out keep their stored values. All-or-nothing.
pub async fn upsert(db: &PgPool, app_id: Uuid, users: &[UserInput]) -> Result<Vec<UserRow>> {
    if users.is_empty() || users.len() > 100 {
        return Err(Error::invalid("users must hold 1 to 100 users"));
    }
    for u in users {
        validate_input(u)?;
    }
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let sql = format!(
            "INSERT INTO users (app_id, external_id, username, email, display_name, avatar_url, bio,
                                user_type, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, 'regular'), COALESCE($9, '{{}}'::jsonb))
             ON CONFLICT (app_id, external_id) DO UPDATE SET
               username = COALESCE(EXCLUDED.username, users.username),
               email = COALESCE($4, users.email),
               display_name = COALESCE($5, users.display_name),
               avatar_url = COALESCE($6, users.avatar_url),
               bio = COALESCE($7, users.bio),
               user_type = COALESCE($8, users.user_type),
               metadata = COALESCE($9, users.metadata),
               updated_at = NOW()
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query_as::<_, UserRow>(&sql)
            .bind(app_id)
            .bind(&u.id)
            .bind(&u.username)
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(&u.avatar_url)
            .bind(&u.bio)
            .bind(&u.user_type)
            .bind(u.metadata.clone().map(Json))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    Error::api(chat_protocol::ErrorCode::IdConflict, "that email is used by another user")
                }
                _ => Error::Db(e),
            })?;
        out.push(row);
    }
    tx.commit().await?;
    Ok(out)
}

pub async fn by_external_id(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    external_id: &str,
) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND external_id = $2");
    Ok(sqlx::query_as::<_, UserRow>(&sql).bind(app_id).bind(external_id).fetch_optional(db).await?)
}

/// Maps application user ids to internal UUIDs; fails naming the first unknown id.
pub async fn resolve_ids(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    external_ids: &[String],
) -> Result<Vec<(String, Uuid)>> {
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT external_id, id FROM users WHERE app_id = $1 AND external_id = ANY($2)",
    )
    .bind(app_id)
    .bind(external_ids)
    .fetch_all(db)
    .await?;
    if let Some(missing) = external_ids.iter().find(|e| !rows.iter().any(|(x, _)| x == *e)) {
        return Err(Error::invalid(format!("unknown user {missing:?}")));
    }
    Ok(rows)
}

/// Records that the user is (or no longer is) connected somewhere.
pub async fn set_online(db: &PgPool, user_id: Uuid, online: bool) -> Result<()> {
    sqlx::query("UPDATE users SET is_online = $2, last_seen_at = NOW() WHERE id = $1")
        .bind(user_id)
        .bind(online)
        .execute(db)
        .await?;
    Ok(())
}
