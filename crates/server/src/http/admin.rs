//! Operator and server-side endpoints: create applications (operator token), upsert users, mint
//! and revoke user tokens (app secret).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chat_protocol::requests::{AppCreated, CreateApp, MintToken, RevokeToken, TokenResponse, UpsertUsers, UsersResponse};
use chat_protocol::ErrorCode;

use super::extract::{Body, SecretAuth};
use crate::auth;
use crate::domain::{apps, users, validate};
use crate::error::{Error, Result};
use crate::state::AppState;

pub async fn create_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<CreateApp>,
) -> Result<Json<AppCreated>> {
    let given = headers.get("x-admin-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    match &state.config().admin_token {
        Some(t) if !given.is_empty() && t == given => {}
        Some(_) => return Err(Error::api(ErrorCode::Forbidden, "a valid X-Admin-Token is required")),
        None => return Err(Error::api(ErrorCode::Forbidden, "the operator API is disabled (no admin token configured)")),
    }
    if req.name.trim().is_empty() || req.name.chars().count() > 255 {
        return Err(Error::invalid("name must be 1-255 characters"));
    }
    let app = apps::create(state.db(), &req.name).await?;
    Ok(Json(AppCreated { id: app.id.to_string(), name: app.name, api_key: app.api_key, api_secret: app.api_secret }))
}

pub async fn upsert_users(
    State(state): State<AppState>,
    SecretAuth(app): SecretAuth,
    Body(req): Body<UpsertUsers>,
) -> Result<Json<UsersResponse>> {
    let rows = users::upsert(state.db(), app.id, &req.users).await?;
    Ok(Json(UsersResponse { users: rows.iter().map(|u| u.to_wire()).collect() }))
}

pub async fn mint_token(
    State(state): State<AppState>,
    SecretAuth(app): SecretAuth,
    Body(req): Body<MintToken>,
) -> Result<Json<TokenResponse>> {
    validate::external_id("user_id", &req.user_id)?;
    if users::by_external_id(state.db(), app.id, &req.user_id).await?.is_none() {
        return Err(Error::not_found(format!("user {:?} does not exist; upsert it first", req.user_id)));
    }
    Ok(Json(auth::mint(&app, &req.user_id, req.expires_in)?))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    SecretAuth(app): SecretAuth,
    Body(req): Body<RevokeToken>,
) -> Result<Json<serde_json::Value>> {
    auth::revoke(&state, &app, &req.token).await?;
    Ok(Json(serde_json::json!({ "revoked": true })))
}
