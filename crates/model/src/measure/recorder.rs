//! Measurement in the engine: request fates overall and per class, latency
//! histograms, time-series rows and the warmup cut. Nothing here allocates per event.

use super::histogram::Counts;
use crate::outcome::{RequestCounts, Row, Waiting};
use prodsim_kernel::SimTime;

use crate::station::Instance;

/// The numbers kept for the whole and for each class.
#[derive(Clone, Debug)]
pub struct ClassStats {
    /// Fates of measured requests.
    pub requests: RequestCounts,
    /// Latency of measured completions.
    pub latency: Counts,
    /// Completions that went on without a failed dependency (degraded).
    pub degraded: u64,
    /// Requests whose payment went on the retry queue (answered with a friendly error or
    /// "accepted").
    pub deferred: u64,
}

impl ClassStats {
    fn new() -> Self {
        ClassStats { requests: RequestCounts::default(), latency: Counts::new(3), degraded: 0, deferred: 0 }
    }

    /// Counts one measured request that ended with `fate` after `latency_ns`.
    #[inline]
    fn record(&mut self, fate: Fate, latency_ns: u64, degraded: bool, deferred: bool) {
        match fate {
            Fate::Completed => {
                self.requests.completed += 1;
                self.latency.record(latency_ns);
                self.degraded += u64::from(degraded);
            }
            Fate::Rejected => self.requests.rejected += 1,
            Fate::TimedOut => self.requests.timed_out += 1,
            Fate::Failed => self.requests.failed += 1,
        }
        self.deferred += u64::from(deferred);
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    arrivals: u64,
    delayed: u64,
    completions: u64,
    rejections: u64,
    timeouts: u64,
    failures: u64,
}

/// What one class's (or region's) requests did in one report interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupRow {
    /// Requests that completed.
    pub completed: u64,
    /// Requests that did not: rejected, timed out or failed.
    pub errors: u64,
    /// Median latency of the interval's completions (two significant digits), if any.
    pub latency_p50_ns: Option<u64>,
    /// 99th percentile latency of the interval's completions (two significant digits), if
    /// any.
    pub latency_p99_ns: Option<u64>,
}

impl GroupRow {
    #[inline]
    fn count(&mut self, fate: Fate) {
        match fate {
            Fate::Completed => self.completed += 1,
            Fate::Rejected | Fate::TimedOut | Fate::Failed => self.errors += 1,
        }
    }
}

/// One class's (or region's) current interval: its counts and the latencies of its
/// completions, closed into a [`GroupRow`] at the end of the interval.
#[derive(Clone, Debug)]
struct GroupInterval {
    row: GroupRow,
    latency: Counts,
}

impl GroupInterval {
    fn new() -> Self {
        GroupInterval { row: GroupRow::default(), latency: Counts::new(2) }
    }

    #[inline]
    fn count(&mut self, fate: Fate, latency_ns: u64) {
        self.row.count(fate);
        if fate == Fate::Completed {
            self.latency.record(latency_ns);
        }
    }

    /// The interval's row, with its latency quantiles; starts the next interval.
    fn close(&mut self) -> GroupRow {
        let h = &self.latency;
        let row = GroupRow {
            latency_p50_ns: h.value_at_quantile(0.5).map(|v| v.min(h.max_ns)),
            latency_p99_ns: h.value_at_quantile(0.99).map(|v| v.min(h.max_ns)),
            ..self.row
        };
        self.row = GroupRow::default();
        self.latency.reset();
        row
    }
}

/// How a finished request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Served (maybe degraded or deferred).
    Completed,
    /// Refused by a full queue.
    Rejected,
    /// Past its deadline.
    TimedOut,
    /// An error.
    Failed,
}

/// Accumulates request fates, latencies and time-series rows for the outcome.
pub struct Recorder {
    warmup: SimTime,
    interval_ns: u64,
    /// All classes together.
    pub total: ClassStats,
    /// One per class.
    pub classes: Vec<ClassStats>,
    /// One per region of the users (empty without `[[regions]]`).
    pub regions: Vec<ClassStats>,
    /// Queueing at the app servers.
    pub waiting: Waiting,
    /// Users' requests in flight.
    in_flight: u64,
    /// Attack requests in flight (`ddos`, malicious users).
    malicious_in_flight: u64,
    row: Counters,
    row_latency: Counts,
    /// Latencies of the interval's requests that did not complete (rejected, timed out,
    /// failed): how long a user waited for an error.
    row_failed_latency: Counts,
    row_start: SimTime,
    row_integrals: (u128, u128),
    /// App server integrals at the end of the warmup.
    pub warm_integrals: Option<Vec<(u128, u128)>>,
    next_checkpoint: SimTime,
    /// Closed rows.
    pub rows: Vec<Row>,
    /// The current interval per class (empty with one class: the class is the total).
    class_row: Vec<GroupInterval>,
    /// The current interval per region of the users.
    region_row: Vec<GroupInterval>,
    /// Closed intervals per class: for each row, one per class in class order (empty
    /// with one class).
    pub class_rows: Vec<GroupRow>,
    /// Closed intervals per region: for each row, one per region in file order.
    pub region_rows: Vec<GroupRow>,
}

impl Recorder {
    /// A recorder for `classes` classes.
    pub fn new(warmup: SimTime, interval_ns: u64, expected_rows: usize, classes: usize) -> Self {
        Recorder {
            warmup,
            interval_ns,
            total: ClassStats::new(),
            classes: (0..classes).map(|_| ClassStats::new()).collect(),
            regions: Vec::new(),
            waiting: Waiting::default(),
            in_flight: 0,
            malicious_in_flight: 0,
            row: Counters::default(),
            row_latency: Counts::new(2),
            row_failed_latency: Counts::new(2),
            row_start: SimTime::ZERO,
            row_integrals: (0, 0),
            warm_integrals: None,
            next_checkpoint: SimTime(interval_ns.min(warmup.as_nanos().max(1))),
            rows: Vec::with_capacity(expected_rows),
            class_row: if classes > 1 { vec![GroupInterval::new(); classes] } else { Vec::new() },
            region_row: Vec::new(),
            class_rows: Vec::new(),
            region_rows: Vec::new(),
        }
    }

    /// Requests in flight now, users' and attackers' (what `[limits].max_in_flight` bounds).
    #[inline]
    pub fn in_flight(&self) -> u64 {
        self.in_flight + self.malicious_in_flight
    }

    /// The first instant at which a row (or the warmup's cut) is due.
    #[inline]
    pub fn next_checkpoint(&self) -> SimTime {
        self.next_checkpoint
    }

    /// Closes the rows due at or before `now`.
    #[inline]
    pub fn checkpoint(&mut self, now: SimTime, servers: &[Instance]) {
        if now >= self.next_checkpoint {
            self.checkpoint_slow(now, servers);
        }
    }

    #[cold]
    fn checkpoint_slow(&mut self, now: SimTime, servers: &[Instance]) {
        loop {
            let row_end = self.row_start.after(self.interval_ns);
            let warm_due = self.warm_integrals.is_none() && self.warmup <= now;
            if warm_due && self.warmup <= row_end {
                self.warm_integrals = Some(servers.iter().map(|s| s.integrals_at(self.warmup)).collect());
                continue;
            }
            if row_end > now {
                break;
            }
            self.close_row(row_end, servers);
        }
        let row_end = self.row_start.after(self.interval_ns);
        self.next_checkpoint = if self.warm_integrals.is_none() { row_end.min(self.warmup) } else { row_end };
    }

    fn close_row(&mut self, end: SimTime, servers: &[Instance]) {
        let total = servers.iter().fold((0u128, 0u128), |acc, s| {
            let i = s.integrals_at(end);
            (acc.0.wrapping_add(i.0), acc.1.wrapping_add(i.1))
        });
        let span_ns = end.since(self.row_start).max(1) as f64;
        let workers: u64 = servers.iter().map(|s| u64::from(s.workers())).sum();
        let c = self.row;
        let hist = &self.row_latency;
        let failed = &self.row_failed_latency;
        self.rows.push(Row {
            start_ns: self.row_start.as_nanos(),
            end_ns: end.as_nanos(),
            arrivals: c.arrivals,
            admitted: c.arrivals - c.rejections.min(c.arrivals),
            delayed: c.delayed,
            completions: c.completions,
            rejections: c.rejections,
            timeouts: c.timeouts,
            failures: c.failures,
            in_flight: self.in_flight,
            latency_sum_ns: hist.sum_ns,
            latency_p50_ns: hist.value_at_quantile(0.5).map(|v| v.min(hist.max_ns)),
            latency_p99_ns: hist.value_at_quantile(0.99).map(|v| v.min(hist.max_ns)),
            failed_latency_p50_ns: failed.value_at_quantile(0.5).map(|v| v.min(failed.max_ns)),
            failed_latency_p99_ns: failed.value_at_quantile(0.99).map(|v| v.min(failed.max_ns)),
            utilization: total.0.wrapping_sub(self.row_integrals.0) as f64 / (span_ns * workers.max(1) as f64),
            queue_length: total.1.wrapping_sub(self.row_integrals.1) as f64 / span_ns,
        });
        self.row = Counters::default();
        self.row_latency.reset();
        self.row_failed_latency.reset();
        self.class_rows.extend(self.class_row.iter_mut().map(GroupInterval::close));
        self.region_rows.extend(self.region_row.iter_mut().map(GroupInterval::close));
        self.row_start = end;
        self.row_integrals = total;
    }

    /// A request arrived.
    #[inline]
    pub fn arrived(&mut self, now: SimTime, class: u16) {
        self.in_flight += 1;
        self.row.arrivals += 1;
        if now >= self.warmup {
            self.total.requests.arrived += 1;
            if self.classes.len() > 1 {
                self.classes[class as usize].requests.arrived += 1;
            }
        }
    }

    /// Keeps per-region numbers for `regions` regions of users.
    pub fn track_regions(&mut self, regions: usize) {
        self.regions = (0..regions).map(|_| ClassStats::new()).collect();
        self.region_row = vec![GroupInterval::new(); regions];
    }

    /// A request from region `region` arrived at `now` (after [`Recorder::arrived`]).
    pub fn region_arrived(&mut self, now: SimTime, region: u16) {
        if now >= self.warmup {
            self.regions[region as usize].requests.arrived += 1;
        }
    }

    /// A request from region `region` that arrived at `arrived` got its answer at
    /// `answered` (besides [`Recorder::finished`]).
    pub fn region_finished(
        &mut self,
        region: u16,
        arrived: SimTime,
        answered: SimTime,
        fate: Fate,
        degraded: bool,
        deferred: bool,
    ) {
        let latency_ns = answered.since(arrived);
        self.region_row[region as usize].count(fate, latency_ns);
        if arrived < self.warmup {
            return;
        }
        self.regions[region as usize].record(fate, latency_ns, degraded, deferred);
    }

    /// A malicious request arrived: it is in flight (and counts toward
    /// `[limits].max_in_flight`), but not in the users' statistics or the time series.
    #[inline]
    pub fn entered(&mut self) {
        self.malicious_in_flight += 1;
    }

    /// A malicious request left.
    #[inline]
    pub fn left(&mut self) {
        self.malicious_in_flight -= 1;
    }

    /// A request that arrived at `arrived` found every worker busy and waits.
    #[inline]
    pub fn queued(&mut self, arrived: SimTime) {
        self.row.delayed += 1;
        if arrived >= self.warmup {
            self.waiting.delayed += 1;
        }
    }

    /// A request that arrived at `arrived` and waited was dropped at its deadline before
    /// a worker started it: admitted (and delayed, when it queued), never started.
    #[inline]
    pub fn expired(&mut self, arrived: SimTime) {
        if arrived >= self.warmup {
            self.waiting.admitted += 1;
        }
    }

    /// A worker started a request that arrived at `arrived`.
    #[inline]
    pub fn started(&mut self, arrived: SimTime, now: SimTime) {
        if arrived >= self.warmup {
            self.waiting.admitted += 1;
            self.waiting.started += 1;
            self.waiting.wait_sum_ns += u128::from(now.since(arrived));
        }
    }

    /// A request that arrived at `arrived` ended at `now`.
    #[inline(always)]
    pub fn finished(&mut self, arrived: SimTime, now: SimTime, class: u16, fate: Fate, degraded: bool, deferred: bool) {
        self.in_flight -= 1;
        match fate {
            Fate::Completed => {
                self.row.completions += 1;
                self.row_latency.record(now.since(arrived));
            }
            Fate::Rejected => {
                self.row.rejections += 1;
                self.row_failed_latency.record(now.since(arrived));
            }
            Fate::TimedOut => {
                self.row.timeouts += 1;
                self.row_failed_latency.record(now.since(arrived));
            }
            Fate::Failed => {
                self.row.failures += 1;
                self.row_failed_latency.record(now.since(arrived));
            }
        }
        let latency_ns = now.since(arrived);
        if let Some(g) = self.class_row.get_mut(class as usize) {
            g.count(fate, latency_ns);
        }
        if arrived < self.warmup {
            return;
        }
        self.total.record(fate, latency_ns, degraded, deferred);
        // With one class, the class is the total: it is copied at the end instead of
        // recorded twice.
        if self.classes.len() > 1 {
            self.classes[class as usize].record(fate, latency_ns, degraded, deferred);
        }
    }

    /// Closes the run at `end`.
    pub fn finish(&mut self, end: SimTime, servers: &[Instance]) {
        self.checkpoint(end, servers);
        if self.row_start < end {
            self.close_row(end, servers);
        }
        if let [only] = self.classes.as_mut_slice() {
            *only = self.total.clone();
        }
        for stats in std::iter::once(&mut self.total).chain(self.classes.iter_mut()).chain(self.regions.iter_mut()) {
            let r = &mut stats.requests;
            r.in_flight = r.arrived - r.finished();
        }
    }
}
