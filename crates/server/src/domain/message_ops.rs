//! Changing and reading single messages: get, edit, soft and hard delete, pin and unpin. Each
//! change takes the channel's next sequence number, is logged with its event in the change's
//! transaction, and is exactly-once by mutation id. Who may do what is decided in one place,
//! [`permissions::require_message_change`], for every change (reactions too).

use std::collections::HashMap;

use chat_protocol::frames::ServerFrame;
use chat_protocol::requests::UpdateMessage;
use chat_protocol::{ErrorCode, Message};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::channels::{self, ChannelRow, MemberRow};
use super::message_list;
use super::messages::{self, MessageRow, MESSAGE_COLUMNS};
use super::mutations::{self, Claim};
use super::permissions::{self, MessageChange};
use super::users::UserRow;
use super::{events, validate};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;

/// The message with `id` and its channel, provided `caller` is a member of that channel.
pub async fn locate(db: &PgPool, caller: &UserRow, id: &str) -> Result<(MessageRow, ChannelRow, MemberRow)> {
    let id = validate::uuid("message id", id)?;
    let row = messages::by_id(db, id).await?.ok_or_else(|| Error::not_found("no such message"))?;
    let channel = channels::by_id(db, caller.app_id, row.channel_id)
        .await?
        .ok_or_else(|| Error::not_found("no such message"))?;
    let member = channels::membership(db, channel.id, caller.id)
        .await?
        .ok_or_else(|| Error::not_found("no such message"))?;
    channels::team_guard(db, caller, &channel).await?;
    if row.is_hard_deleted.unwrap_or(false) || row.channel_seq.is_none() && row.user_id != caller.id {
        return Err(Error::not_found("no such message"));
    }
    if super::posting::hidden_from(db, row.id, &channel, caller.id).await? {
        return Err(Error::not_found("no such message"));
    }
    Ok((row, channel, member))
}

pub async fn get(db: &PgPool, caller: &UserRow, id: &str) -> Result<Message> {
    let (row, channel, _) = locate(db, caller, id).await?;
    let mut list = message_list::decorate(&mut *db.acquire().await?, caller.id, &channel.cid(), vec![row]).await?;
    list.pop().ok_or_else(|| Error::not_found("no such message"))
}

/// Whether `caller` may make `change` to the message `row` (the one rule set, see
/// [`permissions::require_message_change`]).
pub fn may_change(
    channel: &ChannelRow,
    member: &MemberRow,
    row: &MessageRow,
    caller: &UserRow,
    change: MessageChange,
) -> Result<()> {
    permissions::require_message_change(channel.frozen(), member, row.user_id == caller.id, change)
}

/// Applies `change` to the message inside one transaction: claims the mutation id, runs the
/// UPDATE (which must return the row), builds the event with the next channel sequence number
/// and stores the result. Returns the decorated message and the events to publish.
/// A change's kind (as recorded with its mutation id) and the client's mutation id.
struct Mutation<'a> {
    kind: &'a str,
    id: Option<&'a str>,
}

async fn change(
    db: &PgPool,
    caller: &UserRow,
    channel: &ChannelRow,
    mutation: Mutation<'_>,
    update_sql: &str,
    bind: impl FnOnce(
        sqlx::query::QueryAs<'_, sqlx::Postgres, MessageRow, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'_, sqlx::Postgres, MessageRow, sqlx::postgres::PgArguments>,
    event: impl FnOnce(String, u64, Message) -> ServerFrame,
) -> Result<(Message, Vec<Outgoing>)> {
    let mut tx = db.begin().await?;
    let claim = mutations::claim(&mut tx, caller.app_id, caller.id, mutation.kind, mutation.id).await?;
    if let Claim::Done(result) = claim {
        tx.rollback().await?;
        return Ok((serde_json::from_value(result)?, Vec::new()));
    }
    events::lock_channel(&mut tx, channel.id).await?;
    let row = bind(sqlx::query_as::<_, MessageRow>(update_sql)).fetch_one(&mut *tx).await?;
    let cid = channel.cid();
    let mut ids = vec![row.user_id];
    ids.extend(row.pinned_by);
    let users = message_list::users_of(&mut tx, &ids).await?;
    let wire = row.to_wire(&cid, &users);
    let ev = events::emit_channel(&mut tx, channel.id, |seq| event(cid.clone(), seq, wire.clone())).await?;
    if matches!(ev.frame, ServerFrame::MessageDeleted { .. } | ServerFrame::MessageUpdated { .. }) {
        scrub_logged_copies(&mut tx, channel.id, row.id, &wire).await?;
    }
    let mut list = message_list::decorate(&mut tx, caller.id, &cid, vec![row]).await?;
    let message = list.pop().unwrap_or(wire);
    mutations::finish(&mut tx, &claim, &message).await?;
    tx.commit().await?;
    Ok((message, vec![ev]))
}

/// Replaces the message inside earlier logged events of the channel with its current form, so
/// sync never replays text that was edited away or deleted.
async fn scrub_logged_copies(tx: &mut events::Tx<'_>, channel_id: Uuid, message_id: Uuid, now: &Message) -> Result<()> {
    sqlx::query(
        "UPDATE channel_events SET payload = jsonb_set(payload, '{message}', $3)
          WHERE channel_id = $1 AND payload->'message'->>'id' = $2
            AND event_type IN ('message.new', 'message.updated')",
    )
    .bind(channel_id)
    .bind(message_id.to_string())
    .bind(serde_json::to_value(now)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn edit(db: &PgPool, caller: &UserRow, id: &str, input: &UpdateMessage) -> Result<(Message, Vec<Outgoing>)> {
    let (row, channel, member) = locate(db, caller, id).await?;
    may_change(&channel, &member, &row, caller, MessageChange::Edit)?;
    if row.deleted() {
        return Err(Error::invalid("a deleted message cannot be edited"));
    }
    let text = input.text.clone().unwrap_or_else(|| row.text.clone().unwrap_or_default());
    let attachments = input.attachments.clone().unwrap_or_else(|| row.attachments.clone().map(|j| j.0).unwrap_or_default());
    let mentions = input.mentions.clone().unwrap_or_else(|| row.mentions.clone().map(|j| j.0).unwrap_or_default());
    messages::validate_content(&text, &attachments, &mentions, input.metadata.as_ref())?;
    if text.trim().is_empty() && attachments.is_empty() {
        return Err(Error::invalid("a message needs text or attachments"));
    }
    let sql = format!(
        "UPDATE messages SET text = $2, attachments = $3, mentions = $4, metadata = COALESCE($5, metadata),
                is_edited = true, edited_at = NOW(), updated_at = NOW()
          WHERE id = $1 RETURNING {MESSAGE_COLUMNS}"
    );
    let metadata = input.metadata.clone().map(Json);
    change(
        db,
        caller,
        &channel,
        Mutation { kind: "message.edit", id: input.mutation_id.as_deref() },
        &sql,
        |q| q.bind(row.id).bind(text).bind(Json(attachments)).bind(Json(mentions)).bind(metadata),
        |cid, channel_seq, message| ServerFrame::MessageUpdated { cid, channel_seq, message },
    )
    .await
}

pub async fn delete(
    db: &PgPool,
    caller: &UserRow,
    id: &str,
    hard: bool,
    mutation_id: Option<&str>,
) -> Result<(Message, Vec<Outgoing>)> {
    let (row, channel, member) = locate(db, caller, id).await?;
    may_change(&channel, &member, &row, caller, if hard { MessageChange::HardDelete } else { MessageChange::SoftDelete })?;
    if row.deleted() && !hard {
        // Deleting twice is not an error: the message is deleted.
        let users: HashMap<Uuid, UserRow> = message_list::users_of(&mut *db.acquire().await?, &[row.user_id]).await?;
        return Ok((row.to_wire(&channel.cid(), &users), Vec::new()));
    }
    let sql = format!(
        "UPDATE messages SET is_deleted = true, deleted_at = COALESCE(deleted_at, NOW()), updated_at = NOW(),
                is_hard_deleted = $2, is_pinned = false,
                text = CASE WHEN $2 THEN NULL ELSE text END,
                attachments = CASE WHEN $2 THEN '[]'::jsonb ELSE attachments END,
                mentions = CASE WHEN $2 THEN '[]'::jsonb ELSE mentions END,
                metadata = CASE WHEN $2 THEN '{{}}'::jsonb ELSE metadata END
          WHERE id = $1 RETURNING {MESSAGE_COLUMNS}"
    );
    change(
        db,
        caller,
        &channel,
        Mutation { kind: if hard { "message.hard_delete" } else { "message.delete" }, id: mutation_id },
        &sql,
        |q| q.bind(row.id).bind(hard),
        |cid, channel_seq, message| ServerFrame::MessageDeleted { cid, channel_seq, message, hard_delete: hard },
    )
    .await
}

pub async fn pin(
    db: &PgPool,
    caller: &UserRow,
    id: &str,
    pinned: bool,
    mutation_id: Option<&str>,
) -> Result<(Message, Vec<Outgoing>)> {
    let (row, channel, member) = locate(db, caller, id).await?;
    may_change(&channel, &member, &row, caller, MessageChange::Pin)?;
    if row.deleted() {
        return Err(Error::invalid("a deleted message cannot be pinned"));
    }
    if row.channel_seq.is_none() {
        return Err(Error::api(ErrorCode::InvalidInput, "a scheduled message cannot be pinned before it is sent"));
    }
    let sql = format!(
        "UPDATE messages SET is_pinned = $2, pinned_at = CASE WHEN $2 THEN NOW() ELSE NULL END,
                pinned_by = CASE WHEN $2 THEN $3 ELSE NULL END, updated_at = NOW()
          WHERE id = $1 RETURNING {MESSAGE_COLUMNS}"
    );
    change(
        db,
        caller,
        &channel,
        Mutation { kind: if pinned { "message.pin" } else { "message.unpin" }, id: mutation_id },
        &sql,
        |q| q.bind(row.id).bind(pinned).bind(caller.id),
        |cid, channel_seq, message| ServerFrame::MessageUpdated { cid, channel_seq, message },
    )
    .await
}
