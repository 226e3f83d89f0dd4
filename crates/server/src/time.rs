//! Timestamps: the database stores `TIMESTAMP` (UTC, no zone, as the seed schema says); the wire
//! carries RFC 3339 strings in UTC with microseconds.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what `%Y-%m-%dT%H:%M:%S%.6fZ` gives, written directly: every
/// message on the wire carries several of these).
pub fn fmt(t: NaiveDateTime) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(27);
    let year = t.year();
    if (0..=9999).contains(&year) {
        let _ = write!(
            s,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() % 1_000_000_000 / 1000
        );
        s
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

pub fn fmt_opt(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(fmt)
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_strftime_pattern() {
        for text in ["2026-11-25 12:29:30.339", "1999-01-02 03:04:05", "2024-02-29 23:59:59.999999", "0999-12-31 00:00:00.000001"] {
            let t = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            assert_eq!(fmt(t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        }
    }
}
