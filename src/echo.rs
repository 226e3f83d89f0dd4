//! Local echoes: what a message looks like right after the user changed it, before the server
//! confirms — a new message (`status: 'sending'`, no `channel_seq`), an edit, a soft delete,
//! a reaction added or removed. The echo is shown at once and stored with the outbox entry;
//! the server's copy replaces it when the change's event arrives.

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
            ("message_id", W::string(&current.str_of("id").unwrap_or_default())),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!((d["is_deleted"].clone(), d["text"].clone()), (json!(true), json!("")));
    }

    #[test]
    fn reactions_add_and_remove_once() {
        let m = json!({"id": "m1", "reaction_counts": {"like": 2}, "own_reactions": []});
        let added = reacted(&m, "me", "like", true, T);
        assert_eq!(added["reaction_counts"]["like"], 3);
        assert_eq!(added["own_reactions"][0]["type"], "like");
        let again = reacted(&added, "me", "like", true, T);
        assert_eq!(again["reaction_counts"]["like"], 3, "adding twice counts once");
        let removed = reacted(&added, "me", "like", false, T);
        assert_eq!(removed["reaction_counts"]["like"], 2);
        assert_eq!(removed["own_reactions"], json!([]));
        let gone = reacted(&json!({"id": "m"}), "me", "x", false, T);
        assert!(gone["reaction_counts"].get("x").is_none());
    }
}
