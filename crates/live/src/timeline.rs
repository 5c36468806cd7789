//! A live run's `timeseries.csv`: the rows `prodsim run` writes ([`Row`], one per
//! `report_interval` from time zero, warmup included), from what the load generator and the
//! app servers see. A request counts as an arrival in the interval of its intended start,
//! and its end (completion, rejection, timeout, failure) in the interval its answer came;
//! `in_flight` is the requests sent and not answered at an interval's end; utilization and
//! queue length are the app servers' own worker and queue integrals (the simulation's
//! `Server`), sampled at each interval's end. The same writer as `prodsim run`'s writes the
//! file, so the columns are those of docs/timeseries-csv.md.

use hdrhistogram::Histogram;
use prodsim_kernel::SimTime;
use prodsim_model::outcome::{LATENCY_MAX_TRACKABLE_NS, Row};
use prodsim_parts::server::Integrals;

use crate::measure::Fate;

/// Significant digits of the rows' latency quantiles (those of the simulation's rows).
const SIGFIG: u8 = 2;

/// One interval's counts, and its latency quantiles once it is closed.
#[derive(Clone, Copy, Debug, Default)]
struct Interval {
    arrivals: u64,
    delayed: u64,
    completions: u64,
    rejections: u64,
    timeouts: u64,
    failures: u64,
    /// Requests answered (whatever their fate) in the interval.
    answered: u64,
    latency_sum_ns: u128,
    /// p50 and p99 of the completions, and of the errors, once closed.
    quantiles: [Option<u64>; 4],
    /// The app servers' integrals summed at the interval's end, when sampled.
    integrals: Option<Integrals>,
}

/// The latencies of the interval answers are arriving in: completions and errors.
#[derive(Clone, Debug)]
struct OpenLatencies {
    completed: Option<Histogram<u64>>,
    completed_max_ns: u64,
    failed: Option<Histogram<u64>>,
    failed_max_ns: u64,
}

impl OpenLatencies {
    fn new() -> OpenLatencies {
        let h = || Histogram::new_with_bounds(1, LATENCY_MAX_TRACKABLE_NS, SIGFIG).ok();
        OpenLatencies { completed: h(), completed_max_ns: 0, failed: h(), failed_max_ns: 0 }
    }

    fn record(&mut self, completed: bool, latency_ns: u64) {
        let (h, max) = if completed {
            (&mut self.completed, &mut self.completed_max_ns)
        } else {
            (&mut self.failed, &mut self.failed_max_ns)
        };
        *max = (*max).max(latency_ns);
        if let Some(h) = h.as_mut() {
            h.saturating_record(latency_ns);
        }
    }

    /// p50 and p99 of the completions and of the errors, as the simulation's rows have them.
    fn quantiles(&self) -> [Option<u64>; 4] {
        let (c, f) = ((self.completed.as_ref(), self.completed_max_ns), (self.failed.as_ref(), self.failed_max_ns));
        [quantile(c.0, c.1, 0.5), quantile(c.0, c.1, 0.99), quantile(f.0, f.1, 0.5), quantile(f.0, f.1, 0.99)]
    }

    fn reset(&mut self) {
        [&mut self.completed, &mut self.failed].into_iter().flatten().for_each(|h| h.reset());
        self.completed_max_ns = 0;
        self.failed_max_ns = 0;
    }
}

/// The quantile `q` of `h` capped at the largest value seen, as the simulation's rows have it.
fn quantile(h: Option<&Histogram<u64>>, max_ns: u64, q: f64) -> Option<u64> {
    h.filter(|h| !h.is_empty()).map(|h| h.value_at_quantile(q).min(max_ns))
}

/// The rows of a live run, filled as requests are sent and answered. Memory is one row of
/// counts per interval and one pair of histograms: answers come in time order, so an
/// interval's quantiles are taken when the first answer of a later interval arrives (an
/// answer that loses the race to its lock by a few microseconds across an interval's end
/// is counted, but not in the closed interval's quantiles).
#[derive(Clone, Debug)]
pub struct Timeline {
    interval_ns: u64,
    duration_ns: u64,
    workers: u64,
    intervals: Vec<Interval>,
    /// The interval answers are arriving in, and its latencies.
    open: usize,
    latencies: OpenLatencies,
}

impl Timeline {
    /// Rows of `interval_ns` over `duration_ns`, for app servers with `workers` workers in all.
    pub fn new(interval_ns: u64, duration_ns: u64, workers: u64) -> Timeline {
        let interval_ns = interval_ns.max(1);
        let n = duration_ns.div_ceil(interval_ns).max(1) as usize;
        let intervals = vec![Interval::default(); n];
        Timeline { interval_ns, duration_ns, workers, intervals, open: 0, latencies: OpenLatencies::new() }
    }

    fn index(&self, t: SimTime) -> usize {
        (t.as_nanos() / self.interval_ns) as usize
    }

    /// A request meant to start at `intended` was sent.
    pub fn sent(&mut self, intended: SimTime) {
        let i = self.index(intended);
        if let Some(row) = self.intervals.get_mut(i) {
            row.arrivals += 1;
        }
    }

    /// The request meant to start at `intended` was answered at `answered` with `fate`.
    pub fn answered(&mut self, intended: SimTime, answered: SimTime, fate: Fate) {
        let queued = match fate {
            Fate::Completed { queued, .. } | Fate::TimedOut { started: Some((queued, _)) } => queued,
            Fate::TimedOut { started: None } => true,
            Fate::Rejected | Fate::Failed | Fate::InFlight => false,
        };
        let (at_sent, at_answer) = (self.index(intended), self.index(answered));
        if queued && let Some(row) = self.intervals.get_mut(at_sent) {
            row.delayed += 1;
        }
        if at_answer > self.open && at_answer < self.intervals.len() {
            self.intervals[self.open].quantiles = self.latencies.quantiles();
            self.latencies.reset();
            self.open = at_answer;
        }
        let latency_ns = answered.since(intended);
        let Some(row) = self.intervals.get_mut(at_answer) else { return };
        match fate {
            Fate::Completed { .. } => {
                row.completions += 1;
                row.latency_sum_ns += u128::from(latency_ns);
            }
            Fate::Rejected => row.rejections += 1,
            Fate::TimedOut { .. } => row.timeouts += 1,
            Fate::Failed => row.failures += 1,
            // Answered after the end: in flight at the end of every row.
            Fate::InFlight => return,
        }
        row.answered += 1;
        if at_answer == self.open {
            self.latencies.record(matches!(fate, Fate::Completed { .. }), latency_ns);
        }
    }

    /// The app servers' integrals summed at the end of interval `index`.
    pub fn sample(&mut self, index: usize, integrals: Integrals) {
        if let Some(row) = self.intervals.get_mut(index) {
            row.integrals = Some(integrals);
        }
    }

    /// Where interval `index` ends (the run's end for the last one).
    pub fn end_of(&self, index: usize) -> SimTime {
        SimTime(((index as u64 + 1) * self.interval_ns).min(self.duration_ns))
    }

    /// How many intervals there are.
    pub fn len(&self) -> usize {
        self.intervals.len()
    }

    /// Whether there are none (never: a run has at least one row).
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// The closed rows, as `timeseries.csv` writes them.
    pub fn rows(&self) -> Vec<Row> {
        let (mut sent, mut answered) = (0u64, 0u64);
        let mut before = Integrals::default();
        let mut rows = Vec::with_capacity(self.intervals.len());
        for (i, r) in self.intervals.iter().enumerate() {
            let [p50, p99, failed_p50, failed_p99] =
                if i == self.open { self.latencies.quantiles() } else { r.quantiles };
            let start_ns = i as u64 * self.interval_ns;
            let end_ns = self.end_of(i).as_nanos();
            sent += r.arrivals;
            answered += r.answered;
            let span_ns = end_ns.saturating_sub(start_ns).max(1) as f64;
            let now = r.integrals.unwrap_or(before);
            rows.push(Row {
                start_ns,
                end_ns,
                arrivals: r.arrivals,
                admitted: r.arrivals - r.rejections.min(r.arrivals),
                delayed: r.delayed,
                completions: r.completions,
                rejections: r.rejections,
                timeouts: r.timeouts,
                failures: r.failures,
                in_flight: sent.saturating_sub(answered),
                latency_sum_ns: r.latency_sum_ns,
                latency_p50_ns: p50,
                latency_p99_ns: p99,
                failed_latency_p50_ns: failed_p50,
                failed_latency_p99_ns: failed_p99,
                utilization: now.busy_ns.saturating_sub(before.busy_ns) as f64 / (span_ns * self.workers.max(1) as f64),
                queue_length: now.queued_ns.saturating_sub(before.queued_ns) as f64 / span_ns,
            });
            before = now;
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn arrivals_count_when_sent_ends_when_answered_and_in_flight_between() {
        let mut t = Timeline::new(10 * S, 25 * S, 4);
        assert_eq!(t.len(), 3);
        t.sent(SimTime(9 * S));
        t.answered(SimTime(9 * S), SimTime(11 * S), Fate::Completed { latency_ns: 2 * S, queued: true, wait_ns: S });
        t.sent(SimTime(12 * S));
        t.answered(SimTime(12 * S), SimTime(12 * S), Fate::Rejected);
        t.sent(SimTime(19 * S));
        t.sample(0, Integrals { busy_ns: u128::from(20 * S), queued_ns: u128::from(5 * S) });
        t.sample(1, Integrals { busy_ns: u128::from(20 * S), queued_ns: u128::from(5 * S) });
        let rows = t.rows();
        assert_eq!((rows[0].arrivals, rows[0].delayed, rows[0].completions, rows[0].in_flight), (1, 1, 0, 1));
        assert_eq!((rows[1].arrivals, rows[1].admitted, rows[1].completions, rows[1].rejections), (2, 1, 1, 1));
        assert_eq!(rows[1].in_flight, 1, "the one sent at 19 s");
        assert_eq!(rows[1].latency_p50_ns.map(|v| v / S), Some(2));
        assert_eq!(rows[0].utilization, 0.5);
        assert_eq!(rows[0].queue_length, 0.5);
        assert_eq!(rows[1].utilization, 0.0);
        assert_eq!((rows[2].start_ns, rows[2].end_ns), (20 * S, 25 * S));
        assert_eq!(rows[2].latency_p99_ns, None);
    }
}
