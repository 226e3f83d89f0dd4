//! Outbox tests on MemoryStore: the folding table, the delivery rules, and a property test
//! (seeded random sequences of user actions, deliveries and retryable failures) checking that
//! folding never changes the final state the server ends up with.

use std::collections::{BTreeMap, BTreeSet};

use chat_protocol::requests::SendMessage;
use chat_protocol::{ApiError, ErrorCode};
use futures::executor::block_on;

use super::*;
use crate::error::SdkError;
use crate::store::conformance::{echo, message};
use crate::store::{MemoryStore, Page, Store, WriteBatch};

const C: &str = "messaging:c";
const D: &str = "messaging:d";

fn send(id: &str, text: &str) -> OutboxOp {
    OutboxOp::Send(SendMessage {
        id: id.into(),
        text: text.into(),
        ..Default::default()
    })
}

fn edit(id: &str, text: &str) -> OutboxOp {
    OutboxOp::Edit {
        message_id: id.into(),
        text: text.into(),
    }
}

fn react(id: &str, kind: &str, add: bool) -> OutboxOp {
    let (message_id, kind) = (id.to_owned(), kind.to_owned());
    if add {
        OutboxOp::AddReaction { message_id, kind }
    } else {
        OutboxOp::RemoveReaction { message_id, kind }
    }
}

struct Fixture {
    store: MemoryStore,
    next: u32,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            store: MemoryStore::new(),
            next: 0,
        }
    }

    fn outbox(&self) -> Outbox<'_> {
        Outbox::new(&self.store)
    }

    /// Enqueues with a fresh mutation id (or the message id for sends).
    fn act(&mut self, cid: &str, op: OutboxOp) -> FoldOutcome {
        let id = match &op {
            OutboxOp::Send(m) => m.id.clone(),
            _ => {
                self.next += 1;
                format!("mut-{}", self.next)
            }
        };
        let mut echo_batch = WriteBatch::new();
        if let OutboxOp::Send(m) = &op {
            echo_batch.put_message(echo(cid, &m.id));
        }
        block_on(self.outbox().enqueue(&id, cid, op, echo_batch))
            .unwrap()
            .outcome
    }

    fn entries(&self) -> Vec<OutboxEntry> {
        block_on(self.store.outbox()).unwrap()
    }

    fn ops(&self) -> Vec<OutboxOp> {
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
fn edit_after_in_flight_send_is_queued_and_later_edits_fold_into_it() {
    let mut f = Fixture::new();
    f.act(C, send("m1", "hi"));
    block_on(f.outbox().start("m1")).unwrap();
    assert_eq!(f.act(C, edit("m1", "a")), FoldOutcome::Enqueued);
    assert!(matches!(
        f.act(C, edit("m1", "b")),
        FoldOutcome::FoldedInto(_)
    ));
    assert_eq!(f.ops(), vec![send("m1", "hi"), edit("m1", "b")]);
}

#[test]
fn delete_of_unsent_message_removes_everything_about_it() {
    let mut f = Fixture::new();
    f.act(C, send("m1", "hi"));
    f.act(C, send("m2", "other"));
    f.act(C, react("m1", "like", true));
    assert_eq!(
        f.act(
            C,
            OutboxOp::Delete {
                message_id: "m1".into()
            }
        ),
        FoldOutcome::Cancelled
    );
    assert_eq!(f.ops(), vec![send("m2", "other")]);
    assert!(
        block_on(f.store.message("m1")).unwrap().is_none(),
        "the echo is gone"
    );
}

#[test]
fn delete_of_confirmed_message_drops_its_unsent_edits() {
    let mut f = Fixture::new();
    f.act(C, edit("old", "x"));
    f.act(C, react("old", "like", true));
    f.act(C, send("m2", "keep"));
    assert_eq!(
        f.act(
            C,
            OutboxOp::Delete {
                message_id: "old".into()
            }
        ),
        FoldOutcome::Enqueued
    );
    assert_eq!(
        f.ops(),
        vec![
            send("m2", "keep"),
            OutboxOp::Delete {
                message_id: "old".into()
            }
        ]
    );
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
}

#[test]
fn mark_read_keeps_one_entry_with_the_highest_seq() {
    let mut f = Fixture::new();
    f.act(C, OutboxOp::MarkRead { seq: 5 });
    f.act(D, OutboxOp::MarkRead { seq: 1 });
    f.act(C, OutboxOp::MarkRead { seq: 9 });
    f.act(C, OutboxOp::MarkRead { seq: 7 });
    assert_eq!(
        f.ops(),
        vec![OutboxOp::MarkRead { seq: 9 }, OutboxOp::MarkRead { seq: 1 }]
    );
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
            code: ErrorCode::Forbidden,
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
    let mut confirmed = message(C, 7);
    confirmed.id = "c1".into();
    let mut batch = WriteBatch::new();
    batch.put_message(confirmed);
    block_on(f.outbox().complete("c1", batch)).unwrap();
    assert!(f.entries().is_empty());
    let page = block_on(f.store.messages(C, Page::All)).unwrap();
    assert_eq!(
        page.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["c1"]
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

/// Live messages (id → text), reactions on them, read positions per channel.
type Visible = (
    BTreeMap<String, String>,
    BTreeSet<(String, String)>,
    BTreeMap<String, u64>,
);

/// What the server holds; also the user's view when every action applies at once.
#[derive(Debug, Default, Clone, PartialEq)]
struct World {
    /// id → (cid, text, deleted)
    messages: BTreeMap<String, (String, String, bool)>,
    reactions: BTreeSet<(String, String)>,
    read: BTreeMap<String, u64>,
}

impl World {
    fn apply(&mut self, cid: &str, op: &OutboxOp) {
        let alive = |w: &World, m: &str| w.messages.get(m).is_some_and(|(_, _, d)| !d);
        match op {
            OutboxOp::Send(m) => {
                self.messages
                    .entry(m.id.clone())
                    .or_insert((cid.into(), m.text.clone(), false));
            }
            OutboxOp::Edit { message_id, text } => {
                if alive(self, message_id) {
                    self.messages.get_mut(message_id).unwrap().1 = text.clone();
                }
            }
            OutboxOp::Delete { message_id } => {
                if let Some(m) = self.messages.get_mut(message_id) {
                    m.2 = true;
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
            OutboxOp::MarkRead { seq } => {
                let r = self.read.entry(cid.into()).or_default();
                *r = (*r).max(*seq);
            }
        }
    }

    /// What a user can see: live messages, reactions on them, read positions.
    fn visible(&self) -> Visible {
        let live: BTreeMap<_, _> = self
            .messages
            .iter()
            .filter(|(_, (_, _, d))| !d)
            .map(|(id, (_, t, _))| (id.clone(), t.clone()))
            .collect();
        let reactions = self
            .reactions
            .iter()
            .filter(|(m, _)| live.contains_key(m))
            .cloned()
            .collect();
        (live, reactions, self.read.clone())
    }
}

/// Random user actions valid in the user's current view.
fn random_action(rng: &mut Rng, view: &World, n: &mut u32) -> (String, OutboxOp) {
    let live: Vec<(&String, &String)> = view
        .messages
        .iter()
        .filter(|(_, (_, _, d))| !d)
        .map(|(id, (cid, _, _))| (id, cid))
        .collect();
    let cid = if rng.below(2) == 0 { C } else { D };
    *n += 1;
    if live.is_empty() || rng.below(4) == 0 {
        return (cid.into(), send(&format!("m{n}"), &format!("t{n}")));
    }
    let (id, mcid) = live[rng.below(live.len())];
    let kind = ["like", "wow"][rng.below(2)];
    let op = match rng.below(6) {
        0 | 1 => edit(id, &format!("e{n}")),
        2 => OutboxOp::Delete {
            message_id: id.clone(),
        },
        3 | 4 => react(
            id,
            kind,
            !view.reactions.contains(&(id.clone(), kind.into())),
        ),
        _ => OutboxOp::MarkRead {
            seq: rng.below(50) as u64,
        },
    };
    (mcid.clone(), op)
}

/// Delivers one ready entry to `server` (maybe after a retryable failure), maybe leaving it
/// in flight so later actions cannot fold into it.
fn step_delivery(rng: &mut Rng, f: &Fixture, server: &mut World, in_flight: &mut Vec<OutboxEntry>) {
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
