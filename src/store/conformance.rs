//! The store conformance suite: one async function per behaviour every [`Store`] backend must
//! have, and [`store_conformance_tests!`](crate::store_conformance_tests), which turns them into
//! tests for one backend — natively (`#[test]` + a blocking executor, `W = serde_json::Value`)
//! or in the browser (`#[wasm_bindgen_test]`, `W = JsValue`). Each function gets a fresh, empty
//! store.
//!
//! Records are built as `serde_json::Value`s with `json!` and converted to the backend's record
//! type ([`TestWire`]); records read back are converted to `serde_json::Value` to be compared,
//! so the order of object keys never matters.

use serde_json::{json, Value};

use super::{Page, Store, StoreError, Write, WriteBatch};
use crate::outbox::{OutboxEntry, OutboxOp, OutboxState};
use crate::state::Wire;

/// Runs every conformance test against a backend. `$make` is an expression (it may `.await`)
/// that yields a fresh, empty store; each test evaluates it once.
///
/// ```text
/// chat_sdk::store_conformance_tests!(native, MemoryStore::<serde_json::Value>::new());
/// chat_sdk::store_conformance_tests!(wasm, BrowserStore::open(&fresh_name()).await.unwrap());
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($kind:ident, $make:expr) => {
        $crate::store_conformance_tests!(@each $kind, $make;
            ordering_by_sequence,
            latest_n,
            before_and_after_pages,
            upsert_by_id_replaces_local_echo,
            dedupe_of_repeated_pages,
            thread_index,
            outbox_order_per_channel,
            outbox_entries_round_trip,
            atomic_echo_and_enqueue,
            invalid_batch_writes_nothing,
            delete_message_takes_its_reactions,
            delete_messages_before,
            records_round_trip,
            records_read_back_as_written,
            clear_deletes_everything,
            eviction_never_touches_outbox,
            cold_start_reads_what_the_calls_read,
        );
    };
    (@each native, $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                ::futures::executor::block_on(async {
                    let store = $make;
                    $crate::store::conformance::$name(&store).await;
                });
            }
        )*
    };
    (@each wasm, $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[::wasm_bindgen_test::wasm_bindgen_test]
            async fn $name() {
                let store = $make;
                $crate::store::conformance::$name(&store).await;
            }
        )*
    };
}

/// A backend's record type as the suite builds and compares it: converted from and to
/// `serde_json::Value`.
pub trait TestWire: Wire {
    fn from_json(value: &Value) -> Self;
    fn to_json(&self) -> Value;
}

#[cfg(test)]
impl TestWire for Value {
    fn from_json(value: &Value) -> Self {
        value.clone()
    }
    fn to_json(&self) -> Value {
        self.clone()
    }
}

#[cfg(target_family = "wasm")]
impl TestWire for wasm_bindgen::JsValue {
    fn from_json(value: &Value) -> Self {
        js_sys::JSON::parse(&value.to_string()).expect("JSON.parse of a serde_json value")
    }
    fn to_json(&self) -> Value {
        let text: String = js_sys::JSON::stringify(self)
            .expect("JSON.stringify of a stored record")
            .into();
        serde_json::from_str(&text).expect("JSON.stringify gives JSON")
    }
}

const CID: &str = "messaging:general";
const OTHER: &str = "messaging:other";
const T: &str = "2026-01-01T00:00:00Z";

/// A confirmed message with id `{cid}#{seq}` (a `Message` as the server sends it).
pub fn message(cid: &str, seq: u64) -> Value {
    json!({
        "id": format!("{cid}#{seq}"),
        "cid": cid,
        "channel_seq": seq,
        "user_id": "alice",
        "text": format!("message {seq}"),
        "type": "text",
        "status": "sent",
        "attachments": [],
        "mentions": [],
        "metadata": {},
        "created_at": T,
        "updated_at": T,
        "reply_count": 0,
        "reaction_counts": {},
        "latest_reactions": [],
        "own_reactions": [],
    })
}

/// A local echo: not confirmed yet (`channel_seq == 0`, status `pending`).
pub fn echo(cid: &str, id: &str) -> Value {
    let mut m = message(cid, 0);
    m["id"] = id.into();
    m["status"] = "pending".into();
    m
}

/// `value` with `key` set to `field`.
pub fn with(mut value: Value, key: &str, field: impl Into<Value>) -> Value {
    value[key] = field.into();
    value
}

pub fn channel(cid: &str) -> Value {
    let (t, id) = cid.split_once(':').expect("test cid");
    json!({
        "cid": cid,
        "id": id,
        "type": t,
        "name": format!("name of {cid}"),
        "metadata": {},
        "created_by": "alice",
        "created_at": T,
        "updated_at": T,
        "last_seq": 7,
        "member_count": 2,
    })
}

pub fn user(id: &str) -> Value {
    json!({
        "id": id,
        "display_name": id.to_uppercase(),
        "type": "regular",
        "metadata": {},
        "is_online": false,
        "created_at": T,
        "updated_at": T,
    })
}

/// A `ChannelMember` (it does not carry its channel's cid).
pub fn member(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "role": "member",
        "joined_at": T,
        "unread_count": 0,
    })
}

pub fn reaction(message_id: &str, user_id: &str, kind: &str) -> Value {
    json!({
        "message_id": message_id,
        "user_id": user_id,
        "type": kind,
        "created_at": T,
    })
}

pub fn read_state(cid: &str, user_id: &str, seq: u64) -> Value {
    json!({
        "cid": cid,
        "user_id": user_id,
        "last_read_seq": seq,
        "last_read_at": T,
        "unread_count": 0,
    })
}

pub fn draft(cid: &str, parent_id: Option<&str>, text: &str) -> Value {
    let mut d = json!({
        "cid": cid,
        "text": text,
        "attachments": [],
        "mentions": [],
        "created_at": T,
        "updated_at": T,
    });
    if let Some(p) = parent_id {
        d["parent_id"] = p.into();
    }
    d
}

fn w<W: TestWire>(value: Value) -> W {
    W::from_json(&value)
}

pub fn send_entry<W: TestWire>(cid: &str, id: &str, order: u64) -> OutboxEntry<W> {
    OutboxEntry {
        id: id.into(),
        cid: cid.into(),
        order,
        op: OutboxOp::Send(w(json!({ "id": id, "text": format!("text of {id}") }))),
        state: OutboxState::Pending,
        attempts: 0,
    }
}

/// An entry as JSON, to compare entries whatever `W` is (`JsValue`s compare by identity).
fn entry_json<W: TestWire>(entry: &OutboxEntry<W>) -> Value {
    entry.to_wire().to_json()
}

fn json_of<W: TestWire>(records: &[W]) -> Vec<Value> {
    records.iter().map(TestWire::to_json).collect()
}

fn seqs<W: Wire>(messages: &[W]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m.u64_of("channel_seq").unwrap_or(0))
        .collect()
}

fn texts<W: Wire>(records: &[W]) -> Vec<String> {
    records
        .iter()
        .map(|m| m.str_of("text").unwrap_or_default())
        .collect()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("record with an id").to_owned()
}

async fn write<W: TestWire>(store: &dyn Store<W>, batch: &mut WriteBatch<W>) {
    store.write(std::mem::take(batch)).await.expect("write");
}

async fn put_seqs<W: TestWire>(
    store: &dyn Store<W>,
    cid: &str,
    seqs: impl IntoIterator<Item = u64>,
) {
    let mut batch = WriteBatch::new();
    batch.put_messages(seqs.into_iter().map(|s| w(message(cid, s))));
    write(store, &mut batch).await;
}

pub async fn ordering_by_sequence<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, [5, 3, 9]).await;
    put_seqs(store, CID, [1, 7, 2]).await;
    put_seqs(store, OTHER, [4, 6]).await;
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3, 5, 7, 9]);
    assert!(all.iter().all(|m| m.str_of("cid").as_deref() == Some(CID)));
    assert_eq!(
        seqs(&store.messages(OTHER, Page::All).await.unwrap()),
        vec![4, 6]
    );
    assert!(store
        .messages("messaging:none", Page::All)
        .await
        .unwrap()
        .is_empty());
    // Sequence numbers are compared as numbers, not as text.
    put_seqs(store, CID, [10, 100]).await;
    assert_eq!(
        seqs(&store.messages(CID, Page::Latest(3)).await.unwrap()),
        vec![9, 10, 100]
    );
}

pub async fn latest_n<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, 1..=120).await;
    put_seqs(store, OTHER, 200..=260).await;
    let latest = store.messages(CID, Page::Latest(50)).await.unwrap();
    assert_eq!(seqs(&latest), (71..=120).collect::<Vec<_>>());
    let few = store.messages(OTHER, Page::Latest(100)).await.unwrap();
    assert_eq!(few.len(), 61);
    assert_eq!(seqs(&few[..1]), vec![200]);
    assert!(store
        .messages(CID, Page::Latest(0))
        .await
        .unwrap()
        .is_empty());
}

pub async fn before_and_after_pages<W: TestWire>(store: &dyn Store<W>) {
    // Gaps in the sequence (other events took numbers) must not matter.
    put_seqs(store, CID, (1..=60).map(|s| s * 2)).await;
    put_seqs(store, OTHER, 1..=200).await;
    let page = |seq, limit, before: bool| {
        let p = if before {
            Page::Before { seq, limit }
        } else {
            Page::After { seq, limit }
        };
        store.messages(CID, p)
    };
    assert_eq!(
        seqs(&page(41, 5, true).await.unwrap()),
        vec![32, 34, 36, 38, 40]
    );
    assert_eq!(seqs(&page(40, 3, true).await.unwrap()), vec![34, 36, 38]);
    assert_eq!(
        seqs(&page(40, 4, false).await.unwrap()),
        vec![42, 44, 46, 48]
    );
    assert_eq!(seqs(&page(41, 2, false).await.unwrap()), vec![42, 44]);
    assert_eq!(seqs(&page(5, 10, true).await.unwrap()), vec![2, 4]);
    assert_eq!(seqs(&page(118, 10, false).await.unwrap()), vec![120]);
    assert!(page(120, 10, false).await.unwrap().is_empty());
    assert!(page(2, 10, true).await.unwrap().is_empty());
    assert!(page(40, 0, true).await.unwrap().is_empty());
    assert!(page(40, 0, false).await.unwrap().is_empty());
}

pub async fn upsert_by_id_replaces_local_echo<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, [1, 2]).await;
    let mut batch = WriteBatch::new();
    batch.put_message(w(echo(CID, "local-1")));
    write(store, &mut batch).await;
    // A local echo is readable by id but is not part of the confirmed pages.
    let stored = store.message("local-1").await.unwrap().expect("the echo");
    assert_eq!(seqs(&[stored]), vec![0]);
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![1, 2]
    );

    let confirmed = with(
        with(message(CID, 3), "id", "local-1"),
        "text",
        "from the server",
    );
    batch.put_message(w(confirmed.clone()));
    write(store, &mut batch).await;
    assert_eq!(
        store.message("local-1").await.unwrap().map(|m| m.to_json()),
        Some(confirmed.clone())
    );
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3]);
    assert_eq!(texts(&all)[2], "from the server");

    // An edit arriving later replaces the record, keeping its place.
    let edited = with(with(confirmed, "text", "edited"), "is_edited", true);
    batch.put_message(w(edited.clone()));
    write(store, &mut batch).await;
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].to_json(), edited);
}

pub async fn dedupe_of_repeated_pages<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, 1..=30).await;
    put_seqs(store, CID, 20..=40).await;
    put_seqs(store, CID, 1..=40).await;
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(seqs(&all), (1..=40).collect::<Vec<_>>());
    // The same id twice in one batch: the later write wins.
    let a = with(message(CID, 41), "text", "first");
    let b = with(a.clone(), "text", "second");
    let mut batch = WriteBatch::new();
    batch.put_message(w(a)).put_message(w(b));
    write(store, &mut batch).await;
    let latest = store.messages(CID, Page::Latest(1)).await.unwrap();
    assert_eq!(texts(&latest), vec!["second"]);
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 41);
}

pub async fn thread_index<W: TestWire>(store: &dyn Store<W>) {
    let parent = message(CID, 1);
    let parent_id = id(&parent);
    let mut batch = WriteBatch::new();
    batch.put_message(w(parent));
    for seq in [2, 4, 3, 6, 5] {
        batch.put_message(w(with(message(CID, seq), "parent_id", parent_id.as_str())));
    }
    batch.put_message(w(with(message(OTHER, 3), "parent_id", "someone-else")));
    batch.put_message(w(with(
        echo(CID, "local-reply"),
        "parent_id",
        parent_id.as_str(),
    )));
    write(store, &mut batch).await;

    let thread = store.thread(&parent_id, Page::All).await.unwrap();
    assert_eq!(seqs(&thread), vec![2, 3, 4, 5, 6]);
    assert!(thread
        .iter()
        .all(|m| m.str_of("parent_id").as_deref() == Some(parent_id.as_str())));
    assert_eq!(
        seqs(&store.thread(&parent_id, Page::Latest(2)).await.unwrap()),
        vec![5, 6]
    );
    let before = store
        .thread(&parent_id, Page::Before { seq: 5, limit: 2 })
        .await
        .unwrap();
    assert_eq!(seqs(&before), vec![3, 4]);
    let after = store
        .thread(&parent_id, Page::After { seq: 2, limit: 2 })
        .await
        .unwrap();
    assert_eq!(seqs(&after), vec![3, 4]);
    // Replies are channel messages too.
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 6);
    assert!(store
        .thread(&id(&message(CID, 2)), Page::All)
        .await
        .unwrap()
        .is_empty());
    // A reply that moves out of the thread (or is replaced by a copy without parent) leaves it.
    batch.put_message(w(message(CID, 4)));
    write(store, &mut batch).await;
    assert_eq!(
        seqs(&store.thread(&parent_id, Page::All).await.unwrap()),
        vec![2, 3, 5, 6]
    );
}

pub async fn outbox_order_per_channel<W: TestWire>(store: &dyn Store<W>) {
    let mut batch = WriteBatch::new();
    for (cid, id, order) in [
        (CID, "c", 3),
        (OTHER, "b", 2),
        (CID, "a", 1),
        (OTHER, "d", 10),
    ] {
        batch.put_outbox(send_entry(cid, id, order));
    }
    write(store, &mut batch).await;
    let all = store.outbox().await.unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "c", "d"]);
    let in_cid: Vec<_> = all
        .iter()
        .filter(|e| e.cid == CID)
        .map(|e| e.order)
        .collect();
    assert_eq!(in_cid, vec![1, 3]);

    // Updating an entry keeps one entry under its id.
    let mut failed = send_entry::<W>(CID, "c", 3);
    failed.state = OutboxState::Failed {
        code: "forbidden".into(),
        message: "frozen".into(),
    };
    failed.attempts = 2;
    batch.put_outbox(failed.clone()).delete_outbox("b");
    write(store, &mut batch).await;
    let all = store.outbox().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].state, failed.state);
    assert_eq!(entry_json(&all[1]), entry_json(&failed));
}

/// Every kind of operation in every state is read back exactly as it was written.
pub async fn outbox_entries_round_trip<W: TestWire>(store: &dyn Store<W>) {
    let ops: Vec<OutboxOp<W>> = vec![
        OutboxOp::Send(w(json!({
            "id": "m-1",
            "text": "hello",
            "mentions": ["bob"],
            "attachments": [{"type": "image", "url": "https://x/y.png"}],
            "metadata": {"nested": {"a": [1, 2]}},
            "is_silent": true,
        }))),
        OutboxOp::Edit {
            message_id: "m-0".into(),
            body: w(json!({"text": "edited", "attachments": []})),
        },
        OutboxOp::Delete {
            message_id: "m-0".into(),
            hard: false,
        },
        OutboxOp::Delete {
            message_id: "m-2".into(),
            hard: true,
        },
        OutboxOp::AddReaction {
            message_id: "m-0".into(),
            kind: "like".into(),
        },
        OutboxOp::RemoveReaction {
            message_id: "m-0".into(),
            kind: "👍".into(),
        },
        OutboxOp::MarkRead {
            message_id: Some("m-0".into()),
            seq: 12,
        },
        OutboxOp::MarkRead {
            message_id: None,
            seq: 40,
        },
        OutboxOp::Call {
            method: "POST".into(),
            path: "/v1/channels/messaging/general/members".into(),
            body: Some(w(json!({"add": ["carol"]}))),
        },
        OutboxOp::Call {
            method: "DELETE".into(),
            path: "/v1/channels/messaging/general/draft".into(),
            body: None,
        },
    ];
    let states = [
        OutboxState::Pending,
        OutboxState::InFlight,
        OutboxState::Failed {
            code: "invalid_input".into(),
            message: "text is too long".into(),
        },
    ];
    let mut written = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        for (j, state) in states.iter().enumerate() {
            let n = (i * states.len() + j) as u64;
            written.push(OutboxEntry {
                id: format!("e-{i}-{j}"),
                cid: if j == 1 { OTHER } else { CID }.into(),
                order: 100 - n,
                op: op.clone(),
                state: state.clone(),
                attempts: j as u32,
            });
        }
    }
    let mut batch = WriteBatch::new();
    for e in &written {
        batch.put_outbox(e.clone());
    }
    write(store, &mut batch).await;
    let read = store.outbox().await.unwrap();
    assert_eq!(read.len(), written.len());
    written.reverse(); // read back ordered by `order`
    for (r, e) in read.iter().zip(&written) {
        assert_eq!(entry_json(r), entry_json(e), "entry {}", e.id);
        assert_eq!(
            (&r.id, &r.cid, r.order, &r.state, r.attempts),
            (&e.id, &e.cid, e.order, &e.state, e.attempts)
        );
        assert_eq!(r.op.message_id(), e.op.message_id());
    }
}

pub async fn atomic_echo_and_enqueue<W: TestWire>(store: &dyn Store<W>) {
    let mut batch = WriteBatch::new();
    batch
        .put_message(w(echo(CID, "m-1")))
        .put_outbox(send_entry(CID, "m-1", 1))
        .put_reaction(w(reaction("m-0", "alice", "like")))
        .put_outbox(OutboxEntry::<W> {
            id: "r-1".into(),
            cid: CID.into(),
            order: 2,
            op: OutboxOp::AddReaction {
                message_id: "m-0".into(),
                kind: "like".into(),
            },
            state: OutboxState::Pending,
            attempts: 0,
        });
    write(store, &mut batch).await;
    assert!(store.message("m-1").await.unwrap().is_some());
    assert_eq!(store.reactions("m-0").await.unwrap().len(), 1);
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 2);
    assert_eq!(
        entry_json(&outbox[0]),
        entry_json(&send_entry::<W>(CID, "m-1", 1))
    );
}

pub async fn invalid_batch_writes_nothing<W: TestWire>(store: &dyn Store<W>) {
    let bad: Vec<Write<W>> = vec![
        // A sequence number a JS number cannot hold exactly.
        Write::PutMessage(w(message(CID, 1 << 60))),
        // Records without their key fields.
        Write::PutMessage(w(json!({"id": "x", "channel_seq": 1}))),
        Write::PutMessage(w(json!({"cid": CID, "channel_seq": 1}))),
        Write::PutReaction(w(json!({"message_id": "m", "user_id": "u"}))),
        Write::PutMember {
            cid: CID.into(),
            member: w(json!({"role": "member"})),
        },
        Write::PutChannel(w(json!({"id": "general"}))),
        Write::PutUser(w(json!({"name": "x"}))),
        Write::PutRead(w(json!({"cid": CID, "last_read_seq": 1}))),
        Write::PutDraft(w(json!({"text": "x"}))),
    ];
    for write in bad {
        let mut batch = WriteBatch::new();
        batch
            .put_message(w(echo(CID, "m-1")))
            .put_outbox(send_entry(CID, "m-1", 1))
            .push(write.clone());
        let err = store.write(batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Codec { .. }), "{err}: {write:?}");
        assert!(store.message("m-1").await.unwrap().is_none());
        assert!(store.outbox().await.unwrap().is_empty());
    }
    // The store is still usable.
    put_seqs(store, CID, [1]).await;
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 1);
}

pub async fn delete_message_takes_its_reactions<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, [1, 2]).await;
    let (one, two) = (id(&message(CID, 1)), id(&message(CID, 2)));
    let mut batch = WriteBatch::new();
    batch
        .put_reaction(w(reaction(&one, "bob", "like")))
        .put_reaction(w(reaction(&one, "alice", "like")))
        .put_reaction(w(reaction(&one, "alice", "wow")))
        .put_reaction(w(reaction(&two, "bob", "like")));
    write(store, &mut batch).await;
    let on_one = store.reactions(&one).await.unwrap();
    let keys: Vec<_> = on_one
        .iter()
        .map(|r| (r.str_of("user_id").unwrap(), r.str_of("type").unwrap()))
        .collect();
    let expected = [("alice", "like"), ("alice", "wow"), ("bob", "like")];
    assert_eq!(
        keys,
        expected.map(|(u, k)| (u.to_owned(), k.to_owned())).to_vec()
    );

    batch.delete_reaction(&one, "alice", "wow");
    write(store, &mut batch).await;
    assert_eq!(store.reactions(&one).await.unwrap().len(), 2);

    batch.delete_message(&one);
    write(store, &mut batch).await;
    assert!(store.message(&one).await.unwrap().is_none());
    assert!(store.reactions(&one).await.unwrap().is_empty());
    assert_eq!(store.reactions(&two).await.unwrap().len(), 1);
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![2]
    );
}

/// `DeleteMessagesBefore`: confirmed messages below the sequence go with their reactions; local
/// echoes, messages the outbox refers to and other channels stay; writes apply in batch order.
pub async fn delete_messages_before<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, 1..=10).await;
    put_seqs(store, OTHER, 1..=5).await;
    let parent = id(&message(CID, 1));
    let mut batch = WriteBatch::new();
    batch
        .put_message(w(echo(CID, "local-1")))
        .put_message(w(with(message(CID, 12), "parent_id", parent.as_str())))
        .put_message(w(with(message(CID, 4), "parent_id", parent.as_str())))
        .put_outbox(send_entry(CID, "local-1", 1))
        .put_outbox(OutboxEntry::<W> {
            id: "edit-3".into(),
            cid: CID.into(),
            order: 2,
            op: OutboxOp::Edit {
                message_id: id(&message(CID, 3)),
                body: w(json!({"text": "new"})),
            },
            state: OutboxState::InFlight,
            attempts: 1,
        })
        .put_reaction(w(reaction(&id(&message(CID, 2)), "bob", "like")))
        .put_reaction(w(reaction(&id(&message(CID, 8)), "bob", "like")))
        .put_reaction(w(reaction(&id(&message(OTHER, 2)), "bob", "like")));
    write(store, &mut batch).await;

    batch.delete_messages_before(CID, 6);
    write(store, &mut batch).await;
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![3, 6, 7, 8, 9, 10, 12]
    );
    assert!(store.message("local-1").await.unwrap().is_some());
    assert!(store
        .message(&id(&message(CID, 2)))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .reactions(&id(&message(CID, 2)))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.reactions(&id(&message(CID, 8))).await.unwrap().len(),
        1
    );
    assert_eq!(
        seqs(&store.thread(&parent, Page::All).await.unwrap()),
        vec![12]
    );
    assert_eq!(store.messages(OTHER, Page::All).await.unwrap().len(), 5);
    assert_eq!(
        store
            .reactions(&id(&message(OTHER, 2)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.outbox().await.unwrap().len(), 2);

    // Everything (a channel whose history must be loaded again), in order within one batch:
    // an entry written before the delete protects its message; a message written after it stays.
    batch
        .put_outbox(OutboxEntry::<W> {
            id: "react-7".into(),
            cid: CID.into(),
            order: 3,
            op: OutboxOp::AddReaction {
                message_id: id(&message(CID, 7)),
                kind: "like".into(),
            },
            state: OutboxState::Pending,
            attempts: 0,
        })
        .put_message(w(message(CID, 20)))
        .delete_messages_before(CID, u64::MAX)
        .put_message(w(message(CID, 21)));
    write(store, &mut batch).await;
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![3, 7, 21]
    );
    assert!(store.message("local-1").await.unwrap().is_some());
    assert!(store
        .reactions(&id(&message(CID, 8)))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.messages(OTHER, Page::All).await.unwrap().len(), 5);
    // Nothing below the first sequence number: a no-op.
    batch.delete_messages_before(OTHER, 1);
    write(store, &mut batch).await;
    assert_eq!(store.messages(OTHER, Page::All).await.unwrap().len(), 5);
}

pub async fn records_round_trip<W: TestWire>(store: &dyn Store<W>) {
    let alice = with(user("alice"), "metadata", json!({"team": 7}));
    let mut batch = WriteBatch::new();
    batch
        .put_channel(w(channel(OTHER)))
        .put_channel(w(channel(CID)))
        .put_member(CID, w(member("bob")))
        .put_member(CID, w(member("alice")))
        .put_member(OTHER, w(member("carol")))
        .put_user(w(alice.clone()))
        .put_read(w(read_state(CID, "bob", 2)))
        .put_read(w(read_state(CID, "alice", 4)))
        .put_read(w(read_state(OTHER, "alice", 9)))
        .put_draft(w(draft(CID, None, "hi")))
        .put_draft(w(draft(CID, Some("p"), "in thread")))
        .put_meta("cursor:user", "42");
    write(store, &mut batch).await;

    assert_eq!(
        store.channel(CID).await.unwrap().map(|c| c.to_json()),
        Some(channel(CID))
    );
    let cids: Vec<_> = store
        .channels()
        .await
        .unwrap()
        .iter()
        .map(|c| c.str_of("cid").unwrap())
        .collect();
    assert_eq!(cids, vec![CID.to_owned(), OTHER.to_owned()]);
    let members: Vec<_> = store
        .members(CID)
        .await
        .unwrap()
        .iter()
        .map(|m| m.str_of("user_id").unwrap())
        .collect();
    assert_eq!(members, vec!["alice", "bob"]);
    assert_eq!(
        store.user("alice").await.unwrap().map(|u| u.to_json()),
        Some(alice)
    );
    assert!(store.user("nobody").await.unwrap().is_none());
    let reads = store.reads(CID).await.unwrap();
    assert_eq!(
        reads
            .iter()
            .map(|r| (
                r.str_of("user_id").unwrap(),
                r.u64_of("last_read_seq").unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![("alice".to_owned(), 4), ("bob".to_owned(), 2)]
    );
    let text = |d: Option<W>| d.and_then(|d| d.str_of("text"));
    assert_eq!(
        text(store.draft(CID, None).await.unwrap()).as_deref(),
        Some("hi")
    );
    assert_eq!(
        text(store.draft(CID, Some("p")).await.unwrap()).as_deref(),
        Some("in thread")
    );
    assert!(store.draft(OTHER, None).await.unwrap().is_none());
    let all: Vec<Value> = store
        .drafts()
        .await
        .unwrap()
        .iter()
        .map(|d| d.to_json())
        .collect();
    assert_eq!(
        all,
        vec![draft(CID, None, "hi"), draft(CID, Some("p"), "in thread")]
    );
    assert_eq!(
        store.meta("cursor:user").await.unwrap().as_deref(),
        Some("42")
    );
    assert_eq!(store.meta("cursor:none").await.unwrap(), None);

    batch.delete_draft(CID, Some("p"));
    batch.push(Write::DeleteMember {
        cid: CID.into(),
        user_id: "bob".into(),
    });
    batch.push(Write::DeleteChannel(OTHER.into()));
    batch.put_meta("cursor:user", "43");
    write(store, &mut batch).await;
    assert!(store.draft(CID, Some("p")).await.unwrap().is_none());
    assert!(store.draft(CID, None).await.unwrap().is_some());
    assert_eq!(store.drafts().await.unwrap().len(), 1);
    assert_eq!(store.members(CID).await.unwrap().len(), 1);
    assert_eq!(store.channels().await.unwrap().len(), 1);
    assert_eq!(
        store.meta("cursor:user").await.unwrap().as_deref(),
        Some("43")
    );
}

/// A record read back equals the record written: same fields, same values, none added — the
/// key fields a backend adds for its indexes are stripped again.
pub async fn records_read_back_as_written<W: TestWire>(store: &dyn Store<W>) {
    let confirmed = with(message(CID, 3), "user", json!({"id": "alice", "name": "A"}));
    let reply = with(message(CID, 4), "parent_id", id(&confirmed));
    // A local echo without any sequence field.
    let mut local = echo(CID, "local-1");
    local.as_object_mut().unwrap().remove("channel_seq");
    let members = [member("alice"), with(member("bob"), "role", "owner")];
    let reactions = [
        reaction(&id(&confirmed), "alice", "like"),
        reaction(&id(&confirmed), "bob", "👍"),
    ];
    let channel_draft = draft(CID, None, "channel draft");
    let thread_draft = draft(CID, Some(&id(&confirmed)), "thread draft");
    let read = read_state(CID, "alice", 3);
    let mut batch = WriteBatch::new();
    batch
        .put_channel(w(channel(CID)))
        .put_user(w(user("bob")))
        .put_messages([&confirmed, &reply, &local].map(|m| w(m.clone())))
        .put_member(CID, w(members[0].clone()))
        .put_member(CID, w(members[1].clone()))
        .put_reaction(w(reactions[0].clone()))
        .put_reaction(w(reactions[1].clone()))
        .put_draft(w(channel_draft.clone()))
        .put_draft(w(thread_draft.clone()))
        .put_read(w(read.clone()));
    write(store, &mut batch).await;

    assert_eq!(
        store.channel(CID).await.unwrap().map(|r| r.to_json()),
        Some(channel(CID))
    );
    assert_eq!(
        store.user("bob").await.unwrap().map(|r| r.to_json()),
        Some(user("bob"))
    );
    for m in [&confirmed, &reply, &local] {
        assert_eq!(
            store
                .message(&id(m))
                .await
                .unwrap()
                .map(|r| r.to_json())
                .as_ref(),
            Some(m)
        );
    }
    assert_eq!(
        json_of(&store.messages(CID, Page::All).await.unwrap()),
        vec![confirmed.clone(), reply.clone()]
    );
    assert_eq!(
        json_of(&store.messages(CID, Page::Latest(1)).await.unwrap()),
        vec![reply.clone()]
    );
    assert_eq!(
        json_of(
            &store
                .messages(CID, Page::After { seq: 3, limit: 5 })
                .await
                .unwrap()
        ),
        vec![reply.clone()]
    );
    assert_eq!(
        json_of(&store.thread(&id(&confirmed), Page::All).await.unwrap()),
        vec![reply.clone()]
    );
    assert_eq!(
        json_of(&store.members(CID).await.unwrap()),
        members.to_vec()
    );
    assert_eq!(
        json_of(&store.reactions(&id(&confirmed)).await.unwrap()),
        reactions.to_vec()
    );
    assert_eq!(
        store.draft(CID, None).await.unwrap().map(|r| r.to_json()),
        Some(channel_draft)
    );
    assert_eq!(
        store
            .draft(CID, Some(&id(&confirmed)))
            .await
            .unwrap()
            .map(|r| r.to_json()),
        Some(thread_draft)
    );
    assert_eq!(json_of(&store.reads(CID).await.unwrap()), vec![read]);
}

pub async fn clear_deletes_everything<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, 1..=10).await;
    let mut batch = WriteBatch::new();
    batch
        .put_channel(w(channel(CID)))
        .put_member(CID, w(member("alice")))
        .put_user(w(user("alice")))
        .put_message(w(echo(CID, "m-1")))
        .put_outbox(send_entry(CID, "m-1", 1))
        .put_reaction(w(reaction("m-1", "alice", "like")))
        .put_read(w(read_state(CID, "alice", 1)))
        .put_draft(w(draft(CID, None, "x")))
        .put_meta("cursor", "1");
    write(store, &mut batch).await;
    store.clear().await.unwrap();
    assert!(store.messages(CID, Page::All).await.unwrap().is_empty());
    assert!(store.message("m-1").await.unwrap().is_none());
    assert!(store.channels().await.unwrap().is_empty());
    assert!(store.members(CID).await.unwrap().is_empty());
    assert!(store.user("alice").await.unwrap().is_none());
    assert!(store.outbox().await.unwrap().is_empty());
    assert!(store.reactions("m-1").await.unwrap().is_empty());
    assert!(store.reads(CID).await.unwrap().is_empty());
    assert!(store.draft(CID, None).await.unwrap().is_none());
    assert!(store.meta("cursor").await.unwrap().is_none());
    // Usable afterwards.
    put_seqs(store, CID, [3]).await;
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 1);
}

pub async fn eviction_never_touches_outbox<W: TestWire>(store: &dyn Store<W>) {
    put_seqs(store, CID, 1..=10).await;
    put_seqs(store, OTHER, 1..=10).await;
    let edited = id(&message(CID, 2));
    let mut batch = WriteBatch::new();
    batch
        .put_message(w(echo(CID, "local-1")))
        .put_outbox(send_entry(CID, "local-1", 1))
        .put_outbox(OutboxEntry::<W> {
            id: "edit-1".into(),
            cid: CID.into(),
            order: 2,
            op: OutboxOp::Edit {
                message_id: edited.clone(),
                body: w(json!({"text": "new"})),
            },
            state: OutboxState::Pending,
            attempts: 0,
        })
        .put_reaction(w(reaction(&id(&message(CID, 1)), "bob", "like")));
    write(store, &mut batch).await;

    let removed = store.evict_messages(CID, 3).await.unwrap();
    assert_eq!(removed, 6); // 1, 3, 4, 5, 6, 7 (2 is referenced by the outbox)
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![2, 8, 9, 10]
    );
    assert!(store
        .reactions(&id(&message(CID, 1)))
        .await
        .unwrap()
        .is_empty());
    assert!(store.message("local-1").await.unwrap().is_some());
    assert_eq!(store.outbox().await.unwrap().len(), 2);
    assert_eq!(store.messages(OTHER, Page::All).await.unwrap().len(), 10);
    assert_eq!(store.evict_messages(CID, 3).await.unwrap(), 0);
    assert_eq!(store.evict_messages(OTHER, 0).await.unwrap(), 10);
}

fn cursor_key(cid: &str) -> String {
    format!("cursor:{cid}")
}

/// [`Store::cold_start`] answers, for every channel, what the single calls answer: members,
/// reads and the newest confirmed messages (no local echo); and every metadata record.
pub async fn cold_start_reads_what_the_calls_read<W: TestWire>(store: &dyn Store<W>) {
    let empty = store.cold_start(3).await.unwrap();
    assert!(empty.channels.is_empty() && empty.meta.is_empty());
    let mut batch = WriteBatch::new();
    batch
        .put_channel(w(channel(OTHER)))
        .put_channel(w(channel(CID)))
        .put_messages((1..=5).map(|s| w(message(CID, s))))
        .put_message(w(echo(CID, "local-1")))
        .put_messages((1..=2).map(|s| w(message(OTHER, s))))
        .put_member(CID, w(member("bob")))
        .put_member(CID, w(member("alice")))
        .put_member(OTHER, w(member("carol")))
        .put_member("messaging:no-channel-record", w(member("dan")))
        .put_read(w(read_state(CID, "alice", 4)))
        .put_meta("query:x", "a\nb")
        .put_meta(&cursor_key(CID), "7");
    write(store, &mut batch).await;

    let json = |v: &[W]| v.iter().map(|r| r.to_json()).collect::<Vec<_>>();
    let cold = store.cold_start(3).await.unwrap();
    let all = &cold.channels;
    let cids: Vec<_> = all
        .iter()
        .map(|c| c.channel.str_of("cid").unwrap())
        .collect();
    assert_eq!(cids, vec![CID.to_owned(), OTHER.to_owned()]);
    for c in all {
        let cid = c.channel.str_of("cid").unwrap();
        assert_eq!(c.channel.to_json(), channel(&cid));
        assert_eq!(
            json(&c.members),
            json(&store.members(&cid).await.unwrap()),
            "{cid} members"
        );
        assert_eq!(
            json(&c.reads),
            json(&store.reads(&cid).await.unwrap()),
            "{cid} reads"
        );
        assert_eq!(
            json(&c.messages),
            json(&store.messages(&cid, Page::Latest(3)).await.unwrap()),
            "{cid} messages"
        );
    }
    assert_eq!(seqs_of(&all[0].messages), vec![3, 4, 5]);
    assert_eq!(all[0].members.len(), 2);
    assert_eq!(seqs_of(&all[1].messages), vec![1, 2]);
    // Every metadata record, in key order, as `meta` reads each.
    assert_eq!(
        cold.meta,
        vec![
            (cursor_key(CID), "7".to_owned()),
            ("query:x".to_owned(), "a\nb".to_owned()),
        ]
    );
    assert_eq!(cold.meta(&cursor_key(CID)), Some("7"));
    assert_eq!(cold.meta(&cursor_key(OTHER)), None);
    assert_eq!(
        store.meta("query:x").await.unwrap().as_deref(),
        cold.meta("query:x")
    );
}

fn seqs_of<W: Wire>(messages: &[W]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m.u64_of("channel_seq").unwrap_or(0))
        .collect()
}
