//! What the client writes to its [`Store`](crate::store::Store) and reads back from it: the
//! writes that mirror an applied event or a loaded `ChannelState` (together with the stream
//! cursor they advance, so the stored cursor never runs ahead of the stored data), and the
//! `ChannelState` rebuilt from stored records when a channel opens from the cache. Pure: the
//! platform performs the batches ([`crate::client::Effect::Persist`]).

use crate::state::Wire;
use crate::store::{Write, WriteBatch};

/// How many messages per channel a cold start shows from the cache: what a `watch()` shows
/// (the server's channel page), so opening from the cache costs no more than needed.
pub const RESTORED_PAGE: u32 = 25;

/// How many messages per channel stay cached when space runs short.
pub const CACHED_PAGE: u32 = 50;

/// Meta key of a channel's cursor (the last channel sequence applied and stored).
pub fn channel_cursor_key(cid: &str) -> String {
    let mut key = String::from("cursor:");
    key.push_str(cid);
    key
}

/// Meta key of the user stream's cursor.
pub const USER_CURSOR_KEY: &str = "cursor:@user";
/// Meta key of the listed channels (cids separated by newlines), in display order.
pub const LIST_KEY: &str = "list";

/// Meta key of a cached channel query (`query` is its canonical JSON).
pub fn query_key(query: &str) -> String {
    let mut key = String::from("query:");
    key.push_str(query);
    key
}

fn cid_of<W: Wire>(event: &W) -> Option<String> {
    event
        .str_of("cid")
        .or_else(|| event.field("channel").and_then(|c| c.str_of("cid")))
}

/// Forgets a channel's cached data: the channel, its messages and cursor. Members and reads
/// are overwritten by the next load.
fn forget<W: Wire>(batch: &mut WriteBatch<W>, cid: &str) {
    batch.push(Write::DeleteChannel(cid.to_owned()));
    batch.push(Write::DeleteMessagesBefore {
        cid: cid.to_owned(),
        seq: u64::MAX,
    });
    batch.put_meta(&channel_cursor_key(cid), "");
}

/// The writes that mirror one event the client state applied (`me` is the connected user).
pub fn event_writes<W: Wire>(event: &W, me: &str, batch: &mut WriteBatch<W>) {
    let Some(kind) = event.str_of("type") else {
        return;
    };
    let cid = cid_of(event);
    let message = event.field("message");
    match (kind.as_str(), cid, message) {
        ("message.deleted", _, Some(m)) if event.flag("hard_delete") => {
            if let Some(id) = m.str_of("id") {
                batch.delete_message(&id);
            }
        }
        ("message.new" | "message.updated" | "message.deleted", _, Some(m)) => {
            batch.put_message(m);
        }
        ("reaction.new" | "reaction.deleted", _, Some(m)) => {
            batch.put_message(m);
            if let Some(r) = event.field("reaction") {
                if kind == "reaction.new" {
                    batch.put_reaction(r);
                } else if let (Some(mid), Some(uid), Some(t)) = (
                    r.str_of("message_id"),
                    r.str_of("user_id"),
                    r.str_of("type"),
                ) {
                    batch.delete_reaction(&mid, &uid, &t);
                }
            }
        }
        ("message.read", _, _) => {
            if let Some(read) = event.field("read") {
                batch.put_read(read);
            }
        }
        ("member.added" | "member.updated" | "notification.membership_updated", Some(cid), _) => {
            if let Some(member) = event.field("member") {
                batch.put_member(&cid, member);
            }
        }
        ("member.removed", Some(cid), _) => {
            if let Some(uid) = event.str_of("user_id") {
                if uid == me {
                    forget(batch, &cid);
                }
                batch.push(Write::DeleteMember { cid, user_id: uid });
            }
        }
        ("channel.updated", _, _) => {
            if let Some(channel) = event.field("channel") {
                batch.put_channel(channel);
            }
        }
        ("channel.truncated", Some(cid), _) => {
            if let Some(channel) = event.field("channel") {
                batch.put_channel(channel);
            }
            let seq = event.u64_of("channel_seq").unwrap_or(0);
            batch.push(Write::DeleteMessagesBefore { cid, seq });
        }
        ("channel.deleted" | "notification.removed_from_channel", Some(cid), _) => {
            forget(batch, &cid);
        }
        ("draft.updated", _, _) => {
            if let Some(draft) = event.field("draft") {
                batch.put_draft(draft);
            }
        }
        ("draft.deleted", Some(cid), _) => {
            let parent = event.str_of("parent_id");
            batch.delete_draft(&cid, parent.as_deref());
        }
        ("user.updated", _, _) => {
            if let Some(user) = event.field("user") {
                batch.put_user(user);
            }
        }
        ("connection.ok", _, _) => {
            if let Some(user) = event.field("me") {
                batch.put_user(user);
            }
        }
        _ => {}
    }
}

/// The writes that store a `ChannelState` answer: its messages replace the channel's stored
/// ones (the answer is the latest page: a stored message missing from it was hard-deleted or
/// is no longer visible, and older stored ones might not join it), so the cache never holds a
/// hole or a message the server dropped. Local echoes and messages the outbox refers to stay.
pub fn load_writes<W: Wire>(state: &W, batch: &mut WriteBatch<W>) {
    let Some(channel) = state.field("channel") else {
        return;
    };
    let Some(cid) = channel.str_of("cid") else {
        return;
    };
    batch.push(Write::DeleteMessagesBefore {
        cid: cid.clone(),
        seq: u64::MAX,
    });
    let last_seq = channel.u64_of("last_seq").unwrap_or(0);
    batch.put_channel(channel);
    for m in state.list_of("members") {
        batch.put_member(&cid, m);
    }
    if let Some(m) = state.field("membership") {
        batch.put_member(&cid, m);
    }
    for r in state.list_of("read") {
        batch.put_read(r);
    }
    batch.put_messages(state.list_of("messages"));
    batch.put_meta(&channel_cursor_key(&cid), crate::text::decimal(last_seq));
}

/// A `ChannelState` answer rebuilt from stored records, marked `from_cache: true` (load it with
/// [`crate::client::ClientCore::restore_channel`] and the stored cursor).
pub fn cached_state<W: Wire>(
    channel: W,
    members: Vec<W>,
    messages: Vec<W>,
    reads: Vec<W>,
    me: &str,
) -> W {
    let membership = members
        .iter()
        .find(|m| m.str_of("user_id").as_deref() == Some(me))
        .cloned();
    let mut fields = vec![
        ("channel", channel),
        ("members", W::array(members)),
        ("messages", W::array(messages)),
        ("read", W::array(reads)),
        ("from_cache", W::boolean(true)),
    ];
    if let Some(m) = membership {
        fields.push(("membership", m));
    }
    W::object(fields)
}

/// Reads a stored cursor value (`""` or garbage: none).
pub fn parse_cursor(value: Option<String>) -> Option<u64> {
    value.and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn writes(event: Value) -> Vec<Write<Value>> {
        let mut batch = WriteBatch::new();
        event_writes(&event, "me", &mut batch);
        batch.writes
    }

    #[test]
    fn message_events_store_the_message() {
        let m = json!({"id": "m1", "cid": "t:c", "channel_seq": 3});
        for kind in ["message.new", "message.updated", "message.deleted"] {
            let w = writes(json!({"type": kind, "cid": "t:c", "channel_seq": 3, "message": m}));
            assert_eq!(w, vec![Write::PutMessage(m.clone())], "{kind}");
        }
        let hard = writes(
            json!({"type": "message.deleted", "cid": "t:c", "hard_delete": true,
            "channel_seq": 4, "message": m}),
        );
        assert_eq!(hard, vec![Write::DeleteMessage("m1".into())]);
    }

    #[test]
    fn reactions_store_message_and_reaction() {
        let m = json!({"id": "m1", "cid": "t:c", "channel_seq": 3});
        let r = json!({"message_id": "m1", "user_id": "u", "type": "like"});
        let added =
            writes(json!({"type": "reaction.new", "cid": "t:c", "message": m, "reaction": r}));
        assert_eq!(
            added,
            vec![Write::PutMessage(m.clone()), Write::PutReaction(r.clone())]
        );
        let removed =
            writes(json!({"type": "reaction.deleted", "cid": "t:c", "message": m, "reaction": r}));
        assert_eq!(
            removed[1],
            Write::DeleteReaction {
                message_id: "m1".into(),
                user_id: "u".into(),
                kind: "like".into()
            }
        );
    }

    #[test]
    fn leaving_forgets_the_channel_but_others_leaving_does_not() {
        let me = writes(json!({"type": "member.removed", "cid": "t:c", "user_id": "me"}));
        assert!(me.contains(&Write::DeleteChannel("t:c".into())));
        let other = writes(json!({"type": "member.removed", "cid": "t:c", "user_id": "bob"}));
        assert_eq!(
            other,
            vec![Write::DeleteMember {
                cid: "t:c".into(),
                user_id: "bob".into()
            }]
        );
    }

    #[test]
    fn truncation_drops_older_messages() {
        let w = writes(
            json!({"type": "channel.truncated", "cid": "t:c", "channel_seq": 9,
            "channel": {"cid": "t:c"}}),
        );
        assert!(w.contains(&Write::DeleteMessagesBefore {
            cid: "t:c".into(),
            seq: 9
        }));
    }

    fn state(first: u64, last: u64) -> Value {
        let messages: Vec<Value> = (first..=last)
            .map(|s| json!({"id": format!("m{s}"), "cid": "t:c", "channel_seq": s}))
            .collect();
        json!({"channel": {"cid": "t:c", "last_seq": last}, "messages": messages,
            "members": [{"user_id": "me"}], "read": [{"cid": "t:c", "user_id": "me"}]})
    }

    #[test]
    fn a_load_replaces_the_stored_messages_and_sets_the_cursor() {
        let mut batch = WriteBatch::new();
        load_writes(&state(5, 8), &mut batch);
        assert_eq!(
            batch.writes[0],
            Write::DeleteMessagesBefore {
                cid: "t:c".into(),
                seq: u64::MAX
            }
        );
        let puts = batch
            .writes
            .iter()
            .filter(|w| matches!(w, Write::PutMessage(_)))
            .count();
        assert_eq!(puts, 4);
        assert_eq!(
            batch.writes.last(),
            Some(&Write::PutMeta {
                key: "cursor:t:c".into(),
                value: "8".into()
            })
        );
    }

    #[test]
    fn cached_state_has_membership_and_mark() {
        let s = cached_state(
            json!({"cid": "t:c", "last_seq": 99}),
            vec![
                json!({"user_id": "bob"}),
                json!({"user_id": "me", "role": "owner"}),
            ],
            vec![json!({"id": "m1"})],
            vec![],
            "me",
        );
        assert_eq!(s["membership"]["role"], "owner");
        assert_eq!(s["from_cache"], true);
        assert_eq!(parse_cursor(Some("42".into())), Some(42));
        assert_eq!(parse_cursor(Some(String::new())), None);
    }
}
