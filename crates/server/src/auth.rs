//! Authentication: user tokens (HS256 JWTs signed with the app's secret, claims `user_id`,
//! `iat`, optional `exp`, `jti`), their revocation list in Redis (`revoked:token:{jti}`), api_key
//! lookup and the server-side secret check.
//!
//! Revocations are kept in Postgres (`revoked_tokens`, the truth) and in Redis (what every request
//! checks). Redis also holds the marker [`REVOCATIONS_LOADED_KEY`], set once every revocation in
//! Postgres has been copied there. Every check reads the marker in the same round trip: when it is
//! missing, Redis has lost its data (restarted empty, flushed, evicted), so the token is checked
//! in Postgres and the revocations are copied back into Redis in the background.

use chat_protocol::requests::TokenResponse;
use chat_protocol::ErrorCode;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::apps::{self, App};
use crate::domain::users::{self, UserRow};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::time::now_unix;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub user_id: String,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub jti: String,
}

pub fn mint(app: &App, user_id: &str, expires_in: Option<u64>) -> Result<TokenResponse> {
    let iat = now_unix();
    let exp = expires_in.map(|s| iat + s.min(10 * 365 * 86_400) as i64);
    let claims =
        Claims { user_id: user_id.to_string(), iat, exp, jti: uuid::Uuid::new_v4().to_string() };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(app.api_secret.as_bytes()),
    )
    .map_err(|e| Error::api(ErrorCode::Internal, format!("signing failed: {e}")))?;
    Ok(TokenResponse { token, jti: claims.jti, expires_at: exp })
}

/// Verifies signature and expiry. `check_exp = false` accepts expired tokens (for revocation).
pub fn verify(app: &App, token: &str, check_exp: bool) -> Result<Claims> {
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = check_exp;
    v.leeway = 0;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(app.api_secret.as_bytes()), &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => Error::api(ErrorCode::TokenExpired, "the token has expired"),
            ErrorKind::InvalidSignature => {
                Error::api(ErrorCode::InvalidToken, "the token's signature does not verify")
            }
            _ => Error::api(ErrorCode::InvalidToken, format!("the token is malformed: {e}")),
        })
}

pub fn revoked_key(jti: &str) -> String {
    format!("revoked:token:{jti}")
}

/// Set (no expiry) once Redis holds every revocation stored in Postgres.
pub const REVOCATIONS_LOADED_KEY: &str = "revoked:loaded";

/// The application of `api_key`, from a 5-second cache; `unknown_api_key` / `app_inactive`.
pub async fn app_by_key(state: &AppState, api_key: &str) -> Result<App> {
    if api_key.is_empty() {
        return Err(Error::api(ErrorCode::UnknownApiKey, "no api_key was given"));
    }
    let app = match state.cached_app(api_key) {
        Some(a) => a,
        None => {
            let app = apps::by_key(state.db(), api_key)
                .await?
                .ok_or_else(|| Error::api(ErrorCode::UnknownApiKey, "the api_key names no application"))?;
            state.cache_app(&app);
            app
        }
    };
    if !app.active() {
        return Err(Error::api(ErrorCode::AppInactive, "the application is disabled"));
    }
    Ok(app)
}

/// Who a user request comes from, established from the token alone when this node already
/// knows the user's internal id: the application, the verified claims and that id. It does NOT
/// cover revocation (the caller checks `revoked:token:{jti}`, see [`is_revoked`]; the HTTP
/// middleware does it in the same Redis round trip as the rate limit) nor deactivation (checked
/// by whoever loads the user row: [`load_user`], or the send batch inside its transaction).
#[derive(Debug, Clone)]
pub struct Identity {
    pub app: App,
    pub user_id: uuid::Uuid,
    pub claims: Claims,
}

/// Verifies api_key + token and finds the user's internal id (from this node's cache, else
/// Postgres: `unknown_user` when the user does not exist).
pub async fn identify(state: &AppState, api_key: &str, token: &str) -> Result<Identity> {
    let app = app_by_key(state, api_key).await?;
    if token.is_empty() {
        return Err(Error::api(ErrorCode::MissingToken, "no user token was given"));
    }
    let claims = verify(&app, token, true)?;
    let user_id = match state.cached_user_id(app.id, &claims.user_id) {
        Some(id) => id,
        None => {
            let user = users::by_external_id(state.db(), app.id, &claims.user_id)
                .await?
                .ok_or_else(|| Error::api(ErrorCode::UnknownUser, "the token's user does not exist"))?;
            state.cache_user_id(app.id, &claims.user_id, user.id);
            user.id
        }
    };
    Ok(Identity { app, user_id, claims })
}

/// Whether the token with this `jti` has been revoked: Redis, or Postgres when Redis cannot be
/// reached.
pub async fn is_revoked(state: &AppState, jti: &str) -> Result<bool> {
    let mut redis = state.redis();
    let mut pipe = redis::pipe();
    pipe.exists(revoked_key(jti)).exists(REVOCATIONS_LOADED_KEY);
    match pipe.query_async::<(bool, bool)>(&mut redis).await {
        Ok((revoked, loaded)) => revoked_given(state, jti, revoked, loaded).await,
        Err(e) => {
            warn_redis_down(&e, "revocations checked in Postgres, rate limits not enforced");
            revoked_in_db(state, jti).await
        }
    }
}

/// Whether the token is revoked, given what Redis answered for its key and for
/// [`REVOCATIONS_LOADED_KEY`]. Without the marker Redis may have forgotten revocations:
/// Postgres answers, and a reload into Redis is started (one per node at a time).
pub async fn revoked_given(state: &AppState, jti: &str, revoked: bool, loaded: bool) -> Result<bool> {
    if revoked {
        return Ok(true);
    }
    if loaded {
        return Ok(false);
    }
    reload_revocations_in_background(state);
    revoked_in_db(state, jti).await
}

/// Starts [`reload_revocations`] unless this node is running one already.
pub fn reload_revocations_in_background(state: &AppState) {
    if !state.begin_revocations_reload() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        match reload_revocations(&state).await {
            Ok(n) => tracing::info!(revocations = n, "revocations reloaded into redis"),
            Err(e) => tracing::warn!(error = %e, "reloading revocations into redis failed; retried on the next check"),
        }
        state.end_revocations_reload();
    });
}

/// Copies every revocation in Postgres that can still matter (no expiry, or not yet expired)
/// into Redis, then sets [`REVOCATIONS_LOADED_KEY`]. Revocations made meanwhile write both
/// stores themselves, so nothing is lost between the read and the marker.
pub async fn reload_revocations(state: &AppState) -> Result<usize> {
    // Seconds left, computed in SQL: `expires_at` and NOW() are then read in the same zone.
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT jti, CEIL(EXTRACT(EPOCH FROM (expires_at - NOW()::timestamp)))::bigint
           FROM revoked_tokens WHERE expires_at IS NULL OR expires_at > NOW()::timestamp",
    )
    .fetch_all(state.db())
    .await?;
    let mut redis = state.redis();
    for chunk in rows.chunks(1000) {
        let mut pipe = redis::pipe();
        for (jti, ttl) in chunk {
            match ttl {
                Some(t) if *t > 0 => pipe.cmd("SET").arg(revoked_key(jti)).arg("1").arg("EX").arg(*t).ignore(),
                Some(_) => continue,
                None => pipe.cmd("SET").arg(revoked_key(jti)).arg("1").ignore(),
            };
        }
        let _: () = pipe.query_async(&mut redis).await?;
    }
    let _: () = redis::cmd("SET").arg(REVOCATIONS_LOADED_KEY).arg("1").query_async(&mut redis).await?;
    Ok(rows.len())
}

pub fn revoked_error() -> Error {
    Error::api(ErrorCode::TokenRevoked, "the token has been revoked")
}

/// The identified user's row, refused when the user is deactivated.
pub async fn load_user(state: &AppState, who: &Identity) -> Result<UserRow> {
    let user = users::by_id(state.db(), who.user_id)
        .await?
        .ok_or_else(|| Error::api(ErrorCode::UnknownUser, "the token's user does not exist"))?;
    if user.deactivated() {
        return Err(Error::api(ErrorCode::UserDeactivated, "the user is deactivated"));
    }
    Ok(user)
}

/// Checks api_key + user token: signature, expiry, revocation, user existence and activity.
pub async fn user(state: &AppState, api_key: &str, token: &str) -> Result<(App, UserRow, Claims)> {
    let app = app_by_key(state, api_key).await?;
    if token.is_empty() {
        return Err(Error::api(ErrorCode::MissingToken, "no user token was given"));
    }
    let claims = verify(&app, token, true)?;
    // The revocation check (Redis) and the user (Postgres) are looked up at the same time.
    let (revoked, user) =
        tokio::try_join!(is_revoked(state, &claims.jti), users::by_external_id(state.db(), app.id, &claims.user_id))?;
    if revoked {
        return Err(Error::api(ErrorCode::TokenRevoked, "the token has been revoked"));
    }
    let user = user.ok_or_else(|| Error::api(ErrorCode::UnknownUser, "the token's user does not exist"))?;
    if user.deactivated() {
        return Err(Error::api(ErrorCode::UserDeactivated, "the user is deactivated"));
    }
    Ok((app, user, claims))
}

/// Checks api_key + api_secret for server-side calls.
pub async fn secret(state: &AppState, api_key: &str, secret: &str) -> Result<App> {
    let app = app_by_key(state, api_key).await?;
    if !constant_time_eq(app.api_secret.as_bytes(), secret.as_bytes()) {
        return Err(Error::api(ErrorCode::InvalidSecret, "the api_secret does not match"));
    }
    Ok(app)
}

/// Revokes a token of `app` for the rest of its lifetime (forever when it has no `exp`).
pub async fn revoke(state: &AppState, app: &App, token: &str) -> Result<()> {
    let claims = verify(app, token, false)?;
    // Durably first (what is checked while Redis is unreachable), then where every request looks.
    sqlx::query(
        "INSERT INTO revoked_tokens (jti, app_id, expires_at) VALUES ($1, $2, to_timestamp($3)::timestamp)
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(&claims.jti)
    .bind(app.id)
    .bind(claims.exp.map(|e| e as f64))
    .execute(state.db())
    .await?;
    let mut redis = state.redis();
    let key = revoked_key(&claims.jti);
    match claims.exp {
        Some(exp) => {
            let ttl = exp - now_unix();
            if ttl > 0 {
                let _: () = redis::cmd("SET").arg(&key).arg("1").arg("EX").arg(ttl).query_async(&mut redis).await?;
            }
        }
        None => {
            let _: () = redis::cmd("SET").arg(&key).arg("1").query_async(&mut redis).await?;
        }
    }
    // Sockets opened with the token end too, on every node (4003). One that authenticated
    // before this and registers after the order sees the revocation itself (ws.rs).
    if let Some(user) = users::by_external_id(state.db(), app.id, &claims.user_id).await? {
        let close = chat_protocol::CloseCode::TokenRevoked;
        state.hub().close_token(user.id, &claims.jti, close, &revoked_error().to_api()).await;
    }
    Ok(())
}

/// Whether the token with this `jti` is revoked, from Postgres: the answer while Redis cannot
/// be reached.
pub async fn revoked_in_db(state: &AppState, jti: &str) -> Result<bool> {
    let row: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM revoked_tokens WHERE jti = $1")
        .bind(jti)
        .fetch_optional(state.db())
        .await?;
    Ok(row.is_some())
}

/// Logs that Redis is unreachable and what is done without it, at most every 10 s per process.
pub fn warn_redis_down(error: &redis::RedisError, what: &str) {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_unix();
    let last = LAST.load(Ordering::Relaxed);
    if now - last >= 10 && LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        tracing::warn!(error = %error, "redis unavailable: {what}");
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
