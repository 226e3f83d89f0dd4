//! The sync engine: cursors, held-back events, and the decisions of when to sync or reload.

use crate::vecmap::VecMap;

use chat_protocol::requests::SyncCursor;

/// Sent as `user_seq` while the user stream's position is unknown: the server answers `resync`
/// with its current `last_seq`, which becomes the starting point (nothing is replayed).
pub const USER_SEQ_PROBE: u64 = (1 << 53) - 1;

/// The server's default and largest sync page.
const DEFAULT_PAGE: u32 = 200;
const MAX_PAGE: u32 = 1_000;

/// An event stream: one channel's, or the user's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    Channel(String),
    User,
}

/// A `POST /v1/sync` request (the protocol's `SyncRequest`), with the channels in cid order
/// as the engine holds them: the wasm writes the JSON body from it directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// Last channel sequence number applied, per cid (sorted by cid).
    pub channels: Vec<(String, u64)>,
    pub user_seq: Option<u64>,
    pub limit: Option<u32>,
}

/// What the engine asks for, in order.
#[derive(Debug, Clone)]
pub enum SyncOut<E> {
    /// Apply this event to the state and deliver it to listeners.
    Apply(E),
    /// Deliver this event to listeners only: the state already reflects it (it arrived while
    /// the channel was being loaded, and the load includes it).
    Notify(E),
    /// Send `POST /v1/sync` with this body; report with [`SyncEngine::answer`] or
    /// [`SyncEngine::failed`]. Never more than one at a time.
    Request(SyncRequest),
    /// Reload this channel's state (`GET`), then call [`SyncEngine::reloaded`].
    Reload(String),
    /// The user stream's history is gone: reload user-level state (channel list, profile).
    ReloadUser,
    /// Everything missed since the last (re)connect has been applied.
    Recovered,
}

/// An answer of `POST /v1/sync`, with each event's position already read.
#[derive(Debug, Clone)]
pub struct SyncAnswer<E> {
    /// `(cid, channel_seq, event)` per channel in sequence order.
    pub events: Vec<(String, u64, E)>,
    pub channels: Vec<(String, SyncCursor)>,
    /// `(user_seq, event)` in order.
    pub user_events: Vec<(u64, E)>,
    pub user: Option<SyncCursor>,
}

#[derive(Debug, Clone)]
struct Cursor<E> {
    /// Last sequence applied; `None` while unknown (the user stream before the first probe).
    applied: Option<u64>,
    /// Live events that arrived ahead of a hole, by sequence.
    held: VecMap<u64, E>,
    /// Needs a sync (gap, reconnect, or more pages).
    dirty: bool,
    /// A reload was requested; events are held until it is done.
    reloading: bool,
}

impl<E> Cursor<E> {
    fn new(applied: Option<u64>) -> Self {
        Cursor {
            applied,
            held: VecMap::new(),
            dirty: false,
            reloading: false,
        }
    }

    /// Applies held events that now follow the cursor; marks a remaining hole dirty.
    fn drain(&mut self, out: &mut Vec<SyncOut<E>>) {
        let Some(mut at) = self.applied else { return };
        self.held = std::mem::take(&mut self.held).split_off(&(at + 1));
        while let Some(event) = self.held.remove(&(at + 1)) {
            at += 1;
            out.push(SyncOut::Apply(event));
        }
        self.applied = Some(at);
        if !self.held.is_empty() {
            self.dirty = true;
        }
    }

    /// A live event at `seq`.
    fn live(&mut self, seq: u64, event: E, out: &mut Vec<SyncOut<E>>) {
        match self.applied {
            Some(at) if seq <= at => {}
            Some(at) if seq == at + 1 && !self.reloading => {
                self.applied = Some(seq);
                out.push(SyncOut::Apply(event));
                self.drain(out);
            }
            _ => {
                self.held.insert(seq, event);
                if !self.reloading {
                    self.dirty = true;
                }
            }
        }
    }

    /// One stream's part of a sync answer; `false` when a page with more to come moved
    /// nothing (every event in it was meant for someone else).
    fn answered(
        &mut self,
        events: Vec<(u64, E)>,
        cursor: &SyncCursor,
        out: &mut Vec<SyncOut<E>>,
    ) -> bool {
        if cursor.resync {
            self.dirty = false;
            return true;
        }
        let before = self.applied;
        for (seq, event) in events {
            if self.applied.is_none_or(|at| seq > at) {
                self.applied = Some(seq);
                out.push(SyncOut::Apply(event));
            }
        }
        if let Some(at) = self.applied {
            // Keep only held events after the cursor: the others were just applied.
            self.held = std::mem::take(&mut self.held).split_off(&(at + 1));
        }
        if cursor.has_more {
            // The page cursor (servers that send it): the page covered everything up to it,
            // also when none of it was for this user.
            if let Some(end) = cursor.page_seq {
                self.covered(end, out);
            }
            self.dirty = true;
            return self.applied != before;
        } else {
            self.covered(cursor.last_seq, out);
            self.dirty = false;
            self.drain(out);
        }
        true
    }

    /// Everything up to `end` that this user may see has been given, or is held here (a live
    /// copy); numbers in between that never came are events meant for someone else (shadowed).
    fn covered(&mut self, end: u64, out: &mut Vec<SyncOut<E>>) {
        let at = self.applied.unwrap_or(0);
        let upto = std::mem::take(&mut self.held);
        let (early, later): (Vec<_>, Vec<_>) = upto
            .into_iter()
            .filter(|(seq, _)| *seq > at)
            .partition(|(seq, _)| *seq <= end);
        out.extend(early.into_iter().map(|(_, e)| SyncOut::Apply(e)));
        self.held = later.into_iter().collect();
        self.applied = Some(at.max(end));
    }
}

#[derive(Debug, Clone)]
pub struct SyncEngine<E> {
    channels: VecMap<String, Cursor<E>>,
    /// Highest sequence passed through per untracked channel, so a duplicate is still dropped.
    untracked: VecMap<String, u64>,
    user: Cursor<E>,
    in_flight: bool,
    recovering: bool,
    page_limit: Option<u32>,
    /// Pages in a row that moved no stream (only from servers without page cursors): the next
    /// page is asked twice as large.
    stalls: u32,
    /// The user stream's position was just learned from `connection.ok`: nothing to catch up.
    user_fresh: bool,
}

impl<E> Default for SyncEngine<E> {
    fn default() -> Self {
        SyncEngine {
            channels: VecMap::new(),
            untracked: VecMap::new(),
            user: Cursor::new(None),
            in_flight: false,
            recovering: false,
            page_limit: None,
            stalls: 0,
            user_fresh: false,
        }
    }
}

impl<E> SyncEngine<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Events per stream and page in sync requests (the server's default when `None`).
    pub fn with_page_limit(mut self, limit: u32) -> Self {
        self.page_limit = Some(limit);
        self
    }

    /// The last applied sequence of a channel, if it is tracked.
    pub fn cursor(&self, cid: &str) -> Option<u64> {
        self.channels.get(cid).and_then(|c| c.applied)
    }

    pub fn user_cursor(&self) -> Option<u64> {
        self.user.applied
    }

    pub fn is_tracked(&self, cid: &str) -> bool {
        self.channels.contains_key(cid)
    }

    /// The channel's state was (re)loaded at `last_seq`: the cursor restarts there (events
    /// held below it are already part of the state).
    pub fn reloaded(&mut self, cid: &str, last_seq: u64) -> Vec<SyncOut<E>> {
        let passed = self.untracked.get(cid).copied().unwrap_or(0);
        let cursor = self
            .channels
            .get_or_insert_with(cid.to_string(), || Cursor::new(None));
        let before = cursor.applied.unwrap_or(0).max(passed);
        cursor.applied = Some(last_seq);
        cursor.reloading = false;
        cursor.dirty = false;
        let mut out = Vec::new();
        let later = cursor.held.split_off(&(last_seq + 1));
        let included = std::mem::replace(&mut cursor.held, later);
        // Held copies of events applied before are not news.
        let news = included.into_iter().filter(|(seq, _)| *seq > before);
        out.extend(news.map(|(_, e)| SyncOut::Notify(e)));
        cursor.drain(&mut out);
        self.next(&mut out);
        out
    }

    /// A (re)load of the channel is starting: hold its live events until [`Self::reloaded`].
    pub fn begin_reload(&mut self, cid: &str) {
        let cursor = self
            .channels
            .get_or_insert_with(cid.to_string(), || Cursor::new(None));
        cursor.reloading = true;
        cursor.dirty = false;
    }

    /// A reload failed. `gone`: the channel is not readable any more (forget it); otherwise
    /// sync again later, which asks for the reload again.
    pub fn reload_failed(&mut self, cid: &str, gone: bool) -> Vec<SyncOut<E>> {
        let known = self.channels.get(cid).is_some_and(|c| c.applied.is_some());
        let mut out = Vec::new();
        if gone || !known {
            // Events that waited for the load still reach listeners.
            let held = self
                .channels
                .get_mut(cid)
                .map(|c| std::mem::take(&mut c.held))
                .unwrap_or_default();
            self.untrack(cid);
            if let Some((&last, _)) = held.last_key_value() {
                let seen = self.untracked.get_or_insert_with(cid.to_string(), || 0);
                *seen = (*seen).max(last);
            }
            out.extend(held.into_values().map(SyncOut::Notify));
        } else if let Some(c) = self.channels.get_mut(cid) {
            c.reloading = false;
            c.dirty = true;
        }
        self.next(&mut out);
        out
    }

    /// Stops tracking a channel (left, removed, deleted).
    pub fn untrack(&mut self, cid: &str) {
        let at = self
            .channels
            .remove(cid)
            .and_then(|c| c.applied)
            .unwrap_or(0);
        let seen = self.untracked.get_or_insert_with(cid.to_string(), || 0);
        *seen = (*seen).max(at);
    }

    /// One live event. Channel events of untracked channels pass straight through.
    pub fn live(&mut self, stream: Stream, seq: u64, event: E) -> Vec<SyncOut<E>> {
        let mut out = Vec::new();
        match stream {
            Stream::User => self.user.live(seq, event, &mut out),
            Stream::Channel(cid) => match self.channels.get_mut(&cid) {
                // Already passed through before the channel was tracked: a duplicate.
                Some(cursor)
                    if cursor.applied.is_none()
                        && self.untracked.get(&cid).is_some_and(|seen| seq <= *seen) => {}
                Some(cursor) => cursor.live(seq, event, &mut out),
                None => {
                    let seen = self.untracked.get_or_insert_with(cid, || 0);
                    if seq > *seen {
                        *seen = seq;
                        out.push(SyncOut::Apply(event));
                    }
                }
            },
        }
        self.next(&mut out);
        out
    }

    /// `connection.ok` said where the user stream stands. A client without a position starts
    /// there (a fresh client has nothing to replay, so no probe is needed); a client with one
    /// keeps it and catches up through sync.
    pub fn user_position(&mut self, last_seq: u64) -> Vec<SyncOut<E>> {
        let mut out = Vec::new();
        if self.user.applied.is_none() {
            self.user.applied = Some(last_seq);
            self.user_fresh = true;
            self.user.drain(&mut out);
        }
        out
    }

    /// The user stream's stored position (a cold start from the cache): catch up from there
    /// instead of starting at `connection.ok`'s position. No-op once a position is known.
    pub fn restore_user(&mut self, seq: u64) {
        if self.user.applied.is_none() {
            self.user.applied = Some(seq);
        }
    }

    /// The socket is (again) accepted: catch up on every stream.
    pub fn connected(&mut self) -> Vec<SyncOut<E>> {
        for c in self.channels.values_mut() {
            c.dirty = !c.reloading;
        }
        self.user.dirty = !std::mem::take(&mut self.user_fresh);
        self.recovering = true;
        let mut out = Vec::new();
        self.next(&mut out);
        out
    }

    /// The sync request failed (network, server). Call [`Self::poll`] later to try again.
    pub fn failed(&mut self) {
        self.in_flight = false;
    }

    /// Issues the next sync request if one is due and none is under way.
    pub fn poll(&mut self) -> Vec<SyncOut<E>> {
        let mut out = Vec::new();
        self.next(&mut out);
        out
    }

    pub fn answer(&mut self, answer: SyncAnswer<E>) -> Vec<SyncOut<E>> {
        self.in_flight = false;
        let mut out = Vec::new();
        let mut stalled = false;
        let mut per_channel: VecMap<String, Vec<(u64, E)>> = VecMap::new();
        for (cid, seq, event) in answer.events {
            per_channel
                .get_or_insert_with(cid, Vec::new)
                .push((seq, event));
        }
        for (cid, cursor) in &answer.channels {
            let Some(c) = self.channels.get_mut(cid) else {
                continue;
            };
            if c.reloading {
                continue;
            }
            let events = per_channel.remove(cid).unwrap_or_default();
            stalled |= !c.answered(events, cursor, &mut out);
            if cursor.resync {
                c.reloading = true;
                out.push(SyncOut::Reload(cid.clone()));
            }
        }
        if let Some(cursor) = &answer.user {
            if self.user.applied.is_none() && cursor.resync {
                // The answer to the probe: start from the server's position.
                self.user.applied = Some(cursor.last_seq);
                self.user.dirty = false;
                self.user.drain(&mut out);
            } else {
                stalled |= !self.user.answered(answer.user_events, cursor, &mut out);
                if cursor.resync {
                    self.user.applied = Some(cursor.last_seq);
                    self.user.held.clear();
                    out.push(SyncOut::ReloadUser);
                }
            }
        }
        self.stalls = if stalled { self.stalls + 1 } else { 0 };
        self.next(&mut out);
        out
    }

    /// Requests a sync of every dirty stream, or announces recovery when nothing is left.
    fn next(&mut self, out: &mut Vec<SyncOut<E>>) {
        if self.in_flight {
            return;
        }
        let channels: Vec<(String, u64)> = self
            .channels
            .iter()
            .filter(|(_, c)| c.dirty && !c.reloading)
            .filter_map(|(cid, c)| Some((cid.clone(), c.applied?)))
            .collect();
        let user_seq = self
            .user
            .dirty
            .then(|| self.user.applied.unwrap_or(USER_SEQ_PROBE));
        if !channels.is_empty() || user_seq.is_some() {
            self.in_flight = true;
            out.push(SyncOut::Request(SyncRequest {
                channels,
                user_seq,
                limit: match self.stalls {
                    0 => self.page_limit,
                    n => Some((self.page_limit.unwrap_or(DEFAULT_PAGE) << n.min(10)).min(MAX_PAGE)),
                },
            }));
        } else if self.recovering && !self.channels.values().any(|c| c.reloading) {
            self.recovering = false;
            out.push(SyncOut::Recovered);
        }
    }
}
