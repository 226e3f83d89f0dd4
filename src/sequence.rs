//! Per-channel sequence tracking: the last `channel_seq` seen for each channel, so a
//! redelivered event is dropped and a skipped range is noticed (and can be fetched).

use std::collections::HashMap;

/// What an event's `channel_seq` means given what was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqOutcome {
    /// The next event, or the first one seen for the channel: deliver it.
    InOrder,
    /// Already seen (`channel_seq <= last`): drop it.
    Duplicate,
    /// Deliver it, but `missing_from..=missing_to` never arrived.
    Gap { missing_from: u64, missing_to: u64 },
}

#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    last_seen: HashMap<String, u64>,
}

impl SeqTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last sequence seen for `cid`, if any.
    pub fn last_seen(&self, cid: &str) -> Option<u64> {
        self.last_seen.get(cid).copied()
    }

    /// Records what the server says the channel is at (e.g. `channel.last_seq` from a
    /// create/query answer). Never moves the cursor backwards.
    pub fn set_baseline(&mut self, cid: &str, seq: u64) {
        let last = self.last_seen.entry(cid.to_string()).or_insert(seq);
        *last = (*last).max(seq);
    }

    /// Classifies an incoming event and advances the cursor when it is new.
    pub fn observe(&mut self, cid: &str, seq: u64) -> SeqOutcome {
        match self.last_seen.get_mut(cid) {
            None => {
                self.last_seen.insert(cid.to_string(), seq);
                SeqOutcome::InOrder
            }
            Some(last) if seq <= *last => SeqOutcome::Duplicate,
            Some(last) => {
                let outcome = if seq == *last + 1 {
                    SeqOutcome::InOrder
                } else {
                    SeqOutcome::Gap {
                        missing_from: *last + 1,
                        missing_to: seq - 1,
                    }
                };
                *last = seq;
                outcome
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_then_duplicates_are_dropped() {
        let mut t = SeqTracker::new();
        assert_eq!(t.observe("m:a", 5), SeqOutcome::InOrder);
        assert_eq!(t.observe("m:a", 6), SeqOutcome::InOrder);
        assert_eq!(t.observe("m:a", 6), SeqOutcome::Duplicate);
        assert_eq!(t.observe("m:a", 3), SeqOutcome::Duplicate);
        assert_eq!(t.last_seen("m:a"), Some(6));
    }

    #[test]
    fn gaps_are_reported_and_the_cursor_jumps() {
        let mut t = SeqTracker::new();
        t.observe("m:a", 1);
        assert_eq!(
            t.observe("m:a", 4),
            SeqOutcome::Gap {
                missing_from: 2,
                missing_to: 3
            }
        );
        assert_eq!(t.last_seen("m:a"), Some(4));
        // A late arrival from inside the gap is below the cursor: dropped, not re-delivered.
        assert_eq!(t.observe("m:a", 3), SeqOutcome::Duplicate);
    }

    #[test]
    fn channels_are_independent() {
        let mut t = SeqTracker::new();
        t.observe("m:a", 10);
        assert_eq!(t.observe("m:b", 1), SeqOutcome::InOrder);
        assert_eq!(t.observe("m:a", 11), SeqOutcome::InOrder);
        assert_eq!(t.last_seen("m:b"), Some(1));
    }

    #[test]
    fn baseline_marks_history_as_seen_and_never_moves_back() {
        let mut t = SeqTracker::new();
        t.set_baseline("m:a", 7);
        assert_eq!(t.observe("m:a", 7), SeqOutcome::Duplicate);
        assert_eq!(t.observe("m:a", 8), SeqOutcome::InOrder);
        t.set_baseline("m:a", 2);
        assert_eq!(t.last_seen("m:a"), Some(8));
        t.set_baseline("m:a", 10);
        assert_eq!(
            t.observe("m:a", 12),
            SeqOutcome::Gap {
                missing_from: 11,
                missing_to: 11
            }
        );
    }
}
