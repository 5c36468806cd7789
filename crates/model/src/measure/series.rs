//! Per-component time series (`components.csv`): at each report interval's end, one row per
//! component (app servers, each service, the storage, the database) with its instances,
//! utilization, queue, work in flight, calls and errors, and for the app servers CPU and
//! memory. Rows close on the first event at or after their end, from time integrals that
//! are exact at any instant, so nothing is sampled and nothing allocates per event.

use prodsim_kernel::SimTime;
use prodsim_parts::resilience::BreakerState;

use crate::engine::{APP, Engine};
use crate::scaling::Life;

/// One component over one report interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ComponentRow {
    /// Start of the interval, ns.
    pub start_ns: u64,
    /// End of the interval, ns.
    pub end_ns: u64,
    /// Index of the component in `SystemOutcome::components`.
    pub component: u16,
    /// Instances provisioned at the end of the interval.
    pub instances: u32,
    /// Of those, instances running (up and able to work) at the end of the interval.
    pub ready: u32,
    /// Busy workers over the running instances' workers, time-averaged (`None` when
    /// workers are unlimited or nothing ran).
    pub utilization: Option<f64>,
    /// App servers: CPU work (`cpu` steps) started in the interval over the running
    /// instances' worker time.
    pub cpu_utilization: Option<f64>,
    /// Waiting tasks, time-averaged.
    pub queue_length: f64,
    /// Tasks on it (working or waiting) at the end of the interval.
    pub in_flight: u64,
    /// App servers: requests that arrived; others: attempts made to it.
    pub calls: u64,
    /// App servers: requests rejected or failed; others: attempts that failed.
    pub errors: u64,
    /// App servers: requests timed out; others: attempts whose caller's timeout fired.
    pub timeouts: u64,
    /// App servers: mean resident memory of the running instances at the end, MiB.
    pub memory_mean_mb: Option<f64>,
    /// App servers: largest resident memory of a running instance at the end, MiB.
    pub memory_max_mb: Option<f64>,
    /// The database: the replicas' lag behind the primary at the end, ms.
    pub replication_lag_ms: Option<f64>,
    /// The database: connections of the app servers' pools held by calls (or taken by a
    /// `connection_leak` fault) at the end of the interval, summed over the pools.
    pub pool_in_use: Option<u32>,
    /// The database: calls waiting for a pool connection at the end, summed over the pools.
    pub pool_waiting: Option<u32>,
    /// The database: the pools' connections, summed over the app servers.
    pub pool_size: Option<u32>,
    /// A component with a circuit breaker: its callers' breaker at the end of the interval.
    pub breaker: Option<BreakerState>,
}

/// The state behind the per-component rows.
pub(crate) struct Series {
    /// The first instant at which a row is due.
    pub(crate) next: SimTime,
    interval_ns: u64,
    row_start: SimTime,
    /// Per station: busy and queued integrals at the row's start.
    integrals: Vec<(u128, u128)>,
    /// Per station: calls, errors and timeouts at the row's start.
    counts: Vec<(u64, u64, u64)>,
    /// Running app server instance-ns at the row's start (a changing pool).
    running: u128,
    /// CPU work started on the app servers in the current row, ns.
    pub(crate) cpu_ns: u64,
    rows_closed: usize,
    /// Closed rows, component by component within an interval.
    pub(crate) rows: Vec<ComponentRow>,
    /// With a retry queue: the items waiting on it at the end of each interval.
    pub(crate) retry_queue_depth: Vec<u64>,
}

impl Series {
    /// Rows of `interval_ns` for `stations` components; `expected_rows` intervals.
    pub(crate) fn new(interval_ns: u64, expected_rows: usize, stations: usize) -> Series {
        Series {
            next: SimTime(interval_ns),
            interval_ns,
            row_start: SimTime::ZERO,
            integrals: vec![(0, 0); stations],
            counts: vec![(0, 0, 0); stations],
            running: 0,
            cpu_ns: 0,
            rows_closed: 0,
            rows: Vec::with_capacity(expected_rows.saturating_mul(stations).min(1 << 20)),
            retry_queue_depth: Vec::new(),
        }
    }
}

impl Engine {
    /// Closes the rows due at or before `now`.
    #[cold]
    #[inline(never)]
    pub(crate) fn close_series(&mut self, now: SimTime) {
        loop {
            let end = self.measure.series.row_start.after(self.measure.series.interval_ns);
            if end > now {
                break;
            }
            self.close_series_row(end);
        }
        self.measure.series.next = self.measure.series.row_start.after(self.measure.series.interval_ns);
    }

    /// Closes the run's rows at `end` (the last one may be shorter).
    pub(crate) fn finish_series(&mut self, end: SimTime) {
        self.close_series(end);
        if self.measure.series.row_start < end {
            self.close_series_row(end);
        }
    }

    fn close_series_row(&mut self, end: SimTime) {
        let start = self.measure.series.row_start;
        let span_ns = end.since(start).max(1) as f64;
        let k = self.measure.series.rows_closed;
        let running = self.scaling.running.at(end);
        let running_ns = (running - self.measure.series.running) as f64;
        let mut app_utilization = None;
        for s in 0..self.stations.len() {
            let st = &self.stations[s];
            let (busy, queued) = st.instances.iter().fold((0u128, 0u128), |acc, i| {
                let (b, q) = i.integrals_at(end);
                (acc.0 + b, acc.1 + q)
            });
            let (b0, q0) = self.measure.series.integrals[s];
            self.measure.series.integrals[s] = (busy, queued);
            let workers = st.instances.first().map_or(1, |i| i.workers());
            let limited = st.instances.iter().all(|i| i.workers() != u32::MAX);
            let mut row = ComponentRow {
                start_ns: start.as_nanos(),
                end_ns: end.as_nanos(),
                component: s as u16,
                instances: st.instances.len() as u32,
                ready: st.instances.iter().filter(|i| i.up).count() as u32,
                breaker: st.breaker.as_ref().map(|b| b.state_at(end)),
                queue_length: (queued - q0) as f64 / span_ns,
                in_flight: st.instances.iter().map(|i| u64::from(i.connections())).sum(),
                ..ComponentRow::default()
            };
            // Worker time of the instances that could work: all of them for a fixed pool
            // (as `timeseries.csv` counts), the running ones for a changing pool.
            let capacity = if s == APP as usize && self.scaling.enabled {
                running_ns * f64::from(workers)
            } else {
                span_ns * f64::from(workers) * st.instances.len() as f64
            };
            if limited && capacity > 0.0 {
                row.utilization = Some((busy - b0) as f64 / capacity);
            }
            if s == APP as usize {
                self.fill_app_row(&mut row, k, capacity, end);
                app_utilization = row.utilization;
            } else {
                let c = (st.stats.calls, st.stats.errors, st.stats.timeouts);
                let c0 = self.measure.series.counts[s];
                self.measure.series.counts[s] = c;
                (row.calls, row.errors, row.timeouts) = (c.0 - c0.0, c.1 - c0.1, c.2 - c0.2);
                if let Some(db) = self.db.as_ref().filter(|d| d.station as usize == s) {
                    row.replication_lag_ms = Some(db.lag_ns as f64 / 1e6);
                    // A changing pool keeps a connection pool for every server it may
                    // provision; only the provisioned servers' pools count.
                    let life = &self.scaling.life;
                    let provisioned = |(i, _): &(usize, _)| life.get(*i).is_none_or(|l| *l != Life::Off);
                    let (taken, waiting, size) =
                        db.pools.iter().enumerate().filter(provisioned).fold((0, 0, 0), |(t, w, n), (_, p)| {
                            (t + p.in_use + p.leaked, w + p.waiters.len() as u32, n + p.size)
                        });
                    (row.pool_in_use, row.pool_waiting, row.pool_size) = (Some(taken), Some(waiting), Some(size));
                }
            }
            self.measure.series.rows.push(row);
        }
        if self.scaling.enabled {
            // `timeseries.csv` then reports the busy share of the running servers too.
            if let (Some(r), Some(u)) = (self.measure.recorder.rows.get_mut(k), app_utilization) {
                r.utilization = u;
            }
        }
        if self.deferral.spec.is_some() {
            self.measure.series.retry_queue_depth.push(self.deferral.items.len() as u64);
        }
        self.measure.series.running = running;
        self.measure.series.cpu_ns = 0;
        self.measure.series.row_start = end;
        self.measure.series.rows_closed += 1;
    }

    /// The app servers' row: the pool's size, requests, CPU and memory.
    fn fill_app_row(&self, row: &mut crate::measure::series::ComponentRow, k: usize, capacity: f64, end: SimTime) {
        if self.scaling.enabled {
            row.instances = self.scaling.provisioned.count();
            row.ready = self.scaling.running.count();
        }
        if capacity > 0.0 {
            row.cpu_utilization = Some(self.measure.series.cpu_ns as f64 / capacity);
        }
        if let Some(r) = self.measure.recorder.rows.get(k) {
            (row.calls, row.errors, row.timeouts) = (r.arrivals, r.rejections + r.failures, r.timeouts);
        }
        let m = &self.app.memory;
        let (mut n, mut sum, mut max) = (0u32, 0.0, f64::MIN);
        for (i, inst) in self.stations[APP as usize].instances.iter().enumerate() {
            if !inst.up || self.scaling.life[i] == Life::Off {
                continue;
            }
            let mb = m.resident_mb(i, end);
            n += 1;
            sum += mb;
            max = f64::max(max, mb);
        }
        if n > 0 {
            row.memory_mean_mb = Some(sum / f64::from(n));
            row.memory_max_mb = Some(max);
        }
    }
}
