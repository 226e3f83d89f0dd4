//! Fan-out of events to connected clients on every node. A committed change is published once
//! to the Redis channel [`EVENTS_CHANNEL`]; every node subscribes and hands the frame to its own
//! sockets whose user is a recipient. Nodes are stateless: a client may be on any of them.
//!
//! The envelope is `recipient,recipient,...\n<channel uuid> <channel_seq>\n<frame json>` (the middle line
//! empty for events that are not channel changes), so a node routes and orders without parsing
//! the frame; each node puts every channel's events back in sequence order before delivering
//! them (see [`crate::reorder`]). Each socket has a bounded queue; a socket that falls that far behind is dropped
//! from the registry and closed with `SlowConsumer` (4102), so it reconnects and syncs instead of
//! silently missing events.
//!
//! The events of one send batch travel as one message, a bundle of envelopes ([`bundle`]).
//!
//! Control messages travel on the same channel: an envelope that starts with `!` is not a frame
//! but an order to the nodes, today only `!close <user> <close code>[ <token jti>]\n<error json>`,
//! which ends every socket of that user on every node (deactivation), or only those opened with
//! the token `jti` (revocation), after sending it the error frame.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use chat_protocol::{ApiError, CloseCode, ServerFrame};
use futures::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::reorder::Reorder;

/// The Redis pub/sub channel all nodes publish events on.
pub const EVENTS_CHANNEL: &str = "chat:events";

/// Frames a socket may have queued before it counts as a slow consumer.
pub const SOCKET_QUEUE: usize = 1024;

/// An event to deliver after its transaction committed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Internal ids of the users to deliver to.
    pub recipients: Vec<Uuid>,
    pub frame: ServerFrame,
    /// The channel (internal id) whose sequence the frame carries: live delivery keeps each
    /// channel's events in sequence order. `None` for events without a channel sequence.
    pub stream: Option<Uuid>,
}

impl Outgoing {
    /// The event as published: see [`envelope`].
    pub fn envelope(&self) -> Option<String> {
        let frame = serde_json::to_string(&self.frame).ok()?;
        let position = self.stream.zip(self.frame.channel_position().map(|(_, seq)| seq));
        Some(envelope(&self.recipients, position, &frame))
    }
}

/// The published form of an event: `recipient,recipient,...\n<channel uuid> <channel_seq>\n<frame json>`
/// (`position` is the channel and sequence number of a channel event, for ordering).
pub fn envelope(recipients: &[Uuid], position: Option<(Uuid, u64)>, frame_json: &str) -> String {
    use std::fmt::Write;
    let mut envelope = String::with_capacity(frame_json.len() + recipients.len() * 37 + 48);
    for (i, r) in recipients.iter().enumerate() {
        if i > 0 {
            envelope.push(',');
        }
        let _ = write!(envelope, "{r}");
    }
    envelope.push('\n');
    if let Some((stream, seq)) = position {
        let _ = write!(envelope, "{stream} {seq}");
    }
    envelope.push('\n');
    envelope.push_str(frame_json);
    envelope
}

/// Several envelopes as one published message: `*` then, for each, its length in bytes, a
/// newline and the envelope. A node receives a send batch's events in one message.
pub fn bundle(envelopes: &[String]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(envelopes.iter().map(|e| e.len() + 8).sum::<usize>() + 1);
    out.push('*');
    for e in envelopes {
        let _ = writeln!(out, "{}", e.len());
        out.push_str(e);
    }
    out
}

/// The envelopes of a [`bundle`]; stops at the first malformed part.
pub fn unbundle(bundle: &str) -> Vec<&str> {
    let mut rest = bundle.strip_prefix('*').unwrap_or("");
    let mut out = Vec::new();
    while let Some((len, tail)) = rest.split_once('\n') {
        let Ok(len) = len.parse::<usize>() else { break };
        let Some(e) = tail.get(..len) else { break };
        out.push(e);
        rest = &tail[len..];
    }
    out
}

/// What the hub hands a socket: a frame to send, or an order to close it.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// The frame's JSON, shared by every socket it goes to.
    Frame(Utf8Bytes),
    /// Send `error` as an `error` frame, then close with `code`.
    Close { code: CloseCode, error: ApiError },
}

struct Session {
    conn_id: Uuid,
    /// The `jti` of the token the socket authenticated with.
    jti: String,
    tx: mpsc::Sender<Delivery>,
}

type Held = (Vec<Uuid>, Utf8Bytes);

#[derive(Clone)]
pub struct Hub {
    sessions: Arc<RwLock<HashMap<Uuid, Vec<Session>>>>,
    redis: ConnectionManager,
    order: Arc<Mutex<Reorder<Held>>>,
    subscriber: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Hub {
    pub fn new(redis: ConnectionManager) -> Hub {
        let hub = Hub { sessions: Arc::default(), redis, order: Arc::default(), subscriber: Arc::default() };
        // Releases events whose wait for an earlier one ran out.
        let weak = Arc::downgrade(&hub.order);
        let sessions = hub.sessions.clone();
        let redis = hub.redis.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                let Some(order) = weak.upgrade() else { return };
                let released = order.lock().unwrap_or_else(|p| p.into_inner()).expire(Instant::now());
                if !released.is_empty() {
                    let hub = Hub { sessions: sessions.clone(), redis: redis.clone(), order, subscriber: Arc::default() };
                    for (recipients, frame) in released {
                        hub.deliver_local(&recipients, &frame);
                    }
                }
            }
        });
        hub
    }

    /// Registers a socket of `user`, opened with the token `jti`; the receiver yields the frames
    /// to send it, and ends when the hub dropped the socket as a slow consumer.
    pub fn register(&self, user: Uuid, conn_id: Uuid, jti: &str) -> mpsc::Receiver<Delivery> {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let mut map = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        map.entry(user).or_default().push(Session { conn_id, jti: jti.to_string(), tx });
        rx
    }

    pub fn unregister(&self, user: Uuid, conn_id: Uuid) {
        let mut map = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = map.get_mut(&user) {
            list.retain(|s| s.conn_id != conn_id);
            if list.is_empty() {
                map.remove(&user);
            }
        }
    }

    /// Number of sockets connected to this node.
    pub fn local_sockets(&self) -> usize {
        let map = self.sessions.read().unwrap_or_else(|p| p.into_inner());
        map.values().map(Vec::len).sum()
    }

    /// Publishes committed events to every node (this one included). If Redis cannot be
    /// reached the events go to this node's sockets only; they stay in the event log for sync.
    pub async fn publish(&self, events: &[Outgoing]) {
        let envelopes: Vec<String> = events.iter().filter_map(Outgoing::envelope).collect();
        self.publish_envelopes(&envelopes).await;
    }

    /// Publishes envelopes built with [`envelope`] (or [`Outgoing::envelope`]), in order.
    pub async fn publish_envelopes(&self, envelopes: &[String]) {
        if envelopes.is_empty() {
            return;
        }
        // One message for all of them, in order (see `bundle`).
        let mut conn = self.redis.clone();
        let res: redis::RedisResult<()> = if envelopes.len() == 1 {
            redis::cmd("PUBLISH").arg(EVENTS_CHANNEL).arg(&envelopes[0]).query_async(&mut conn).await
        } else {
            redis::cmd("PUBLISH").arg(EVENTS_CHANNEL).arg(bundle(envelopes)).query_async(&mut conn).await
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "publish failed; delivering to this node only");
            for envelope in envelopes {
                self.deliver_envelope(envelope);
            }
        }
    }

    /// Closes every socket of `user` on every node with `code`, after sending `error`. Falls back
    /// to this node's sockets when Redis cannot be reached.
    pub async fn close_user(&self, user: Uuid, code: CloseCode, error: &ApiError) {
        self.publish_close(format!("!close {user} {}", code.as_u16()), error).await;
    }

    /// Closes every socket of `user` opened with the token `jti`, on every node (revocation).
    pub async fn close_token(&self, user: Uuid, jti: &str, code: CloseCode, error: &ApiError) {
        // A jti is the token's own claim: only what cannot break the control line is sent.
        if jti.is_empty() || !jti.bytes().all(|b| b.is_ascii_graphic()) {
            return;
        }
        self.publish_close(format!("!close {user} {} {jti}", code.as_u16()), error).await;
    }

    async fn publish_close(&self, head: String, error: &ApiError) {
        let Ok(body) = serde_json::to_string(error) else { return };
        let envelope = format!("{head}\n{body}");
        let mut conn = self.redis.clone();
        let res: redis::RedisResult<i64> =
            redis::cmd("PUBLISH").arg(EVENTS_CHANNEL).arg(&envelope).query_async(&mut conn).await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "publish failed; closing this node's sockets only");
            self.deliver_envelope(&envelope);
        }
    }

    fn deliver_control(&self, control: &str) {
        let Some((head, body)) = control.split_once('\n') else { return };
        let mut words = head.split(' ');
        let (Some("close"), Some(user), Some(code)) = (words.next(), words.next(), words.next()) else { return };
        let only_jti = words.next();
        let (Ok(user), Some(code), Ok(error)) = (
            Uuid::parse_str(user),
            code.parse().ok().and_then(CloseCode::from_u16),
            serde_json::from_str::<ApiError>(body),
        ) else {
            return;
        };
        let map = self.sessions.read().unwrap_or_else(|p| p.into_inner());
        for s in map.get(&user).into_iter().flatten().filter(|s| only_jti.is_none_or(|j| j == s.jti)) {
            // A full queue means the socket is being dropped as a slow consumer anyway; it
            // cannot reconnect (authentication refuses it).
            let _ = s.tx.try_send(Delivery::Close { code, error: error.clone() });
        }
    }

    fn deliver_envelope(&self, envelope: &str) {
        if let Some(control) = envelope.strip_prefix('!') {
            return self.deliver_control(control);
        }
        if envelope.starts_with('*') {
            for e in unbundle(envelope) {
                self.deliver_envelope(e);
            }
            return;
        }
        let Some((ids, rest)) = envelope.split_once('\n') else { return };
        let Some((position, frame)) = rest.split_once('\n') else { return };
        let frame = Utf8Bytes::from(frame);
        let recipients: Vec<Uuid> = ids.split(',').filter_map(|s| Uuid::parse_str(s).ok()).collect();
        let ordered = position.split_once(' ').and_then(|(stream, seq)| Some((stream, seq.parse::<u64>().ok()?)));
        match ordered {
            None => self.deliver_local(&recipients, &frame),
            Some((stream, seq)) => {
                let ready = {
                    let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
                    order.push(stream, seq, (recipients, frame), Instant::now())
                };
                for (recipients, frame) in ready {
                    self.deliver_local(&recipients, &frame);
                }
            }
        }
    }

    /// Queues `frame` on every local socket of the recipients.
    pub fn deliver_local(&self, recipients: &[Uuid], frame: &Utf8Bytes) {
        let mut slow = Vec::new();
        {
            let map = self.sessions.read().unwrap_or_else(|p| p.into_inner());
            for user in recipients {
                for s in map.get(user).into_iter().flatten() {
                    if let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(Delivery::Frame(frame.clone())) {
                        slow.push((*user, s.conn_id));
                    }
                }
            }
        }
        for (user, conn) in slow {
            tracing::warn!(%user, %conn, "slow consumer: dropping socket");
            self.unregister(user, conn);
        }
    }

    /// Subscribes to [`EVENTS_CHANNEL`] and delivers what arrives, reconnecting with backoff
    /// when Redis goes away. Resolves once the first subscription is active, so a node never
    /// accepts clients before it can deliver their events.
    pub async fn start_subscriber(&self, client: redis::Client) -> Result<(), redis::RedisError> {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(EVENTS_CHANNEL).await?;
        let hub = self.clone();
        let task = tokio::spawn(async move {
            let mut current = Some(pubsub);
            let mut backoff = Duration::from_millis(100);
            loop {
                if let Some(mut pubsub) = current.take() {
                    backoff = Duration::from_millis(100);
                    let mut stream = pubsub.on_message();
                    while let Some(msg) = stream.next().await {
                        if let Ok(payload) = msg.get_payload::<String>() {
                            hub.deliver_envelope(&payload);
                        }
                    }
                    tracing::warn!("redis subscription ended; resubscribing");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(EVENTS_CHANNEL).await {
                        Ok(()) => current = Some(pubsub),
                        Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
                    },
                    Err(e) => tracing::warn!(error = %e, "redis pubsub connect failed"),
                }
            }
        });
        *self.subscriber.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(())
    }

    /// Stops listening for events (at shutdown, before Redis may go away).
    pub fn stop_subscriber(&self) {
        if let Some(task) = self.subscriber.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_split_back_into_their_envelopes() {
        let a = envelope(&[Uuid::nil()], Some((Uuid::nil(), 7)), r#"{"type":"x","text":"héllo\nworld"}"#);
        let b = envelope(&[], None, "{}");
        let both = bundle(&[a.clone(), b.clone()]);
        assert_eq!(unbundle(&both), [a.as_str(), b.as_str()]);
        assert_eq!(unbundle("*3\nab"), Vec::<&str>::new());
        assert_eq!(unbundle("*x\n"), Vec::<&str>::new());
    }
}
