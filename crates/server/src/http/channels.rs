//! Client endpoints for channels and messages: get-or-create, get, send, list.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use chat_protocol::requests::{ChannelState, CreateChannel, MessageResponse, MessagesResponse, SendMessage};

use super::extract::{Body, UserAuth};
use crate::auth::{self, Identity};
use crate::domain::send_batch::SendRequest;
use crate::domain::{channels, message_list, messages, validate};
use crate::error::{Error, Result};
use crate::state::AppState;

pub async fn me(auth: UserAuth) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user": auth.user.to_wire() }))
}

pub async fn get_or_create(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Body(req): Body<CreateChannel>,
) -> Result<Json<ChannelState>> {
    let (st, events) = channels::get_or_create(state.db(), &mut state.redis(), &auth.user, &channel_type, &id, &req).await?;
    state.hub().publish(&events).await;
    Ok(Json(st))
}

pub async fn get(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
) -> Result<Json<ChannelState>> {
    Ok(Json(channels::state_for(state.db(), &mut state.redis(), &auth.user, &channel_type, &id).await?))
}

/// Sends a message. Nothing is read from Postgres here: the send batch checks the sender and
/// the channel under the channel's lock and stores the message with others in one commit.
pub async fn send_message(
    State(state): State<AppState>,
    who: Identity,
    Path((channel_type, id)): Path<(String, String)>,
    Body(req): Body<SendMessage>,
) -> Result<Json<MessageResponse>> {
    let (_, scheduled) = messages::validate_send(&req)?;
    validate::channel_type(&channel_type)?;
    validate::external_id("channel id", &id)?;
    if scheduled.is_some() {
        // Scheduled messages are only stored now (no sequence number, no event).
        let user = auth::load_user(&state, &who).await?;
        let message = match messages::check(state.db(), &mut state.redis(), &user, &channel_type, &id, &req).await? {
            messages::Checked::Stored(message) => *message,
            messages::Checked::Ready(p) => messages::store_checked(state.db(), &mut state.redis(), &p).await?.0,
        };
        return Ok(Json(MessageResponse { message }));
    }
    let send = SendRequest::new(who.app.id, who.user_id, &channel_type, &id, req)?;
    Ok(Json(MessageResponse { message: state.batcher().submit(send).await? }))
}

pub fn int_param(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>> {
    q.get(name)
        .map(|v| v.parse::<i64>().map_err(|_| Error::invalid(format!("{name} must be an integer"))))
        .transpose()
}

pub async fn list_messages(
    State(state): State<AppState>,
    auth: UserAuth,
    Path((channel_type, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<MessagesResponse>> {
    for k in q.keys() {
        if !["limit", "before_seq", "after_seq", "around_id", "api_key"].contains(&k.as_str()) {
            return Err(Error::invalid(format!("unknown query parameter {k:?}")));
        }
    }
    let limit = int_param(&q, "limit")?.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit must be 1-200"));
    }
    let around = q.get("around_id").map(|v| validate::uuid("around_id", v)).transpose()?;
    let page = message_list::Page {
        limit,
        before_seq: int_param(&q, "before_seq")?,
        after_seq: int_param(&q, "after_seq")?,
        around,
    };
    let (channel, _) = channels::for_member(state.db(), &auth.user, &channel_type, &id).await?;
    Ok(Json(MessagesResponse { messages: message_list::page(state.db(), auth.user.id, &channel, page).await? }))
}
