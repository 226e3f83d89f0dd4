//! Timestamps: the database stores `TIMESTAMP` (UTC, no zone, as the seed schema says); the wire
//! carries RFC 3339 strings in UTC with microseconds.

use chrono::NaiveDateTime;

pub fn fmt(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn fmt_opt(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(fmt)
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}
