//! Reports: pure functions of an [`Outcome`] that render text, JSON and CSV, and the one
//! place besides the CLI that writes files (atomically: temp file, then rename).

pub mod atomic;
pub mod blast;
pub mod capacity;
pub mod chart;
pub mod compare;
pub mod components;
pub mod csv_table;
mod estimate_json;
pub mod expect;
pub mod html;
pub mod logs;
pub mod manifest;
pub mod narrate;
pub mod openmetrics;
pub mod postmortem;
pub mod run_chart;
pub mod summary;
pub mod summary_alerting;
pub mod summary_delivery;
pub mod summary_metric;
pub mod summary_proxy;
pub mod summary_recovery;
pub mod summary_system;
pub mod sweep;
pub mod text;
pub mod text_alerting;
pub mod text_delivery;
pub mod text_recovery;
pub mod text_system;
pub mod timeseries;
pub mod tsdb_block;

use std::path::{Path, PathBuf};

use thiserror::Error;

use prodsim_model::outcome::Outcome;

pub use atomic::write_atomic;
pub use expect::ExpectationResult;
pub use summary::Summary;

/// A report file could not be written.
#[derive(Debug, Error)]
// The OS error is part of the message, not a chained source, so that it is printed once
// however the error is rendered.
#[error("cannot write {}: {reason}", path.display())]
pub struct ReportError {
    /// The file or directory.
    pub path: PathBuf,
    /// The operating system's reason.
    pub reason: std::io::Error,
}

/// Writes `summary.json`, `timeseries.csv`, `components.csv` (and `notifications.txt` with
/// monitoring, `postmortem.md` with incidents) for `outcome` into `dir` (created if needed)
/// and returns the paths written.
pub fn write_run(outcome: &Outcome, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    write_run_with(outcome, dir, &[])
}

/// [`write_run`], with the scenario's `[[expect]]` verdicts in `summary.json`'s
/// `expectations` (left out when `expectations` is empty).
pub fn write_run_with(
    outcome: &Outcome,
    dir: &Path,
    expectations: &[ExpectationResult],
) -> Result<Vec<PathBuf>, ReportError> {
    atomic::ensure_dir(dir)?;
    let summary = dir.join("summary.json");
    let mut s = Summary::from_outcome(outcome);
    s.expectations = (!expectations.is_empty()).then(|| expectations.to_vec());
    write_atomic(&summary, s.to_json().as_bytes())?;
    let series = dir.join("timeseries.csv");
    write_atomic(&series, timeseries::to_csv(outcome).as_bytes())?;
    let mut written = vec![summary, series];
    let path = dir.join("components.csv");
    write_atomic(&path, components::to_csv(outcome).as_bytes())?;
    written.push(path);
    if let Some(m) = outcome.system.monitoring.as_deref() {
        let path = dir.join("notifications.txt");
        write_atomic(&path, text_alerting::notifications(m).as_bytes())?;
        written.push(path);
    }
    let path = dir.join("postmortem.md");
    match postmortem::render_all(outcome, &outcome.scenario) {
        Some(text) => {
            write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
        // A post-mortem from an earlier run of the same scenario would describe incidents
        // this run did not have.
        None => {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(written)
}
