//! Browser adapters (wasm only): JSON through the JS engine, timers and fetch. Each owns the JS
//! callbacks it registers and releases them on drop. (The websocket, its timers and the
//! browser's online / offline / visible signals are `js/io.js`, behind `bindings::driver`.)

pub mod http;
pub mod json;
pub mod timer;
pub mod wire;
