//! Channel membership changes: add, remove, leave, roles, invitations (invite, accept, reject),
//! bans (with expiry, and shadow bans) and each member's own flags (hidden, muted). Every change
//! checks the permission table (permissions.rs), runs in one transaction, and emits its channel
//! event (`member.added/removed/updated`) with the channel's next sequence, plus user events
//! (`notification.*`) for the user concerned. A change that changes nothing emits nothing, so a
//! retry returns the same result without a duplicate event.

use chat_protocol::model::MemberDetails as ChannelMember;
use chat_protocol::ServerFrame;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use uuid::Uuid;

use super::channels::{self, ChannelRow, MemberRow};
use super::events::{self, Tx};
use super::permissions::{self, Action, Role};
use super::users::{self, UserRow};
use super::{validate, watchers};
use crate::error::{Error, Result};
use crate::fanout::Outgoing;

/// Longest ban, in seconds (ten years); longer means permanent (leave `expires_in` out).
pub const MAX_BAN_SECS: u64 = 10 * 365 * 86_400;

fn check_ids(ids: &[String]) -> Result<()> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(Error::invalid("user_ids must name 1 to 100 users"));
    }
    for id in ids {
        validate::external_id("user id", id)?;
    }
    Ok(())
}

async fn member_of(tx: &mut Tx<'_>, channel_id: Uuid, user_id: Uuid) -> Result<MemberRow> {
    channels::membership_any(&mut **tx, channel_id, user_id)
        .await?
        .ok_or_else(|| Error::api(chat_protocol::ErrorCode::Internal, "member vanished"))
}

/// A target member of the channel (not a rejected invitee), or `not_found`.
async fn target(db: &PgPool, channel: &ChannelRow, caller: &UserRow, user_id: &str) -> Result<MemberRow> {
    validate::external_id("user_id", user_id)?;
    let user = users::by_external_id(db, caller.app_id, user_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("user {user_id:?} does not exist")))?;
    channels::membership(db, channel.id, user.id)
        .await?
        .filter(|m| m.invite_rejected_at.is_none())
        .ok_or_else(|| Error::not_found(format!("{user_id:?} is not a member of this channel")))
}

/// Adds members (moderator or above). Users who already are members are left as they are.
pub async fn add(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    ids: &[String],
) -> Result<(Vec<ChannelMember>, Vec<Outgoing>)> {
    check_ids(ids)?;
    join(db, redis, caller, channel_type, key, ids, false).await
}

/// Invites users (moderator or above): they become members with a pending invitation, see the
/// channel, and accept or reject it.
pub async fn invite(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    ids: &[String],
) -> Result<(Vec<ChannelMember>, Vec<Outgoing>)> {
    check_ids(ids)?;
    join(db, redis, caller, channel_type, key, ids, true).await
}

async fn join(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    ids: &[String],
    invited: bool,
) -> Result<(Vec<ChannelMember>, Vec<Outgoing>)> {
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, if invited { Action::Invite } else { Action::AddMembers })?;
    if channel.is_distinct == Some(true) {
        // A distinct channel is the channel of exactly its member set (channels.rs).
        return Err(Error::forbidden(
            "the members of a distinct channel are fixed; open the distinct channel of the new member set instead",
        ));
    }
    let resolved = users::resolve_ids(db, caller.app_id, ids).await?;
    // Multi-tenant applications: every member is of the channel's team.
    let user_ids: Vec<Uuid> = resolved.iter().map(|(_, u)| *u).collect();
    channels::refuse_other_teams(db, channel.team_id, &user_ids).await?;
    let mut tx = db.begin().await?;
    let mut out = Vec::new();
    let mut added = Vec::new();
    let mut result = Vec::new();
    for ext in ids {
        let Some(uid) = resolved.iter().find(|(e, _)| e == ext).map(|(_, u)| *u) else { continue };
        // New rows, and rows of a rejected invitation (joining again), become members.
        let row: Option<(Uuid,)> = sqlx::query_as(
            "INSERT INTO channel_members (channel_id, user_id, role, invited_at)
             VALUES ($1, $2, 'member', CASE WHEN $3 THEN NOW() END)
             ON CONFLICT (channel_id, user_id) DO UPDATE SET
               role = 'member', joined_at = NOW(), invite_rejected_at = NULL, invite_accepted_at = NULL,
               invited_at = EXCLUDED.invited_at, is_hidden = false
             WHERE channel_members.invite_rejected_at IS NOT NULL
             RETURNING user_id",
        )
        .bind(channel.id)
        .bind(uid)
        .bind(invited)
        .fetch_optional(&mut *tx)
        .await?;
        let member = member_of(&mut tx, channel.id, uid).await?;
        if row.is_some() {
            let wire = member.details();
            let cid = channel.cid();
            out.push(
                events::emit_channel(&mut tx, channel.id, |seq| ServerFrame::MemberAdded {
                    cid,
                    channel_seq: seq,
                    member: wire,
                })
                .await?,
            );
            added.push(uid);
        }
        result.push(member.details());
    }
    if !added.is_empty() {
        let wire = channels::by_id_any(&mut *tx, channel.id)
            .await?
            .ok_or_else(|| Error::not_found("the channel was deleted"))?
            .details();
        for uid in &added {
            let channel = wire.clone();
            out.push(if invited {
                events::emit_user(&mut tx, *uid, |seq| ServerFrame::Invited { user_seq: seq, channel }).await?
            } else {
                let channel = channel.channel;
                events::emit_user(&mut tx, *uid, |seq| ServerFrame::AddedToChannel { user_seq: seq, channel }).await?
            });
        }
    }
    tx.commit().await?;
    watchers::mark_online_if_connected(redis, channel.id, &added).await;
    Ok((result, out))
}

/// Removes members (moderator or above, each of a lower role). Non-members are skipped.
pub async fn remove(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    ids: &[String],
) -> Result<Vec<Outgoing>> {
    check_ids(ids)?;
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, Action::RemoveMembers)?;
    let mut targets = Vec::new();
    for id in ids {
        match target(db, &channel, caller, id).await {
            Ok(t) => {
                permissions::require_outranks(&me, &t)?;
                targets.push(t);
            }
            Err(Error::Api(e)) if e.code == chat_protocol::ErrorCode::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    drop_members(db, redis, &channel, &targets).await
}

/// The caller leaves the channel. The owner cannot leave (delete the channel instead).
pub async fn leave(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
) -> Result<Vec<Outgoing>> {
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    if Role::of(&me) == Role::Owner {
        return Err(Error::forbidden("the owner cannot leave the channel; delete it instead"));
    }
    drop_members(db, redis, &channel, &[me]).await
}

async fn drop_members(
    db: &PgPool,
    redis: &mut ConnectionManager,
    channel: &ChannelRow,
    targets: &[MemberRow],
) -> Result<Vec<Outgoing>> {
    let mut tx = db.begin().await?;
    let mut out = Vec::new();
    let mut gone = Vec::new();
    for t in targets {
        let deleted = sqlx::query("DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2")
            .bind(channel.id)
            .bind(t.user.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            continue;
        }
        let cid = channel.cid();
        let user_id = t.user.external_id.clone();
        let mut ev = events::emit_channel(&mut tx, channel.id, |seq| ServerFrame::MemberRemoved {
            cid,
            channel_seq: seq,
            user_id,
        })
        .await?;
        ev.recipients.push(t.user.id);
        out.push(ev);
        let cid = channel.cid();
        out.push(
            events::emit_user(&mut tx, t.user.id, |seq| ServerFrame::RemovedFromChannel { user_seq: seq, cid }).await?,
        );
        gone.push(t.user.id);
    }
    tx.commit().await?;
    for uid in gone {
        watchers::forget_member(redis, channel.id, uid).await;
    }
    Ok(out)
}

/// Updates one member row with a fixed statement (`$1` channel, `$2` user) inside a
/// transaction and emits `member.updated` when the row changed. With `notify_target` the member
/// receives the event even when they are not a recipient (e.g. unbanned, or rejecting).
async fn update_member(
    db: &PgPool,
    channel: &ChannelRow,
    user_id: Uuid,
    sql: &str,
    notify_target: bool,
) -> Result<(ChannelMember, Vec<Outgoing>)> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(sql).bind(channel.id).bind(user_id).execute(&mut *tx).await?.rows_affected();
    let member = member_of(&mut tx, channel.id, user_id).await?;
    let wire = member.details();
    if changed == 0 {
        tx.rollback().await?;
        return Ok((wire, Vec::new()));
    }
    let cid = channel.cid();
    let sent = wire.clone();
    let mut ev = events::emit_channel(&mut tx, channel.id, |seq| ServerFrame::MemberUpdated {
        cid,
        channel_seq: seq,
        member: sent,
    })
    .await?;
    if notify_target && !ev.recipients.contains(&user_id) {
        ev.recipients.push(user_id);
    }
    tx.commit().await?;
    Ok((wire, vec![ev]))
}

/// Gives a member another role (admin or above; the new role and the member's current one must
/// both be below the caller's; `owner` cannot be given).
pub async fn change_role(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    user_id: &str,
    role: &str,
) -> Result<(ChannelMember, Vec<Outgoing>)> {
    let new_role = Role::parse(role)
        .filter(|r| *r != Role::Owner)
        .ok_or_else(|| Error::invalid("role must be admin, moderator or member"))?;
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, Action::ChangeRoles)?;
    let t = target(db, &channel, caller, user_id).await?;
    permissions::require_outranks(&me, &t)?;
    if new_role >= Role::of(&me) {
        return Err(Error::forbidden(format!(
            "a {} cannot give the role {}",
            Role::of(&me).as_str(),
            new_role.as_str()
        )));
    }
    let sql = match new_role {
        Role::Admin => "UPDATE channel_members SET role = 'admin' WHERE channel_id = $1 AND user_id = $2 AND role IS DISTINCT FROM 'admin'",
        Role::Moderator => "UPDATE channel_members SET role = 'moderator' WHERE channel_id = $1 AND user_id = $2 AND role IS DISTINCT FROM 'moderator'",
        _ => "UPDATE channel_members SET role = 'member' WHERE channel_id = $1 AND user_id = $2 AND role IS DISTINCT FROM 'member'",
    };
    update_member(db, &channel, t.user.id, sql, false).await
}

/// Bans a member (moderator or above, of a lower role), for `expires_in` seconds or for good. A
/// shadow ban lets them keep posting, but only they see those messages.
pub async fn ban(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    user_id: &str,
    expires_in: Option<u64>,
    shadow: bool,
) -> Result<(ChannelMember, Vec<Outgoing>)> {
    if let Some(s) = expires_in {
        if s == 0 || s > MAX_BAN_SECS {
            return Err(Error::invalid(format!("expires_in must be 1-{MAX_BAN_SECS} seconds")));
        }
    }
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, Action::Ban)?;
    let t = target(db, &channel, caller, user_id).await?;
    permissions::require_outranks(&me, &t)?;
    let sql = if shadow {
        "UPDATE channel_members SET is_shadow_banned = true, is_banned = false, banned_at = NOW(),
                ban_expires_at = NOW() + make_interval(secs => $3::bigint)
          WHERE channel_id = $1 AND user_id = $2"
    } else {
        "UPDATE channel_members SET is_banned = true, is_shadow_banned = false, banned_at = NOW(),
                ban_expires_at = NOW() + make_interval(secs => $3::bigint)
          WHERE channel_id = $1 AND user_id = $2"
    };
    // NULL seconds make a NULL expiry: a permanent ban.
    let secs = expires_in.map(|s| s as i64);
    let mut tx = db.begin().await?;
    sqlx::query(sql).bind(channel.id).bind(t.user.id).bind(secs).execute(&mut *tx).await?;
    let member = member_of(&mut tx, channel.id, t.user.id).await?;
    let wire = member.details();
    let cid = channel.cid();
    let sent = wire.clone();
    let mut ev = events::emit_channel(&mut tx, channel.id, |seq| ServerFrame::MemberUpdated {
        cid,
        channel_seq: seq,
        member: sent,
    })
    .await?;
    if !shadow && !ev.recipients.contains(&t.user.id) {
        ev.recipients.push(t.user.id);
    }
    tx.commit().await?;
    Ok((wire, vec![ev]))
}

/// Lifts a ban or shadow ban (moderator or above, of a lower role).
pub async fn unban(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    user_id: &str,
) -> Result<(ChannelMember, Vec<Outgoing>)> {
    let (channel, me) = channels::for_member(db, caller, channel_type, key).await?;
    permissions::require(&me, Action::Ban)?;
    let t = target(db, &channel, caller, user_id).await?;
    permissions::require_outranks(&me, &t)?;
    update_member(
        db,
        &channel,
        t.user.id,
        "UPDATE channel_members SET is_banned = false, is_shadow_banned = false, banned_at = NULL,
                ban_expires_at = NULL
          WHERE channel_id = $1 AND user_id = $2 AND (is_banned IS TRUE OR is_shadow_banned IS TRUE)",
        true,
    )
    .await
}

/// Accepts (`true`) or rejects the caller's pending invitation. Answering the same way again
/// succeeds without a new event.
pub async fn answer_invite(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    accept: bool,
) -> Result<(ChannelMember, Vec<Outgoing>)> {
    validate::channel_type(channel_type)?;
    validate::external_id("channel id", key)?;
    let channel = channels::by_key(db, caller.app_id, channel_type, key)
        .await?
        .ok_or_else(|| Error::not_found(format!("channel {channel_type}:{key} does not exist")))?;
    channels::team_guard(db, caller, &channel).await?;
    let me = channels::membership_any(db, channel.id, caller.id)
        .await?
        .filter(|m| m.invited_at.is_some())
        .ok_or_else(|| Error::forbidden("you have no invitation to this channel"))?;
    let already = if accept { me.invite_accepted_at.is_some() } else { me.invite_rejected_at.is_some() };
    if already {
        return Ok((me.details(), Vec::new()));
    }
    if !me.invite_pending() {
        return Err(Error::forbidden("the invitation was already answered"));
    }
    let sql = if accept {
        "UPDATE channel_members SET invite_accepted_at = NOW(), joined_at = NOW()
          WHERE channel_id = $1 AND user_id = $2 AND invite_accepted_at IS NULL AND invite_rejected_at IS NULL"
    } else {
        "UPDATE channel_members SET invite_rejected_at = NOW()
          WHERE channel_id = $1 AND user_id = $2 AND invite_accepted_at IS NULL AND invite_rejected_at IS NULL"
    };
    let r = update_member(db, &channel, caller.id, sql, true).await?;
    if !accept {
        watchers::forget_member(redis, channel.id, caller.id).await;
    }
    Ok(r)
}

/// The caller's own flags: `hidden` (the channel leaves their list until a new message) and
/// `muted` (events still arrive; clients and push skip notifications). The caller's devices get
/// `notification.membership_updated` (user sequence): other members are not told.
pub async fn set_flag(
    db: &PgPool,
    caller: &UserRow,
    channel_type: &str,
    key: &str,
    flag: Flag,
    on: bool,
) -> Result<(ChannelMember, Vec<Outgoing>)> {
    let (channel, _) = channels::for_member(db, caller, channel_type, key).await?;
    let sql = match flag {
        Flag::Hidden => "UPDATE channel_members SET is_hidden = $3 WHERE channel_id = $1 AND user_id = $2 AND is_hidden IS DISTINCT FROM $3",
        Flag::Muted => "UPDATE channel_members SET is_muted = $3 WHERE channel_id = $1 AND user_id = $2 AND is_muted IS DISTINCT FROM $3",
    };
    let mut tx = db.begin().await?;
    let changed = sqlx::query(sql).bind(channel.id).bind(caller.id).bind(on).execute(&mut *tx).await?.rows_affected();
    let member = member_of(&mut tx, channel.id, caller.id).await?.details();
    if changed == 0 {
        tx.rollback().await?;
        return Ok((member, Vec::new()));
    }
    let cid = channel.cid();
    let sent = member.clone();
    let ev = events::emit_user(&mut tx, caller.id, |seq| ServerFrame::MembershipUpdated {
        user_seq: seq,
        cid,
        member: sent,
    })
    .await?;
    tx.commit().await?;
    Ok((member, vec![ev]))
}

#[derive(Debug, Clone, Copy)]
pub enum Flag {
    Hidden,
    Muted,
}
