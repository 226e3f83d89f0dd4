//! The client core: the connection state machine, the event dispatcher, the sync engine and
//! the client state, combined so every input takes one path — a frame updates the connection,
//! goes through the sync engine (dropped if seen, held if early, a gap triggers a sync), is
//! applied to the state and only then handed to its listeners. Platform-free: the browser
//! driver and the native simulation both feed it and perform the [`Effect`]s it returns.

use crate::sync::SyncRequest;
use chat_protocol::ClientFrame;

use crate::cache;
use crate::store::WriteBatch;

use crate::connection::{Action, ConnectionMachine, ConnectionState, Input};
use crate::events::{Dispatcher, SubscriptionId};
use crate::frame::FrameHeader;
use crate::state::{position, ClientState, Position, Wire};
use crate::sync::{Stream, SyncAnswer, SyncEngine, SyncOut};
use crate::typing::TypingThrottle;
use crate::vecmap::VecMap;

/// Name of the event emitted when everything missed during a disconnect has been applied.
pub const RECOVERED_EVENT: &str = "connection.recovered";

/// Something for the platform to do, in order.
#[derive(Debug)]
pub enum Effect<L, W> {
    Connection(Action),
    /// The event has been applied to the state: call these listeners with it.
    Deliver {
        event: W,
        listeners: Vec<(SubscriptionId, L)>,
    },
    /// `POST /v1/sync`; report with [`ClientCore::sync_answer`] / [`ClientCore::sync_failed`].
    Sync(SyncRequest),
    /// Reload the channel (`GET /v1/channels/{type}/{id}`); report with
    /// [`ClientCore::load_channel`] / [`ClientCore::reload_failed`].
    Reload(String),
    /// The user stream was reset: reload the user and the channel list.
    ReloadUser,
    /// Emit `connection.recovered` to these listeners.
    Recovered(Vec<(SubscriptionId, L)>),
    /// Store these writes (one transaction), after every earlier `Persist`: the applied
    /// events and loads, with the cursors they moved.
    Persist(WriteBatch<W>),
}

#[derive(Debug)]
pub struct ClientCore<L, W> {
    machine: ConnectionMachine,
    events: Dispatcher<L>,
    sync: SyncEngine<W>,
    pub state: ClientState<W>,
    typing: TypingThrottle,
    /// Whether applied events and loads are mirrored to a store ([`Effect::Persist`]).
    cache: bool,
    /// Writes gathered during the current input, with the streams whose cursor they moved.
    pending: WriteBatch<W>,
    touched: Vec<String>,
    user_touched: bool,
    /// Per channel, the cursor when its latest load began: an answer older than what was
    /// applied since then is stale (overlapping loads) and must not roll the channel back.
    load_base: VecMap<String, u64>,
}

impl<L: Clone, W: Wire> ClientCore<L, W> {
    pub fn new(user_id: &str, jitter_seed: u64) -> Self {
        ClientCore {
            machine: ConnectionMachine::new(jitter_seed),
            events: Dispatcher::new(),
            sync: SyncEngine::new(),
            state: ClientState::new(user_id),
            typing: TypingThrottle::default(),
            cache: false,
            pending: WriteBatch::new(),
            touched: Vec::new(),
            user_touched: false,
            load_base: VecMap::new(),
        }
    }

    /// Mirrors applied events and loads to a store through [`Effect::Persist`].
    pub fn with_cache(mut self) -> Self {
        self.cache = true;
        self
    }

    /// Loads a channel rebuilt from the store ([`cache::cached_state`]); its sync restarts at
    /// `cursor`, the last sequence the stored data includes.
    pub fn restore_channel(&mut self, state: &W, cursor: u64) {
        if let Some((cid, _)) = self.state.load_channel(state) {
            let _ = self.sync.reloaded(&cid, cursor);
        }
    }

    /// The session opened from the cache: the first connection retries instead of failing.
    pub fn resilient_start(&mut self) {
        self.machine.resilient_start();
    }

    /// The user stream's stored position: missed user events are fetched from there.
    pub fn restore_user(&mut self, cursor: u64) {
        self.sync.restore_user(cursor);
    }

    /// Adds the cursor writes for the streams the gathered writes moved, and hands the batch
    /// to the platform.
    fn flush(&mut self, out: &mut Vec<Effect<L, W>>) {
        if self.pending.is_empty() {
            return;
        }
        for cid in std::mem::take(&mut self.touched) {
            if let Some(seq) = self.sync.cursor(&cid) {
                self.pending
                    .put_meta(&cache::channel_cursor_key(&cid), crate::text::decimal(seq));
            }
        }
        if std::mem::take(&mut self.user_touched) {
            if let Some(seq) = self.sync.user_cursor() {
                self.pending
                    .put_meta(cache::USER_CURSOR_KEY, crate::text::decimal(seq));
            }
        }
        out.push(Effect::Persist(std::mem::take(&mut self.pending)));
    }

    /// Expired tokens are refreshed (a token provider exists) instead of ending the session.
    pub fn with_token_refresh(mut self) -> Self {
        self.machine = self.machine.clone().with_token_refresh();
        self
    }

    /// Uses `limit` events per stream and sync page.
    pub fn with_sync_page_limit(mut self, limit: u32) -> Self {
        self.sync = SyncEngine::new().with_page_limit(limit);
        self
    }

    pub fn state(&self) -> ConnectionState {
        self.machine.state()
    }

    pub fn machine(&self) -> &ConnectionMachine {
        &self.machine
    }

    pub fn events(&mut self) -> &mut Dispatcher<L> {
        &mut self.events
    }

    pub fn is_subscribed(&self, id: SubscriptionId) -> bool {
        self.events.is_subscribed(id)
    }

    pub fn sync_engine(&self) -> &SyncEngine<W> {
        &self.sync
    }

    /// Feeds a connection input (anything but a frame).
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect<L, W>> {
        let mut out = Vec::new();
        if input == Input::Tick {
            for frame in self.typing.expire(now_ms) {
                if self.machine.state().is_online() {
                    out.push(Effect::Connection(Action::Send(frame)));
                }
            }
            let outs = self.sync.poll();
            self.run(now_ms, outs, &mut out);
        }
        let actions = self.machine.handle(now_ms, input);
        self.connection(now_ms, actions, &mut out);
        self.flush(&mut out);
        out
    }

    /// Feeds one incoming frame (`header` is read from `frame`).
    pub fn receive(&mut self, now_ms: u64, header: &FrameHeader, frame: W) -> Vec<Effect<L, W>> {
        let mut out = Vec::new();
        // Only `connection.ok` carries the user stream's position.
        if let Some(last) = frame.u64_of("user_last_seq") {
            let outs = self.sync.user_position(last);
            self.run(now_ms, outs, &mut out);
        }
        let actions = self
            .machine
            .handle(now_ms, Input::Frame(header.to_incoming()));
        self.connection(now_ms, actions, &mut out);
        let outs = match position(&frame) {
            Position::Channel(cid, seq) => self.sync.live(Stream::Channel(cid), seq, frame),
            Position::User(seq) => self.sync.live(Stream::User, seq, frame),
            Position::None => vec![SyncOut::Apply(frame)],
        };
        self.run(now_ms, outs, &mut out);
        self.flush(&mut out);
        out
    }

    pub fn sync_answer(&mut self, now_ms: u64, answer: SyncAnswer<W>) -> Vec<Effect<L, W>> {
        let outs = self.sync.answer(answer);
        let mut out = Vec::new();
        self.run(now_ms, outs, &mut out);
        self.flush(&mut out);
        out
    }

    /// The sync request failed; it is sent again on the next tick.
    pub fn sync_failed(&mut self) {
        self.sync.failed();
    }

    /// A channel load is starting (watch, create, reload): its events wait for the answer.
    pub fn begin_load(&mut self, cid: &str) {
        self.note_load(cid);
        self.sync.begin_reload(cid);
    }

    fn note_load(&mut self, cid: &str) {
        let at = self.sync.cursor(cid).unwrap_or(0);
        self.load_base.insert(cid.to_string(), at);
    }

    /// Loads a `ChannelState` answer (create, watch, query, reload) and restarts the
    /// channel's cursor at its `last_seq`.
    pub fn load_channel(&mut self, now_ms: u64, state: &W) -> Vec<Effect<L, W>> {
        let mut out = Vec::new();
        let channel = state.field("channel");
        let cid = channel.as_ref().and_then(|c| c.str_of("cid"));
        let last = channel.as_ref().and_then(|c| c.u64_of("last_seq"));
        if let (Some(cid), Some(last)) = (cid, last) {
            let applied = self.sync.cursor(&cid).unwrap_or(0);
            let base = self.load_base.get(&cid).copied().unwrap_or(0);
            if applied > last && applied > base {
                // Newer events were applied after this load began (another load answered
                // first): this answer is stale. Keep the state; release what waited.
                let outs = self.sync.reloaded(&cid, applied);
                self.run(now_ms, outs, &mut out);
                self.flush(&mut out);
                return out;
            }
        }
        if self.cache {
            cache::load_writes(state, &mut self.pending);
        }
        if let Some((cid, last_seq)) = self.state.load_channel(state) {
            let outs = self.sync.reloaded(&cid, last_seq);
            self.run(now_ms, outs, &mut out);
        }
        self.flush(&mut out);
        out
    }

    /// A load failed; `gone` when the channel cannot be read any more (not found, forbidden).
    pub fn reload_failed(&mut self, now_ms: u64, cid: &str, gone: bool) -> Vec<Effect<L, W>> {
        if gone {
            self.state.forget(cid);
        }
        let outs = self.sync.reload_failed(cid, gone);
        let mut out = Vec::new();
        self.run(now_ms, outs, &mut out);
        self.flush(&mut out);
        out
    }

    /// `typing.start` to send for a keystroke, when due.
    pub fn keystroke(
        &mut self,
        now_ms: u64,
        cid: &str,
        parent: Option<&str>,
    ) -> Option<ClientFrame> {
        self.typing.keystroke(now_ms, cid, parent)
    }

    pub fn stop_typing(&mut self, cid: &str, parent: Option<&str>) -> Option<ClientFrame> {
        self.typing.stop(cid, parent)
    }

    fn connection(&mut self, now_ms: u64, actions: Vec<Action>, out: &mut Vec<Effect<L, W>>) {
        let mut connected = false;
        for action in actions {
            match &action {
                Action::StateChanged(ConnectionState::Online) => connected = true,
                Action::StateChanged(_) => {
                    self.typing.clear();
                    // Ephemeral state is not replayed: nobody is typing after a reconnect.
                    for channel in self.state.channels.values_mut() {
                        channel.typing.clear();
                    }
                }
                _ => {}
            }
            out.push(Effect::Connection(action));
        }
        if connected {
            let outs = self.sync.connected();
            self.run(now_ms, outs, out);
        }
    }

    fn run(&mut self, now_ms: u64, outs: Vec<SyncOut<W>>, out: &mut Vec<Effect<L, W>>) {
        for o in outs {
            match o {
                SyncOut::Apply(event) => self.apply(now_ms, event, out),
                SyncOut::Notify(event) => {
                    let kind = event.str_of("type").unwrap_or_default();
                    let listeners = self
                        .events
                        .listeners_for(&kind, event.str_of("cid").as_deref());
                    out.push(Effect::Deliver { event, listeners });
                }
                SyncOut::Request(request) => out.push(Effect::Sync(request)),
                SyncOut::Reload(cid) => {
                    self.note_load(&cid);
                    out.push(Effect::Reload(cid))
                }
                SyncOut::ReloadUser => out.push(Effect::ReloadUser),
                SyncOut::Recovered => {
                    let listeners = self.events.listeners_for(RECOVERED_EVENT, None);
                    out.push(Effect::Recovered(listeners));
                }
            }
        }
    }

    fn apply(&mut self, now_ms: u64, event: W, out: &mut Vec<Effect<L, W>>) {
        let kind = event.str_of("type").unwrap_or_default();
        let cid = event
            .str_of("cid")
            .or_else(|| event.field("channel").and_then(|c| c.str_of("cid")));
        self.state.apply(&event, now_ms);
        if self.cache {
            cache::event_writes(&event, &self.state.user_id, &mut self.pending);
            match position(&event) {
                Position::Channel(cid, _) if !self.touched.contains(&cid) => self.touched.push(cid),
                Position::User(_) => self.user_touched = true,
                _ => {}
            }
        }
        let me = self.state.user_id.as_str();
        match (kind.as_str(), &cid) {
            ("notification.added_to_channel" | "notification.invited", Some(cid))
                if self.state.channel(cid).is_none() =>
            {
                self.note_load(cid);
                self.sync.begin_reload(cid);
                out.push(Effect::Reload(cid.clone()));
            }
            ("notification.removed_from_channel" | "channel.deleted", Some(cid)) => {
                self.sync.untrack(cid);
            }
            ("member.removed", Some(cid)) if event.str_of("user_id").as_deref() == Some(me) => {
                self.sync.untrack(cid);
            }
            _ => {}
        }
        let listeners = self.events.listeners_for(&kind, cid.as_deref());
        out.push(Effect::Deliver { event, listeners });
    }

    /// Listeners of an event of type `kind` (in channel `cid`).
    pub fn listeners(&self, kind: &str, cid: Option<&str>) -> Vec<(SubscriptionId, L)> {
        self.events.listeners_for(kind, cid)
    }

    /// Listeners of `connection.changed`.
    pub fn connection_listeners(&self) -> Vec<(SubscriptionId, L)> {
        self.events.listeners_for("connection.changed", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn core() -> ClientCore<(), Value> {
        ClientCore::new("me", 1).with_cache()
    }

    fn state(last: u64, texts: &[u64]) -> Value {
        let messages: Vec<Value> = texts
            .iter()
            .map(|s| json!({"id": format!("m{s}"), "cid": "t:c", "channel_seq": s}))
            .collect();
        json!({"channel": {"cid": "t:c", "last_seq": last}, "messages": messages})
    }

    fn event(seq: u64) -> Value {
        json!({"type": "message.new", "cid": "t:c", "channel_seq": seq,
            "message": {"id": format!("m{seq}"), "cid": "t:c", "channel_seq": seq}})
    }

    fn ids(c: &ClientCore<(), Value>) -> Vec<String> {
        let ch = c.state.channel("t:c").unwrap();
        ch.messages.entries().iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn a_stale_answer_of_overlapping_loads_does_not_roll_back() {
        let mut c = core();
        c.begin_load("t:c");
        c.begin_load("t:c");
        // The second load answers first, then a live message arrives.
        c.load_channel(0, &state(2, &[1, 2]));
        let e = event(3);
        let header: FrameHeader = serde_json::from_value(e.clone()).unwrap();
        c.receive(0, &header, e);
        assert_eq!(ids(&c), ["m1", "m2", "m3"]);
        // The first load's older answer arrives last: ignored.
        let fx = c.load_channel(0, &state(1, &[1]));
        assert_eq!(ids(&c), ["m1", "m2", "m3"]);
        assert_eq!(c.sync_engine().cursor("t:c"), Some(3));
        assert!(!fx.iter().any(|f| matches!(f, Effect::Persist(_))));
    }

    #[test]
    fn a_reload_the_engine_asked_for_may_move_back() {
        let mut c = core();
        c.begin_load("t:c");
        c.load_channel(0, &state(5, &[4, 5]));
        // The server lost history (resync): its answer is behind the cursor but accepted.
        c.note_load("t:c");
        c.load_channel(0, &state(2, &[1, 2]));
        assert_eq!(ids(&c), ["m1", "m2"]);
        assert_eq!(c.sync_engine().cursor("t:c"), Some(2));
    }

    #[test]
    fn applied_events_persist_with_their_cursor() {
        let mut c = core();
        c.begin_load("t:c");
        let fx = c.load_channel(0, &state(2, &[1, 2]));
        assert!(fx.iter().any(|f| matches!(f, Effect::Persist(_))));
        let e = event(3);
        let header: FrameHeader = serde_json::from_value(e.clone()).unwrap();
        let fx = c.receive(0, &header, e.clone());
        let batch = fx
            .into_iter()
            .find_map(|f| match f {
                Effect::Persist(b) => Some(b),
                _ => None,
            })
            .expect("a persist effect");
        assert_eq!(
            batch.writes,
            vec![
                crate::store::Write::PutMessage(e["message"].clone()),
                crate::store::Write::PutMeta {
                    key: "cursor:t:c".into(),
                    value: "3".into()
                }
            ]
        );
    }
}
