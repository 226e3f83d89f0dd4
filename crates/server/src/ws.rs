//! The websocket session: authentication at connect (errors become an `error` frame and a close
//! code), session and presence records, health checks both ways, client frames, and delivery of
//! the hub's frames. A garbage or oversized frame gets an `error` frame and the session goes on.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use futures::SinkExt;
use axum::response::Response;
use chat_protocol::{ApiError, ClientFrame, CloseCode, ErrorCode, ServerFrame, MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION};
use tokio::time::Instant;
use uuid::Uuid;

use crate::domain::devices;
use crate::domain::users::UserRow;
use crate::domain::watchers;
use crate::fanout::Delivery;
use crate::state::AppState;
use crate::typing::Typist;
use crate::{auth, presence};

/// Hard transport limit on one websocket message; larger ones end the connection (1009).
pub const MAX_TRANSPORT_BYTES: usize = 1 << 20;
/// Bytes read from a socket at a time.
const READ_BUFFER_BYTES: usize = 4096;
/// Most queued frames written to a socket before one flush (one write system call).
const FRAMES_PER_FLUSH: usize = 64;
/// Consecutive invalid frames after which the connection is closed (4008).
const MAX_INVALID_STREAK: u32 = 100;

pub async fn upgrade(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(MAX_TRANSPORT_BYTES)
        .max_frame_size(MAX_TRANSPORT_BYTES)
        // Each read attempt zeroes this much buffer first (128 KiB by default, which cost more
        // than everything else a socket does); client frames are small, larger ones still
        // arrive over several reads.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| session(socket, state, q))
}

async fn send_frame(socket: &mut WebSocket, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(socket: &mut WebSocket, code: CloseCode, reason: &str) {
    let reason: String = reason.chars().take(100).collect();
    let sent = socket
        .send(Message::Close(Some(CloseFrame { code: code.as_u16(), reason: reason.into() })))
        .await;
    if sent.is_err() {
        return;
    }
    // Complete the closing handshake: read (and drop) what the client still sends until its
    // Close arrives. Dropping the TCP connection with unread input would make the kernel send a
    // reset, and the client could lose the error and close frames we just sent.
    let drain = async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

async fn refuse(mut socket: WebSocket, error: ApiError) {
    let code = error.code.close_code();
    let reason = error.code.as_str();
    send_frame(&mut socket, &ServerFrame::Error { error: error.clone() }).await;
    close(&mut socket, code, reason).await;
}

async fn session(mut socket: WebSocket, state: AppState, q: HashMap<String, String>) {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let device_id: String = get("device_id").chars().take(128).collect();
    let (_, user, claims) = match auth::user(&state, get("api_key"), get("token")).await {
        Ok(x) => x,
        Err(e) => return refuse(socket, e.to_api()).await,
    };
    if !state.config().connect_pause.is_zero() {
        tokio::time::sleep(state.config().connect_pause).await;
    }
    let conn_id = Uuid::new_v4();
    let rx = state.hub().register(user.id, conn_id, &claims.jti);
    // Read again once registered: a deactivation or revocation committed after the
    // authentication above published its close order before this socket could receive it, so it
    // shows here; one committed later reaches the socket through the hub. Either way the socket
    // does not stay.
    let row = sqlx::query_as::<_, (i64, Option<bool>)>("SELECT last_seq, is_deactivated FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(state.db())
        .await;
    let user_seq = match row {
        Ok((_, Some(true))) => {
            state.hub().unregister(user.id, conn_id);
            let error = ApiError::new(ErrorCode::UserDeactivated, "the user is deactivated");
            return refuse(socket, error).await;
        }
        Ok((seq, _)) => match auth::is_revoked(&state, &claims.jti).await {
            Ok(false) => seq,
            Ok(true) => {
                state.hub().unregister(user.id, conn_id);
                return refuse(socket, auth::revoked_error().to_api()).await;
            }
            Err(e) => {
                state.hub().unregister(user.id, conn_id);
                return refuse(socket, e.to_api()).await;
            }
        },
        Err(e) => {
            state.hub().unregister(user.id, conn_id);
            return refuse(socket, crate::error::Error::Db(e).to_api()).await;
        }
    };
    presence::connected(&state, &user, conn_id, &device_id).await;
    if let Err(e) = devices::touch(state.db(), user.id, &device_id).await {
        tracing::warn!(error = %e, "could not mark the device active");
    }
    watchers::on_connect(&state, &user).await;
    let mut me = user.to_wire();
    me.is_online = true;
    let ok = ServerFrame::ConnectionOk {
        connection_id: conn_id.to_string(),
        me,
        protocol: PROTOCOL_VERSION,
        health_interval_ms: state.config().health_interval.as_millis() as u32,
        user_last_seq: user_seq.max(0) as u64,
    };
    let mut typist = Typist::default();
    if send_frame(&mut socket, &ok).await {
        let expires = claims.exp.map(|exp| Duration::from_secs((exp - crate::time::now_unix()).max(0) as u64));
        let end = run(&mut socket, &state, &user, conn_id, rx, expires, &mut typist).await;
        if let Some((code, reason)) = end {
            if code == CloseCode::TokenExpired {
                let err = ApiError::new(ErrorCode::TokenExpired, "the token has expired");
                send_frame(&mut socket, &ServerFrame::Error { error: err }).await;
            }
            close(&mut socket, code, reason).await;
        }
    }
    state.hub().unregister(user.id, conn_id);
    typist.stop_all(&state, &user).await;
    presence::disconnected(&state, &user, conn_id).await;
    watchers::on_disconnect(&state, &user).await;
}

/// The session loop. Returns the close code to send, or `None` when the client went away.
async fn run(
    socket: &mut WebSocket,
    state: &AppState,
    user: &UserRow,
    conn_id: Uuid,
    mut rx: tokio::sync::mpsc::Receiver<Delivery>,
    expires: Option<Duration>,
    typist: &mut Typist,
) -> Option<(CloseCode, &'static str)> {
    let cfg = state.config();
    let mut health = tokio::time::interval(cfg.health_interval);
    health.tick().await;
    let mut last_heard = Instant::now();
    let mut invalid_streak = 0u32;
    let expiry = tokio::time::sleep(expires.unwrap_or(Duration::from_secs(100 * 365 * 86_400)));
    tokio::pin!(expiry);
    let mut shutdown = state.shutdown_signal();
    let mut redis = state.redis();
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let msg = match msg {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Err(e)) => {
                        // The stream ends after any error: what the client broke decides how
                        // the session ends, with an `error` frame first where it is the client's.
                        let (code, error) = match transport_failure(&e)? {
                            TransportFailure::TooBig => (CloseCode::MessageTooBig, "message too big"),
                            TransportFailure::NotUtf8 => (CloseCode::InvalidPayload, "text frame is not UTF-8"),
                            TransportFailure::Protocol => (CloseCode::ProtocolError, "websocket protocol error"),
                        };
                        let err = ApiError::new(ErrorCode::InvalidFrame, format!("{error}: {e}"));
                        send_frame(socket, &ServerFrame::Error { error: err }).await;
                        return Some((code, error));
                    }
                    Some(Ok(m)) => m,
                };
                last_heard = Instant::now();
                let reply = match msg {
                    Message::Text(t) => match parse_frame(t.as_str()) {
                        Ok(frame) => handle_frame(state, user, typist, frame).await,
                        Err(e) => Err(e),
                    },
                    Message::Binary(_) => Err(ApiError::new(ErrorCode::InvalidFrame, "binary frames are not supported; send JSON text")),
                    _ => Ok(None),
                };
                match reply {
                    Ok(Some(frame)) => { invalid_streak = 0; if !send_frame(socket, &frame).await { return None; } }
                    Ok(None) => invalid_streak = 0,
                    Err(error) => {
                        invalid_streak += 1;
                        if !send_frame(socket, &ServerFrame::Error { error }).await { return None; }
                        if invalid_streak >= MAX_INVALID_STREAK {
                            return Some((CloseCode::PolicyViolation, "too many invalid frames"));
                        }
                    }
                }
            }
            delivery = rx.recv() => {
                // Everything already queued goes out with one flush.
                let mut next = delivery;
                let mut fed = 0;
                loop {
                    match next {
                        Some(Delivery::Frame(f)) => {
                            if socket.feed(Message::Text(f)).await.is_err() { return None; }
                            fed += 1;
                        }
                        Some(Delivery::Close { code, error }) => {
                            let reason = error.code.as_str();
                            send_frame(socket, &ServerFrame::Error { error }).await;
                            return Some((code, reason));
                        }
                        None => return Some((CloseCode::SlowConsumer, "too far behind; reconnect and sync")),
                    }
                    if fed >= FRAMES_PER_FLUSH {
                        break;
                    }
                    match rx.try_recv() {
                        Ok(d) => next = Some(d),
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => next = None,
                    }
                }
                if socket.flush().await.is_err() { return None; }
            }
            _ = health.tick() => {
                if last_heard.elapsed() > cfg.idle_timeout {
                    return Some((CloseCode::HealthCheckTimeout, "no health check from the client"));
                }
                let hc = ServerFrame::HealthCheck { connection_id: conn_id.to_string() };
                if !send_frame(socket, &hc).await { return None; }
                if let Err(e) = presence::touch(&mut redis, conn_id, user.id).await {
                    tracing::warn!(error = %e, "could not refresh presence");
                }
            }
            _ = tokio::time::sleep_until(typist.next_deadline()) => typist.expire(state, user).await,
            _ = &mut expiry => return Some((CloseCode::TokenExpired, "token expired")),
            _ = shutdown.changed() => return Some((CloseCode::GoingAway, "server shutting down")),
        }
    }
}

/// How a read from the socket failed, when the client caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportFailure {
    /// A message over [`MAX_TRANSPORT_BYTES`] (1009).
    TooBig,
    /// A text message that is not valid UTF-8 (1007, RFC 6455 section 8.1).
    NotUtf8,
    /// Any other violation of the websocket protocol (1002).
    Protocol,
}

/// What the client broke, from the websocket library's error; `None` when the connection simply
/// went away (reset, closed), which needs no close frame.
fn transport_failure(e: &axum::Error) -> Option<TransportFailure> {
    use std::error::Error as _;
    let inner = e.source()?.downcast_ref::<tungstenite::Error>()?;
    match inner {
        tungstenite::Error::Capacity(_) => Some(TransportFailure::TooBig),
        tungstenite::Error::Utf8(_) => Some(TransportFailure::NotUtf8),
        tungstenite::Error::Protocol(_) | tungstenite::Error::AttackAttempt => Some(TransportFailure::Protocol),
        _ => None,
    }
}

/// Parses one client text frame; an error to report in an `error` frame when it is too large or
/// not a known client frame.
pub fn parse_frame(text: &str) -> Result<ClientFrame, ApiError> {
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        return Err(ApiError::new(
            ErrorCode::FrameTooLarge,
            format!("frames are limited to {MAX_CLIENT_FRAME_BYTES} bytes (got {})", text.len()),
        ));
    }
    crate::domain::validate::no_nul_in_json(text.as_bytes()).map_err(|e| e.to_api())?;
    serde_json::from_str(text)
        .map_err(|e| ApiError::new(ErrorCode::InvalidFrame, format!("not a valid client frame: {e}")))
}

/// Handles one client frame: `Ok(Some(reply))`, `Ok(None)` (nothing to answer), or an error to
/// report in an `error` frame.
async fn handle_frame(
    state: &AppState,
    user: &UserRow,
    typist: &mut Typist,
    frame: ClientFrame,
) -> Result<Option<ServerFrame>, ApiError> {
    let done = match frame {
        ClientFrame::Ping { id } => return Ok(Some(ServerFrame::Pong { id })),
        ClientFrame::HealthCheck {} => Ok(()),
        ClientFrame::PresenceSet { status } => presence::set_status(state, user, &status).await,
        ClientFrame::TypingStart { cid, parent_id } => typist.start(state, user, &cid, parent_id).await,
        ClientFrame::TypingStop { cid, parent_id: _ } => typist.stop(state, user, &cid).await,
    };
    done.map(|()| None).map_err(|e| e.to_api())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_answered_or_refused_with_codes() {
        assert_eq!(parse_frame(r#"{"type":"ping","id":"1"}"#), Ok(ClientFrame::Ping { id: Some("1".into()) }));
        assert_eq!(parse_frame(r#"{"type":"health.check"}"#), Ok(ClientFrame::HealthCheck {}));
        assert_eq!(parse_frame("garbage").unwrap_err().code, ErrorCode::InvalidFrame);
        assert_eq!(parse_frame(r#"{"type":"ping","evil":1}"#).unwrap_err().code, ErrorCode::InvalidFrame);
        let big = format!(r#"{{"type":"ping","id":"{}"}}"#, "x".repeat(MAX_CLIENT_FRAME_BYTES));
        assert_eq!(parse_frame(&big).unwrap_err().code, ErrorCode::FrameTooLarge);
    }
}
