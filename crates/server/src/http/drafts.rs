//! Draft endpoints: save / get / delete the caller's draft of a channel or a thread
//! (`parent_id`), and list all of the caller's drafts.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_protocol::requests::{DraftResponse, DraftsResponse, UpsertDraft};

use super::extract::{Body, UserAuth};
use crate::domain::drafts;
use crate::error::{Error, Result};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/channels/{type}/{id}/draft", post(upsert).get(get_one).delete(delete_one))
        .route("/v1/drafts", get(list))
}

fn only(q: &HashMap<String, String>, allowed: &[&str]) -> Result<()> {
    match q.keys().find(|k| k.as_str() != "api_key" && !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(format!("unknown query parameter {k:?}"))),
        None => Ok(()),
    }
}

async fn upsert(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Body(req): Body<UpsertDraft>,
) -> Result<Json<DraftResponse>> {
    let (draft, events) = drafts::upsert(&state, &auth.user, &channel_type, &id, &req).await?;
    state.hub().publish(&events).await;
    Ok(Json(DraftResponse { draft }))
}

async fn get_one(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<DraftResponse>> {
    only(&q, &["parent_id"])?;
    let draft = drafts::get(&state, &auth.user, &channel_type, &id, q.get("parent_id").map(String::as_str)).await?;
    Ok(Json(DraftResponse { draft }))
}

async fn delete_one(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>> {
    only(&q, &["parent_id"])?;
    let parent = q.get("parent_id").map(String::as_str);
    let (deleted, events) = drafts::delete(&state, &auth.user, &channel_type, &id, parent).await?;
    state.hub().publish(&events).await;
    Ok(Json(serde_json::json!({ "deleted": deleted })))
}

async fn list(State(state): State<AppState>, auth: UserAuth, Query(q): Query<HashMap<String, String>>) -> Result<Json<DraftsResponse>> {
    only(&q, &["limit", "next"])?;
    let limit = match q.get("limit") {
        Some(v) => v.parse::<i64>().map_err(|_| Error::invalid("limit must be an integer"))?,
        None => 30,
    };
    let (drafts, next) = drafts::list(&state, &auth.user, limit, q.get("next").map(String::as_str)).await?;
    Ok(Json(DraftsResponse { drafts, next }))
}
