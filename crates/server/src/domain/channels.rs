//! Channels and their members: get-or-create by client-chosen `type:id` (race-free through the
//! unique index on `(app_id, type, channel_key)`), membership checks, and the channel state
//! returned to clients.

use chat_protocol::frames::ServerFrame;
use chat_protocol::requests::{ChannelState, CreateChannel};
use chat_protocol::{Channel, ChannelMember};
use chrono::NaiveDateTime;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::events::{self, Tx};
use super::users::{self, UserRow, USER_COLUMNS};
use super::{message_list, validate};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;
use crate::time::{fmt, fmt_opt};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: Uuid,
    pub app_id: Uuid,
    #[sqlx(rename = "type")]
    pub channel_type: String,
    pub channel_key: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub metadata: Option<Json<serde_json::Map<String, serde_json::Value>>>,
    pub is_frozen: Option<bool>,
    pub created_by_external: Option<String>,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    pub last_message_at: Option<NaiveDateTime>,
    pub last_seq: i64,
    pub member_count: i32,
}

const CHANNEL_SELECT: &str = "SELECT c.id, c.app_id, c.type, c.channel_key, c.name, c.description,
       c.avatar_url, c.metadata, c.is_frozen, cu.external_id AS created_by_external, c.created_at,
       c.updated_at, c.last_message_at, c.last_seq,
       (SELECT COUNT(*) FROM channel_members m WHERE m.channel_id = c.id)::int AS member_count
  FROM channels c LEFT JOIN users cu ON cu.id = c.created_by";

impl ChannelRow {
    pub fn key(&self) -> String {
        self.channel_key
            .clone()
            .unwrap_or_else(|| self.id.to_string())
    }

    pub fn cid(&self) -> String {
        chat_protocol::cid(&self.channel_type, &self.key())
    }

    pub fn frozen(&self) -> bool {
        self.is_frozen.unwrap_or(false)
    }

    pub fn to_wire(&self) -> Channel {
        Channel {
            cid: self.cid(),
            id: self.key(),
            channel_type: self.channel_type.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            avatar_url: self.avatar_url.clone(),
            metadata: self
                .metadata
                .as_ref()
                .map(|j| j.0.clone())
                .unwrap_or_default(),
            is_frozen: self.frozen(),
            created_by: self.created_by_external.clone(),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
            last_message_at: fmt_opt(self.last_message_at),
            last_seq: self.last_seq.max(0) as u64,
            member_count: self.member_count.max(0) as u32,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub role: Option<String>,
    pub joined_at: Option<NaiveDateTime>,
    pub unread_count: Option<i32>,
    pub last_read_at: Option<NaiveDateTime>,
    pub is_banned: Option<bool>,
}

impl MemberRow {
    pub fn to_wire(&self) -> ChannelMember {
        ChannelMember {
            user_id: self.user.external_id.clone(),
            user: Some(self.user.to_wire()),
            role: self.role.clone().unwrap_or_else(|| "member".into()),
            joined_at: self.joined_at.map(fmt).unwrap_or_default(),
            unread_count: self.unread_count.unwrap_or(0).max(0) as u32,
            last_read_at: fmt_opt(self.last_read_at),
        }
    }
}

pub async fn by_key(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    channel_type: &str,
    key: &str,
) -> Result<Option<ChannelRow>> {
    let sql =
        format!("{CHANNEL_SELECT} WHERE c.app_id = $1 AND c.type = $2 AND c.channel_key = $3");
    Ok(sqlx::query_as::<_, ChannelRow>(&sql)
        .bind(app_id)
        .bind(channel_type)
        .bind(key)
        .fetch_optional(db)
        .await?)
}

pub async fn by_id(db: impl PgExecutor<'_>, app_id: Uuid, id: Uuid) -> Result<Option<ChannelRow>> {
    let sql = format!("{CHANNEL_SELECT} WHERE c.app_id = $1 AND c.id = $2");
    Ok(sqlx::query_as::<_, ChannelRow>(&sql)
        .bind(app_id)
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// The channel named by `type:id`, provided `user` is a member; `not_found` / `forbidden`
/// otherwise.
pub async fn for_member(
    db: &PgPool,
    user: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<(ChannelRow, MemberRow)> {
    validate::channel_type(channel_type)?;
    validate::external_id("channel id", key)?;
    let channel = by_key(db, user.app_id, channel_type, key)
        .await?
        .ok_or_else(|| Error::not_found(format!("channel {channel_type}:{key} does not exist")))?;
    let member = membership(db, channel.id, user.id)
        .await?
        .ok_or_else(|| Error::forbidden("you are not a member of this channel"))?;
    Ok((channel, member))
}

pub async fn membership(
    db: impl PgExecutor<'_>,
    channel_id: Uuid,
    user_id: Uuid,
) -> Result<Option<MemberRow>> {
    let sql = member_select("WHERE m.channel_id = $1 AND m.user_id = $2");
    Ok(sqlx::query_as::<_, MemberRow>(&sql)
        .bind(channel_id)
        .bind(user_id)
        .fetch_optional(db)
        .await?)
}

fn member_select(filter: &str) -> String {
    let user_cols: Vec<String> = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{}", c.trim()))
        .collect();
    format!(
        "SELECT {}, m.role, m.joined_at, m.unread_count, m.last_read_at, m.is_banned
           FROM channel_members m JOIN users u ON u.id = m.user_id {filter}",
        user_cols.join(", ")
    )
}

pub async fn members(db: &PgPool, channel_id: Uuid, limit: i64) -> Result<Vec<MemberRow>> {
    let sql = member_select("WHERE m.channel_id = $1 ORDER BY m.joined_at, u.external_id LIMIT $2");
    Ok(sqlx::query_as::<_, MemberRow>(&sql)
        .bind(channel_id)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// Internal ids of every member that receives the channel's events (banned members do not).
pub async fn recipient_ids(db: impl PgExecutor<'_>, channel_id: Uuid) -> Result<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT user_id FROM channel_members WHERE channel_id = $1 AND is_banned IS NOT TRUE",
    )
    .bind(channel_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

fn validate_create(input: &CreateChannel) -> Result<()> {
    validate::max_chars("name", input.name.as_deref(), 255)?;
    validate::max_chars("description", input.description.as_deref(), 5000)?;
    validate::max_chars("avatar_url", input.avatar_url.as_deref(), 2048)?;
    if input.members.len() > 100 {
        return Err(Error::invalid(
            "members may name at most 100 users at creation",
        ));
    }
    for m in &input.members {
        validate::external_id("member id", m)?;
    }
    if let Some(m) = &input.metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    Ok(())
}

/// Gets the channel `type:key`, creating it (with the caller as owner and `members` added) when
/// it does not exist. Returns the state and the events to publish after the commit.
pub async fn get_or_create(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &CreateChannel,
) -> Result<(ChannelState, Vec<Outgoing>)> {
    validate::channel_type(channel_type)?;
    validate::external_id("channel id", key)?;
    validate_create(input)?;
    let mut tx = db.begin().await?;
    let inserted: Option<(Uuid,)> = sqlx::query_as(
        "INSERT INTO channels (app_id, type, channel_key, name, description, avatar_url, metadata,
                               created_by)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, '{}'::jsonb), $8)
         ON CONFLICT (app_id, type, channel_key) DO NOTHING RETURNING id",
    )
    .bind(caller.app_id)
    .bind(channel_type)
    .bind(key)
    .bind(&input.name)
    .bind(&input.description)
    .bind(&input.avatar_url)
    .bind(input.metadata.clone().map(Json))
    .bind(caller.id)
    .fetch_optional(&mut *tx)
    .await?;
    let mut outgoing = Vec::new();
    if let Some((channel_id,)) = inserted {
        let mut ids: Vec<String> = vec![caller.external_id.clone()];
        for m in &input.members {
            if !ids.contains(m) {
                ids.push(m.clone());
            }
        }
        let resolved = users::resolve_ids(&mut *tx, caller.app_id, &ids).await?;
        let mut added = Vec::with_capacity(ids.len());
        for ext in &ids {
            let Some(uid) = resolved.iter().find(|(e, _)| e == ext).map(|(_, u)| *u) else {
                continue;
            };
            let role = if uid == caller.id { "owner" } else { "member" };
            added.push(add_member(&mut tx, channel_id, uid, role).await?);
        }
        let channel = by_key(&mut *tx, caller.app_id, channel_type, key)
            .await?
            .ok_or_else(|| Error::api(chat_protocol::ErrorCode::Internal, "channel vanished"))?;
        let cid = channel.cid();
        let recipients: Vec<Uuid> = added.iter().map(|(m, _)| m.user.id).collect();
        for (member, seq) in &added {
            let frame = ServerFrame::MemberAdded {
                cid: cid.clone(),
                channel_seq: *seq as u64,
                member: member.to_wire(),
            };
            events::log_channel_event(
                &mut tx,
                channel_id,
                *seq,
                "member.added",
                &serde_json::to_value(&frame)?,
            )
            .await?;
            outgoing.push(Outgoing {
                recipients: recipients.clone(),
                frame,
            });
        }
        let wire = channel.to_wire();
        for uid in &recipients {
            let user_seq = events::next_user_seq(&mut tx, *uid).await?;
            let frame = ServerFrame::AddedToChannel {
                user_seq: user_seq as u64,
                channel: wire.clone(),
            };
            events::log_user_event(
                &mut tx,
                *uid,
                user_seq,
                "notification.added_to_channel",
                &serde_json::to_value(&frame)?,
            )
            .await?;
            outgoing.push(Outgoing {
                recipients: vec![*uid],
                frame,
            });
        }
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok((state_for(db, caller, channel_type, key).await?, outgoing))
}

/// Adds a member inside `tx` and takes the channel sequence number of its `member.added`.
async fn add_member(
    tx: &mut Tx<'_>,
    channel_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> Result<(MemberRow, i64)> {
    sqlx::query("INSERT INTO channel_members (channel_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(channel_id)
        .bind(user_id)
        .bind(role)
        .execute(&mut **tx)
        .await?;
    let member = membership(&mut **tx, channel_id, user_id)
        .await?
        .ok_or_else(|| Error::api(chat_protocol::ErrorCode::Internal, "member vanished"))?;
    let seq = events::next_channel_seq(tx, channel_id).await?;
    Ok((member, seq))
}

/// Channel, members, latest messages and the caller's membership, for a member.
pub async fn state_for(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<ChannelState> {
    let (channel, me) = for_member(db, caller, channel_type, key).await?;
    let members = members(db, channel.id, 100).await?;
    let msgs = message_list::page(
        db,
        caller.id,
        &channel,
        message_list::Page {
            limit: 25,
            ..Default::default()
        },
    )
    .await?;
    Ok(ChannelState {
        channel: channel.to_wire(),
        members: members.iter().map(MemberRow::to_wire).collect(),
        messages: msgs,
        membership: Some(me.to_wire()),
    })
}
