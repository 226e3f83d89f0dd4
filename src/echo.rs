//! Local echoes: what a message looks like right after the user changed it, before the server
//! confirms — a new message (`status: 'sending'`, no `channel_seq`), an edit, a soft delete,
//! a reaction added or removed — and what a channel, the caller's membership or the member list
//! looks like after a channel operation ([`ChannelChange`]). The echo is shown at once and
//! stored with the outbox entry; the server's copy replaces it when the change's event arrives.

use crate::state::Wire;

/// A message being sent: the `SendMessage` body plus what the server would fill in.
pub fn sent<W: Wire>(body: &W, cid: &str, user_id: &str, now_iso: &str) -> W {
    let mut echo = body.clone();
    for (key, value) in [
        ("cid", W::string(cid)),
        ("user_id", W::string(user_id)),
        ("status", W::string("sending")),
        ("created_at", W::string(now_iso)),
        ("updated_at", W::string(now_iso)),
    ] {
        echo = echo.with(key, Some(value));
    }
    if echo.field("type").is_none() {
        echo = echo.with("type", Some(W::string("text")));
    }
    echo.with("channel_seq", Some(W::number(0)))
}

/// `current` with the fields of an `UpdateMessage` body applied.
pub fn edited<W: Wire>(current: &W, changes: &W, now_iso: &str) -> W {
    current
        .merged(changes)
        .with("mutation_id", None)
        .with("is_edited", Some(W::boolean(true)))
        .with("edited_at", Some(W::string(now_iso)))
}

/// `current` soft-deleted: it keeps its place, without content.
pub fn deleted<W: Wire>(current: &W, now_iso: &str) -> W {
    current
        .with("is_deleted", Some(W::boolean(true)))
        .with("type", Some(W::string("deleted")))
        .with("text", Some(W::string("")))
        .with("attachments", Some(W::array(Vec::new())))
        .with("deleted_at", Some(W::string(now_iso)))
}

/// `current` with the caller's reaction `kind` added or removed (own reactions and counts).
pub fn reacted<W: Wire>(current: &W, me: &str, kind: &str, add: bool, now_iso: &str) -> W {
    let mut own: Vec<W> = current
        .list_of("own_reactions")
        .into_iter()
        .filter(|r| r.str_of("type").as_deref() != Some(kind))
        .collect();
    let had = own.len() < current.list_of("own_reactions").len();
    if add {
        own.push(W::object(vec![
            (
                "message_id",
                W::string(&current.str_of("id").unwrap_or_default()),
            ),
            ("user_id", W::string(me)),
            ("type", W::string(kind)),
            ("created_at", W::string(now_iso)),
        ]));
    }
    let counts = current
        .field("reaction_counts")
        .unwrap_or_else(|| W::object(Vec::new()));
    let n = counts.u64_of(kind).unwrap_or(0);
    let n = match (add, had) {
        (true, false) => n + 1,
        (false, true) => n.saturating_sub(1),
        _ => n,
    };
    let counts = counts.with(kind, (n > 0).then(|| W::number(n)));
    current
        .with("own_reactions", Some(W::array(own)))
        .with("reaction_counts", Some(counts))
}

/// A channel operation with a local echo, read from its REST call (`rest`: the path after the
/// channel's own, e.g. `/freeze`).
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelChange<W> {
    /// `PATCH` (`{set, unset}`) or `PUT` (the fields) of the channel.
    Update { set: Option<W>, unset: Vec<String> },
    /// `/freeze` or `/unfreeze`.
    Freeze(bool),
    /// A flag of the caller's membership: `/mute` `/unmute` (`is_muted`), `/hide` `/show`
    /// (`is_hidden`).
    Member(&'static str, bool),
    /// `/members` (add) or `/members/remove` (`{user_ids}`).
    Members { add: bool, user_ids: Vec<String> },
    /// `/members/role` (`{user_id, role}`).
    Role { user_id: String, role: String },
}

impl<W: Wire> ChannelChange<W> {
    pub fn of(method: &str, rest: &str, body: Option<&W>) -> Option<Self> {
        let method = method.to_ascii_uppercase();
        Some(match (method.as_str(), rest) {
            ("PATCH", "") => ChannelChange::Update {
                set: body.and_then(|b| b.field("set")),
                unset: body
                    .map(|b| b.list_of("unset").iter().filter_map(W::as_string).collect())
                    .unwrap_or_default(),
            },
            ("PUT", "") => ChannelChange::Update {
                set: body.cloned(),
                unset: Vec::new(),
            },
            ("POST", "/freeze") => ChannelChange::Freeze(true),
            ("POST", "/unfreeze") => ChannelChange::Freeze(false),
            ("POST", "/mute") => ChannelChange::Member("is_muted", true),
            ("POST", "/unmute") => ChannelChange::Member("is_muted", false),
            ("POST", "/hide") => ChannelChange::Member("is_hidden", true),
            ("POST", "/show") => ChannelChange::Member("is_hidden", false),
            ("POST", "/members" | "/members/remove") => ChannelChange::Members {
                add: rest == "/members",
                user_ids: body
                    .map(|b| {
                        b.list_of("user_ids")
                            .iter()
                            .filter_map(W::as_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            ("POST", "/members/role") => ChannelChange::Role {
                user_id: body.and_then(|b| b.str_of("user_id"))?,
                role: body.and_then(|b| b.str_of("role"))?,
            },
            _ => return None,
        })
    }

    /// The channel as it will be (`None`: the change is not about the channel object).
    pub fn channel(&self, channel: &W, now_iso: &str) -> Option<W> {
        let changed = match self {
            ChannelChange::Update { set, unset } => {
                let mut c = match set {
                    Some(set) => channel.merged(set),
                    None => channel.clone(),
                };
                for key in unset {
                    c = c.with(key, None);
                }
                c
            }
            ChannelChange::Freeze(on) => channel.with("is_frozen", Some(W::boolean(*on))),
            _ => return None,
        };
        Some(changed.with("updated_at", Some(W::string(now_iso))))
    }

    /// The member events the change will bring (`member.added`, `member.updated`,
    /// `member.removed`), given the channel's members as they are now (`member`). The caller's
    /// own removal is left to the server (it forgets the channel on this device).
    pub fn member_events(
        &self,
        cid: &str,
        me: &str,
        member: impl Fn(&str) -> Option<W>,
        now_iso: &str,
    ) -> Vec<W> {
        let event = |kind: &str, user_id: &str, member: Option<W>| {
            let mut fields = vec![
                ("type", W::string(kind)),
                ("cid", W::string(cid)),
                ("user_id", W::string(user_id)),
            ];
            fields.extend(member.map(|m| ("member", m)));
            W::object(fields)
        };
        match self {
            ChannelChange::Members {
                add: true,
                user_ids,
            } => user_ids
                .iter()
                .filter(|u| member(u).is_none())
                .map(|u| {
                    let added = W::object(vec![
                        ("user_id", W::string(u)),
                        ("role", W::string("member")),
                        ("joined_at", W::string(now_iso)),
                        ("unread_count", W::number(0)),
                    ]);
                    event("member.added", u, Some(added))
                })
                .collect(),
            ChannelChange::Members {
                add: false,
                user_ids,
            } => user_ids
                .iter()
                .filter(|u| *u != me && member(u).is_some())
                .map(|u| event("member.removed", u, None))
                .collect(),
            ChannelChange::Role { user_id, role } => member(user_id)
                .map(|m| {
                    event(
                        "member.updated",
                        user_id,
                        Some(m.with("role", Some(W::string(role)))),
                    )
                })
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The caller's membership as it will be (`None`: not a membership change).
    pub fn membership(&self, member: &W) -> Option<W> {
        match self {
            ChannelChange::Member(flag, on) => Some(member.with(flag, Some(W::boolean(*on)))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const T: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn a_sent_echo_is_unconfirmed_and_keeps_the_body() {
        let e = sent(&json!({"id": "m1", "text": "hi"}), "t:c", "me", T);
        assert_eq!(e["channel_seq"], 0);
        assert_eq!(e["status"], "sending");
        assert_eq!(e["text"], "hi");
        assert_eq!(e["cid"], "t:c");
    }

    #[test]
    fn edits_and_deletes_change_the_copy_only() {
        let m = json!({"id": "m1", "text": "a", "channel_seq": 4});
        let e = edited(&m, &json!({"text": "b", "mutation_id": "x"}), T);
        assert_eq!(e["text"], "b");
        assert_eq!(e["is_edited"], true);
        assert!(e.get("mutation_id").is_none());
        assert_eq!(e["channel_seq"], 4);
        assert_eq!(m["text"], "a");
        let d = deleted(&m, T);
        assert_eq!(
            (d["is_deleted"].clone(), d["text"].clone()),
            (json!(true), json!(""))
        );
    }

    #[test]
    fn reactions_add_and_remove_once() {
        let m = json!({"id": "m1", "reaction_counts": {"like": 2}, "own_reactions": []});
        let added = reacted(&m, "me", "like", true, T);
        assert_eq!(added["reaction_counts"]["like"], 3);
        assert_eq!(added["own_reactions"][0]["type"], "like");
        let again = reacted(&added, "me", "like", true, T);
        assert_eq!(
            again["reaction_counts"]["like"], 3,
            "adding twice counts once"
        );
        let removed = reacted(&added, "me", "like", false, T);
        assert_eq!(removed["reaction_counts"]["like"], 2);
        assert_eq!(removed["own_reactions"], json!([]));
        let gone = reacted(&json!({"id": "m"}), "me", "x", false, T);
        assert!(gone["reaction_counts"].get("x").is_none());
    }

    #[test]
    fn channel_operations_echo_the_channel_and_the_membership() {
        let channel = json!({"cid": "messaging:a", "name": "A", "description": "d", "is_frozen": false, "updated_at": "t0"});
        let patch = ChannelChange::of(
            "PATCH",
            "",
            Some(&json!({"set": {"name": "B"}, "unset": ["description"]})),
        )
        .unwrap();
        let c = patch.channel(&channel, "t1").unwrap();
        assert_eq!(
            c,
            json!({"cid": "messaging:a", "name": "B", "is_frozen": false, "updated_at": "t1"})
        );
        let put = ChannelChange::of("put", "", Some(&json!({"name": "C"}))).unwrap();
        assert_eq!(put.channel(&channel, "t1").unwrap()["name"], "C");
        let freeze = ChannelChange::<Value>::of("POST", "/freeze", None).unwrap();
        assert_eq!(freeze.channel(&channel, "t1").unwrap()["is_frozen"], true);
        assert!(freeze.membership(&json!({})).is_none());
        let mute = ChannelChange::<Value>::of("POST", "/mute", None).unwrap();
        assert!(mute.channel(&channel, "t1").is_none());
        assert_eq!(
            mute.membership(&json!({"user_id": "me"})).unwrap(),
            json!({"user_id": "me", "is_muted": true})
        );
        let show = ChannelChange::<Value>::of("POST", "/show", None).unwrap();
        assert_eq!(
            show.membership(&json!({"is_hidden": true})).unwrap()["is_hidden"],
            false
        );
        assert!(ChannelChange::<Value>::of("POST", "/leave", None).is_none());
        assert!(ChannelChange::<Value>::of("DELETE", "", None).is_none());
    }

    #[test]
    fn member_operations_echo_as_member_events() {
        let members = |u: &str| match u {
            "me" => Some(json!({"user_id": "me", "role": "owner"})),
            "bob" => Some(json!({"user_id": "bob", "role": "member", "user": {"id": "bob"}})),
            _ => None,
        };
        let add = ChannelChange::of(
            "POST",
            "/members",
            Some(&json!({"user_ids": ["bob", "carol"]})),
        )
        .unwrap();
        assert_eq!(
            add.member_events("t:c", "me", members, T),
            vec![
                json!({"type": "member.added", "cid": "t:c", "user_id": "carol",
                "member": {"user_id": "carol", "role": "member", "joined_at": T, "unread_count": 0}})
            ],
            "only who is not a member yet"
        );
        assert!(add.channel(&json!({}), T).is_none() && add.membership(&json!({})).is_none());
        let remove = ChannelChange::of(
            "POST",
            "/members/remove",
            Some(&json!({"user_ids": ["me", "bob", "zed"]})),
        )
        .unwrap();
        assert_eq!(
            remove.member_events("t:c", "me", members, T),
            vec![json!({"type": "member.removed", "cid": "t:c", "user_id": "bob"})],
            "members only, and not the caller (the server's event forgets the channel)"
        );
        let role = ChannelChange::of(
            "POST",
            "/members/role",
            Some(&json!({"user_id": "bob", "role": "moderator"})),
        )
        .unwrap();
        assert_eq!(
            role.member_events("t:c", "me", members, T),
            vec![
                json!({"type": "member.updated", "cid": "t:c", "user_id": "bob",
                "member": {"user_id": "bob", "role": "moderator", "user": {"id": "bob"}}})
            ]
        );
        let unknown = ChannelChange::of(
            "POST",
            "/members/role",
            Some(&json!({"user_id": "zed", "role": "admin"})),
        )
        .unwrap();
        assert!(unknown.member_events("t:c", "me", members, T).is_empty());
        assert!(ChannelChange::<Value>::of(
            "POST",
            "/members/role",
            Some(&json!({"role": "admin"}))
        )
        .is_none());
    }
}
