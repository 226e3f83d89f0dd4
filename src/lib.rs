//! chat-sdk: an offline-first chat SDK for the web, written in Rust and compiled to
//! WebAssembly.
//!
//! The crate is a sans-I/O core that builds and tests natively — [`connection`] (the websocket
//! lifecycle state machine with backoff), [`events`] (the listener dispatcher), [`sequence`]
//! (per-channel duplicate/gap detection), [`frame`] (routing header of server frames), [`api`]
//! (REST endpoints over a [`api::Transport`]), [`client`] (all of the above combined) — plus,
//! on wasm only, the browser adapters (`platform`) and the `#[wasm_bindgen]` facade
//! (`bindings`) that the npm package re-exports.

pub mod api;
pub mod cache;
pub mod client;
pub mod config;
pub mod connection;
pub mod decode;
pub mod echo;
pub mod error;
pub mod events;
pub mod frame;
pub mod outbox;
pub mod preflight;
pub mod sequence;
pub mod state;
pub mod store;
pub mod sync;
pub mod text;
pub mod typing;
pub mod vecmap;

#[cfg(target_family = "wasm")]
pub mod bindings;
#[cfg(target_family = "wasm")]
pub mod platform;

pub use error::SdkError;
