//! Application settings and teams, managed by the application's backend (api_secret): read and
//! change the settings (`multi_tenant`, `allow_guests`), get-or-create teams by name, list them,
//! and put users into a team or take them out. Teams are unique by name within an application.

use chat_protocol::requests::{AppDetails, AppSettings, AppSettingsPatch, Team};
use chrono::NaiveDateTime;
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{users, validate};
use crate::error::{Error, Result};
use crate::time::fmt;

type AppRow = (Uuid, String, String, Option<Json<serde_json::Value>>, Option<bool>, Option<NaiveDateTime>, Option<NaiveDateTime>);

const APP_COLUMNS: &str = "id, name, api_key, settings, is_active, created_at, updated_at";

fn flag(settings: &Option<Json<serde_json::Value>>, name: &str) -> bool {
    // A value that is not a boolean counts as off (as `users::app_setting` reads it).
    settings.as_ref().and_then(|s| s.0.get(name)).and_then(serde_json::Value::as_bool).unwrap_or(false)
}

fn app_details(r: AppRow) -> AppDetails {
    AppDetails {
        id: r.0.to_string(),
        name: r.1,
        api_key: r.2,
        settings: AppSettings { multi_tenant: flag(&r.3, "multi_tenant"), allow_guests: flag(&r.3, "allow_guests") },
        is_active: r.4.unwrap_or(true),
        created_at: r.5.map(fmt).unwrap_or_default(),
        updated_at: r.6.map(fmt).unwrap_or_default(),
    }
}

pub async fn app(db: &PgPool, app_id: Uuid) -> Result<AppDetails> {
    let sql = format!("SELECT {APP_COLUMNS} FROM applications WHERE id = $1");
    Ok(app_details(sqlx::query_as::<_, AppRow>(&sql).bind(app_id).fetch_one(db).await?))
}

/// Changes the name and the settings given; other stored settings keys are kept.
pub async fn update_app(db: &PgPool, app_id: Uuid, name: Option<&str>, settings: Option<&AppSettingsPatch>) -> Result<AppDetails> {
    if let Some(n) = name {
        if n.trim().is_empty() || n.chars().count() > 255 {
            return Err(Error::invalid("name must be 1-255 characters"));
        }
    }
    let mut patch = serde_json::Map::new();
    if let Some(s) = settings {
        if let Some(v) = s.multi_tenant {
            patch.insert("multi_tenant".into(), v.into());
        }
        if let Some(v) = s.allow_guests {
            patch.insert("allow_guests".into(), v.into());
        }
    }
    let sql = format!(
        "UPDATE applications SET name = COALESCE($2, name),
                settings = COALESCE(settings, '{{}}'::jsonb) || $3, updated_at = NOW()
          WHERE id = $1 RETURNING {APP_COLUMNS}"
    );
    let row = sqlx::query_as::<_, AppRow>(&sql).bind(app_id).bind(name).bind(Json(patch)).fetch_one(db).await?;
    Ok(app_details(row))
}

type TeamRow = (Uuid, String, Option<Json<serde_json::Map<String, serde_json::Value>>>, i64, Option<NaiveDateTime>);

const TEAM_SELECT: &str = "SELECT t.id, t.name, t.metadata,
        (SELECT COUNT(*) FROM users u WHERE u.team_id = t.id) AS user_count, t.created_at
   FROM teams t";

fn team(r: TeamRow) -> Team {
    Team {
        id: r.0.to_string(),
        name: r.1,
        metadata: r.2.map(|j| j.0).unwrap_or_default(),
        user_count: r.3.max(0) as u32,
        created_at: r.4.map(fmt).unwrap_or_default(),
    }
}

fn validate_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(Error::invalid("team name must be 1-255 characters"));
    }
    Ok(())
}

/// The team named `name`, created (with `metadata`) when the application has none by that name.
/// Race-free: the unique index on (app_id, name) decides.
pub async fn get_or_create(
    db: &PgPool,
    app_id: Uuid,
    name: &str,
    metadata: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Team> {
    validate_name(name)?;
    if let Some(m) = metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    sqlx::query(
        "INSERT INTO teams (app_id, name, metadata) VALUES ($1, $2, COALESCE($3, '{}'::jsonb))
         ON CONFLICT (app_id, name) DO NOTHING",
    )
    .bind(app_id)
    .bind(name)
    .bind(metadata.map(Json))
    .execute(db)
    .await?;
    by_name(db, app_id, name).await?.ok_or_else(|| Error::not_found(format!("team {name:?} vanished")))
}

pub async fn by_name(db: &PgPool, app_id: Uuid, name: &str) -> Result<Option<Team>> {
    let sql = format!("{TEAM_SELECT} WHERE t.app_id = $1 AND t.name = $2");
    Ok(sqlx::query_as::<_, TeamRow>(&sql).bind(app_id).bind(name).fetch_optional(db).await?.map(team))
}

pub async fn list(db: &PgPool, app_id: Uuid) -> Result<Vec<Team>> {
    let sql = format!("{TEAM_SELECT} WHERE t.app_id = $1 ORDER BY t.name");
    Ok(sqlx::query_as::<_, TeamRow>(&sql).bind(app_id).fetch_all(db).await?.into_iter().map(team).collect())
}

/// Puts users into the team (`join`), moving them out of any other team, or takes them out of
/// it (`!join`; users in another team are left alone). All or nothing.
pub async fn assign(db: &PgPool, app_id: Uuid, name: &str, user_ids: &[String], join: bool) -> Result<Team> {
    validate_name(name)?;
    if user_ids.is_empty() || user_ids.len() > 100 {
        return Err(Error::invalid("user_ids must hold 1 to 100 user ids"));
    }
    for u in user_ids {
        validate::external_id("user id", u)?;
    }
    let team = by_name(db, app_id, name).await?.ok_or_else(|| Error::not_found(format!("no team named {name:?}")))?;
    let team_id = Uuid::parse_str(&team.id).map_err(|_| Error::invalid("bad team id"))?;
    let mut tx = db.begin().await?;
    let ids: Vec<Uuid> = users::resolve_ids(&mut *tx, app_id, user_ids).await?.into_iter().map(|(_, id)| id).collect();
    let sql = if join {
        "UPDATE users SET team_id = $2, updated_at = NOW() WHERE id = ANY($1) AND team_id IS DISTINCT FROM $2"
    } else {
        "UPDATE users SET team_id = NULL, updated_at = NOW() WHERE id = ANY($1) AND team_id = $2"
    };
    sqlx::query(sql).bind(&ids).bind(team_id).execute(&mut *tx).await?;
    tx.commit().await?;
    by_name(db, app_id, name).await?.ok_or_else(|| Error::not_found(format!("no team named {name:?}")))
}
