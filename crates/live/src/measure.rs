//! What a live run measures, as the load generator sees each answer: request fates,
//! latency from the intended start (coordinated-omission corrected, as wrk2 and k6 do),
//! queueing as the app server reports it, overall and per class. Requests sent before the
//! warmup ends are not counted, as in the simulation.

use prodsim_kernel::SimTime;
use prodsim_model::outcome::{Latency, RequestCounts, Waiting};

use crate::timeline::Timeline;

/// Significant digits of the latency histograms (those of the simulation's run totals).
const SIGFIG: u8 = 3;

/// How one request ended, as the load generator saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Answered 200 before the end of the run.
    Completed {
        /// From the intended start to the answer, in scenario nanoseconds.
        latency_ns: u64,
        /// Whether it found every worker busy.
        queued: bool,
        /// Time it waited for a worker, in scenario nanoseconds.
        wait_ns: u64,
    },
    /// Turned away by a full queue (503 from the app server).
    Rejected,
    /// Past `[servers].timeout`: dropped while waiting (504), or answered after its
    /// deadline (its client gave up; the worker still did the work: `started` holds
    /// whether it waited and for how long).
    TimedOut {
        /// `Some((queued, wait_ns))` when a worker served it.
        started: Option<(bool, u64)>,
    },
    /// Failed: a connection error or an unexpected status.
    Failed,
    /// No answer by the end of the run.
    InFlight,
}

/// One group's counts and latency (the whole run, or one class).
#[derive(Clone, Debug)]
pub struct Group {
    /// Fates of the group's requests.
    pub counts: RequestCounts,
    /// Latency of its completed requests.
    pub latency: Latency,
}

impl Group {
    fn new() -> Group {
        Group { counts: RequestCounts::default(), latency: Latency::new(SIGFIG) }
    }

    fn record(&mut self, fate: Fate) {
        self.counts.arrived += 1;
        match fate {
            Fate::Completed { latency_ns, .. } => {
                self.counts.completed += 1;
                self.latency.record(latency_ns);
            }
            Fate::Rejected => self.counts.rejected += 1,
            Fate::TimedOut { .. } => self.counts.timed_out += 1,
            Fate::Failed => self.counts.failed += 1,
            Fate::InFlight => self.counts.in_flight += 1,
        }
    }
}

/// The measurements of a live run.
#[derive(Clone, Debug)]
pub struct Measure {
    warmup: SimTime,
    /// Every request sent after the warmup.
    pub all: Group,
    /// Per class, in class order.
    pub classes: Vec<Group>,
    /// Queueing at the app servers.
    pub waiting: Waiting,
    /// Every request, warmup included, per report interval (`timeseries.csv`).
    pub timeline: Timeline,
}

impl Measure {
    /// Empty measurements for `classes` classes, counting requests sent from `warmup` on,
    /// with the rows of `timeline`.
    pub fn new(classes: usize, warmup: SimTime, timeline: Timeline) -> Measure {
        Measure {
            warmup,
            all: Group::new(),
            classes: (0..classes).map(|_| Group::new()).collect(),
            waiting: Waiting::default(),
            timeline,
        }
    }

    /// Records the fate of a request of `class` meant to start at `intended`.
    pub fn record(&mut self, class: usize, intended: SimTime, fate: Fate) {
        if intended < self.warmup {
            return;
        }
        self.all.record(fate);
        if let Some(g) = self.classes.get_mut(class) {
            g.record(fate);
        }
        let started = match fate {
            Fate::Completed { queued, wait_ns, .. } | Fate::TimedOut { started: Some((queued, wait_ns)) } => {
                Some((queued, wait_ns))
            }
            Fate::TimedOut { started: None } => {
                // Admitted and waiting when its deadline passed: delayed, never started.
                self.waiting.admitted += 1;
                self.waiting.delayed += 1;
                None
            }
            Fate::Rejected | Fate::Failed | Fate::InFlight => None,
        };
        if let Some((queued, wait_ns)) = started {
            self.waiting.admitted += 1;
            self.waiting.started += 1;
            self.waiting.delayed += u64::from(queued);
            self.waiting.wait_sum_ns += u128::from(wait_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_requests_are_not_counted_and_fates_add_up() {
        let mut m = Measure::new(2, SimTime(10), Timeline::new(10, 20, 1));
        m.record(0, SimTime(5), Fate::Rejected);
        m.record(0, SimTime(10), Fate::Completed { latency_ns: 4, queued: true, wait_ns: 3 });
        m.record(1, SimTime(11), Fate::Rejected);
        m.record(1, SimTime(12), Fate::InFlight);
        assert_eq!((m.all.counts.arrived, m.all.counts.completed, m.all.counts.rejected), (3, 1, 1));
        assert_eq!(m.all.counts.in_flight, 1);
        assert_eq!(m.classes[1].counts.arrived, 2);
        assert_eq!(m.waiting.probability(), Some(1.0));
        assert_eq!(m.all.latency.count, 1);
    }
}
