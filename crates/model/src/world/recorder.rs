//! Measurement during a run: request counters, latency histograms, time-series rows and the
//! warmup cut. The world calls it on every request event; it allocates nothing per event.

use crate::outcome::{Latency, RequestCounts, Row, ServerStats, Waiting};
use prodsim_kernel::SimTime;
use prodsim_parts::Server;
use prodsim_parts::server::Integrals;

/// Counters for one time-series interval (all requests, warmup included).
///
/// Admissions are not counted: every arrival is either admitted or rejected, so they are
/// `arrivals − rejections` (one increment less per request).
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    arrivals: u64,
    delayed: u64,
    completions: u64,
    rejections: u64,
    timeouts: u64,
}

/// Accumulates everything an [`crate::Outcome`] reports.
pub struct Recorder {
    warmup: SimTime,
    interval_ns: u64,
    /// Fate of measured requests (arrived at or after the warmup).
    pub requests: RequestCounts,
    /// Latency of measured completions.
    pub latency: Latency,
    /// Queueing delay of measured admissions.
    pub waiting: Waiting,
    in_flight: u64,
    row: Counters,
    row_latency: Latency<u32>,
    row_start: SimTime,
    row_integrals: Integrals,
    warmup_integrals: Option<Vec<Integrals>>,
    next_checkpoint: SimTime,
    /// Closed time-series rows.
    pub rows: Vec<Row>,
}

impl Recorder {
    /// A recorder for a run with this warmup and row width.
    pub fn new(warmup: SimTime, interval_ns: u64, expected_rows: usize) -> Self {
        Recorder {
            warmup,
            interval_ns,
            requests: RequestCounts::default(),
            latency: Latency::new(3),
            waiting: Waiting::default(),
            in_flight: 0,
            row: Counters::default(),
            row_latency: Latency::new(2),
            row_start: SimTime::ZERO,
            row_integrals: Integrals::default(),
            warmup_integrals: None,
            next_checkpoint: SimTime(interval_ns.min(warmup.as_nanos().max(1))),
            rows: Vec::with_capacity(expected_rows),
        }
    }

    /// Requests in flight now (all requests).
    #[inline]
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    #[inline]
    fn measured(&self, arrived: SimTime) -> bool {
        arrived >= self.warmup
    }

    /// Closes every row and takes the warmup snapshot due at or before `now`. Cheap when
    /// nothing is due: one comparison.
    #[inline]
    pub fn checkpoint(&mut self, now: SimTime, servers: &[Server]) {
        if now >= self.next_checkpoint {
            self.checkpoint_slow(now, servers);
        }
    }

    #[cold]
    fn checkpoint_slow(&mut self, now: SimTime, servers: &[Server]) {
        loop {
            let row_end = self.row_start.after(self.interval_ns);
            let warm_due = self.warmup_integrals.is_none() && self.warmup <= now;
            if warm_due && self.warmup <= row_end {
                self.warmup_integrals = Some(servers.iter().map(|s| s.integrals_at(self.warmup)).collect());
                continue;
            }
            if row_end > now {
                break;
            }
            self.close_row(row_end, servers);
        }
        let row_end = self.row_start.after(self.interval_ns);
        self.next_checkpoint = if self.warmup_integrals.is_none() { row_end.min(self.warmup) } else { row_end };
    }

    fn close_row(&mut self, end: SimTime, servers: &[Server]) {
        let total = servers.iter().fold(Integrals::default(), |acc, s| {
            let i = s.integrals_at(end);
            Integrals { busy_ns: acc.busy_ns + i.busy_ns, queued_ns: acc.queued_ns + i.queued_ns }
        });
        let span_ns = end.since(self.row_start).max(1) as f64;
        let workers: u64 = servers.iter().map(|s| u64::from(s.workers())).sum();
        let c = self.row;
        let hist = &self.row_latency;
        self.rows.push(Row {
            start_ns: self.row_start.as_nanos(),
            end_ns: end.as_nanos(),
            arrivals: c.arrivals,
            admitted: c.arrivals - c.rejections,
            delayed: c.delayed,
            completions: c.completions,
            rejections: c.rejections,
            timeouts: c.timeouts,
            failures: 0,
            in_flight: self.in_flight,
            latency_sum_ns: hist.sum_ns,
            latency_p50_ns: (hist.count > 0).then(|| hist.histogram.value_at_quantile(0.5).min(hist.max_ns)),
            latency_p99_ns: (hist.count > 0).then(|| hist.histogram.value_at_quantile(0.99).min(hist.max_ns)),
            utilization: (total.busy_ns - self.row_integrals.busy_ns) as f64 / (span_ns * workers.max(1) as f64),
            queue_length: (total.queued_ns - self.row_integrals.queued_ns) as f64 / span_ns,
        });
        self.row = Counters::default();
        self.row_latency.reset();
        self.row_start = end;
        self.row_integrals = total;
    }

    /// A request arrived and a worker started it at once.
    ///
    /// The three `arrived_*` methods each do one request's whole bookkeeping behind one
    /// warmup test. Measured admissions are not counted: every measured arrival is either
    /// admitted or rejected, so [`Recorder::finish`] derives them.
    #[inline]
    pub fn arrived_started(&mut self, now: SimTime) {
        self.in_flight += 1;
        self.row.arrivals += 1;
        if self.measured(now) {
            self.requests.arrived += 1;
            // Waited zero: nothing to add to the wait sum.
            self.waiting.started += 1;
        }
    }

    /// A request arrived and waits in a server's queue.
    #[inline]
    pub fn arrived_queued(&mut self, now: SimTime) {
        self.in_flight += 1;
        self.row.arrivals += 1;
        self.row.delayed += 1;
        if self.measured(now) {
            self.requests.arrived += 1;
            self.waiting.delayed += 1;
        }
    }

    /// A request arrived and was rejected by a full queue.
    #[inline]
    pub fn arrived_rejected(&mut self, now: SimTime) {
        self.row.arrivals += 1;
        self.row.rejections += 1;
        if self.measured(now) {
            self.requests.arrived += 1;
            self.requests.rejected += 1;
        }
    }

    /// A worker started a request that arrived at `arrived` and waited in the queue.
    #[inline]
    pub fn started(&mut self, arrived: SimTime, now: SimTime) {
        if self.measured(arrived) {
            self.waiting.started += 1;
            self.waiting.wait_sum_ns += u128::from(now.since(arrived));
        }
    }

    /// A request's deadline passed.
    #[inline]
    pub fn timed_out(&mut self, arrived: SimTime) {
        self.in_flight -= 1;
        self.row.timeouts += 1;
        if self.measured(arrived) {
            self.requests.timed_out += 1;
        }
    }

    /// A request completed within its deadline.
    #[inline]
    pub fn completed(&mut self, arrived: SimTime, now: SimTime) {
        let latency_ns = now.since(arrived);
        self.in_flight -= 1;
        self.row.completions += 1;
        self.row_latency.record(latency_ns);
        if self.measured(arrived) {
            self.requests.completed += 1;
            self.latency.record(latency_ns);
        }
    }

    /// Closes the run at `end`: the last rows, and per-server statistics over the measured
    /// part of the run.
    pub fn finish(&mut self, end: SimTime, servers: &[Server]) -> Vec<ServerStats> {
        self.checkpoint(end, servers);
        if self.row_start < end {
            self.close_row(end, servers);
        }
        self.requests.in_flight =
            self.requests.arrived - self.requests.completed - self.requests.rejected - self.requests.timed_out;
        self.waiting.admitted = self.requests.arrived - self.requests.rejected;
        let measured_ns = end.since(self.warmup).max(1) as f64;
        let warm = self.warmup_integrals.take().unwrap_or_default();
        servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let at_end = s.integrals_at(end);
                let at_warm = warm.get(i).copied().unwrap_or_default();
                ServerStats {
                    utilization: (at_end.busy_ns - at_warm.busy_ns) as f64 / (measured_ns * f64::from(s.workers())),
                    mean_queue_length: (at_end.queued_ns - at_warm.queued_ns) as f64 / measured_ns,
                    served: s.served(),
                    rejected: s.rejected(),
                }
            })
            .collect()
    }
}
