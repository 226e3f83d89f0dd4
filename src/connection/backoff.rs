//! Reconnect delays: jittered exponential backoff from 250 ms up to 25 s, with its own small
//! random generator so the core stays free of platform randomness (the adapter seeds it).

/// Shortest delay before a reconnect attempt.
pub const MIN_DELAY_MS: u64 = 250;
/// Longest delay before a reconnect attempt.
pub const MAX_DELAY_MS: u64 = 25_000;

/// Attempt `n` (0-based) waits a random time in `[ceiling/2, ceiling]` where
/// `ceiling = min(MAX, MIN * 2^n)`, never less than [`MIN_DELAY_MS`]. The jitter spreads
/// reconnecting clients apart after a server restart.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    rng: XorShift,
}

impl Backoff {
    pub fn new(seed: u64) -> Self {
        Backoff {
            attempt: 0,
            rng: XorShift::new(seed),
        }
    }

    /// The delay before the next attempt; each call counts one more failed attempt.
    pub fn next_delay_ms(&mut self) -> u64 {
        let ceiling = MIN_DELAY_MS
            .saturating_mul(1u64 << self.attempt.min(20))
            .min(MAX_DELAY_MS);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        (half + self.rng.below(half + 1)).max(MIN_DELAY_MS)
    }

    /// How many delays were handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// A connection succeeded: the next failure starts again from the shortest delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// xorshift64*: tiny, good enough for jitter, deterministic per seed in tests.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_bounds() {
        for seed in 0..50 {
            let mut b = Backoff::new(seed);
            let mut ceiling = MIN_DELAY_MS;
            for _ in 0..30 {
                let d = b.next_delay_ms();
                assert!((MIN_DELAY_MS..=MAX_DELAY_MS).contains(&d), "{d}");
                assert!(
                    d >= ceiling / 2 && d <= ceiling,
                    "{d} outside [{}, {ceiling}]",
                    ceiling / 2
                );
                ceiling = (ceiling * 2).min(MAX_DELAY_MS);
            }
        }
    }

    #[test]
    fn first_delay_is_the_minimum_and_late_ones_reach_the_cap_range() {
        let mut b = Backoff::new(7);
        assert_eq!(b.next_delay_ms(), MIN_DELAY_MS);
        for _ in 0..15 {
            b.next_delay_ms();
        }
        assert!(b.next_delay_ms() >= MAX_DELAY_MS / 2);
    }

    #[test]
    fn jitter_differs_between_seeds() {
        let late = |seed| {
            let mut b = Backoff::new(seed);
            (0..8).map(|_| b.next_delay_ms()).collect::<Vec<_>>()
        };
        assert_ne!(late(1), late(2));
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(3);
        for _ in 0..6 {
            b.next_delay_ms();
        }
        assert_eq!(b.attempts(), 6);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.next_delay_ms(), MIN_DELAY_MS);
    }
}
