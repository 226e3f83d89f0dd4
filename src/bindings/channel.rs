//! `Channel`: a handle on one channel (`type:id`) of a client — create it, send and query
//! messages, listen to its events only.

use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::client::subscribe;
use super::errors::{bad_argument, to_js_error};
use super::shared::Shared;
use crate::api::MessageQuery;
use crate::platform::json::{self, Raw};

#[wasm_bindgen]
#[derive(Clone)]
pub struct Channel {
    shared: Rc<Shared>,
    channel_type: String,
    id: String,
    cid: String,
    /// The `CreateChannel` body for `create()`, as given by JS (the server validates it).
    data: Raw,
}

fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

impl Channel {
    pub(crate) fn new(
        shared: Rc<Shared>,
        channel_type: &str,
        id: &str,
        data: JsValue,
    ) -> Result<Channel, JsValue> {
        if channel_type.is_empty() || id.is_empty() || channel_type.contains(':') {
            return Err(bad_argument(
                "client.channel",
                "type and id must be non-empty",
            ));
        }
        let data = if is_absent(&data) {
            Raw(Object::new().into())
        } else if data.is_object() {
            Raw(data)
        } else {
            return Err(bad_argument("client.channel", "data must be an object"));
        };
        Ok(Channel {
            shared,
            channel_type: channel_type.to_string(),
            id: id.to_string(),
            cid: chat_protocol::cid(channel_type, id),
            data,
        })
    }
}

#[wasm_bindgen]
impl Channel {
    /// `type:id`.
    #[wasm_bindgen(getter)]
    pub fn cid(&self) -> String {
        self.cid.clone()
    }

    /// Gets or creates the channel (idempotent) and returns its state. Events already
    /// reflected in the state are not delivered again.
    #[wasm_bindgen(unchecked_return_type = "ChannelState")]
    pub async fn create(&self) -> Result<JsValue, JsValue> {
        let shared = &self.shared;
        let Raw(state) = shared
            .api
            .create_channel(&self.channel_type, &self.id, &self.data)
            .await
            .map_err(to_js_error)?;
        let last_seq = Reflect::get(&state, &JsValue::from_str("channel"))
            .and_then(|channel| Reflect::get(&channel, &JsValue::from_str("last_seq")))
            .ok()
            .and_then(|seq| seq.as_f64());
        if let Some(last_seq) = last_seq {
            shared
                .core
                .borrow_mut()
                .seqs()
                .set_baseline(&self.cid, last_seq as u64);
        }
        Ok(state)
    }

    /// Sends a message. `id` is generated (uuid v4) unless given; sending again with the same
    /// id returns the stored message instead of a duplicate.
    #[wasm_bindgen(js_name = sendMessage, unchecked_return_type = "Message")]
    pub async fn send_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SendMessageInput")] message: JsValue,
    ) -> Result<JsValue, JsValue> {
        if !message.is_object() {
            return Err(bad_argument("sendMessage", "a message object is required"));
        }
        let copy = Object::assign(&Object::new(), &Object::from(message));
        let id_key = JsValue::from_str("id");
        if is_absent(&Reflect::get(&copy, &id_key).unwrap_or(JsValue::UNDEFINED)) {
            let id = uuid::Uuid::new_v4().to_string();
            let _ = Reflect::set(&copy, &id_key, &JsValue::from_str(&id));
        }
        let Raw(message) = self
            .shared
            .api
            .send_message(&self.channel_type, &self.id, &Raw(copy.into()))
            .await
            .map_err(to_js_error)?;
        Ok(message)
    }

    /// A page of messages, oldest first (`limit`, `before_seq`, `after_seq` optional).
    #[wasm_bindgen(js_name = queryMessages, unchecked_return_type = "Message[]")]
    pub async fn query_messages(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQuery | undefined")] query: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query: MessageQuery = if is_absent(&query) {
            MessageQuery::default()
        } else {
            json::from_js(query).map_err(|e| bad_argument("queryMessages", e))?
        };
        let Raw(messages) = self
            .shared
            .api
            .query_messages(&self.channel_type, &self.id, &query)
            .await
            .map_err(to_js_error)?;
        Ok(messages)
    }

    /// Listens to `event` (or `*`) on this channel only. Returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(&self, event: &str, listener: Function) -> Function {
        subscribe(&self.shared, event, Some(&self.cid), listener)
    }
}
