//! Per-channel ordering of live events on each node. Changes to a channel commit in sequence
//! order, but their publications race (two requests, maybe on two nodes, publish after their
//! commits in either order). Every node sees every event, so each node puts each channel's
//! events back in sequence order before handing them to sockets: an event that arrives ahead of
//! a missing one waits for it, at most [`HOLD`]; after that the waiting events are released in
//! order anyway (clients fill a real gap through sync). In-order events are never delayed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Longest time an event waits for an earlier one of its channel.
pub const HOLD: Duration = Duration::from_millis(100);
/// A channel with nothing pending and no event for this long is forgotten.
const IDLE: Duration = Duration::from_secs(600);

struct Stream<T> {
    next: u64,
    pending: BTreeMap<u64, T>,
    waiting_since: Option<Instant>,
    last_seen: Instant,
}

pub struct Reorder<T> {
    streams: HashMap<String, Stream<T>>,
    hold: Duration,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder::new(HOLD)
    }
}

impl<T> Reorder<T> {
    pub fn new(hold: Duration) -> Self {
        Reorder { streams: HashMap::new(), hold }
    }

    /// Takes the event `seq` of `key`; returns the events now ready, in order.
    pub fn push(&mut self, key: &str, seq: u64, item: T, now: Instant) -> Vec<T> {
        let Some(s) = self.streams.get_mut(key) else {
            self.streams.insert(
                key.to_string(),
                Stream { next: seq + 1, pending: BTreeMap::new(), waiting_since: None, last_seen: now },
            );
            return vec![item];
        };
        s.last_seen = now;
        if seq < s.next {
            // Late (released past it already) or a duplicate: pass it on, clients dedupe.
            return vec![item];
        }
        if seq > s.next {
            s.pending.insert(seq, item);
            s.waiting_since.get_or_insert(now);
            return Vec::new();
        }
        let mut out = vec![item];
        s.next += 1;
        while let Some(x) = s.pending.remove(&s.next) {
            out.push(x);
            s.next += 1;
        }
        s.waiting_since = if s.pending.is_empty() { None } else { Some(now) };
        out
    }

    /// Releases, in order, the events that waited longer than the hold; forgets idle channels.
    pub fn expire(&mut self, now: Instant) -> Vec<T> {
        let mut out = Vec::new();
        for s in self.streams.values_mut() {
            if s.waiting_since.is_some_and(|t| now.duration_since(t) >= self.hold) {
                let pending = std::mem::take(&mut s.pending);
                if let Some((&last, _)) = pending.iter().next_back() {
                    s.next = last + 1;
                }
                out.extend(pending.into_values());
                s.waiting_since = None;
            }
        }
        self.streams.retain(|_, s| !s.pending.is_empty() || now.duration_since(s.last_seen) < IDLE);
        out
    }

    pub fn has_pending(&self) -> bool {
        self.streams.values().any(|s| !s.pending.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_events_pass_at_once() {
        let mut r = Reorder::new(HOLD);
        let t = Instant::now();
        assert_eq!(r.push("c", 5, 5, t), [5]);
        assert_eq!(r.push("c", 6, 6, t), [6]);
        assert_eq!(r.push("d", 1, 1, t), [1]);
        assert!(!r.has_pending());
    }

    #[test]
    fn an_early_event_waits_for_the_missing_one() {
        let mut r = Reorder::new(HOLD);
        let t = Instant::now();
        r.push("c", 1, 1, t);
        assert!(r.push("c", 3, 3, t).is_empty());
        assert!(r.push("c", 4, 4, t).is_empty());
        assert_eq!(r.push("c", 2, 2, t), [2, 3, 4]);
        assert_eq!(r.push("c", 5, 5, t), [5]);
    }

    #[test]
    fn a_real_gap_is_released_after_the_hold_in_order() {
        let mut r = Reorder::new(Duration::from_millis(100));
        let t = Instant::now();
        r.push("c", 1, 1, t);
        r.push("c", 4, 4, t);
        r.push("c", 3, 3, t + Duration::from_millis(10));
        assert!(r.expire(t + Duration::from_millis(50)).is_empty());
        assert_eq!(r.expire(t + Duration::from_millis(100)), [3, 4]);
        // The stream continues after the released ones; the late 2 still gets through.
        assert_eq!(r.push("c", 5, 5, t), [5]);
        assert_eq!(r.push("c", 2, 2, t), [2]);
    }

    #[test]
    fn idle_channels_are_forgotten() {
        let mut r = Reorder::new(HOLD);
        let t = Instant::now();
        r.push("c", 1, 1, t);
        r.expire(t + IDLE + Duration::from_secs(1));
        // Forgotten: the next event starts the stream afresh instead of waiting for 2.
        assert_eq!(r.push("c", 7, 7, t + IDLE + Duration::from_secs(2)), [7]);
    }
}
