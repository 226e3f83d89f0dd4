//! Browser adapters (wasm only): JSON through the JS engine, timers, fetch, and the network
//! online/offline signal. Each owns the JS callbacks it registers and releases them on drop.

pub mod http;
pub mod json;
pub mod network;
pub mod timer;
pub mod wire;
