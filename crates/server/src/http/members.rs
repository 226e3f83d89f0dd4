//! Client endpoints for channel members: add, remove, leave, roles, invitations, bans, and the
//! caller's own hide/show/mute/unmute.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use chat_protocol::model::MemberDetails as ChannelMember;
use chat_protocol::requests::{BanMember, ChangeRole, MemberIds, MemberResponse, MembersResponse, UnbanMember};

use super::extract::{Body, UserAuth};
use crate::domain::members::{self, Flag};
use crate::error::Result;
use crate::fanout::Outgoing;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/channels/{type}/{id}/members", post(add))
        .route("/v1/channels/{type}/{id}/members/remove", post(remove))
        .route("/v1/channels/{type}/{id}/members/role", post(change_role))
        .route("/v1/channels/{type}/{id}/leave", post(leave))
        .route("/v1/channels/{type}/{id}/invite", post(invite))
        .route("/v1/channels/{type}/{id}/invite/accept", post(accept))
        .route("/v1/channels/{type}/{id}/invite/reject", post(reject))
        .route("/v1/channels/{type}/{id}/ban", post(ban))
        .route("/v1/channels/{type}/{id}/unban", post(unban))
        .route("/v1/channels/{type}/{id}/hide", post(hide))
        .route("/v1/channels/{type}/{id}/show", post(show))
        .route("/v1/channels/{type}/{id}/mute", post(mute))
        .route("/v1/channels/{type}/{id}/unmute", post(unmute))
}

async fn publish(state: &AppState, events: &[Outgoing]) {
    if !events.is_empty() {
        state.hub().publish(events).await;
    }
}

async fn one(state: &AppState, r: (ChannelMember, Vec<Outgoing>)) -> Json<MemberResponse> {
    publish(state, &r.1).await;
    Json(MemberResponse { member: r.0 })
}

async fn many(state: &AppState, r: (Vec<ChannelMember>, Vec<Outgoing>)) -> Json<MembersResponse> {
    publish(state, &r.1).await;
    Json(MembersResponse { members: r.0 })
}

type P = Path<(String, String)>;

async fn add(
    State(s): State<AppState>,
    a: UserAuth,
    Path((t, id)): P,
    Body(b): Body<MemberIds>,
) -> Result<Json<MembersResponse>> {
    let r = members::add(s.db(), &mut s.redis(), &a.user, &t, &id, &b.user_ids).await?;
    Ok(many(&s, r).await)
}

async fn invite(
    State(s): State<AppState>,
    a: UserAuth,
    Path((t, id)): P,
    Body(b): Body<MemberIds>,
) -> Result<Json<MembersResponse>> {
    let r = members::invite(s.db(), &mut s.redis(), &a.user, &t, &id, &b.user_ids).await?;
    Ok(many(&s, r).await)
}

async fn remove(
    State(s): State<AppState>,
    a: UserAuth,
    Path((t, id)): P,
    Body(b): Body<MemberIds>,
) -> Result<Json<serde_json::Value>> {
    let events = members::remove(s.db(), &mut s.redis(), &a.user, &t, &id, &b.user_ids).await?;
    publish(&s, &events).await;
    Ok(Json(serde_json::json!({ "removed": true })))
}

async fn leave(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<serde_json::Value>> {
    let events = members::leave(s.db(), &mut s.redis(), &a.user, &t, &id).await?;
    publish(&s, &events).await;
    Ok(Json(serde_json::json!({ "left": true })))
}

async fn change_role(
    State(s): State<AppState>,
    a: UserAuth,
    Path((t, id)): P,
    Body(b): Body<ChangeRole>,
) -> Result<Json<MemberResponse>> {
    let r = members::change_role(s.db(), &a.user, &t, &id, &b.user_id, &b.role).await?;
    Ok(one(&s, r).await)
}

async fn accept(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<MemberResponse>> {
    let r = members::answer_invite(s.db(), &mut s.redis(), &a.user, &t, &id, true).await?;
    Ok(one(&s, r).await)
}

async fn reject(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<MemberResponse>> {
    let r = members::answer_invite(s.db(), &mut s.redis(), &a.user, &t, &id, false).await?;
    Ok(one(&s, r).await)
}

async fn ban(
    State(s): State<AppState>,
    a: UserAuth,
    Path((t, id)): P,
    Body(b): Body<BanMember>,
) -> Result<Json<MemberResponse>> {
    let r = members::ban(s.db(), &a.user, &t, &id, &b.user_id, b.expires_in, b.shadow).await?;
    Ok(one(&s, r).await)
}

async fn unban(
    State(s): State<AppState>,
    a: UserAuth,
    Path((t, id)): P,
    Body(b): Body<UnbanMember>,
) -> Result<Json<MemberResponse>> {
    let r = members::unban(s.db(), &a.user, &t, &id, &b.user_id).await?;
    Ok(one(&s, r).await)
}

async fn flag(s: AppState, a: UserAuth, t: String, id: String, f: Flag, on: bool) -> Result<Json<MemberResponse>> {
    let r = members::set_flag(s.db(), &a.user, &t, &id, f, on).await?;
    Ok(one(&s, r).await)
}

async fn hide(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<MemberResponse>> {
    flag(s, a, t, id, Flag::Hidden, true).await
}

async fn show(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<MemberResponse>> {
    flag(s, a, t, id, Flag::Hidden, false).await
}

async fn mute(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<MemberResponse>> {
    flag(s, a, t, id, Flag::Muted, true).await
}

async fn unmute(State(s): State<AppState>, a: UserAuth, Path((t, id)): P) -> Result<Json<MemberResponse>> {
    flag(s, a, t, id, Flag::Muted, false).await
}
