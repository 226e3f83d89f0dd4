//! The wall clock in milliseconds (the timers themselves are `js/io.js`'s).

/// Milliseconds since the epoch (only differences matter to the core).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
