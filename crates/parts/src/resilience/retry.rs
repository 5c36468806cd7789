//! Retries: exponential backoff with jitter, and a retry budget.
//!
//! [`Backoff`] answers "how long before retry number n" as in the AWS Architecture Blog's
//! "Exponential Backoff And Jitter": the capped exponential `min(max, base·multiplierⁿ⁻¹)`,
//! optionally jittered. [`RetryBudget`] answers "may this retry go out at all": a token
//! bucket as in Finagle's `RetryBudget` and gRPC's retry throttling, so retries stay a
//! bounded fraction of first attempts and cannot multiply load during an outage.
//!
//! Both are sans-IO: they take the time or the random stream they need and allocate
//! nothing.

use rand::RngExt;
use serde::Deserialize;

use prodsim_kernel::{NS_PER_S, SimTime};

/// How the backoff delay is randomised, so clients that failed together do not retry
/// together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// The capped exponential delay itself, with no draw.
    None,
    /// Uniform in `[0, d]` ("full jitter").
    Full,
    /// `d/2` plus uniform in `[0, d - d/2]` ("equal jitter").
    Equal,
}

/// Capped exponential backoff.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry, in nanoseconds.
    pub base_ns: u64,
    /// Largest delay before jitter, in nanoseconds.
    pub max_ns: u64,
    /// Growth factor per retry (2.0 doubles the delay every time).
    pub multiplier: f64,
    /// How the delay is randomised.
    pub jitter: Jitter,
}

impl Backoff {
    /// Checks the fields a scenario loader should refuse, naming the first bad one.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err("multiplier must be a finite number of at least 1");
        }
        if self.max_ns < self.base_ns {
            return Err("max must not be below base");
        }
        Ok(())
    }

    /// The delay before retry number `retry` (1 = first retry):
    /// `min(max, base·multiplier^(retry-1))`, then jittered with a draw from `rng`
    /// ([`Jitter::None`] draws nothing).
    ///
    /// `retry` 0 is treated as 1. A multiplier that is NaN or negative is treated as 1;
    /// the exponential saturates at `max_ns` instead of overflowing.
    pub fn delay_ns<R: rand::Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> u64 {
        let multiplier = if self.multiplier.is_nan() || self.multiplier < 0.0 { 1.0 } else { self.multiplier };
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let raw = self.base_ns as f64 * multiplier.powi(exponent);
        // `as` saturates (and maps NaN, from 0·∞, to 0); the float may round the cap up.
        let capped = if raw.is_nan() { self.base_ns } else { raw.min(self.max_ns as f64) as u64 };
        let d = capped.min(self.max_ns);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => rng.random_range(0..=d),
            Jitter::Equal => d / 2 + rng.random_range(0..=d - d / 2),
        }
    }
}

/// A retry budget: retries spend tokens that first attempts and time earn.
///
/// Every first attempt deposits `ratio` tokens ([`RetryBudget::on_request`]); every retry
/// withdraws one ([`RetryBudget::try_retry`]) or is denied when less than one is left. The
/// balance also refills at `min_retries_per_s` tokens a second, so a quiet client may still
/// retry a little, and never exceeds `cap`. With `ratio` 0.1 retries add at most about 10%
/// to the load, plus the floor. The bucket starts full, as gRPC's does.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    ratio: f64,
    refill_per_ns: f64,
    cap: f64,
    tokens: f64,
    last: SimTime,
    granted: u64,
    denied: u64,
}

/// Slack when comparing a token balance with one whole token, so that ten deposits of 0.1
/// (which sum to 0.999… in binary floating point) pay for a retry.
pub(crate) const TOKEN_EPSILON: f64 = 1e-9;

/// A rate or amount that must be a finite non-negative number: anything else becomes 0.
pub(crate) fn non_negative(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

impl RetryBudget {
    /// A full budget of `cap` tokens. Negative, NaN or infinite arguments are treated as 0.
    pub fn new(ratio: f64, min_retries_per_s: f64, cap: f64) -> Self {
        let cap = non_negative(cap);
        RetryBudget {
            ratio: non_negative(ratio),
            refill_per_ns: non_negative(min_retries_per_s) / NS_PER_S as f64,
            cap,
            tokens: cap,
            last: SimTime::ZERO,
            granted: 0,
            denied: 0,
        }
    }

    /// A first attempt went out: deposit `ratio` tokens.
    pub fn on_request(&mut self, now: SimTime) {
        self.refill(now);
        self.tokens = (self.tokens + self.ratio).min(self.cap);
    }

    /// Whether a retry may go out now; withdraws one token if so, counts a denial if not.
    pub fn try_retry(&mut self, now: SimTime) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 - TOKEN_EPSILON {
            self.tokens = (self.tokens - 1.0).max(0.0);
            self.granted += 1;
            true
        } else {
            self.denied += 1;
            false
        }
    }

    /// Retries denied so far.
    pub fn denied(&self) -> u64 {
        self.denied
    }

    /// Retries granted so far.
    pub fn granted(&self) -> u64 {
        self.granted
    }

    /// The token balance as of the last call (refills are applied lazily).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    fn refill(&mut self, now: SimTime) {
        if now > self.last {
            let earned = now.since(self.last) as f64 * self.refill_per_ns;
            self.tokens = (self.tokens + earned).min(self.cap);
            self.last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::stream;
    use proptest::prelude::*;

    fn backoff(jitter: Jitter) -> Backoff {
        Backoff { base_ns: 100, max_ns: 1_000, multiplier: 2.0, jitter }
    }

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let mut rng = stream(1, "test");
        let b = backoff(Jitter::None);
        let delays: Vec<u64> = (0..7).map(|n| b.delay_ns(n, &mut rng)).collect();
        assert_eq!(delays, [100, 100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(b.delay_ns(u32::MAX, &mut rng), 1_000);
        let huge = Backoff { base_ns: u64::MAX, max_ns: u64::MAX, multiplier: 1e300, jitter: Jitter::None };
        assert_eq!(huge.delay_ns(40, &mut rng), u64::MAX);
        let odd = Backoff { multiplier: f64::NAN, ..b };
        assert_eq!(odd.delay_ns(5, &mut rng), 100);
        assert!(odd.validate().is_err());
        assert!(b.validate().is_ok());
    }

    #[test]
    fn jitter_stays_in_its_range_and_averages_as_expected() {
        let mut rng = stream(2, "test");
        let n = 20_000;
        let full = backoff(Jitter::Full);
        let equal = backoff(Jitter::Equal);
        let (mut sum_full, mut sum_equal) = (0u64, 0u64);
        for _ in 0..n {
            let f = full.delay_ns(4, &mut rng);
            let e = equal.delay_ns(4, &mut rng);
            assert!(f <= 800);
            assert!((400..=800).contains(&e));
            sum_full += f;
            sum_equal += e;
        }
        let (mean_full, mean_equal) = (sum_full as f64 / n as f64, sum_equal as f64 / n as f64);
        assert!((mean_full - 400.0).abs() < 10.0, "{mean_full}");
        assert!((mean_equal - 600.0).abs() < 5.0, "{mean_equal}");
    }

    #[test]
    fn jitter_deserialises_in_snake_case() {
        let parsed: Vec<Jitter> = serde_json::from_str(r#"["none", "full", "equal"]"#).expect("valid names");
        assert_eq!(parsed, [Jitter::None, Jitter::Full, Jitter::Equal]);
        assert!(serde_json::from_str::<Jitter>(r#""Full""#).is_err());
    }

    #[test]
    fn budget_limits_retries_to_a_ratio_of_requests() {
        let mut b = RetryBudget::new(0.1, 0.0, 10.0);
        // The full bucket first: ten retries.
        assert!((0..10).all(|_| b.try_retry(SimTime::ZERO)));
        assert!(!b.try_retry(SimTime::ZERO));
        // Then one retry per ten requests.
        let mut granted = 0;
        for i in 0..1_000u64 {
            b.on_request(SimTime(i));
            if b.try_retry(SimTime(i)) {
                granted += 1;
            }
        }
        assert_eq!(granted, 100);
        assert_eq!(b.granted(), 10 + granted);
        assert_eq!(b.denied(), 1 + 1_000 - granted);
    }

    #[test]
    fn budget_refills_over_time_up_to_the_cap() {
        let mut b = RetryBudget::new(0.0, 2.0, 3.0);
        assert!((0..3).all(|_| b.try_retry(SimTime::ZERO)));
        assert!(!b.try_retry(SimTime::from_secs(0)));
        assert!(b.try_retry(SimTime(500_000_000)), "one token after half a second");
        assert!(!b.try_retry(SimTime(500_000_000)));
        // A long quiet spell refills only to the cap.
        let later = SimTime::from_secs(100);
        assert!((0..3).all(|_| b.try_retry(later)));
        assert!(!b.try_retry(later));
        assert!(b.tokens() < 1.0);
        // Time going backwards earns nothing.
        assert!(!b.try_retry(SimTime::from_secs(1)));
        let bad = RetryBudget::new(f64::NAN, -1.0, f64::INFINITY);
        assert_eq!(bad.tokens(), 0.0);
    }

    proptest! {
        #[test]
        fn delays_never_exceed_the_cap(
            base in 0u64..1_000_000, extra in 0u64..1_000_000, mult in 1.0f64..10.0, retry in 0u32..100, seed: u64,
        ) {
            let mut rng = stream(seed, "p");
            for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
                let b = Backoff { base_ns: base, max_ns: base + extra, multiplier: mult, jitter };
                prop_assert!(b.delay_ns(retry, &mut rng) <= base + extra);
            }
        }

        #[test]
        fn budget_never_grants_more_than_it_earned(
            ops in proptest::collection::vec((any::<bool>(), 0u64..100_000_000), 1..300),
        ) {
            let (ratio, per_s, cap) = (0.2, 1.0, 5.0);
            let mut b = RetryBudget::new(ratio, per_s, cap);
            let (mut now, mut requests) = (SimTime::ZERO, 0u64);
            for (request, dt) in ops {
                now = now.after(dt);
                if request { requests += 1; b.on_request(now); } else { b.try_retry(now); }
                prop_assert!(b.tokens() >= 0.0 && b.tokens() <= cap);
            }
            let earned = cap + ratio * requests as f64 + per_s * now.as_secs_f64();
            prop_assert!(b.granted() as f64 <= earned + 1e-9);
        }
    }
}
