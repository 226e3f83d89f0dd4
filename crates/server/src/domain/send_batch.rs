//! Group commit for message sends. Checked sends queue up; a writer task takes everything
//! waiting (up to [`MAX_BATCH`]) and stores it in ONE transaction of set-based statements, so
//! one durable commit (one fsync) covers many messages. Nothing waits for a batch to fill: a
//! lone send is stored at once, and batches grow only while commits are in progress. Each
//! channel's sequence numbers are taken under its row lock (locked in id order, so writers never
//! deadlock) and assigned in queue order: per channel the result is exactly what one
//! transaction per send would give. If a batch fails as a whole, its sends are stored one by
//! one, so one bad send never fails the others.

use std::collections::{HashMap, HashSet};

use chat_protocol::frames::ServerFrame;
use chat_protocol::{ErrorCode, Message};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::channels::{ACTIVE_MEMBER, BANNED_NOW};
use super::events;
use super::messages::{self, MessageRow, PreparedSend, MESSAGE_COLUMNS};
use crate::error::{Error, Result};
use crate::fanout::{Hub, Outgoing};

/// Most sends stored by one transaction.
pub const MAX_BATCH: usize = 256;
/// Batches being written at the same time (each on its own connection).
const WRITERS: usize = 2;

struct Job {
    send: PreparedSend,
    reply: oneshot::Sender<Result<Message>>,
}

/// Handle to the node's send writers.
#[derive(Clone)]
pub struct SendBatcher {
    queue: mpsc::Sender<Job>,
}

impl SendBatcher {
    pub fn spawn(db: PgPool, hub: Hub) -> SendBatcher {
        let (queue, rx) = mpsc::channel::<Job>(MAX_BATCH * 8);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WRITERS {
            let (db, hub, rx) = (db.clone(), hub.clone(), rx.clone());
            tokio::spawn(async move {
                loop {
                    let jobs = {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        let mut jobs = vec![first];
                        while jobs.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(j) => jobs.push(j),
                                Err(_) => break,
                            }
                        }
                        jobs
                    };
                    write(&db, &hub, jobs).await;
                }
            });
        }
        SendBatcher { queue }
    }

    /// Stores a checked send (with others) and publishes its events; resolves once it is
    /// durably committed.
    pub async fn submit(&self, send: PreparedSend) -> Result<Message> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { send, reply })
            .await
            .map_err(|_| Error::api(ErrorCode::Unavailable, "the send queue is closed"))?;
        answer.await.map_err(|_| Error::api(ErrorCode::Internal, "the send writer stopped"))?
    }
}

async fn write(db: &PgPool, hub: &Hub, jobs: Vec<Job>) {
    let sends: Vec<&PreparedSend> = jobs.iter().map(|j| &j.send).collect();
    match store_batch(db, &sends).await {
        Ok((results, events)) => {
            tracing::debug!(sends = results.len(), "batch committed");
            hub.publish(&events).await;
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            if jobs.len() > 1 {
                tracing::warn!(error = %e, sends = jobs.len(), "batch failed; storing its sends one by one");
            }
            for job in jobs {
                let result = match messages::store_one(db, &job.send).await {
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

/// Stores `sends` in one transaction; returns each send's message (in order) and the events.
/// Five statements whatever the batch size: lock (with each channel's shadow bans and
/// recipients), insert, senders' read positions, unread counts, and one statement for the
/// channels, thread counts, unhiding and the event log. An id that is already stored makes the
/// batch fail, and its sends are then stored one by one (a resend is answered there).
async fn store_batch(db: &PgPool, sends: &[&PreparedSend]) -> Result<(Vec<Result<Message>>, Vec<Outgoing>)> {
    let mut tx = db.begin().await?;
    let mut channel_ids: Vec<Uuid> = sends.iter().map(|s| s.channel.id).collect();
    channel_ids.sort();
    channel_ids.dedup();
    // Channel row locks in id order (the sequence numbers are taken under them), with who is
    // shadow-banned and who receives events, read in the same round trip.
    let sql = format!(
        "SELECT c.id, c.last_seq,
                ARRAY(SELECT m.user_id FROM channel_members m WHERE m.channel_id = c.id
                        AND m.is_shadow_banned IS TRUE AND (m.ban_expires_at IS NULL OR m.ban_expires_at > NOW())) AS shadow,
                ARRAY(SELECT m.user_id FROM channel_members m WHERE m.channel_id = c.id
                        AND NOT {BANNED_NOW} AND {ACTIVE_MEMBER}) AS recipients
           FROM channels c WHERE c.id = ANY($1) AND c.deleted_at IS NULL ORDER BY c.id FOR UPDATE OF c"
    );
    let locked: Vec<(Uuid, i64, Vec<Uuid>, Vec<Uuid>)> =
        sqlx::query_as(&sql).bind(&channel_ids).fetch_all(&mut *tx).await?;
    if locked.len() != channel_ids.len() {
        return Err(Error::not_found("a channel of the batch was deleted"));
    }
    let mut next: HashMap<Uuid, i64> = locked.iter().map(|l| (l.0, l.1)).collect();
    let shadow: HashSet<(Uuid, Uuid)> = locked.iter().flat_map(|l| l.2.iter().map(move |u| (l.0, *u))).collect();
    let recipients: HashMap<Uuid, Vec<Uuid>> = locked.into_iter().map(|l| (l.0, l.3)).collect();
    // Sequence numbers in queue order, per channel.
    let seqs: Vec<i64> = sends
        .iter()
        .map(|s| {
            let n = next.entry(s.channel.id).or_insert(0);
            *n += 1;
            *n
        })
        .collect();
    let is_shadowed: Vec<bool> = sends.iter().map(|s| shadow.contains(&(s.channel.id, s.sender.id))).collect();
    let mut rows = insert_rows(&mut tx, sends, &seqs, &is_shadowed).await?;
    if rows.len() != sends.len() {
        return Err(Error::api(ErrorCode::IdConflict, "a message id of the batch is already stored"));
    }
    let chan: Vec<Uuid> = sends.iter().map(|s| s.channel.id).collect();
    let senders: Vec<Uuid> = sends.iter().map(|s| s.sender.id).collect();
    // Each sender has read up to its own message.
    sqlx::query(
        "UPDATE channel_members m SET last_read_seq = v.seq, last_read_at = NOW(), unread_count = 0
           FROM (SELECT c, u, MAX(s) AS seq FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[]) AS x(c, u, s)
                 GROUP BY c, u) v
          WHERE m.channel_id = v.c AND m.user_id = v.u AND m.last_read_seq < v.seq",
    )
    .bind(&chan)
    .bind(&senders)
    .bind(&seqs)
    .execute(&mut *tx)
    .await?;
    // Unread counts: main-list, non-silent, non-shadowed messages count for everyone else.
    let counts: Vec<bool> =
        sends.iter().zip(&is_shadowed).map(|(s, sh)| !s.silent && s.parent.is_none() && !sh).collect();
    if counts.iter().any(|c| *c) {
        sqlx::query(
            "UPDATE channel_members m SET unread_count = m.unread_count + x.n
               FROM (SELECT v.c, mm.user_id, COUNT(*)::int AS n
                       FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::bool[]) AS v(c, u, s, counts)
                       JOIN channel_members mm ON mm.channel_id = v.c AND mm.user_id <> v.u AND mm.last_read_seq < v.s
                      WHERE v.counts GROUP BY v.c, mm.user_id) x
              WHERE m.channel_id = x.c AND m.user_id = x.user_id",
        )
        .bind(&chan)
        .bind(&senders)
        .bind(&seqs)
        .bind(&counts)
        .execute(&mut *tx)
        .await?;
    }
    // Frames, mentions.
    let mut messages_out = Vec::with_capacity(sends.len());
    let mut events_out = Vec::with_capacity(sends.len());
    let (mut log_channel, mut log_seq, mut log_payload, mut log_only) = (vec![], vec![], vec![], vec![]);
    for (i, s) in sends.iter().enumerate() {
        let row = rows.remove(&s.id).ok_or_else(|| Error::api(ErrorCode::Internal, "a batched message vanished"))?;
        let cid = s.channel.cid();
        let users = HashMap::from([(s.sender.id, s.sender.clone())]);
        let message = row.to_wire(&cid, &users);
        let frame = ServerFrame::MessageNew { cid: cid.clone(), channel_seq: seqs[i] as u64, message: message.clone() };
        log_channel.push(s.channel.id);
        log_seq.push(seqs[i]);
        log_payload.push(serde_json::to_value(&frame)?);
        log_only.push(is_shadowed[i].then_some(s.sender.id));
        let to = if is_shadowed[i] { vec![s.sender.id] } else { recipients.get(&s.channel.id).cloned().unwrap_or_default() };
        events_out.push(Outgoing { recipients: to, frame, stream: Some(s.channel.id) });
        if !is_shadowed[i] && !message.mentions.is_empty() {
            events_out.extend(mention_events(&mut tx, s, &message).await?);
        }
        messages_out.push((message, *s));
    }
    // Channels' last sequence numbers, thread reply counts, unhiding (a visible new message
    // unhides the channel for everyone who hid it) and the event log, in one statement: the
    // parts touch different rows.
    let (last_ids, last_seqs): (Vec<Uuid>, Vec<i64>) = next.iter().map(|(k, v)| (*k, *v)).unzip();
    let parents: Vec<Uuid> = sends.iter().filter_map(|s| s.parent).collect();
    let unhide: Vec<Uuid> = sends.iter().zip(&is_shadowed).filter(|(_, sh)| !**sh).map(|(s, _)| s.channel.id).collect();
    sqlx::query(
        "WITH ch AS (
           UPDATE channels c SET last_seq = v.seq, updated_at = NOW(), last_message_at = NOW()
             FROM UNNEST($1::uuid[], $2::int8[]) AS v(id, seq) WHERE c.id = v.id RETURNING 1
         ), rc AS (
           UPDATE messages p SET reply_count = p.reply_count + x.n
             FROM (SELECT id, COUNT(*)::int AS n FROM UNNEST($3::uuid[]) AS id GROUP BY id) x
            WHERE p.id = x.id RETURNING 1
         ), uh AS (
           UPDATE channel_members SET is_hidden = false
            WHERE channel_id = ANY($4) AND is_hidden IS TRUE RETURNING 1
         ), ev AS (
           INSERT INTO channel_events (channel_id, seq, event_type, payload, only_user_id)
           SELECT c, s, 'message.new', p, o FROM UNNEST($5::uuid[], $6::int8[], $7::jsonb[], $8::uuid[]) AS v(c, s, p, o)
           RETURNING 1
         )
         SELECT (SELECT COUNT(*) FROM ch) + (SELECT COUNT(*) FROM ev)",
    )
    .bind(&last_ids)
    .bind(&last_seqs)
    .bind(&parents)
    .bind(&unhide)
    .bind(&log_channel)
    .bind(&log_seq)
    .bind(&log_payload)
    .bind(&log_only)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut results = Vec::with_capacity(messages_out.len());
    for (message, s) in messages_out {
        results.push(messages::with_quoted(db, message, s).await);
    }
    Ok((results, events_out))
}

async fn insert_rows(
    tx: &mut events::Tx<'_>,
    sends: &[&PreparedSend],
    seqs: &[i64],
    shadowed: &[bool],
) -> Result<HashMap<Uuid, MessageRow>> {
    let ids: Vec<Uuid> = sends.iter().map(|s| s.id).collect();
    let chan: Vec<Uuid> = sends.iter().map(|s| s.channel.id).collect();
    let users: Vec<Uuid> = sends.iter().map(|s| s.sender.id).collect();
    let parents: Vec<Option<Uuid>> = sends.iter().map(|s| s.parent).collect();
    let quoted: Vec<Option<Uuid>> = sends.iter().map(|s| s.quoted.as_ref().map(|q| q.id)).collect();
    let texts: Vec<&str> = sends.iter().map(|s| s.input.text.as_str()).collect();
    let types: Vec<String> = sends.iter().map(|s| s.input.message_type.clone().unwrap_or_else(|| "text".into())).collect();
    let silent: Vec<bool> = sends.iter().map(|s| s.silent).collect();
    let metadata: Vec<serde_json::Value> =
        sends.iter().map(|s| serde_json::Value::Object(s.input.metadata.clone().unwrap_or_default())).collect();
    let attachments: Vec<serde_json::Value> =
        sends.iter().map(|s| serde_json::Value::Array(s.input.attachments.clone())).collect();
    let mentions: Vec<serde_json::Value> = sends.iter().map(|s| serde_json::json!(s.input.mentions)).collect();
    let sql = format!(
        "INSERT INTO messages (id, channel_id, user_id, parent_message_id, quoted_message_id, text, type,
                               is_silent, metadata, attachments, mentions, channel_seq, shadowed)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                              $7::text[], $8::bool[], $9::jsonb[], $10::jsonb[], $11::jsonb[], $12::int8[], $13::bool[])
         ON CONFLICT (id) DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    );
    let rows = sqlx::query_as::<_, MessageRow>(&sql)
        .bind(&ids)
        .bind(&chan)
        .bind(&users)
        .bind(&parents)
        .bind(&quoted)
        .bind(&texts)
        .bind(&types)
        .bind(&silent)
        .bind(&metadata)
        .bind(&attachments)
        .bind(&mentions)
        .bind(seqs)
        .bind(shadowed)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

async fn mention_events(tx: &mut events::Tx<'_>, s: &PreparedSend, message: &Message) -> Result<Vec<Outgoing>> {
    let mentioned: Vec<String> =
        message.mentions.iter().filter(|m| **m != s.sender.external_id).cloned().collect();
    let ids: Vec<(Uuid,)> = sqlx::query_as(&format!(
        "SELECT u.id FROM users u JOIN channel_members m ON m.user_id = u.id AND m.channel_id = $1
          WHERE u.app_id = $2 AND u.external_id = ANY($3) AND NOT {BANNED_NOW} AND {ACTIVE_MEMBER}"
    ))
    .bind(s.channel.id)
    .bind(s.channel.app_id)
    .bind(&mentioned)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::new();
    for (uid,) in ids {
        let (m, c) = (message.clone(), s.channel.cid());
        out.push(events::emit_user(tx, uid, |user_seq| ServerFrame::Mention { user_seq, cid: c, message: m }).await?);
    }
    Ok(out)
}
