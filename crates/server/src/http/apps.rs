//! Server-side endpoints (api_key + api_secret) for the application's own settings and its
//! teams: `GET` / `PATCH /v1/app`, `POST` / `GET /v1/teams`, and putting users into a team or
//! taking them out.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_protocol::requests::{AppResponse, CreateTeam, TeamResponse, TeamUsers, TeamsResponse, UpdateApp};

use super::extract::{Body, SecretAuth};
use crate::domain::teams;
use crate::error::Result;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/app", get(get_app).patch(update_app))
        .route("/v1/teams", post(create_team).get(list_teams))
        .route("/v1/teams/{name}/users", post(add_users))
        .route("/v1/teams/{name}/users/remove", post(remove_users))
}

async fn get_app(State(s): State<AppState>, SecretAuth(app): SecretAuth) -> Result<Json<AppResponse>> {
    Ok(Json(AppResponse { app: teams::app(s.db(), app.id).await? }))
}

async fn update_app(State(s): State<AppState>, SecretAuth(app): SecretAuth, Body(req): Body<UpdateApp>) -> Result<Json<AppResponse>> {
    Ok(Json(AppResponse { app: teams::update_app(s.db(), app.id, req.name.as_deref(), req.settings.as_ref()).await? }))
}

async fn create_team(State(s): State<AppState>, SecretAuth(app): SecretAuth, Body(req): Body<CreateTeam>) -> Result<Json<TeamResponse>> {
    Ok(Json(TeamResponse { team: teams::get_or_create(s.db(), app.id, &req.name, req.metadata.as_ref()).await? }))
}

async fn list_teams(State(s): State<AppState>, SecretAuth(app): SecretAuth) -> Result<Json<TeamsResponse>> {
    Ok(Json(TeamsResponse { teams: teams::list(s.db(), app.id).await? }))
}

async fn add_users(
    State(s): State<AppState>,
    SecretAuth(app): SecretAuth,
    Path(name): Path<String>,
    Body(req): Body<TeamUsers>,
) -> Result<Json<TeamResponse>> {
    Ok(Json(TeamResponse { team: teams::assign(s.db(), app.id, &name, &req.user_ids, true).await? }))
}

async fn remove_users(
    State(s): State<AppState>,
    SecretAuth(app): SecretAuth,
    Path(name): Path<String>,
    Body(req): Body<TeamUsers>,
) -> Result<Json<TeamResponse>> {
    Ok(Json(TeamResponse { team: teams::assign(s.db(), app.id, &name, &req.user_ids, false).await? }))
}
