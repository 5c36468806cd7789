//! `summary.json`: the run's headline numbers under stable, documented keys
//! (`docs/summary-json.md`). No wall-clock value is written, so the same scenario and seed
//! give the same bytes.

use serde::Serialize;

use prodsim_kernel::units::ns_to_s;
use prodsim_model::outcome::{Outcome, RequestCounts};

/// Version of the `summary.json` layout; bumped only when a key changes meaning.
pub const SUMMARY_VERSION: u32 = 1;

/// The summary of one run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Layout version.
    pub summary_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Simulated time in seconds.
    pub simulated_seconds: f64,
    /// Warmup excluded from statistics, in seconds.
    pub warmup_seconds: f64,
    /// Events processed.
    pub events: u64,
    /// Fate of the requests that arrived after the warmup.
    pub requests: Requests,
    /// Completed share of finished requests (`null` when none finished).
    pub availability: Option<f64>,
    /// Latency of completed requests in milliseconds.
    pub latency_ms: LatencyMs,
    /// Queueing before service.
    pub wait: Wait,
    /// One entry per server.
    pub servers: Vec<ServerSummary>,
    /// One entry per injected fault, in file order.
    pub faults: Vec<FaultSummary>,
    /// The architecture's blocks: classes, payments, components, database, retry queue,
    /// cost (at the top level).
    #[serde(flatten)]
    pub system: super::summary_system::SystemSummary,
    /// The `[[expect]]` verdicts, in file order; present only when the scenario has
    /// expectations (the CLI fills it, see [`super::write_run_with`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expectations: Option<Vec<super::expect::ExpectationResult>>,
}

/// One element of `faults`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FaultSummary {
    /// Fault kind, e.g. `slowdown`.
    pub kind: String,
    /// What it hit, e.g. `server-0` or `servers`.
    pub target: String,
    /// Start, in simulated seconds.
    pub start_s: f64,
    /// End, in simulated seconds (clipped to the run).
    pub end_s: f64,
}

/// `requests`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Requests {
    /// Arrived after the warmup.
    pub arrived: u64,
    /// Served within the deadline.
    pub completed: u64,
    /// Turned away by a full queue.
    pub rejected: u64,
    /// Deadline passed.
    pub timed_out: u64,
    /// Failed with an error (a dependency, a crashed server).
    pub failed: u64,
    /// Still in the system at the end.
    pub in_flight: u64,
}

impl From<RequestCounts> for Requests {
    fn from(c: RequestCounts) -> Self {
        Requests {
            arrived: c.arrived,
            completed: c.completed,
            rejected: c.rejected,
            timed_out: c.timed_out,
            failed: c.failed,
            in_flight: c.in_flight,
        }
    }
}

/// `latency_ms`: `null` values when nothing completed.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct LatencyMs {
    /// Exact mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Exact maximum.
    pub max: Option<f64>,
}

impl LatencyMs {
    /// The keys for one latency distribution.
    pub fn of(l: &prodsim_model::outcome::Latency) -> LatencyMs {
        LatencyMs {
            mean: l.mean_ms(),
            p50: l.quantile_ms(0.5),
            p90: l.quantile_ms(0.9),
            p99: l.quantile_ms(0.99),
            p999: l.quantile_ms(0.999),
            max: l.quantile_ms(1.0),
        }
    }
}

/// `wait`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Wait {
    /// Share of admitted requests that found every worker busy.
    pub probability: Option<f64>,
    /// Mean time before service, in milliseconds.
    pub mean_ms: Option<f64>,
}

/// One element of `servers`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServerSummary {
    /// `server-<index>`.
    pub name: String,
    /// Time-averaged busy share of its workers.
    pub utilization: f64,
    /// Time-averaged number of waiting requests.
    pub mean_queue_length: f64,
    /// Requests served (whole run).
    pub served: u64,
    /// Requests rejected (whole run).
    pub rejected: u64,
}

impl Summary {
    /// Summarises `outcome`.
    pub fn from_outcome(o: &Outcome) -> Summary {
        let l = &o.latency;
        Summary {
            summary_version: SUMMARY_VERSION,
            scenario: o.scenario.clone(),
            seed: o.seed,
            simulated_seconds: ns_to_s(o.simulated_ns),
            warmup_seconds: ns_to_s(o.warmup_ns),
            events: o.events,
            requests: o.requests.into(),
            availability: o.requests.availability(),
            latency_ms: LatencyMs::of(l),
            wait: Wait { probability: o.waiting.probability(), mean_ms: o.waiting.mean_ms() },
            servers: o
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| ServerSummary {
                    name: format!("server-{i}"),
                    utilization: s.utilization,
                    mean_queue_length: s.mean_queue_length,
                    served: s.served,
                    rejected: s.rejected,
                })
                .collect(),
            faults: o
                .faults
                .iter()
                .map(|f| FaultSummary {
                    kind: f.kind.name().to_string(),
                    target: f.target_name.clone(),
                    start_s: ns_to_s(f.start_ns),
                    end_s: ns_to_s(f.end_ns.min(o.simulated_ns)),
                })
                .collect(),
            system: super::summary_system::SystemSummary::from_outcome(&o.system, o.requests.arrived),
            expectations: None,
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail.
        let mut s = serde_json::to_string_pretty(self).expect("summary serialises");
        s.push('\n');
        s
    }
}
