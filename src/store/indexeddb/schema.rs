//! The IndexedDB schema, declared in one place: object stores, their key paths and indexes,
//! and one migration step per version. Opening runs every step between the database's version
//! and [`SCHEMA_VERSION`] inside the browser's `upgradeneeded` transaction (so an upgrade is
//! all or nothing), and reports a blocked upgrade instead of waiting forever.
//!
//! Steps are immutable once released: a change is a new step with the next version number.
//!
//! | version | step |
//! | --- | --- |
//! | 1 | every store below, `messages.by_seq`, `messages.by_parent` |
//! | 2 | `members.by_user` `[user_id, cid]` (the channels a user is in) |
//!
//! Key design: message ordering uses `rseq = -channel_seq`, so one ascending `getAll` with a
//! limit returns the newest N messages (IndexedDB's `getAll` cannot walk backwards). Local
//! echoes have no `rseq` and are therefore not in the ordering indexes.

use std::cell::RefCell;
use std::future::IntoFuture;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use idb::{
    Database, DatabaseEvent, Event, Factory, IndexParams, KeyPath, ObjectStoreParams, Request,
};

use super::errors::from_idb;
use crate::store::StoreError;

/// The version this code writes. Bump it together with a new entry in [`STEPS`].
pub const SCHEMA_VERSION: u32 = 2;

pub const CHANNELS: &str = "channels";
pub const MEMBERS: &str = "members";
pub const USERS: &str = "users";
pub const MESSAGES: &str = "messages";
pub const REACTIONS: &str = "reactions";
pub const READS: &str = "reads";
pub const DRAFTS: &str = "drafts";
pub const OUTBOX: &str = "outbox";
pub const META: &str = "meta";
pub const ALL_STORES: [&str; 9] = [
    CHANNELS, MEMBERS, USERS, MESSAGES, REACTIONS, READS, DRAFTS, OUTBOX, META,
];

/// `messages` index `[cid, rseq]`: a channel's confirmed messages, newest first.
pub const BY_SEQ: &str = "by_seq";
/// `messages` index `[parent_id, rseq]`: a thread's confirmed replies, newest first.
pub const BY_PARENT: &str = "by_parent";
/// `members` index `[user_id, cid]` (version 2).
pub const BY_USER: &str = "by_user";

type Step = fn(&Database, &idb::Transaction) -> Result<(), idb::Error>;

/// `STEPS[v - 1]` upgrades a database from version `v - 1` to `v`.
const STEPS: [Step; SCHEMA_VERSION as usize] = [v1, v2];

fn single(path: &str) -> KeyPath {
    KeyPath::new_single(path)
}

fn array<'a>(paths: impl IntoIterator<Item = &'a str>) -> KeyPath {
    KeyPath::new_array(paths)
}

fn create(db: &Database, name: &str, key: KeyPath) -> Result<idb::ObjectStore, idb::Error> {
    let mut params = ObjectStoreParams::new();
    params.key_path(Some(key));
    db.create_object_store(name, params)
}

fn v1(db: &Database, _upgrade: &idb::Transaction) -> Result<(), idb::Error> {
    create(db, CHANNELS, single("cid"))?;
    create(db, MEMBERS, array(["cid", "user_id"]))?;
    create(db, USERS, single("id"))?;
    let messages = create(db, MESSAGES, single("id"))?;
    messages.create_index(BY_SEQ, array(["cid", "rseq"]), None)?;
    messages.create_index(BY_PARENT, array(["parent_id", "rseq"]), None)?;
    create(db, REACTIONS, array(["message_id", "user_id", "kind"]))?;
    create(db, READS, array(["cid", "user_id"]))?;
    create(db, DRAFTS, array(["cid", "thread"]))?;
    create(db, OUTBOX, single("id"))?;
    create(db, META, single("key"))?;
    Ok(())
}

fn v2(_db: &Database, upgrade: &idb::Transaction) -> Result<(), idb::Error> {
    let members = upgrade.object_store(MEMBERS)?;
    members.create_index(BY_USER, array(["user_id", "cid"]), Some(IndexParams::new()))?;
    Ok(())
}

/// Runs the steps from the event's old version to its new one.
fn migrate(event: &idb::event::VersionChangeEvent) -> Result<(), idb::Error> {
    let old = event.old_version()?;
    let new = event.new_version()?.unwrap_or(SCHEMA_VERSION);
    let db = event.database()?;
    let upgrade = event
        .target()?
        .transaction()
        .ok_or(idb::Error::TransactionNotFound)?;
    for version in old + 1..=new {
        STEPS[version as usize - 1](&db, &upgrade)?;
    }
    Ok(())
}

/// Opens `name` at `version` (at most [`SCHEMA_VERSION`]), upgrading it step by step. The
/// returned connection closes itself when another connection wants to upgrade or delete the
/// database (so this tab never blocks others); the store then reopens it on its next call.
pub async fn open(name: &str, version: u32) -> Result<Database, StoreError> {
    assert!(
        (1..=SCHEMA_VERSION).contains(&version),
        "unknown schema version {version}"
    );
    let factory = Factory::new().map_err(from_idb)?;
    let mut request = factory.open(name, Some(version)).map_err(from_idb)?;

    let failure: Rc<RefCell<Option<idb::Error>>> = Rc::default();
    let failed = failure.clone();
    request.on_upgrade_needed(move |event| {
        if let Err(e) = migrate(&event) {
            *failed.borrow_mut() = Some(e);
            if let Some(upgrade) = event.target().ok().and_then(|r| r.transaction()) {
                // Aborting the upgrade makes the open fail and leaves the old version intact.
                let _ = upgrade.abort();
            }
        }
    });
    let (blocked_tx, blocked_rx) = oneshot::channel::<()>();
    request.on_blocked(move |_| {
        let _ = blocked_tx.send(());
    });

    let opening = Box::pin(request.into_future());
    match select(opening, blocked_rx).await {
        Either::Left((Ok(mut db), _)) => {
            db.on_version_change(|event| {
                if let Ok(db) = event.database() {
                    db.close();
                }
            });
            Ok(db)
        }
        Either::Left((Err(e), _)) => match failure.borrow_mut().take() {
            // The upgrade step's own error says more than the resulting AbortError.
            Some(step) => {
                let mut err = from_idb(step);
                if let StoreError::Backend { context, .. } = &mut err {
                    context.insert_str(0, "schema migration: ");
                }
                Err(err)
            }
            None => Err(from_idb(e)),
        },
        Either::Right((Ok(()), opening)) => {
            // Keep the request alive: if it completes once the other tab lets go, close that
            // connection so it does not block anyone in turn.
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(db) = opening.await {
                    db.close();
                }
            });
            Err(StoreError::UpgradeBlocked {
                message: format!(
                    "opening {name} at version {version} waits for another connection to close"
                ),
            })
        }
        Either::Right((Err(_), opening)) => match opening.await {
            Ok(db) => Ok(db),
            Err(e) => Err(from_idb(e)),
        },
    }
}

/// Deletes the database `name` (sign-out of a device). Waits until every connection closed.
pub async fn delete(name: &str) -> Result<(), StoreError> {
    let factory = Factory::new().map_err(from_idb)?;
    factory
        .delete(name)
        .map_err(from_idb)?
        .await
        .map_err(from_idb)
}
