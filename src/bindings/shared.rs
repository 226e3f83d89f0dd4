//! What every handle of one client shares: the client core (connection, listeners, cursors),
//! the REST API, and the command line to the connection driver. Also the one place that calls
//! JS listeners.

use std::cell::RefCell;

use futures::channel::{mpsc, oneshot};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::api::Api;
use crate::client::ClientCore;
use crate::config::ClientConfig;
use crate::connection::ConnectionState;
use crate::events::SubscriptionId;
use crate::platform::http::FetchTransport;

pub(crate) enum Command {
    /// Close for good; answer when the socket and timers are released.
    Disconnect(oneshot::Sender<()>),
}

pub(crate) struct Shared {
    pub core: RefCell<ClientCore<Function>>,
    pub config: ClientConfig,
    pub api: Api<FetchTransport>,
    pub commands: mpsc::UnboundedSender<Command>,
}

impl Shared {
    /// Calls each listener with `event`, skipping any unsubscribed meanwhile. A listener that
    /// throws is reported on the console and does not stop the others.
    pub fn call_listeners(&self, listeners: Vec<(SubscriptionId, Function)>, event: &JsValue) {
        for (id, listener) in listeners {
            if !self.core.borrow().is_subscribed(id) {
                continue;
            }
            if let Err(thrown) = listener.call1(&JsValue::UNDEFINED, event) {
                web_sys::console::error_2(&JsValue::from_str("chat-sdk: listener threw"), &thrown);
            }
        }
    }

    /// Emits `{type: 'connection.changed', state, online}`.
    pub fn emit_connection_changed(&self, state: ConnectionState) {
        let listeners = self.core.borrow().connection_listeners();
        if listeners.is_empty() {
            return;
        }
        let event = Object::new();
        for (key, value) in [
            ("type", JsValue::from_str("connection.changed")),
            ("state", JsValue::from_str(state.as_str())),
            ("online", JsValue::from_bool(state.is_online())),
        ] {
            let _ = Reflect::set(&event, &JsValue::from_str(key), &value);
        }
        self.call_listeners(listeners, &event);
    }
}
