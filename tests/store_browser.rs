//! Browser tests of the IndexedDB store (headless Chromium, no server needed): the store
//! conformance suite on a fresh uuid-named database per test (and on the in-memory backends:
//! js/memory.js, which the SDK uses without IndexedDB, and the Rust `MemoryStore`),
//! the schema migrations with data in the database (v1 → current, and records as versions 2
//! and 3 wrote them → current), a blocked upgrade, and reopening a connection another tab
//! closed.
//!
//! `wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver --test store_browser`
#![cfg(target_family = "wasm")]

use chat_sdk::outbox::{OutboxOp, OutboxState};
use chat_sdk::state::Wire;
use chat_sdk::store::conformance::{draft, member, message, reaction, with, TestWire};
use chat_sdk::store::browser::SCHEMA_VERSION;
use chat_sdk::store::browser::BrowserStore;
use chat_sdk::store::{Page, Store, StoreError, WriteBatch};
use js_sys::Reflect;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest};

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_name() -> String {
    format!("chat-sdk-test-{}", uuid::Uuid::new_v4().simple())
}

fn js(value: Value) -> JsValue {
    JsValue::from_json(&value)
}

mod conformance {
    use super::*;

    chat_sdk::store_conformance_tests!(wasm, {
        BrowserStore::open(&fresh_name())
            .await
            .expect("open a fresh database")
    });
}

/// The browser fallback (no IndexedDB): the same suite with `W = JsValue`.
mod memory_conformance {
    use super::*;
    use chat_sdk::store::MemoryStore;

    chat_sdk::store_conformance_tests!(wasm, MemoryStore::<JsValue>::new());
}

/// What the SDK uses in the browser without IndexedDB: the same adapter over js/memory.js.
mod js_memory_conformance {
    use super::*;

    chat_sdk::store_conformance_tests!(wasm, BrowserStore::memory());
}

/// The paging tests again, reading newest-first pages with a cursor (what browsers without
/// IndexedDB 3's `getAll({direction})` do).
mod cursor_pages {
    use super::*;
    use chat_sdk::store::conformance as c;

    async fn store() -> BrowserStore {
        let store = BrowserStore::open(&fresh_name()).await.unwrap();
        store.use_cursor_pages();
        store
    }

    #[wasm_bindgen_test]
    async fn pages() {
        c::ordering_by_sequence(&store().await).await;
        c::latest_n(&store().await).await;
        c::before_and_after_pages(&store().await).await;
        c::thread_index(&store().await).await;
        c::records_read_back_as_written(&store().await).await;
        c::delete_messages_before(&store().await).await;
        c::cold_start_reads_what_the_calls_read(&store().await).await;
    }
}

fn factory() -> IdbFactory {
    Reflect::get(&js_sys::global(), &"indexedDB".into())
        .unwrap()
        .unchecked_into()
}

/// Waits for an open request to succeed (a connection that, unlike the store's own, does not
/// close when another one wants to upgrade).
async fn raw_open(name: &str, version: u32) -> IdbDatabase {
    let request: IdbOpenDbRequest = factory().open_with_u32(name, version).unwrap();
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(done).await.unwrap();
    request.result().unwrap().unchecked_into()
}

/// Puts raw records (as an older release stored them) into `db`, in one transaction.
async fn raw_put(db: &IdbDatabase, store: &str, records: &[Value]) {
    let tx = db
        .transaction_with_str_and_mode(store, web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    let object_store = tx.object_store(store).unwrap();
    for r in records {
        object_store.put(&js(r.clone())).unwrap();
    }
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(done).await.unwrap();
}

fn seqs(messages: &[JsValue]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m.u64_of("channel_seq").unwrap_or(0))
        .collect()
}

#[wasm_bindgen_test]
async fn an_open_says_whether_it_created_the_database() {
    let name = fresh_name();
    let first = BrowserStore::open(&name).await.unwrap();
    assert!(first.created(), "a first open creates the database");
    first.close();
    let again = BrowserStore::open(&name).await.unwrap();
    assert!(!again.created(), "an existing database is not new");
    again.close();
    // Upgraded from an older version: not new either (it may hold data to read back).
    let name = fresh_name();
    BrowserStore::open_at_version(&name, 1).await.unwrap().close();
    let upgraded = BrowserStore::open(&name).await.unwrap();
    assert!(!upgraded.created());
    upgraded.close();
}

#[wasm_bindgen_test]
async fn v1_database_with_data_opens_through_the_current_version() {
    let name = fresh_name();
    let old = BrowserStore::open_at_version(&name, 1).await.unwrap();
    let mut batch = WriteBatch::new();
    batch
        .put_messages((1..=30).map(|s| js(message("messaging:a", s))))
        .put_member("messaging:a", js(member("alice")))
        .put_member("messaging:b", js(member("alice")))
        .put_member("messaging:b", js(member("bob")));
    old.write(batch).await.unwrap();
    old.close();

    assert_eq!(SCHEMA_VERSION, 4);
    let new = BrowserStore::open(&name).await.unwrap();
    let latest = new.messages("messaging:a", Page::Latest(5)).await.unwrap();
    assert_eq!(seqs(&latest), vec![26, 27, 28, 29, 30]);
    assert_eq!(latest[4].to_json(), message("messaging:a", 30));
    assert_eq!(new.members("messaging:b").await.unwrap().len(), 2);
    // The index added by step 2 covers the rows written at version 1.
    assert_eq!(
        new.member_channels("alice").await.unwrap(),
        vec!["messaging:a".to_owned(), "messaging:b".to_owned()]
    );
    assert_eq!(
        new.member_channels("bob").await.unwrap(),
        vec!["messaging:b".to_owned()]
    );
    new.close();
    BrowserStore::delete(&name).await.unwrap();
}

/// Records exactly as the version-2 code stored them (serde's encoding of the typed structs,
/// plus its key fields) are read through the current version: reactions get their `type`.
#[wasm_bindgen_test]
async fn v2_records_are_read_through_the_current_version() {
    let name = fresh_name();
    BrowserStore::open_at_version(&name, 2)
        .await
        .unwrap()
        .close();
    let db = raw_open(&name, 2).await;
    let cid = "messaging:a";
    let m1 = message(cid, 1);
    let m1_id = m1["id"].as_str().unwrap().to_owned();
    // As version 2 stored them: confirmed messages with `rseq`, replies, a local echo without.
    let mut v2_messages: Vec<Value> = (1..=30)
        .map(|seq| {
            let m = message(cid, seq);
            let m = if seq % 10 == 0 { with(m, "parent_id", m1_id.as_str()) } else { m };
            with(m, "rseq", -(seq as i64))
        })
        .collect();
    v2_messages.push(with(with(message(cid, 0), "id", "local-1"), "status", "pending"));
    raw_put(&db, "messages", &v2_messages).await;
    raw_put(
        &db,
        "members",
        &[with(member("alice"), "cid", cid), with(member("bob"), "cid", cid)],
    )
    .await;
    raw_put(
        &db,
        "reactions",
        &[
            json!({"message_id": m1_id, "user_id": "alice", "kind": "like", "created_at": "t"}),
            json!({"message_id": m1_id, "user_id": "bob", "kind": "wow", "created_at": "t"}),
        ],
    )
    .await;
    raw_put(
        &db,
        "reads",
        &[json!({"cid": cid, "user_id": "alice", "last_read_seq": 1, "last_read_at": "t"})],
    )
    .await;
    raw_put(
        &db,
        "drafts",
        &[
            json!({"cid": cid, "text": "hi", "updated_at": "t", "thread": ""}),
            json!({"cid": cid, "parent_id": m1_id, "text": "re", "updated_at": "t", "thread": m1_id}),
        ],
    )
    .await;
    raw_put(
        &db,
        "outbox",
        &[
            json!({"id": "m-2", "cid": cid, "order": 1,
                "op": {"send": {"id": "m-2", "text": "queued", "mentions": []}},
                "state": "pending", "attempts": 0}),
            json!({"id": "e-1", "cid": cid, "order": 2,
                "op": {"edit": {"message_id": m1_id, "text": "edited"}},
                "state": {"failed": {"code": "forbidden", "message": "frozen"}}, "attempts": 1}),
            json!({"id": "d-1", "cid": cid, "order": 3,
                "op": {"delete": {"message_id": m1_id}}, "state": "in_flight", "attempts": 1}),
            json!({"id": "r-1", "cid": cid, "order": 4,
                "op": {"mark_read": {"seq": 1}}, "state": "pending", "attempts": 0}),
        ],
    )
    .await;
    raw_put(&db, "meta", &[json!({"key": "cursor:user", "value": "42"})]).await;
    db.close();

    let store = BrowserStore::open(&name).await.unwrap();
    assert_eq!(
        store.message(&m1_id).await.unwrap().map(|m| m.to_json()),
        Some(m1.clone())
    );
    assert_eq!(
        seqs(&store.messages(cid, Page::All).await.unwrap()),
        (1..=30).collect::<Vec<_>>()
    );
    let latest = store.messages(cid, Page::Latest(3)).await.unwrap();
    assert_eq!(seqs(&latest), vec![28, 29, 30]);
    assert_eq!(latest[0].to_json(), message(cid, 28), "no rseq left");
    assert_eq!(
        seqs(&store.messages(cid, Page::Before { seq: 10, limit: 2 }).await.unwrap()),
        vec![8, 9]
    );
    assert_eq!(
        seqs(&store.messages(cid, Page::After { seq: 10, limit: 2 }).await.unwrap()),
        vec![11, 12]
    );
    assert_eq!(
        seqs(&store.thread(&m1_id, Page::All).await.unwrap()),
        vec![10, 20, 30]
    );
    assert_eq!(
        store.message("local-1").await.unwrap().map(|m| m.to_json()),
        Some(with(with(message(cid, 0), "id", "local-1"), "status", "pending"))
    );
    let members: Vec<Value> = store
        .members(cid)
        .await
        .unwrap()
        .iter()
        .map(|m| m.to_json())
        .collect();
    assert_eq!(members, vec![member("alice"), member("bob")]);
    let reactions: Vec<Value> = store
        .reactions(&m1_id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.to_json())
        .collect();
    assert_eq!(
        reactions,
        vec![
            with(reaction(&m1_id, "alice", "like"), "created_at", "t"),
            with(reaction(&m1_id, "bob", "wow"), "created_at", "t"),
        ]
    );
    // A reaction written now replaces the converted one under the same key.
    let mut batch = WriteBatch::new();
    batch
        .put_reaction(js(reaction(&m1_id, "alice", "like")))
        .delete_reaction(&m1_id, "bob", "wow");
    store.write(batch).await.unwrap();
    assert_eq!(
        store.reactions(&m1_id).await.unwrap()[0].to_json(),
        reaction(&m1_id, "alice", "like")
    );
    assert_eq!(store.reactions(&m1_id).await.unwrap().len(), 1);
    assert_eq!(
        store.reads(cid).await.unwrap()[0].u64_of("last_read_seq"),
        Some(1)
    );
    assert_eq!(
        store.draft(cid, None).await.unwrap().map(|d| d.to_json()),
        Some(json!({"cid": cid, "text": "hi", "updated_at": "t"}))
    );
    assert_eq!(
        store
            .draft(cid, Some(&m1_id))
            .await
            .unwrap()
            .map(|d| d.to_json()),
        Some(json!({"cid": cid, "parent_id": m1_id, "text": "re", "updated_at": "t"}))
    );
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 4);
    match &outbox[0].op {
        OutboxOp::Send(m) => assert_eq!(
            m.to_json(),
            json!({"id": "m-2", "text": "queued", "mentions": []})
        ),
        other => panic!("{other:?}"),
    }
    match &outbox[1].op {
        OutboxOp::Edit { message_id, body } => {
            assert_eq!(message_id, &m1_id);
            assert_eq!(body.to_json(), json!({"text": "edited"}));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outbox[1].state,
        OutboxState::Failed {
            code: "forbidden".into(),
            message: "frozen".into()
        }
    );
    assert!(matches!(
        &outbox[2].op,
        OutboxOp::Delete { hard: false, .. }
    ));
    assert_eq!(outbox[2].state, OutboxState::InFlight);
    assert!(matches!(
        &outbox[3].op,
        OutboxOp::MarkRead {
            message_id: None,
            seq: 1
        }
    ));
    assert_eq!(
        store.meta("cursor:user").await.unwrap().as_deref(),
        Some("42")
    );
    // Eviction reads the old entries too: m1 is referenced by the edit (and the delete).
    assert_eq!(store.evict_messages(cid, 0).await.unwrap(), 29);
    assert_eq!(
        seqs(&store.messages(cid, Page::All).await.unwrap()),
        vec![1]
    );
    assert!(store.message("local-1").await.unwrap().is_some());
    store.close();
    BrowserStore::delete(&name).await.unwrap();
}

/// A database as the first wire-object code (schema version 3) wrote it: messages still with
/// `rseq` and the newest-first indexes, reactions with `type` and the key field `kind`.
#[wasm_bindgen_test]
async fn v3_records_are_read_through_the_current_version() {
    let name = fresh_name();
    BrowserStore::open_at_version(&name, 3)
        .await
        .unwrap()
        .close();
    let db = raw_open(&name, 3).await;
    let cid = "messaging:a";
    let messages: Vec<Value> = (1..=20)
        .map(|seq| with(message(cid, seq), "rseq", -(seq as i64)))
        .chain([with(message(cid, 0), "id", "local-1")])
        .collect();
    raw_put(&db, "messages", &messages).await;
    let liked = reaction("messaging:a#3", "alice", "like");
    raw_put(&db, "reactions", &[with(liked.clone(), "kind", "like")]).await;
    db.close();

    let store = BrowserStore::open(&name).await.unwrap();
    let latest = store.messages(cid, Page::Latest(2)).await.unwrap();
    assert_eq!(seqs(&latest), vec![19, 20]);
    assert_eq!(latest[1].to_json(), message(cid, 20));
    assert_eq!(
        seqs(&store.messages(cid, Page::After { seq: 17, limit: 9 }).await.unwrap()),
        vec![18, 19, 20]
    );
    assert_eq!(store.messages(cid, Page::All).await.unwrap().len(), 20);
    assert_eq!(
        store.message("local-1").await.unwrap().map(|m| m.to_json()),
        Some(with(message(cid, 0), "id", "local-1"))
    );
    assert_eq!(
        store.reactions("messaging:a#3").await.unwrap()[0].to_json(),
        liked
    );
    store.close();
    BrowserStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn upgrade_blocked_by_an_old_connection_is_reported() {
    let name = fresh_name();
    BrowserStore::open_at_version(&name, 1)
        .await
        .unwrap()
        .close();
    // A connection that, unlike the store's own, does not close when asked to.
    let stubborn = raw_open(&name, 1).await;
    let err = BrowserStore::open(&name).await.unwrap_err();
    assert!(matches!(err, StoreError::UpgradeBlocked { .. }), "{err}");
    stubborn.close();
    // Once it is gone, the upgrade goes through (and runs every step).
    let store = BrowserStore::open(&name).await.unwrap();
    let mut batch = WriteBatch::new();
    batch.put_member("messaging:a", js(member("alice")));
    store.write(batch).await.unwrap();
    assert_eq!(
        store.member_channels("alice").await.unwrap(),
        vec!["messaging:a".to_owned()]
    );
    store.close();
    BrowserStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_closed_connection_is_reopened_on_the_next_call() {
    let name = fresh_name();
    let store = BrowserStore::open(&name).await.unwrap();
    let mut batch = WriteBatch::new();
    batch.put_message(js(message("messaging:a", 1)));
    store.write(batch.clone()).await.unwrap();

    // Another tab deletes the database: our connection closes itself to let it.
    BrowserStore::delete(&name).await.unwrap();
    let err = store.write(batch.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::ConnectionClosed { .. }), "{err}");
    assert!(
        err.to_string().contains("clos"),
        "keeps the browser's message: {err}"
    );

    // The next call reopens (a new, empty database).
    assert!(store.message("messaging:a#1").await.unwrap().is_none());
    store.write(batch).await.unwrap();
    assert_eq!(
        store
            .messages("messaging:a", Page::All)
            .await
            .unwrap()
            .len(),
        1
    );
    store.close();
    BrowserStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_newer_database_is_a_version_error() {
    let name = fresh_name();
    raw_open(&name, SCHEMA_VERSION + 5).await.close();
    let err = BrowserStore::open(&name).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionTooNew { .. }), "{err}");
    BrowserStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn drafts_reactions_and_members_written_now_keep_their_shape_on_disk() {
    // What a later version (or another tab running older code) finds on disk: the wire
    // object plus only the documented key fields.
    let name = fresh_name();
    let store = BrowserStore::open(&name).await.unwrap();
    let mut batch = WriteBatch::new();
    batch
        .put_draft(js(draft("messaging:a", Some("p"), "x")))
        .put_reaction(js(reaction("m", "alice", "like")));
    store.write(batch).await.unwrap();
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    let tx = db.transaction_with_str("reactions").unwrap();
    let req = tx.object_store("reactions").unwrap().get_all().unwrap();
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(done).await.unwrap();
    let stored = req.result().unwrap().to_json();
    assert_eq!(
        stored,
        json!([with(reaction("m", "alice", "like"), "kind", "like")])
    );
    db.close();
    BrowserStore::delete(&name).await.unwrap();
}
