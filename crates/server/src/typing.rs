//! Typing indicators of one websocket session. `typing.start` / `typing.stop` frames from a
//! member become `typing.start` / `typing.stop` events to the channel's other members, and
//! `channel:typing:{channel}:{uid}` in Redis (value: the thread's parent id or "1"; 5 s TTL).
//!
//! Typing events are ephemeral: no sequence number, not logged, not replayed by sync. The
//! session that received `typing.start` owns the indicator: it sends `typing.stop` itself when
//! the client stays silent for [`TYPING_TIMEOUT`] (a timer of this node) or disconnects.

use std::collections::HashMap;
use std::time::Duration;

use chat_protocol::ServerFrame;
use tokio::time::Instant;
use uuid::Uuid;

use crate::domain::channels;
use crate::domain::users::UserRow;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::state::AppState;

/// Silence after which the server stops a typing indicator itself.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a session trusts a membership check (and the channel's member list).
const MEMBERSHIP_CACHE: Duration = Duration::from_secs(5);

struct Indicator {
    channel_id: Uuid,
    parent_id: Option<String>,
    recipients: Vec<Uuid>,
    deadline: Instant,
}

/// The typing indicators a session owns, by cid.
#[derive(Default)]
pub struct Typist {
    active: HashMap<String, Indicator>,
    /// cid → (channel id, the other members, checked at).
    members: HashMap<String, (Uuid, Vec<Uuid>, Instant)>,
}

fn key(channel_id: Uuid, user: Uuid) -> String {
    format!("channel:typing:{channel_id}:{user}")
}

impl Typist {
    /// The channel of `cid` and its other members, when the user is a (not banned) member.
    async fn channel(&mut self, state: &AppState, user: &UserRow, cid: &str) -> Result<(Uuid, Vec<Uuid>)> {
        if let Some((id, others, at)) = self.members.get(cid) {
            if at.elapsed() < MEMBERSHIP_CACHE {
                return Ok((*id, others.clone()));
            }
        }
        let (t, k) = chat_protocol::split_cid(cid).ok_or_else(|| Error::invalid("cid must be type:id"))?;
        let (channel, member) = channels::for_member(state.db(), user, t, k).await?;
        if member.is_banned.unwrap_or(false) {
            return Err(Error::forbidden("you are banned from this channel"));
        }
        let others: Vec<Uuid> =
            channels::recipient_ids(state.db(), channel.id).await?.into_iter().filter(|u| *u != user.id).collect();
        if self.members.len() > 256 {
            self.members.clear();
        }
        self.members.insert(cid.to_string(), (channel.id, others.clone(), Instant::now()));
        Ok((channel.id, others))
    }

    /// `typing.start`: (re)arms the indicator; announces it when it was not already on.
    pub async fn start(&mut self, state: &AppState, user: &UserRow, cid: &str, parent_id: Option<String>) -> Result<()> {
        crate::ratelimit::check(state, user.id, "typing", state.config().rate_limits.typing).await?;
        if let Some(p) = &parent_id {
            validate::uuid("parent_id", p)?;
        }
        let (channel_id, recipients) = self.channel(state, user, cid).await?;
        let mut redis = state.redis();
        let value = parent_id.clone().unwrap_or_else(|| "1".into());
        let _: () = redis::cmd("SET")
            .arg(key(channel_id, user.id))
            .arg(value)
            .arg("EX")
            .arg(TYPING_TIMEOUT.as_secs())
            .query_async(&mut redis)
            .await?;
        let deadline = Instant::now() + TYPING_TIMEOUT;
        let mut events = Vec::new();
        match self.active.get_mut(cid) {
            Some(ind) if ind.parent_id == parent_id => ind.deadline = deadline,
            previous => {
                if let Some(old) = previous {
                    events.push(stop_event(cid, user, old));
                }
                let ind = Indicator { channel_id, parent_id: parent_id.clone(), recipients: recipients.clone(), deadline };
                let frame = ServerFrame::TypingStart { cid: cid.to_string(), user_id: user.external_id.clone(), parent_id };
                events.push(Outgoing { recipients, frame, stream: None });
                self.active.insert(cid.to_string(), ind);
            }
        }
        state.hub().publish(&events).await;
        Ok(())
    }

    /// `typing.stop`: ends the indicator of `cid` if this session has one.
    pub async fn stop(&mut self, state: &AppState, user: &UserRow, cid: &str) -> Result<()> {
        crate::ratelimit::check(state, user.id, "typing", state.config().rate_limits.typing).await?;
        self.channel(state, user, cid).await?;
        if let Some(ind) = self.active.remove(cid) {
            end(state, user, cid, ind).await;
        }
        Ok(())
    }

    /// When the next indicator times out (far in the future when there is none).
    pub fn next_deadline(&self) -> Instant {
        self.active.values().map(|i| i.deadline).min().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
    }

    /// Stops the indicators whose client went silent.
    pub async fn expire(&mut self, state: &AppState, user: &UserRow) {
        let now = Instant::now();
        let due: Vec<String> = self.active.iter().filter(|(_, i)| i.deadline <= now).map(|(c, _)| c.clone()).collect();
        for cid in due {
            if let Some(ind) = self.active.remove(&cid) {
                end(state, user, &cid, ind).await;
            }
        }
    }

    /// Stops every indicator (the socket is closing).
    pub async fn stop_all(&mut self, state: &AppState, user: &UserRow) {
        for (cid, ind) in std::mem::take(&mut self.active) {
            end(state, user, &cid, ind).await;
        }
    }
}

fn stop_event(cid: &str, user: &UserRow, ind: &Indicator) -> Outgoing {
    Outgoing {
        recipients: ind.recipients.clone(),
        frame: ServerFrame::TypingStop {
            cid: cid.to_string(),
            user_id: user.external_id.clone(),
            parent_id: ind.parent_id.clone(),
        },
        stream: None,
    }
}

async fn end(state: &AppState, user: &UserRow, cid: &str, ind: Indicator) {
    let mut redis = state.redis();
    let res: redis::RedisResult<()> = redis::cmd("DEL").arg(key(ind.channel_id, user.id)).query_async(&mut redis).await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not clear a typing key");
    }
    state.hub().publish(&[stop_event(cid, user, &ind)]).await;
}
