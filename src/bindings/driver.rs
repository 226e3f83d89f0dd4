//! The connection driver: performs what the connection state machine asks (open / close the
//! websocket, send frames, arm the reconnect timer) and feeds it what happens (frames, closes,
//! ticks, network signals, disconnect requests), then dispatches incoming frames to JS
//! listeners. The socket, the timers and the browser signals are `js/io.js` (a `Link`);
//! this module is the part that decides. Work is handled one item at a time, in arrival order:
//! what a listener causes while one is being handled (a send, a disconnect) waits its turn.
//! Dropping the client (every handle) or `disconnect()` releases the socket, timers and
//! listeners.

use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::errors::to_js_error;
use super::shared::{object, Shared};
use crate::connection::{Action, ConnectionState, Input, TICK_INTERVAL_MS};
use crate::error::SdkError;
use crate::platform::json;
use crate::platform::timer::now_ms;

#[wasm_bindgen(module = "/js/io.js")]
extern "C" {
    /// The websocket, timers and connectivity signals of one client (`js/io.js`).
    #[derive(Clone)]
    pub(crate) type Link;
    #[wasm_bindgen(constructor)]
    pub(crate) fn new() -> Link;
    #[wasm_bindgen(method)]
    fn listen(this: &Link, listener: &Function);
    #[wasm_bindgen(method)]
    pub(crate) fn open(this: &Link, url: &str) -> bool;
    #[wasm_bindgen(method)]
    fn send(this: &Link, frame: &JsValue);
    #[wasm_bindgen(method)]
    fn close(this: &Link, code: u16, reason: &str);
    #[wasm_bindgen(method)]
    fn reconnect(this: &Link, ms: f64);
    #[wasm_bindgen(method)]
    fn tick(this: &Link, ms: f64);
    #[wasm_bindgen(method)]
    fn dispose(this: &Link);
}

// What `js/io.js` reports (its `kind`s).
const FRAME: u32 = 0;
const CLOSED: u32 = 1;
const RECONNECT: u32 = 2;
const TICK: u32 = 3;
const ONLINE: u32 = 4;
const OFFLINE: u32 = 5;
const VISIBLE: u32 = 6;

enum Work {
    Input(Input),
    Frame(String),
}

/// The driver's part of a client's shared state.
pub(crate) struct Driver {
    link: Link,
    /// `connect()` opened the link's socket ahead of the first attempt, which takes it.
    early: bool,
    /// Called once the server accepted the connection, or with why it did not.
    pub connected: Option<Function>,
    /// `disconnect()` calls waiting for the release.
    acks: Vec<Function>,
    queue: VecDeque<Work>,
    busy: bool,
    /// Set once the connection is over for good and everything is released.
    done: bool,
    listener: Option<Closure<dyn Fn(u32, JsValue)>>,
}

impl Driver {
    /// The driver of `link`, whose socket `connect()` opened ahead of the first attempt when
    /// `early` (its frames wait for [`start`]).
    pub fn new(link: Link, early: bool) -> Driver {
        Driver {
            link,
            early,
            connected: None,
            acks: Vec::new(),
            queue: VecDeque::new(),
            busy: false,
            done: false,
            listener: None,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.link.dispose();
    }
}

/// Starts the connection: the state machine's first step, then what the link reports.
pub(crate) fn start(shared: &Rc<Shared>) {
    let weak: Weak<Shared> = Rc::downgrade(shared);
    let listener = Closure::<dyn Fn(u32, JsValue)>::new(move |kind: u32, value: JsValue| {
        let Some(shared) = weak.upgrade() else { return };
        let work = match kind {
            FRAME => Work::Frame(value.as_string().unwrap_or_default()),
            CLOSED => Work::Input(Input::SocketClosed {
                code: value.as_f64().unwrap_or(1006.0) as u16,
            }),
            RECONNECT => Work::Input(Input::ReconnectDue),
            TICK => {
                shared.driver.borrow().link.tick(TICK_INTERVAL_MS as f64);
                Work::Input(Input::Tick)
            }
            ONLINE => Work::Input(Input::NetworkOnline),
            OFFLINE => Work::Input(Input::NetworkOffline),
            VISIBLE => Work::Input(Input::Visible),
            _ => return,
        };
        handle(&shared, work);
    });
    shared.driver.borrow().link.tick(TICK_INTERVAL_MS as f64);
    handle(shared, Work::Input(Input::Start));
    let function: Function = listener.as_ref().unchecked_ref::<Function>().clone();
    shared.driver.borrow_mut().listener = Some(listener);
    let link = {
        let driver = shared.driver.borrow();
        (!driver.done).then(|| driver.link.clone())
    };
    if let Some(link) = link {
        link.listen(&function);
    }
}

/// Closes the connection for good; calls `ack` once the socket, timers and listeners are
/// released (at once when they are).
pub(crate) fn disconnect(shared: &Rc<Shared>, ack: Function) {
    {
        let mut driver = shared.driver.borrow_mut();
        if !driver.done {
            driver.acks.push(ack);
            drop(driver);
            handle(shared, Work::Input(Input::DisconnectRequested));
            return;
        }
    }
    let _ = ack.call0(&JsValue::UNDEFINED);
}

/// Sends a client frame if the socket is open (typing, presence).
pub(crate) fn send(shared: &Shared, frame: &chat_protocol::ClientFrame) {
    let driver = shared.driver.borrow();
    if !driver.done {
        driver.link.send(&frame_js(frame));
    }
}

/// The token provider answered (after [`Action::RefreshToken`]).
pub(crate) fn token_refreshed(shared: &Rc<Shared>, result: Result<(), SdkError>) {
    handle(
        shared,
        Work::Input(match result {
            Ok(()) => Input::TokenRefreshed,
            Err(e) => Input::TokenRefreshFailed(e),
        }),
    );
}

/// Queues `work` and, unless an earlier item is being handled up the stack, handles the queue.
fn handle(shared: &Rc<Shared>, work: Work) {
    {
        let mut driver = shared.driver.borrow_mut();
        if driver.done {
            return;
        }
        driver.queue.push_back(work);
        if driver.busy {
            return;
        }
        driver.busy = true;
    }
    loop {
        let next = shared.driver.borrow_mut().queue.pop_front();
        let Some(work) = next else { break };
        let effects = match work {
            Work::Input(input) => shared.core.borrow_mut().handle(now_ms(), input),
            Work::Frame(text) => {
                let Ok(event) = json::parse(&text) else {
                    continue;
                };
                let Some(header) = crate::decode::frame_header(&event) else {
                    continue;
                };
                shared.core.borrow_mut().receive(now_ms(), &header, event)
            }
        };
        let actions = shared.perform(effects);
        perform(shared, actions);
    }
    shared.driver.borrow_mut().busy = false;
    if shared.core.borrow().state() == ConnectionState::Closed {
        finish(shared);
    }
}

/// The connection is over: release the socket and timers, then every listener, then answer
/// `disconnect()`.
fn finish(shared: &Shared) {
    let (acks, listener) = {
        let mut driver = shared.driver.borrow_mut();
        if driver.done {
            return;
        }
        driver.done = true;
        driver.link.dispose();
        shared.outbox.dispose();
        driver.queue.clear();
        (std::mem::take(&mut driver.acks), driver.listener.take())
    };
    drop(listener);
    // A connection that ended before the server accepted it.
    connected(shared, to_js_error(SdkError::closed()));
    shared.core.borrow_mut().events().clear();
    for ack in acks {
        let _ = ack.call0(&JsValue::UNDEFINED);
    }
}

fn perform(shared: &Rc<Shared>, actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::OpenSocket => {
                let url = shared.config.ws_url_with(&shared.rest.token());
                let mut driver = shared.driver.borrow_mut();
                let opened = std::mem::take(&mut driver.early) || driver.link.open(&url);
                if !opened {
                    driver
                        .queue
                        .push_back(Work::Input(Input::SocketClosed { code: 1006 }));
                }
            }
            Action::Send(frame) => send(shared, &frame),
            Action::RefreshToken => shared.rest.renew(super::host::REFRESHED),
            Action::CloseSocket { code, reason } => {
                shared.driver.borrow().link.close(code, reason);
            }
            Action::ScheduleReconnect { delay_ms } => {
                shared.driver.borrow().link.reconnect(delay_ms as f64);
            }
            Action::StateChanged(state) => {
                if state != ConnectionState::Reconnecting {
                    shared.driver.borrow().link.reconnect(-1.0);
                }
                shared.emit_connection_changed(state);
                if state == ConnectionState::Online {
                    // Back online: deliver what was queued meanwhile.
                    shared.outbox.reconnected();
                }
            }
            Action::Connected => connected(shared, JsValue::UNDEFINED),
            Action::ConnectFailed(error) => connected(shared, to_js_error(error)),
        }
    }
}

/// Answers `connect()`'s wait for the connection (`error`: undefined when it was accepted).
fn connected(shared: &Shared, error: JsValue) {
    let callback = shared.driver.borrow_mut().connected.take();
    if let Some(callback) = callback {
        let _ = callback.call1(&JsValue::UNDEFINED, &error);
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
        F::PresenceSet { status } => object(&[
            ("type", "presence.set".into()),
            ("status", status.as_str().into()),
        ]),
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
