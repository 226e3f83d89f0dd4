//! Channel roles and the permission table every channel operation is checked against (the same
//! table is in docs/protocol.md, "Permissions"). Ranks: owner > admin > moderator > member.
//! Acting on another member (remove, ban, change role) also needs a rank strictly above theirs,
//! and a role can only be given below one's own; `owner` is given only at creation.

use chat_protocol::ErrorCode;

use super::channels::MemberRow;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Moderator,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// The member's role; unknown stored values count as `member`.
    pub fn of(m: &MemberRow) -> Role {
        Role::parse(m.role()).unwrap_or(Role::Member)
    }
}

/// Every operation on a channel that needs more than membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Full or partial update (name, description, avatar, metadata, settings, slow mode, cooldown).
    Update,
    Delete,
    Freeze,
    Truncate,
    AddMembers,
    Invite,
    RemoveMembers,
    ChangeRoles,
    Ban,
}

impl Action {
    /// The lowest role allowed to do this.
    pub fn min_role(self) -> Role {
        match self {
            Action::Delete => Role::Owner,
            Action::Update | Action::Freeze | Action::Truncate | Action::ChangeRoles => Role::Admin,
            Action::AddMembers | Action::Invite | Action::RemoveMembers | Action::Ban => Role::Moderator,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Action::Update => "update the channel",
            Action::Delete => "delete the channel",
            Action::Freeze => "freeze or unfreeze the channel",
            Action::Truncate => "truncate the channel",
            Action::AddMembers => "add members",
            Action::Invite => "invite users",
            Action::RemoveMembers => "remove members",
            Action::ChangeRoles => "change roles",
            Action::Ban => "ban members",
        }
    }
}

/// `forbidden` unless `member` may do `action`. A pending or banned member may do nothing here.
pub fn require(member: &MemberRow, action: Action) -> Result<()> {
    let role = Role::of(member);
    if member.invite_pending() || member.banned_now() || role < action.min_role() {
        return Err(Error::forbidden(format!(
            "only a{} {} or above may {}",
            if action.min_role() == Role::Admin || action.min_role() == Role::Owner { "n" } else { "" },
            action.min_role().as_str(),
            action.describe()
        )));
    }
    Ok(())
}

/// Every change to an existing message. All of them go through [`require_message_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageChange {
    Edit,
    SoftDelete,
    HardDelete,
    Pin,
    React,
}

impl MessageChange {
    /// The lowest role that may make this change to another member's message (`None`: anyone
    /// who may change messages at all, e.g. reacting).
    fn min_role_for_others(self) -> Option<Role> {
        match self {
            MessageChange::Edit | MessageChange::HardDelete => Some(Role::Admin),
            MessageChange::SoftDelete | MessageChange::Pin => Some(Role::Moderator),
            MessageChange::React => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            MessageChange::Edit => "edit",
            MessageChange::SoftDelete => "delete",
            MessageChange::HardDelete => "hard-delete",
            MessageChange::Pin => "pin or unpin",
            MessageChange::React => "react to",
        }
    }
}

/// The one rule set for changing a message (docs/protocol.md, "Who may change a message"):
/// nobody changes messages in a frozen channel (`channel_frozen`), while their ban is in force
/// (`banned_from_channel`) or before accepting an invitation (`forbidden`); another member's
/// message needs the role of [`MessageChange::min_role_for_others`].
pub fn require_message_change(frozen: bool, member: &MemberRow, is_author: bool, change: MessageChange) -> Result<()> {
    if member.invite_pending() {
        return Err(Error::forbidden("accept the invitation first"));
    }
    if member.banned_now() {
        return Err(Error::api(ErrorCode::BannedFromChannel, "you are banned from this channel"));
    }
    if frozen {
        return Err(Error::api(ErrorCode::ChannelFrozen, "the channel is frozen"));
    }
    match change.min_role_for_others() {
        Some(min) if !is_author && Role::of(member) < min => Err(Error::forbidden(format!(
            "only the author or a{} {} or above may {} this message",
            if min == Role::Admin { "n" } else { "" },
            min.as_str(),
            change.describe()
        ))),
        _ => Ok(()),
    }
}

/// `forbidden` unless `actor` outranks `target` (needed to remove, ban or re-role them).
pub fn require_outranks(actor: &MemberRow, target: &MemberRow) -> Result<()> {
    if Role::of(actor) <= Role::of(target) {
        return Err(Error::forbidden(format!(
            "a {} cannot act on a {}",
            Role::of(actor).as_str(),
            Role::of(target).as_str()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(Action::Delete.min_role(), Role::Owner);
        assert_eq!(Action::Ban.min_role(), Role::Moderator);
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Moderator && Role::Moderator > Role::Member);
        assert_eq!(Role::parse("root"), None);
    }
}
