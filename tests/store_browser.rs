//! Browser tests of the IndexedDB store (headless Chromium, no server needed): the store
//! conformance suite on a fresh uuid-named database per test, the v1 → v2 migration with data
//! in it, a blocked upgrade, and reopening a connection another tab closed.
//!
//! `wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver --test store_browser`
#![cfg(target_family = "wasm")]

use chat_sdk::store::conformance::{member, message};
use chat_sdk::store::indexeddb::schema::SCHEMA_VERSION;
use chat_sdk::store::indexeddb::IndexedDbStore;
use chat_sdk::store::{Page, Store, StoreError, WriteBatch};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_name() -> String {
    format!("chat-sdk-test-{}", uuid::Uuid::new_v4().simple())
}

mod conformance {
    use super::*;

    chat_sdk::store_conformance_tests!(wasm, {
        IndexedDbStore::open(&fresh_name())
            .await
            .expect("open a fresh database")
    });
}

#[wasm_bindgen_test]
async fn v1_database_with_data_opens_through_v2() {
    let name = fresh_name();
    let old = IndexedDbStore::open_at_version(&name, 1).await.unwrap();
    let mut batch = WriteBatch::new();
    batch
        .put_messages((1..=30).map(|s| message("messaging:a", s)))
        .put_member("messaging:a", member("alice"))
        .put_member("messaging:b", member("alice"))
        .put_member("messaging:b", member("bob"));
    old.write(batch).await.unwrap();
    old.close();

    assert_eq!(SCHEMA_VERSION, 2);
    let new = IndexedDbStore::open(&name).await.unwrap();
    let latest = new.messages("messaging:a", Page::Latest(5)).await.unwrap();
    let seqs: Vec<u64> = latest.iter().map(|m| m.channel_seq).collect();
    assert_eq!(seqs, vec![26, 27, 28, 29, 30]);
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
    IndexedDbStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn upgrade_blocked_by_an_old_connection_is_reported() {
    let name = fresh_name();
    // A connection that, unlike the store's own, does not close when asked to.
    let factory = idb::Factory::new().unwrap();
    let stubborn = factory.open(&name, Some(1)).unwrap().await.unwrap();
    let err = IndexedDbStore::open(&name).await.unwrap_err();
    assert!(matches!(err, StoreError::UpgradeBlocked { .. }), "{err}");
    stubborn.close();
}

#[wasm_bindgen_test]
async fn a_closed_connection_is_reopened_on_the_next_call() {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name).await.unwrap();
    let mut batch = WriteBatch::new();
    batch.put_message(message("messaging:a", 1));
    store.write(batch.clone()).await.unwrap();

    // Another tab deletes the database: our connection closes itself to let it.
    IndexedDbStore::delete(&name).await.unwrap();
    let err = store.write(batch.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::ConnectionClosed { .. }), "{err}");
    assert!(
        err.to_string().contains("clos"),
        "keeps the browser's message: {err}"
    );

    // The next call reopens (a new, empty database).
    assert!(store
        .message(&message("messaging:a", 1).id)
        .await
        .unwrap()
        .is_none());
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
    IndexedDbStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_newer_database_is_a_version_error() {
    let name = fresh_name();
    let factory = idb::Factory::new().unwrap();
    let future = factory
        .open(&name, Some(SCHEMA_VERSION + 5))
        .unwrap()
        .await
        .unwrap();
    future.close();
    let err = IndexedDbStore::open(&name).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionTooNew { .. }), "{err}");
    IndexedDbStore::delete(&name).await.unwrap();
}
