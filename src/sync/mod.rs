//! Keeping the client's event streams complete and in order, sans I/O: the per-channel and
//! per-user cursors, live events held back until what precedes them has arrived, catch-up
//! through `POST /v1/sync` after a reconnect or a gap (paged by `has_more`), and reloads when
//! the server answers `resync`. [`SyncEngine`] says what to apply, fetch or reload; the caller
//! performs the requests and reports their answers.

mod engine;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use engine::{Stream, SyncAnswer, SyncEngine, SyncOut, SyncRequest, USER_SEQ_PROBE};
