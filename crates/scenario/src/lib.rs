//! The scenario file format: schema, units, validation and loading.
//!
//! `load` reads a TOML file and returns a validated, typed, unit-resolved [`Scenario`], or
//! every problem found with its file, line and column. This crate and the CLI are the only
//! places that read files. The format is documented in `docs/scenario-format.md`.
//!
//! The modules: `schema` and the `*_schema` modules are the raw serde shape of the file
//! (every value that needs checking keeps its span); `topology`, `monitoring`, `proxy`,
//! `scaling`, `expect` and the parts' `delivery` are the resolved configurations; the
//! private `validate` module turns one into the other, one file per section, every field
//! check a method of its validation context; `diagnostic` locates and renders problems;
//! `summary_paths` is the catalog of the `summary.json` paths `[[expect]]` may read.

pub use prodsim_parts::delivery;
pub mod delivery_schema;
pub mod diagnostic;
pub mod expect;
pub mod monitoring;
pub mod monitoring_schema;
pub mod proxy;
pub mod proxy_schema;
pub mod scaling;
pub mod schema;
pub mod summary_paths;
pub mod topology;
pub mod topology_schema;
pub use prodsim_kernel::units;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, ScenarioError, Severity};
pub use validate::default_report_interval;

use prodsim_kernel::Dist;
use prodsim_parts::faults::Fault;
use prodsim_parts::{Strategy, Workload};

/// Default for `[limits].max_events`.
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;
/// Default for `[limits].max_in_flight`.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 1_000_000;
/// Most `timeseries.csv` rows a run may ask for.
pub const MAX_REPORT_ROWS: u64 = 1_000_000;

/// A validated scenario: every duration in nanoseconds, every distribution built.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name; also the default report directory.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// Simulated time to run, in nanoseconds.
    pub duration_ns: u64,
    /// Time at the start excluded from statistics, in nanoseconds.
    pub warmup_ns: u64,
    /// Width of a `timeseries.csv` row, in nanoseconds.
    pub report_interval_ns: u64,
    /// Open arrival streams.
    pub workloads: Vec<Workload>,
    /// The load balancer.
    pub balancer: BalancerConfig,
    /// The app server pool.
    pub servers: ServerPool,
    /// Engine bounds.
    pub limits: RunLimits,
    /// Injected faults, in file order.
    pub faults: Vec<Fault>,
    /// The architecture: request classes and their call graphs, services, the database,
    /// and what watches and changes it. A file with only `[servers]` has one class,
    /// `default`, whose only step is `[servers].service_time`.
    pub topology: topology::Topology,
    /// What the wall clock reads at simulated time 0, in seconds after Monday 00:00
    /// (`[scenario] start_time`).
    pub start_time_s: u64,
    /// `[[expect]]`: what must hold at the end of the run, in file order.
    pub expectations: Vec<expect::Expectation>,
}

/// `[balancer]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerConfig {
    /// The strategy.
    pub strategy: Strategy,
    /// d for power of d choices.
    pub choices: u32,
    /// Weight per app server for `weighted_round_robin` (empty: all 1).
    pub weights: Vec<u32>,
    /// Active health checks of the app servers, if configured.
    pub health_check: Option<prodsim_parts::HealthCheckConfig>,
    /// Passive ejection of failing app servers, if configured.
    pub outlier_detection: Option<prodsim_parts::OutlierConfig>,
}

/// `[servers]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerPool {
    /// Number of servers.
    pub count: u32,
    /// Workers per server.
    pub workers: u32,
    /// Waiting room per server; `None` is unbounded.
    pub queue_capacity: Option<u32>,
    /// Service time of one request on one worker: the work step of the `default` class of
    /// a file without `[[class]]` (classes say what a request does in their steps).
    pub service_time: Option<Dist>,
    /// Client deadline from arrival; `None` waits forever.
    pub timeout_ns: Option<u64>,
}

/// `[limits]`, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Most events one run may process.
    pub max_events: u64,
    /// Most requests in flight at once.
    pub max_in_flight: u64,
}

impl Scenario {
    /// Requests per second offered at time `t_ns`, summed over workloads.
    pub fn arrival_rate_at(&self, t_ns: u64) -> f64 {
        self.workloads
            .iter()
            .map(|w| {
                let i = w.stages.partition_point(|s| s.at.as_nanos() <= t_ns).saturating_sub(1);
                w.stages[i].rate
            })
            .sum()
    }

    /// Total workers across all servers.
    pub fn total_workers(&self) -> u64 {
        u64::from(self.servers.count) * u64::from(self.servers.workers)
    }
}

/// A scenario with the warnings found while loading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// Problems that do not stop it from running.
    pub warnings: Vec<Diagnostic>,
    /// The file's text, for rendering warnings.
    pub source_text: String,
}

/// Reads and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ScenarioError::Io { path: path.to_path_buf(), source })?;
    load_str(&text, path)
}

/// Validates scenario `text`; `path` is only used to name the file in diagnostics.
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, ScenarioError> {
    let invalid = |diagnostics: Vec<Diagnostic>| ScenarioError::Invalid {
        path: PathBuf::from(path),
        source_text: text.to_string(),
        diagnostics,
    };
    let raw: schema::RawScenario =
        toml::from_str(text).map_err(|e| invalid(vec![validate::from_toml_error(text, &e)]))?;
    let (scenario, diagnostics) = validate::resolve(text, raw);
    match scenario {
        Some(scenario) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => {
            Ok(Loaded { scenario, warnings: diagnostics, source_text: text.to_string() })
        }
        _ => Err(invalid(diagnostics)),
    }
}
