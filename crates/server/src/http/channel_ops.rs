//! Client endpoints that change or list channels: distinct create, query, update (full and
//! partial), delete, freeze/unfreeze, truncate, watch/stop-watching.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use chat_protocol::requests::{
    ChannelResponse, ChannelState, CreateDistinctChannel, PartialUpdateChannel, QueryChannels, QueryChannelsResponse,
    TruncateChannel, UpdateChannel,
};

use super::extract::{Body, UserAuth};
use crate::domain::{channel_admin, channel_query, channels, watchers};
use crate::error::Result;
use crate::fanout::Outgoing;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/channels/query", post(query))
        .route("/v1/channels/{type}", post(create_distinct))
        .route("/v1/channels/{type}/{id}", axum::routing::put(update).patch(partial_update).delete(delete))
        .route("/v1/channels/{type}/{id}/freeze", post(freeze))
        .route("/v1/channels/{type}/{id}/unfreeze", post(unfreeze))
        .route("/v1/channels/{type}/{id}/truncate", post(truncate))
        .route("/v1/channels/{type}/{id}/watch", post(watch))
        .route("/v1/channels/{type}/{id}/stop-watching", post(stop_watching))
}

async fn publish(state: &AppState, events: &[Outgoing]) {
    if !events.is_empty() {
        state.hub().publish(events).await;
    }
}

async fn channel_answer(
    state: &AppState,
    r: (chat_protocol::model::ChannelDetails, Vec<Outgoing>),
) -> Json<ChannelResponse> {
    publish(state, &r.1).await;
    Json(ChannelResponse { channel: r.0 })
}

async fn create_distinct(
    State(state): State<AppState>,
    auth: UserAuth,
    Path(channel_type): Path<String>,
    Body(req): Body<CreateDistinctChannel>,
) -> Result<Json<ChannelState>> {
    let mut redis = state.redis();
    let (st, events) =
        channels::get_or_create_distinct(state.db(), &mut redis, &auth.user, &channel_type, &req).await?;
    publish(&state, &events).await;
    Ok(Json(st))
}

async fn query(
    State(state): State<AppState>,
    auth: UserAuth,
    Body(req): Body<QueryChannels>,
) -> Result<Json<QueryChannelsResponse>> {
    Ok(Json(channel_query::query(state.db(), &mut state.redis(), &auth.user, &req).await?))
}

async fn update(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
    Body(req): Body<UpdateChannel>,
) -> Result<Json<ChannelResponse>> {
    let r = channel_admin::update(state.db(), &auth.user, &t, &id, &req).await?;
    Ok(channel_answer(&state, r).await)
}

async fn partial_update(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
    Body(req): Body<PartialUpdateChannel>,
) -> Result<Json<ChannelResponse>> {
    let r = channel_admin::partial_update(state.db(), &auth.user, &t, &id, &req).await?;
    Ok(channel_answer(&state, r).await)
}

async fn delete(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<ChannelResponse>> {
    let r = channel_admin::delete(state.db(), &mut state.redis(), &auth.user, &t, &id).await?;
    Ok(channel_answer(&state, r).await)
}

async fn freeze(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<ChannelResponse>> {
    let r = channel_admin::set_frozen(state.db(), &auth.user, &t, &id, true).await?;
    Ok(channel_answer(&state, r).await)
}

async fn unfreeze(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<ChannelResponse>> {
    let r = channel_admin::set_frozen(state.db(), &auth.user, &t, &id, false).await?;
    Ok(channel_answer(&state, r).await)
}

async fn truncate(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
    Body(req): Body<TruncateChannel>,
) -> Result<Json<ChannelResponse>> {
    let r = channel_admin::truncate(state.db(), &auth.user, &t, &id, &req).await?;
    Ok(channel_answer(&state, r).await)
}

async fn watch(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<ChannelState>> {
    let (st, events) = watchers::watch(state.db(), &mut state.redis(), &auth.user, &t, &id).await?;
    publish(&state, &events).await;
    Ok(Json(st))
}

async fn stop_watching(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((t, id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>> {
    let (count, events) = watchers::stop_watching(state.db(), &mut state.redis(), &auth.user, &t, &id).await?;
    publish(&state, &events).await;
    Ok(Json(serde_json::json!({ "watcher_count": count })))
}
