//! Reactions: add (unique per user, message and type; optionally one per user per message) and
//! remove, each a channel event with the message's new counts, exactly-once by mutation id.
//! Adding a reaction that exists, or removing one that does not, changes nothing and emits
//! nothing.

use chat_protocol::frames::ServerFrame;
use chat_protocol::model::Reaction;
use chat_protocol::requests::{ReactionResponse, SendReaction};
use chrono::NaiveDateTime;
use sqlx::PgPool;
use uuid::Uuid;

use super::message_list;
use super::message_ops::locate;
use super::permissions::MessageChange;
use super::mutations::{self, Claim};
use super::users::UserRow;
use super::events;
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::time::fmt;

fn validate_type(t: &str) -> Result<()> {
    if t.is_empty() || t.chars().count() > 50 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid("reaction type must be 1-50 characters without spaces"));
    }
    Ok(())
}

fn wire(message_id: Uuid, user: &UserRow, t: &str, at: Option<NaiveDateTime>) -> Reaction {
    Reaction {
        message_id: message_id.to_string(),
        user_id: user.external_id.clone(),
        reaction_type: t.to_string(),
        created_at: at.map(fmt).unwrap_or_default(),
    }
}

pub async fn add(
    db: &PgPool,
    caller: &UserRow,
    message_id: &str,
    input: &SendReaction,
) -> Result<(ReactionResponse, Vec<Outgoing>)> {
    validate_type(&input.reaction_type)?;
    let (row, channel, member) = locate(db, caller, message_id).await?;
    super::message_ops::may_change(&channel, &member, &row, caller, MessageChange::React)?;
    if row.deleted() || row.channel_seq.is_none() {
        return Err(Error::invalid("this message cannot take reactions"));
    }
    let cid = channel.cid();
    let mut tx = db.begin().await?;
    let claim = mutations::claim(&mut tx, caller.app_id, caller.id, "reaction.add", input.mutation_id.as_deref()).await?;
    if let Claim::Done(result) = claim {
        tx.rollback().await?;
        return Ok((serde_json::from_value(result)?, Vec::new()));
    }
    let mut out = Vec::new();
    if input.enforce_unique {
        let removed: Vec<(String, Option<NaiveDateTime>)> = sqlx::query_as(
            "DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji <> $3
             RETURNING emoji, created_at",
        )
        .bind(row.id)
        .bind(caller.id)
        .bind(&input.reaction_type)
        .fetch_all(&mut *tx)
        .await?;
        for (emoji, at) in removed {
            let m = decorated(&mut tx, caller, &cid, &row).await?;
            out.push(emit(&mut tx, channel.id, &cid, wire(row.id, caller, &emoji, at), m, false).await?);
        }
    }
    let inserted: Option<(Option<NaiveDateTime>,)> = sqlx::query_as(
        "INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)
         ON CONFLICT (message_id, user_id, emoji) DO NOTHING RETURNING created_at",
    )
    .bind(row.id)
    .bind(caller.id)
    .bind(&input.reaction_type)
    .fetch_optional(&mut *tx)
    .await?;
    let at = match inserted {
        Some((at,)) => at,
        None => {
            let (at,): (Option<NaiveDateTime>,) = sqlx::query_as(
                "SELECT created_at FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3",
            )
            .bind(row.id)
            .bind(caller.id)
            .bind(&input.reaction_type)
            .fetch_one(&mut *tx)
            .await?;
            at
        }
    };
    let reaction = wire(row.id, caller, &input.reaction_type, at);
    let message = decorated(&mut tx, caller, &cid, &row).await?;
    if inserted.is_some() {
        out.push(emit(&mut tx, channel.id, &cid, reaction.clone(), message.clone(), true).await?);
    }
    let resp = ReactionResponse { message, reaction };
    mutations::finish(&mut tx, &claim, &resp).await?;
    tx.commit().await?;
    Ok((resp, out))
}

pub async fn remove(
    db: &PgPool,
    caller: &UserRow,
    message_id: &str,
    reaction_type: &str,
    mutation_id: Option<&str>,
) -> Result<(ReactionResponse, Vec<Outgoing>)> {
    validate_type(reaction_type)?;
    let (row, channel, member) = locate(db, caller, message_id).await?;
    super::message_ops::may_change(&channel, &member, &row, caller, MessageChange::React)?;
    let cid = channel.cid();
    let mut tx = db.begin().await?;
    let claim = mutations::claim(&mut tx, caller.app_id, caller.id, "reaction.remove", mutation_id).await?;
    if let Claim::Done(result) = claim {
        tx.rollback().await?;
        return Ok((serde_json::from_value(result)?, Vec::new()));
    }
    let removed: Option<(Option<NaiveDateTime>,)> = sqlx::query_as(
        "DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING created_at",
    )
    .bind(row.id)
    .bind(caller.id)
    .bind(reaction_type)
    .fetch_optional(&mut *tx)
    .await?;
    let reaction = wire(row.id, caller, reaction_type, removed.as_ref().and_then(|r| r.0));
    let message = decorated(&mut tx, caller, &cid, &row).await?;
    let mut out = Vec::new();
    if removed.is_some() {
        out.push(emit(&mut tx, channel.id, &cid, reaction.clone(), message.clone(), false).await?);
    }
    let resp = ReactionResponse { message, reaction };
    mutations::finish(&mut tx, &claim, &resp).await?;
    tx.commit().await?;
    Ok((resp, out))
}

/// Logs `reaction.new` (`added`) or `reaction.deleted` under the channel's next sequence number.
async fn emit(
    tx: &mut events::Tx<'_>,
    channel_id: uuid::Uuid,
    cid: &str,
    reaction: Reaction,
    message: chat_protocol::Message,
    added: bool,
) -> Result<Outgoing> {
    let cid = cid.to_string();
    events::emit_channel(tx, channel_id, |channel_seq| {
        if added {
            ServerFrame::ReactionNew { cid, channel_seq, reaction, message }
        } else {
            ServerFrame::ReactionDeleted { cid, channel_seq, reaction, message }
        }
    })
    .await
}

async fn decorated(
    tx: &mut events::Tx<'_>,
    caller: &UserRow,
    cid: &str,
    row: &super::messages::MessageRow,
) -> Result<chat_protocol::Message> {
    let mut list = message_list::decorate(tx, caller.id, cid, vec![row.clone()]).await?;
    list.pop().ok_or_else(|| Error::not_found("no such message"))
}
