//! DEV-ONLY: the demo's credentials endpoint, mounted only with `--demo`. It upserts any user of
//! the demo application and mints a 24 h token for it without any authentication, so it must
//! never be enabled on a server reachable by others.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use chat_protocol::requests::UserInput;

use crate::auth;
use crate::domain::{apps, users, validate};
use crate::error::{Error, Result};
use crate::state::AppState;

/// Users the demo application always has.
pub const DEMO_USERS: [&str; 3] = ["alice", "bob", "carol"];

pub async fn ensure_demo(state: &AppState) -> Result<()> {
    let app = apps::ensure_demo(state.db()).await?;
    let inputs: Vec<UserInput> = DEMO_USERS
        .iter()
        .map(|u| UserInput { id: u.to_string(), display_name: Some(capitalize(u)), ..Default::default() })
        .collect();
    users::upsert(state.db(), app.id, &inputs).await?;
    Ok(())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

pub async fn credentials(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>> {
    let user_id = q.get("user_id").map(String::as_str).unwrap_or("");
    validate::external_id("user_id", user_id)?;
    let app = apps::by_key(state.db(), "demo")
        .await?
        .ok_or_else(|| Error::not_found("the demo application does not exist"))?;
    let existing = users::by_external_id(state.db(), app.id, user_id).await?;
    if existing.is_none() {
        let input = UserInput { id: user_id.to_string(), display_name: Some(capitalize(user_id)), ..Default::default() };
        users::upsert(state.db(), app.id, &[input]).await?;
    }
    let token = auth::mint(&app, user_id, Some(86_400))?;
    Ok(Json(serde_json::json!({ "api_key": app.api_key, "user_id": user_id, "token": token.token })))
}
