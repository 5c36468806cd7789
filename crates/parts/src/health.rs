//! Backend health: which backends a balancer may send to.
//!
//! This module owns the three inputs to the rotation and the rotation itself, all sans-IO:
//!
//! - [`ActiveHealthCheck`]: probes sent every interval; a backend goes down after
//!   `unhealthy_threshold` consecutive failed probes and comes back after
//!   `healthy_threshold` consecutive good ones (as nginx, HAProxy and cloud balancers do).
//! - [`OutlierDetection`]: passive ejection from real responses, as Envoy does: a backend
//!   with `consecutive_failures` failures in a row is ejected for `base_ejection_ns` times
//!   the number of times it has been ejected, never more than `max_ejection_percent` of the
//!   backends at once.
//! - [`Rotation`]: per backend, the health, ejection and draining flags combined into the
//!   `in_rotation` slice that [`Backends`](super::balancer::Backends) carries.
//!
//! The engine sends the probes, schedules the ends of ejections and passes results in; these
//! types only count and decide.

use prodsim_kernel::{NS_PER_S, SimTime};

/// A change of a backend's health after a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthChange {
    /// The backend passed `healthy_threshold` probes in a row and is healthy again.
    Up,
    /// The backend failed `unhealthy_threshold` probes in a row and is unhealthy.
    Down,
}

/// Configuration of active health checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// Time between two probes of a backend.
    pub interval_ns: u64,
    /// A probe not answered within this time has failed.
    pub timeout_ns: u64,
    /// Consecutive good probes that bring an unhealthy backend back (0 counts as 1).
    pub healthy_threshold: u32,
    /// Consecutive failed probes that take a healthy backend down (0 counts as 1).
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheckConfig {
    /// Every 5 s with a 2 s timeout; down after 3 failures, up after 2 successes.
    fn default() -> Self {
        HealthCheckConfig {
            interval_ns: 5 * NS_PER_S,
            timeout_ns: 2 * NS_PER_S,
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        }
    }
}

/// The state of active health checking: per backend, healthy or not and the current run of
/// results that disagree with it. Backends start healthy.
#[derive(Clone, Debug)]
pub struct ActiveHealthCheck {
    config: HealthCheckConfig,
    backends: Vec<ProbeState>,
}

/// One backend's health and its run of contrary probe results.
#[derive(Clone, Copy, Debug)]
struct ProbeState {
    healthy: bool,
    /// Consecutive results disagreeing with `healthy` (failures while healthy, successes
    /// while unhealthy).
    streak: u32,
}

const HEALTHY: ProbeState = ProbeState { healthy: true, streak: 0 };

impl ActiveHealthCheck {
    /// Health checking of `backends` backends, all healthy.
    pub fn new(config: HealthCheckConfig, backends: usize) -> Self {
        ActiveHealthCheck { config, backends: vec![HEALTHY; backends] }
    }

    /// The configuration.
    pub fn config(&self) -> &HealthCheckConfig {
        &self.config
    }

    /// Adds a healthy backend and returns its index.
    pub fn add_backend(&mut self) -> usize {
        self.backends.push(HEALTHY);
        self.backends.len() - 1
    }

    /// Whether a probe answered after `response_ns` (`None`: never answered, or answered
    /// with an error) counts as good: answered within the timeout.
    pub fn probe_ok(&self, response_ns: Option<u64>) -> bool {
        response_ns.is_some_and(|ns| ns <= self.config.timeout_ns)
    }

    /// When to probe next after a probe sent at `sent`.
    pub fn next_probe(&self, sent: SimTime) -> SimTime {
        sent.after(self.config.interval_ns.max(1))
    }

    /// Records the result of a probe of `backend`, and returns the change of health it
    /// completes, if any. Results for unknown backends are ignored.
    pub fn probe_result(&mut self, backend: usize, ok: bool) -> Option<HealthChange> {
        let s = self.backends.get_mut(backend)?;
        if ok == s.healthy {
            s.streak = 0;
            return None;
        }
        s.streak += 1;
        let threshold = if s.healthy { self.config.unhealthy_threshold } else { self.config.healthy_threshold }.max(1);
        if s.streak < threshold {
            return None;
        }
        s.healthy = ok;
        s.streak = 0;
        Some(if ok { HealthChange::Up } else { HealthChange::Down })
    }

    /// Whether `backend` is healthy (unknown backends are not).
    pub fn is_healthy(&self, backend: usize) -> bool {
        self.backends.get(backend).is_some_and(|s| s.healthy)
    }
}

/// Configuration of passive outlier detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutlierConfig {
    /// Failed responses in a row that eject a backend (0 counts as 1).
    pub consecutive_failures: u32,
    /// Ejection time of a first ejection; the k-th ejection of a backend lasts k times
    /// this.
    pub base_ejection_ns: u64,
    /// At most this percentage of the backends is ejected at once (rounded down).
    pub max_ejection_percent: u32,
}

impl Default for OutlierConfig {
    /// Envoy's defaults: 5 consecutive failures, 30 s, at most 10%.
    fn default() -> Self {
        OutlierConfig { consecutive_failures: 5, base_ejection_ns: 30 * NS_PER_S, max_ejection_percent: 10 }
    }
}

/// Passive ejection of failing backends, as Envoy's consecutive-5xx outlier detection.
///
/// Every response is recorded. A success resets the backend's run of failures; the
/// `consecutive_failures`-th failure in a row ejects it until `now + base × k`, where k
/// counts its ejections so far, this one included (k never decreases). An ejection that
/// would put more than `max_ejection_percent` of the backends out at once does not happen
/// (unlike recent Envoy, which always allows one); the run of failures is kept, so the next
/// failure tries again. Responses from an ejected backend are ignored.
#[derive(Clone, Debug)]
pub struct OutlierDetection {
    config: OutlierConfig,
    backends: Vec<OutlierState>,
    /// Backends the `max_ejection_percent` is a share of, when not all of them are in
    /// service (a pool that scales); `None`: all of them.
    counted: Option<usize>,
}

/// One backend's run of failures and ejection.
#[derive(Clone, Copy, Debug, Default)]
struct OutlierState {
    failures: u32,
    times_ejected: u32,
    /// The end of the current or last ejection; `None` if never ejected.
    ejected_until: Option<SimTime>,
}

impl OutlierDetection {
    /// Outlier detection over `backends` backends, none ejected.
    pub fn new(config: OutlierConfig, backends: usize) -> Self {
        OutlierDetection { config, backends: vec![OutlierState::default(); backends], counted: None }
    }

    /// The configuration.
    pub fn config(&self) -> &OutlierConfig {
        &self.config
    }

    /// Adds a backend (not ejected) and returns its index.
    pub fn add_backend(&mut self) -> usize {
        self.backends.push(OutlierState::default());
        self.backends.len() - 1
    }

    /// Records a response of `backend` at `now`. Returns the end of the ejection when this
    /// response ejects the backend. Responses of unknown backends are ignored.
    pub fn record(&mut self, now: SimTime, backend: usize, success: bool) -> Option<SimTime> {
        if self.is_ejected(backend, now) {
            return None;
        }
        let threshold = self.config.consecutive_failures.max(1);
        let s = self.backends.get_mut(backend)?;
        if success {
            s.failures = 0;
            return None;
        }
        s.failures = s.failures.saturating_add(1);
        let failures = s.failures;
        if failures < threshold || !self.may_eject_one_more(now) {
            return None;
        }
        let s = &mut self.backends[backend];
        s.failures = 0;
        s.times_ejected = s.times_ejected.saturating_add(1);
        let until = now.after(self.config.base_ejection_ns.saturating_mul(u64::from(s.times_ejected)));
        s.ejected_until = Some(until);
        Some(until)
    }

    /// Whether one more ejection at `now` stays within `max_ejection_percent`.
    fn may_eject_one_more(&self, now: SimTime) -> bool {
        let after = self.ejected_count(now) as u64 + 1;
        let counted = self.counted.unwrap_or(self.backends.len()) as u64;
        after * 100 <= u64::from(self.config.max_ejection_percent) * counted
    }

    /// Counts `max_ejection_percent` as a share of `backends` backends (those in service
    /// when a pool grows and shrinks) rather than of every backend known.
    pub fn set_counted_backends(&mut self, backends: usize) {
        self.counted = Some(backends);
    }

    /// Whether `backend` is ejected at `now` (its ejection ends at its end time).
    pub fn is_ejected(&self, backend: usize, now: SimTime) -> bool {
        self.backends.get(backend).and_then(|s| s.ejected_until).is_some_and(|until| now < until)
    }

    /// The number of backends ejected at `now`.
    pub fn ejected_count(&self, now: SimTime) -> usize {
        (0..self.backends.len()).filter(|&b| self.is_ejected(b, now)).count()
    }

    /// The number of times `backend` has been ejected.
    pub fn times_ejected(&self, backend: usize) -> u32 {
        self.backends.get(backend).map_or(0, |s| s.times_ejected)
    }

    /// Ends the ejections that are over at `now`, calling `returned` with each backend that
    /// comes back, in index order.
    pub fn expire(&mut self, now: SimTime, mut returned: impl FnMut(usize)) {
        for (b, s) in self.backends.iter_mut().enumerate() {
            if s.ejected_until.is_some_and(|until| until <= now) {
                s.ejected_until = None;
                returned(b);
            }
        }
    }
}

/// Out of rotation because active health checks found it unhealthy (a bit of
/// [`Rotation`]'s per-backend reasons).
const UNHEALTHY: u8 = 1;
/// Out of rotation because outlier detection ejected it.
const EJECTED: u8 = 2;
/// Out of rotation because it is draining.
const DRAINING: u8 = 4;

/// Which backends are in rotation: healthy, not ejected and not draining. It owns the
/// `in_rotation` flags a balancer sees, kept up to date as the three conditions change.
#[derive(Clone, Debug, Default)]
pub struct Rotation {
    /// Why each backend is out (0: in rotation).
    out: Vec<u8>,
    in_rotation: Vec<bool>,
    /// The number of backends out of rotation.
    out_count: usize,
}

impl Rotation {
    /// `backends` backends, all in rotation.
    pub fn new(backends: usize) -> Self {
        Rotation { out: vec![0; backends], in_rotation: vec![true; backends], out_count: 0 }
    }

    /// Adds a backend in rotation and returns its index.
    pub fn add_backend(&mut self) -> usize {
        self.out.push(0);
        self.in_rotation.push(true);
        self.out.len() - 1
    }

    /// The number of backends.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether there are no backends.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Marks `backend` healthy or not (per active health checks).
    pub fn set_healthy(&mut self, backend: usize, healthy: bool) {
        self.set(backend, UNHEALTHY, !healthy);
    }

    /// Marks `backend` ejected or not (per outlier detection).
    pub fn set_ejected(&mut self, backend: usize, ejected: bool) {
        self.set(backend, EJECTED, ejected);
    }

    /// Marks `backend` draining or not (finishing its requests, taking no new ones).
    pub fn set_draining(&mut self, backend: usize, draining: bool) {
        self.set(backend, DRAINING, draining);
    }

    fn set(&mut self, backend: usize, flag: u8, on: bool) {
        let Some(out) = self.out.get_mut(backend) else { return };
        let was_in = *out == 0;
        if on {
            *out |= flag;
        } else {
            *out &= !flag;
        }
        let is_in = *out == 0;
        self.in_rotation[backend] = is_in;
        match (was_in, is_in) {
            (true, false) => self.out_count += 1,
            (false, true) => self.out_count -= 1,
            _ => {}
        }
    }

    /// Whether `backend` is in rotation (unknown backends are not).
    pub fn is_in_rotation(&self, backend: usize) -> bool {
        self.in_rotation.get(backend).copied().unwrap_or(false)
    }

    /// The number of backends in rotation.
    pub fn in_rotation_count(&self) -> usize {
        self.out.len() - self.out_count
    }

    /// The flags to put in [`Backends::in_rotation`](super::balancer::Backends): one per
    /// backend, or the empty slice while every backend is in rotation, so strategies take
    /// their fast path.
    pub fn as_slice(&self) -> &[bool] {
        if self.out_count == 0 { &[] } else { &self.in_rotation }
    }

    /// One flag per backend, whether or not any backend is out.
    pub fn flags(&self) -> &[bool] {
        &self.in_rotation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;

    #[test]
    fn probes_change_health_after_the_thresholds() {
        let config = HealthCheckConfig { healthy_threshold: 2, unhealthy_threshold: 3, ..Default::default() };
        let mut h = ActiveHealthCheck::new(config, 2);
        assert!(h.is_healthy(0) && h.is_healthy(1) && !h.is_healthy(2));
        // Two failures, then a success: the run is broken, still healthy.
        assert_eq!(h.probe_result(0, false), None);
        assert_eq!(h.probe_result(0, false), None);
        assert_eq!(h.probe_result(0, true), None);
        assert_eq!(h.probe_result(0, false), None);
        assert_eq!(h.probe_result(0, false), None);
        assert_eq!(h.probe_result(0, false), Some(HealthChange::Down));
        assert!(!h.is_healthy(0) && h.is_healthy(1));
        // Further failures change nothing; two good probes in a row bring it back.
        assert_eq!(h.probe_result(0, false), None);
        assert_eq!(h.probe_result(0, true), None);
        assert_eq!(h.probe_result(0, false), None);
        assert_eq!(h.probe_result(0, true), None);
        assert_eq!(h.probe_result(0, true), Some(HealthChange::Up));
        assert!(h.is_healthy(0));
        assert_eq!(h.probe_result(5, false), None);
        let added = h.add_backend();
        assert!(added == 2 && h.is_healthy(2));
    }

    #[test]
    fn zero_thresholds_act_as_one_and_probe_timing() {
        let config =
            HealthCheckConfig { interval_ns: S, timeout_ns: S / 2, healthy_threshold: 0, unhealthy_threshold: 0 };
        let mut h = ActiveHealthCheck::new(config, 1);
        assert_eq!(h.probe_result(0, false), Some(HealthChange::Down));
        assert_eq!(h.probe_result(0, true), Some(HealthChange::Up));
        assert!(h.probe_ok(Some(S / 2)) && !h.probe_ok(Some(S / 2 + 1)) && !h.probe_ok(None));
        assert_eq!(h.next_probe(SimTime(3 * S)), SimTime(4 * S));
        assert_eq!(h.config().interval_ns, S);
    }

    #[test]
    fn outliers_are_ejected_for_longer_each_time() {
        let config = OutlierConfig { consecutive_failures: 3, base_ejection_ns: 10 * S, max_ejection_percent: 50 };
        let mut o = OutlierDetection::new(config, 4);
        let t = SimTime::from_secs;
        assert_eq!(o.record(t(1), 0, false), None);
        assert_eq!(o.record(t(2), 0, false), None);
        assert_eq!(o.record(t(3), 0, true), None);
        assert_eq!(o.record(t(4), 0, false), None);
        assert_eq!(o.record(t(5), 0, false), None);
        assert_eq!(o.record(t(6), 0, false), Some(t(16)));
        assert!(o.is_ejected(0, t(15)) && !o.is_ejected(0, t(16)) && !o.is_ejected(1, t(10)));
        // Responses still arriving from an ejected backend are ignored.
        assert_eq!(o.record(t(7), 0, false), None);
        assert_eq!(o.ejected_count(t(7)), 1);
        let mut back = Vec::new();
        o.expire(t(15), |b| back.push(b));
        assert!(back.is_empty());
        o.expire(t(16), |b| back.push(b));
        assert_eq!(back, vec![0]);
        // The second ejection lasts twice as long.
        for k in 0..2 {
            assert_eq!(o.record(t(20 + k), 0, false), None);
        }
        assert_eq!(o.record(t(22), 0, false), Some(t(42)));
        assert_eq!(o.times_ejected(0), 2);
        assert_eq!(o.add_backend(), 4);
        assert_eq!(o.record(t(1), 9, false), None);
    }

    #[test]
    fn never_ejects_beyond_the_maximum_share() {
        let config = OutlierConfig { consecutive_failures: 1, base_ejection_ns: 10 * S, max_ejection_percent: 50 };
        let mut o = OutlierDetection::new(config, 5);
        let t = SimTime::from_secs;
        // 50% of 5 is 2.5: two backends at most.
        assert!(o.record(t(1), 0, false).is_some());
        assert!(o.record(t(1), 1, false).is_some());
        assert_eq!(o.record(t(1), 2, false), None);
        assert!(!o.is_ejected(2, t(1)));
        // Once one is back, the next failure of backend 2 ejects it (its run was kept).
        assert_eq!(o.record(t(11), 2, false), Some(t(21)));
        // A share below one backend never ejects anything.
        let mut none = OutlierDetection::new(OutlierConfig { max_ejection_percent: 10, ..config }, 5);
        assert_eq!(none.record(t(1), 0, false), None);
        // Of 12 known backends only 2 serve: 50% is one ejection, not six.
        let mut scaled = OutlierDetection::new(config, 12);
        scaled.set_counted_backends(2);
        assert!(scaled.record(t(1), 0, false).is_some());
        assert_eq!(scaled.record(t(1), 1, false), None);
        assert_eq!(none.config().max_ejection_percent, 10);
    }

    #[test]
    fn rotation_combines_the_flags() {
        let mut r = Rotation::new(3);
        assert!(r.as_slice().is_empty());
        assert_eq!(r.flags(), &[true, true, true]);
        r.set_healthy(1, false);
        r.set_draining(1, true);
        assert_eq!(r.as_slice(), &[true, false, true]);
        r.set_healthy(1, true);
        assert_eq!(r.as_slice(), &[true, false, true]);
        r.set_ejected(2, true);
        r.set_ejected(2, true);
        assert_eq!(r.as_slice(), &[true, false, false]);
        assert_eq!(r.in_rotation_count(), 1);
        r.set_draining(1, false);
        r.set_ejected(2, false);
        assert!(r.as_slice().is_empty());
        assert_eq!(r.in_rotation_count(), 3);
        assert_eq!(r.add_backend(), 3);
        assert!(r.is_in_rotation(3) && !r.is_in_rotation(4));
        r.set_healthy(7, false);
        assert_eq!((r.len(), r.is_empty()), (4, false));
        assert!(r.as_slice().is_empty());
    }
}
