//! Client endpoints for single messages, reactions, read state, sync and search.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chat_protocol::requests::{
    MarkRead, MessageResponse, MessagesResponse, ReactionResponse, ReadResponse, SearchRequest, SearchResponse,
    SendReaction, SyncRequest, SyncResponse, UnreadResponse, UpdateMessage,
};

use super::channels::int_param;
use super::extract::{Body, UserAuth};
use crate::domain::{channels, message_list, message_ops, reactions, reads, search, sync};
use crate::error::{Error, Result};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages/{id}", get(get_message).patch(edit).delete(remove))
        .route("/v1/messages/{id}/pin", post(pin).delete(unpin))
        .route("/v1/messages/{id}/replies", get(replies))
        .route("/v1/messages/{id}/reactions", post(react))
        .route("/v1/messages/{id}/reactions/{type}", delete(unreact))
        .route("/v1/channels/{type}/{id}/pinned", get(pinned))
        .route("/v1/channels/{type}/{id}/read", post(mark_read))
        .route("/v1/channels/{type}/{id}/unread", post(mark_unread))
        .route("/v1/unread", get(unread))
        .route("/v1/sync", post(sync_handler))
        .route("/v1/search", post(search_handler))
}

type Q = Query<HashMap<String, String>>;

fn only(q: &HashMap<String, String>, allowed: &[&str]) -> Result<()> {
    match q.keys().find(|k| !allowed.contains(&k.as_str()) && k.as_str() != "api_key") {
        Some(k) => Err(Error::invalid(format!("unknown query parameter {k:?}"))),
        None => Ok(()),
    }
}

fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool> {
    match q.get(name).map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(Error::invalid(format!("{name} must be true or false"))),
    }
}

async fn get_message(State(s): State<AppState>, auth: UserAuth, Path(id): Path<String>) -> Result<Json<MessageResponse>> {
    Ok(Json(MessageResponse { message: message_ops::get(s.db(), &auth.user, &id).await? }))
}

async fn edit(
    State(s): State<AppState>,
    auth: UserAuth,
    Path(id): Path<String>,
    Body(req): Body<UpdateMessage>,
) -> Result<Json<MessageResponse>> {
    let (message, events) = message_ops::edit(s.db(), &auth.user, &id, &req).await?;
    s.hub().publish(&events).await;
    Ok(Json(MessageResponse { message }))
}

async fn remove(State(s): State<AppState>, auth: UserAuth, Path(id): Path<String>, Query(q): Q) -> Result<Json<MessageResponse>> {
    only(&q, &["hard", "mutation_id"])?;
    let hard = flag(&q, "hard")?;
    let (message, events) = message_ops::delete(s.db(), &auth.user, &id, hard, q.get("mutation_id").map(String::as_str)).await?;
    s.hub().publish(&events).await;
    Ok(Json(MessageResponse { message }))
}

async fn set_pin(s: AppState, auth: UserAuth, id: String, q: HashMap<String, String>, on: bool) -> Result<Json<MessageResponse>> {
    only(&q, &["mutation_id"])?;
    let (message, events) = message_ops::pin(s.db(), &auth.user, &id, on, q.get("mutation_id").map(String::as_str)).await?;
    s.hub().publish(&events).await;
    Ok(Json(MessageResponse { message }))
}

async fn pin(State(s): State<AppState>, auth: UserAuth, Path(id): Path<String>, Query(q): Q) -> Result<Json<MessageResponse>> {
    set_pin(s, auth, id, q, true).await
}

async fn unpin(State(s): State<AppState>, auth: UserAuth, Path(id): Path<String>, Query(q): Q) -> Result<Json<MessageResponse>> {
    set_pin(s, auth, id, q, false).await
}

async fn replies(State(s): State<AppState>, auth: UserAuth, Path(id): Path<String>, Query(q): Q) -> Result<Json<MessagesResponse>> {
    only(&q, &["limit", "before_seq", "after_seq"])?;
    let (parent, channel, _) = message_ops::locate(s.db(), &auth.user, &id).await?;
    if parent.parent_message_id.is_some() {
        return Err(Error::invalid("that message is a reply; list the replies of its parent"));
    }
    let page = message_list::Page {
        limit: int_param(&q, "limit")?.unwrap_or(50),
        before_seq: int_param(&q, "before_seq")?,
        after_seq: int_param(&q, "after_seq")?,
        around: None,
    };
    Ok(Json(MessagesResponse { messages: message_list::replies(s.db(), auth.user.id, &channel, parent.id, page).await? }))
}

async fn react(
    State(s): State<AppState>,
    auth: UserAuth,
    Path(id): Path<String>,
    Body(req): Body<SendReaction>,
) -> Result<Json<ReactionResponse>> {
    let (resp, events) = reactions::add(s.db(), &auth.user, &id, &req).await?;
    s.hub().publish(&events).await;
    Ok(Json(resp))
}

async fn unreact(
    State(s): State<AppState>,
    auth: UserAuth,
    Path((id, reaction_type)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Json<ReactionResponse>> {
    only(&q, &["mutation_id"])?;
    let (resp, events) =
        reactions::remove(s.db(), &auth.user, &id, &reaction_type, q.get("mutation_id").map(String::as_str)).await?;
    s.hub().publish(&events).await;
    Ok(Json(resp))
}

async fn pinned(
    State(s): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Json<MessagesResponse>> {
    only(&q, &["limit"])?;
    let (channel, _) = channels::for_member(s.db(), &auth.user, &channel_type, &id).await?;
    let limit = int_param(&q, "limit")?.unwrap_or(50);
    Ok(Json(MessagesResponse { messages: message_list::pinned(s.db(), auth.user.id, &channel, limit).await? }))
}

async fn mark_read(
    State(s): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Body(req): Body<MarkRead>,
) -> Result<Json<ReadResponse>> {
    let (resp, events) = reads::mark_read(s.db(), &auth.user, &channel_type, &id, &req).await?;
    s.hub().publish(&events).await;
    Ok(Json(resp))
}

async fn mark_unread(
    State(s): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Body(req): Body<MarkRead>,
) -> Result<Json<ReadResponse>> {
    let (resp, events) = reads::mark_unread(s.db(), &auth.user, &channel_type, &id, &req).await?;
    s.hub().publish(&events).await;
    Ok(Json(resp))
}

async fn unread(State(s): State<AppState>, auth: UserAuth) -> Result<Json<UnreadResponse>> {
    Ok(Json(reads::unread(s.db(), &auth.user).await?))
}

async fn sync_handler(State(s): State<AppState>, auth: UserAuth, Body(req): Body<SyncRequest>) -> Result<Json<SyncResponse>> {
    Ok(Json(sync::sync(s.db(), &auth.user, &req).await?))
}

async fn search_handler(
    State(s): State<AppState>,
    auth: UserAuth,
    Body(req): Body<SearchRequest>,
) -> Result<Json<SearchResponse>> {
    Ok(Json(search::search(s.db(), &auth.user, &req).await?))
}
