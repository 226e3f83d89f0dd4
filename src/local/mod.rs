//! Async primitives for one thread (the browser's): a one-shot channel ([`oneshot`]) and an
//! async lock ([`Lock`]). The `futures` crate's are thread-safe (atomics, `Arc`, a waiter slab)
//! and cost about 3 KB more of wasm; nothing here is `Send`, and nothing needs to be.

mod lock;
pub mod oneshot;

pub use lock::{Guard, Lock};
