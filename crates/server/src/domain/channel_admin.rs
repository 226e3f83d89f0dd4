//! Changes to a channel itself: full and partial update (name, description, avatar_url,
//! metadata, settings, slow_mode, cooldown), freeze/unfreeze, truncate and (soft) delete. Each
//! checks the permission table, runs in one transaction that locks the channel row, emits its
//! event with the channel's next sequence, and emits nothing when nothing changed (a retry).

use chat_protocol::model::ChannelDetails as Channel;
use chat_protocol::requests::{PartialUpdateChannel, TruncateChannel, UpdateChannel};
use chat_protocol::ServerFrame;
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::channels::{self, ChannelRow};
use super::events::{self, Tx};
use super::permissions::{self, Action};
use super::users::UserRow;
use super::{messages, validate, watchers};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;

/// Longest slow mode / cooldown, in seconds (one day).
pub const MAX_RATE_SECS: u32 = 86_400;

/// The editable fields of a channel.
#[derive(Debug, Clone, PartialEq)]
struct Fields {
    name: Option<String>,
    description: Option<String>,
    avatar_url: Option<String>,
    metadata: Map<String, Value>,
    settings: Map<String, Value>,
    slow_mode: u32,
    cooldown: u32,
    frozen: bool,
}

impl Fields {
    fn of(c: &ChannelRow) -> Fields {
        Fields {
            name: c.name.clone(),
            description: c.description.clone(),
            avatar_url: c.avatar_url.clone(),
            metadata: c.metadata.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            settings: c.settings.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            slow_mode: c.slow_mode.unwrap_or(0).max(0) as u32,
            cooldown: c.cooldown.unwrap_or(0).max(0) as u32,
            frozen: c.frozen(),
        }
    }

    fn validate(&self) -> Result<()> {
        validate::max_chars("name", self.name.as_deref(), 255)?;
        validate::max_chars("description", self.description.as_deref(), 5000)?;
        validate::max_chars("avatar_url", self.avatar_url.as_deref(), 2048)?;
        validate::max_json_bytes("metadata", &self.metadata, 5 * 1024)?;
        validate::max_json_bytes("settings", &self.settings, 5 * 1024)?;
        if self.slow_mode > MAX_RATE_SECS {
            return Err(Error::invalid(format!("slow_mode must be 0-{MAX_RATE_SECS} seconds")));
        }
        if self.cooldown > MAX_RATE_SECS {
            return Err(Error::invalid(format!("cooldown must be 0-{MAX_RATE_SECS} seconds")));
        }
        Ok(())
    }
}

/// `PUT`: every field takes the given value; fields left out are cleared.
pub async fn update(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &UpdateChannel,
) -> Result<(Channel, Vec<Outgoing>)> {
    apply(db, caller, channel_type, key, Action::Update, |old| {
        Ok(Fields {
            name: input.name.clone(),
            description: input.description.clone(),
            avatar_url: input.avatar_url.clone(),
            metadata: input.metadata.clone().unwrap_or_default(),
            settings: input.settings.clone().unwrap_or_default(),
            slow_mode: input.slow_mode.unwrap_or(0),
            cooldown: input.cooldown.unwrap_or(0),
            frozen: old.frozen,
        })
    })
    .await
}

const PARTIAL_FIELDS: [&str; 7] =
    ["name", "description", "avatar_url", "metadata", "settings", "slow_mode", "cooldown"];

fn opt_string(field: &str, v: &Value) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(Error::invalid(format!("{field} must be a string or null"))),
    }
}

fn object(field: &str, v: &Value) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        _ => Err(Error::invalid(format!("{field} must be an object"))),
    }
}

fn seconds(field: &str, v: &Value) -> Result<u32> {
    v.as_u64()
        .filter(|n| *n <= u64::from(MAX_RATE_SECS))
        .map(|n| n as u32)
        .ok_or_else(|| Error::invalid(format!("{field} must be an integer 0-{MAX_RATE_SECS}")))
}

/// `PATCH`: `set` the named fields, `unset` (clear) others; the rest keep their values.
pub async fn partial_update(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &PartialUpdateChannel,
) -> Result<(Channel, Vec<Outgoing>)> {
    if input.set.is_empty() && input.unset.is_empty() {
        return Err(Error::invalid("set or unset must name at least one field"));
    }
    for k in input.set.keys().chain(input.unset.iter()) {
        if !PARTIAL_FIELDS.contains(&k.as_str()) {
            return Err(Error::invalid(format!("unknown field {k:?}; updatable: {}", PARTIAL_FIELDS.join(", "))));
        }
    }
    if let Some(k) = input.unset.iter().find(|k| input.set.contains_key(*k)) {
        return Err(Error::invalid(format!("{k:?} is both set and unset")));
    }
    apply(db, caller, channel_type, key, Action::Update, |old| {
        let mut f = old.clone();
        for (k, v) in &input.set {
            match k.as_str() {
                "name" => f.name = opt_string(k, v)?,
                "description" => f.description = opt_string(k, v)?,
                "avatar_url" => f.avatar_url = opt_string(k, v)?,
                "metadata" => f.metadata = object(k, v)?,
                "settings" => f.settings = object(k, v)?,
                "slow_mode" => f.slow_mode = seconds(k, v)?,
                _ => f.cooldown = seconds(k, v)?,
            }
        }
        for k in &input.unset {
            match k.as_str() {
                "name" => f.name = None,
                "description" => f.description = None,
                "avatar_url" => f.avatar_url = None,
                "metadata" => f.metadata = Map::new(),
                "settings" => f.settings = Map::new(),
                "slow_mode" => f.slow_mode = 0,
                _ => f.cooldown = 0,
            }
        }
        Ok(f)
    })
    .await
}

/// Freezes (`true`) or unfreezes the channel: a frozen channel refuses new messages.
pub async fn set_frozen(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    frozen: bool,
) -> Result<(Channel, Vec<Outgoing>)> {
    apply(db, caller, channel_type, key, Action::Freeze, |old| Ok(Fields { frozen, ..old.clone() })).await
}

/// Locks the channel row inside a new transaction and re-reads it.
async fn lock(tx: &mut Tx<'_>, channel_id: Uuid) -> Result<ChannelRow> {
    sqlx::query("SELECT 1 FROM channels WHERE id = $1 FOR UPDATE").bind(channel_id).execute(&mut **tx).await?;
    channels::by_id_any(&mut **tx, channel_id).await?.ok_or_else(|| Error::not_found("the channel was deleted"))
}

async fn apply(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    action: Action,
    change: impl FnOnce(&Fields) -> Result<Fields>,
) -> Result<(Channel, Vec<Outgoing>)> {
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, action)?;
    let mut tx = db.begin().await?;
    let current = lock(&mut tx, channel.id).await?;
    if current.deleted_at.is_some() {
        return Err(Error::not_found("the channel was deleted"));
    }
    let old = Fields::of(&current);
    let new = change(&old)?;
    new.validate()?;
    if new == old {
        tx.rollback().await?;
        return Ok((current.details(), Vec::new()));
    }
    sqlx::query(
        "UPDATE channels SET name = $2, description = $3, avatar_url = $4, metadata = $5, settings = $6,
                slow_mode = $7, cooldown = $8, is_frozen = $9
          WHERE id = $1",
    )
    .bind(channel.id)
    .bind(&new.name)
    .bind(&new.description)
    .bind(&new.avatar_url)
    .bind(Json(&new.metadata))
    .bind(Json(&new.settings))
    .bind(new.slow_mode as i32)
    .bind(new.cooldown as i32)
    .bind(new.frozen)
    .execute(&mut *tx)
    .await?;
    let (wire, ev) = emit_with_channel(&mut tx, channel.id, |cid, seq, channel| ServerFrame::ChannelUpdated {
        cid,
        channel_seq: seq,
        channel,
    })
    .await?;
    tx.commit().await?;
    Ok((wire, vec![ev]))
}

/// Emits a channel event carrying the channel as it is after the change (with its new
/// `last_seq`).
async fn emit_with_channel(
    tx: &mut Tx<'_>,
    channel_id: Uuid,
    build: impl FnOnce(String, u64, Channel) -> ServerFrame,
) -> Result<(Channel, Outgoing)> {
    let row =
        channels::by_id_any(&mut **tx, channel_id).await?.ok_or_else(|| Error::not_found("the channel vanished"))?;
    let mut wire = row.details();
    let cid = wire.cid.clone();
    let mut sent = wire.clone();
    let ev = events::emit_channel(tx, channel_id, |seq| {
        sent.last_seq = seq;
        build(cid, seq, sent)
    })
    .await?;
    if let Some((_, seq)) = ev.frame.channel_position() {
        wire.last_seq = seq;
    }
    Ok((wire, ev))
}

/// Soft delete (owner only): the row stays with `deleted_at`, members get `channel.deleted`, and
/// the channel can no longer be read or written. Deleting a deleted channel again succeeds
/// without a new event.
pub async fn delete(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<(Channel, Vec<Outgoing>)> {
    let (channel, me) = channels::for_member_any(db, caller, channel_type, key).await?;
    permissions::require(&me, Action::Delete)?;
    let mut tx = db.begin().await?;
    let current = lock(&mut tx, channel.id).await?;
    if current.deleted_at.is_some() {
        tx.rollback().await?;
        return Ok((current.details(), Vec::new()));
    }
    sqlx::query("UPDATE channels SET deleted_at = NOW() WHERE id = $1").bind(channel.id).execute(&mut *tx).await?;
    let (wire, ev) = emit_with_channel(&mut tx, channel.id, |cid, seq, channel| ServerFrame::ChannelDeleted {
        cid,
        channel_seq: seq,
        channel,
    })
    .await?;
    tx.commit().await?;
    watchers::forget_channel(redis, channel.id).await;
    Ok((wire, vec![ev]))
}

/// Hides every message so far from lists and state (`channel.truncated`), resets unread
/// counts, and optionally leaves a `system` message from the caller after the cut.
pub async fn truncate(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &TruncateChannel,
) -> Result<(Channel, Vec<Outgoing>)> {
    if let Some(text) = &input.message {
        validate::max_chars("message", Some(text), chat_protocol::MAX_MESSAGE_TEXT_CHARS)?;
        if text.trim().is_empty() {
            return Err(Error::invalid("message must not be empty"));
        }
    }
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, Action::Truncate)?;
    let mut tx = db.begin().await?;
    let current = lock(&mut tx, channel.id).await?;
    if current.deleted_at.is_some() {
        return Err(Error::not_found("the channel was deleted"));
    }
    // The truncate event takes last_seq + 1: everything before it is hidden.
    sqlx::query("UPDATE channels SET truncated_at = NOW(), truncated_seq = last_seq + 1 WHERE id = $1")
        .bind(channel.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE channel_members SET unread_count = 0 WHERE channel_id = $1")
        .bind(channel.id)
        .execute(&mut *tx)
        .await?;
    let (mut wire, ev) = emit_with_channel(&mut tx, channel.id, |cid, seq, channel| ServerFrame::ChannelTruncated {
        cid,
        channel_seq: seq,
        channel,
    })
    .await?;
    let mut out = vec![ev];
    if let Some(text) = &input.message {
        let seq = events::next_channel_seq(&mut tx, channel.id).await?;
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO messages (id, channel_id, user_id, text, type, channel_seq) VALUES ($1, $2, $3, $4, 'system', $5)",
        )
        .bind(id)
        .bind(channel.id)
        .bind(caller.id)
        .bind(text)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE channels SET last_message_at = NOW() WHERE id = $1")
            .bind(channel.id)
            .execute(&mut *tx)
            .await?;
        let row = messages::by_id(&mut *tx, id).await?.ok_or_else(|| Error::not_found("message vanished"))?;
        let authors = std::collections::HashMap::from([(caller.id, caller.clone())]);
        let message = row.to_wire(&wire.cid, &authors);
        let frame = ServerFrame::MessageNew { cid: wire.cid.clone(), channel_seq: seq as u64, message };
        events::log_channel_event(&mut tx, channel.id, seq, frame.kind(), &serde_json::to_value(&frame)?).await?;
        out.push(Outgoing { recipients: channels::recipient_ids(&mut *tx, channel.id).await?, frame, stream: Some(channel.id) });
        wire.last_seq = seq as u64;
    }
    tx.commit().await?;
    Ok((wire, out))
}
