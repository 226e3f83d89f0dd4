//! The `#[wasm_bindgen]` classes JS sees (`ChatClient`, `Channel`) and the glue behind them:
//! the state shared by every handle of one client, the driver of its websocket, and the
//! synchronous entry ([`host`]) through which `js/index.js` and `js/io.js` — which own the
//! promises and sequence the I/O of every method — ask the client for each decision and hand
//! it each answer. Handles are cheap clones over that shared state and only take `&self`.

mod channel;
mod client;
mod drafts;
mod driver;
mod errors;
mod host;
mod mutations;
mod offline;
mod outbox;
mod rest;
mod shared;

pub use channel::Channel;
pub use client::ChatClient;
