//! `ChatClient`: connects (static async `connect`), exposes the connection state, the user and
//! the client-wide state, subscribes listeners, hands out `Channel` handles, queries channels,
//! and carries every other REST call (`request`, which the JS facade's methods use).

use std::cell::RefCell;
use std::rc::Rc;

use crate::local::oneshot;
use js_sys::{Array, Function, JsString, Reflect};
use wasm_bindgen::prelude::*;

use super::channel::Channel;
use super::driver;
use super::errors::{bad_argument, to_js_error};
use super::offline::{self, Offline};
use super::shared::{new_id, object, promise, Shared};
use crate::api::{Api, Method};
use crate::cache;
use crate::client::ClientCore;
use crate::config::{ClientConfig, ClientOptions};
use crate::error::SdkError;
use crate::events::SubscriptionId;
use crate::platform::http::FetchTransport;
use crate::store::WriteBatch;

use crate::platform::timer::{now_ms, Sleep};
use crate::state::Wire;

/// A connected chat client. Cheap to clone; every clone is the same client.
#[wasm_bindgen]
#[derive(Clone)]
pub struct ChatClient {
    pub(crate) shared: Rc<Shared>,
}

fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

#[wasm_bindgen]
impl ChatClient {
    /// The id of the connected user.
    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> JsString {
        self.shared.config.user_id.as_str().into()
    }

    /// The connected user (`User`), as the server last described it.
    #[wasm_bindgen(getter, unchecked_return_type = "User | undefined")]
    pub fn user(&self) -> JsValue {
        self.shared
            .core
            .borrow()
            .state
            .me
            .clone()
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// `connecting`, `online`, `offline`, `reconnecting` or `closed`.
    #[wasm_bindgen(getter, js_name = connectionState, unchecked_return_type = "ConnectionState")]
    pub fn connection_state(&self) -> JsString {
        self.shared.core.borrow().state().as_str().into()
    }

    /// The cids of the listed channels, in display order.
    #[wasm_bindgen(getter, js_name = channelList, unchecked_return_type = "string[]")]
    pub fn channel_list(&self) -> Array {
        self.shared
            .core
            .borrow()
            .state
            .order
            .iter()
            .map(|c| JsValue::from_str(c))
            .collect()
    }

    /// Unread counts from the local state: `{total_unread_count, unread_channels}` (muted
    /// channels are left out).
    #[wasm_bindgen(getter, js_name = unreadCount, unchecked_return_type = "UnreadCount")]
    pub fn unread_count(&self) -> JsValue {
        let (total, channels) = self.shared.core.borrow().state.unread();
        object(&[
            ("total_unread_count", (total as f64).into()),
            ("unread_channels", (channels as f64).into()),
        ])
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

    /// Sets the user's presence (`online` or `away`) for the users sharing a channel.
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(&self, status: &str) {
        self.shared
            .send_frame(chat_protocol::ClientFrame::PresenceSet {
                status: status.to_string(),
            });
    }

    #[wasm_bindgen(js_name = connect, unchecked_return_type = "Promise<ChatClient>")]
    pub fn connect_js(
        #[wasm_bindgen(unchecked_param_type = "ChatClientOptions")] options: JsValue,
    ) -> js_sys::Promise {
        promise(Box::pin(async move {
            Self::connect(options).await.map(JsValue::from)
        }))
    }

    #[wasm_bindgen(js_name = queryChannels, unchecked_return_type = "Promise<ChannelPage>")]
    pub fn query_channels_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelFilter | undefined")] filter: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ChannelSort[] | undefined")] sort: JsValue,
        #[wasm_bindgen(unchecked_param_type = "QueryChannelsOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move {
            this.query_channels(filter, sort, options).await
        }))
    }

    #[wasm_bindgen(js_name = request, unchecked_return_type = "Promise<unknown>")]
    pub fn request_js(
        &self,
        method: String,
        path: String,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] body: JsValue,
        mutation: Option<bool>,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move {
            this.request(&method, &path, body, mutation).await
        }))
    }

    /// Closes the connection; `{clearCache: true}` also deletes everything stored on this
    /// device for the user (sign-out), the outbox included.
    #[wasm_bindgen(js_name = disconnect, unchecked_return_type = "Promise<void>")]
    pub fn disconnect_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ clearCache?: boolean } | undefined")]
        options: JsValue,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move {
            this.disconnect().await;
            if options.flag("clearCache") {
                offline::clear(&this.shared).await.map_err(to_js_error)?;
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}

/// The calls behind the promise-returning bindings above (also used from Rust).
impl ChatClient {
    /// Connects and resolves once the server accepted the connection and the user stream's
    /// position is known. Rejects with the server's error code for bad credentials, or
    /// `unavailable` when the server cannot be reached.
    pub async fn connect(options: JsValue) -> Result<ChatClient, JsValue> {
        let provider = Reflect::get(&options, &"tokenProvider".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let mut parsed: ClientOptions = crate::decode::client_options(&options)
            .map_err(|e| bad_argument("ChatClient.connect options", &e))?;
        if parsed.token.is_empty() && provider.is_some() {
            parsed.token = "pending".into();
        }
        let config = ClientConfig::new(parsed).map_err(to_js_error)?;
        // `persistence: 'memory'` (or `false`) keeps nothing on the device.
        let persistence = Reflect::get(&options, &"persistence".into()).unwrap_or_default();
        let memory = persistence.as_string().as_deref() == Some("memory")
            || persistence.as_bool() == Some(false);
        // The socket's handshake runs while the store opens (a first visit creates the
        // database); the connection's first attempt takes this socket.
        let (connected_tx, connected_rx) = oneshot::channel();
        let early = (config.token != "pending").then(|| config.ws_url_with(&config.token));
        let driver = driver::Driver::new(early, connected_tx);
        let offline = Offline::open(&config.api_key, &config.user_id, memory).await;
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let mut core = ClientCore::new(&config.user_id, seed).with_cache();
        if provider.is_some() {
            core = core.with_token_refresh();
        }
        let shared = Rc::new_cyclic(|weak| Shared {
            outbox: super::outbox::delivery(offline.store.handle(), weak.clone()),
            core: RefCell::new(core),
            api: Api::new(&config, FetchTransport),
            token: RefCell::new(config.token.clone()),
            config,
            driver: RefCell::new(driver),
            token_provider: provider,
            offline,
            posts: RefCell::default(),
            refresh_lock: crate::local::Lock::new(),
        });
        // Open from the cache: with data from an earlier session the client is usable at once,
        // also offline; the connection and the catch-up follow in the background.
        let cached = match offline::restore(&shared).await {
            Ok(cached) => cached,
            Err(e) => {
                web_sys::console::warn_2(
                    &"chat-sdk: could not read the cache:".into(),
                    &e.describe().into(),
                );
                false
            }
        };
        if shared.config.token == "pending" {
            // Offline with a cache, the session opens anyway; the connection asks again.
            if let Err(e) = shared.refresh_token().await {
                if !cached {
                    return Err(to_js_error(e));
                }
            }
        }
        if cached {
            shared.core.borrow_mut().resilient_start();
        }
        driver::start(&shared);
        shared.outbox.kick();
        if cached {
            return Ok(ChatClient { shared });
        }
        match connected_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(to_js_error(error)),
            Err(_) => return Err(to_js_error(SdkError::closed())),
        }
        // Loads made after this point are newer than the user stream's starting position.
        for _ in 0..500 {
            if shared.core.borrow().sync_engine().user_cursor().is_some() {
                break;
            }
            Sleep::new(10).await;
        }
        Ok(ChatClient { shared })
    }

    /// Channels the user is a member of, matching `filter`, in `sort` order; their states are
    /// loaded and kept current. `options.next` continues a previous page (the answer array's
    /// `next`).
    pub async fn query_channels(
        &self,
        filter: JsValue,
        sort: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let body = js_sys::Object::new();
        for (key, value) in [("filter", &filter), ("sort", &sort)] {
            if !is_absent(value) {
                let _ = Reflect::set(&body, &key.into(), value);
            }
        }
        if !is_absent(&options) {
            for key in ["limit", "next"] {
                let value = Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED);
                if !is_absent(&value) {
                    let _ = Reflect::set(&body, &key.into(), &value);
                }
            }
        }
        let next_given = !is_absent(&options)
            && !is_absent(&Reflect::get(&options, &"next".into()).unwrap_or(JsValue::UNDEFINED));
        let body: JsValue = body.into();
        let key = js_sys::JSON::stringify(&body)
            .ok()
            .and_then(|k| k.as_string())
            .map(|k| cache::query_key(&k));
        // Cache first: the same query answered before (in an earlier session, or now while
        // offline), with every channel held, answers at once (`fromCache`); the server's answer
        // follows as `channel_list.updated`. Once the server answered it in this session, an
        // online client asks the server.
        let online = self.shared.core.borrow().state().is_online();
        let fresh = key
            .as_ref()
            .is_some_and(|k| self.shared.offline.fresh_queries.borrow().contains(k));
        if let (false, Some(key), false) = (next_given, key.as_ref(), online && fresh) {
            let stored = self.shared.offline.cached_list(key).await;
            let cids: Option<Vec<String>> = stored.map(|l| {
                l.split('\n')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect()
            });
            let held = cids.filter(|cids| {
                let core = self.shared.core.borrow();
                cids.iter().all(|c| core.state.channel(c).is_some())
            });
            if let Some(cids) = held {
                let out = Array::new();
                for cid in &cids {
                    if let Some((t, id)) = chat_protocol::split_cid(cid) {
                        let ch = Channel::new(self.shared.clone(), t, id, JsValue::UNDEFINED)?;
                        out.push(&ch.into());
                    }
                }
                let _ = Reflect::set(&out, &"fromCache".into(), &true.into());
                let this = self.clone();
                let key = key.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(page) = this.query_server(body, false, Some(key)).await {
                        let event =
                            object(&[("type", "channel_list.updated".into()), ("channels", page)]);
                        this.shared.emit(&event);
                    }
                });
                return Ok(out.into());
            }
        }
        self.query_server(body, next_given, key).await
    }

    /// Asks the server; loads (and stores) every channel of the answer and the list.
    async fn query_server(
        &self,
        body: JsValue,
        next_given: bool,
        key: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let shared = &self.shared;
        let answer = shared
            .request(Method::Post, "/v1/channels/query", Some(&body))
            .await
            .map_err(to_js_error)?;
        let out = Array::new();
        let mut cids = Vec::new();
        for state in answer.list_of("channels") {
            let effects = shared.core.borrow_mut().load_channel(now_ms(), &state);
            shared.perform(effects);
            let Some(info) = state.field("channel") else {
                continue;
            };
            let (Some(t), Some(id), Some(cid)) =
                (info.str_of("type"), info.str_of("id"), info.str_of("cid"))
            else {
                continue;
            };
            shared.offline.cached.borrow_mut().retain(|c| *c != cid);
            cids.push(cid);
            out.push(&Channel::new(shared.clone(), &t, &id, JsValue::UNDEFINED)?.into());
        }
        let list = {
            let mut core = shared.core.borrow_mut();
            if next_given {
                core.state.extend_list(cids.clone());
            } else {
                core.state.set_list(cids.clone());
            }
            core.state.order.join("\n")
        };
        let mut batch = WriteBatch::new();
        batch.put_meta(cache::LIST_KEY, list);
        if let (false, Some(key)) = (next_given, key) {
            batch.put_meta(&key, cids.join("\n"));
            shared.offline.fresh_queries.borrow_mut().push(key);
        }
        offline::persist(shared, batch);
        if let Some(next) = answer.field("next") {
            let _ = Reflect::set(&out, &"next".into(), &next);
        }
        Ok(out.into())
    }

    /// Any REST call of the API, authenticated as the user (`path` starts with `/v1/`). With
    /// `mutation`, a fresh `mutation_id` is added so a retry is applied only once.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: JsValue,
        mutation: Option<bool>,
    ) -> Result<JsValue, JsValue> {
        let method =
            Method::parse(method).ok_or_else(|| bad_argument("request", "unknown method"))?;
        if !path.starts_with("/v1/") {
            return Err(bad_argument("request", "path must start with /v1/"));
        }
        let mut path = path.to_string();
        if mutation == Some(true) {
            let sep = if path.contains('?') { '&' } else { '?' };
            path.push(sep);
            path.push_str("mutation_id=");
            path.push_str(&new_id());
        }
        let body = (!is_absent(&body)).then_some(body);
        self.shared
            .request(method, &path, body.as_ref())
            .await
            .map_err(to_js_error)
    }

    /// Closes the connection for good and releases the socket, timers and listeners. No event
    /// is delivered after the returned promise resolves.
    pub async fn disconnect(&self) {
        driver::disconnect(&self.shared).await;
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
