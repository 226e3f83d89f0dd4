//! Property test of the whole client core against a simulated server and a faulty network:
//! frames are dropped, duplicated, delayed and reordered, sockets are cut at random points,
//! history is pruned (forcing `resync`), members come and go, some messages are shadowed. Once
//! the faults stop and every stream has had one more event, every client's state must equal the
//! server's view for that user. Seeded and fast: thousands of cases per run.

use std::collections::{BTreeMap, VecDeque};

use super::SyncRequest;
use chat_protocol::requests::SyncCursor;
use serde_json::{json, Value};

use crate::client::{ClientCore, Effect};
use crate::connection::{Action, Input};
use crate::frame::FrameHeader;
use crate::state::Wire;
use crate::store::{MemoryStore, Page, Store};
use crate::sync::SyncAnswer;

const USERS: [&str; 3] = ["u0", "u1", "u2"];
const CHANNELS: [&str; 2] = ["m:c0", "m:c1"];

/// xorshift64*: small, seeded, good enough for picking faults.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct SimChannel {
    last_seq: u64,
    /// (seq, frame, only this user)
    log: Vec<(u64, Value, Option<String>)>,
    /// Messages by id, with the user they are shadowed to.
    messages: BTreeMap<String, (Value, Option<String>)>,
    members: BTreeMap<String, Value>,
    unread: BTreeMap<String, u64>,
    info: Value,
}

#[derive(Default)]
struct SimServer {
    channels: BTreeMap<String, SimChannel>,
    user_logs: BTreeMap<String, Vec<(u64, Value)>>,
    user_last: BTreeMap<String, u64>,
    /// Frames to push to connected sockets: (user, frame).
    outbox: Vec<(String, Value)>,
    next_id: u64,
}

impl SimServer {
    fn new() -> Self {
        let mut s = SimServer::default();
        for cid in CHANNELS {
            let members = USERS
                .iter()
                .map(|u| (u.to_string(), json!({"user_id": u, "role": "member"})))
                .collect();
            let info = json!({"cid": cid, "name": cid});
            s.channels.insert(
                cid.into(),
                SimChannel {
                    last_seq: 0,
                    log: vec![],
                    messages: BTreeMap::new(),
                    members,
                    unread: BTreeMap::new(),
                    info,
                },
            );
        }
        s
    }

    fn channel_event(&mut self, cid: &str, mut frame: Value, only: Option<String>) {
        let ch = self.channels.get_mut(cid).unwrap();
        ch.last_seq += 1;
        frame["cid"] = cid.into();
        frame["channel_seq"] = ch.last_seq.into();
        ch.log.push((ch.last_seq, frame.clone(), only.clone()));
        for uid in ch.members.keys() {
            if only.as_ref().is_none_or(|o| o == uid) {
                self.outbox.push((uid.clone(), frame.clone()));
            }
        }
    }

    fn user_event(&mut self, uid: &str, mut frame: Value) {
        let seq = self.user_last.entry(uid.into()).or_default();
        *seq += 1;
        frame["user_seq"] = (*seq).into();
        self.user_logs
            .entry(uid.into())
            .or_default()
            .push((*seq, frame.clone()));
        self.outbox.push((uid.into(), frame));
    }

    fn random_op(&mut self, rng: &mut Rng) {
        let cid = CHANNELS[rng.below(2) as usize].to_string();
        let ch = &self.channels[&cid];
        let members: Vec<String> = ch.members.keys().cloned().collect();
        let ids: Vec<String> = ch.messages.keys().cloned().collect();
        match rng.below(100) {
            0..=39 => {
                let author = members[rng.below(members.len() as u64) as usize].clone();
                self.send(&cid, &author, rng.chance(8));
            }
            40..=54 if !ids.is_empty() => {
                let id = &ids[rng.below(ids.len() as u64) as usize];
                let (mut m, only) = self.channels[&cid].messages[id].clone();
                let kind = match rng.below(4) {
                    0 => {
                        m["text"] = format!("edit {}", rng.below(1000)).into();
                        "message.updated"
                    }
                    1 => {
                        m["reaction_counts"] = json!({"like": rng.below(5)});
                        "reaction.new"
                    }
                    2 => {
                        m["is_pinned"] = true.into();
                        m["pinned_at"] = format!("2026-01-01T00:00:{:02}Z", rng.below(60)).into();
                        "message.updated"
                    }
                    _ => {
                        m["is_deleted"] = true.into();
                        m["text"] = "".into();
                        "message.deleted"
                    }
                };
                self.channels
                    .get_mut(&cid)
                    .unwrap()
                    .messages
                    .insert(id.clone(), (m.clone(), only.clone()));
                self.channel_event(
                    &cid,
                    json!({"type": kind, "message": m, "hard_delete": false}),
                    only,
                );
            }
            55..=59 if !ids.is_empty() => {
                let id = &ids[rng.below(ids.len() as u64) as usize];
                let (m, only) = self
                    .channels
                    .get_mut(&cid)
                    .unwrap()
                    .messages
                    .remove(id)
                    .unwrap();
                self.channel_event(
                    &cid,
                    json!({"type": "message.deleted", "message": m, "hard_delete": true}),
                    only,
                );
            }
            60..=69 => {
                let uid = members[rng.below(members.len() as u64) as usize].clone();
                self.channels
                    .get_mut(&cid)
                    .unwrap()
                    .unread
                    .insert(uid.clone(), 0);
                let read = json!({"cid": cid, "user_id": uid, "last_read_seq": self.channels[&cid].last_seq, "unread_count": 0});
                self.channel_event(&cid, json!({"type": "message.read", "read": read}), None);
            }
            70..=74 => {
                let info = json!({"cid": cid, "name": format!("n{}", rng.below(1000))});
                self.channels.get_mut(&cid).unwrap().info = info.clone();
                self.channel_event(
                    &cid,
                    json!({"type": "channel.updated", "channel": info}),
                    None,
                );
            }
            75..=79 => {
                // u2 leaves or joins.
                let ch = self.channels.get_mut(&cid).unwrap();
                if ch.members.contains_key("u2") {
                    self.channel_event(
                        &cid,
                        json!({"type": "member.removed", "user_id": "u2"}),
                        None,
                    );
                    self.channels.get_mut(&cid).unwrap().members.remove("u2");
                    self.user_event(
                        "u2",
                        json!({"type": "notification.removed_from_channel", "cid": cid}),
                    );
                } else {
                    let member = json!({"user_id": "u2", "role": "member"});
                    ch.members.insert("u2".into(), member.clone());
                    ch.unread.insert("u2".into(), 0);
                    self.channel_event(
                        &cid,
                        json!({"type": "member.added", "member": member}),
                        None,
                    );
                    let info = self.channels[&cid].info.clone();
                    self.user_event(
                        "u2",
                        json!({"type": "notification.added_to_channel", "channel": info}),
                    );
                }
            }
            80..=84 => {
                let uid = USERS[rng.below(3) as usize];
                let user = json!({"id": uid, "display_name": format!("d{}", rng.below(1000))});
                self.user_event(uid, json!({"type": "user.updated", "user": user}));
            }
            85..=86 => {
                // History before the latest few events is gone: older cursors get `resync`.
                let ch = self.channels.get_mut(&cid).unwrap();
                let keep = ch.log.len().saturating_sub(2);
                ch.log.drain(..keep);
            }
            _ => {
                let uid = members[rng.below(members.len() as u64) as usize].clone();
                self.outbox.push((
                    uid.clone(),
                    json!({"type": "typing.start", "cid": cid, "user_id": "u0"}),
                ));
            }
        }
    }

    fn send(&mut self, cid: &str, author: &str, shadowed: bool) {
        self.next_id += 1;
        let id = format!("msg{}", self.next_id);
        let ch = self.channels.get_mut(cid).unwrap();
        let m = json!({"id": id, "cid": cid, "channel_seq": ch.last_seq + 1, "user_id": author, "text": id});
        let only = shadowed.then(|| author.to_string());
        ch.messages.insert(id, (m.clone(), only.clone()));
        if !shadowed {
            for uid in ch.members.keys().filter(|u| *u != author) {
                *ch.unread.entry(uid.clone()).or_default() += 1;
            }
        }
        self.channel_event(cid, json!({"type": "message.new", "message": m}), only);
    }

    /// `GET /v1/channels/...` as `uid` sees it; `None` when not a member.
    fn channel_state(&self, cid: &str, uid: &str) -> Option<Value> {
        let ch = &self.channels[cid];
        let me = ch.members.get(uid)?;
        let mut messages: Vec<&Value> = ch
            .messages
            .values()
            .filter(|(_, only)| only.as_deref().is_none_or(|o| o == uid))
            .map(|(m, _)| m)
            .collect();
        messages.sort_by_key(|m| m["channel_seq"].as_u64());
        let mut info = ch.info.clone();
        info["last_seq"] = ch.last_seq.into();
        let mut membership = me.clone();
        membership["unread_count"] = ch.unread.get(uid).copied().unwrap_or(0).into();
        Some(
            json!({"channel": info, "members": ch.members.values().collect::<Vec<_>>(),
                    "messages": messages, "membership": membership}),
        )
    }

    /// `POST /v1/sync` as the real server answers it.
    fn sync(&self, uid: &str, req: &SyncRequest) -> SyncAnswer<Value> {
        let limit = req.limit.unwrap_or(200) as usize;
        let mut answer = SyncAnswer {
            events: vec![],
            channels: vec![],
            user_events: vec![],
            user: None,
        };
        for (cid, after) in &req.channels {
            let ch = &self.channels[cid];
            if !ch.members.contains_key(uid) {
                answer.channels.push((
                    cid.clone(),
                    SyncCursor {
                        last_seq: 0,
                        has_more: false,
                        resync: true,
                        page_seq: None,
                    },
                ));
                continue;
            }
            let rows: Vec<(u64, Option<Value>)> = ch
                .log
                .iter()
                .filter(|(s, _, _)| s > after)
                .map(|(s, f, only)| {
                    (
                        *s,
                        only.as_deref().is_none_or(|o| o == uid).then(|| f.clone()),
                    )
                })
                .collect();
            let (page, cursor) = page(rows, *after, ch.last_seq, limit);
            answer
                .events
                .extend(page.into_iter().map(|(s, f)| (cid.clone(), s, f)));
            answer.channels.push((cid.clone(), cursor));
        }
        if let Some(after) = req.user_seq {
            let last = self.user_last.get(uid).copied().unwrap_or(0);
            let rows = self
                .user_logs
                .get(uid)
                .into_iter()
                .flatten()
                .filter(|(s, _)| *s > after)
                .map(|(s, f)| (*s, Some(f.clone())))
                .collect();
            let (page, cursor) = page(rows, after, last, limit);
            answer.user_events = page;
            answer.user = Some(cursor);
        }
        answer
    }
}

fn page(
    rows: Vec<(u64, Option<Value>)>,
    after: u64,
    last_seq: u64,
    limit: usize,
) -> (Vec<(u64, Value)>, SyncCursor) {
    let resync = SyncCursor {
        last_seq,
        has_more: false,
        resync: true,
        page_seq: None,
    };
    if after > last_seq {
        return (vec![], resync);
    }
    if after == last_seq {
        return (
            vec![],
            SyncCursor {
                last_seq,
                has_more: false,
                resync: false,
                page_seq: Some(after),
            },
        );
    }
    if rows.first().map(|r| r.0) != Some(after + 1) {
        return (vec![], resync);
    }
    let has_more = rows.len() > limit;
    // Like the server: the page cursor counts the events left out for this user.
    let page_seq = rows[..limit.min(rows.len())].last().map(|r| r.0);
    let page = rows
        .into_iter()
        .take(limit)
        .filter_map(|(s, f)| Some((s, f?)))
        .collect();
    (
        page,
        SyncCursor {
            last_seq,
            has_more,
            resync: false,
            page_seq,
        },
    )
}

#[derive(Debug)]
enum Pending {
    Sync(SyncRequest),
    Reload(String),
    Open,
}

struct SimClient {
    uid: String,
    core: ClientCore<(), Value>,
    connected: bool,
    /// Frames on the wire to this client: (due step, frame).
    wire: Vec<(u64, Value)>,
    /// Requests under way: (due step, request).
    http: VecDeque<(u64, Pending)>,
    reconnect_at: Option<u64>,
    /// The channel list was loaded (after the first catch-up, as an app does after connect).
    loaded: bool,
    /// Every channel and user event delivered to listeners, to catch a double delivery.
    delivered: std::collections::BTreeSet<(String, u64)>,
    /// The client's cache: every `Effect::Persist` applied in order.
    store: MemoryStore<Value>,
}

const STEP_MS: u64 = 100;

impl SimClient {
    fn perform(&mut self, now: u64, effects: Vec<Effect<(), Value>>, rng: &mut Rng) {
        for e in effects {
            if std::env::var("SIM_TRACE").is_ok_and(|u| u == self.uid) {
                match &e {
                    Effect::Deliver { event, .. } => eprintln!(
                        "{now} deliver {} {:?} {:?} {:?}",
                        event["type"],
                        event.get("cid"),
                        event.get("channel_seq"),
                        event.get("user_seq")
                    ),
                    other => eprintln!("{now} {other:?}"),
                }
            }
            let delay = now + 1 + rng.below(4);
            match e {
                Effect::Connection(Action::OpenSocket) => {
                    self.http.push_back((delay, Pending::Open))
                }
                Effect::Connection(Action::CloseSocket { .. }) => {
                    self.connected = false;
                    self.wire.clear();
                }
                Effect::Connection(Action::ScheduleReconnect { delay_ms }) => {
                    self.reconnect_at = Some(now + delay_ms / STEP_MS + 1)
                }
                Effect::Deliver { event, .. } => {
                    let key = match (
                        event.str_of("cid"),
                        event.u64_of("channel_seq"),
                        event.u64_of("user_seq"),
                    ) {
                        (Some(cid), Some(seq), _) => Some((cid, seq)),
                        (_, _, Some(seq)) => Some(("user".into(), seq)),
                        _ => None,
                    };
                    if let Some(key) = key {
                        assert!(
                            self.delivered.insert(key.clone()),
                            "{} got {key:?} twice",
                            self.uid
                        );
                    }
                }
                Effect::Sync(req) => self.http.push_back((delay, Pending::Sync(req))),
                Effect::Reload(cid) => self.http.push_back((delay, Pending::Reload(cid))),
                Effect::Recovered(_) if !self.loaded => {
                    self.loaded = true;
                    self.load_all(delay);
                }
                Effect::ReloadUser => self.load_all(delay),
                Effect::Persist(batch) => {
                    futures::executor::block_on(self.store.write(batch)).expect("cache write")
                }
                _ => {}
            }
        }
    }

    /// What `queryChannels` does: (re)load every channel (the ones left are forgotten).
    fn load_all(&mut self, at: u64) {
        for cid in CHANNELS {
            self.core.begin_load(cid);
            self.http.push_back((at, Pending::Reload(cid.into())));
        }
    }

    fn step(&mut self, now: u64, server: &SimServer, rng: &mut Rng, faults: bool) {
        let ms = now * STEP_MS;
        if self.reconnect_at.is_some_and(|at| at <= now) {
            self.reconnect_at = None;
            let fx = self.core.handle(ms, Input::ReconnectDue);
            self.perform(now, fx, rng);
        }
        // HTTP answers in order of their due time (requests may overtake each other).
        let due: Vec<usize> = (0..self.http.len())
            .filter(|&i| self.http[i].0 <= now)
            .collect();
        for i in due.into_iter().rev() {
            let (_, pending) = self.http.remove(i).unwrap();
            let fx = match pending {
                Pending::Open => {
                    self.connected = true;
                    let ok = json!({"type": "connection.ok", "connection_id": "c", "health_interval_ms": 10_000});
                    let header: FrameHeader = serde_json::from_value(ok.clone()).unwrap();
                    let mut fx = self.core.handle(ms, Input::SocketOpened);
                    fx.extend(self.core.receive(ms, &header, ok));
                    fx
                }
                Pending::Sync(req) => {
                    if faults && rng.chance(10) {
                        self.core.sync_failed();
                        Vec::new()
                    } else {
                        self.core.sync_answer(ms, server.sync(&self.uid, &req))
                    }
                }
                Pending::Reload(cid) => match server.channel_state(&cid, &self.uid) {
                    Some(state) => self.core.load_channel(ms, &state),
                    None => self.core.reload_failed(ms, &cid, true),
                },
            };
            self.perform(now, fx, rng);
        }
        // Deliver frames that are due, in a random order among them (reordering).
        let mut due: Vec<Value> = Vec::new();
        self.wire.retain(|(at, f)| {
            if *at <= now {
                due.push(f.clone());
                false
            } else {
                true
            }
        });
        while !due.is_empty() {
            let i = if faults {
                rng.below(due.len() as u64) as usize
            } else {
                0
            };
            let frame = due.remove(i);
            if faults && rng.chance(2) && self.connected {
                self.connected = false;
                self.wire.clear();
                let fx = self.core.handle(ms, Input::SocketClosed { code: 1006 });
                self.perform(now, fx, rng);
                break;
            }
            let header: FrameHeader = serde_json::from_value(frame.clone()).unwrap();
            let fx = self.core.receive(ms, &header, frame);
            self.perform(now, fx, rng);
        }
        let fx = self.core.handle(ms, Input::Tick);
        self.perform(now, fx, rng);
    }

    fn push(&mut self, now: u64, frame: Value, rng: &mut Rng, faults: bool) {
        if !self.connected {
            return;
        }
        if faults && rng.chance(5) {
            return; // dropped
        }
        let delay = if faults { rng.below(5) } else { 0 };
        self.wire.push((now + 1 + delay, frame.clone()));
        if faults && rng.chance(5) {
            self.wire.push((now + 1 + rng.below(8), frame)); // duplicated
        }
    }

    fn settled(&self) -> bool {
        self.loaded
            && self.wire.is_empty()
            && self.http.is_empty()
            && self.reconnect_at.is_none()
            && self.connected
    }
}

/// The comparable view: per channel (name, member ids, messages, own unread).
fn client_view(c: &SimClient) -> BTreeMap<String, Value> {
    c.core
        .state
        .channels
        .iter()
        .map(|(cid, ch)| {
            let messages: Vec<Value> = ch
                .messages
                .entries()
                .iter()
                .map(|e| e.data.clone())
                .collect();
            let name = ch.channel.as_ref().and_then(|c| c.str_of("name"));
            (
                cid.clone(),
                json!({"name": name, "members": ch.members.keys().collect::<Vec<_>>(),
                                 "messages": messages, "unread": ch.unread_count}),
            )
        })
        .collect()
}

fn server_view(s: &SimServer, uid: &str) -> BTreeMap<String, Value> {
    CHANNELS
        .iter()
        .filter_map(|cid| {
            let st = s.channel_state(cid, uid)?;
            let members: Vec<&String> = s.channels[*cid].members.keys().collect();
            Some((
                cid.to_string(),
                json!({"name": st["channel"]["name"], "members": members,
                "messages": st["messages"], "unread": st["membership"]["unread_count"]}),
            ))
        })
        .collect()
}

fn run_case(seed: u64) {
    if std::env::var("SIM_TRACE").is_ok() {
        eprintln!("seed {seed}");
    }
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut server = SimServer::new();
    let mut clients: Vec<SimClient> = USERS
        .iter()
        .map(|u| SimClient {
            uid: u.to_string(),
            core: ClientCore::new(u, seed)
                .with_sync_page_limit(1 + rng.below(4) as u32)
                .with_cache(),
            connected: false,
            wire: vec![],
            http: VecDeque::new(),
            reconnect_at: None,
            loaded: false,
            delivered: Default::default(),
            store: MemoryStore::default(),
        })
        .collect();
    for c in &mut clients {
        let fx = c.core.handle(0, Input::Start);
        c.perform(0, fx, &mut rng);
    }
    let fault_steps = 60 + rng.below(60);
    for now in 0..2_000u64 {
        let faults = now < fault_steps;
        if faults && rng.chance(60) {
            server.random_op(&mut rng);
        }
        if now == fault_steps {
            // One more event on every stream, so a lost last frame is noticed as a gap.
            for cid in CHANNELS {
                server.send(cid, "u0", false);
            }
            for u in USERS {
                server.user_event(u, json!({"type": "user.updated", "user": {"id": u}}));
            }
        }
        for (uid, frame) in std::mem::take(&mut server.outbox) {
            let c = clients.iter_mut().find(|c| c.uid == uid).unwrap();
            c.push(now, frame, &mut rng, faults);
        }
        for c in &mut clients {
            c.step(now, &server, &mut rng, faults);
        }
        if now > fault_steps + 1
            && server.outbox.is_empty()
            && clients.iter().all(SimClient::settled)
        {
            break;
        }
    }
    for c in &clients {
        assert!(c.settled(), "seed {seed}: {} never settled: wire {} http {:?} reconnect {:?} connected {} state {:?}", c.uid, c.wire.len(), c.http.iter().map(|h| format!("{:?}", h.1)).collect::<Vec<_>>(), c.reconnect_at, c.connected, c.core.state());
        assert_eq!(
            client_view(c),
            server_view(&server, &c.uid),
            "seed {seed}: {}",
            c.uid
        );
        check_cache(c, seed);
    }
}

/// The client's cache mirrors its state: per channel, the newest stored messages are the
/// state's messages, and the stored cursor is where the stored data ends.
fn check_cache(c: &SimClient, seed: u64) {
    use futures::executor::block_on;
    for (cid, ch) in c.core.state.channels.iter() {
        let held: Vec<Value> = ch.messages.entries().iter().map(|e| e.data.clone()).collect();
        let stored = block_on(c.store.messages(cid, Page::Latest(held.len() as u32))).unwrap();
        assert_eq!(stored, held, "seed {seed}: {} cache of {cid}", c.uid);
        let cursor = block_on(c.store.meta(&crate::cache::channel_cursor_key(cid))).unwrap();
        // Never ahead of what was applied (a restart would skip events); it may lag when the
        // engine moved over events not meant for this client (then a restart re-reads them).
        let stored = crate::cache::parse_cursor(cursor);
        let applied = c.core.sync_engine().cursor(cid);
        assert!(
            stored.is_some() && stored <= applied,
            "seed {seed}: {} cursor of {cid}: stored {stored:?}, applied {applied:?}",
            c.uid
        );
    }
}

#[test]
fn every_client_converges_to_the_servers_state() {
    let cases: u64 = std::env::var("SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let first: u64 = std::env::var("SIM_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for seed in first..first + cases {
        run_case(seed);
    }
}
