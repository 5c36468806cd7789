//! What a run produces: plain data that reports are pure functions of.
//!
//! [`Outcome`] holds the totals, the latency histograms and the time series;
//! [`SystemOutcome`] what each part of the architecture did.
//!
//! Latencies live in HdrHistograms and time series at report resolution, so an outcome's
//! size depends on the scenario's shape, never on how many requests were served.

mod so_far;
mod system;

use hdrhistogram::{Counter, Histogram};

pub use crate::delivery::incidents::{DeliveryOutcome, ReleaseOutcome, affected_users};
pub use crate::delivery::{Mitigation, ReleaseEnd};
pub use crate::edge::{MaliciousOutcome, ProxyOutcome};
pub use crate::logging::LoggingOutcome;
pub use crate::measure::recorder::GroupRow;
pub use crate::measure::series::ComponentRow;
pub use crate::monitoring::alerting::{
    EpisodeOutcome, IncidentOutcome, MonitoringOutcome, RuleError, RuleQuality, RuleSetOutcome,
};
pub use crate::recovery::backups::BackupOutcome;
pub use crate::recovery::{FallbackOutcome, ReconciliationOutcome, RecoveryOutcome};
pub use crate::response::ActionRecord;
pub use crate::scaling::ScalingOutcome;
pub use so_far::ScoreSoFar;
pub use system::{ClassOutcome, ComponentOutcome, CostOutcome, DatabaseOutcome, RetryQueueOutcome, SystemOutcome};

use prodsim_kernel::NS_PER_S;

/// Largest latency the histograms track exactly (one day); longer ones saturate there, and
/// the exact maximum is kept separately.
pub const LATENCY_MAX_TRACKABLE_NS: u64 = 86_400 * NS_PER_S;

/// The fate of every request that arrived after the warmup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests that arrived (after the warmup).
    pub arrived: u64,
    /// Served within their deadline.
    pub completed: u64,
    /// Turned away because the server's queue was full.
    pub rejected: u64,
    /// Their deadline passed, waiting or in service.
    pub timed_out: u64,
    /// Failed with an error: a dependency failed for good, or the server they were on
    /// crashed or was down.
    pub failed: u64,
    /// Still waiting or in service when the run ended.
    pub in_flight: u64,
}

impl RequestCounts {
    /// Requests whose fate is known: completed, rejected, timed out or failed.
    pub fn finished(&self) -> u64 {
        self.completed + self.rejected + self.timed_out + self.failed
    }

    /// Share of finished requests that did not complete (rejected, timed out, failed).
    pub fn error_ratio(&self) -> Option<f64> {
        self.availability().map(|a| 1.0 - a)
    }

    /// Completed share of the requests whose fate is known; `None` before any is known.
    pub fn availability(&self) -> Option<f64> {
        let finished = self.finished();
        (finished > 0).then(|| self.completed as f64 / finished as f64)
    }
}

/// A latency distribution: an HdrHistogram plus the exact count, sum and maximum.
///
/// `C` is the histogram's counter type: `u64` for run totals, `u32` for the per-interval
/// histograms, whose smaller footprint keeps the hot path in cache (an interval never holds
/// four billion requests in one bucket; if it did, the bucket saturates).
#[derive(Clone, Debug)]
pub struct Latency<C: Counter = u64> {
    /// Histogram in nanoseconds.
    pub histogram: Histogram<C>,
    /// Values recorded.
    pub count: u64,
    /// Exact sum of the values in nanoseconds.
    pub sum_ns: u128,
    /// Exact largest value in nanoseconds.
    pub max_ns: u64,
}

impl<C: Counter> Latency<C> {
    /// An empty distribution with `sigfig` significant digits.
    pub fn new(sigfig: u8) -> Self {
        // The bounds are constants that hdrhistogram accepts; failure would be a build bug.
        let histogram = Histogram::new_with_bounds(1, LATENCY_MAX_TRACKABLE_NS, sigfig)
            .expect("constant histogram bounds are valid");
        Latency { histogram, count: 0, sum_ns: 0, max_ns: 0 }
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.histogram.saturating_record(ns.max(1));
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Empties the distribution, keeping its allocation.
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.count = 0;
        self.sum_ns = 0;
        self.max_ns = 0;
    }

    /// Exact mean in milliseconds, `None` when empty.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ns as f64 / self.count as f64 / 1e6)
    }

    /// The `q` quantile (0..=1) in milliseconds, `None` when empty. The maximum is exact.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        if q >= 1.0 {
            return Some(self.max_ns as f64 / 1e6);
        }
        let v = self.histogram.value_at_quantile(q).min(self.max_ns);
        Some(v as f64 / 1e6)
    }
}

/// Queueing delay of admitted requests (after the warmup).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Requests a server accepted (started at once or queued).
    pub admitted: u64,
    /// Of those, requests that found every worker busy and had to wait.
    pub delayed: u64,
    /// Requests that started service (at once or after waiting).
    pub started: u64,
    /// Total time started requests spent waiting, in nanoseconds.
    pub wait_sum_ns: u128,
}

impl Waiting {
    /// Share of admitted requests that had to wait: P(wait), Erlang C for M/M/c.
    pub fn probability(&self) -> Option<f64> {
        (self.admitted > 0).then(|| self.delayed as f64 / self.admitted as f64)
    }

    /// Mean wait of started requests in milliseconds.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.started > 0).then(|| self.wait_sum_ns as f64 / self.started as f64 / 1e6)
    }
}

/// One server over the measured part of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerStats {
    /// Busy workers over available workers, time-averaged.
    pub utilization: f64,
    /// Mean number of waiting requests, time-averaged.
    pub mean_queue_length: f64,
    /// Requests it finished serving (whole run).
    pub served: u64,
    /// Requests it rejected (whole run).
    pub rejected: u64,
}

/// One row of the time series: what happened in `[start_ns, end_ns)` (all requests,
/// warmup included).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Row {
    /// Start of the interval.
    pub start_ns: u64,
    /// End of the interval.
    pub end_ns: u64,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests admitted by a server.
    pub admitted: u64,
    /// Admitted requests that had to wait.
    pub delayed: u64,
    /// Requests completed within their deadline.
    pub completions: u64,
    /// Requests rejected by a full queue.
    pub rejections: u64,
    /// Requests whose deadline passed.
    pub timeouts: u64,
    /// Requests that failed with an error.
    pub failures: u64,
    /// Requests in flight at the end of the interval.
    pub in_flight: u64,
    /// Sum of the latencies of the completions, in nanoseconds.
    pub latency_sum_ns: u128,
    /// Median latency of the completions (two significant digits), if any.
    pub latency_p50_ns: Option<u64>,
    /// 99th percentile latency of the completions (two significant digits), if any.
    pub latency_p99_ns: Option<u64>,
    /// Median latency of the requests that ended in an error (rejected, timed out or
    /// failed; two significant digits), if any: how long users waited for the error.
    pub failed_latency_p50_ns: Option<u64>,
    /// 99th percentile latency of the requests that ended in an error, if any.
    pub failed_latency_p99_ns: Option<u64>,
    /// Busy workers over all workers, time-averaged over the interval.
    pub utilization: f64,
    /// Waiting requests summed over servers, time-averaged over the interval.
    pub queue_length: f64,
}

impl Row {
    /// Mean latency of the interval's completions in milliseconds.
    pub fn latency_mean_ms(&self) -> Option<f64> {
        (self.completions > 0).then(|| self.latency_sum_ns as f64 / self.completions as f64 / 1e6)
    }
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Scenario name.
    pub scenario: String,
    /// Seed the run used.
    pub seed: u64,
    /// Simulated time, in nanoseconds.
    pub simulated_ns: u64,
    /// Warmup excluded from the statistics, in nanoseconds.
    pub warmup_ns: u64,
    /// Events processed.
    pub events: u64,
    /// Fate of requests arriving after the warmup.
    pub requests: RequestCounts,
    /// Latency of completed requests arriving after the warmup.
    pub latency: Latency,
    /// Queueing delay of admitted requests arriving after the warmup.
    pub waiting: Waiting,
    /// Per-server statistics, in server order.
    pub servers: Vec<ServerStats>,
    /// Width of a time-series row, in nanoseconds.
    pub interval_ns: u64,
    /// The time series, one row per interval from time zero.
    pub rows: Vec<Row>,
    /// The faults injected, with their windows.
    pub faults: Vec<prodsim_parts::faults::Fault>,
    /// What the architecture did beyond the app servers' totals: classes, regions,
    /// components, the ledger, the database, the retry queue, cost, the edge, scaling,
    /// monitoring, logging, releases and responders.
    pub system: Box<SystemOutcome>,
}
