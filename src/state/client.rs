//! Everything the client knows across channels: the connected user, the channel list (in the
//! order of the last query, a channel with a new message moving to the top), each channel's
//! [`ChannelState`], the caller's drafts and the presence of other users. One entry point,
//! [`ClientState::apply`], takes every event the sync engine releases.

use crate::vecmap::VecMap;

use super::channel::ChannelState;
use super::wire::Wire;

/// Key of a draft: channel and thread parent.
pub type DraftKey = (String, Option<String>);

#[derive(Debug, Clone, PartialEq)]
pub struct ClientState<W> {
    pub user_id: String,
    pub me: Option<W>,
    pub channels: VecMap<String, ChannelState<W>>,
    /// Listed channels, in display order.
    pub order: Vec<String>,
    pub drafts: VecMap<DraftKey, W>,
    /// user id → `online`, `away` or `offline`, from presence events.
    pub presence: VecMap<String, String>,
}

impl<W: Wire> ClientState<W> {
    pub fn new(user_id: &str) -> Self {
        ClientState {
            user_id: user_id.to_string(),
            me: None,
            channels: VecMap::new(),
            order: Vec::new(),
            drafts: VecMap::new(),
            presence: VecMap::new(),
        }
    }

    pub fn channel(&self, cid: &str) -> Option<&ChannelState<W>> {
        self.channels.get(cid)
    }

    pub fn channel_mut(&mut self, cid: &str) -> &mut ChannelState<W> {
        self.channels
            .get_or_insert_with(cid.to_string(), || ChannelState::new(cid))
    }

    /// Loads one `ChannelState` answer; returns its cid and `last_seq` (the sync baseline).
    pub fn load_channel(&mut self, state: &W) -> Option<(String, u64)> {
        let cid = state.field("channel")?.str_of("cid")?;
        let me = self.user_id.clone();
        let channel = self.channel_mut(&cid);
        channel.load(state, &me);
        let seq = channel.last_seq();
        Some((cid, seq))
    }

    /// Replaces the listed channels with the answer of a channel query (in its order).
    pub fn set_list(&mut self, cids: Vec<String>) {
        self.order = cids;
    }

    /// Appends a page of a channel query to the list.
    pub fn extend_list(&mut self, cids: Vec<String>) {
        for cid in cids {
            if !self.order.contains(&cid) {
                self.order.push(cid);
            }
        }
    }

    fn move_to_top(&mut self, cid: &str) {
        self.order.retain(|c| c != cid);
        self.order.insert(0, cid.to_string());
    }

    /// Forgets a channel entirely (left, removed, deleted, or reloaded from scratch).
    pub fn forget(&mut self, cid: &str) {
        self.channels.remove(cid);
        self.order.retain(|c| c != cid);
    }

    /// Applies one released event. Channel events of channels the client does not hold are
    /// ignored (their listeners still get them).
    pub fn apply(&mut self, frame: &W, now_ms: u64) {
        let Some(kind) = frame.str_of("type") else {
            return;
        };
        let cid = frame
            .str_of("cid")
            .or_else(|| frame.field("channel").and_then(|c| c.str_of("cid")));
        match kind.as_str() {
            "connection.ok" => self.me = frame.field("me"),
            "user.updated" => {
                if let Some(user) = frame.field("user") {
                    if user.str_of("id").as_deref() == Some(self.user_id.as_str()) {
                        self.me = Some(user);
                    }
                }
            }
            "user.presence.changed" => {
                if let (Some(uid), Some(status)) = (frame.str_of("user_id"), frame.str_of("status"))
                {
                    self.presence.insert(uid, status);
                }
            }
            "draft.updated" => {
                if let Some(draft) = frame.field("draft") {
                    if let Some(cid) = draft.str_of("cid") {
                        self.drafts.insert((cid, draft.str_of("parent_id")), draft);
                    }
                }
            }
            "draft.deleted" => {
                if let Some(cid) = cid {
                    self.drafts.remove(&(cid, frame.str_of("parent_id")));
                }
            }
            "notification.removed_from_channel" => {
                if let Some(cid) = cid {
                    self.forget(&cid);
                }
            }
            "notification.membership_updated" => {
                if let (Some(cid), Some(member)) = (cid, frame.field("member")) {
                    if let Some(channel) = self.channels.get_mut(&cid) {
                        channel.membership = Some(member.clone());
                        channel.members.insert(self.user_id.clone(), member.clone());
                    }
                    if member.flag("is_hidden") {
                        self.order.retain(|c| *c != cid);
                    }
                }
            }
            "notification.added_to_channel" | "notification.invited" => {
                // The channel itself is loaded by the caller (a reload); list it now.
                if let Some(cid) = cid {
                    if !self.order.contains(&cid) {
                        self.order.insert(0, cid);
                    }
                }
            }
            _ => {
                let Some(cid) = cid else { return };
                let me = self.user_id.clone();
                let Some(channel) = self.channels.get_mut(&cid) else {
                    return;
                };
                channel.apply(&kind, frame, &me, now_ms);
                match kind.as_str() {
                    "message.new"
                        if frame
                            .field("message")
                            .is_some_and(|m| m.field("parent_id").is_none()) =>
                    {
                        self.move_to_top(&cid)
                    }
                    "channel.deleted" => self.order.retain(|c| *c != cid),
                    "member.removed" if frame.str_of("user_id").as_deref() == Some(&me) => {
                        self.forget(&cid)
                    }
                    _ => {}
                }
            }
        }
    }

    /// Unread counts: `(total over channels that are not muted, channels with unread)`.
    pub fn unread(&self) -> (u64, u64) {
        self.channels
            .values()
            .filter(|c| !c.is_muted() && !c.deleted)
            .fold((0, 0), |(total, n), c| {
                (total + c.unread_count, n + u64::from(c.unread_count > 0))
            })
    }
}
