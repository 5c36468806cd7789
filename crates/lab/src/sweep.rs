//! `sweep`: a grid over scenario keys, every point run on the same replication seeds, with
//! every metric estimated at every point.
//!
//! A parameter is `KEY=START..END:STEP` (numbers; integers stay integers, so counts work) or
//! `KEY=V1,V2,...` (any values). The grid is the product of the parameters, the first
//! varying slowest; [`super::MAX_RUNS`] caps points times replications.

use serde::{Deserialize, Serialize};

use super::overrides::{self, OverrideError};
use super::shard::{Shard, from_bits, to_bits};
use super::stats::{self, Estimate};
use super::{
    Dimension, ExperimentError, Measure, Measures, Metric, SummaryMetric, Variant, execute, replication_seed, run_one,
};

pub use super::Options;

/// One grid point's estimates.
#[derive(Clone, Debug)]
pub struct Point {
    /// The level index of each dimension.
    pub levels: Vec<usize>,
    /// The variant's label.
    pub label: String,
    /// One estimate per metric of [`Sweep::metrics`].
    pub estimates: Vec<Estimate>,
}

/// The result of a sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Scenario name.
    pub scenario: String,
    /// Seed the replication seeds derive from.
    pub base_seed: u64,
    /// Replications per point.
    pub replications: u32,
    /// The grid's dimensions, in order.
    pub dims: Vec<Dimension>,
    /// The metrics estimated at every point: the six of [`Metric::ALL`], then the
    /// `--metric` keys.
    pub metrics: Vec<Measure>,
    /// Every grid point, the first dimension varying slowest.
    pub points: Vec<Point>,
}

/// Parses one `--param`: `KEY=START..END:STEP` or `KEY=V1,V2,...`.
pub fn parse_param(argument: &str) -> Result<Dimension, OverrideError> {
    let overrides::KeyArgument { key, text: rest } = overrides::split_key(argument, "--param")?;
    if let Some((range, step)) = rest.split_once("..").and_then(|(a, b)| b.split_once(':').map(|(e, s)| ((a, e), s))) {
        let values = range_values(range.0.trim(), range.1.trim(), step.trim())
            .map_err(|message| OverrideError::Syntax { argument: argument.to_string(), message })?;
        return Ok(Dimension::values(&key, &values));
    }
    if rest.contains("..") {
        return Err(OverrideError::Syntax {
            argument: argument.to_string(),
            message: "--param expects KEY=START..END:STEP (e.g. workload.rate=100..500:50) or KEY=V1,V2,...".into(),
        });
    }
    let list = overrides::parse_list(argument, "--param")?;
    Ok(Dimension::values(&list.key, &list.values))
}

/// The values `start, start + step, ...` up to `end` (included when the steps land on it).
fn range_values(start: &str, end: &str, step: &str) -> Result<Vec<toml::Value>, String> {
    if let (Ok(a), Ok(b), Ok(s)) = (start.parse::<i64>(), end.parse::<i64>(), step.parse::<i64>()) {
        check_range(a as f64, b as f64, s as f64)?;
        // In i128: `b - a` may not fit an i64; every value lies between `a` and `b`.
        let n = (i128::from(b) - i128::from(a)) / i128::from(s) + 1;
        let (a, s) = (i128::from(a), i128::from(s));
        return Ok((0..n).map(|i| toml::Value::Integer((a + i * s) as i64)).collect());
    }
    let num = |t: &str, what: &str| t.parse::<f64>().map_err(|_| format!("{what} `{t}` is not a number"));
    let (a, b, s) = (num(start, "START")?, num(end, "END")?, num(step, "STEP")?);
    check_range(a, b, s)?;
    // Round to the decimals the user wrote, so 0.1 steps give 0.3, not 0.30000000000000004.
    let decimals = [start, step].iter().map(|t| t.split_once('.').map_or(0, |(_, d)| d.len())).max().unwrap_or(0);
    let scale = 10f64.powi(decimals.min(12) as i32);
    let n = ((b - a) / s + 1e-9).floor() as u64 + 1;
    Ok((0..n).map(|i| toml::Value::Float(((a + i as f64 * s) * scale).round() / scale)).collect())
}

fn check_range(start: f64, end: f64, step: f64) -> Result<(), String> {
    if !(start.is_finite() && end.is_finite() && step.is_finite()) {
        return Err("START, END and STEP must be finite numbers".into());
    }
    if step <= 0.0 {
        return Err(format!("STEP must be greater than zero, got {step}"));
    }
    if end < start {
        return Err(format!("END ({end}) must not be less than START ({start})"));
    }
    let n = ((end - start) / step + 1e-9).floor() + 1.0;
    if n > super::MAX_RUNS as f64 {
        return Err(format!("{n} values exceed the limit of {} runs; use a larger STEP", super::MAX_RUNS));
    }
    Ok(())
}

/// One run of a sweep as a shard writes it: which point, which seed, and its metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The point's index.
    pub variant: usize,
    /// The run's seed.
    pub seed: u64,
    /// Every metric's value (the six of [`Metric::ALL`], then the `--metric` keys), as
    /// IEEE-754 bits.
    pub values: Vec<u64>,
}

/// The tasks `(point, seed)` of a sweep, or why it cannot run.
fn plan(variants: &[Variant], opts: Options) -> Result<Vec<(usize, u64)>, ExperimentError> {
    let runs = variants.len() as u64 * u64::from(opts.replications);
    if variants.is_empty() || opts.replications == 0 || runs > super::MAX_RUNS {
        return Err(ExperimentError::Size(format!(
            "{} points × {} replications = {runs} runs; between 1 and {} are allowed",
            variants.len(),
            opts.replications,
            super::MAX_RUNS
        )));
    }
    let seeds: Vec<u64> = (0..opts.replications).map(|r| replication_seed(opts.base_seed, r)).collect();
    // Point-major: a point's replications finish close together.
    Ok((0..variants.len()).flat_map(|v| seeds.iter().map(move |&s| (v, s))).collect())
}

/// The sweep from every point's runs, in replication order.
fn finish(
    variants: &[Variant],
    dims: &[Dimension],
    opts: Options,
    extra: &[SummaryMetric],
    values: &[Vec<Vec<f64>>],
) -> Sweep {
    let metrics = Measure::list(extra);
    let points = variants
        .iter()
        .zip(values)
        .map(|(variant, rows)| Point {
            levels: variant.levels.clone(),
            label: variant.label.clone(),
            estimates: (0..metrics.len())
                .map(|m| {
                    stats::estimate(&rows.iter().map(|r| r.get(m).copied().unwrap_or(f64::NAN)).collect::<Vec<_>>())
                })
                .collect(),
        })
        .collect();
    Sweep {
        scenario: variants[0].scenario.name.clone(),
        base_seed: opts.base_seed,
        replications: opts.replications,
        dims: dims.to_vec(),
        metrics,
        points,
    }
}

/// Runs every grid point `opts.replications` times. `variants` come from
/// [`super::variants`] with the same `dims`; every point estimates the six built-in
/// metrics and `measures`' extra ones. `progress` is called once per finished run.
pub fn run(
    variants: &[Variant],
    dims: &[Dimension],
    opts: Options,
    measures: &Measures,
    progress: &(dyn Fn() + Sync),
) -> Result<Sweep, ExperimentError> {
    let tasks = plan(variants, opts)?;
    let mut values: Vec<Vec<Vec<f64>>> = vec![Vec::new(); variants.len()];
    execute(
        opts.jobs,
        &tasks,
        |&(v, seed)| run_one(&variants[v], seed).map(|o| (v, measures.values_of(&o))),
        |(v, row)| values[v].push(row),
        progress,
    )?;
    Ok(finish(variants, dims, opts, measures.extra, &values))
}

/// How many runs (tasks) the sweep has.
pub fn task_count(variants: &[Variant], opts: Options) -> Result<usize, ExperimentError> {
    plan(variants, opts).map(|tasks| tasks.len())
}

/// Runs only `shard`'s share of the runs and returns their records, in global task order.
pub fn run_shard(
    variants: &[Variant],
    opts: Options,
    measures: &Measures,
    shard: Shard,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<RunRecord>, ExperimentError> {
    let tasks = plan(variants, opts)?;
    let run = |&(v, seed): &(usize, u64)| {
        run_one(&variants[v], seed).map(|o| RunRecord { variant: v, seed, values: to_bits(&measures.values_of(&o)) })
    };
    crate::execute_shard(opts.jobs, &tasks, shard, run, progress)
}

/// The sweep from every run's record, given in global task order: the same values in the
/// same order as [`run`], so the estimates are identical bit for bit. `extra` are the
/// `--metric` keys the shards measured.
pub fn merge(
    variants: &[Variant],
    dims: &[Dimension],
    opts: Options,
    extra: &[SummaryMetric],
    records: impl IntoIterator<Item = RunRecord>,
) -> Result<Sweep, ExperimentError> {
    let tasks = plan(variants, opts)?;
    let metrics = Metric::ALL.len() + extra.len();
    let mut values: Vec<Vec<Vec<f64>>> = vec![Vec::new(); variants.len()];
    let mut n = 0usize;
    for r in records {
        let Some(&(v, seed)) = tasks.get(n) else {
            return Err(ExperimentError::Partial(format!("more run records than the {} runs", tasks.len())));
        };
        if (r.variant, r.seed) != (v, seed) {
            return Err(ExperimentError::Partial(format!(
                "run {n} should be point {v} with seed {seed}, but the record is point {} with seed {}",
                r.variant, r.seed
            )));
        }
        let row = from_bits(&r.values);
        if row.len() != metrics {
            return Err(ExperimentError::Partial(format!(
                "run {n}: expected {metrics} metric values, found {}",
                row.len()
            )));
        }
        values[v].push(row);
        n += 1;
    }
    if n != tasks.len() {
        return Err(ExperimentError::Partial(format!("{n} run records for {} runs", tasks.len())));
    }
    Ok(finish(variants, dims, opts, extra, &values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value;

    fn texts(arg: &str) -> Vec<String> {
        parse_param(arg).expect("parses").levels.into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn ranges_give_integers_or_rounded_floats() {
        assert_eq!(texts("servers.count=4..10:2"), ["4", "6", "8", "10"]);
        assert_eq!(texts("servers.count=4..9:2"), ["4", "6", "8"]);
        assert_eq!(texts("workload.rate=0.1..0.5:0.1"), ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        assert_eq!(texts("workload.rate=5..5:1"), ["5"]);
        let d = parse_param("workload.rate=1..2:0.5").expect("parses");
        assert_eq!(d.levels[1].assignments[0].value, Some(Value::Float(1.5)));
        assert_eq!(d.levels[1].number, Some(1.5));
        assert_eq!(texts("balancer.strategy=random,round_robin"), ["random", "round_robin"]);
    }

    #[test]
    fn bad_ranges_are_clear_errors() {
        for (arg, needle) in [
            ("servers.count=4..10:0", "STEP must be greater than zero"),
            ("servers.count=4..10:-2", "STEP must be greater than zero"),
            ("servers.count=10..4:2", "must not be less than START"),
            ("workload.rate=1..x:1", "END `x` is not a number"),
            ("workload.rate=1..1e9:0.001", "exceed the limit"),
            ("workload.rate=1..5", "START..END:STEP"),
            ("workload.rate=nan..5:1", "finite"),
            ("rate", "KEY=VALUE"),
        ] {
            let e = parse_param(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }
}
