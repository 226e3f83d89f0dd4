//! Browser adapters (wasm only): JSON through the JS engine, the clock, and [`crate::state::Wire`]
//! over JS values. (The websocket, its timers, the browser's signals, REST calls, the store's
//! writer and the outbox's delivery loop are `js/io.js`, behind `bindings`.)

pub mod json;
pub mod timer;
pub mod wire;
