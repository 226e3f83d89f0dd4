//! Outbox tests on MemoryStore (`W = serde_json::Value`): the folding table, the delivery
//! rules, the stored encoding, and a property test (seeded random sequences of user actions,
//! deliveries and retryable failures) checking that folding never changes the final state the
//! server ends up with.

use std::collections::{BTreeMap, BTreeSet};

use chat_protocol::{ApiError, ErrorCode};
use futures::executor::block_on;
use serde_json::{json, Value};

use super::*;
use crate::error::SdkError;
use crate::state::Wire;
use crate::store::conformance::{echo, message, with};
use crate::store::{MemoryStore, Page, Store, WriteBatch};

const C: &str = "messaging:c";
const D: &str = "messaging:d";

type Op = OutboxOp<Value>;

fn send(id: &str, text: &str) -> Op {
    OutboxOp::Send(json!({ "id": id, "text": text }))
}

fn edit(id: &str, text: &str) -> Op {
    edit_with(id, json!({ "text": text }))
}

fn edit_with(id: &str, body: Value) -> Op {
    OutboxOp::Edit {
        message_id: id.into(),
        body,
    }
}

fn delete(id: &str, hard: bool) -> Op {
    OutboxOp::Delete {
        message_id: id.into(),
        hard,
    }
}

fn react(id: &str, kind: &str, add: bool) -> Op {
    let (message_id, kind) = (id.to_owned(), kind.to_owned());
    if add {
        OutboxOp::AddReaction { message_id, kind }
    } else {
        OutboxOp::RemoveReaction { message_id, kind }
    }
}

fn read(message_id: Option<&str>, seq: u64) -> Op {
    OutboxOp::MarkRead {
        message_id: message_id.map(str::to_owned),
        seq,
    }
}

fn call(method: &str, path: &str, body: Option<Value>) -> Op {
    OutboxOp::Call {
        method: method.into(),
        path: path.into(),
        body,
    }
}

struct Fixture {
    store: MemoryStore<Value>,
    next: u32,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            store: MemoryStore::new(),
            next: 0,
        }
    }

    fn outbox(&self) -> Outbox<'_, Value> {
        Outbox::new(&self.store)
    }

    /// Enqueues with a fresh mutation id (or the message id for sends).
    fn act(&mut self, cid: &str, op: Op) -> FoldOutcome {
        let id = match &op {
            OutboxOp::Send(m) => m.str_of("id").unwrap(),
            _ => {
                self.next += 1;
                format!("mut-{}", self.next)
            }
        };
        let mut echo_batch = WriteBatch::new();
        if let OutboxOp::Send(m) = &op {
            echo_batch.put_message(echo(cid, &m.str_of("id").unwrap()));
        }
        block_on(self.outbox().enqueue(&id, cid, op, echo_batch))
            .unwrap()
            .outcome
    }

    fn entries(&self) -> Vec<OutboxEntry<Value>> {
        block_on(self.store.outbox()).unwrap()
    }

    fn ops(&self) -> Vec<Op> {
        self.entries().into_iter().map(|e| e.op).collect()
    }

    fn ready_ids(&self) -> Vec<String> {
        block_on(self.outbox().ready())
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect()
    }
}

#[test]
fn send_is_stored_with_its_echo_in_one_write() {
    let mut f = Fixture::new();
    assert_eq!(f.act(C, send("m1", "hi")), FoldOutcome::Enqueued);
    assert!(block_on(f.store.message("m1")).unwrap().is_some());
    assert_eq!(f.ops(), vec![send("m1", "hi")]);
    // Enqueueing the same send again is a no-op.
    assert_eq!(f.act(C, send("m1", "hi")), FoldOutcome::Cancelled);
    assert_eq!(f.entries().len(), 1);
}

#[test]
fn edit_of_unsent_message_folds_into_the_send() {
    let mut f = Fixture::new();
    f.act(C, send("m1", "hi"));
    assert_eq!(
        f.act(C, edit("m1", "hello")),
        FoldOutcome::FoldedInto("m1".into())
    );
    assert_eq!(f.ops(), vec![send("m1", "hello")]);
}

#[test]
fn an_edit_merges_its_fields_into_the_unsent_body() {
    let mut f = Fixture::new();
    f.act(
        C,
        OutboxOp::Send(json!({"id": "m1", "text": "hi", "mentions": ["bob"]})),
    );
    f.act(
        C,
        edit_with("m1", json!({"attachments": [{"type": "image"}]})),
    );
    f.act(C, edit("m1", "hello"));
    assert_eq!(
        f.ops(),
        vec![OutboxOp::Send(json!({
            "id": "m1",
            "text": "hello",
            "mentions": ["bob"],
            "attachments": [{"type": "image"}],
        }))]
    );
}

#[test]
fn edit_after_in_flight_send_is_queued_and_later_edits_fold_into_it() {
    let mut f = Fixture::new();
    f.act(C, send("m1", "hi"));
    block_on(f.outbox().start("m1")).unwrap();
    assert_eq!(
        f.act(C, edit_with("m1", json!({"text": "a", "mentions": ["x"]}))),
        FoldOutcome::Enqueued
    );
    assert!(matches!(
        f.act(C, edit("m1", "b")),
        FoldOutcome::FoldedInto(_)
    ));
    assert_eq!(
        f.ops(),
        vec![
            send("m1", "hi"),
            edit_with("m1", json!({"text": "b", "mentions": ["x"]}))
        ]
    );
}

#[test]
fn an_edit_never_jumps_over_an_in_flight_edit() {
    let mut f = Fixture::new();
    f.act(C, edit("old", "a"));
    let first = f.entries()[0].id.clone();
    block_on(f.outbox().start(&first)).unwrap();
    assert_eq!(f.act(C, edit("old", "b")), FoldOutcome::Enqueued);
    assert_eq!(f.ops(), vec![edit("old", "a"), edit("old", "b")]);
}

#[test]
fn delete_of_unsent_message_removes_everything_about_it() {
    for hard in [false, true] {
        let mut f = Fixture::new();
        f.act(C, send("m1", "hi"));
        f.act(C, send("m2", "other"));
        f.act(C, react("m1", "like", true));
        f.act(C, edit("m1", "changed"));
        assert_eq!(f.act(C, delete("m1", hard)), FoldOutcome::Cancelled);
        assert_eq!(f.ops(), vec![send("m2", "other")]);
        assert!(
            block_on(f.store.message("m1")).unwrap().is_none(),
            "the echo is gone"
        );
    }
}

#[test]
fn delete_of_confirmed_message_drops_its_unsent_edits() {
    let mut f = Fixture::new();
    f.act(C, edit("old", "x"));
    f.act(C, react("old", "like", true));
    f.act(C, send("m2", "keep"));
    assert_eq!(f.act(C, delete("old", false)), FoldOutcome::Enqueued);
    assert_eq!(f.ops(), vec![send("m2", "keep"), delete("old", false)]);
    // A hard delete after the (unsent) soft one replaces it.
    assert_eq!(f.act(C, delete("old", true)), FoldOutcome::Enqueued);
    assert_eq!(f.ops(), vec![send("m2", "keep"), delete("old", true)]);
}

#[test]
fn add_then_remove_of_a_reaction_cancels_out() {
    let mut f = Fixture::new();
    f.act(C, react("old", "like", true));
    assert_eq!(
        f.act(C, react("old", "like", false)),
        FoldOutcome::Cancelled
    );
    assert!(f.entries().is_empty());
    // Remove then add of a reaction the user had: nothing to send either.
    f.act(C, react("old", "wow", false));
    f.act(C, react("old", "wow", true));
    assert!(f.entries().is_empty());
    // Different kinds do not cancel.
    f.act(C, react("old", "like", true));
    f.act(C, react("old", "wow", false));
    assert_eq!(f.entries().len(), 2);
    // A duplicate is dropped.
    assert_eq!(f.act(C, react("old", "like", true)), FoldOutcome::Cancelled);
    assert_eq!(f.entries().len(), 2);
}

#[test]
fn mark_read_keeps_one_entry_with_the_highest_seq() {
    let mut f = Fixture::new();
    f.act(C, read(Some("c5"), 5));
    f.act(D, read(Some("d1"), 1));
    f.act(C, read(Some("c9"), 9));
    f.act(C, read(Some("c7"), 7));
    assert_eq!(f.ops(), vec![read(Some("c9"), 9), read(Some("d1"), 1)]);
}

#[test]
fn mark_read_of_everything_wins() {
    let mut f = Fixture::new();
    f.act(C, read(Some("c5"), 5));
    f.act(C, read(None, 3));
    assert_eq!(f.ops(), vec![read(None, 5)]);
    f.act(C, read(Some("c9"), 9));
    assert_eq!(f.ops(), vec![read(None, 9)]);
    // Once it is in flight, a new one is queued behind it.
    let id = f.entries()[0].id.clone();
    block_on(f.outbox().start(&id)).unwrap();
    assert_eq!(f.act(C, read(Some("c10"), 10)), FoldOutcome::Enqueued);
    assert_eq!(f.ops(), vec![read(None, 9), read(Some("c10"), 10)]);
}

#[test]
fn calls_are_never_folded() {
    let mut f = Fixture::new();
    let path = "/v1/channels/messaging/c/members";
    f.act(C, send("m1", "hi"));
    for n in 0..2 {
        assert_eq!(
            f.act(C, call("POST", path, Some(json!({ "add": [n] })))),
            FoldOutcome::Enqueued
        );
    }
    f.act(C, call("DELETE", "/v1/channels/messaging/c/draft", None));
    // A delete of the unsent message leaves the calls alone.
    assert_eq!(f.act(C, delete("m1", false)), FoldOutcome::Cancelled);
    assert_eq!(
        f.ops(),
        vec![
            call("POST", path, Some(json!({"add": [0]}))),
            call("POST", path, Some(json!({"add": [1]}))),
            call("DELETE", "/v1/channels/messaging/c/draft", None),
        ]
    );
    assert_eq!(f.ready_ids().len(), 1);
}

#[test]
fn one_in_flight_per_channel_and_channels_are_independent() {
    let mut f = Fixture::new();
    f.act(C, send("c1", "1"));
    f.act(C, send("c2", "2"));
    f.act(D, send("d1", "1"));
    assert_eq!(f.ready_ids(), vec!["c1", "d1"]);
    block_on(f.outbox().start("c1")).unwrap();
    assert_eq!(f.ready_ids(), vec!["d1"]);
    block_on(f.outbox().complete("c1", WriteBatch::new())).unwrap();
    assert_eq!(f.ready_ids(), vec!["c2", "d1"]);
}

#[test]
fn retryable_failure_keeps_the_channel_order() {
    let mut f = Fixture::new();
    f.act(C, send("c1", "1"));
    f.act(C, send("c2", "2"));
    block_on(f.outbox().start("c1")).unwrap();
    let failure = block_on(f.outbox().fail("c1", &SdkError::network("offline"))).unwrap();
    assert_eq!(failure, Failure::Retryable);
    let entries = f.entries();
    assert_eq!(
        (entries[0].state.clone(), entries[0].attempts),
        (OutboxState::Pending, 1)
    );
    assert_eq!(f.ready_ids(), vec!["c1"], "c2 never overtakes c1");
    // Attempted once: it may have been applied, so it is not folded into any more.
    assert_eq!(f.act(C, edit("c1", "later")), FoldOutcome::Enqueued);
}

#[test]
fn permanent_failure_stays_visible_and_holds_only_its_dependents() {
    let mut f = Fixture::new();
    f.act(C, send("c1", "1"));
    f.act(C, react("c1", "like", true));
    f.act(C, send("c2", "2"));
    f.act(D, send("d1", "1"));
    block_on(f.outbox().start("c1")).unwrap();
    let refused = SdkError::from_api(403, ApiError::new(ErrorCode::Forbidden, "frozen"));
    block_on(f.outbox().fail("c1", &refused)).unwrap();
    let failed = &f.entries()[0];
    assert_eq!(
        failed.state,
        OutboxState::Failed {
            code: "forbidden".into(),
            message: "frozen".into()
        }
    );
    // The reaction on c1 waits with it; c2 and the other channel go on.
    assert_eq!(f.ready_ids(), vec!["c2", "d1"]);

    // An edit of the failed (unsent) message folds into it.
    assert_eq!(
        f.act(C, edit("c1", "fixed")),
        FoldOutcome::FoldedInto("c1".into())
    );
    assert_eq!(f.ops()[0], send("c1", "fixed"));

    // retry: sent after c2, then its reaction.
    block_on(f.outbox().retry("c1")).unwrap();
    block_on(f.outbox().start("c2")).unwrap();
    block_on(f.outbox().complete("c2", WriteBatch::new())).unwrap();
    block_on(f.outbox().complete("d1", WriteBatch::new())).unwrap();
    assert_eq!(f.ready_ids(), vec!["c1"]);
    block_on(f.outbox().complete("c1", WriteBatch::new())).unwrap();
    assert_eq!(f.ops(), vec![react("c1", "like", true)]);
    assert_eq!(f.ready_ids().len(), 1);
}

#[test]
fn discard_of_a_failed_send_removes_its_echo_and_dependents() {
    let mut f = Fixture::new();
    f.act(C, send("c1", "1"));
    f.act(C, react("c1", "like", true));
    f.act(C, send("c2", "2"));
    block_on(f.outbox().start("c1")).unwrap();
    let refused = SdkError::new(ErrorCode::InvalidInput, 400, "too long");
    block_on(f.outbox().fail("c1", &refused)).unwrap();
    block_on(f.outbox().discard("c1")).unwrap();
    assert_eq!(f.ops(), vec![send("c2", "2")]);
    assert!(block_on(f.store.message("c1")).unwrap().is_none());
}

#[test]
fn recover_puts_in_flight_entries_back_to_pending() {
    let mut f = Fixture::new();
    f.act(C, send("c1", "1"));
    block_on(f.outbox().start("c1")).unwrap();
    assert_eq!(block_on(f.outbox().recover()).unwrap(), 1);
    assert_eq!(f.ready_ids(), vec!["c1"]);
    assert_eq!(f.entries()[0].attempts, 1);
}

#[test]
fn complete_replaces_the_echo_with_the_server_copy_atomically() {
    let mut f = Fixture::new();
    f.act(C, send("c1", "1"));
    let mut batch = WriteBatch::new();
    batch.put_message(with(message(C, 7), "id", "c1"));
    block_on(f.outbox().complete("c1", batch)).unwrap();
    assert!(f.entries().is_empty());
    let page = block_on(f.store.messages(C, Page::All)).unwrap();
    assert_eq!(
        page.iter().map(|m| m.str_of("id").unwrap()).collect::<Vec<_>>(),
        vec!["c1"]
    );
}

// ----- the stored encoding ---------------------------------------------------------------

#[test]
fn entries_round_trip_through_their_wire_form() {
    let ops = [
        send("m1", "hi"),
        edit_with("m1", json!({"text": "x", "attachments": []})),
        delete("m1", false),
        delete("m1", true),
        react("m1", "like", true),
        react("m1", "like", false),
        read(Some("m1"), 4),
        read(None, 9),
        call("POST", "/v1/x", Some(json!({"a": 1}))),
        call("DELETE", "/v1/x", None),
    ];
    let states = [
        OutboxState::Pending,
        OutboxState::InFlight,
        OutboxState::Failed {
            code: "forbidden".into(),
            message: "frozen".into(),
        },
    ];
    for op in ops {
        for state in states.clone() {
            let entry = OutboxEntry {
                id: "e".into(),
                cid: C.into(),
                order: 3,
                op: op.clone(),
                state,
                attempts: 2,
            };
            assert_eq!(OutboxEntry::from_wire(&entry.to_wire()), Some(entry));
        }
    }
    assert_eq!(OutboxEntry::<Value>::from_wire(&json!({"id": "x"})), None);
}

#[test]
fn entries_written_by_schema_version_2_are_read() {
    // serde's encoding of the typed entries of version 2.
    let v2 = json!({
        "id": "e1", "cid": C, "order": 7,
        "op": {"edit": {"message_id": "m1", "text": "new text"}},
        "state": {"failed": {"code": "forbidden", "message": "frozen"}},
        "attempts": 1,
    });
    assert_eq!(
        OutboxEntry::from_wire(&v2),
        Some(OutboxEntry {
            id: "e1".into(),
            cid: C.into(),
            order: 7,
            op: edit("m1", "new text"),
            state: OutboxState::Failed {
                code: "forbidden".into(),
                message: "frozen".into()
            },
            attempts: 1,
        })
    );
    let delete_v2 = json!({"id": "e2", "cid": C, "order": 8,
        "op": {"delete": {"message_id": "m1"}}, "state": "in_flight", "attempts": 0});
    let entry = OutboxEntry::<Value>::from_wire(&delete_v2).unwrap();
    assert_eq!((entry.op, entry.state), (delete("m1", false), OutboxState::InFlight));
    let read_v2 = json!({"id": "e3", "cid": C, "order": 9,
        "op": {"mark_read": {"seq": 5}}, "state": "pending", "attempts": 0});
    assert_eq!(
        OutboxEntry::<Value>::from_wire(&read_v2).unwrap().op,
        read(None, 5)
    );
    let send_v2 = json!({"id": "m2", "cid": C, "order": 10,
        "op": {"send": {"id": "m2", "text": "hi", "mentions": []}}, "state": "pending",
        "attempts": 0});
    assert_eq!(
        OutboxEntry::<Value>::from_wire(&send_v2).unwrap().op,
        OutboxOp::Send(json!({"id": "m2", "text": "hi", "mentions": []}))
    );
}

// ----- property test ---------------------------------------------------------------------

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A message as the model sees it: (cid, text, mood, deleted). `mood` stands for any other
/// field an edit may change on its own (folded edits must keep both).
type Msg = (String, String, Option<u64>, bool);

/// Live messages (id → text, mood), reactions on them, read positions per channel, and what the
/// opaque calls left behind.
type Visible = (
    BTreeMap<String, (String, Option<u64>)>,
    BTreeSet<(String, String)>,
    BTreeMap<String, u64>,
    BTreeMap<(String, String), Value>,
);

/// What the server holds; also the user's view when every action applies at once.
#[derive(Debug, Default, Clone, PartialEq)]
struct World {
    messages: BTreeMap<String, Msg>,
    reactions: BTreeSet<(String, String)>,
    /// The read position per channel; `u64::MAX` after marking everything read.
    read: BTreeMap<String, u64>,
    /// (cid, path) → the body of the last call to it.
    calls: BTreeMap<(String, String), Value>,
}

impl World {
    fn apply(&mut self, cid: &str, op: &Op) {
        let alive = |w: &World, m: &str| w.messages.get(m).is_some_and(|(_, _, _, d)| !d);
        let mood = |body: &Value| body.u64_of("mood");
        match op {
            OutboxOp::Send(m) => {
                self.messages.entry(m.str_of("id").unwrap()).or_insert((
                    cid.into(),
                    m.str_of("text").unwrap_or_default(),
                    mood(m),
                    false,
                ));
            }
            OutboxOp::Edit { message_id, body } => {
                if alive(self, message_id) {
                    let m = self.messages.get_mut(message_id).unwrap();
                    if let Some(text) = body.str_of("text") {
                        m.1 = text;
                    }
                    if let Some(mood) = mood(body) {
                        m.2 = Some(mood);
                    }
                }
            }
            OutboxOp::Delete { message_id, .. } => {
                if let Some(m) = self.messages.get_mut(message_id) {
                    m.3 = true;
                }
            }
            OutboxOp::AddReaction { message_id, kind } => {
                if alive(self, message_id) {
                    self.reactions.insert((message_id.clone(), kind.clone()));
                }
            }
            OutboxOp::RemoveReaction { message_id, kind } => {
                self.reactions.remove(&(message_id.clone(), kind.clone()));
            }
            OutboxOp::MarkRead { message_id, seq } => {
                let to = if message_id.is_some() { *seq } else { u64::MAX };
                let r = self.read.entry(cid.into()).or_default();
                *r = (*r).max(to);
            }
            OutboxOp::Call { path, body, .. } => {
                let key = (cid.to_owned(), path.clone());
                match body {
                    Some(b) => self.calls.insert(key, b.clone()),
                    None => self.calls.remove(&key),
                };
            }
        }
    }

    /// What a user can see: live messages, reactions on them, read positions, call results.
    fn visible(&self) -> Visible {
        let live: BTreeMap<_, _> = self
            .messages
            .iter()
            .filter(|(_, (_, _, _, d))| !d)
            .map(|(id, (_, t, mood, _))| (id.clone(), (t.clone(), *mood)))
            .collect();
        let reactions = self
            .reactions
            .iter()
            .filter(|(m, _)| live.contains_key(m))
            .cloned()
            .collect();
        (live, reactions, self.read.clone(), self.calls.clone())
    }
}

/// Random user actions valid in the user's current view.
fn random_action(rng: &mut Rng, view: &World, n: &mut u32) -> (String, Op) {
    let live: Vec<(&String, &String)> = view
        .messages
        .iter()
        .filter(|(_, (_, _, _, d))| !d)
        .map(|(id, (cid, _, _, _))| (id, cid))
        .collect();
    let cid = if rng.below(2) == 0 { C } else { D };
    *n += 1;
    if rng.below(8) == 0 {
        let path = ["/members", "/config"][rng.below(2)];
        let op = if rng.below(3) == 0 {
            call("DELETE", path, None)
        } else {
            call("PUT", path, Some(json!({ "v": *n })))
        };
        return (cid.into(), op);
    }
    if live.is_empty() || rng.below(4) == 0 {
        return (cid.into(), send(&format!("m{n}"), &format!("t{n}")));
    }
    let (id, mcid) = live[rng.below(live.len())];
    let kind = ["like", "wow"][rng.below(2)];
    let op = match rng.below(7) {
        0 => edit(id, &format!("e{n}")),
        1 => match rng.below(2) {
            0 => edit_with(id, json!({ "mood": *n })),
            _ => edit_with(id, json!({ "text": format!("e{n}"), "mood": *n })),
        },
        2 => delete(id, rng.below(2) == 0),
        3 | 4 => react(
            id,
            kind,
            !view.reactions.contains(&(id.clone(), kind.into())),
        ),
        _ => {
            let seq = rng.below(50) as u64;
            if rng.below(5) == 0 {
                read(None, seq)
            } else {
                read(Some(&format!("at{seq}")), seq)
            }
        }
    };
    (mcid.clone(), op)
}

/// Delivers one ready entry to `server` (maybe after a retryable failure), maybe leaving it
/// in flight so later actions cannot fold into it.
fn step_delivery(
    rng: &mut Rng,
    f: &Fixture,
    server: &mut World,
    in_flight: &mut Vec<OutboxEntry<Value>>,
) {
    if !in_flight.is_empty() && rng.below(2) == 0 {
        let e = in_flight.remove(rng.below(in_flight.len()));
        server.apply(&e.cid, &e.op);
        block_on(f.outbox().complete(&e.id, WriteBatch::new())).unwrap();
        return;
    }
    let ready = block_on(f.outbox().ready()).unwrap();
    if ready.is_empty() {
        return;
    }
    let e = ready[rng.below(ready.len())].clone();
    block_on(f.outbox().start(&e.id)).unwrap();
    match rng.below(4) {
        0 => {
            // A network failure, or an answer lost after the server applied it: the resend
            // must be harmless (the server dedupes by id — idempotent ops in this model).
            if rng.below(2) == 0 {
                server.apply(&e.cid, &e.op);
            }
            block_on(f.outbox().fail(&e.id, &SdkError::network("offline"))).unwrap();
        }
        1 => in_flight.push(e),
        _ => {
            server.apply(&e.cid, &e.op);
            block_on(f.outbox().complete(&e.id, WriteBatch::new())).unwrap();
        }
    }
}

#[test]
fn folding_preserves_the_final_state() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut f = Fixture::new();
        // The user's view: every action applied at once, as if nothing were queued.
        let mut view = World::default();
        let mut server = World::default();
        let mut in_flight = Vec::new();
        let mut n = 0;
        for _ in 0..rng.below(60) + 5 {
            if rng.below(3) == 0 {
                step_delivery(&mut rng, &f, &mut server, &mut in_flight);
            } else {
                let (cid, op) = random_action(&mut rng, &view, &mut n);
                view.apply(&cid, &op);
                f.act(&cid, op);
            }
        }
        // Drain: everything still queued reaches the server.
        let mut guard = 0;
        while !f.entries().is_empty() {
            for e in in_flight.drain(..) {
                server.apply(&e.cid, &e.op);
                block_on(f.outbox().complete(&e.id, WriteBatch::new())).unwrap();
            }
            for e in block_on(f.outbox().ready()).unwrap() {
                block_on(f.outbox().start(&e.id)).unwrap();
                server.apply(&e.cid, &e.op);
                block_on(f.outbox().complete(&e.id, WriteBatch::new())).unwrap();
            }
            guard += 1;
            assert!(
                guard < 1000,
                "seed {seed}: the outbox never drains: {:?}",
                f.entries()
            );
        }
        assert_eq!(server.visible(), view.visible(), "seed {seed}");
    }
}

#[test]
fn folding_sends_no_more_than_the_actions() {
    for seed in 1..=100u64 {
        let mut rng = Rng(seed | 1);
        let mut f = Fixture::new();
        let mut view = World::default();
        let mut n = 0;
        let actions = rng.below(40) + 1;
        for _ in 0..actions {
            let (cid, op) = random_action(&mut rng, &view, &mut n);
            view.apply(&cid, &op);
            f.act(&cid, op);
        }
        assert!(f.entries().len() <= actions, "seed {seed}");
    }
}
