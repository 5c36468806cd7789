//! Open workloads: streams of arriving requests with a piecewise-constant rate.
//!
//! Sans-IO: given the time of the last arrival and a random stream, a workload says when the
//! next request arrives. Poisson arrivals across a rate change stay exact: the exponential
//! gap is memoryless, so when a drawn gap crosses a stage boundary the draw restarts at the
//! boundary with the new rate.

use rand_distr::{Distribution, Exp1};

use crate::sim::{NANOS_PER_SEC, SimRng, SimTime};

/// How inter-arrival gaps are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Exponential gaps: a Poisson process.
    Poisson,
    /// Evenly spaced arrivals, `1 / rate` apart.
    Constant,
}

/// A rate that holds from `at` until the next stage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// When this rate starts.
    pub at: SimTime,
    /// Requests per second (zero pauses the workload).
    pub rate: f64,
}

/// An open workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The workload's name (its random stream is `workload.<name>`).
    pub name: String,
    /// Poisson or constant arrivals.
    pub arrivals: Arrivals,
    /// Rates over time, sorted by `at`, the first at time zero.
    pub stages: Vec<Stage>,
}

impl Workload {
    /// A workload with one rate for the whole run.
    pub fn steady(name: &str, arrivals: Arrivals, rate: f64) -> Self {
        Workload { name: name.to_string(), arrivals, stages: vec![Stage { at: SimTime::ZERO, rate }] }
    }
}

/// The running arrival stream of one workload: its stages, the stage in force and its own
/// random stream.
#[derive(Clone, Debug)]
pub struct ArrivalProcess {
    arrivals: Arrivals,
    /// (start of stage, mean gap in ns; infinite when the rate is zero).
    stages: Vec<(SimTime, f64)>,
    stage: usize,
    /// The stage in force's mean gap and the start of the next stage (`None` in the last
    /// one), copied out of `stages` when the stage changes: every arrival reads them, and
    /// reading them from the vector cost bounds checks and loads on each one.
    mean_gap_ns: f64,
    boundary: Option<SimTime>,
    rng: SimRng,
}

impl ArrivalProcess {
    /// Starts `workload`'s stream at time zero, drawing from `rng`.
    pub fn new(workload: &Workload, rng: SimRng) -> Self {
        let stages = workload
            .stages
            .iter()
            .map(|s| (s.at, if s.rate > 0.0 { NANOS_PER_SEC as f64 / s.rate } else { f64::INFINITY }))
            .collect();
        let mut process =
            ArrivalProcess { arrivals: workload.arrivals, stages, stage: 0, mean_gap_ns: 0.0, boundary: None, rng };
        process.enter(0);
        process
    }

    /// Makes `stage` the stage in force.
    fn enter(&mut self, stage: usize) {
        self.stage = stage;
        self.mean_gap_ns = self.stages[stage].1;
        self.boundary = self.stages.get(stage + 1).map(|s| s.0);
    }

    /// The next arrival after `after`, or `None` when the rate stays zero for the rest of
    /// time. Calls must come in non-decreasing order of `after`.
    #[inline]
    pub fn next_after(&mut self, after: SimTime) -> Option<SimTime> {
        let mut t = after;
        while self.boundary.is_some_and(|b| b <= t) {
            self.enter(self.stage + 1);
        }
        loop {
            if self.mean_gap_ns.is_finite() {
                let gap = match self.arrivals {
                    Arrivals::Poisson => {
                        let e: f64 = Exp1.sample(&mut self.rng);
                        e * self.mean_gap_ns
                    }
                    Arrivals::Constant => self.mean_gap_ns,
                };
                let next = t.after(gap_ns(gap));
                match self.boundary {
                    Some(b) if next >= b => {}
                    _ => return Some(next),
                }
            }
            // The gap crossed into the next stage (or this stage is paused): restart there.
            t = self.boundary?;
            self.enter(self.stage + 1);
        }
    }
}

/// A gap rounded to whole nanoseconds, at least 1: `((gap + 0.5) as u64).max(1)`.
///
/// Gaps are positive, so adding a half and truncating rounds to nearest. Below 2^63 the
/// conversion goes through `i64`, which gives the same value in about half the
/// instructions (x86-64 converts floats to signed integers only); larger gaps keep `as u64`.
#[inline]
fn gap_ns(gap: f64) -> u64 {
    const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    let y = gap + 0.5;
    if y < I64_LIMIT { (y as i64).max(1) as u64 } else { (y as u64).max(1) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::stream;

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let w = Workload::steady("w", Arrivals::Constant, 4.0);
        let mut p = ArrivalProcess::new(&w, stream(1, "w"));
        let a = p.next_after(SimTime::ZERO).expect("arrives");
        let b = p.next_after(a).expect("arrives");
        assert_eq!(a, SimTime(250_000_000));
        assert_eq!(b, SimTime(500_000_000));
    }

    #[test]
    fn poisson_rate_matches_each_stage() {
        let w = Workload {
            name: "w".into(),
            arrivals: Arrivals::Poisson,
            stages: vec![
                Stage { at: SimTime::ZERO, rate: 100.0 },
                Stage { at: SimTime::from_secs(100), rate: 0.0 },
                Stage { at: SimTime::from_secs(200), rate: 1_000.0 },
            ],
        };
        let mut p = ArrivalProcess::new(&w, stream(2, "w"));
        let mut counts = [0u32; 3];
        let mut t = SimTime::ZERO;
        while let Some(next) = p.next_after(t) {
            if next >= SimTime::from_secs(300) {
                break;
            }
            counts[(next.as_nanos() / (100 * NANOS_PER_SEC)) as usize] += 1;
            t = next;
        }
        assert!((9_500..10_500).contains(&counts[0]), "{counts:?}");
        assert_eq!(counts[1], 0);
        assert!((98_000..102_000).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn gaps_round_like_a_plain_conversion() {
        for gap in
            [0.0, 0.2, 0.5, 1.49, 1.5, 2.5, 1e9 + 0.5, 9.2e18, 9.3e18, 1.9e19, 1e30, f64::INFINITY, -3.0, f64::NAN]
        {
            assert_eq!(gap_ns(gap), ((gap + 0.5) as u64).max(1), "{gap}");
        }
    }

    #[test]
    fn zero_rate_forever_ends_the_stream() {
        let w = Workload::steady("w", Arrivals::Poisson, 0.0);
        assert_eq!(ArrivalProcess::new(&w, stream(1, "w")).next_after(SimTime::ZERO), None);
    }
}
