//! Push device endpoints: register (idempotent by device id), list, remove.

use axum::extract::{Path, State};
use axum::routing::{delete, post};
use axum::{Json, Router};
use chat_protocol::requests::{DeviceResponse, DevicesResponse, RegisterDevice};

use super::extract::{Body, UserAuth};
use crate::domain::devices;
use crate::error::Result;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/devices", post(register).get(list))
        .route("/v1/devices/{id}", delete(remove))
}

async fn register(State(state): State<AppState>, auth: UserAuth, Body(req): Body<RegisterDevice>) -> Result<Json<DeviceResponse>> {
    let row = devices::register(state.db(), &auth.user, &req).await?;
    Ok(Json(DeviceResponse { device: row.to_wire() }))
}

async fn list(State(state): State<AppState>, auth: UserAuth) -> Result<Json<DevicesResponse>> {
    let rows = devices::list(state.db(), &auth.user).await?;
    Ok(Json(DevicesResponse { devices: rows.iter().map(devices::DeviceRow::to_wire).collect() }))
}

async fn remove(State(state): State<AppState>, auth: UserAuth, Path(id): Path<String>) -> Result<Json<serde_json::Value>> {
    let existed = devices::remove(state.db(), &auth.user, &id).await?;
    Ok(Json(serde_json::json!({ "removed": existed })))
}
