//! Channels and their members: get-or-create by client-chosen `type:id` or by member set
//! (distinct channels; both race-free through the unique index on `(app_id, type, channel_key)`),
//! membership checks, and the channel state returned to clients. Deleted channels are invisible
//! here; rejected invitations do not count as membership.

use chat_protocol::frames::ServerFrame;
use chat_protocol::requests::{ChannelState, CreateChannel, CreateDistinctChannel};
use chat_protocol::model::{ChannelDetails, ChannelExtra, MemberDetails, MemberExtra};
use chat_protocol::{Channel, ChannelMember};
use chrono::NaiveDateTime;
use redis::aio::ConnectionManager;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::events::{self, Tx};
use super::users::{self, UserRow, USER_COLUMNS};
use super::{message_list, teams, validate};
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
    pub is_distinct: Option<bool>,
    pub slow_mode: Option<i32>,
    pub cooldown: Option<i32>,
    pub settings: Option<Json<serde_json::Map<String, serde_json::Value>>>,
    pub team_id: Option<Uuid>,
    /// The name of the channel's team.
    pub team_name: Option<String>,
    pub truncated_at: Option<NaiveDateTime>,
    pub truncated_seq: i64,
    pub deleted_at: Option<NaiveDateTime>,
}

/// Membership that counts (a rejected invitation does not); for SQL on `channel_members m`.
pub const ACTIVE_MEMBER: &str = "m.invite_rejected_at IS NULL";

/// A ban that applies now (an expired one does not); for SQL on `channel_members m`.
pub const BANNED_NOW: &str =
    "(m.is_banned IS TRUE AND (m.ban_expires_at IS NULL OR m.ban_expires_at > NOW()))";

pub const CHANNEL_SELECT: &str = "SELECT c.id, c.app_id, c.type, c.channel_key, c.name, c.description,
       c.avatar_url, c.metadata, c.is_frozen, cu.external_id AS created_by_external, c.created_at,
       c.updated_at, c.last_message_at, c.last_seq,
       (SELECT COUNT(*) FROM channel_members m WHERE m.channel_id = c.id
           AND m.invite_rejected_at IS NULL)::int AS member_count,
       c.is_distinct, c.slow_mode, c.cooldown, c.settings, c.team_id,
       (SELECT t.name FROM teams t WHERE t.id = c.team_id) AS team_name, c.truncated_at,
       c.truncated_seq, c.deleted_at
  FROM channels c LEFT JOIN users cu ON cu.id = c.created_by";

impl ChannelRow {
    pub fn key(&self) -> String {
        self.channel_key.clone().unwrap_or_else(|| self.id.to_string())
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
            metadata: self.metadata.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            is_frozen: self.frozen(),
            created_by: self.created_by_external.clone(),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
            last_message_at: fmt_opt(self.last_message_at),
            last_seq: self.last_seq.max(0) as u64,
            member_count: self.member_count.max(0) as u32,
        }
    }

    /// The channel with its settings and lifecycle fields (channels API).
    pub fn details(&self) -> ChannelDetails {
        ChannelDetails {
            channel: self.to_wire(),
            extra: ChannelExtra {
                is_distinct: self.is_distinct.unwrap_or(false),
                slow_mode: self.slow_mode.unwrap_or(0).max(0) as u32,
                cooldown: self.cooldown.unwrap_or(0).max(0) as u32,
                settings: self.settings.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
                team: self.team_name.clone(),
                truncated_at: fmt_opt(self.truncated_at),
                deleted_at: fmt_opt(self.deleted_at),
            },
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
    pub is_shadow_banned: Option<bool>,
    pub ban_expires_at: Option<NaiveDateTime>,
    pub is_muted: Option<bool>,
    pub is_hidden: Option<bool>,
    pub invited_at: Option<NaiveDateTime>,
    pub invite_accepted_at: Option<NaiveDateTime>,
    pub invite_rejected_at: Option<NaiveDateTime>,
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

    /// The member with its flags (members API).
    pub fn details(&self) -> MemberDetails {
        MemberDetails {
            member: self.to_wire(),
            extra: MemberExtra {
                is_muted: self.is_muted.unwrap_or(false),
                is_hidden: self.is_hidden.unwrap_or(false),
                banned: self.banned_now(),
                ban_expires_at: if self.banned_now() { fmt_opt(self.ban_expires_at) } else { None },
                invited: self.invite_pending(),
                invite_accepted_at: fmt_opt(self.invite_accepted_at),
                invite_rejected_at: fmt_opt(self.invite_rejected_at),
            },
        }
    }

    pub fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("member")
    }

    /// Banned, and the ban has not expired.
    pub fn banned_now(&self) -> bool {
        self.is_banned.unwrap_or(false)
            && self.ban_expires_at.is_none_or(|t| t > chrono::Utc::now().naive_utc())
    }

    /// Shadow-banned, and the ban has not expired.
    pub fn shadow_banned_now(&self) -> bool {
        self.is_shadow_banned.unwrap_or(false)
            && self.ban_expires_at.is_none_or(|t| t > chrono::Utc::now().naive_utc())
    }

    pub fn invite_pending(&self) -> bool {
        self.invited_at.is_some() && self.invite_accepted_at.is_none() && self.invite_rejected_at.is_none()
    }
}

pub async fn by_key(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    channel_type: &str,
    key: &str,
) -> Result<Option<ChannelRow>> {
    let sql = format!(
        "{CHANNEL_SELECT} WHERE c.app_id = $1 AND c.type = $2 AND c.channel_key = $3 AND c.deleted_at IS NULL"
    );
    Ok(sqlx::query_as::<_, ChannelRow>(&sql)
        .bind(app_id)
        .bind(channel_type)
        .bind(key)
        .fetch_optional(db)
        .await?)
}

pub async fn by_id(db: impl PgExecutor<'_>, app_id: Uuid, id: Uuid) -> Result<Option<ChannelRow>> {
    let sql = format!("{CHANNEL_SELECT} WHERE c.app_id = $1 AND c.id = $2 AND c.deleted_at IS NULL");
    Ok(sqlx::query_as::<_, ChannelRow>(&sql).bind(app_id).bind(id).fetch_optional(db).await?)
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
    // Both lookups go by the channel's key, so they run at the same time (one round trip of
    // latency on the hot path of every channel request).
    let member_sql = member_select(&format!(
        "JOIN channels c ON c.id = m.channel_id
          WHERE c.app_id = $1 AND c.type = $2 AND c.channel_key = $3 AND c.deleted_at IS NULL
            AND m.user_id = $4 AND {ACTIVE_MEMBER}"
    ));
    let member_query = async {
        let row = sqlx::query_as::<_, MemberRow>(&member_sql)
            .bind(user.app_id)
            .bind(channel_type)
            .bind(key)
            .bind(user.id)
            .fetch_optional(db)
            .await?;
        Ok::<_, Error>(row)
    };
    let (channel, member) = tokio::try_join!(by_key(db, user.app_id, channel_type, key), member_query)?;
    let channel =
        channel.ok_or_else(|| Error::not_found(format!("channel {channel_type}:{key} does not exist")))?;
    team_guard(db, user, &channel).await?;
    let member = member
        .filter(|m| m.invite_rejected_at.is_none())
        .ok_or_else(|| Error::forbidden("you are not a member of this channel"))?;
    Ok((channel, member))
}

/// The refusal of anything done to or with a channel of another team in a multi-tenant
/// application (`forbidden`, the code every team boundary uses).
pub fn other_team(message: impl Into<String>) -> Error {
    Error::forbidden(message)
}

/// Team isolation: in a multi-tenant application (`settings.multi_tenant`) a user reaches only
/// channels of their own team (a user in no team: channels in no team). Reads nothing when the
/// teams are the same, so same-team requests and applications that do not use teams pay nothing.
pub async fn team_guard(db: impl PgExecutor<'_>, user: &UserRow, channel: &ChannelRow) -> Result<()> {
    if channel.team_id == user.team_id || !users::app_setting(db, user.app_id, "multi_tenant").await? {
        return Ok(());
    }
    Err(other_team("this channel belongs to another team"))
}

/// Refuses (`forbidden`, naming one of them) when the application is multi-tenant and any of
/// `user_ids` is not in the team `team_id` (no team: users in no team), so a channel's members
/// are all of its team. One statement, which also reads the setting.
pub async fn refuse_other_teams(
    db: impl PgExecutor<'_>,
    team_id: Option<Uuid>,
    user_ids: &[Uuid],
) -> Result<()> {
    let sql = format!(
        "SELECT u.external_id FROM users u
          WHERE u.id = ANY($1) AND u.team_id IS DISTINCT FROM $2 AND {}
          LIMIT 1",
        users::multi_tenant_sql("u.app_id")
    );
    let other: Option<(String,)> = sqlx::query_as(&sql).bind(user_ids).bind(team_id).fetch_optional(db).await?;
    match other {
        Some((id,)) => Err(other_team(format!("user {id:?} is in another team than this channel"))),
        None => Ok(()),
    }
}

/// The team a new channel gets: the one `team` names (an existing team of the application),
/// else, in a multi-tenant application, the caller's. In a multi-tenant application a user may
/// only name their own team (there is no server-side channel creation to exempt).
async fn creation_team(db: &PgPool, caller: &UserRow, team: Option<&str>) -> Result<Option<Uuid>> {
    validate::max_chars("team", team, 255)?;
    let multi_tenant = users::app_setting(db, caller.app_id, "multi_tenant").await?;
    let Some(name) = team else {
        return Ok(if multi_tenant { caller.team_id } else { None });
    };
    let named = match teams::by_name(db, caller.app_id, name).await? {
        Some(t) => Some(Uuid::parse_str(&t.id).map_err(|_| Error::invalid("bad team id"))?),
        None => None,
    };
    match named {
        Some(t) if !multi_tenant || Some(t) == caller.team_id => Ok(Some(t)),
        _ if multi_tenant => Err(other_team("you can only create channels of your own team")),
        _ => Err(Error::invalid(format!("team: the application has no team named {name:?}"))),
    }
}

/// The user's membership of the channel; a rejected invitation is none.
pub async fn membership(db: impl PgExecutor<'_>, channel_id: Uuid, user_id: Uuid) -> Result<Option<MemberRow>> {
    let sql = member_select(&format!("WHERE m.channel_id = $1 AND m.user_id = $2 AND {ACTIVE_MEMBER}"));
    Ok(sqlx::query_as::<_, MemberRow>(&sql).bind(channel_id).bind(user_id).fetch_optional(db).await?)
}

/// The user's member row, also when it records a rejected invitation.
pub async fn membership_any(db: impl PgExecutor<'_>, channel_id: Uuid, user_id: Uuid) -> Result<Option<MemberRow>> {
    let sql = member_select("WHERE m.channel_id = $1 AND m.user_id = $2");
    Ok(sqlx::query_as::<_, MemberRow>(&sql).bind(channel_id).bind(user_id).fetch_optional(db).await?)
}

fn member_select(filter: &str) -> String {
    let user_cols: Vec<String> = USER_COLUMNS.split(", ").map(|c| format!("u.{}", c.trim())).collect();
    format!(
        "SELECT {}, m.role, m.joined_at, m.unread_count, m.last_read_at, m.is_banned,
                m.is_shadow_banned, m.ban_expires_at, m.is_muted, m.is_hidden, m.invited_at,
                m.invite_accepted_at, m.invite_rejected_at
           FROM channel_members m JOIN users u ON u.id = m.user_id {filter}",
        user_cols.join(", ")
    )
}

pub async fn members(db: &PgPool, channel_id: Uuid, limit: i64) -> Result<Vec<MemberRow>> {
    let sql = member_select(&format!(
        "WHERE m.channel_id = $1 AND {ACTIVE_MEMBER} ORDER BY m.joined_at, u.external_id LIMIT $2"
    ));
    Ok(sqlx::query_as::<_, MemberRow>(&sql).bind(channel_id).bind(limit).fetch_all(db).await?)
}

/// Internal ids of every member that receives the channel's events (members whose ban applies
/// now and rejected invitees do not).
pub async fn recipient_ids(db: impl PgExecutor<'_>, channel_id: Uuid) -> Result<Vec<Uuid>> {
    // Team isolation: in a multi-tenant application only the members of the channel's team
    // (a member moved to another team keeps the row but gets none of the channel's events).
    let sql = format!(
        "SELECT m.user_id FROM channel_members m
           JOIN channels c ON c.id = m.channel_id
           JOIN users u ON u.id = m.user_id
          WHERE m.channel_id = $1 AND NOT {BANNED_NOW} AND {ACTIVE_MEMBER}
            AND (u.team_id IS NOT DISTINCT FROM c.team_id OR NOT {})",
        users::multi_tenant_sql("c.app_id")
    );
    let rows: Vec<(Uuid,)> = sqlx::query_as(&sql)
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
        return Err(Error::invalid("members may name at most 100 users at creation"));
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
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &CreateChannel,
) -> Result<(ChannelState, Vec<Outgoing>)> {
    validate::channel_type(channel_type)?;
    validate::external_id("channel id", key)?;
    validate_create(input)?;
    if is_distinct_key(key) {
        // Ids in the distinct namespace are never created by name: only the member-set
        // lookup creates them. By name, an existing one is only read (members only).
        return Ok((state_for(db, redis, caller, channel_type, key).await?, Vec::new()));
    }
    create_or_get(db, redis, caller, channel_type, key, input, false).await
}

/// Whether `key` is in the namespace of distinct channels (`!…`), which clients cannot name
/// into existence.
pub fn is_distinct_key(key: &str) -> bool {
    key.starts_with('!')
}

/// Gets or creates the distinct channel of `members` plus the caller. Its key is derived from
/// the sorted member set (`!members-<sha256>`), so every request for one set names one row and
/// the unique index makes concurrent creation race-free.
pub async fn get_or_create_distinct(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    input: &CreateDistinctChannel,
) -> Result<(ChannelState, Vec<Outgoing>)> {
    validate::channel_type(channel_type)?;
    let mut set: Vec<String> = input.members.clone();
    set.push(caller.external_id.clone());
    set.sort();
    set.dedup();
    if set.len() < 2 {
        return Err(Error::invalid("members must name at least one user besides you"));
    }
    let create = CreateChannel {
        name: input.name.clone(),
        members: set.clone(),
        metadata: input.metadata.clone(),
        ..Default::default()
    };
    validate_create(&create)?;
    let key = distinct_key(&set);
    create_or_get(db, redis, caller, channel_type, &key, &create, true).await
}

/// The key of the distinct channel of a (sorted, deduplicated) member set.
pub fn distinct_key(sorted_members: &[String]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for m in sorted_members {
        h.update(m.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("!members-{hex}")
}

async fn create_or_get(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    input: &CreateChannel,
    distinct: bool,
) -> Result<(ChannelState, Vec<Outgoing>)> {
    let team_id = creation_team(db, caller, input.team.as_deref()).await?;
    let mut tx = db.begin().await?;
    let inserted: Option<(Uuid,)> = sqlx::query_as(
        "INSERT INTO channels (app_id, type, channel_key, name, description, avatar_url, metadata,
                               created_by, is_distinct, team_id)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, '{}'::jsonb), $8, $9, $10)
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
    .bind(distinct)
    .bind(team_id)
    .fetch_optional(&mut *tx)
    .await?;
    let mut ids: Vec<String> = vec![caller.external_id.clone()];
    for m in &input.members {
        if !ids.contains(m) {
            ids.push(m.clone());
        }
    }
    let (channel_id, joining) = match inserted {
        Some((channel_id,)) => (channel_id, ids),
        // An existing distinct channel: every member of its set is a member again (one who
        // left or was removed comes back), and nobody else is (see `distinct_members`).
        None if distinct => match by_key(&mut *tx, caller.app_id, channel_type, key).await? {
            Some(channel) => {
                let missing = distinct_members(&mut tx, &channel, &ids).await?;
                (channel.id, missing)
            }
            None => (Uuid::nil(), Vec::new()),
        },
        None => (Uuid::nil(), Vec::new()),
    };
    let mut outgoing = Vec::new();
    if !joining.is_empty() {
        let resolved = users::resolve_ids(&mut *tx, caller.app_id, &joining).await?;
        // Nothing is created (the transaction is dropped) when a member is of another team.
        let member_ids: Vec<Uuid> = resolved.iter().map(|(_, u)| *u).collect();
        refuse_other_teams(&mut *tx, team_id, &member_ids).await?;
        let mut added = Vec::with_capacity(joining.len());
        for ext in &joining {
            let Some(uid) = resolved.iter().find(|(e, _)| e == ext).map(|(_, u)| *u) else {
                continue;
            };
            let role = if uid == caller.id && inserted.is_some() { "owner" } else { "member" };
            added.push(add_member(&mut tx, channel_id, uid, role).await?);
        }
        outgoing = announce_added(&mut tx, caller.app_id, channel_type, key, channel_id, &added).await?;
    }
    tx.commit().await?;
    if !outgoing.is_empty() {
        // New members who are connected right now are online in the channel.
        let ids: Vec<Uuid> = outgoing.iter().flat_map(|o| o.recipients.iter().copied()).collect();
        super::watchers::mark_online_if_connected(redis, channel_id, &ids).await;
    }
    Ok((state_for(db, redis, caller, channel_type, key).await?, outgoing))
}

/// The members of the set `ids` that must join the existing distinct channel `channel` so that
/// its members are exactly that set again. Refuses a channel that is not distinct, or whose
/// members are not all of the set: a distinct lookup never returns any other channel.
async fn distinct_members(tx: &mut Tx<'_>, channel: &ChannelRow, ids: &[String]) -> Result<Vec<String>> {
    events::lock_channel(tx, channel.id).await?;
    let squatted = || Error::api(chat_protocol::ErrorCode::IdConflict, "the distinct channel's id is held by another channel");
    if channel.is_distinct != Some(true) {
        return Err(squatted());
    }
    // A rejected invitation (from before distinct channels refused invitations) is no
    // membership: its row goes, so that the user joins again.
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT u.external_id, m.invite_rejected_at IS NOT NULL
           FROM channel_members m JOIN users u ON u.id = m.user_id WHERE m.channel_id = $1",
    )
    .bind(channel.id)
    .fetch_all(&mut **tx)
    .await?;
    if rows.iter().any(|(ext, rejected)| !rejected && !ids.contains(ext)) {
        return Err(squatted());
    }
    sqlx::query("DELETE FROM channel_members WHERE channel_id = $1 AND invite_rejected_at IS NOT NULL")
        .bind(channel.id)
        .execute(&mut **tx)
        .await?;
    Ok(ids.iter().filter(|id| !rows.iter().any(|(ext, rejected)| !rejected && ext == *id)).cloned().collect())
}

/// Logs and returns the events of members added to a channel inside `tx`: `member.added` to
/// every new member, and `notification.added_to_channel` to each of them.
async fn announce_added(
    tx: &mut Tx<'_>,
    app_id: Uuid,
    channel_type: &str,
    key: &str,
    channel_id: Uuid,
    added: &[(MemberRow, i64)],
) -> Result<Vec<Outgoing>> {
    let channel = by_key(&mut **tx, app_id, channel_type, key)
        .await?
        .ok_or_else(|| Error::api(chat_protocol::ErrorCode::Internal, "channel vanished"))?;
    let cid = channel.cid();
    // Every member receives `member.added` (in a new channel, that is the new members).
    let members = recipient_ids(&mut **tx, channel_id).await?;
    let mut outgoing = Vec::new();
    for (member, seq) in added {
        let frame = ServerFrame::MemberAdded { cid: cid.clone(), channel_seq: *seq as u64, member: member.details() };
        events::log_channel_event(tx, channel_id, *seq, "member.added", &serde_json::to_value(&frame)?).await?;
        outgoing.push(Outgoing { recipients: members.clone(), frame, stream: Some(channel_id) });
    }
    let wire = channel.to_wire();
    for uid in added.iter().map(|(m, _)| m.user.id) {
        let user_seq = events::next_user_seq(tx, uid).await?;
        let frame = ServerFrame::AddedToChannel { user_seq: user_seq as u64, channel: wire.clone() };
        events::log_user_event(tx, uid, user_seq, "notification.added_to_channel", &serde_json::to_value(&frame)?)
            .await?;
        outgoing.push(Outgoing { recipients: vec![uid], frame, stream: None });
    }
    Ok(outgoing)
}

/// Adds a member inside `tx` and takes the channel sequence number of its `member.added`.
pub async fn add_member(tx: &mut Tx<'_>, channel_id: Uuid, user_id: Uuid, role: &str) -> Result<(MemberRow, i64)> {
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
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<ChannelState> {
    let (channel, me) = for_member(db, caller, channel_type, key).await?;
    state_of(db, redis, caller, &channel, &me).await
}

/// The state of a channel the caller is known to be a member of.
pub async fn state_of(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel: &ChannelRow,
    me: &MemberRow,
) -> Result<ChannelState> {
    let members = members(db, channel.id, 100).await?;
    let page = message_list::Page { limit: 25, ..Default::default() };
    let msgs = message_list::page(db, caller.id, channel, page).await?;
    let (watcher_count, online_count) = super::watchers::counts(redis, channel.id).await?;
    Ok(ChannelState {
        channel: channel.details(),
        members: members.iter().map(MemberRow::details).collect(),
        messages: msgs,
        membership: Some(me.details()),
        watcher_count,
        online_count,
    })
}

/// A channel by internal id, deleted or not.
pub async fn by_id_any(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ChannelRow>> {
    let sql = format!("{CHANNEL_SELECT} WHERE c.id = $1");
    Ok(sqlx::query_as::<_, ChannelRow>(&sql).bind(id).fetch_optional(db).await?)
}

/// Like [`by_key`], but also finds a deleted channel (sync still replays its events).
pub async fn by_key_with_deleted(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    channel_type: &str,
    key: &str,
) -> Result<Option<ChannelRow>> {
    let sql = format!("{CHANNEL_SELECT} WHERE c.app_id = $1 AND c.type = $2 AND c.channel_key = $3");
    Ok(sqlx::query_as::<_, ChannelRow>(&sql).bind(app_id).bind(channel_type).bind(key).fetch_optional(db).await?)
}

/// Like [`for_member`], but also finds a deleted channel (for retries of a delete).
pub async fn for_member_any(
    db: &PgPool,
    user: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<(ChannelRow, MemberRow)> {
    validate::channel_type(channel_type)?;
    validate::external_id("channel id", key)?;
    let sql = format!("{CHANNEL_SELECT} WHERE c.app_id = $1 AND c.type = $2 AND c.channel_key = $3");
    let channel = sqlx::query_as::<_, ChannelRow>(&sql)
        .bind(user.app_id)
        .bind(channel_type)
        .bind(key)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found(format!("channel {channel_type}:{key} does not exist")))?;
    team_guard(db, user, &channel).await?;
    let member = membership(db, channel.id, user.id)
        .await?
        .filter(|m| m.invite_rejected_at.is_none())
        .ok_or_else(|| Error::forbidden("you are not a member of this channel"))?;
    Ok((channel, member))
}
