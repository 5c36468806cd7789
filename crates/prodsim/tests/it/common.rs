//! Shared helpers for integration tests: loading shipped scenarios and batch-means
//! confidence intervals.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use prodsim_model::outcome::Row;
use prodsim_scenario::Scenario;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Path of a file in the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel)
}

/// A fresh, empty directory for one test (`prefix` names the test file, `name` the case).
pub fn temp_dir(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prodsim-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Loads a shipped scenario, panicking with the loader's message if it is invalid.
pub fn scenario(rel: &str) -> Scenario {
    match prodsim_scenario::load(&repo_path(rel)) {
        Ok(l) => l.scenario,
        Err(e) => panic!("{rel} does not load: {e}"),
    }
}

/// Loads a scenario from text, panicking with the loader's message if it is invalid.
pub fn from_text(text: &str) -> Scenario {
    match prodsim_scenario::load_str(text, Path::new("t.toml")) {
        Ok(l) => l.scenario,
        Err(e) => panic!("does not load: {e}\n{text}"),
    }
}

/// The loader's full report (every diagnostic) for text that must not load.
pub fn load_errors(text: &str) -> String {
    match prodsim_scenario::load_str(text, Path::new("t.toml")) {
        Ok(_) => panic!("loads, but should not:\n{text}"),
        Err(e) => format!("{e:?}"),
    }
}

/// Runs `s` with its own seed.
pub fn run_own_seed(s: &Scenario) -> prodsim_model::Outcome {
    prodsim_model::simulate(s, s.seed).expect("runs")
}

/// The architecture's part of an outcome.
pub fn system(o: &prodsim_model::Outcome) -> &prodsim_model::outcome::SystemOutcome {
    &o.system
}

/// A confidence interval from batch means.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    /// Mean of the batch values.
    pub mean: f64,
    /// Half-width of the interval.
    pub half_width: f64,
}

impl Estimate {
    /// True when `value` lies in the interval.
    pub fn contains(&self, value: f64) -> bool {
        (self.mean - value).abs() <= self.half_width
    }

    /// Lower end.
    pub fn lo(&self) -> f64 {
        self.mean - self.half_width
    }

    /// Upper end.
    pub fn hi(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// Student-t interval at `confidence` for the mean of `values`.
pub fn interval(values: &[f64], confidence: f64) -> Estimate {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0).expect("valid t").inverse_cdf(0.5 + confidence / 2.0);
    Estimate { mean, half_width: t * (var / n).sqrt() }
}

/// Batch means over the rows after `warmup_ns`: the rows are cut into `batches` contiguous
/// groups and `ratio` turns a group into one value (a ratio estimator such as total latency
/// over completions). Returns a 99.9% interval: ten closed-form checks share one run of
/// the suite, so each gets a Bonferroni-style share of a ~1% family-wise error rate.
pub fn batch_means(rows: &[Row], warmup_ns: u64, batches: usize, ratio: impl Fn(&[Row]) -> f64) -> Estimate {
    let measured: Vec<Row> = rows.iter().copied().filter(|r| r.start_ns >= warmup_ns).collect();
    let per = measured.len() / batches;
    assert!(per >= 5, "too few rows ({}) for {batches} batches", measured.len());
    let values: Vec<f64> = (0..batches).map(|b| ratio(&measured[b * per..(b + 1) * per])).collect();
    interval(&values, 0.999)
}

/// Mean latency in seconds of a group of rows.
pub fn mean_latency_s(rows: &[Row]) -> f64 {
    let sum: u128 = rows.iter().map(|r| r.latency_sum_ns).sum();
    let n: u64 = rows.iter().map(|r| r.completions).sum();
    sum as f64 / n as f64 / 1e9
}

/// Share of admitted requests that waited, in a group of rows.
pub fn wait_probability(rows: &[Row]) -> f64 {
    let delayed: u64 = rows.iter().map(|r| r.delayed).sum();
    let admitted: u64 = rows.iter().map(|r| r.admitted).sum();
    delayed as f64 / admitted as f64
}

/// Share of arrivals rejected, in a group of rows.
pub fn blocking(rows: &[Row]) -> f64 {
    let rejected: u64 = rows.iter().map(|r| r.rejections).sum();
    let arrivals: u64 = rows.iter().map(|r| r.arrivals).sum();
    rejected as f64 / arrivals as f64
}
