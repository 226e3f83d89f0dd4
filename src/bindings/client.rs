//! `ChatClient`: the steps of `connect` (`_prepare`, `_new`, then [`start`]; `js/index.js`
//! sequences them), the connection state, the user and the client-wide state, listeners,
//! `Channel` handles, what a channel query's answer does ([`listed`], [`cached_query`]), and
//! any REST call as the user ([`request`]).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, JsString, Reflect};
use wasm_bindgen::prelude::*;

use super::channel::Channel;
use super::driver;
use super::errors::{bad_argument, to_js_error};
use super::offline::{self, Offline};
use super::rest::{Rest, Writer};
use super::shared::{new_id, object, Shared};
use crate::api::Method;
use crate::cache;
use crate::client::ClientCore;
use crate::config::{ClientConfig, ClientOptions};
use crate::events::SubscriptionId;
use crate::store::browser::BrowserStore;
use crate::store::WriteBatch;

use crate::platform::timer::now_ms;
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

    /// The client's synchronous entry for the JS facade ([`super::host`]).
    #[wasm_bindgen(js_name = _host)]
    pub fn host(&self, kind: u32, a: JsValue, b: JsValue) -> Result<JsValue, JsValue> {
        super::host::host(&self.shared, kind, a, b)
    }

    /// Sets the user's presence (`online` or `away`) for the users sharing a channel.
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(&self, status: &str) {
        self.shared
            .send_frame(chat_protocol::ClientFrame::PresenceSet {
                status: status.to_string(),
            });
    }
}

/// The options of `ChatClient.connect`: the configuration, the token provider and whether
/// nothing is to be kept on the device (`persistence: 'memory'` or `false`).
fn configure(options: &JsValue) -> Result<(ClientConfig, Option<Function>, bool), JsValue> {
    let provider = Reflect::get(options, &"tokenProvider".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let mut parsed: ClientOptions = crate::decode::client_options(options)
        .map_err(|e| bad_argument("ChatClient.connect options", &e))?;
    if parsed.token.is_empty() && provider.is_some() {
        parsed.token = "pending".into();
    }
    let config = ClientConfig::new(parsed).map_err(to_js_error)?;
    let persistence = Reflect::get(options, &"persistence".into()).unwrap_or_default();
    let memory = persistence.as_string().as_deref() == Some("memory")
        || persistence.as_bool() == Some(false);
    Ok((config, provider, memory))
}

/// The steps of `ChatClient.connect` (`js/index.js` runs them in order).
#[wasm_bindgen]
impl ChatClient {
    /// Checks the options and starts what can start at once: the websocket's handshake (when a
    /// token is given; the connection's first attempt takes this socket) and the opening of the
    /// user's store, side by side. Answers `{link, early, store, fallback, page}`: `store` is
    /// the IndexedDB open (a promise) or the memory store, `fallback` a memory store for when
    /// IndexedDB cannot be opened, `page` how many messages a channel restores from the cache.
    #[wasm_bindgen(js_name = _prepare)]
    pub fn prepare(options: JsValue) -> Result<JsValue, JsValue> {
        let (config, _, memory) = configure(&options)?;
        let link = driver::Link::new();
        let early = config.token != "pending" && link.open(&config.ws_url_with(&config.token));
        let name = crate::store::database_name(&config.api_key, &config.user_id);
        let store = if memory {
            BrowserStore::memory_handle()
        } else {
            BrowserStore::opening(&name).into()
        };
        Ok(object(&[
            ("link", link.into()),
            ("early", early.into()),
            ("store", store),
            ("fallback", BrowserStore::memory_handle()),
            ("page", cache::RESTORED_PAGE.into()),
        ]))
    }

    /// The client over what [`ChatClient::prepare`] started: `store` is the opened store,
    /// `kind` `indexeddb` or `memory`. Nothing runs until the `START` host call.
    #[wasm_bindgen(js_name = _new)]
    pub fn create(
        options: JsValue,
        prepared: JsValue,
        store: JsValue,
        kind: String,
    ) -> Result<ChatClient, JsValue> {
        let (config, provider, _) = configure(&options)?;
        let link = prepared.field("link").unwrap_or_default().unchecked_into();
        let driver = driver::Driver::new(link, prepared.flag("early"));
        let name = crate::store::database_name(&config.api_key, &config.user_id);
        let offline = Offline::new(BrowserStore::from_handle(&name, store), &kind, name);
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let mut core = ClientCore::new(&config.user_id, seed).with_cache();
        if provider.is_some() {
            core = core.with_token_refresh();
        }
        let provider = provider.map_or(JsValue::UNDEFINED, JsValue::from);
        let shared = Rc::new_cyclic(|weak| {
            let host = super::host::function(weak.clone());
            let store = offline.store.handle();
            Shared {
                outbox: super::outbox::Delivery::new(store, &host),
                writer: Writer::new(store, cache::CACHED_PAGE, &host),
                rest: Rest::new(
                    config.api_url(),
                    &config.api_key,
                    &config.token,
                    &provider,
                    &host,
                ),
                core: RefCell::new(core),
                config,
                driver: RefCell::new(driver),
                offline,
                posts: RefCell::default(),
            }
        });
        Ok(ChatClient { shared })
    }
}

/// Starts the connection (after the cold start: `cached` says whether it found data, then
/// the client opens at once and tolerates the network being away) and the outbox's delivery;
/// `connected` is called once the server accepted the connection (with the error when it was
/// refused or the client closed first).
pub(crate) fn start(shared: &Rc<Shared>, cached: bool, connected: Function) {
    if cached {
        shared.core.borrow_mut().resilient_start();
    }
    shared.driver.borrow_mut().connected = Some(connected);
    driver::start(shared);
    shared.outbox.kick();
}

/// The user stream's position is known: loads made from now on are newer than it.
pub(crate) fn positioned(shared: &Shared) -> bool {
    shared.core.borrow().sync_engine().user_cursor().is_some()
}

/// Where the channel query `key` (`query:` + its JSON) is answered from first: `null`, the
/// server (it answered this query in this session and the client is online); a string, the
/// list the cold start read (cids, one a line); `true`, the list stored under `key`. A list
/// answers only where the state holds every channel of it ([`handles`]); the server's answer
/// follows as `channel_list.updated`.
pub(crate) fn cached_query(shared: &Shared, key: &str) -> JsValue {
    let online = shared.core.borrow().state().is_online();
    let fresh = shared
        .offline
        .fresh_queries
        .borrow()
        .iter()
        .any(|k| k == key);
    if online && fresh {
        return JsValue::NULL;
    }
    if !fresh {
        if let Some(list) = shared.offline.restored(key) {
            return list.into();
        }
    }
    JsValue::TRUE
}

/// Handles on the channels of `list` (cids, one a line) when the state holds every one of
/// them, marked `fromCache`; `undefined` otherwise.
pub(crate) fn handles(shared: &Rc<Shared>, list: &str) -> Result<JsValue, JsValue> {
    let cids: Vec<&str> = list.split('\n').filter(|c| !c.is_empty()).collect();
    let held = {
        let core = shared.core.borrow();
        cids.iter().all(|c| core.state.channel(c).is_some())
    };
    if !held {
        return Ok(JsValue::UNDEFINED);
    }
    let out = Array::new();
    for cid in cids {
        if let Some((t, id)) = chat_protocol::split_cid(cid) {
            out.push(&Channel::new(shared.clone(), t, id, JsValue::UNDEFINED)?.into());
        }
    }
    let _ = Reflect::set(&out, &"fromCache".into(), &true.into());
    Ok(out.into())
}

/// The server's answer to a channel query: every channel of it is loaded (and stored), the
/// list set (or, for a next page — `more` — extended) and stored, the query's list cached
/// under `key`. Answers the channels' handles, with the answer's `next`.
pub(crate) fn listed(
    shared: &Rc<Shared>,
    more: bool,
    key: String,
    answer: &JsValue,
) -> Result<JsValue, JsValue> {
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
        if more {
            core.state.extend_list(cids.clone());
        } else {
            core.state.set_list(cids.clone());
        }
        core.state.order.join("\n")
    };
    let mut batch = WriteBatch::new();
    batch.put_meta(cache::LIST_KEY, list);
    if !more {
        batch.put_meta(&key, cids.join("\n"));
        shared.offline.fresh_queries.borrow_mut().push(key);
    }
    offline::persist(shared, batch);
    if let Some(next) = answer.field("next") {
        let _ = Reflect::set(&out, &"next".into(), &next);
    }
    Ok(out.into())
}

/// Any REST call of the API (`[method, path, mutation?]`, `body`), authenticated as the user
/// (`path` starts with `/v1/`): a promise of the answer. With `mutation`, a fresh
/// `mutation_id` is added so a retry is applied only once.
pub(crate) fn request(shared: &Shared, call: &JsValue, body: JsValue) -> Result<JsValue, JsValue> {
    let parts = call.items();
    let part = |i: usize| parts.get(i).cloned().unwrap_or(JsValue::UNDEFINED);
    let method = part(0).as_string().and_then(|m| Method::parse(&m));
    let method = method.ok_or_else(|| bad_argument("request", "unknown method"))?;
    let mut path = part(1).as_string().unwrap_or_default();
    if !path.starts_with("/v1/") {
        return Err(bad_argument("request", "path must start with /v1/"));
    }
    if part(2).is_truthy() {
        let sep = if path.contains('?') { '&' } else { '?' };
        path.push(sep);
        path.push_str("mutation_id=");
        path.push_str(&new_id());
    }
    let body = (!is_absent(&body)).then_some(body);
    Ok(shared.request(method.as_str(), &path, body.as_ref()).into())
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
