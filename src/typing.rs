//! Outgoing typing indicators: `keystroke` sends `typing.start` at most once per
//! [`TYPING_THROTTLE_MS`] per channel/thread, `stop` sends `typing.stop` only when a start was
//! sent, and [`TypingThrottle::expire`] stops indicators left without a keystroke for
//! [`TYPING_AUTO_STOP_MS`].

use crate::vecmap::VecMap;

use chat_protocol::ClientFrame;

pub const TYPING_THROTTLE_MS: u64 = 2_000;
pub const TYPING_AUTO_STOP_MS: u64 = 4_000;

type Key = (String, Option<String>);

#[derive(Debug, Default, Clone)]
pub struct TypingThrottle {
    /// (cid, parent) → (last `typing.start` sent, last keystroke).
    active: VecMap<Key, (u64, u64)>,
}

impl TypingThrottle {
    pub fn keystroke(&mut self, now: u64, cid: &str, parent: Option<&str>) -> Option<ClientFrame> {
        let key = (cid.to_string(), parent.map(str::to_string));
        let start = ClientFrame::TypingStart {
            cid: key.0.clone(),
            parent_id: key.1.clone(),
        };
        match self.active.get_mut(&key) {
            Some((sent, last)) => {
                *last = now;
                if now.saturating_sub(*sent) < TYPING_THROTTLE_MS {
                    return None;
                }
                *sent = now;
            }
            None => {
                self.active.insert(key, (now, now));
            }
        }
        Some(start)
    }

    pub fn stop(&mut self, cid: &str, parent: Option<&str>) -> Option<ClientFrame> {
        let key = (cid.to_string(), parent.map(str::to_string));
        self.active.remove(&key)?;
        Some(ClientFrame::TypingStop {
            cid: key.0,
            parent_id: key.1,
        })
    }

    /// `typing.stop` for every indicator without a keystroke for [`TYPING_AUTO_STOP_MS`].
    pub fn expire(&mut self, now: u64) -> Vec<ClientFrame> {
        let stale: Vec<Key> = self
            .active
            .iter()
            .filter(|(_, (_, last))| now.saturating_sub(*last) >= TYPING_AUTO_STOP_MS)
            .map(|(k, _)| k.clone())
            .collect();
        stale
            .into_iter()
            .filter_map(|(cid, parent)| self.stop(&cid, parent.as_deref()))
            .collect()
    }

    /// Forgets everything (the connection is gone: the server stopped them).
    pub fn clear(&mut self) {
        self.active.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_start_per_throttle_window_then_stop_once() {
        let mut t = TypingThrottle::default();
        assert!(t.keystroke(0, "m:a", None).is_some());
        assert!(t.keystroke(500, "m:a", None).is_none());
        assert!(t.keystroke(1_999, "m:a", None).is_none());
        assert!(t.keystroke(2_000, "m:a", None).is_some());
        assert!(
            t.keystroke(2_001, "m:a", Some("p")).is_some(),
            "threads are separate"
        );
        assert!(matches!(
            t.stop("m:a", None),
            Some(ClientFrame::TypingStop { .. })
        ));
        assert!(t.stop("m:a", None).is_none(), "already stopped");
    }

    #[test]
    fn silence_stops_automatically() {
        let mut t = TypingThrottle::default();
        t.keystroke(0, "m:a", None);
        t.keystroke(3_000, "m:b", None);
        let stopped = t.expire(TYPING_AUTO_STOP_MS);
        assert_eq!(
            stopped,
            [ClientFrame::TypingStop {
                cid: "m:a".into(),
                parent_id: None
            }]
        );
        assert!(t.expire(TYPING_AUTO_STOP_MS + 1).is_empty());
        assert_eq!(t.expire(7_000).len(), 1);
    }
}
