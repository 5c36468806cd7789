//! `compare`: a few variants of one scenario, each run on the same replication seeds, with
//! every metric estimated per variant and every variant tested against the best one.
//!
//! Besides the per-replication metrics, a comparison keeps what its charts need and nothing
//! per request: the latency histogram merged over replications (exact integer adds, so the
//! merge order does not matter), the per-interval p99 and work in flight averaged over
//! replications, and the time-averaged load of each server in each replication.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::shard::{Shard, from_bits, to_bits};
use super::stats::{self, Estimate, PairedTest};
use super::{ExperimentError, Measure, Measures, Metric, SummaryMetric, Variant, execute, replication_seed, run_one};
use prodsim_kernel::units::{ns_to_ms, ns_to_s};
use prodsim_model::outcome::{LATENCY_MAX_TRACKABLE_NS, Outcome};

/// Most variants one comparison takes: beyond this its charts are unreadable, and each
/// variant keeps a merged latency histogram in memory.
pub const MAX_VARIANTS: usize = 64;

/// Most points of a variant's time series (`p99_ms`, `in_flight`): longer runs average
/// adjacent report rows.
pub const MAX_TIME_POINTS: usize = 2_000;

pub use super::Options;

/// What one variant produced over all replications.
#[derive(Clone, Debug)]
pub struct VariantResult {
    /// The variant's label (legend name).
    pub label: String,
    /// The level index of each dimension.
    pub levels: Vec<usize>,
    /// One row per replication, one column per metric of [`Comparison::metrics`] (the six
    /// of [`Metric::ALL`], then the `--metric` keys).
    pub values: Vec<Vec<f64>>,
    /// Latency of completed requests (ns), merged over replications.
    pub latency: Histogram<u64>,
    /// Middle of each time-series interval, in simulated seconds.
    pub time_s: Vec<f64>,
    /// Per-interval p99 latency in ms, averaged over the replications that had completions
    /// in that interval (NaN where none had). Intervals are report rows, or groups of
    /// adjacent rows averaged when there are more than [`MAX_TIME_POINTS`].
    pub p99_ms: Vec<f64>,
    /// Requests in flight at the end of each interval, averaged over replications.
    pub in_flight: Vec<f64>,
    /// For each server, its time-averaged number of requests (in service plus waiting) in
    /// each replication.
    pub server_load: Vec<Vec<f64>>,
    /// The changes of the offered load after time zero.
    pub load_changes: Vec<LoadChange>,
    /// The variant's injected faults.
    pub faults: Vec<prodsim_parts::faults::Fault>,
}

/// A change of the offered load: when, and the new total arrival rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadChange {
    /// When it changes, in simulated seconds.
    pub at_s: f64,
    /// The total arrival rate from then on, req/s.
    pub rate: f64,
}

impl VariantResult {
    /// The values of metric `m`, one per replication.
    pub fn metric_values(&self, m: Metric) -> Vec<f64> {
        let i = Metric::ALL.iter().position(|x| *x == m).expect("every metric is in ALL");
        self.column(i)
    }

    /// The values of the `i`th metric of [`Comparison::metrics`], one per replication.
    pub fn column(&self, i: usize) -> Vec<f64> {
        self.values.iter().map(|row| row.get(i).copied().unwrap_or(f64::NAN)).collect()
    }
}

/// One metric across variants.
#[derive(Clone, Debug)]
pub struct MetricSummary {
    /// The metric.
    pub metric: Measure,
    /// Estimate per variant, in variant order.
    pub estimates: Vec<Estimate>,
    /// The variant with the best mean (lowest, or highest when
    /// [`Measure::higher_is_better`]); `None` when
    /// no variant has a value.
    pub best: Option<usize>,
    /// Paired test of each variant against the best (`None` for the best itself).
    pub vs_best: Vec<Option<PairedTest>>,
}

/// The result of a comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// Seed the replication seeds derive from.
    pub base_seed: u64,
    /// The seed of each replication.
    pub seeds: Vec<u64>,
    /// Variants, in the order given.
    pub variants: Vec<VariantResult>,
    /// One summary per metric: the six of [`Metric::ALL`], then the `--metric` keys.
    pub metrics: Vec<MetricSummary>,
}

/// What one run contributes; built in the worker so the outcome is dropped there.
struct RunSummary {
    values: Vec<f64>,
    latency: Histogram<u64>,
    time_s: Vec<f64>,
    p99_ms: Vec<f64>,
    in_flight: Vec<f64>,
    server_load: Vec<f64>,
}

impl RunSummary {
    fn of(o: Outcome, workers: u32, measures: &Measures) -> RunSummary {
        // At most MAX_TIME_POINTS per series: adjacent rows are averaged, so a run with a
        // million rows keeps a chart's worth of points, not a million.
        let k = o.rows.len().div_ceil(MAX_TIME_POINTS).max(1);
        let groups = || o.rows.chunks(k);
        let mean = |values: &mut dyn Iterator<Item = f64>| {
            let (sum, n) = values.filter(|v| v.is_finite()).fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
            if n == 0 { f64::NAN } else { sum / f64::from(n) }
        };
        RunSummary {
            values: measures.values_of(&o),
            time_s: groups().map(|g| (g[0].start_ns + g[g.len() - 1].end_ns) as f64 / 2e9).collect(),
            p99_ms: groups()
                .map(|g| mean(&mut g.iter().map(|r| r.latency_p99_ns.map_or(f64::NAN, ns_to_ms))))
                .collect(),
            in_flight: groups().map(|g| mean(&mut g.iter().map(|r| r.in_flight as f64))).collect(),
            server_load: o.servers.iter().map(|s| s.utilization * f64::from(workers) + s.mean_queue_length).collect(),
            latency: o.latency.histogram,
        }
    }
}

/// One run of a comparison as a shard writes it: its [`RunSummary`] with floats as bits
/// and the latency histogram as (bucket value, count) pairs, both exact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The variant's index.
    pub variant: usize,
    /// The run's seed.
    pub seed: u64,
    /// Every metric's value (the six of [`Metric::ALL`], then the `--metric` keys), as bits.
    pub values: Vec<u64>,
    /// The latency histogram's non-empty buckets: (highest equivalent value in ns, count).
    pub latency: Vec<[u64; 2]>,
    /// Interval middles in seconds, as bits.
    pub time_s: Vec<u64>,
    /// Per-interval p99 in ms, as bits.
    pub p99_ms: Vec<u64>,
    /// Per-interval work in flight, as bits.
    pub in_flight: Vec<u64>,
    /// Per-server time-averaged load, as bits.
    pub server_load: Vec<u64>,
}

impl RunRecord {
    fn of(variant: usize, seed: u64, s: RunSummary) -> RunRecord {
        RunRecord {
            variant,
            seed,
            values: to_bits(&s.values),
            latency: s.latency.iter_recorded().map(|v| [v.value_iterated_to(), v.count_at_value()]).collect(),
            time_s: to_bits(&s.time_s),
            p99_ms: to_bits(&s.p99_ms),
            in_flight: to_bits(&s.in_flight),
            server_load: to_bits(&s.server_load),
        }
    }

    fn into_summary(self, metrics: usize) -> Result<RunSummary, ExperimentError> {
        let bad = |what: &str| ExperimentError::Partial(format!("run of seed {}: {what}", self.seed));
        let values = from_bits(&self.values);
        if values.len() != metrics {
            return Err(bad(&format!("expected {metrics} metric values, found {}", values.len())));
        }
        let mut latency = new_histogram();
        for &[value, count] in &self.latency {
            latency.record_n(value, count).map_err(|_| bad("a latency beyond the histogram's bounds"))?;
        }
        Ok(RunSummary {
            values,
            latency,
            time_s: from_bits(&self.time_s),
            p99_ms: from_bits(&self.p99_ms),
            in_flight: from_bits(&self.in_flight),
            server_load: from_bits(&self.server_load),
        })
    }
}

/// An empty latency histogram with the bounds of every run's.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_TRACKABLE_NS, 3).expect("constant bounds are valid")
}

/// Accumulates one variant's runs in replication order.
struct Acc {
    result: VariantResult,
    p99_sum: Vec<f64>,
    p99_n: Vec<u32>,
    in_flight_sum: Vec<f64>,
}

impl Acc {
    fn new(v: &Variant) -> Acc {
        let histogram = new_histogram();
        Acc {
            result: VariantResult {
                label: v.label.clone(),
                levels: v.levels.clone(),
                values: Vec::new(),
                latency: histogram,
                time_s: Vec::new(),
                p99_ms: Vec::new(),
                in_flight: Vec::new(),
                server_load: vec![Vec::new(); v.scenario.servers.count as usize],
                load_changes: load_changes(&v.scenario),
                faults: v.scenario.faults.clone(),
            },
            p99_sum: Vec::new(),
            p99_n: Vec::new(),
            in_flight_sum: Vec::new(),
        }
    }

    fn add(&mut self, run: RunSummary) {
        let r = &mut self.result;
        r.values.push(run.values);
        // Both histograms share the bounds of `Latency::new(3)`, so adding cannot fail.
        r.latency.add(&run.latency).expect("histograms with equal bounds merge");
        if run.time_s.len() > r.time_s.len() {
            r.time_s = run.time_s;
        }
        let n = run.p99_ms.len().max(self.p99_sum.len());
        self.p99_sum.resize(n, 0.0);
        self.p99_n.resize(n, 0);
        self.in_flight_sum.resize(n, 0.0);
        for (i, v) in run.p99_ms.iter().enumerate() {
            if v.is_finite() {
                self.p99_sum[i] += v;
                self.p99_n[i] += 1;
            }
        }
        for (i, v) in run.in_flight.iter().enumerate() {
            self.in_flight_sum[i] += v;
        }
        for (s, load) in r.server_load.iter_mut().zip(run.server_load) {
            s.push(load);
        }
    }

    fn finish(mut self) -> VariantResult {
        let reps = self.result.values.len().max(1) as f64;
        self.result.p99_ms = self
            .p99_sum
            .iter()
            .zip(&self.p99_n)
            .map(|(s, &n)| if n == 0 { f64::NAN } else { s / f64::from(n) })
            .collect();
        self.result.in_flight = self.in_flight_sum.iter().map(|s| s / reps).collect();
        self.result
    }
}

/// Times after zero at which the total offered rate changes, with the new rate.
fn load_changes(s: &prodsim_scenario::Scenario) -> Vec<LoadChange> {
    let mut times: Vec<u64> = s
        .workloads
        .iter()
        .flat_map(|w| w.stages.iter().map(|st| st.at.as_nanos()))
        .filter(|&t| t > 0 && t < s.duration_ns)
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut out = Vec::new();
    let mut last = s.arrival_rate_at(0);
    for t in times {
        let rate = s.arrival_rate_at(t);
        if rate != last {
            out.push(LoadChange { at_s: ns_to_s(t), rate });
            last = rate;
        }
    }
    out
}

/// The tasks of a comparison: `(variant, seed)`, in task order.
type Tasks = Vec<(usize, u64)>;

/// The seeds and the tasks of a comparison, or why it cannot run.
fn plan(variants: &[Variant], opts: Options) -> Result<(Vec<u64>, Tasks), ExperimentError> {
    if variants.is_empty() || variants.len() > MAX_VARIANTS {
        return Err(ExperimentError::Size(format!(
            "compare takes 1 to {MAX_VARIANTS} variants, got {}; use `prodsim sweep` for larger grids",
            variants.len()
        )));
    }
    let runs = variants.len() as u64 * u64::from(opts.replications);
    if opts.replications == 0 || runs > super::MAX_RUNS {
        return Err(ExperimentError::Size(format!(
            "{} variants × {} replications = {runs} runs; between 1 and {} are allowed",
            variants.len(),
            opts.replications,
            super::MAX_RUNS
        )));
    }
    let seeds: Vec<u64> = (0..opts.replications).map(|r| replication_seed(opts.base_seed, r)).collect();
    // Replication-major: each chunk holds whole replications of every variant.
    let tasks: Vec<(usize, u64)> = seeds.iter().flat_map(|&seed| (0..variants.len()).map(move |v| (v, seed))).collect();
    Ok((seeds, tasks))
}

/// One run of a comparison, summarised in the worker so that the outcome is dropped there.
fn run_task(
    variants: &[Variant],
    measures: &Measures,
    v: usize,
    seed: u64,
) -> Result<(usize, RunSummary), ExperimentError> {
    let variant = &variants[v];
    run_one(variant, seed).map(|o| (v, RunSummary::of(o, variant.scenario.servers.workers, measures)))
}

/// The comparison from every variant's accumulated runs.
fn finish(variants: &[Variant], opts: Options, extra: &[SummaryMetric], seeds: Vec<u64>, accs: Vec<Acc>) -> Comparison {
    let results: Vec<VariantResult> = accs.into_iter().map(Acc::finish).collect();
    let metrics = Measure::list(extra).into_iter().enumerate().map(|(i, m)| summarize(m, i, &results)).collect();
    Comparison {
        scenario: variants[0].scenario.name.clone(),
        base_seed: opts.base_seed,
        seeds,
        variants: results,
        metrics,
    }
}

/// Runs every variant `opts.replications` times and compares them on the six built-in
/// metrics and `measures`' extra ones. `progress` is called once per finished run.
pub fn run(
    variants: &[Variant],
    opts: Options,
    measures: &Measures,
    progress: &(dyn Fn() + Sync),
) -> Result<Comparison, ExperimentError> {
    let (seeds, tasks) = plan(variants, opts)?;
    let mut accs: Vec<Acc> = variants.iter().map(Acc::new).collect();
    execute(
        opts.jobs,
        &tasks,
        |&(v, seed)| run_task(variants, measures, v, seed),
        |(v, summary)| accs[v].add(summary),
        progress,
    )?;
    Ok(finish(variants, opts, measures.extra, seeds, accs))
}

/// How many runs (tasks) the comparison has.
pub fn task_count(variants: &[Variant], opts: Options) -> Result<usize, ExperimentError> {
    plan(variants, opts).map(|(_, tasks)| tasks.len())
}

/// Runs only `shard`'s share of the runs and returns their records, in global task order.
pub fn run_shard(
    variants: &[Variant],
    opts: Options,
    measures: &Measures,
    shard: Shard,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<RunRecord>, ExperimentError> {
    let (_, tasks) = plan(variants, opts)?;
    let run = |&(v, seed): &(usize, u64)| run_task(variants, measures, v, seed).map(|(v, s)| RunRecord::of(v, seed, s));
    crate::execute_shard(opts.jobs, &tasks, shard, run, progress)
}

/// The comparison from every run's record, given in global task order (the shards'
/// records [`interleaved`](crate::shard::interleave)): the same accumulation, in the same
/// order, as [`run`], so the result is identical bit for bit. `extra` are the `--metric`
/// keys the shards measured.
pub fn merge(
    variants: &[Variant],
    opts: Options,
    extra: &[SummaryMetric],
    records: impl IntoIterator<Item = RunRecord>,
) -> Result<Comparison, ExperimentError> {
    let (seeds, tasks) = plan(variants, opts)?;
    let mut accs: Vec<Acc> = variants.iter().map(Acc::new).collect();
    let mut n = 0usize;
    for r in records {
        let Some(&(v, seed)) = tasks.get(n) else {
            return Err(ExperimentError::Partial(format!("more run records than the {} runs", tasks.len())));
        };
        if (r.variant, r.seed) != (v, seed) {
            return Err(ExperimentError::Partial(format!(
                "run {n} should be variant {v} with seed {seed}, but the record is variant {} with seed {}",
                r.variant, r.seed
            )));
        }
        accs[v].add(r.into_summary(Metric::ALL.len() + extra.len())?);
        n += 1;
    }
    if n != tasks.len() {
        return Err(ExperimentError::Partial(format!("{n} run records for {} runs", tasks.len())));
    }
    Ok(finish(variants, opts, extra, seeds, accs))
}

/// Estimates `m`, the `column`th metric of the variants' values, for every variant and
/// tests each against the best.
pub fn summarize(m: Measure, column: usize, results: &[VariantResult]) -> MetricSummary {
    let values: Vec<Vec<f64>> = results.iter().map(|r| r.column(column)).collect();
    let estimates: Vec<Estimate> = values.iter().map(|v| stats::estimate(v)).collect();
    let better = |a: f64, b: f64| if m.higher_is_better() { a > b } else { a < b };
    let mut best: Option<usize> = None;
    for (i, e) in estimates.iter().enumerate() {
        if e.mean.is_finite() && best.is_none_or(|b| better(e.mean, estimates[b].mean)) {
            best = Some(i);
        }
    }
    let vs_best = (0..results.len())
        .map(|i| match best {
            Some(b) if b != i => Some(stats::paired(&values[i], &values[b])),
            _ => None,
        })
        .collect();
    MetricSummary { metric: m, estimates, best, vs_best }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dimension, variants};
    use prodsim_parts::Strategy;

    const FILE: &str = r#"
[scenario]
name = "t"
duration = "10s"
report_interval = "1ms"

[[workload]]
name = "w"
rate = 200

[servers]
count = 2
workers = 2
service_time = "exp(10ms)"
"#;

    fn build(strategies: &[Strategy]) -> Vec<Variant> {
        let dims = [Dimension::strategies(strategies)];
        variants(FILE, std::path::Path::new("t.toml"), &[], &dims, 2).expect("valid")
    }

    #[test]
    fn long_time_series_are_averaged_down_to_a_chart_s_worth() {
        let v = build(&[Strategy::RoundRobin, Strategy::LeastConnections]);
        let c = run(&v, Options { replications: 2, base_seed: 3, jobs: 1 }, &Measures::BUILTIN, &|| {}).expect("runs");
        for r in &c.variants {
            assert!(r.time_s.len() <= MAX_TIME_POINTS && r.time_s.len() >= MAX_TIME_POINTS / 2, "{}", r.time_s.len());
            assert_eq!(r.p99_ms.len(), r.time_s.len());
            assert_eq!(r.in_flight.len(), r.time_s.len());
            assert!(r.time_s.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(r.values.len(), 2);
            assert_eq!(r.server_load.len(), 2);
            assert!(r.latency.len() > 1_000);
        }
        let mean = c.metrics.iter().find(|m| m.metric == Metric::MeanMs).expect("summarised");
        assert!(mean.best.is_some());
        assert_eq!(mean.vs_best.iter().filter(|t| t.is_none()).count(), 1);
    }

    #[test]
    fn shards_merge_to_the_unsharded_comparison_bit_for_bit() {
        let v = build(&[Strategy::RoundRobin, Strategy::Random]);
        let opts = Options { replications: 3, base_seed: 5, jobs: 2 };
        // One extra metric, read by the caller's extractor, travels through the shards too.
        let extra = [SummaryMetric { key: "events".into(), higher_is_better: false }];
        let measures = Measures { extra: &extra, extract: &|o: &Outcome| vec![o.events as f64] };
        let whole = run(&v, opts, &measures, &|| {}).expect("runs");
        assert_eq!(whole.metrics.len(), 7);
        assert_eq!(whole.metrics[6].metric.key(), "events");
        assert!(whole.variants[0].column(6).iter().all(|e| *e > 1000.0));
        let n = 4;
        let shards: Vec<Vec<RunRecord>> = (0..n)
            .map(|index| {
                let records = run_shard(&v, opts, &measures, Shard { index, count: n }, &|| {}).expect("runs");
                let json = serde_json::to_string(&records).expect("serialises");
                serde_json::from_str(&json).expect("reads back")
            })
            .collect();
        let merged = merge(&v, opts, &extra, crate::shard::interleave(shards)).expect("merges");
        let bits = |x: &[f64]| to_bits(x);
        for (a, b) in whole.variants.iter().zip(&merged.variants) {
            assert_eq!(
                a.values.iter().flat_map(|r| bits(r)).collect::<Vec<_>>(),
                b.values.iter().flat_map(|r| bits(r)).collect::<Vec<_>>()
            );
            assert!(a.latency == b.latency);
            assert_eq!(bits(&a.p99_ms), bits(&b.p99_ms));
            assert_eq!(bits(&a.in_flight), bits(&b.in_flight));
            assert_eq!(bits(&a.time_s), bits(&b.time_s));
        }
        assert_eq!(
            bits(&whole.metrics[6].estimates.iter().map(|e| e.mean).collect::<Vec<_>>()),
            bits(&merged.metrics[6].estimates.iter().map(|e| e.mean).collect::<Vec<_>>())
        );
        let short = merge(&v, opts, &extra, Vec::new()).unwrap_err().to_string();
        assert!(short.contains("0 run records for 6 runs"), "{short}");
    }

    #[test]
    fn too_many_or_no_variants_are_refused() {
        let opts = Options { replications: 2, base_seed: 1, jobs: 1 };
        let one = build(&[Strategy::Random]);
        let many: Vec<Variant> = (0..=MAX_VARIANTS).map(|_| one[0].clone()).collect();
        let none = Measures::BUILTIN;
        assert!(run(&many, opts, &none, &|| {}).unwrap_err().to_string().contains("compare takes 1 to 64 variants"));
        assert!(run(&[], opts, &none, &|| {}).is_err());
    }
}
