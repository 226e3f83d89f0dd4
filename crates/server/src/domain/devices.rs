//! Push devices of users (`user_devices`): idempotent registration by (user, device id), list,
//! removal, and `last_active_at` (set at registration and on every websocket connect that names
//! the device). A push token belongs to one device install: registering it moves it away from
//! any other user of the same application.

use chat_protocol::model::Device;
use chat_protocol::requests::RegisterDevice;
use chrono::NaiveDateTime;
use sqlx::PgPool;
use uuid::Uuid;

use super::users::UserRow;
use crate::error::{Error, Result};
use crate::time::{fmt, fmt_opt};

pub const PUSH_PROVIDERS: [&str; 3] = ["fcm", "apns", "webpush"];
pub const PLATFORMS: [&str; 3] = ["android", "ios", "web"];
/// Devices one user may have registered.
pub const MAX_DEVICES: i64 = 25;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub device_id: String,
    pub push_provider: Option<String>,
    pub push_token: Option<String>,
    pub platform: Option<String>,
    pub last_active_at: Option<NaiveDateTime>,
    pub registered_at: Option<NaiveDateTime>,
}

const COLUMNS: &str = "device_id, push_provider, push_token, platform, last_active_at, registered_at";

impl DeviceRow {
    pub fn to_wire(&self) -> Device {
        Device {
            id: self.device_id.clone(),
            push_provider: self.push_provider.clone().unwrap_or_default(),
            push_token: self.push_token.clone().unwrap_or_default(),
            platform: self.platform.clone(),
            last_active_at: fmt_opt(self.last_active_at),
            registered_at: self.registered_at.map(fmt).unwrap_or_default(),
        }
    }
}

/// Device ids: 1–128 characters of letters, digits and `_-@.!:`.
pub fn validate_device_id(v: &str) -> Result<()> {
    let ok = !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-@.!:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("id must be 1-128 characters of letters, digits and _-@.!:"))
    }
}

fn validate(input: &RegisterDevice) -> Result<()> {
    validate_device_id(&input.id)?;
    if !PUSH_PROVIDERS.contains(&input.push_provider.as_str()) {
        return Err(Error::invalid("push_provider must be fcm, apns or webpush"));
    }
    let t = input.push_token.trim();
    if t.is_empty() || input.push_token.len() > 4096 || input.push_token.chars().any(char::is_control) {
        return Err(Error::invalid("push_token must be 1-4096 printable characters"));
    }
    if let Some(p) = &input.platform {
        if !PLATFORMS.contains(&p.as_str()) {
            return Err(Error::invalid("platform must be android, ios or web"));
        }
    }
    Ok(())
}

/// Registers or updates the device `input.id` of `user`.
pub async fn register(db: &PgPool, user: &UserRow, input: &RegisterDevice) -> Result<DeviceRow> {
    validate(input)?;
    let mut tx = db.begin().await?;
    // Serialise registrations of one user so the device cap holds.
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE").bind(user.id).execute(&mut *tx).await?;
    let (count, exists): (i64, bool) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(bool_or(device_id = $2), false) FROM user_devices WHERE user_id = $1",
    )
    .bind(user.id)
    .bind(&input.id)
    .fetch_one(&mut *tx)
    .await?;
    if !exists && count >= MAX_DEVICES {
        return Err(Error::invalid(format!("a user may register at most {MAX_DEVICES} devices; remove one first")));
    }
    sqlx::query(
        "DELETE FROM user_devices d USING users u
          WHERE d.user_id = u.id AND u.app_id = $1 AND d.push_token = $2 AND d.user_id <> $3",
    )
    .bind(user.app_id)
    .bind(&input.push_token)
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    let sql = format!(
        "INSERT INTO user_devices (user_id, device_id, push_provider, push_token, platform, last_active_at)
         VALUES ($1, $2, $3, $4, $5, NOW())
         ON CONFLICT (user_id, device_id) DO UPDATE SET push_provider = EXCLUDED.push_provider,
           push_token = EXCLUDED.push_token, platform = EXCLUDED.platform, last_active_at = NOW()
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, DeviceRow>(&sql)
        .bind(user.id)
        .bind(&input.id)
        .bind(&input.push_provider)
        .bind(&input.push_token)
        .bind(&input.platform)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn list(db: &PgPool, user: &UserRow) -> Result<Vec<DeviceRow>> {
    let sql = format!("SELECT {COLUMNS} FROM user_devices WHERE user_id = $1 ORDER BY registered_at, device_id");
    Ok(sqlx::query_as::<_, DeviceRow>(&sql).bind(user.id).fetch_all(db).await?)
}

/// Removes a device; true when it existed (removing it again is not an error).
pub async fn remove(db: &PgPool, user: &UserRow, device_id: &str) -> Result<bool> {
    validate_device_id(device_id)?;
    let r = sqlx::query("DELETE FROM user_devices WHERE user_id = $1 AND device_id = $2")
        .bind(user.id)
        .bind(device_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// A websocket connected with `device_id`: marks that device of the user active now.
pub async fn touch(db: &PgPool, user_id: Uuid, device_id: &str) -> Result<()> {
    if device_id.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE user_devices SET last_active_at = NOW() WHERE user_id = $1 AND device_id = $2")
        .bind(user_id)
        .bind(device_id)
        .execute(db)
        .await?;
    Ok(())
}
