//! What a run will cost, known before it starts: the requests it will offer, the events
//! they take, and the memory of its metric store and report rows; and the refusal of a
//! run whose estimate is over its `[limits]` (docs/limits.md).
//!
//! Two event counts are kept apart. The *floor* is certain: every open-model arrival
//! (workloads, traffic spikes, attacks) is one event, and so is every scrape, rule
//! evaluation and report row; a run whose floor is over `max_events` could not finish and
//! is refused. The *estimate* adds what the request classes' steps take when all goes
//! well (one event per step: the work that ends it, the answer of a call and the steps of
//! the service called); rejections and fast failures take fewer, retries, timeouts and
//! hedges more. On the shipped scenarios it is within 25% of the events counted (a test
//! holds it there). Closed workloads (users who wait for an answer) are paced by the
//! system itself and are not counted.

use thiserror::Error;

use prodsim_kernel::NS_PER_S;
use prodsim_parts::faults::FaultKind;
use prodsim_scenario::topology::{Step, Target, Topology};
use prodsim_scenario::{RunLimits, Scenario};

use crate::monitoring::series_bound;

/// Bytes one stored sample costs: its time and value, and the running totals beside it.
const SAMPLE_BYTES: u64 = 40;
/// Bytes of one `timeseries.csv` row held until the report is written, per column.
const ROW_CELL_BYTES: u64 = 8;
/// Columns of a row that do not depend on classes or components (a floor).
const ROW_FIXED_CELLS: u64 = 40;
/// Bytes of one ground-truth bucket of `[slo]` (good and bad answers, revenue lost).
const TRUTH_BUCKET_BYTES: u64 = 24;
/// Deepest service call chain walked (validation rejects cycles; this bounds the walk).
const MAX_DEPTH: usize = 32;

/// A run's cost, estimated from its scenario alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunEstimate {
    /// Open-model arrivals over the run: workloads, traffic spikes and attacks.
    pub requests: f64,
    /// Events one request takes when all goes well, averaged over the request classes.
    pub events_per_request: f64,
    /// Events the run takes when all goes well: its requests' and its periodic ones
    /// (scrapes, rule evaluations, report rows).
    pub events: f64,
    /// Events the run takes whatever happens: one per arrival and per periodic event.
    pub events_floor: f64,
    /// Most metric series the store can hold (targets × series per target).
    pub series: u64,
    /// Memory of the metric store at its fullest and of the report rows, in bytes.
    pub memory_bytes: f64,
}

/// A run refused before it starts: its estimate is over a limit.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct OverBudget(pub String);

impl RunEstimate {
    /// `Err` when the estimate is over `limits`, with both numbers and what to change.
    pub fn check(&self, limits: &RunLimits) -> Result<(), OverBudget> {
        if self.events_floor > limits.max_events as f64 {
            return Err(OverBudget(format!(
                "this run needs at least {:.3e} events (one per arrival of its {:.3e} requests, and its scrapes, evaluations and report rows; about {:.3e} in all), more than limits.max_events = {}; shorten the run, lower the rate, or raise [limits] max_events",
                self.events_floor, self.requests, self.events, limits.max_events
            )));
        }
        let memory_mb = self.memory_bytes / (1024.0 * 1024.0);
        if memory_mb > limits.max_memory_mb as f64 {
            return Err(OverBudget(format!(
                "this run needs about {memory_mb:.0} MiB (up to {} metric series kept for the retention, and the report rows), more than limits.max_memory_mb = {}; shorten monitoring.retention, lengthen scrape_interval or report_interval, or raise [limits] max_memory_mb",
                self.series, limits.max_memory_mb
            )));
        }
        Ok(())
    }
}

/// The estimate of `scenario`'s run (a store that keeps every sample, as `--metrics` asks,
/// has an unbounded retention and is counted whole).
pub fn estimate(scenario: &Scenario) -> RunEstimate {
    let requests = offered_requests(scenario);
    let events_per_request = 1.0 + class_steps(&scenario.topology);
    let duration_ns = scenario.duration_ns as f64;
    let rows = (duration_ns / scenario.report_interval_ns as f64).ceil();
    let (ticks, series, samples_per_series) = match &scenario.topology.monitoring {
        Some(m) => {
            let sets = m.sets.len().max(1) as f64;
            let ticks =
                duration_ns / m.scrape_interval_ns as f64 + sets * duration_ns / m.evaluation_interval_ns as f64;
            let kept_ns = duration_ns.min(m.retention_ns as f64);
            (ticks, series_bound(scenario), (kept_ns / m.scrape_interval_ns as f64).ceil())
        }
        None => (0.0, 0, 0.0),
    };
    let row_cells =
        ROW_FIXED_CELLS as f64 + 8.0 * (scenario.topology.classes.len() + scenario.topology.services.len()) as f64;
    RunEstimate {
        requests,
        events_per_request,
        events: requests * events_per_request + ticks + rows,
        events_floor: requests + ticks + rows,
        series,
        memory_bytes: series as f64 * samples_per_series * SAMPLE_BYTES as f64
            + rows * row_cells * ROW_CELL_BYTES as f64
            + truth_buckets(scenario) * TRUTH_BUCKET_BYTES as f64,
    }
}

/// Ground-truth buckets of `[slo]` over the run (0 without one).
fn truth_buckets(scenario: &Scenario) -> f64 {
    let slo = scenario.topology.monitoring.as_ref().and_then(|m| m.slo.as_ref());
    slo.map_or(0.0, |s| (scenario.duration_ns as f64 / s.resolution_ns as f64).ceil())
}

/// Arrivals the open workloads offer over the run, with traffic spikes and attacks.
fn offered_requests(scenario: &Scenario) -> f64 {
    let end = scenario.duration_ns;
    let in_window = |from: u64, to: u64| offered_between(scenario, from.min(end), to.min(end));
    let mut requests = in_window(0, end);
    for f in &scenario.faults {
        match f.kind {
            FaultKind::TrafficSpike { factor } => requests += (factor - 1.0).max(0.0) * in_window(f.start_ns, f.end_ns),
            FaultKind::Ddos { rate, .. } | FaultKind::CredentialStuffing { rate, .. } => {
                requests += rate * (f.end_ns.min(end).saturating_sub(f.start_ns)) as f64 / NS_PER_S as f64;
            }
            FaultKind::Slowdown { .. }
            | FaultKind::Outage
            | FaultKind::Timeouts { .. }
            | FaultKind::ErrorRate { .. }
            | FaultKind::AddedLatency { .. }
            | FaultKind::Crash
            | FaultKind::PrimaryCrash
            | FaultKind::DataLoss
            | FaultKind::ReplicationLag { .. }
            | FaultKind::SlowQueries { .. }
            | FaultKind::MemoryLeak { .. }
            | FaultKind::ConnectionLeak { .. }
            | FaultKind::RegionOutage
            | FaultKind::Partition { .. }
            | FaultKind::NotificationOutage => {}
        }
    }
    requests
}

/// Arrivals the workloads offer from `from_ns` to `to_ns`: each stage's rate over the
/// part of its span inside the window.
fn offered_between(scenario: &Scenario, from_ns: u64, to_ns: u64) -> f64 {
    let mut total = 0.0;
    for w in &scenario.workloads {
        for (i, stage) in w.stages.iter().enumerate() {
            let start = stage.at.as_nanos().max(from_ns);
            let next = w.stages.get(i + 1).map_or(u64::MAX, |s| s.at.as_nanos());
            let stop = next.min(to_ns);
            if stop > start {
                total += stage.rate * (stop - start) as f64 / NS_PER_S as f64;
            }
        }
    }
    total
}

/// Events a request's steps take at the least, averaged over the classes by weight.
fn class_steps(topology: &Topology) -> f64 {
    let total_weight: f64 = topology.classes.iter().map(|c| c.weight).sum();
    if total_weight <= 0.0 {
        return 0.0;
    }
    topology.classes.iter().map(|c| c.weight / total_weight * steps_events(topology, &c.steps, 0)).sum()
}

/// Events `steps` take at the least: one per step, and the steps of each service called.
fn steps_events(topology: &Topology, steps: &[Step], depth: usize) -> f64 {
    steps
        .iter()
        .map(|step| match step {
            Step::Work(_) => 1.0,
            Step::Call(c) => target_events(topology, c.target, depth),
            Step::Parallel(calls) => calls.iter().map(|c| target_events(topology, c.target, depth)).sum(),
            Step::Async(target) => target_events(topology, *target, depth),
        })
        .sum()
}

/// Events one call to `target` takes at the least: its work, then its own steps.
fn target_events(topology: &Topology, target: Target, depth: usize) -> f64 {
    match target {
        Target::DbRead | Target::DbWrite => 1.0,
        Target::Service(id) => match topology.services.get(usize::from(id)) {
            Some(s) if depth < MAX_DEPTH => 1.0 + steps_events(topology, &s.steps, depth + 1),
            Some(_) | None => 1.0,
        },
    }
}
