//! The `#[wasm_bindgen]` facade that JS sees (`ChatClient`, `Channel`) and the glue behind it:
//! the state shared by every handle of one client and the task that drives its websocket.
//! Handles are cheap clones over that shared state and only take `&self`, so JS may call a
//! client again while one of its promises is pending.

mod channel;
mod client;
mod drafts;
mod driver;
mod errors;
mod mutations;
mod offline;
mod outbox;
mod shared;

pub use channel::Channel;
pub use client::ChatClient;
