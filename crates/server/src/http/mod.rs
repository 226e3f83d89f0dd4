//! The HTTP surface: the router with every route, CORS, body limits, static mounts, and the JSON
//! error body on the 404, the 405 and every other error answer (`error_body`). Handlers live in
//! the submodules, one group each.

pub mod admin;
pub mod apps;
pub mod channel_ops;
pub mod channels;
pub mod dev;
pub mod devices;
pub mod drafts;
pub mod error_body;
pub mod extract;
pub mod messages;
pub mod members;
pub mod users;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_protocol::ErrorCode;
use tower_http::cors::CorsLayer;
use tower_http::services::ServeDir;

use crate::error::Error;
use crate::state::AppState;
use crate::ws;

/// Largest HTTP request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let mut api = Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({ "ok": true })) }))
        .route("/admin/apps", post(admin::create_app))
        .route("/v1/users", post(admin::upsert_users))
        .route("/v1/tokens", post(admin::mint_token))
        .route("/v1/tokens/revoke", post(admin::revoke_token))
        .route("/v1/me", get(channels::me))
        .route("/v1/channels/{type}/{id}", post(channels::get_or_create).get(channels::get))
        .route(
            "/v1/channels/{type}/{id}/messages",
            post(channels::send_message).get(channels::list_messages),
        )
        .route("/v1/ws", get(ws::upgrade))
        .merge(messages::routes())
        .merge(channel_ops::routes())
        .merge(members::routes())
        .merge(users::routes())
        .merge(devices::routes())
        .merge(drafts::routes())
        .merge(apps::routes())
        // Keep this after every route: it rate-limits the user-facing ones (crate::ratelimit).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::ratelimit::http_layer));
    if state.config().demo {
        api = api.route("/dev/credentials", get(dev::credentials));
    }
    // After every route: it applies to the routes mounted so far.
    api = api.method_not_allowed_fallback(error_body::method_not_allowed);
    let mut root_dir = None;
    for (mount, dir) in &state.config().static_dirs {
        if mount == "/" {
            root_dir = Some(dir.clone());
        } else {
            api = api.nest_service(mount, ServeDir::new(dir));
        }
    }
    let api = match root_dir {
        Some(dir) => api.fallback_service(ServeDir::new(dir)),
        None => api.fallback(|| async { Error::api(ErrorCode::NotFound, "no such endpoint") }),
    };
    api.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(error_body::json_errors))
        .layer(CorsLayer::very_permissive())
        .with_state(state)
}
