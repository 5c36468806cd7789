//! Open workloads: streams of arriving requests with a piecewise-constant rate.
//!
//! Sans-IO: given the time of the last arrival and a random stream, a workload says when the
//! next request arrives. Poisson arrivals across a rate change stay exact: the exponential
//! gap is memoryless, so when a drawn gap crosses a stage boundary the draw restarts at the
//! boundary with the new rate.

use rand_distr::{Distribution, Exp1};

use prodsim_kernel::{NS_PER_S, SimRng, SimTime};

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
    /// Whether the stage in force sends requests (its mean gap is finite).
    active: bool,
    /// The exponential variate of the next Poisson gap (unused for constant arrivals), and
    /// that gap in nanoseconds at the stage in force.
    ///
    /// Drawn one arrival ahead: the draw, the scaling and the rounding form a chain of
    /// dependent float operations some 40 cycles long, and computing the gap when it is
    /// needed put that chain between an arrival and the queue insertion of the next one.
    /// The variates are drawn in the same order as when drawn on demand (one per gap tried,
    /// including gaps discarded at a stage boundary), so every run is unchanged; the stream
    /// just ends one draw further on.
    next_exp1: f64,
    next_gap_ns: u64,
    rng: SimRng,
}

impl ArrivalProcess {
    /// Starts `workload`'s stream at time zero, drawing from `rng`.
    pub fn new(workload: &Workload, rng: SimRng) -> Self {
        let stages = workload
            .stages
            .iter()
            .map(|s| (s.at, if s.rate > 0.0 { NS_PER_S as f64 / s.rate } else { f64::INFINITY }))
            .collect();
        let mut process = ArrivalProcess {
            arrivals: workload.arrivals,
            stages,
            stage: 0,
            mean_gap_ns: 0.0,
            boundary: None,
            active: false,
            next_exp1: 0.0,
            next_gap_ns: 0,
            rng,
        };
        process.enter(0);
        process.draw_next_gap();
        process
    }

    /// Makes `stage` the stage in force. Out of line: stages change rarely, and keeping this
    /// out of `next_after` keeps that small enough to inline into the event loop.
    #[inline(never)]
    fn enter(&mut self, stage: usize) {
        self.stage = stage;
        self.mean_gap_ns = self.stages[stage].1;
        self.active = self.mean_gap_ns.is_finite();
        self.boundary = self.stages.get(stage + 1).map(|s| s.0);
        self.next_gap_ns = self.scale_next_gap();
    }

    /// The next gap at the stage in force, in nanoseconds (meaningless while paused).
    #[inline]
    fn scale_next_gap(&self) -> u64 {
        match self.arrivals {
            Arrivals::Poisson => gap_ns(self.next_exp1 * self.mean_gap_ns),
            Arrivals::Constant => gap_ns(self.mean_gap_ns),
        }
    }

    /// Draws the gap after the one just used.
    #[inline]
    fn draw_next_gap(&mut self) {
        if self.arrivals == Arrivals::Poisson {
            self.next_exp1 = Exp1.sample(&mut self.rng);
            self.next_gap_ns = self.scale_next_gap();
        }
    }

    /// The next arrival after `after`, or `None` when the rate stays zero for the rest of
    /// time. Calls must come in non-decreasing order of `after`.
    // Always inlined: once per arrival, and as a call (LLVM's choice once the gap was drawn
    // ahead) it spent some 25 instructions saving registers and reloading fields.
    #[inline(always)]
    pub fn next_after(&mut self, after: SimTime) -> Option<SimTime> {
        let mut t = after;
        while self.boundary.is_some_and(|b| b <= t) {
            self.enter(self.stage + 1);
        }
        loop {
            if self.active {
                let next = t.after(self.next_gap_ns);
                self.draw_next_gap();
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
    use prodsim_kernel::stream;

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
            counts[(next.as_nanos() / (100 * NS_PER_S)) as usize] += 1;
            t = next;
        }
        assert!((9_500..10_500).contains(&counts[0]), "{counts:?}");
        assert_eq!(counts[1], 0);
        assert!((98_000..102_000).contains(&counts[2]), "{counts:?}");
    }

    /// The arrivals drawn one gap ahead are those of drawing each gap when needed, as the
    /// first version did, across rate changes and pauses.
    #[test]
    fn drawing_ahead_changes_no_arrival() {
        fn on_demand(w: &Workload, mut rng: SimRng, end: SimTime) -> Vec<SimTime> {
            let stages: Vec<(SimTime, f64)> =
                w.stages.iter().map(|s| (s.at, if s.rate > 0.0 { 1e9 / s.rate } else { f64::INFINITY })).collect();
            let (mut stage, mut t, mut out) = (0, SimTime::ZERO, vec![]);
            'arrivals: loop {
                while stages.get(stage + 1).is_some_and(|s| s.0 <= t) {
                    stage += 1;
                }
                loop {
                    let (_, mean) = stages[stage];
                    let boundary = stages.get(stage + 1).map(|s| s.0);
                    if mean.is_finite() {
                        let gap = match w.arrivals {
                            Arrivals::Poisson => Distribution::<f64>::sample(&Exp1, &mut rng) * mean,
                            Arrivals::Constant => mean,
                        };
                        let next = t.after(((gap + 0.5) as u64).max(1));
                        if boundary.is_none_or(|b| next < b) {
                            if next > end {
                                break 'arrivals;
                            }
                            out.push(next);
                            t = next;
                            continue 'arrivals;
                        }
                    }
                    let Some(b) = boundary else { break 'arrivals };
                    t = b;
                    stage += 1;
                }
            }
            out
        }
        for arrivals in [Arrivals::Poisson, Arrivals::Constant] {
            let w = Workload {
                name: "w".into(),
                arrivals,
                stages: vec![
                    Stage { at: SimTime::ZERO, rate: 0.0 },
                    Stage { at: SimTime::from_secs(1), rate: 3.0 },
                    Stage { at: SimTime::from_secs(20), rate: 0.7 },
                    Stage { at: SimTime::from_secs(30), rate: 0.0 },
                    Stage { at: SimTime::from_secs(40), rate: 50.0 },
                ],
            };
            let end = SimTime::from_secs(60);
            let mut p = ArrivalProcess::new(&w, stream(9, "w"));
            let mut ahead = vec![];
            let mut t = SimTime::ZERO;
            while let Some(next) = p.next_after(t).filter(|&n| n <= end) {
                ahead.push(next);
                t = next;
            }
            assert_eq!(ahead, on_demand(&w, stream(9, "w"), end), "{arrivals:?}");
            assert!(ahead.len() > 1_000);
        }
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
