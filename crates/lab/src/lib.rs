//! Experiments: many single runs of variants of one scenario, merged into estimates with
//! confidence intervals.
//!
//! - [`compare`]: a few variants (strategies, or any key's values) side by side.
//! - [`sweep`]: a grid over scenario keys, one line per remaining variant.
//! - [`check`]: random fault schedules against one scenario, invariants, shrinking
//!   (`prodsim check`).
//! - [`measure`]: the six built-in metrics and any numeric `summary.json` key (`--metric`).
//! - [`capacity`]: the cheapest configuration that meets an SLO, by bisection
//!   (`prodsim capacity`).
//! - [`shard`]: one experiment split over processes (`--shard K/N`) and merged exactly.
//!
//! Every variant runs the same replications: replication `r` uses seed
//! [`replication_seed`]`(base, r)` whatever the variant, and the workload and service-time
//! streams do not depend on the balancer, so variants see identical traffic (common random
//! numbers) and are compared with paired tests ([`stats::paired`]).
//!
//! Runs execute in parallel on a rayon pool of `jobs` threads, in chunks of a fixed size;
//! each chunk is collected in task order and merged in that order, so results never depend
//! on the number of threads, and memory holds one chunk of run summaries, not every run.
//! This module does no I/O: progress is reported through a callback.

pub mod blast;
pub mod capacity;
pub mod chaos;
pub mod check;
pub mod compare;
pub mod measure;
pub mod overrides;
pub mod shard;
pub mod stats;
pub mod sweep;

use std::path::Path;

use rayon::prelude::*;
use thiserror::Error;

use prodsim_model::RunError;
use prodsim_model::outcome::Outcome;
use prodsim_parts::Strategy;
use prodsim_scenario::{Diagnostic, Scenario};

/// How an experiment runs: replications, base seed and threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Replications per variant or grid point (at least 2 for an interval).
    pub replications: u32,
    /// Seed the replication seeds derive from.
    pub base_seed: u64,
    /// Worker threads; results do not depend on it.
    pub jobs: usize,
}
pub use measure::{Measure, Measures, SummaryMetric};
use overrides::{Assignment, OverrideError};

/// Most single runs one experiment may ask for (variants times replications).
pub const MAX_RUNS: u64 = 10_000;

/// Runs in flight between two merges: bounds memory whatever the number of threads.
const CHUNK: usize = 64;

/// The seed of replication `r` of every variant of an experiment based on `base`.
pub fn replication_seed(base: u64, r: u32) -> u64 {
    prodsim_kernel::derive_seed(base, u64::from(r))
}

/// Why an experiment could not run.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// An override or a variant is invalid.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// The experiment asks for more runs than [`MAX_RUNS`], or for none.
    #[error("{0}")]
    Size(String),
    /// One run stopped on a limit.
    // `reason` is written into the message rather than chained as a source, so the message
    // says everything once however it is printed.
    #[error("run of variant {variant} with seed {seed} stopped (reproduce with --seed {seed}): {reason}")]
    Run {
        /// The variant's label.
        variant: String,
        /// The run's seed.
        seed: u64,
        /// Why it stopped.
        reason: RunError,
    },
    /// The thread pool could not be built.
    #[error("cannot start {jobs} worker threads: {message}")]
    Pool {
        /// Threads asked for.
        jobs: usize,
        /// The reason.
        message: String,
    },
    /// The experiment's own options ask for something the scenario cannot do (a fault kind
    /// none of its components can suffer).
    #[error("{0}")]
    Options(String),
    /// Partial results (of `--shard`) do not fit the experiment being merged.
    #[error("partial results do not fit the experiment: {0}")]
    Partial(String),
    /// A `--metric` key is not a numeric `summary.json` key of the scenario.
    #[error(transparent)]
    Metric(#[from] measure::MetricError),
}

/// The numbers an experiment estimates for every variant, one value per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Exact mean latency of completed requests, in milliseconds.
    MeanMs,
    /// Median latency, in milliseconds.
    P50Ms,
    /// 99th percentile latency, in milliseconds.
    P99Ms,
    /// 99.9th percentile latency, in milliseconds.
    P999Ms,
    /// Completed share of the requests whose fate is known.
    Availability,
    /// Rejected share of the requests whose fate is known.
    RejectedShare,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 6] =
        [Metric::MeanMs, Metric::P50Ms, Metric::P99Ms, Metric::P999Ms, Metric::Availability, Metric::RejectedShare];

    /// Column name in CSV and JSON.
    pub fn key(self) -> &'static str {
        match self {
            Metric::MeanMs => "mean_ms",
            Metric::P50Ms => "p50_ms",
            Metric::P99Ms => "p99_ms",
            Metric::P999Ms => "p999_ms",
            Metric::Availability => "availability",
            Metric::RejectedShare => "rejected_share",
        }
    }

    /// Human label with the unit.
    pub fn label(self) -> &'static str {
        match self {
            Metric::MeanMs => "mean latency (ms)",
            Metric::P50Ms => "p50 latency (ms)",
            Metric::P99Ms => "p99 latency (ms)",
            Metric::P999Ms => "p99.9 latency (ms)",
            Metric::Availability => "availability",
            Metric::RejectedShare => "rejected share",
        }
    }

    /// Whether a larger value is better (availability) or worse (latency, rejections).
    pub fn higher_is_better(self) -> bool {
        self == Metric::Availability
    }

    /// This metric's value in one run; NaN when it is undefined (nothing completed).
    pub fn of(self, o: &Outcome) -> f64 {
        let nan = f64::NAN;
        let finished = o.requests.finished();
        match self {
            Metric::MeanMs => o.latency.mean_ms().unwrap_or(nan),
            Metric::P50Ms => o.latency.quantile_ms(0.5).unwrap_or(nan),
            Metric::P99Ms => o.latency.quantile_ms(0.99).unwrap_or(nan),
            Metric::P999Ms => o.latency.quantile_ms(0.999).unwrap_or(nan),
            Metric::Availability => o.requests.availability().unwrap_or(nan),
            Metric::RejectedShare if finished == 0 => nan,
            Metric::RejectedShare => o.requests.rejected as f64 / finished as f64,
        }
    }

    /// Every metric of one run, in [`Metric::ALL`] order.
    pub fn all_of(o: &Outcome) -> [f64; 6] {
        Metric::ALL.map(|m| m.of(o))
    }
}

/// One value of a [`Dimension`]: how it is shown and what it changes in the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    /// Shown in tables, legends and CSV cells, e.g. `round_robin` or `8`.
    pub text: String,
    /// The value as a number, when it is one (for chart axes).
    pub number: Option<f64>,
    /// The changes this level makes.
    pub assignments: Vec<Assignment>,
}

/// One axis of an experiment: a scenario key and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    /// The dotted key (`balancer.strategy` for `--strategies`).
    pub key: String,
    /// Its values, in the order given.
    pub levels: Vec<Level>,
}

impl Dimension {
    /// The strategies dimension. Strategies other than `power_of_two` also drop
    /// `balancer.choices`, which only `power_of_two` accepts.
    pub fn strategies(strategies: &[Strategy]) -> Dimension {
        let levels = strategies
            .iter()
            .map(|s| {
                let mut assignments =
                    vec![Assignment::set("balancer.strategy", toml::Value::String(s.as_str().to_string()))];
                if *s != Strategy::PowerOfTwo {
                    assignments.push(Assignment::remove("balancer.choices"));
                }
                Level { text: s.as_str().to_string(), number: None, assignments }
            })
            .collect();
        Dimension { key: "balancer.strategy".to_string(), levels }
    }

    /// A key with a list of values.
    pub fn values(key: &str, values: &[toml::Value]) -> Dimension {
        let levels = values
            .iter()
            .map(|v| Level {
                text: overrides::value_text(v),
                number: match v {
                    toml::Value::Integer(i) => Some(*i as f64),
                    toml::Value::Float(f) => Some(*f),
                    _ => None,
                },
                assignments: vec![Assignment::set(key, v.clone())],
            })
            .collect();
        Dimension { key: key.to_string(), levels }
    }
}

/// One combination of levels, validated.
#[derive(Clone, Debug)]
pub struct Variant {
    /// The level index of each dimension.
    pub levels: Vec<usize>,
    /// Short name: the level texts; `key=value` for keys other than the strategy.
    pub label: String,
    /// The scenario with this variant's changes.
    pub scenario: Scenario,
    /// Loader warnings for this variant (e.g. offered load above capacity).
    pub warnings: Vec<Diagnostic>,
}

/// Every combination of the dimensions' levels, the first dimension varying slowest.
/// Fails when there are more than `max` combinations.
pub fn grid(dims: &[Dimension], max: u64) -> Result<Vec<Vec<usize>>, ExperimentError> {
    let mut count: u64 = 1;
    for d in dims {
        if d.levels.is_empty() {
            return Err(ExperimentError::Size(format!("{} has no values", d.key)));
        }
        count = count.saturating_mul(d.levels.len() as u64);
    }
    if count > max {
        return Err(ExperimentError::Size(format!(
            "{count} combinations of {} exceed the limit of {max}; use fewer values",
            dims.iter().map(|d| d.key.as_str()).collect::<Vec<_>>().join(" × ")
        )));
    }
    let mut out = vec![Vec::new()];
    for d in dims {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..d.levels.len()).map(move |i| {
                    let mut p = prefix.clone();
                    p.push(i);
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

/// Builds and validates every variant: the `base` assignments, then one level of each
/// dimension. Fails on the first invalid variant, naming its overrides.
pub fn variants(
    source_text: &str,
    path: &Path,
    base: &[Assignment],
    dims: &[Dimension],
    replications: u32,
) -> Result<Vec<Variant>, ExperimentError> {
    if replications == 0 {
        return Err(ExperimentError::Size("at least one replication is needed".to_string()));
    }
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].iter().any(|e| e.key == d.key) {
            return Err(ExperimentError::Size(format!("{} is varied twice; give each key once", d.key)));
        }
    }
    let count = dims.iter().fold(1u64, |n, d| n.saturating_mul(d.levels.len() as u64));
    let runs = count.saturating_mul(u64::from(replications));
    if runs > MAX_RUNS {
        return Err(ExperimentError::Size(format!(
            "{count} variants × {replications} replications = {runs} runs exceed the limit of {MAX_RUNS}; \
             use fewer values or replications"
        )));
    }
    let combos = grid(dims, MAX_RUNS)?;
    combos
        .into_iter()
        .map(|levels| {
            let mut assignments = base.to_vec();
            let mut parts = Vec::new();
            for (d, &i) in dims.iter().zip(&levels) {
                let level = &d.levels[i];
                assignments.extend(level.assignments.iter().cloned());
                parts.push(if d.key == "balancer.strategy" {
                    level.text.clone()
                } else {
                    format!("{}={}", d.key, level.text)
                });
            }
            let loaded = overrides::apply(source_text, path, &assignments)?;
            let label = if parts.is_empty() { loaded.scenario.name.clone() } else { parts.join(" ") };
            Ok(Variant { levels, label, scenario: loaded.scenario, warnings: loaded.warnings })
        })
        .collect()
}

/// [`execute`] on `shard`'s share of `tasks` only, collecting the results in global task
/// order (what a shard of `compare`, `sweep` or `check` writes into its partial file).
pub fn execute_shard<T, R, F>(
    jobs: usize,
    tasks: &[T],
    shard: shard::Shard,
    f: F,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<R>, ExperimentError>
where
    T: Sync + Copy,
    R: Send,
    F: Fn(&T) -> Result<R, ExperimentError> + Sync,
{
    let mine: Vec<T> = shard.tasks(tasks.len()).map(|t| tasks[t]).collect();
    let mut out = Vec::with_capacity(mine.len());
    execute(jobs, &mine, f, |r| out.push(r), progress)?;
    Ok(out)
}

/// Runs `f(task)` for every task on a pool of `jobs` threads and hands each result to
/// `merge` in task order. `progress` is called once per finished run, from worker threads.
/// Stops at the first failing task in task order.
pub fn execute<T, R, F, M>(
    jobs: usize,
    tasks: &[T],
    f: F,
    mut merge: M,
    progress: &(dyn Fn() + Sync),
) -> Result<(), ExperimentError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, ExperimentError> + Sync,
    M: FnMut(R),
{
    let jobs = jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| ExperimentError::Pool { jobs, message: e.to_string() })?;
    for chunk in tasks.chunks(CHUNK) {
        let results: Vec<Result<R, ExperimentError>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|t| {
                    let r = f(t);
                    progress();
                    r
                })
                .collect()
        });
        for r in results {
            merge(r?);
        }
    }
    Ok(())
}

/// One run of `variant` with seed `seed`, mapped to the run's error on failure.
pub fn run_one(variant: &Variant, seed: u64) -> Result<Outcome, ExperimentError> {
    prodsim_model::simulate(&variant.scenario, seed).map_err(|reason| ExperimentError::Run {
        variant: variant.label.clone(),
        seed,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(key: &str, n: usize) -> Dimension {
        let values: Vec<toml::Value> = (0..n as i64).map(toml::Value::Integer).collect();
        Dimension::values(key, &values)
    }

    #[test]
    fn grid_is_the_product_with_the_first_dimension_slowest() {
        let g = grid(&[dim("a", 2), dim("b", 3)], 100).expect("small");
        assert_eq!(g, vec![vec![0, 0], vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 1], vec![1, 2]]);
        assert_eq!(grid(&[], 100).expect("empty"), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn grid_refuses_too_many_points_before_building_them() {
        let dims: Vec<Dimension> = (0..8).map(|i| dim(&format!("k{i}"), 100)).collect();
        let e = grid(&dims, MAX_RUNS).unwrap_err().to_string();
        assert!(e.contains("exceed the limit of 10000"), "{e}");
        let empty = Dimension { key: "x".into(), levels: vec![] };
        assert!(grid(&[empty], 10).unwrap_err().to_string().contains("x has no values"));
    }

    #[test]
    fn execute_merges_in_task_order_whatever_the_thread_count() {
        let tasks: Vec<u64> = (0..200).collect();
        let collect = |jobs| {
            let mut out = Vec::new();
            execute(jobs, &tasks, |t| Ok(t * t), |r| out.push(r), &|| {}).expect("runs");
            out
        };
        let one = collect(1);
        assert_eq!(one, tasks.iter().map(|t| t * t).collect::<Vec<_>>());
        assert_eq!(one, collect(2));
        assert_eq!(one, collect(7));
    }

    #[test]
    fn execute_reports_the_first_failure_in_task_order() {
        let tasks: Vec<u64> = (0..100).collect();
        let r = execute(
            3,
            &tasks,
            |&t| if t % 30 == 29 { Err(ExperimentError::Size(format!("task {t}"))) } else { Ok(t) },
            |_| {},
            &|| {},
        );
        assert_eq!(r.unwrap_err().to_string(), "task 29");
    }
}
