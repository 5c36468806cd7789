//! A circuit breaker: stop calling a dependency that keeps failing, then probe it.
//!
//! Sans-IO: the caller asks [`CircuitBreaker::allow`] before every call and reports the
//! outcome of every allowed call with [`CircuitBreaker::record`]; the breaker answers from
//! its state and the time it is given and never schedules anything.
//!
//! The states follow resilience4j and Polly:
//!
//! - **Closed**: every call goes out. Outcomes are counted in a rolling window of
//!   [`BUCKETS`] time buckets of `window_ns / BUCKETS` each. When the window holds at least
//!   `min_calls` outcomes, at least one of them a failure, and the failure ratio is at
//!   least `failure_ratio`, the breaker opens.
//! - **Open**: every call is rejected until `open_for_ns` has passed since it opened; the
//!   first [`CircuitBreaker::allow`] after that moves it to half-open.
//! - **HalfOpen**: at most `half_open_probes` trial calls are out at once. After
//!   `half_open_probes` successes the breaker closes with an empty window; any failure
//!   reopens it for another `open_for_ns`.
//!
//! The window is a fixed array, so the breaker allocates nothing, ever. Outcomes of calls
//! allowed while closed that arrive after the breaker opened are ignored. The API hands out
//! no tickets, so a late closed-era outcome that arrives while probes are out is counted as
//! a probe outcome; that is the usual behaviour of counting breakers.

use prodsim_kernel::SimTime;

/// Number of time buckets in the rolling window.
pub const BUCKETS: usize = 10;

/// When a breaker opens and how it recovers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    /// Failure ratio in the window at or above which the breaker opens, in `[0, 1]`.
    pub failure_ratio: f64,
    /// Outcomes the window must hold before the ratio is judged.
    pub min_calls: u32,
    /// Length of the rolling window in nanoseconds.
    pub window_ns: u64,
    /// How long the breaker stays open before it probes, in nanoseconds.
    pub open_for_ns: u64,
    /// Trial calls allowed at once while half-open, and successes needed to close.
    pub half_open_probes: u32,
}

impl BreakerConfig {
    /// Checks the fields a scenario loader should refuse, naming the first bad one.
    ///
    /// [`CircuitBreaker::new`] accepts any config and repairs it as documented there; this
    /// is for loaders that want to report mistakes instead.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(0.0..=1.0).contains(&self.failure_ratio) {
            return Err("failure_ratio must be between 0 and 1");
        }
        if self.min_calls == 0 {
            return Err("min_calls must be at least 1");
        }
        if self.window_ns < BUCKETS as u64 {
            return Err("window_ns must be at least 10 nanoseconds");
        }
        if self.half_open_probes == 0 {
            return Err("half_open_probes must be at least 1");
        }
        Ok(())
    }
}

/// The state of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go out and their outcomes are counted.
    Closed,
    /// Calls are rejected.
    Open,
    /// A few trial calls go out to test the dependency.
    HalfOpen,
}

/// Outcome counts of one time bucket.
#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    /// Index of the bucket period (`now / bucket_ns`) these counts belong to.
    epoch: u64,
    calls: u32,
    failures: u32,
}

/// A circuit breaker in front of one dependency.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    failure_ratio: f64,
    min_calls: u32,
    bucket_ns: u64,
    open_for_ns: u64,
    probes: u32,
    state: BreakerState,
    buckets: [Bucket; BUCKETS],
    opened_at: SimTime,
    probes_out: u32,
    probe_successes: u32,
    times_opened: u64,
    rejected: u64,
}

impl CircuitBreaker {
    /// A closed breaker with an empty window.
    ///
    /// The config is repaired rather than refused (see [`BreakerConfig::validate`]):
    /// `failure_ratio` is clamped to `[0, 1]` (NaN becomes 1), `min_calls` and
    /// `half_open_probes` are at least 1 and a bucket is at least 1 ns long.
    pub fn new(config: BreakerConfig) -> Self {
        let failure_ratio = if config.failure_ratio.is_nan() { 1.0 } else { config.failure_ratio.clamp(0.0, 1.0) };
        CircuitBreaker {
            failure_ratio,
            min_calls: config.min_calls.max(1),
            bucket_ns: (config.window_ns / BUCKETS as u64).max(1),
            open_for_ns: config.open_for_ns,
            probes: config.half_open_probes.max(1),
            state: BreakerState::Closed,
            buckets: [Bucket::default(); BUCKETS],
            opened_at: SimTime::ZERO,
            probes_out: 0,
            probe_successes: 0,
            times_opened: 0,
            rejected: 0,
        }
    }

    /// Whether a call may go out now.
    ///
    /// Closed admits every call. Open rejects until `open_for_ns` has passed since it
    /// opened, then turns half-open. HalfOpen admits up to `half_open_probes` concurrent
    /// trial calls. Every rejection is counted in [`CircuitBreaker::rejected`].
    pub fn allow(&mut self, now: SimTime) -> bool {
        if self.state == BreakerState::Open && now.since(self.opened_at) >= self.open_for_ns {
            self.state = BreakerState::HalfOpen;
            self.probes_out = 0;
            self.probe_successes = 0;
        }
        let allowed = match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                if self.probes_out < self.probes {
                    self.probes_out += 1;
                    true
                } else {
                    false
                }
            }
        };
        if !allowed {
            self.rejected += 1;
        }
        allowed
    }

    /// The outcome of a call that was allowed.
    pub fn record(&mut self, now: SimTime, success: bool) {
        match self.state {
            BreakerState::Closed => {
                self.count(now, success);
                if self.should_open(now) {
                    self.open(now);
                }
            }
            // A call allowed before the breaker opened: the dependency is already judged.
            BreakerState::Open => {}
            BreakerState::HalfOpen => {
                if self.probes_out == 0 {
                    return; // a stale closed-era outcome with no probe out
                }
                self.probes_out -= 1;
                if !success {
                    self.open(now);
                } else {
                    self.probe_successes += 1;
                    if self.probe_successes >= self.probes {
                        self.state = BreakerState::Closed;
                        self.buckets = [Bucket::default(); BUCKETS];
                    }
                }
            }
        }
    }

    /// The current state, as of the last call to [`CircuitBreaker::allow`] or
    /// [`CircuitBreaker::record`] (an open breaker turns half-open lazily).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// The state a call to [`CircuitBreaker::allow`] at `now` would find.
    pub fn state_at(&self, now: SimTime) -> BreakerState {
        if self.state == BreakerState::Open && now.since(self.opened_at) >= self.open_for_ns {
            BreakerState::HalfOpen
        } else {
            self.state
        }
    }

    /// How many times the breaker has opened (from closed or from half-open).
    pub fn times_opened(&self) -> u64 {
        self.times_opened
    }

    /// How many calls [`CircuitBreaker::allow`] has rejected.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Calls and failures in the rolling window ending at `now`.
    pub fn window_counts(&self, now: SimTime) -> (u32, u32) {
        let epoch = now.as_nanos() / self.bucket_ns;
        self.buckets
            .iter()
            .filter(|b| b.epoch <= epoch && epoch - b.epoch < BUCKETS as u64)
            .fold((0u32, 0u32), |(c, f), b| (c.saturating_add(b.calls), f.saturating_add(b.failures)))
    }

    fn count(&mut self, now: SimTime, success: bool) {
        let epoch = now.as_nanos() / self.bucket_ns;
        let bucket = &mut self.buckets[(epoch % BUCKETS as u64) as usize];
        if bucket.epoch != epoch {
            *bucket = Bucket { epoch, calls: 0, failures: 0 };
        }
        bucket.calls = bucket.calls.saturating_add(1);
        if !success {
            bucket.failures = bucket.failures.saturating_add(1);
        }
    }

    fn should_open(&self, now: SimTime) -> bool {
        let (calls, failures) = self.window_counts(now);
        calls >= self.min_calls && failures > 0 && f64::from(failures) >= self.failure_ratio * f64::from(calls)
    }

    fn open(&mut self, now: SimTime) {
        self.state = BreakerState::Open;
        self.opened_at = now;
        self.probes_out = 0;
        self.probe_successes = 0;
        self.times_opened += 1;
        self.buckets = [Bucket::default(); BUCKETS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failure_ratio: 0.5,
            min_calls: 4,
            window_ns: 1_000 * MS,
            open_for_ns: 500 * MS,
            half_open_probes: 2,
        }
    }

    fn at(ms: u64) -> SimTime {
        SimTime(ms * MS)
    }

    #[test]
    fn opens_at_the_failure_ratio_once_enough_calls_are_seen() {
        let mut b = CircuitBreaker::new(config());
        for (i, ok) in [false, false, true].into_iter().enumerate() {
            assert!(b.allow(at(i as u64)));
            b.record(at(i as u64), ok);
        }
        assert_eq!(b.state(), BreakerState::Closed, "3 calls < min_calls");
        assert!(b.allow(at(3)));
        b.record(at(3), true); // 2 failures of 4: ratio 0.5 reaches the threshold
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.times_opened(), 1);
        assert!(!b.allow(at(4)));
        assert_eq!(b.rejected(), 1);
    }

    #[test]
    fn successes_alone_never_open_it() {
        let mut b = CircuitBreaker::new(BreakerConfig { failure_ratio: 0.0, ..config() });
        for t in 0..100 {
            assert!(b.allow(at(t)));
            b.record(at(t), true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn old_failures_leave_the_window() {
        let mut b = CircuitBreaker::new(config());
        for t in 0..3 {
            b.allow(at(t));
            b.record(at(t), false);
        }
        assert_eq!(b.window_counts(at(3)), (3, 3));
        // A second later the three failures have aged out: one more failure is 1 of 1.
        assert_eq!(b.window_counts(at(1_100)), (0, 0));
        b.allow(at(1_100));
        b.record(at(1_100), false);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_limits_probes_then_closes_after_enough_successes() {
        let mut b = CircuitBreaker::new(config());
        for t in 0..4 {
            b.allow(at(t));
            b.record(at(t), false);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(at(400)));
        assert_eq!(b.state_at(at(503)), BreakerState::HalfOpen);
        assert!(b.allow(at(503)));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.allow(at(503)));
        assert!(!b.allow(at(503)), "only two probes at once");
        b.record(at(510), true);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.allow(at(511)), "a finished probe frees a slot");
        b.record(at(512), true);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.window_counts(at(512)), (0, 0));
        // The third probe's outcome arrives after closing and counts as an ordinary call.
        b.record(at(513), true);
        assert_eq!(b.window_counts(at(513)), (1, 0));
        assert_eq!(b.rejected(), 2);
    }

    #[test]
    fn a_failed_probe_reopens_for_another_period() {
        let mut b = CircuitBreaker::new(config());
        for t in 0..4 {
            b.allow(at(t));
            b.record(at(t), false);
        }
        assert!(b.allow(at(600)));
        b.record(at(601), false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.times_opened(), 2);
        assert!(!b.allow(at(1_000)));
        assert!(b.allow(at(1_101)));
    }

    #[test]
    fn outcomes_arriving_while_open_are_ignored() {
        let mut b = CircuitBreaker::new(config());
        for t in 0..4 {
            b.allow(at(t));
        }
        for t in 0..4 {
            b.record(at(10 + t), false);
        }
        assert_eq!(b.state(), BreakerState::Open);
        b.record(at(20), false);
        assert_eq!(b.times_opened(), 1);
    }

    #[test]
    fn bad_configs_are_repaired_and_reported() {
        let bad =
            BreakerConfig { failure_ratio: f64::NAN, min_calls: 0, window_ns: 0, open_for_ns: 0, half_open_probes: 0 };
        assert!(bad.validate().is_err());
        assert!(config().validate().is_ok());
        let mut b = CircuitBreaker::new(bad);
        b.allow(at(0));
        b.record(at(0), false); // NaN ratio became 1.0: one failure of one opens it
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.allow(at(0)), "open_for 0: probes at once");
    }

    proptest! {
        #[test]
        fn never_more_probes_than_configured_and_counts_add_up(
            ops in proptest::collection::vec((any::<bool>(), any::<bool>(), 0u64..50 * MS), 1..400),
            probes in 1u32..4,
        ) {
            let mut b = CircuitBreaker::new(BreakerConfig { half_open_probes: probes, ..config() });
            let mut now = SimTime::ZERO;
            let (mut asked, mut allowed, mut out) = (0u64, 0u64, 0u64);
            for (ask, ok, dt) in ops {
                now = now.after(dt);
                if ask || out == 0 {
                    asked += 1;
                    let was_open = b.state_at(now) == BreakerState::Open;
                    if b.allow(now) {
                        prop_assert!(!was_open);
                        allowed += 1;
                        out += 1;
                    }
                } else {
                    out -= 1;
                    b.record(now, ok);
                }
                if b.state() == BreakerState::HalfOpen {
                    prop_assert!(b.probes_out <= probes);
                }
                let (calls, failures) = b.window_counts(now);
                prop_assert!(failures <= calls);
            }
            prop_assert_eq!(asked, allowed + b.rejected());
        }
    }
}
