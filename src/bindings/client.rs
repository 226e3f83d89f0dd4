//! `ChatClient`: connects (static async `connect`), exposes the connection state and user,
//! subscribes listeners, hands out `Channel` handles and disconnects.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::channel::Channel;
use super::driver;
use super::errors::{bad_argument, to_js_error};
use super::shared::{Command, Shared};
use crate::api::Api;
use crate::client::ClientCore;
use crate::config::{ClientConfig, ClientOptions};
use crate::error::SdkError;
use crate::events::SubscriptionId;
use crate::platform::{http::FetchTransport, json};

/// A connected chat client. Cheap to clone; every clone is the same client.
#[wasm_bindgen]
#[derive(Clone)]
pub struct ChatClient {
    shared: Rc<Shared>,
}

#[wasm_bindgen]
impl ChatClient {
    /// Connects and resolves once the server accepted the connection (`connection.ok`).
    /// Rejects with the server's error code for bad credentials, or `unavailable` when the
    /// server cannot be reached.
    #[wasm_bindgen(unchecked_return_type = "ChatClient")]
    pub async fn connect(
        #[wasm_bindgen(unchecked_param_type = "ChatClientOptions")] options: JsValue,
    ) -> Result<ChatClient, JsValue> {
        let options: ClientOptions =
            json::from_js(options).map_err(|e| bad_argument("ChatClient.connect options", e))?;
        let config = ClientConfig::new(options).map_err(to_js_error)?;
        let (commands, commands_rx) = mpsc::unbounded();
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let shared = Rc::new(Shared {
            core: RefCell::new(ClientCore::new(seed)),
            api: Api::new(&config, FetchTransport),
            config,
            commands,
        });
        let (connected_tx, connected_rx) = oneshot::channel();
        wasm_bindgen_futures::spawn_local(driver::run(
            Rc::downgrade(&shared),
            shared.config.ws_url(),
            commands_rx,
            connected_tx,
        ));
        match connected_rx.await {
            Ok(Ok(())) => Ok(ChatClient { shared }),
            Ok(Err(error)) => Err(to_js_error(error)),
            Err(_) => Err(to_js_error(SdkError::closed())),
        }
    }

    /// The id of the connected user.
    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> String {
        self.shared.config.user_id.clone()
    }

    /// `connecting`, `online`, `offline`, `reconnecting` or `closed`.
    #[wasm_bindgen(getter, js_name = connectionState, unchecked_return_type = "ConnectionState")]
    pub fn connection_state(&self) -> String {
        self.shared.core.borrow().state().as_str().to_string()
    }

    /// Listens to `event` (`message.new`, `connection.changed`, ... or `*`). Returns a
    /// function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(&self, event: &str, listener: Function) -> Function {
        subscribe(&self.shared, event, None, listener)
    }

    /// A handle on channel `type:id`. `data` (name, members, ...) is used by `create()`.
    pub fn channel(
        &self,
        #[wasm_bindgen(js_name = "type")] channel_type: &str,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "ChannelData | undefined")] data: JsValue,
    ) -> Result<Channel, JsValue> {
        Channel::new(self.shared.clone(), channel_type, id, data)
    }

    /// Closes the connection for good and releases the socket, timers and listeners. No event
    /// is delivered after the returned promise resolves.
    pub async fn disconnect(&self) {
        let (ack, done) = oneshot::channel();
        if self
            .shared
            .commands
            .unbounded_send(Command::Disconnect(ack))
            .is_ok()
        {
            let _ = done.await;
        }
    }
}

/// Subscribes `listener` and returns the JS function that removes it. The returned function
/// is owned by the JS garbage collector and holds only a weak reference to the client.
pub(crate) fn subscribe(
    shared: &Rc<Shared>,
    event: &str,
    cid: Option<&str>,
    listener: Function,
) -> Function {
    let id: SubscriptionId = shared
        .core
        .borrow_mut()
        .events()
        .subscribe(event, cid, listener);
    let weak = Rc::downgrade(shared);
    let off = Closure::<dyn FnMut()>::new(move || {
        if let Some(shared) = weak.upgrade() {
            shared.core.borrow_mut().events().unsubscribe(id);
        }
    });
    off.into_js_value().into()
}
