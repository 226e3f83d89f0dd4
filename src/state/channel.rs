//! The state of one channel as the client knows it: the channel object, its main message list,
//! threads, pinned messages, members, read states, who is typing, the watcher count and the
//! caller's unread count — built from a `ChannelState` answer and kept current by applying the
//! channel's events in sequence order (the sync engine guarantees the order and uniqueness).

use crate::vecmap::VecMap;

use super::message_list::{Entry, MessageList};
use super::wire::Wire;

/// How long a `typing.start` counts without a repeat (the server stops it after 5 s itself).
pub const TYPING_TTL_MS: u64 = 7_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelState<W> {
    pub cid: String,
    /// The channel object (`Channel` on the wire).
    pub channel: Option<W>,
    pub messages: MessageList<W>,
    /// Replies by parent message id.
    pub threads: VecMap<String, MessageList<W>>,
    /// Pinned messages, most recently pinned first.
    pub pinned: Vec<W>,
    pub members: VecMap<String, W>,
    /// `ReadState` by user id.
    pub reads: VecMap<String, W>,
    /// The caller's membership (`ChannelMember`).
    pub membership: Option<W>,
    /// The caller's unread count.
    pub unread_count: u64,
    /// (user id, thread parent id) → when the typing indicator expires.
    pub typing: VecMap<(String, Option<String>), u64>,
    pub watcher_count: u64,
    pub deleted: bool,
}

impl<W: Wire> ChannelState<W> {
    pub fn new(cid: &str) -> Self {
        ChannelState {
            cid: cid.to_string(),
            channel: None,
            messages: MessageList::default(),
            threads: VecMap::new(),
            pinned: Vec::new(),
            members: VecMap::new(),
            reads: VecMap::new(),
            membership: None,
            unread_count: 0,
            typing: VecMap::new(),
            watcher_count: 0,
            deleted: false,
        }
    }

    /// Replaces everything loaded from a `ChannelState` answer (create, get, watch, query,
    /// reload after `resync`). Threads, pinned and reads stay: they are loaded separately.
    pub fn load(&mut self, state: &W, me: &str) {
        self.channel = state.field("channel");
        self.deleted = false;
        // Local echoes (queued in the outbox) stay until their confirmed copies arrive.
        self.messages.clear_confirmed();
        for m in state.list_of("messages") {
            self.put_message(m, 0);
        }
        self.members.clear();
        for m in state.list_of("members") {
            if let Some(uid) = m.str_of("user_id") {
                self.members.insert(uid, m);
            }
        }
        self.membership = state
            .field("membership")
            .or_else(|| self.members.get(me).cloned());
        self.unread_count = self
            .membership
            .as_ref()
            .and_then(|m| m.u64_of("unread_count"))
            .unwrap_or(0);
        if let Some(n) = state.u64_of("watcher_count") {
            self.watcher_count = n;
        }
        self.typing.clear();
    }

    /// The channel's `last_seq` as last loaded.
    pub fn last_seq(&self) -> u64 {
        self.channel
            .as_ref()
            .and_then(|c| c.u64_of("last_seq"))
            .unwrap_or(0)
    }

    /// Puts a message where it belongs (main list or its thread) and refreshes pinned.
    pub fn put_message(&mut self, message: W, rev: u64) -> bool {
        let Some(entry) = Entry::from_wire(message.clone(), rev) else {
            return false;
        };
        let changed = match message.str_of("parent_id") {
            Some(parent) => self
                .threads
                .get_or_insert_with(parent, MessageList::default)
                .upsert(entry),
            None => self.messages.upsert(entry),
        };
        if changed {
            self.refresh_pin(&message);
        }
        changed
    }

    /// Replaces a message that is already held; keeps it out when it is not (an edit of a
    /// message outside the loaded window stays out).
    fn update_message(&mut self, message: W, rev: u64) {
        match message.str_of("parent_id") {
            Some(parent) => {
                if let Some(thread) = self.threads.get_mut(&parent) {
                    thread.update(message.clone(), rev);
                }
            }
            None => {
                self.messages.update(message.clone(), rev);
            }
        }
        self.refresh_pin(&message);
    }

    fn remove_message(&mut self, message: &W) {
        if let Some(id) = message.str_of("id") {
            self.messages.remove(&id);
            for thread in self.threads.values_mut() {
                thread.remove(&id);
            }
            self.threads.remove(&id);
            self.pinned
                .retain(|p| p.str_of("id").as_deref() != Some(id.as_str()));
        }
    }

    fn refresh_pin(&mut self, message: &W) {
        let Some(id) = message.str_of("id") else {
            return;
        };
        let at = self
            .pinned
            .iter()
            .position(|p| p.str_of("id").as_deref() == Some(id.as_str()));
        if let Some(i) = at {
            self.pinned.remove(i);
        }
        if message.flag("is_pinned") && !message.flag("is_deleted") {
            // Most recently pinned first (the list is kept in that order, as the server gives
            // it); RFC 3339 UTC strings sort as times. Inserted after equal times, no sort.
            let at = message.str_of("pinned_at");
            let i = self
                .pinned
                .iter()
                .position(|p| p.str_of("pinned_at") < at)
                .unwrap_or(self.pinned.len());
            self.pinned.insert(i, message.clone());
        }
    }

    /// Replaces the pinned list from a `pinned` answer.
    pub fn set_pinned(&mut self, messages: Vec<W>) {
        self.pinned = messages;
    }

    /// Applies one channel event (`kind` is its `type`) that the sync engine released in
    /// order. `me` is the connected user, `now_ms` the clock for typing expiry.
    pub fn apply(&mut self, kind: &str, frame: &W, me: &str, now_ms: u64) {
        let seq = frame.u64_of("channel_seq").unwrap_or(0);
        let message = frame.field("message");
        match (kind, message) {
            ("message.new", Some(m)) => {
                let author = m.str_of("user_id");
                let counts = m.field("parent_id").is_none()
                    && !m.flag("is_silent")
                    && author.as_deref() != Some(me);
                if let Some(author) = author {
                    self.typing.retain(|(uid, _), _| *uid != author);
                }
                if self.put_message(m, seq) && counts {
                    self.unread_count += 1;
                }
            }
            ("message.deleted", Some(m)) if frame.flag("hard_delete") => self.remove_message(&m),
            (
                "message.updated" | "message.deleted" | "reaction.new" | "reaction.deleted",
                Some(m),
            ) => self.update_message(m, seq),
            _ => self.apply_other(kind, frame, me, now_ms, seq),
        }
    }

    fn apply_other(&mut self, kind: &str, frame: &W, me: &str, now_ms: u64, seq: u64) {
        let user_id = frame.str_of("user_id");
        match kind {
            "message.read" => {
                if let Some(read) = frame.field("read") {
                    let Some(uid) = read.str_of("user_id") else {
                        return;
                    };
                    if uid == me {
                        self.unread_count = read.u64_of("unread_count").unwrap_or(0);
                    }
                    self.reads.insert(uid, read);
                }
            }
            "member.added" | "member.updated" => {
                if let Some(member) = frame.field("member") {
                    if let Some(uid) = member.str_of("user_id") {
                        if uid == me {
                            self.membership = Some(member.clone());
                        }
                        self.members.insert(uid, member);
                    }
                }
            }
            "member.removed" => {
                if let Some(uid) = user_id {
                    self.members.remove(&uid);
                    self.reads.remove(&uid);
                    if uid == me {
                        self.membership = None;
                    }
                }
            }
            "channel.updated" => self.channel = frame.field("channel"),
            "channel.deleted" => {
                self.channel = frame.field("channel");
                self.deleted = true;
            }
            "channel.truncated" => {
                self.channel = frame.field("channel");
                self.messages.truncate_before(seq);
                for thread in self.threads.values_mut() {
                    thread.truncate_before(seq);
                }
                self.pinned
                    .retain(|p| p.u64_of("channel_seq").unwrap_or(0) >= seq);
                self.unread_count = 0;
            }
            "typing.start" => {
                if let Some(uid) = user_id.filter(|u| u != me) {
                    let key = (uid, frame.str_of("parent_id"));
                    self.typing.insert(key, now_ms + TYPING_TTL_MS);
                }
            }
            "typing.stop" => {
                if let Some(uid) = user_id {
                    self.typing.remove(&(uid, frame.str_of("parent_id")));
                }
            }
            "user.watching.start" | "user.watching.stop" => {
                if let Some(n) = frame.u64_of("watcher_count") {
                    self.watcher_count = n;
                }
            }
            _ => {}
        }
    }

    /// Who is typing now (in the channel when `parent` is `None`, else in that thread); drops
    /// expired indicators.
    pub fn typing_now(&mut self, now_ms: u64) -> Vec<(String, Option<String>)> {
        self.typing.retain(|_, expires| *expires > now_ms);
        self.typing.keys().cloned().collect()
    }

    /// Shows a local change of a held message (main list or thread); see
    /// [`MessageList::set_data`].
    pub fn set_data(&mut self, message: W) {
        let Some(id) = message.str_of("id") else {
            return;
        };
        let changed = match message.str_of("parent_id") {
            Some(parent) => self
                .threads
                .get_mut(&parent)
                .is_some_and(|t| t.set_data(&id, message.clone())),
            None => self.messages.set_data(&id, message.clone()),
        };
        if changed {
            self.refresh_pin(&message);
        }
    }

    /// A held message by id (main list or any thread).
    pub fn message(&self, id: &str) -> Option<&W> {
        self.messages
            .get(id)
            .or_else(|| self.threads.values().find_map(|t| t.get(id)))
            .map(|e| &e.data)
    }

    /// Adds a local echo of a message being sent by this client.
    pub fn add_echo(&mut self, message: W) {
        self.put_message(message, 0);
    }

    /// The caller's membership says muted.
    pub fn is_muted(&self) -> bool {
        self.membership.as_ref().is_some_and(|m| m.flag("is_muted"))
    }
}
