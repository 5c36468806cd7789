//! A horizontal autoscaler after the Kubernetes Horizontal Pod Autoscaler.
//!
//! Sans-IO: the engine calls [`Autoscaler::evaluate`] with the current instance count and
//! the measured utilization of the ready instances; the autoscaler answers with a new
//! target or nothing. It starts and stops nothing itself: a [`ScaleDecision`] says when the
//! added instances will be ready (`cold_start_ns` later), and the engine schedules that.
//!
//! The rule is the HPA's:
//!
//! - evaluate at most once per `evaluation_ns` (the HPA's sync period); calls in between
//!   are ignored;
//! - `desired = ceil(current × utilization / target_utilization)`, unless the ratio
//!   `utilization / target_utilization` is within [`TOLERANCE`] (10%) of 1, in which case
//!   `desired = current`;
//! - clamp `desired` to `[min, max]` (a count outside the bounds is brought inside even
//!   within the tolerance, or with no valid measurement);
//! - after any change, a cooldown of `cooldown_ns`: no change in either direction until it
//!   has passed. Outside the cooldown a scale-up happens immediately and so does a
//!   scale-down, but a scale-down only ever follows a cooldown.
//!
//! A cooldown shorter than the cold start makes the autoscaler decide again while the
//! instances it asked for are still starting, which over-provisions; that is a real
//! misconfiguration a scenario may want to show, so it is allowed.

use prodsim_kernel::SimTime;

/// Relative distance from the target within which the autoscaler does nothing.
pub const TOLERANCE: f64 = 0.1;

/// How an autoscaler decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoscalerConfig {
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Utilization (busy fraction, in `(0, 1]`) to aim for.
    pub target_utilization: f64,
    /// Time after a change during which no other change is made, in nanoseconds.
    pub cooldown_ns: u64,
    /// Time from deciding on a new instance until it serves, in nanoseconds.
    pub cold_start_ns: u64,
    /// Time between evaluations, in nanoseconds.
    pub evaluation_ns: u64,
}

impl AutoscalerConfig {
    /// Checks the fields a scenario loader should refuse, naming the first bad one.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.min > self.max {
            return Err("min must not exceed max");
        }
        if !(self.target_utilization.is_finite() && self.target_utilization > 0.0 && self.target_utilization <= 1.0) {
            return Err("target_utilization must be above 0 and at most 1");
        }
        Ok(())
    }
}

/// A change of the instance count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleDecision {
    /// Instances there should be.
    pub target: u32,
    /// When instances added by this decision are ready: `now + cold_start_ns` for a
    /// scale-up, `now` for a scale-down.
    pub ready_at: SimTime,
}

/// A horizontal autoscaler.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    config: AutoscalerConfig,
    last_evaluation: Option<SimTime>,
    last_change: Option<SimTime>,
    scale_ups: u64,
    scale_downs: u64,
}

impl Autoscaler {
    /// An autoscaler that has not evaluated yet. The config is repaired rather than
    /// refused (see [`AutoscalerConfig::validate`]): `max` is raised to `min` if below it,
    /// and a target utilization that is not a positive finite number becomes 1.
    pub fn new(config: AutoscalerConfig) -> Self {
        let target_utilization = if config.target_utilization.is_finite() && config.target_utilization > 0.0 {
            config.target_utilization
        } else {
            1.0
        };
        let config = AutoscalerConfig { max: config.max.max(config.min), target_utilization, ..config };
        Autoscaler { config, last_evaluation: None, last_change: None, scale_ups: 0, scale_downs: 0 }
    }

    /// Evaluates at `now` with `current` instances at `utilization` (the mean busy fraction
    /// of the ready ones); returns a new target when the count should change. A utilization
    /// that is NaN or infinite is no measurement: only the bounds are enforced.
    pub fn evaluate(&mut self, now: SimTime, current: u32, utilization: f64) -> Option<ScaleDecision> {
        if self.last_evaluation.is_some_and(|last| now.since(last) < self.config.evaluation_ns) {
            return None;
        }
        self.last_evaluation = Some(now);
        let desired = self.desired(current, utilization);
        if desired == current {
            return None;
        }
        if self.last_change.is_some_and(|changed| now.since(changed) < self.config.cooldown_ns) {
            return None;
        }
        self.last_change = Some(now);
        let ready_at = if desired > current {
            self.scale_ups += 1;
            now.after(self.config.cold_start_ns)
        } else {
            self.scale_downs += 1;
            now
        };
        Some(ScaleDecision { target: desired, ready_at })
    }

    /// The HPA recommendation for `current` instances at `utilization`, ignoring timing.
    pub fn desired(&self, current: u32, utilization: f64) -> u32 {
        let AutoscalerConfig { min, max, target_utilization, .. } = self.config;
        if !utilization.is_finite() {
            return current.clamp(min, max);
        }
        let ratio = utilization.max(0.0) / target_utilization;
        if (ratio - 1.0).abs() <= TOLERANCE {
            return current.clamp(min, max);
        }
        // `as` saturates, so a huge product lands on u32::MAX and then on `max`.
        let desired = (f64::from(current) * ratio).ceil() as u32;
        desired.clamp(min, max)
    }

    /// Scale-ups decided so far.
    pub fn scale_ups(&self) -> u64 {
        self.scale_ups
    }

    /// Scale-downs decided so far.
    pub fn scale_downs(&self) -> u64 {
        self.scale_downs
    }

    /// The config in use, after repair.
    pub fn config(&self) -> &AutoscalerConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    fn config() -> AutoscalerConfig {
        AutoscalerConfig {
            min: 2,
            max: 20,
            target_utilization: 0.5,
            cooldown_ns: 300 * S,
            cold_start_ns: 30 * S,
            evaluation_ns: 15 * S,
        }
    }

    fn at(s: u64) -> SimTime {
        SimTime(s * S)
    }

    #[test]
    fn follows_the_hpa_formula() {
        let a = Autoscaler::new(config());
        assert_eq!(a.desired(4, 0.75), 6); // ceil(4 × 1.5)
        assert_eq!(a.desired(4, 0.8), 7); // ceil(6.4)
        assert_eq!(a.desired(10, 0.2), 4);
        assert_eq!(a.desired(10, 0.54), 10, "within 10% of the target");
        assert_eq!(a.desired(10, 0.45), 10, "within 10% of the target");
        assert_eq!(a.desired(10, 0.56), 12, "just outside the band");
        assert_eq!(a.desired(10, 0.0), 2, "clamped to min");
        assert_eq!(a.desired(10, 1e9), 20, "clamped to max");
        assert_eq!(a.desired(1, 0.5), 2, "below min is raised even within the band");
        assert_eq!(a.desired(30, f64::NAN), 20, "no measurement: only the bounds");
        assert_eq!(a.desired(5, -1.0), 2);
    }

    #[test]
    fn scales_up_at_once_with_a_cold_start() {
        let mut a = Autoscaler::new(config());
        let d = a.evaluate(at(100), 4, 1.0).expect("scale up");
        assert_eq!(d, ScaleDecision { target: 8, ready_at: at(130) });
        assert_eq!(a.scale_ups(), 1);
    }

    #[test]
    fn evaluates_once_per_period() {
        let mut a = Autoscaler::new(config());
        assert_eq!(a.evaluate(at(0), 4, 0.5), None);
        assert_eq!(a.evaluate(at(10), 4, 1.0), None, "within the evaluation period");
        assert!(a.evaluate(at(15), 4, 1.0).is_some());
    }

    #[test]
    fn no_change_within_the_cooldown_in_either_direction() {
        let mut a = Autoscaler::new(config());
        assert!(a.evaluate(at(0), 4, 1.0).is_some());
        assert_eq!(a.evaluate(at(15), 8, 1.0), None, "up again: cooling down");
        assert_eq!(a.evaluate(at(30), 8, 0.1), None, "down: cooling down");
        let d = a.evaluate(at(300), 8, 0.1).expect("cooldown over");
        assert_eq!(d, ScaleDecision { target: 2, ready_at: at(300) });
        assert_eq!((a.scale_ups(), a.scale_downs()), (1, 1));
        // Within the tolerance nothing happens and no cooldown starts.
        let mut b = Autoscaler::new(config());
        assert_eq!(b.evaluate(at(0), 4, 0.52), None);
        assert!(b.evaluate(at(15), 4, 1.0).is_some());
    }

    #[test]
    fn a_bad_config_is_repaired_and_reported() {
        let bad = AutoscalerConfig { min: 5, max: 3, target_utilization: 0.0, ..config() };
        assert!(bad.validate().is_err());
        assert!(config().validate().is_ok());
        let a = Autoscaler::new(bad);
        assert_eq!((a.config().max, a.config().target_utilization), (5, 1.0));
        assert_eq!(a.desired(1, 0.5), 5);
    }

    proptest! {
        #[test]
        fn targets_stay_in_bounds_and_changes_respect_the_cooldown(
            steps in proptest::collection::vec((0u64..120, 0.0f64..2.0), 1..200),
        ) {
            let mut a = Autoscaler::new(config());
            let (mut now, mut current, mut last_change) = (0u64, 4u32, None::<u64>);
            for (dt, util) in steps {
                now += dt * S / 4;
                if let Some(d) = a.evaluate(SimTime(now), current, util) {
                    prop_assert!((2..=20).contains(&d.target));
                    prop_assert_ne!(d.target, current);
                    if let Some(t) = last_change { prop_assert!(now - t >= 300 * S); }
                    prop_assert_eq!(d.target > current, d.ready_at > SimTime(now));
                    last_change = Some(now);
                    current = d.target;
                }
            }
        }
    }
}
