//! Rate limiting: token buckets, alone or one per key.
//!
//! A bucket holds at most `burst` tokens and earns `rate_per_s` tokens a second; a request
//! takes one token or is refused. Buckets are refilled lazily from the time they are given,
//! so an idle bucket costs nothing, and they start full. [`KeyedRateLimiter`] keeps one
//! bucket per key (a user, a tenant, an API key) in a `Vec` allocated at construction.
//!
//! Token balances are `f64`; a balance within `1e-9` of a whole token counts as one, so
//! rates like 0.1 per second are not cheated by binary rounding.

use prodsim_kernel::{NS_PER_S, SimTime};

use super::retry::{TOKEN_EPSILON, non_negative};

/// The part of a bucket that changes: its balance and when it was last refilled.
#[derive(Clone, Copy, Debug)]
struct Level {
    tokens: f64,
    last: SimTime,
}

impl Level {
    /// Refills at `per_ns` tokens a nanosecond up to `burst`, then takes a token if one is
    /// there.
    #[inline]
    fn try_take(&mut self, now: SimTime, per_ns: f64, burst: f64) -> bool {
        if now > self.last {
            self.tokens = (self.tokens + now.since(self.last) as f64 * per_ns).min(burst);
            self.last = now;
        }
        if self.tokens >= 1.0 - TOKEN_EPSILON {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }
}

/// One token bucket.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    per_ns: f64,
    burst: f64,
    level: Level,
    limited: u64,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens earning `rate_per_s` a second. Negative, NaN or
    /// infinite arguments are treated as 0 (a burst below 1 admits nothing).
    pub fn new(rate_per_s: f64, burst: f64) -> Self {
        let burst = non_negative(burst);
        TokenBucket {
            per_ns: non_negative(rate_per_s) / NS_PER_S as f64,
            burst,
            level: Level { tokens: burst, last: SimTime::ZERO },
            limited: 0,
        }
    }

    /// Takes a token if one is available now; counts a refusal otherwise.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        let ok = self.level.try_take(now, self.per_ns, self.burst);
        if !ok {
            self.limited += 1;
        }
        ok
    }

    /// Requests refused so far.
    pub fn limited(&self) -> u64 {
        self.limited
    }

    /// The balance as of the last call (refills are applied lazily).
    pub fn tokens(&self) -> f64 {
        self.level.tokens
    }
}

/// One token bucket per key, all with the same rate and burst.
#[derive(Clone, Debug)]
pub struct KeyedRateLimiter {
    per_ns: f64,
    burst: f64,
    levels: Vec<Level>,
    limited: u64,
}

impl KeyedRateLimiter {
    /// `keys` full buckets (at least one) of `burst` tokens earning `rate_per_s` a second,
    /// allocated now. Arguments are repaired as in [`TokenBucket::new`].
    pub fn new(keys: usize, rate_per_s: f64, burst: f64) -> Self {
        let burst = non_negative(burst);
        KeyedRateLimiter {
            per_ns: non_negative(rate_per_s) / NS_PER_S as f64,
            burst,
            levels: vec![Level { tokens: burst, last: SimTime::ZERO }; keys.max(1)],
            limited: 0,
        }
    }

    /// Takes a token from the bucket of `key` (modulo the number of keys) if one is
    /// available now; counts a refusal otherwise.
    pub fn try_acquire(&mut self, now: SimTime, key: usize) -> bool {
        let slot = key % self.levels.len();
        let ok = self.levels[slot].try_take(now, self.per_ns, self.burst);
        if !ok {
            self.limited += 1;
        }
        ok
    }

    /// Requests refused so far, over all keys.
    pub fn limited(&self) -> u64 {
        self.limited
    }

    /// Number of buckets.
    pub fn keys(&self) -> usize {
        self.levels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn bursts_then_settles_to_the_rate() {
        let mut b = TokenBucket::new(10.0, 5.0);
        assert!((0..5).all(|_| b.try_acquire(SimTime::ZERO)));
        assert!(!b.try_acquire(SimTime::ZERO));
        assert!(!b.try_acquire(SimTime(99 * MS)));
        assert!(b.try_acquire(SimTime(100 * MS)), "one token per 100 ms");
        // Hammering every millisecond for 10 s gets 10 per second.
        let admitted = (101..10_101).filter(|&ms| b.try_acquire(SimTime(ms * MS))).count();
        assert_eq!(admitted, 100);
        assert_eq!(b.limited(), 2 + 10_000 - 100);
    }

    #[test]
    fn an_idle_bucket_refills_only_to_its_burst() {
        let mut b = TokenBucket::new(1.0, 3.0);
        let later = SimTime::from_secs(3_600);
        assert_eq!((0..10).filter(|_| b.try_acquire(later)).count(), 3);
        let tenth = TokenBucket::new(0.1, 1.0);
        let mut t = tenth.clone();
        assert!(t.try_acquire(SimTime::ZERO));
        assert!(t.try_acquire(SimTime::from_secs(10)), "0.1/s for 10 s is exactly one token");
        assert!(!TokenBucket::new(f64::NAN, 0.5).try_acquire(SimTime::ZERO));
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let mut k = KeyedRateLimiter::new(3, 1.0, 2.0);
        assert_eq!(k.keys(), 3);
        assert!(k.try_acquire(SimTime::ZERO, 0));
        assert!(k.try_acquire(SimTime::ZERO, 0));
        assert!(!k.try_acquire(SimTime::ZERO, 0));
        assert!(!k.try_acquire(SimTime::ZERO, 3), "key 3 is key 0");
        assert!(k.try_acquire(SimTime::ZERO, 1));
        assert!(k.try_acquire(SimTime::ZERO, 5));
        assert!(k.try_acquire(SimTime::from_secs(1), 0));
        assert_eq!(k.limited(), 2);
        assert_eq!(KeyedRateLimiter::new(0, 1.0, 1.0).keys(), 1);
    }

    proptest! {
        #[test]
        fn never_admits_more_than_burst_plus_rate_times_time(
            gaps in proptest::collection::vec(0u64..200 * MS, 1..500), rate in 0.0f64..100.0, burst in 0.0f64..20.0,
        ) {
            let mut b = TokenBucket::new(rate, burst);
            let mut now = SimTime::ZERO;
            let mut admitted = 0u64;
            for gap in gaps {
                now = now.after(gap);
                if b.try_acquire(now) { admitted += 1; }
            }
            prop_assert!(admitted as f64 <= burst + rate * now.as_secs_f64() + 1e-6);
        }
    }
}
