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
//! | 3 | records are wire objects: reactions written before get their `type` (from `kind`) |
//! | 4 | `by_seq` / `by_parent` become `[cid, channel_seq]` / `[parent_id, channel_seq]`; messages lose their `rseq` |
//!
//! Up to version 2 records were Rust structs encoded by serde: the same shape as the wire
//! objects except that a reaction carried its type only as `kind` (now an extra key field,
//! [`super::codec`]), and messages carried `rseq = -channel_seq` for the old newest-first
//! indexes. The other differences need no conversion: older read states and drafts simply lack
//! fields the server sends today, the other extra key fields (a member's `cid`, a draft's
//! `thread`) are the same, and [`crate::outbox::OutboxEntry::from_wire`] reads entries in the
//! older shape.
//!
//! Message order: ascending `[cid, channel_seq]`, like the server's. `getAll` reads the oldest
//! first (every message, or a page after a sequence number); the newest ones (latest, a page
//! before a sequence number) are read with a cursor walking backwards, for at most a page.
//! Local echoes (`channel_seq` absent or 0) fall outside every range the queries use.
//!
//! [`crate::store::indexeddb::IndexedDbStore::open_at_version`] opens at an older version for
//! migration tests: to write data as an older release would have; reads assume this version.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Event, IdbCursorWithValue, IdbDatabase, IdbFactory, IdbObjectStoreParameters,
    IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbVersionChangeEvent,
};

use super::errors::{from_js, of_request};
use super::events::{Events, Fired};
use crate::store::StoreError;

/// The version this code writes. Bump it together with a new entry in [`STEPS`].
pub const SCHEMA_VERSION: u32 = 4;

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

/// `messages` index `[cid, channel_seq]` (version 4; `[cid, rseq]` before): a channel's
/// messages in order.
pub const BY_SEQ: &str = "by_seq";
/// `messages` index `[parent_id, channel_seq]` (version 4; `[parent_id, rseq]` before): a
/// thread's replies in order.
pub const BY_PARENT: &str = "by_parent";
/// `members` index `[user_id, cid]` (version 2).
pub const BY_USER: &str = "by_user";

type Step = fn(&IdbDatabase, &IdbTransaction) -> Result<(), JsValue>;

/// `STEPS[v - 1]` upgrades a database from version `v - 1` to `v`.
const STEPS: [Step; SCHEMA_VERSION as usize] = [v1, v2, v3, v4];

fn array(paths: &[&str]) -> Array {
    paths.iter().map(|p| JsValue::from_str(p)).collect()
}

fn create(db: &IdbDatabase, name: &str, key: &JsValue) -> Result<web_sys::IdbObjectStore, JsValue> {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(key);
    db.create_object_store_with_optional_parameters(name, &params)
}

fn v1(db: &IdbDatabase, _upgrade: &IdbTransaction) -> Result<(), JsValue> {
    let single = |p: &str| JsValue::from_str(p);
    create(db, CHANNELS, &single("cid"))?;
    create(db, MEMBERS, &array(&["cid", "user_id"]))?;
    create(db, USERS, &single("id"))?;
    let messages = create(db, MESSAGES, &single("id"))?;
    messages.create_index_with_str_sequence(BY_SEQ, &array(&["cid", "rseq"]))?;
    messages.create_index_with_str_sequence(BY_PARENT, &array(&["parent_id", "rseq"]))?;
    create(db, REACTIONS, &array(&["message_id", "user_id", "kind"]))?;
    create(db, READS, &array(&["cid", "user_id"]))?;
    create(db, DRAFTS, &array(&["cid", "thread"]))?;
    create(db, OUTBOX, &single("id"))?;
    create(db, META, &single("key"))?;
    Ok(())
}

fn v2(_db: &IdbDatabase, upgrade: &IdbTransaction) -> Result<(), JsValue> {
    let members = upgrade.object_store(MEMBERS)?;
    members.create_index_with_str_sequence(BY_USER, &array(&["user_id", "cid"]))?;
    Ok(())
}

/// Calls `change` on every record of `store` (inside the upgrade transaction; the open
/// completes after the walk); a record it changes (returns `true` for) is written back.
fn rewrite(
    upgrade: &IdbTransaction,
    store: &str,
    change: impl Fn(&JsValue) -> bool + 'static,
) -> Result<(), JsValue> {
    let request = upgrade.object_store(store)?.open_cursor()?;
    let on_success = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let Some(request) = event.target() else {
            return;
        };
        let request: IdbRequest = request.unchecked_into();
        let cursor = match request.result() {
            Ok(c) if c.is_object() => c.unchecked_into::<IdbCursorWithValue>(),
            _ => return, // the end
        };
        if let Ok(value) = cursor.value() {
            if change(&value) {
                // A failure here fails the upgrade transaction, and with it the open.
                let _ = cursor.update(&value);
            }
        }
        let _ = cursor.continue_();
    });
    // The request keeps the callback alive until it is collected with it.
    request.set_onsuccess(Some(on_success.into_js_value().unchecked_ref()));
    Ok(())
}

/// Records are wire objects: reactions stored as serde encoded them (`kind`, no `type`) get
/// `type = kind`.
fn v3(_db: &IdbDatabase, upgrade: &IdbTransaction) -> Result<(), JsValue> {
    let (type_, kind) = (JsValue::from_str("type"), JsValue::from_str("kind"));
    rewrite(upgrade, REACTIONS, move |r| {
        let has_type = Reflect::get(r, &type_).is_ok_and(|t| t.is_string());
        !has_type
            && Reflect::get(r, &kind)
                .and_then(|k| Reflect::set(r, &type_, &k))
                .unwrap_or(false)
    })
}

/// Messages are stored exactly as they are: ordered by `channel_seq` (no more `rseq`).
fn v4(_db: &IdbDatabase, upgrade: &IdbTransaction) -> Result<(), JsValue> {
    let messages = upgrade.object_store(MESSAGES)?;
    messages.delete_index(BY_SEQ)?;
    messages.delete_index(BY_PARENT)?;
    messages.create_index_with_str_sequence(BY_SEQ, &array(&["cid", "channel_seq"]))?;
    messages.create_index_with_str_sequence(BY_PARENT, &array(&["parent_id", "channel_seq"]))?;
    let rseq = JsValue::from_str("rseq");
    rewrite(upgrade, MESSAGES, move |m| {
        Reflect::has(m, &rseq).unwrap_or(false)
            && Reflect::delete_property(m.unchecked_ref::<js_sys::Object>(), &rseq)
                .unwrap_or(false)
    })
}

/// Runs the steps from the event's old version to its new one.
fn migrate(event: &IdbVersionChangeEvent, request: &IdbOpenDbRequest) -> Result<(), JsValue> {
    let old = event.old_version() as u32;
    let new = event.new_version().map_or(SCHEMA_VERSION, |v| v as u32);
    let db: IdbDatabase = request.result()?.unchecked_into();
    let upgrade = request
        .transaction()
        .ok_or_else(|| JsValue::from_str("no upgrade transaction"))?;
    for version in old + 1..=new {
        STEPS[version as usize - 1](&db, &upgrade)?;
    }
    Ok(())
}

fn factory() -> Result<IdbFactory, StoreError> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .ok()
        .and_then(|f| f.dyn_into::<IdbFactory>().ok())
        .ok_or_else(|| StoreError::Backend {
            context: "open".into(),
            name: "NotSupportedError".into(),
            message: "IndexedDB is not available here".into(),
        })
}

/// Opens `name` at `version` (at most [`SCHEMA_VERSION`]), upgrading it step by step. The
/// returned connection closes itself when another connection wants to upgrade or delete the
/// database (so this tab never blocks others); the store then reopens it on its next call.
/// Also answers whether the database was created by this call (it holds nothing yet).
pub async fn open(name: &str, version: u32) -> Result<(IdbDatabase, bool), StoreError> {
    assert!(
        (1..=SCHEMA_VERSION).contains(&version),
        "unknown schema version {version}"
    );
    let request = factory()?
        .open_with_u32(name, version)
        .map_err(|e| from_js("open", &e))?;

    let failure: Rc<RefCell<Option<JsValue>>> = Rc::default();
    let failed = failure.clone();
    let created = Rc::new(std::cell::Cell::new(false));
    let creating = created.clone();
    let upgrading = request.clone();
    let on_upgrade = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let event: IdbVersionChangeEvent = event.unchecked_into();
        creating.set(event.old_version() == 0.0);
        if let Err(e) = migrate(&event, &upgrading) {
            *failed.borrow_mut() = Some(e);
            if let Some(upgrade) = upgrading.transaction() {
                // Aborting the upgrade makes the open fail and leaves the old version intact.
                let _ = upgrade.abort();
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let events = Events::of_open(&request);

    match events.next().await {
        Fired::Done => {
            let db: IdbDatabase = request
                .result()
                .map_err(|e| from_js("open", &e))?
                .unchecked_into();
            let on_version_change = Closure::<dyn FnMut(Event)>::new(|event: Event| {
                if let Some(db) = event.target() {
                    db.unchecked_into::<IdbDatabase>().close();
                }
            });
            db.set_onversionchange(Some(on_version_change.into_js_value().unchecked_ref()));
            Ok((db, created.get()))
        }
        Fired::Failed => match failure.borrow_mut().take() {
            // The upgrade step's own error says more than the resulting AbortError.
            Some(step) => Err(from_js("schema migration", &step)),
            None => Err(of_request("open", &request)),
        },
        Fired::Blocked => {
            // Keep the request alive: if it completes once the other tab lets go, close that
            // connection so it does not block anyone in turn.
            // It still runs the migration if the upgrade proceeds, hence `on_upgrade` moves too.
            let pending = request.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _upgrade = on_upgrade;
                loop {
                    match events.next().await {
                        Fired::Blocked => continue,
                        Fired::Done => {
                            if let Ok(db) = pending.result() {
                                db.unchecked_into::<IdbDatabase>().close();
                            }
                        }
                        Fired::Failed => {}
                    }
                    break;
                }
            });
            Err(StoreError::UpgradeBlocked {
                message: format!(
                    "opening {name} at version {version} waits for another connection to close"
                ),
            })
        }
    }
}

/// Deletes the database `name` (sign-out of a device). Waits until every connection closed.
pub async fn delete(name: &str) -> Result<(), StoreError> {
    let request = factory()?
        .delete_database(name)
        .map_err(|e| from_js("delete database", &e))?;
    let events = Events::of_open(&request);
    loop {
        match events.next().await {
            Fired::Done => return Ok(()),
            // Other connections get `versionchange` and close (ours do); wait for them.
            Fired::Blocked => continue,
            Fired::Failed => return Err(of_request("delete database", &request)),
        }
    }
}
