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
pub mod inject;
pub mod limits;
pub mod monitoring;
pub mod monitoring_schema;
pub mod prometheus;
pub mod proxy;
pub mod proxy_schema;
pub mod recovery;
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
/// Default for `[limits].max_memory_mb`: the estimated memory a run may need, in MiB.
pub const DEFAULT_MAX_MEMORY_MB: u64 = 8 * 1024;
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
    /// What a fault may hit (the names `[[faults]]` resolves against), kept so that a fault
    /// injected mid-run by a game day's instructor resolves exactly as a file's would.
    pub fault_targets: inject::FaultTargets,
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
    /// Most memory the run's estimate may reach, in MiB (checked before it starts).
    pub max_memory_mb: u64,
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
    let text = read_text(path)?;
    load_str(&text, path)
}

/// Reads the UTF-8 text file at `path`, at most [`limits::MAX_FILE_BYTES`] of it (a
/// device or a huge file is refused once that much is read, not read to the end).
pub fn read_text(path: &Path) -> Result<String, ScenarioError> {
    use std::io::Read;
    let io = |reason| ScenarioError::Io { path: path.to_path_buf(), reason };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(ScenarioError::TooLarge { path: path.to_path_buf(), limit_bytes: limits::MAX_FILE_BYTES });
    }
    text_of(bytes).map_err(|what| ScenarioError::NotUtf8 { path: path.to_path_buf(), what })
}

/// `bytes` as text: UTF-8, with a byte-order mark dropped; UTF-16 is named as such.
fn text_of(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(&[0xFF, 0xFE]) || looks_utf16(&bytes, 1) {
        return Err("it is UTF-16 (little endian)".into());
    }
    if bytes.starts_with(&[0xFE, 0xFF]) || looks_utf16(&bytes, 0) {
        return Err("it is UTF-16 (big endian)".into());
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).map_or(bytes.as_slice(), |b| b);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let before = &body[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            Err(format!("byte 0x{:02x} at line {line}, column {column} is not UTF-8", body[e.valid_up_to()]))
        }
    }
}

/// Whether `bytes` look like ASCII-range text in UTF-16 without a byte-order mark: in the
/// first 128 bytes, the high byte of each unit (at `high` in each pair) is zero and the low
/// one is not.
fn looks_utf16(bytes: &[u8], high: usize) -> bool {
    let pairs: Vec<&[u8]> = bytes.chunks_exact(2).take(64).collect();
    let text_like = pairs.iter().filter(|p| p[high] == 0 && p[1 - high] != 0).count();
    pairs.len() >= 2 && text_like * 10 >= pairs.len() * 9
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
    let imports = prometheus::imports::load(&raw, text, path)?;
    let (scenario, diagnostics) = validate::resolve(text, raw, &imports);
    match scenario {
        Some(scenario) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => {
            Ok(Loaded { scenario, warnings: diagnostics, source_text: text.to_string() })
        }
        _ => Err(invalid(diagnostics)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_named_with_its_byte_order() {
        let le: Vec<u8> = "[scenario]\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = "[scenario]\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(text_of(le).unwrap_err(), "it is UTF-16 (little endian)");
        assert_eq!(text_of(be).unwrap_err(), "it is UTF-16 (big endian)");
        assert_eq!(text_of(vec![0xFF, 0xFE, b'a', 0]).unwrap_err(), "it is UTF-16 (little endian)");
    }

    #[test]
    fn utf8_text_loses_its_byte_order_mark_and_bad_bytes_are_located() {
        assert_eq!(text_of(b"\xEF\xBB\xBFname = 1".to_vec()).unwrap(), "name = 1");
        assert_eq!(text_of(b"a\nbc\xFF".to_vec()).unwrap_err(), "byte 0xff at line 2, column 3 is not UTF-8");
        // Zeros alone are not UTF-16 text; they are valid UTF-8 (TOML then rejects them).
        assert!(text_of(vec![0; 8]).is_ok());
    }
}
