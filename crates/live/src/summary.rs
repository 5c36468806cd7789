//! A live run's report: `summary.json` under the key names `prodsim run` writes, for what
//! live mode measures (`docs/live.md`), `timeseries.csv` (the rows `prodsim run` writes, see
//! [`crate::timeline`]) and each service's last `/metrics` scrape as
//! `metrics/<instance>.prom`; written atomically as one set with a manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prodsim_report::summary::{FaultSummary, LatencyMs, Requests, SUMMARY_VERSION, Wait};
use prodsim_report::summary_system::ClassSummary;
use serde::Serialize;

use crate::LiveOutcome;
use crate::measure::Group;

/// `summary.json` of a live run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LiveSummary {
    /// Layout version (that of `prodsim run`'s summary).
    pub summary_version: u32,
    /// `live`: measured on real services, not simulated.
    pub mode: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Seed of every stream.
    pub seed: u64,
    /// Wall seconds per scenario second.
    pub time_scale: f64,
    /// Scenario time run, in seconds.
    pub simulated_seconds: f64,
    /// Warmup excluded from statistics, in scenario seconds.
    pub warmup_seconds: f64,
    /// Wall-clock seconds the load ran (scenario seconds times the time scale).
    pub wall_seconds: f64,
    /// Fate of the requests sent after the warmup.
    pub requests: Requests,
    /// Completed share of finished requests.
    pub availability: Option<f64>,
    /// Latency of completed requests in scenario milliseconds, from their intended start.
    pub latency_ms: LatencyMs,
    /// Queueing before service, as the app servers reported it.
    pub wait: Wait,
    /// One entry per injected fault, in file order (those live mode applies).
    pub faults: Vec<FaultSummary>,
    /// Per class, by name.
    pub classes: BTreeMap<String, ClassSummary>,
}

fn class_summary(g: &Group) -> ClassSummary {
    ClassSummary {
        requests: g.counts.into(),
        availability: g.counts.availability(),
        latency_ms: LatencyMs::of(&g.latency),
        degraded: 0,
        deferred: 0,
    }
}

impl LiveSummary {
    /// The summary of `o`.
    pub fn of(o: &LiveOutcome) -> LiveSummary {
        let m = &o.measure;
        LiveSummary {
            summary_version: SUMMARY_VERSION,
            mode: "live",
            scenario: o.scenario.clone(),
            seed: o.seed,
            time_scale: o.time_scale,
            simulated_seconds: o.simulated_ns as f64 / 1e9,
            warmup_seconds: o.warmup_ns as f64 / 1e9,
            wall_seconds: o.simulated_ns as f64 / 1e9 * o.time_scale,
            requests: m.all.counts.into(),
            availability: m.all.counts.availability(),
            latency_ms: LatencyMs::of(&m.all.latency),
            wait: Wait { probability: m.waiting.probability(), mean_ms: m.waiting.mean_ms() },
            faults: o
                .faults
                .iter()
                .map(|f| FaultSummary {
                    kind: f.kind.name().to_string(),
                    target: f.target_name.clone(),
                    start_s: f.start_ns as f64 / 1e9,
                    end_s: f.end_ns.min(o.simulated_ns) as f64 / 1e9,
                })
                .collect(),
            classes: o.classes.iter().cloned().zip(m.classes.iter().map(class_summary)).collect(),
        }
    }
}

/// Writes `summary.json`, `timeseries.csv` and the scrapes under `dir` as one set; returns the paths written,
/// the manifest last.
pub fn write(o: &LiveOutcome, dir: &Path) -> Result<Vec<PathBuf>, prodsim_report::ReportError> {
    let set = prodsim_report::manifest::begin(dir)?;
    let mut written = Vec::new();
    let json = serde_json::to_string_pretty(&LiveSummary::of(o)).unwrap_or_default() + "\n";
    let path = dir.join("summary.json");
    prodsim_report::write_atomic(&path, json.as_bytes())?;
    written.push(path);
    let path = dir.join("timeseries.csv");
    let rows = o.measure.timeline.rows();
    prodsim_report::write_atomic(&path, prodsim_report::timeseries::columns().to_csv(&rows).as_bytes())?;
    written.push(path);
    for s in &o.scrapes {
        let path = dir.join("metrics").join(format!("{}.prom", s.instance));
        prodsim_report::write_atomic(&path, s.text.as_bytes())?;
        written.push(path);
    }
    written.push(prodsim_report::manifest::seal(set, &written)?);
    Ok(written)
}
