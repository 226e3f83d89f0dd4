//! The connection driver: one local task per client that performs what the connection state
//! machine asks (open/close the gloo-net websocket, send frames, arm timers), feeds it what
//! happens (frames, closes, ticks, network changes, commands) and dispatches incoming frames
//! to JS listeners. It holds only a weak reference to the client, so dropping every handle
//! (or `disconnect()`) ends it, which releases the socket, timers and listeners.

use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::Poll;

use wasm_bindgen::JsValue;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, Sink, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};

use super::shared::{object, Command, Shared};
use crate::connection::{Action, ConnectionState, Input, TICK_INTERVAL_MS};
use crate::error::SdkError;
use crate::platform::json;
use crate::platform::network::{NetworkWatch, Signal};
use crate::platform::timer::{now_ms, Sleep};

enum Wake {
    Command(Option<Command>),
    Network(Signal),
    Socket(Option<Result<Message, WebSocketError>>),
    ReconnectDue,
    Tick,
}

pub(crate) type ConnectResult = oneshot::Sender<Result<(), SdkError>>;

/// Runs the connection until it is closed for good. `early`: a socket `connect()` opened while
/// it opened the store; the first connection attempt uses it.
pub(crate) async fn run(
    client: Weak<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    connected: ConnectResult,
    early: Option<WebSocket>,
) {
    let (network_tx, mut network_rx) = mpsc::unbounded();
    let _network = NetworkWatch::new(network_tx);
    let mut driver = Driver {
        socket: None,
        early,
        reconnect: None,
        connected: Some(connected),
    };
    let mut tick = Sleep::new(TICK_INTERVAL_MS);
    let mut inputs = VecDeque::from([Input::Start]);
    let mut disconnect_acks = Vec::new();

    loop {
        // Apply everything queued, then stop if the connection is over.
        while let Some(input) = inputs.pop_front() {
            let Some(shared) = client.upgrade() else {
                return;
            };
            let effects = shared.core.borrow_mut().handle(now_ms(), input);
            let actions = shared.perform(effects);
            driver.perform(&shared, actions, &mut inputs);
        }
        if client
            .upgrade()
            .is_none_or(|s| s.core.borrow().state() == ConnectionState::Closed)
        {
            break;
        }

        let wake = futures::future::poll_fn(|cx| {
            if let Poll::Ready(command) = commands.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Command(command));
            }
            if let Poll::Ready(Some(signal)) = network_rx.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Network(signal));
            }
            if let Some(socket) = driver.socket.as_mut() {
                if let Poll::Ready(message) = socket.poll_next_unpin(cx) {
                    return Poll::Ready(Wake::Socket(message));
                }
            }
            if let Some(sleep) = driver.reconnect.as_mut() {
                if sleep.poll_unpin(cx).is_ready() {
                    return Poll::Ready(Wake::ReconnectDue);
                }
            }
            if tick.poll_unpin(cx).is_ready() {
                return Poll::Ready(Wake::Tick);
            }
            Poll::Pending
        })
        .await;

        match wake {
            Wake::Command(None) => break, // every handle is gone
            Wake::Command(Some(Command::Disconnect(ack))) => {
                disconnect_acks.push(ack);
                inputs.push_back(Input::DisconnectRequested);
            }
            Wake::Command(Some(Command::Send(frame))) => driver.send(&frame),
            Wake::Command(Some(Command::TokenRefreshed(result))) => {
                inputs.push_back(match result {
                    Ok(()) => Input::TokenRefreshed,
                    Err(e) => Input::TokenRefreshFailed(e),
                })
            }
            Wake::Network(Signal::Online) => inputs.push_back(Input::NetworkOnline),
            Wake::Network(Signal::Offline) => inputs.push_back(Input::NetworkOffline),
            Wake::Network(Signal::Visible) => inputs.push_back(Input::Visible),
            Wake::ReconnectDue => {
                driver.reconnect = None;
                inputs.push_back(Input::ReconnectDue);
            }
            Wake::Tick => {
                tick = Sleep::new(TICK_INTERVAL_MS);
                inputs.push_back(Input::Tick);
            }
            Wake::Socket(Some(Ok(Message::Text(text)))) => {
                let Some(shared) = client.upgrade() else {
                    break;
                };
                driver.receive(&shared, &text, &mut inputs);
            }
            Wake::Socket(Some(Ok(Message::Bytes(_)))) => {}
            // An error event is always followed by a close event.
            Wake::Socket(Some(Err(WebSocketError::ConnectionError))) => {}
            Wake::Socket(Some(Err(WebSocketError::ConnectionClose(close)))) => {
                driver.socket = None;
                inputs.push_back(Input::SocketClosed { code: close.code });
            }
            Wake::Socket(Some(Err(_))) => {}
            Wake::Socket(None) => {
                driver.socket = None;
                inputs.push_back(Input::SocketClosed { code: 1006 });
            }
        }
    }

    // Release the socket and timers before answering `disconnect()`, then every listener.
    drop(driver);
    drop(tick);
    if let Some(shared) = client.upgrade() {
        shared.core.borrow_mut().events().clear();
    }
    for ack in disconnect_acks {
        let _ = ack.send(());
    }
    while let Ok(Command::Disconnect(ack)) = commands.try_recv() {
        let _ = ack.send(());
    }
}

struct Driver {
    socket: Option<WebSocket>,
    /// The socket opened ahead of the first attempt (see [`run`]).
    early: Option<WebSocket>,
    reconnect: Option<Sleep>,
    connected: Option<ConnectResult>,
}

impl Driver {
    fn send(&mut self, frame: &chat_protocol::ClientFrame) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        if let Ok(text) = js_sys::JSON::stringify(&frame_js(frame)) {
            let _ = Pin::new(socket).start_send(Message::Text(text.into()));
        }
    }

    fn perform(&mut self, shared: &Rc<Shared>, actions: Vec<Action>, inputs: &mut VecDeque<Input>) {
        for action in actions {
            match action {
                Action::OpenSocket => {
                    let url = shared.config.ws_url_with(&shared.token.borrow());
                    match self.early.take().map_or_else(|| WebSocket::open(&url), Ok) {
                        Ok(socket) => self.socket = Some(socket),
                        Err(_) => inputs.push_back(Input::SocketClosed { code: 1006 }),
                    }
                }
                Action::Send(frame) => self.send(&frame),
                Action::RefreshToken => {
                    let shared = shared.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let stale = shared.token.borrow().clone();
                        let result = shared.refresh_token_from(&stale).await;
                        let _ = shared
                            .commands
                            .unbounded_send(Command::TokenRefreshed(result));
                    });
                }
                Action::CloseSocket { code, reason } => {
                    if let Some(socket) = self.socket.take() {
                        let _ = socket.close(Some(code), Some(reason));
                    }
                }
                Action::ScheduleReconnect { delay_ms } => {
                    self.reconnect = Some(Sleep::new(delay_ms));
                }
                Action::StateChanged(state) => {
                    if state != ConnectionState::Reconnecting {
                        self.reconnect = None;
                    }
                    shared.emit_connection_changed(state);
                    if state == ConnectionState::Online {
                        // Back online: deliver what was queued meanwhile.
                        super::offline::reconnected(shared);
                    }
                }
                Action::Connected => {
                    if let Some(tx) = self.connected.take() {
                        let _ = tx.send(Ok(()));
                    }
                }
                Action::ConnectFailed(error) => {
                    if let Some(tx) = self.connected.take() {
                        let _ = tx.send(Err(error));
                    }
                }
            }
        }
    }

    /// One text frame: parse, then the core decides (connection, sync, state, listeners).
    fn receive(&mut self, shared: &Rc<Shared>, text: &str, inputs: &mut VecDeque<Input>) {
        let Ok(event) = json::parse(text) else { return };
        let Some(header) = crate::decode::frame_header(&event) else {
            return;
        };
        let effects = shared.core.borrow_mut().receive(now_ms(), &header, event);
        let actions = shared.perform(effects);
        self.perform(shared, actions, inputs);
    }
}

/// A client frame as the JS object the server reads (the wire form of
/// [`chat_protocol::ClientFrame`]; written field by field: serde would bring its serializer into
/// the wasm for these few frames).
fn frame_js(frame: &chat_protocol::ClientFrame) -> JsValue {
    use chat_protocol::ClientFrame as F;
    let opt = |v: &Option<String>| v.as_deref().map_or(JsValue::UNDEFINED, JsValue::from);
    match frame {
        F::Ping { id } => object(&[("type", "ping".into()), ("id", opt(id))]),
        F::HealthCheck {} => object(&[("type", "health.check".into())]),
        F::PresenceSet { status } => {
            object(&[("type", "presence.set".into()), ("status", status.as_str().into())])
        }
        F::TypingStart { cid, parent_id } => object(&[
            ("type", "typing.start".into()),
            ("cid", cid.as_str().into()),
            ("parent_id", opt(parent_id)),
        ]),
        F::TypingStop { cid, parent_id } => object(&[
            ("type", "typing.stop".into()),
            ("cid", cid.as_str().into()),
            ("parent_id", opt(parent_id)),
        ]),
    }
}
