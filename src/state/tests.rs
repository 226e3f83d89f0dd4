//! Reducer tests: one per event family, on JSON shaped like the server's frames.

use serde_json::{json, Value};

use super::*;

const ME: &str = "me";

fn msg(id: &str, seq: u64, user: &str) -> Value {
    json!({"id": id, "cid": "m:a", "channel_seq": seq, "user_id": user, "text": id, "type": "regular"})
}

fn loaded() -> ClientState<Value> {
    let mut s = ClientState::new(ME);
    let state = json!({
        "channel": {"cid": "m:a", "id": "a", "type": "m", "last_seq": 2},
        "members": [{"user_id": "me", "role": "owner", "unread_count": 0},
                    {"user_id": "bob", "role": "member", "unread_count": 0}],
        "messages": [msg("m1", 1, "bob")],
        "watcher_count": 2,
    });
    assert_eq!(s.load_channel(&state), Some(("m:a".into(), 2)));
    s.set_list(vec!["m:b".into(), "m:a".into()]);
    s
}

fn ev(kind: &str, seq: u64, extra: Value) -> Value {
    let mut v = json!({"type": kind, "cid": "m:a", "channel_seq": seq});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

fn ids(s: &ClientState<Value>) -> Vec<String> {
    let c = s.channel("m:a").unwrap();
    c.messages.entries().iter().map(|e| e.id.clone()).collect()
}

#[test]
fn message_new_appends_counts_unread_and_moves_the_channel_up() {
    let mut s = loaded();
    s.apply(
        &ev("message.new", 3, json!({"message": msg("m2", 3, "bob")})),
        0,
    );
    s.apply(
        &ev("message.new", 4, json!({"message": msg("m3", 4, ME)})),
        0,
    );
    assert_eq!(ids(&s), ["m1", "m2", "m3"]);
    assert_eq!(
        s.channel("m:a").unwrap().unread_count,
        1,
        "own messages do not count"
    );
    assert_eq!(s.order, ["m:a", "m:b"]);
    assert_eq!(s.unread(), (1, 1));
}

#[test]
fn a_local_echo_is_replaced_by_the_servers_copy() {
    let mut s = loaded();
    let mut echo = msg("mine", 0, ME);
    echo["status"] = "sending".into();
    s.channel_mut("m:a").add_echo(echo);
    s.apply(
        &ev("message.new", 3, json!({"message": msg("m2", 3, "bob")})),
        0,
    );
    assert_eq!(ids(&s), ["m1", "m2", "mine"], "the echo stays last");
    s.apply(
        &ev("message.new", 4, json!({"message": msg("mine", 4, ME)})),
        0,
    );
    assert_eq!(ids(&s), ["m1", "m2", "mine"]);
    let c = s.channel("m:a").unwrap();
    assert_eq!(c.messages.get("mine").unwrap().seq, 4);
    assert!(c.messages.get("mine").unwrap().data.get("status").is_none());
}

#[test]
fn threads_take_replies_out_of_the_main_list() {
    let mut s = loaded();
    let mut reply = msg("r1", 3, "bob");
    reply["parent_id"] = "m1".into();
    s.apply(&ev("message.new", 3, json!({"message": reply})), 0);
    let c = s.channel("m:a").unwrap();
    assert_eq!(ids(&s), ["m1"]);
    assert_eq!(c.threads["m1"].entries()[0].id, "r1");
    assert_eq!(c.unread_count, 0, "thread replies do not count as unread");
}

#[test]
fn edits_reactions_pins_and_deletes_replace_or_remove() {
    let mut s = loaded();
    let mut edited = msg("m1", 1, "bob");
    edited["text"] = "edited".into();
    s.apply(&ev("message.updated", 3, json!({"message": edited})), 0);
    let mut reacted = msg("m1", 1, "bob");
    reacted["text"] = "edited".into();
    reacted["reaction_counts"] = json!({"like": 1});
    s.apply(
        &ev(
            "reaction.new",
            4,
            json!({"message": reacted, "reaction": {}}),
        ),
        0,
    );
    let mut pinned = reacted.clone();
    pinned["is_pinned"] = true.into();
    pinned["pinned_at"] = "2026-01-01T00:00:00Z".into();
    s.apply(&ev("message.updated", 5, json!({"message": pinned})), 0);
    let c = s.channel("m:a").unwrap();
    assert_eq!(
        c.messages.get("m1").unwrap().data["reaction_counts"]["like"],
        1
    );
    assert_eq!(c.pinned.len(), 1);

    let mut soft = msg("m1", 1, "bob");
    soft["is_deleted"] = true.into();
    s.apply(
        &ev(
            "message.deleted",
            6,
            json!({"message": soft, "hard_delete": false}),
        ),
        0,
    );
    let c = s.channel("m:a").unwrap();
    assert_eq!(c.messages.get("m1").unwrap().data["is_deleted"], true);
    assert!(c.pinned.is_empty(), "a deleted message is not pinned");
    s.apply(
        &ev(
            "message.deleted",
            7,
            json!({"message": msg("m1", 1, "bob"), "hard_delete": true}),
        ),
        0,
    );
    assert!(ids(&s).is_empty());
}

#[test]
fn reads_members_and_channel_events() {
    let mut s = loaded();
    s.apply(
        &ev("message.new", 3, json!({"message": msg("m2", 3, "bob")})),
        0,
    );
    let read = json!({"cid": "m:a", "user_id": ME, "last_read_seq": 3, "unread_count": 0});
    s.apply(&ev("message.read", 4, json!({"read": read})), 0);
    assert_eq!(s.channel("m:a").unwrap().unread_count, 0);
    assert_eq!(s.channel("m:a").unwrap().reads[ME]["last_read_seq"], 3);

    s.apply(
        &ev(
            "member.added",
            5,
            json!({"member": {"user_id": "carol", "role": "member"}}),
        ),
        0,
    );
    s.apply(
        &ev(
            "member.updated",
            6,
            json!({"member": {"user_id": "carol", "role": "moderator"}}),
        ),
        0,
    );
    assert_eq!(
        s.channel("m:a").unwrap().members["carol"]["role"],
        "moderator"
    );
    s.apply(&ev("member.removed", 7, json!({"user_id": "bob"})), 0);
    assert!(!s.channel("m:a").unwrap().members.contains_key("bob"));

    let ch = json!({"cid": "m:a", "name": "renamed", "last_seq": 8});
    s.apply(&ev("channel.updated", 8, json!({"channel": ch})), 0);
    assert_eq!(
        s.channel("m:a").unwrap().channel.as_ref().unwrap()["name"],
        "renamed"
    );
    s.apply(&ev("channel.truncated", 9, json!({"channel": ch})), 0);
    assert!(ids(&s).is_empty());
    s.apply(&ev("channel.deleted", 10, json!({"channel": ch})), 0);
    assert!(s.channel("m:a").unwrap().deleted);
    assert_eq!(s.order, ["m:b"]);
}

#[test]
fn being_removed_forgets_the_channel() {
    let mut s = loaded();
    s.apply(&ev("member.removed", 3, json!({"user_id": ME})), 0);
    assert!(s.channel("m:a").is_none());
    let mut s = loaded();
    s.apply(
        &json!({"type": "notification.removed_from_channel", "user_seq": 1, "cid": "m:a"}),
        0,
    );
    assert!(s.channel("m:a").is_none());
    assert_eq!(s.order, ["m:b"]);
}

#[test]
fn typing_expires_and_stops_on_a_message() {
    let mut s = loaded();
    let typing = json!({"type": "typing.start", "cid": "m:a", "user_id": "bob"});
    s.apply(&typing, 1_000);
    s.apply(
        &json!({"type": "typing.start", "cid": "m:a", "user_id": ME}),
        1_000,
    );
    let c = s.channel_mut("m:a");
    assert_eq!(
        c.typing_now(2_000),
        [("bob".to_string(), None)],
        "own typing is not shown"
    );
    assert!(c.typing_now(1_000 + TYPING_TTL_MS).is_empty(), "expired");
    s.apply(&typing, 10_000);
    s.apply(
        &ev("message.new", 3, json!({"message": msg("m2", 3, "bob")})),
        10_001,
    );
    assert!(
        s.channel_mut("m:a").typing_now(10_002).is_empty(),
        "sending ends typing"
    );
    s.apply(&typing, 20_000);
    s.apply(
        &json!({"type": "typing.stop", "cid": "m:a", "user_id": "bob"}),
        20_001,
    );
    assert!(s.channel_mut("m:a").typing_now(20_002).is_empty());
}

#[test]
fn watchers_user_drafts_presence_and_membership() {
    let mut s = loaded();
    assert_eq!(s.channel("m:a").unwrap().watcher_count, 2);
    s.apply(
        &json!({"type": "user.watching.start", "cid": "m:a", "user_id": "x", "watcher_count": 3}),
        0,
    );
    assert_eq!(s.channel("m:a").unwrap().watcher_count, 3);
    s.apply(
        &json!({"type": "user.updated", "user_seq": 1, "user": {"id": ME, "display_name": "Me"}}),
        0,
    );
    assert_eq!(s.me.as_ref().unwrap()["display_name"], "Me");
    let draft = json!({"cid": "m:a", "text": "wip"});
    s.apply(
        &json!({"type": "draft.updated", "user_seq": 2, "draft": draft}),
        0,
    );
    assert_eq!(s.drafts[&("m:a".to_string(), None)]["text"], "wip");
    s.apply(
        &json!({"type": "draft.deleted", "user_seq": 3, "cid": "m:a"}),
        0,
    );
    assert!(s.drafts.is_empty());
    s.apply(
        &json!({"type": "user.presence.changed", "user_id": "bob", "status": "away"}),
        0,
    );
    assert_eq!(s.presence["bob"], "away");
    let muted = json!({"user_id": ME, "role": "owner", "is_muted": true, "is_hidden": true});
    s.apply(
        &ev("message.new", 3, json!({"message": msg("m2", 3, "bob")})),
        0,
    );
    s.apply(&json!({"type": "notification.membership_updated", "user_seq": 4, "cid": "m:a", "member": muted}), 0);
    assert!(s.channel("m:a").unwrap().is_muted());
    assert_eq!(
        s.unread(),
        (0, 0),
        "muted channels are left out of the total"
    );
    assert_eq!(s.order, ["m:b"], "hidden channels leave the list");
    s.apply(
        &json!({"type": "notification.added_to_channel", "user_seq": 5, "channel": {"cid": "m:c"}}),
        0,
    );
    assert_eq!(s.order, ["m:c", "m:b"]);
}
