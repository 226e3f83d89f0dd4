//! Group commit for message sends. A send arrives here validated but not looked up (the HTTP
//! handler reads nothing from Postgres); writer tasks take everything waiting (up to
//! [`MAX_BATCH`]) and handle it in ONE transaction, so one durable commit (one fsync) covers many
//! messages and the per-send reads are shared:
//!
//! 1. lock the batch's channels (by `type:id`, in id order, so writers never deadlock) and read
//!    their sequence numbers;
//! 2. read, after the locks (a fresh snapshot), the members of those channels with their
//!    posting state and, for the senders, their user rows, plus any stored message the batch
//!    names (a resend's id, parents, quoted messages);
//! 3. check each send as a send on its own would be checked (membership, team, deactivated sender,
//!    invitation, ban, frozen, parent and quote, resend or id conflict, then slow mode and
//!    cooldown, claimed last in one Redis round trip) and number the accepted ones per channel in
//!    queue order;
//! 4. write them with ONE statement (messages, read positions and unread counts, channels' last
//!    sequence numbers, thread reply counts, unhiding, the event log);
//! 5. commit, answer each send and publish the events in one Redis round trip.
//!
//! Checks run under the channel's row lock, which every change to a channel also takes, so a
//! send is refused exactly when it would be in a transaction of its own. Nothing waits for a
//! batch to fill: a lone send is stored at once, and batches grow only while commits are in
//! progress. Each channel belongs to one writer (by hash), so its sends keep their queue order
//! and the writers never wait for each other's locks. If a batch fails as a whole, its sends are
//! stored one by one, so one bad send never fails the others.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chat_protocol::frames::ServerFrame;
use chat_protocol::requests::SendMessage;
use chat_protocol::{ErrorCode, Message};
use chrono::NaiveDateTime;
use redis::aio::ConnectionManager;
use sqlx::types::Json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{FromRow, PgPool, Row};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::channels::{ACTIVE_MEMBER, BANNED_NOW};
use super::events::{self, Tx};
use super::messages::{self, Checked, MessageRow};
use super::permissions::Role;
use super::posting::{self, PostingFacts, Windows};
use super::users::{self, UserRow, USER_COLUMNS};
use crate::error::{Error, Result};
use crate::fanout::{self, Hub};

/// Most sends stored by one transaction.
pub const MAX_BATCH: usize = 256;
/// Writer tasks; each owns a share of the channels and writes on its own connection.
const WRITERS: usize = 2;

/// A send that passed the checks needing no lookup (`messages::validate_send`): who sends what
/// where. Everything else is checked in the batch.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub app_id: Uuid,
    pub sender_id: Uuid,
    pub channel_type: String,
    pub channel_key: String,
    pub id: Uuid,
    pub parent: Option<Uuid>,
    pub quoted: Option<Uuid>,
    pub silent: bool,
    pub input: SendMessage,
}

impl SendRequest {
    /// A validated, unscheduled send of `input` by `sender_id` into `type:key`.
    pub fn new(
        app_id: Uuid,
        sender_id: Uuid,
        channel_type: &str,
        channel_key: &str,
        input: SendMessage,
    ) -> Result<SendRequest> {
        let (id, _) = messages::validate_send(&input)?;
        Ok(SendRequest {
            app_id,
            sender_id,
            channel_type: channel_type.to_string(),
            channel_key: channel_key.to_string(),
            id,
            parent: messages::opt_uuid("parent_id", input.parent_id.as_deref())?,
            quoted: messages::opt_uuid("quoted_message_id", input.quoted_message_id.as_deref())?,
            silent: input.silent || input.message_type.as_deref() == Some("silent"),
            input,
        })
    }

    fn writer(&self) -> usize {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.app_id, &self.channel_type, &self.channel_key).hash(&mut h);
        (h.finish() % WRITERS as u64) as usize
    }
}

struct Job {
    send: SendRequest,
    reply: oneshot::Sender<Result<Message>>,
}

/// Handle to the node's send writers.
#[derive(Clone)]
pub struct SendBatcher {
    queues: Vec<mpsc::Sender<Job>>,
}

impl SendBatcher {
    pub fn spawn(db: PgPool, redis: ConnectionManager, hub: Hub) -> SendBatcher {
        // The writers' own connections. Every table access of their statements is a keyed
        // lookup, and plans are cached per connection: a plan made while a table was tiny (a
        // fresh server) would otherwise scan the whole table for as long as the connection
        // lives. So sequential scans are off for them, and they are replaced every minute
        // (re-planned for the tables as they are by then).
        let opts = (*db.connect_options()).clone().options([("enable_seqscan", "off")]);
        let writers_db = PgPoolOptions::new()
            .max_connections(WRITERS as u32)
            .max_lifetime(std::time::Duration::from_secs(60))
            // No ping before each batch (a round trip): a broken connection fails its batch,
            // whose sends are then stored one by one on the main pool.
            .test_before_acquire(false)
            .connect_lazy_with(opts);
        let mut queues = Vec::with_capacity(WRITERS);
        for _ in 0..WRITERS {
            let (queue, mut rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
            queues.push(queue);
            let (db, writers_db, mut redis, hub) = (db.clone(), writers_db.clone(), redis.clone(), hub.clone());
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    write(&writers_db, &db, &mut redis, &hub, jobs).await;
                }
            });
        }
        SendBatcher { queues }
    }

    /// Checks and stores a send (with others) and publishes its events; resolves once it is
    /// durably committed (or refused).
    pub async fn submit(&self, send: SendRequest) -> Result<Message> {
        let (reply, answer) = oneshot::channel();
        self.queues[send.writer()]
            .send(Job { send, reply })
            .await
            .map_err(|_| Error::api(ErrorCode::Unavailable, "the send queue is closed"))?;
        answer
            .await
            .map_err(|_| Error::api(ErrorCode::Internal, "the send writer stopped"))?
    }
}

async fn write(writers_db: &PgPool, db: &PgPool, redis: &mut ConnectionManager, hub: &Hub, jobs: Vec<Job>) {
    let sends: Vec<&SendRequest> = jobs.iter().map(|j| &j.send).collect();
    match store_batch(writers_db, db, redis, &sends).await {
        Ok((results, envelopes)) => {
            tracing::debug!(sends = results.len(), "batch committed");
            hub.publish_envelopes(&envelopes).await;
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            if jobs.len() > 1 {
                tracing::warn!(error = %e, sends = jobs.len(), "batch failed; storing its sends one by one");
            }
            for job in jobs {
                let result = match store_alone(db, redis, &job.send).await {
                    Ok((message, events)) => {
                        hub.publish(&events).await;
                        Ok(message)
                    }
                    Err(e) => Err(e),
                };
                let _ = job.reply.send(result);
            }
        }
    }
}

/// One send in a transaction of its own (the fallback when a batch fails).
async fn store_alone(
    db: &PgPool,
    redis: &mut ConnectionManager,
    s: &SendRequest,
) -> Result<(Message, Vec<fanout::Outgoing>)> {
    let user = users::by_id(db, s.sender_id)
        .await?
        .ok_or_else(|| Error::api(ErrorCode::UnknownUser, "the token's user does not exist"))?;
    if user.deactivated() {
        return Err(deactivated());
    }
    match messages::check(db, redis, &user, &s.channel_type, &s.channel_key, &s.input).await? {
        Checked::Stored(m) => Ok((*m, Vec::new())),
        Checked::Ready(p) => messages::store_checked(db, redis, &p).await,
    }
}

fn deactivated() -> Error {
    Error::api(ErrorCode::UserDeactivated, "the user is deactivated")
}

/// A channel of the batch, locked.
#[derive(Debug, FromRow)]
struct Locked {
    id: Uuid,
    app_id: Uuid,
    #[sqlx(rename = "type")]
    channel_type: String,
    channel_key: Option<String>,
    last_seq: i64,
    is_frozen: Option<bool>,
    slow_mode: Option<i32>,
    cooldown: Option<i32>,
    team_id: Option<Uuid>,
    /// The channel's application is multi-tenant (read in the same statement: no extra read).
    multi_tenant: bool,
    /// The transaction's timestamp: `created_at` of the batch's messages.
    now: NaiveDateTime,
}

/// A member of a batch channel, as far as posting is concerned.
struct Member {
    facts: PostingFacts,
    shadowed: bool,
    receives: bool,
}

/// A stored message the batch names: (id, channel, author, is a reply, deleted).
type Found = (Uuid, Uuid, Uuid, bool, bool);

/// What becomes of each send of a batch.
enum Fate {
    /// Accepted: the index of its message among the batch's new messages.
    New(usize),
    /// Its id is stored already, by the same sender in the same channel: answered with that message.
    Resend {
        channel: usize,
    },
    /// The same id earlier in the batch: the same answer as that send (by index).
    Copy(usize),
    Refused(Error),
}

/// Checks and stores `sends` in one transaction; returns each send's answer (in order) and the
/// envelopes to publish. Windows claimed for a batch that then fails are given back.
async fn store_batch(
    writers_db: &PgPool,
    db: &PgPool,
    redis: &mut ConnectionManager,
    sends: &[&SendRequest],
) -> Result<(Vec<Result<Message>>, Vec<String>)> {
    let mut claimed = Vec::new();
    let result = store_batch_inner(writers_db, db, redis, sends, &mut claimed).await;
    if result.is_err() {
        posting::release(redis, &claimed).await;
    }
    result
}

async fn store_batch_inner(
    writers_db: &PgPool,
    db: &PgPool,
    redis: &mut ConnectionManager,
    sends: &[&SendRequest],
    claimed: &mut Vec<String>,
) -> Result<(Vec<Result<Message>>, Vec<String>)> {
    let mut tx = writers_db.begin().await?;
    let locked = lock_channels(&mut tx, sends).await?;
    let channel_of: HashMap<(Uuid, &str, &str), usize> = locked
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                (
                    c.app_id,
                    c.channel_type.as_str(),
                    c.channel_key.as_deref().unwrap_or(""),
                ),
                i,
            )
        })
        .collect();
    let slot: Vec<Option<usize>> = sends
        .iter()
        .map(|s| {
            channel_of
                .get(&(s.app_id, s.channel_type.as_str(), s.channel_key.as_str()))
                .copied()
        })
        .collect();

    // The members of the batch's channels, the senders' rows and the stored messages named.
    let (members, senders, found) = read_context(&mut tx, &locked, sends).await?;
    let inactive = deactivated_outsiders(&mut tx, sends, &senders).await?;

    // Each send checked as it would be alone, in queue order.
    let mut fates: Vec<Fate> = Vec::with_capacity(sends.len());
    let mut first_with_id: HashMap<Uuid, usize> = HashMap::new();
    let mut windows: Vec<(usize, Windows)> = Vec::new();
    for (i, s) in sends.iter().enumerate() {
        if let Some(&lead) = first_with_id.get(&s.id) {
            let same =
                sends[lead].sender_id == s.sender_id && slot[lead] == slot[i] && slot[i].is_some();
            fates.push(if same {
                Fate::Copy(lead)
            } else {
                Fate::Refused(id_conflict())
            });
            continue;
        }
        first_with_id.insert(s.id, i);
        let fate = check_one(s, slot[i], &locked, &members, (&senders, &inactive), &found);
        if let Fate::New(_) = fate {
            let (c, m) = (
                &locked[slot[i].unwrap_or_default()],
                &members[&(slot[i].unwrap_or_default(), s.sender_id)],
            );
            let w = m.facts.windows(c.id, s.sender_id, c.slow_mode, c.cooldown);
            if !w.is_empty() {
                windows.push((i, w));
            }
        }
        fates.push(fate);
    }
    // Slow mode and cooldown last, so a refused send spends no window.
    if !windows.is_empty() {
        let asked: Vec<&Windows> = windows.iter().map(|(_, w)| w).collect();
        let answers = posting::claim(redis, &asked).await;
        for ((i, w), answer) in windows.iter().zip(answers) {
            match answer {
                Ok(()) => claimed.extend(w.keys()),
                Err(e) => fates[*i] = Fate::Refused(e),
            }
        }
    }

    // Sequence numbers in queue order, per channel, and the new messages.
    let mut next: Vec<i64> = locked.iter().map(|c| c.last_seq).collect();
    let mut rows: Vec<(usize, MessageRow, bool)> = Vec::new();
    for (i, s) in sends.iter().enumerate() {
        if let Fate::New(_) = fates[i] {
            let c = slot[i].unwrap_or_default();
            next[c] += 1;
            let shadowed = members.get(&(c, s.sender_id)).is_some_and(|m| m.shadowed);
            fates[i] = Fate::New(rows.len());
            rows.push((i, new_row(s, &locked[c], next[c]), shadowed));
        }
    }

    let mut envelopes = Vec::with_capacity(rows.len());
    let mut messages_out = Vec::with_capacity(rows.len());
    if !rows.is_empty() {
        // Who receives each channel's events: members not banned now.
        let mut recipients: Vec<Vec<Uuid>> = vec![Vec::new(); locked.len()];
        for ((c, u), m) in &members {
            if m.receives {
                recipients[*c].push(*u);
            }
        }
        let mut frames = Vec::with_capacity(rows.len());
        for (i, row, shadowed) in &rows {
            let (s, c) = (sends[*i], slot[*i].unwrap_or_default());
            let cid = chat_protocol::cid(
                &locked[c].channel_type,
                locked[c].channel_key.as_deref().unwrap_or(""),
            );
            let message = row.to_wire(&cid, &senders);
            let seq = row.channel_seq.unwrap_or(0);
            let frame = ServerFrame::MessageNew {
                cid: cid.clone(),
                channel_seq: seq as u64,
                message: message.clone(),
            };
            let json = serde_json::to_string(&frame)?;
            let to = if *shadowed {
                std::slice::from_ref(&s.sender_id)
            } else {
                recipients[c].as_slice()
            };
            envelopes.push(fanout::envelope(
                to,
                Some((locked[c].id, seq as u64)),
                &json,
            ));
            frames.push(json);
            messages_out.push(message);
        }
        let stored = write_rows(&mut tx, &rows, &frames).await?;
        if stored != rows.len() as i64 {
            // An id of the batch was stored meanwhile in another channel (or by another node's
            // transaction still in flight when we looked): the sends go one by one.
            return Err(Error::api(
                ErrorCode::IdConflict,
                "a message id of the batch is already stored",
            ));
        }
        // Mentions: every mentioned member's user sequence is taken in user id order (the lock
        // order on user rows), and per user in message order.
        let mut mentioned: Vec<(Uuid, usize)> = Vec::new();
        for (k, (i, _, shadowed)) in rows.iter().enumerate() {
            if !*shadowed && !messages_out[k].mentions.is_empty() {
                let c = &locked[slot[*i].unwrap_or_default()];
                let sender = &senders[&sends[*i].sender_id];
                mentioned.extend(
                    mentioned_members(&mut tx, c, sender, &messages_out[k])
                        .await?
                        .into_iter()
                        .map(|u| (u, k)),
                );
            }
        }
        mentioned.sort();
        for (user, k) in mentioned {
            let (m, cid) = (messages_out[k].clone(), messages_out[k].cid.clone());
            let ev = events::emit_user(&mut tx, user, |user_seq| ServerFrame::Mention {
                user_seq,
                cid,
                message: m,
            })
            .await?;
            envelopes.extend(ev.envelope());
        }
    }
    tx.commit().await?;

    // The answers, in order.
    let mut results: Vec<Result<Message>> = Vec::with_capacity(sends.len());
    for (i, fate) in fates.into_iter().enumerate() {
        let s = sends[i];
        let answer = match fate {
            Fate::New(k) => {
                let mut message = messages_out[k].clone();
                if let Some(q) = s.quoted {
                    messages::attach_quoted(db, &mut message, q).await?;
                }
                Ok(message)
            }
            Fate::Resend { channel } => {
                let c = &locked[channel];
                let cid =
                    chat_protocol::cid(&c.channel_type, c.channel_key.as_deref().unwrap_or(""));
                messages::stored_answer(db, s.id, s.sender_id, &cid).await
            }
            Fate::Copy(lead) => match &results[lead] {
                Ok(m) => Ok(m.clone()),
                Err(e) => Err(Error::Api(e.to_api())),
            },
            Fate::Refused(e) => Err(e),
        };
        results.push(answer);
    }
    Ok((results, envelopes))
}

fn id_conflict() -> Error {
    Error::api(
        ErrorCode::IdConflict,
        "that message id is already used by another message",
    )
}

/// The checks of one send against the batch's context, in the order a send alone meets them.
fn check_one(
    s: &SendRequest,
    slot: Option<usize>,
    locked: &[Locked],
    members: &HashMap<(usize, Uuid), Member>,
    (senders, inactive): (&HashMap<Uuid, UserRow>, &HashSet<Uuid>),
    found: &HashMap<Uuid, Found>,
) -> Fate {
    // Who is asking comes first: a deactivated sender learns nothing, not even whether the
    // channel exists.
    if inactive.contains(&s.sender_id) || senders.get(&s.sender_id).is_some_and(UserRow::deactivated) {
        return Fate::Refused(deactivated());
    }
    let Some(c) = slot else {
        return Fate::Refused(Error::not_found(format!(
            "channel {}:{} does not exist",
            s.channel_type, s.channel_key
        )));
    };
    let Some(member) = members.get(&(c, s.sender_id)) else {
        return Fate::Refused(Error::forbidden("you are not a member of this channel"));
    };
    // Team isolation: a member moved to another team (or a channel of no team once the
    // application turned multi-tenant) no longer posts here. Both facts were read with the
    // lock and the members: nothing extra is read for it.
    if senders.get(&s.sender_id).is_none_or(UserRow::deactivated) {
        return Fate::Refused(deactivated());
    }
    let channel = &locked[c];
    if channel.multi_tenant && senders.get(&s.sender_id).is_some_and(|u| u.team_id != channel.team_id) {
        return Fate::Refused(super::channels::other_team("this channel belongs to another team"));
    }
    // A resend of a stored id is not a new post: answered with the stored message.
    if let Some(&(_, channel, author, _, _)) = found.get(&s.id) {
        return if channel == locked[c].id && author == s.sender_id {
            Fate::Resend { channel: c }
        } else {
            Fate::Refused(id_conflict())
        };
    }
    if let Some(e) = member.facts.refusal(locked[c].is_frozen.unwrap_or(false)) {
        return Fate::Refused(e);
    }
    for (field, named) in [("parent_id", s.parent), ("quoted_message_id", s.quoted)] {
        if let Some(m) = named {
            let refusal = match found.get(&m) {
                Some(&(_, channel, _, is_reply, deleted)) => {
                    messages::reference_refusal(field, channel == locked[c].id, deleted, is_reply)
                }
                None => Some(messages::reference_missing(field)),
            };
            if let Some(e) = refusal {
                return Fate::Refused(e);
            }
        }
    }
    Fate::New(0)
}

/// The deactivated senders among those [`read_context`] did not read (not members of a channel
/// they send to, or the channel does not exist): one more query, only when there are such.
async fn deactivated_outsiders(
    tx: &mut Tx<'_>,
    sends: &[&SendRequest],
    senders: &HashMap<Uuid, UserRow>,
) -> Result<HashSet<Uuid>> {
    let mut outside: Vec<Uuid> = sends.iter().map(|s| s.sender_id).filter(|u| !senders.contains_key(u)).collect();
    if outside.is_empty() {
        return Ok(HashSet::new());
    }
    outside.sort();
    outside.dedup();
    let rows: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM users WHERE id = ANY($1) AND is_deactivated IS TRUE")
        .bind(&outside)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// Locks the channels the sends name, in id order (the order every batch uses).
async fn lock_channels(tx: &mut Tx<'_>, sends: &[&SendRequest]) -> Result<Vec<Locked>> {
    let mut keys: Vec<(Uuid, &str, &str)> = sends
        .iter()
        .map(|s| (s.app_id, s.channel_type.as_str(), s.channel_key.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let apps: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    let types: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.2).collect();
    let sql = format!(
        "SELECT c.id, c.app_id, c.type, c.channel_key, c.last_seq, c.is_frozen, c.slow_mode, c.cooldown,
                c.team_id, {} AS multi_tenant, NOW()::timestamp AS now
           FROM channels c
          WHERE (c.app_id, c.type, c.channel_key) IN (SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[]))
            AND c.deleted_at IS NULL
          ORDER BY c.id FOR UPDATE OF c",
        users::multi_tenant_sql("c.app_id")
    );
    Ok(sqlx::query_as::<_, Locked>(&sql)
    .bind(&apps)
    .bind(&types)
    .bind(&names)
    .fetch_all(&mut **tx)
    .await?)
}

type Context = (
    HashMap<(usize, Uuid), Member>,
    HashMap<Uuid, UserRow>,
    HashMap<Uuid, Found>,
);

/// Members of the locked channels (keyed by channel slot and user), the senders' user rows, and
/// the stored messages among the batch's ids, parents and quoted messages; read after the locks.
async fn read_context(
    tx: &mut Tx<'_>,
    locked: &[Locked],
    sends: &[&SendRequest],
) -> Result<Context> {
    let slot_of: HashMap<Uuid, usize> = locked.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let channel_ids: Vec<Uuid> = locked.iter().map(|c| c.id).collect();
    let mut sender_ids: Vec<Uuid> = sends.iter().map(|s| s.sender_id).collect();
    sender_ids.sort();
    sender_ids.dedup();
    let mut named: Vec<Uuid> = sends
        .iter()
        .flat_map(|s| [Some(s.id), s.parent, s.quoted])
        .flatten()
        .collect();
    named.sort();
    named.dedup();
    let user_cols: Vec<String> = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{}", c.trim()))
        .collect();
    let sql = format!(
        "SELECT m.channel_id, m.user_id, m.role, m.ban_expires_at,
                {BANNED_NOW} AS banned,
                (m.is_shadow_banned IS TRUE AND (m.ban_expires_at IS NULL OR m.ban_expires_at > NOW())) AS shadowed,
                (m.invited_at IS NOT NULL AND m.invite_accepted_at IS NULL) AS invite_pending,
                (SELECT t.team_id FROM users t WHERE t.id = m.user_id) AS member_team,
                {},
                (SELECT json_agg(json_build_array(x.id, x.channel_id, x.user_id, x.parent_message_id IS NOT NULL,
                                                  x.is_deleted IS TRUE OR x.is_hard_deleted IS TRUE))
                   FROM messages x WHERE x.id = ANY($3)) AS found
           FROM channel_members m LEFT JOIN users u ON u.id = m.user_id AND u.id = ANY($2)
          WHERE m.channel_id = ANY($1) AND {ACTIVE_MEMBER}",
        user_cols.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(&channel_ids)
        .bind(&sender_ids)
        .bind(&named)
        .fetch_all(&mut **tx)
        .await?;
    let mut members = HashMap::with_capacity(rows.len());
    let mut senders = HashMap::new();
    let mut found = HashMap::new();
    for (n, row) in rows.iter().enumerate() {
        let channel: Uuid = row.try_get("channel_id")?;
        let user: Uuid = row.try_get("user_id")?;
        let Some(&slot) = slot_of.get(&channel) else {
            continue;
        };
        let banned: bool = row.try_get("banned")?;
        let member_team: Option<Uuid> = row.try_get("member_team")?;
        let role: Option<String> = row.try_get("role")?;
        let facts = PostingFacts {
            invite_pending: row.try_get("invite_pending")?,
            banned_now: banned,
            ban_expires_at: row.try_get("ban_expires_at")?,
            role: role
                .as_deref()
                .and_then(Role::parse)
                .unwrap_or(Role::Member),
        };
        members.insert(
            (slot, user),
            Member {
                facts,
                shadowed: row.try_get("shadowed")?,
                // Team isolation, as `channels::recipient_ids`.
                receives: !banned && (!locked[slot].multi_tenant || member_team == locked[slot].team_id),
            },
        );
        if row.try_get::<Option<Uuid>, _>("id")?.is_some() {
            senders.insert(user, UserRow::from_row(row)?);
        }
        if n == 0 {
            let list: Option<Json<Vec<Found>>> = row.try_get("found")?;
            found = list
                .map(|j| j.0)
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.0, f))
                .collect();
        }
    }
    Ok((members, senders, found))
}

/// The stored form of an accepted send (what the insert in [`write_rows`] stores).
fn new_row(s: &SendRequest, c: &Locked, seq: i64) -> MessageRow {
    let input = &s.input;
    MessageRow {
        id: s.id,
        channel_id: c.id,
        user_id: s.sender_id,
        parent_message_id: s.parent,
        quoted_message_id: s.quoted,
        text: Some(input.text.clone()),
        message_type: Some(input.message_type.clone().unwrap_or_else(|| "text".into())),
        status: Some("sent".into()),
        is_silent: Some(s.silent),
        is_pinned: Some(false),
        is_edited: Some(false),
        is_deleted: Some(false),
        metadata: Some(Json(input.metadata.clone().unwrap_or_default())),
        attachments: Some(Json(input.attachments.clone())),
        mentions: Some(Json(input.mentions.clone())),
        channel_seq: Some(seq),
        created_at: Some(c.now),
        updated_at: Some(c.now),
        reply_count: 0,
        pinned_at: None,
        pinned_by: None,
        edited_at: None,
        deleted_at: None,
        scheduled_for: None,
        is_hard_deleted: Some(false),
    }
}

/// Writes the accepted sends with one statement: the messages; each sender's read position (up
/// to its own last message); unread counts (a main-list, non-silent, non-shadowed message
/// counts for every other member who had not read past it); unhiding (a visible new message
/// unhides the channel for everyone who hid it); the channels' last sequence numbers and
/// activity; thread reply counts; the event log. Returns how many messages were inserted.
/// A JSON column's value as text for an array bind ('' when absent).
fn json_text<T: serde::Serialize>(value: Option<&T>) -> String {
    value.and_then(|v| serde_json::to_string(v).ok()).unwrap_or_default()
}

async fn write_rows(
    tx: &mut Tx<'_>,
    rows: &[(usize, MessageRow, bool)],
    frames: &[String],
) -> Result<i64> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.1.id).collect();
    let chan: Vec<Uuid> = rows.iter().map(|r| r.1.channel_id).collect();
    let users: Vec<Uuid> = rows.iter().map(|r| r.1.user_id).collect();
    let seqs: Vec<i64> = rows.iter().map(|r| r.1.channel_seq.unwrap_or(0)).collect();
    let parents: Vec<Option<Uuid>> = rows.iter().map(|r| r.1.parent_message_id).collect();
    let quoted: Vec<Option<Uuid>> = rows.iter().map(|r| r.1.quoted_message_id).collect();
    let texts: Vec<&str> = rows
        .iter()
        .map(|r| r.1.text.as_deref().unwrap_or(""))
        .collect();
    let types: Vec<&str> = rows
        .iter()
        .map(|r| r.1.message_type.as_deref().unwrap_or("text"))
        .collect();
    let silent: Vec<bool> = rows
        .iter()
        .map(|r| r.1.is_silent.unwrap_or(false))
        .collect();
    // JSON columns as text ('' when absent), one array per column.
    let metadata: Vec<String> = rows.iter().map(|r| json_text(r.1.metadata.as_ref().map(|j| &j.0))).collect();
    let attachments: Vec<String> = rows.iter().map(|r| json_text(r.1.attachments.as_ref().map(|j| &j.0))).collect();
    let mentions: Vec<String> = rows.iter().map(|r| json_text(r.1.mentions.as_ref().map(|j| &j.0))).collect();
    let shadowed: Vec<bool> = rows.iter().map(|r| r.2).collect();
    // Unread: main-list, non-silent, non-shadowed messages.
    let counts: Vec<bool> = rows
        .iter()
        .map(|r| !r.2 && r.1.parent_message_id.is_none() && !r.1.is_silent.unwrap_or(false))
        .collect();
    let only: Vec<Option<Uuid>> = rows.iter().map(|r| r.2.then_some(r.1.user_id)).collect();
    let mut channel_ids = chan.clone();
    channel_ids.sort();
    channel_ids.dedup();
    let last: Vec<i64> = channel_ids
        .iter()
        .map(|c| {
            rows.iter()
                .filter(|r| r.1.channel_id == *c)
                .filter_map(|r| r.1.channel_seq)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let unhide: Vec<Uuid> = rows
        .iter()
        .filter(|r| !r.2)
        .map(|r| r.1.channel_id)
        .collect();
    let (inserted,): (i64,) = sqlx::query_as(
        "WITH v AS (
           SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::bool[]) AS v(c, u, s, counts)
         ), ins AS (
           INSERT INTO messages (id, channel_id, user_id, parent_message_id, quoted_message_id, text, type,
                                 is_silent, metadata, attachments, mentions, channel_seq, shadowed, created_at, updated_at)
           SELECT i, c, u, p, q, t, ty, si, md::jsonb, at::jsonb, me::jsonb, s, sh, NOW(), NOW()
             FROM UNNEST($5::uuid[], $1::uuid[], $2::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[],
                         $10::bool[], $11::text[], $12::text[], $13::text[], $3::int8[], $14::bool[])
                  AS x(i, c, u, p, q, t, ty, si, md, at, me, s, sh)
           ON CONFLICT (id) DO NOTHING RETURNING 1
         ), own AS (
           SELECT c, u, MAX(s) AS s FROM v GROUP BY c, u
         ), x AS (
           SELECT mm.channel_id, mm.user_id, COALESCE(o.s, 0) AS own, COUNT(v.s)::int AS n,
                  (mm.is_hidden IS TRUE AND mm.channel_id = ANY($15)) AS unhide
             FROM channel_members mm
             LEFT JOIN own o ON o.c = mm.channel_id AND o.u = mm.user_id
             LEFT JOIN v ON v.c = mm.channel_id AND v.counts AND v.u <> mm.user_id
                        AND v.s > GREATEST(mm.last_read_seq, COALESCE(o.s, 0))
            WHERE mm.channel_id = ANY($16)
            GROUP BY mm.channel_id, mm.user_id, o.s, mm.is_hidden
         ), mem AS (
           UPDATE channel_members m SET
                  last_read_seq = GREATEST(m.last_read_seq, x.own),
                  last_read_at = CASE WHEN x.own > m.last_read_seq THEN NOW() ELSE m.last_read_at END,
                  unread_count = CASE WHEN x.own > m.last_read_seq THEN 0 ELSE COALESCE(m.unread_count, 0) END + x.n,
                  is_hidden = CASE WHEN x.unhide THEN false ELSE m.is_hidden END
             FROM x
            WHERE m.channel_id = x.channel_id AND m.user_id = x.user_id
              AND (x.own > m.last_read_seq OR x.n > 0 OR x.unhide)
           RETURNING 1
         ), ch AS (
           UPDATE channels c SET last_seq = y.seq, updated_at = NOW(), last_message_at = NOW()
             FROM UNNEST($16::uuid[], $19::int8[]) AS y(id, seq) WHERE c.id = y.id RETURNING 1
         ), rc AS (
           UPDATE messages p SET reply_count = p.reply_count + z.n
             FROM (SELECT id, COUNT(*)::int AS n FROM UNNEST($6::uuid[]) AS id WHERE id IS NOT NULL GROUP BY id) z
            WHERE p.id = z.id RETURNING 1
         ), ev AS (
           INSERT INTO channel_events (channel_id, seq, event_type, payload, only_user_id)
           SELECT c, s, 'message.new', p::jsonb, o FROM UNNEST($1::uuid[], $3::int8[], $17::text[], $18::uuid[]) AS e(c, s, p, o)
           RETURNING 1
         )
         SELECT COUNT(*) FROM ins",
    )
    .bind(&chan)
    .bind(&users)
    .bind(&seqs)
    .bind(&counts)
    .bind(&ids)
    .bind(&parents)
    .bind(&quoted)
    .bind(&texts)
    .bind(&types)
    .bind(&silent)
    .bind(&metadata)
    .bind(&attachments)
    .bind(&mentions)
    .bind(&shadowed)
    .bind(&unhide)
    .bind(&channel_ids)
    .bind(frames)
    .bind(&only)
    .bind(&last)
    .fetch_one(&mut **tx)
    .await?;
    Ok(inserted)
}

/// The members a message mentions who get `notification.mention`: not the sender, not banned.
async fn mentioned_members(
    tx: &mut Tx<'_>,
    c: &Locked,
    sender: &UserRow,
    message: &Message,
) -> Result<Vec<Uuid>> {
    let mentioned: Vec<String> = message
        .mentions
        .iter()
        .filter(|m| **m != sender.external_id)
        .cloned()
        .collect();
    let ids: Vec<(Uuid,)> = sqlx::query_as(&format!(
        "SELECT u.id FROM users u JOIN channel_members m ON m.user_id = u.id AND m.channel_id = $1
          WHERE u.app_id = $2 AND u.external_id = ANY($3) AND NOT {BANNED_NOW} AND {ACTIVE_MEMBER}"
    ))
    .bind(c.id)
    .bind(c.app_id)
    .bind(&mentioned)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(|(u,)| u).collect())
}
