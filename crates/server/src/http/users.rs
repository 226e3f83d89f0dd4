//! User endpoints: query users, update one's own profile, guest sign-up, and (server side)
//! deactivate / reactivate a user. Deactivation closes the user's sockets on every node (4006).

use axum::extract::{Path, State};
use axum::routing::{patch, post};
use axum::{Json, Router};
use chat_protocol::requests::{CreateGuest, GuestResponse, QueryUsers, UpdateMe, UserResponse, UsersPage};
use chat_protocol::{ApiError, CloseCode, ErrorCode};

use super::extract::{Body, SecretAuth, UserAuth};
use crate::auth;
use crate::domain::users;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Lifetime of a guest's token.
pub const GUEST_TOKEN_SECS: u64 = 30 * 86_400;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/users/query", post(query))
        .route("/v1/me", patch(update_me))
        .route("/v1/guest", post(guest))
        .route("/v1/users/{id}/deactivate", post(deactivate))
        .route("/v1/users/{id}/reactivate", post(reactivate))
}

async fn query(State(state): State<AppState>, auth: UserAuth, Body(req): Body<QueryUsers>) -> Result<Json<UsersPage>> {
    Ok(Json(users::query(state.db(), &auth.user, &req).await?))
}

async fn update_me(State(state): State<AppState>, auth: UserAuth, Body(req): Body<UpdateMe>) -> Result<Json<UserResponse>> {
    let (user, events) = users::update_profile(state.db(), &auth.user, &req).await?;
    state.hub().publish(&events).await;
    Ok(Json(UserResponse { user: user.to_wire() }))
}

async fn guest(State(state): State<AppState>, Body(req): Body<CreateGuest>) -> Result<Json<GuestResponse>> {
    let app = auth::app_by_key(&state, &req.api_key).await?;
    if !users::app_setting(state.db(), app.id, "allow_guests").await? {
        return Err(Error::forbidden("this application does not allow guest users"));
    }
    let user = users::create_guest(state.db(), app.id, &req.user).await?;
    let token = auth::mint(&app, &user.external_id, Some(GUEST_TOKEN_SECS))?;
    Ok(Json(GuestResponse { user: user.to_wire(), token: token.token, expires_at: token.expires_at }))
}

async fn set_active(state: AppState, app_id: uuid::Uuid, id: &str, deactivated: bool) -> Result<Json<UserResponse>> {
    let (user, events) = users::set_deactivated(state.db(), app_id, id, deactivated).await?;
    state.hub().publish(&events).await;
    if deactivated {
        // Also when nothing changed: a socket that slipped in during an earlier call goes too.
        let error = ApiError::new(ErrorCode::UserDeactivated, "the user has been deactivated");
        state.hub().close_user(user.id, CloseCode::UserDeactivated, &error).await;
    }
    Ok(Json(UserResponse { user: user.to_wire() }))
}

async fn deactivate(State(state): State<AppState>, SecretAuth(app): SecretAuth, Path(id): Path<String>) -> Result<Json<UserResponse>> {
    set_active(state, app.id, &id, true).await
}

async fn reactivate(State(state): State<AppState>, SecretAuth(app): SecretAuth, Path(id): Path<String>) -> Result<Json<UserResponse>> {
    set_active(state, app.id, &id, false).await
}
