//! Benchmark entry points of the IndexedDB store, exported to JS only with the `bench` feature
//! (bench/store.sh builds with it; the npm package never contains them). Each function times
//! only the [`Store`] calls with `performance.now()`; bench/store/page.js interleaves them with
//! the same operations in Dexie so machine load affects both alike. The data is generated the
//! same way as `makeMessage` in page.js: JS objects, as they come off the wire.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::browser::BrowserStore;
use super::{Page, Store, WriteBatch};
use crate::state::Wire;

const CID: &str = "messaging:bench";
const T: &str = "2026-01-01T00:00:00Z";

fn now() -> f64 {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or_default();
    let now: Function = Reflect::get(&performance, &"now".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .expect("performance.now");
    now.call0(&performance)
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// Message `i` of the benchmark channel (the same record as `makeMessage` in page.js).
fn bench_message(i: u32) -> JsValue {
    let s = |t: &str| JsValue::string(t);
    let mut fields = vec![
        ("id", s(&format!("m-{i}"))),
        ("cid", s(CID)),
        ("channel_seq", JsValue::number(u64::from(i) + 1)),
        ("user_id", s(&format!("u{}", i % 10))),
        (
            "text",
            s(&format!(
                "message number {i}: the quick brown fox jumps over the lazy dog"
            )),
        ),
        ("type", s("text")),
        ("status", s("sent")),
        ("attachments", JsValue::array(Vec::new())),
        ("mentions", JsValue::array(Vec::new())),
        ("metadata", JsValue::object(Vec::new())),
        ("created_at", s(T)),
        ("updated_at", s(T)),
    ];
    if i % 20 == 19 {
        fields.push(("parent_id", s(&format!("m-{}", i - i % 100))));
    }
    JsValue::object(fields)
}

fn err(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

/// Deletes `db`, then writes `total` messages into it as pages of `page` (one write batch
/// each). Returns the milliseconds the writes took.
#[wasm_bindgen(js_name = storeWrite)]
pub async fn store_write(db: String, total: u32, page: u32) -> Result<f64, JsValue> {
    BrowserStore::delete(&db).await.map_err(err)?;
    let store = BrowserStore::open(&db).await.map_err(err)?;
    let pages: Vec<Vec<JsValue>> = (0..total)
        .step_by(page as usize)
        .map(|start| {
            (start..(start + page).min(total))
                .map(bench_message)
                .collect()
        })
        .collect();
    let t0 = now();
    for messages in pages {
        let mut batch = WriteBatch::new();
        batch.put_messages(messages);
        store.write(batch).await.map_err(err)?;
    }
    let ms = now() - t0;
    store.close();
    Ok(ms)
}

/// Opens `db` on a new connection and reads the latest 50 messages (the JS objects the JS
/// facade hands to apps). Returns `{open_ms, query_ms}`.
#[wasm_bindgen(js_name = storeLatest50)]
pub async fn store_latest50(db: String) -> Result<JsValue, JsValue> {
    let t0 = now();
    let store = BrowserStore::open(&db).await.map_err(err)?;
    let t1 = now();
    let n = store
        .messages(CID, Page::Latest(50))
        .await
        .map_err(err)?
        .len();
    let t2 = now();
    store.close();
    if n != 50 {
        return Err(err(format!("latest 50 returned {n}")));
    }
    let out = Object::new();
    Reflect::set(&out, &"open_ms".into(), &(t1 - t0).into())?;
    Reflect::set(&out, &"query_ms".into(), &(t2 - t1).into())?;
    Ok(out.into())
}

/// Reads every message of the channel on an open connection; returns milliseconds.
#[wasm_bindgen(js_name = storeReadAll)]
pub async fn store_read_all(db: String, total: u32) -> Result<f64, JsValue> {
    let store = BrowserStore::open(&db).await.map_err(err)?;
    let t0 = now();
    let n = store.messages(CID, Page::All).await.map_err(err)?.len();
    let ms = now() - t0;
    store.close();
    if n != total as usize {
        return Err(err(format!("read all returned {n}")));
    }
    Ok(ms)
}

#[wasm_bindgen(js_name = storeDelete)]
pub async fn store_delete(db: String) -> Result<(), JsValue> {
    BrowserStore::delete(&db).await.map_err(err)
}
