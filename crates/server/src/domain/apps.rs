//! Applications (tenants): creation with a fresh api_key / api_secret, lookup by api_key, and
//! the demo application.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Error, Result};
use chat_protocol::ErrorCode;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct App {
    pub id: Uuid,
    pub name: String,
    pub api_key: String,
    pub api_secret: String,
    pub is_active: Option<bool>,
}

impl App {
    pub fn active(&self) -> bool {
        self.is_active.unwrap_or(true)
    }
}

fn random_string(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Creates an application with a random api_key (public) and api_secret (private).
pub async fn create(db: &PgPool, name: &str) -> Result<App> {
    create_with_key(db, name, &random_string(20).to_lowercase()).await
}

pub async fn create_with_key(db: &PgPool, name: &str, api_key: &str) -> Result<App> {
    let app = sqlx::query_as::<_, App>(
        "INSERT INTO applications (name, api_key, api_secret) VALUES ($1, $2, $3)
         RETURNING id, name, api_key, api_secret, is_active",
    )
    .bind(name)
    .bind(api_key)
    .bind(random_string(48))
    .fetch_one(db)
    .await?;
    Ok(app)
}

pub async fn by_key(db: &PgPool, api_key: &str) -> Result<Option<App>> {
    Ok(sqlx::query_as::<_, App>(
        "SELECT id, name, api_key, api_secret, is_active FROM applications WHERE api_key = $1",
    )
    .bind(api_key)
    .fetch_optional(db)
    .await?)
}

/// The demo application (api_key `demo`), created on first use; race-free across nodes.
pub async fn ensure_demo(db: &PgPool) -> Result<App> {
    sqlx::query(
        "INSERT INTO applications (name, api_key, api_secret) VALUES ('Demo', 'demo', $1)
         ON CONFLICT (api_key) DO NOTHING",
    )
    .bind(random_string(48))
    .execute(db)
    .await?;
    by_key(db, "demo")
        .await?
        .ok_or_else(|| Error::api(ErrorCode::Internal, "the demo application vanished"))
}
