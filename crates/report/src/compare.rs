//! The report of `prodsim compare`: `compare.csv`, `compare.json`, the printed table and
//! four charts (`latency_cdf`, `p99_over_time`, `server_load`, `metrics`, plus
//! `availability`) and one per `--metric` key (`metric-<key>`), all pure functions of a [`Comparison`] and atomic writes. The columns
//! are documented in `docs/compare-and-sweep.md`.
//!
//! Variants keep the order given on the command line everywhere, so a variant has the same
//! colour in every chart.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::chart::{
    self, Bar, BarGroup, CdfPoint, CdfSeries, ChartError, Marker, MarkerKind, Panel, Series, Timeline, Window,
};
use super::csv_table::{Column, Table, finite};
use super::{ReportError, write_atomic};
use prodsim_kernel::units::{NS_PER_MS, ns_to_ms, ns_to_s};
use prodsim_lab::compare::{Comparison, LoadChange, MetricSummary, VariantResult};
use prodsim_lab::stats::{CONFIDENCE, Estimate, PairedTest};
use prodsim_lab::{Measure, Metric};

/// Most servers drawn one by one in `server_load`; larger pools are drawn as the
/// distribution of load over servers (min, quartiles, max).
pub const MAX_SERVERS_DRAWN: usize = 16;

/// Points per latency CDF curve.
const CDF_POINTS: usize = 240;

/// One line of `compare.csv`: one variant's estimate of one metric.
pub struct Line<'a> {
    /// The variant.
    pub variant: &'a VariantResult,
    /// The metric's estimates and tests over every variant.
    pub summary: &'a MetricSummary,
    /// The variant's index among the comparison's variants.
    pub index: usize,
}

impl Line<'_> {
    fn estimate(&self) -> Estimate {
        self.summary.estimates[self.index]
    }

    /// The paired test against the best variant; `None` for the best itself.
    fn vs_best(&self) -> Option<PairedTest> {
        self.summary.vs_best[self.index]
    }

    /// A number of the test against the best; empty for the best.
    fn vs_best_cell(&self, f: fn(&PairedTest) -> f64) -> String {
        self.vs_best().map_or(String::new(), |t| finite(f(&t)))
    }
}

/// `compare.csv`'s columns: each header name beside its cell.
pub fn columns<'a>() -> Table<'static, Line<'a>> {
    Table::new(vec![
        Column::new("variant", |l: &Line| l.variant.label.clone()),
        Column::new("metric", |l: &Line| l.summary.metric.key().to_string()),
        Column::new("mean", |l: &Line| finite(l.estimate().mean)),
        Column::new("ci_low", |l: &Line| finite(l.estimate().ci_low)),
        Column::new("ci_high", |l: &Line| finite(l.estimate().ci_high)),
        Column::new("n", |l: &Line| l.estimate().n.to_string()),
        Column::new("best", |l: &Line| (l.summary.best == Some(l.index)).to_string()),
        Column::new("diff_vs_best", |l: &Line| l.vs_best_cell(|t| t.mean_diff)),
        Column::new("diff_ci_low", |l: &Line| l.vs_best_cell(|t| t.ci_low)),
        Column::new("diff_ci_high", |l: &Line| l.vs_best_cell(|t| t.ci_high)),
        Column::new("p_value", |l: &Line| l.vs_best_cell(|t| t.p_value)),
        Column::new("significant_vs_best", |l: &Line| l.vs_best().is_some_and(|t| t.significant()).to_string()),
    ])
}

/// `compare.csv`: one row per variant and metric, metric by metric.
pub fn to_csv(c: &Comparison) -> String {
    let lines = c.metrics.iter().flat_map(|summary| {
        c.variants.iter().enumerate().map(move |(index, variant)| Line { variant, summary, index })
    });
    columns().to_csv(lines)
}

fn estimate_json(e: &Estimate) -> Value {
    json!({ "mean": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n })
}

fn test_json(t: &Option<PairedTest>) -> Value {
    match t {
        None => Value::Null,
        Some(t) => json!({
            "diff": t.mean_diff, "ci_low": t.ci_low, "ci_high": t.ci_high,
            "p_value": t.p_value, "significant": t.significant(),
        }),
    }
}

/// `compare.json`: the estimates and tests of `compare.csv`, plus every replication's value
/// (in seed order) for analysis elsewhere. Undefined numbers are `null`.
pub fn to_json(c: &Comparison) -> String {
    let variants: Vec<Value> = c
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut metrics = serde_json::Map::new();
            for (k, m) in c.metrics.iter().enumerate() {
                metrics.insert(
                    m.metric.key().to_string(),
                    json!({
                        "estimate": estimate_json(&m.estimates[i]),
                        "best": m.best == Some(i),
                        "vs_best": test_json(&m.vs_best[i]),
                        "replications": v.column(k),
                    }),
                );
            }
            json!({ "label": v.label, "metrics": metrics })
        })
        .collect();
    let doc = json!({
        "scenario": c.scenario,
        "base_seed": c.base_seed,
        "confidence": CONFIDENCE,
        "seeds": c.seeds,
        "variants": variants,
    });
    // A tree of plain numbers and strings always serialises.
    let mut s = serde_json::to_string_pretty(&doc).expect("json serialises");
    s.push('\n');
    s
}

/// A value with the precision a reader needs.
fn short(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_string();
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 || a == 0.0 {
        format!("{v:.3}")
    } else if a >= 1e-4 {
        // Three significant digits in plain notation: 0.000511.
        let decimals = (2 - a.log10().floor() as i32) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// Availability and shares as percentages, latencies and `--metric` keys as they are.
fn scaled(m: &Measure, v: f64) -> f64 {
    if matches!(m.builtin(), Some(Metric::Availability | Metric::RejectedShare)) { v * 100.0 } else { v }
}

fn unit_label(m: &Measure) -> &str {
    match m.builtin() {
        Some(Metric::Availability) => "availability (%)",
        Some(Metric::RejectedShare) => "rejected (%)",
        Some(_) | None => m.label(),
    }
}

/// The table `prodsim compare` prints: one block per metric, one line per variant with its
/// mean, 95% interval and difference from the best, `*` marking significant differences.
pub fn table(c: &Comparison) -> String {
    let mut s = String::new();
    let reps = c.seeds.len();
    let _ = writeln!(
        s,
        "{}: {} variants × {reps} replications (seeds derived from {}); mean and 95% CI (Student t)",
        c.scenario,
        c.variants.len(),
        c.base_seed
    );
    let width = c.variants.iter().map(|v| v.label.chars().count()).max().unwrap_or(0).clamp(8, 40);
    for summary in &c.metrics {
        let m = &summary.metric;
        let _ = writeln!(s, "\n{:<w$}  {:>10}  {:>21}  vs best", unit_label(m), "mean", "95% CI", w = width + 2);
        for (i, v) in c.variants.iter().enumerate() {
            let e = summary.estimates[i];
            let ci = format!("[{}, {}]", short(scaled(m, e.ci_low)), short(scaled(m, e.ci_high)));
            let vs = match (summary.best, summary.vs_best[i]) {
                (Some(b), _) if b == i => "best".to_string(),
                (_, Some(t)) if t.mean_diff == 0.0 && t.ci_low == 0.0 && t.ci_high == 0.0 => "same as best".to_string(),
                (_, Some(t)) => format!(
                    "{}{} [{}, {}]{}",
                    if t.mean_diff >= 0.0 { "+" } else { "" },
                    short(scaled(m, t.mean_diff)),
                    short(scaled(m, t.ci_low)),
                    short(scaled(m, t.ci_high)),
                    if t.significant() { " *" } else { "" }
                ),
                _ => "-".to_string(),
            };
            let _ = writeln!(
                s,
                "  {:<width$}  {:>10}  {ci:>21}  {vs}",
                truncate(&v.label, width),
                short(scaled(m, e.mean))
            );
        }
    }
    let _ = writeln!(
        s,
        "\n* significant at 5%: paired t-test against the best over replications that share seeds (no correction for multiple comparisons)"
    );
    s
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Writes `compare.csv` and `compare.json` into `dir` and returns their paths.
pub fn write_files(c: &Comparison, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let csv = dir.join("compare.csv");
    write_atomic(&csv, to_csv(c).as_bytes())?;
    let json = dir.join("compare.json");
    write_atomic(&json, to_json(c).as_bytes())?;
    Ok(vec![csv, json])
}

/// The latency CDF of one variant from its merged histogram, on log-spaced latencies.
pub fn cdf_points(v: &VariantResult) -> Vec<CdfPoint> {
    let h = &v.latency;
    if h.is_empty() {
        return Vec::new();
    }
    // From the 0.05th percentile: the few fastest requests would stretch the log axis
    // over decades nobody reads.
    let (lo_ns, hi_ns) = (h.value_at_quantile(0.0005).max(h.min_nz()).max(1), h.max().max(1));
    let (lo, hi) = (lo_ns as f64, hi_ns as f64);
    if hi <= lo {
        return vec![CdfPoint { latency_ms: ns_to_ms(lo_ns), fraction: 1.0 }];
    }
    (0..CDF_POINTS)
        .map(|i| {
            let ns = lo * (hi / lo).powf(i as f64 / (CDF_POINTS - 1) as f64);
            CdfPoint { latency_ms: ns / NS_PER_MS as f64, fraction: h.quantile_below(ns.round() as u64) }
        })
        .collect()
}

/// The p99-over-time timeline, or `None` when the variants' time series are not on one
/// time axis (different report intervals).
pub fn p99_timeline(c: &Comparison) -> Option<Timeline> {
    let longest = c.variants.iter().max_by_key(|v| v.time_s.len())?;
    let time_s = longest.time_s.clone();
    // The end of the last interval: its middle plus half an interval (the first middle).
    let time_s_end = time_s.last().copied().unwrap_or(0.0) + time_s.first().copied().unwrap_or(0.0);
    if c.variants.iter().any(|v| !time_s.starts_with(&v.time_s)) {
        return None;
    }
    let series = |f: fn(&VariantResult) -> &Vec<f64>| {
        c.variants.iter().map(|v| Series { name: v.label.clone(), values: f(v).clone() }).collect()
    };
    // Load changes and faults are drawn when every variant has the same ones.
    let first = &c.variants[0].load_changes;
    let markers = if c.variants.iter().all(|v| &v.load_changes == first) {
        first
            .iter()
            .map(|&LoadChange { at_s, rate }| Marker {
                at_s,
                label: format!("load → {} req/s", if rate.fract() == 0.0 { format!("{rate:.0}") } else { short(rate) }),
                kind: MarkerKind::Other,
            })
            .collect()
    } else {
        Vec::new()
    };
    Some(Timeline {
        title: format!("{}: p99 latency over time (mean of {} replications)", c.scenario, c.seeds.len()),
        time_s,
        panels: vec![
            Panel { y_label: "p99 latency per interval (ms)".into(), log_y: true, series: series(|v| &v.p99_ms) },
            Panel { y_label: "requests in flight".into(), log_y: false, series: series(|v| &v.in_flight) },
        ],
        shaded: fault_windows(c, time_s_end),
        markers,
    })
}

/// The fault windows shared by every variant, ending no later than `end_s`.
fn fault_windows(c: &Comparison, end_s: f64) -> Vec<Window> {
    let first = &c.variants[0].faults;
    if c.variants.iter().any(|v| &v.faults != first) {
        return Vec::new();
    }
    first
        .iter()
        .map(|f| Window {
            start_s: ns_to_s(f.start_ns),
            end_s: ns_to_s(f.end_ns).min(end_s),
            label: format!("{} {}", f.kind.name(), f.target_name.clone()),
        })
        .collect()
}

fn bar(label: &str, e: &Estimate, scale: f64) -> Bar {
    Bar { series: label.to_string(), mean: e.mean * scale, lo: e.ci_low * scale, hi: e.ci_high * scale }
}

/// Groups of the per-server load: one per server for small pools, else the distribution
/// over servers (min, quartiles, max of the per-server means).
pub fn server_load_groups(c: &Comparison) -> Vec<BarGroup> {
    let servers = c.variants.iter().map(|v| v.server_load.len()).max().unwrap_or(0);
    let estimates: Vec<Vec<Estimate>> = c
        .variants
        .iter()
        .map(|v| v.server_load.iter().map(|reps| prodsim_lab::stats::estimate(reps)).collect())
        .collect();
    if servers <= MAX_SERVERS_DRAWN {
        return (0..servers)
            .map(|s| BarGroup {
                metric: format!("server-{s}"),
                bars: c
                    .variants
                    .iter()
                    .zip(&estimates)
                    .filter_map(|(v, e)| e.get(s).map(|e| bar(&v.label, e, 1.0)))
                    .collect(),
            })
            .collect();
    }
    let names = ["min", "p25", "median", "p75", "max"];
    names
        .iter()
        .enumerate()
        .map(|(k, name)| BarGroup {
            metric: (*name).to_string(),
            bars: c
                .variants
                .iter()
                .zip(&estimates)
                .map(|(v, e)| {
                    let mut means: Vec<f64> = e.iter().map(|e| e.mean).filter(|m| m.is_finite()).collect();
                    means.sort_by(f64::total_cmp);
                    let q = if means.is_empty() {
                        f64::NAN
                    } else {
                        means[((means.len() - 1) as f64 * k as f64 / 4.0).round() as usize]
                    };
                    Bar { series: v.label.clone(), mean: q, lo: f64::NAN, hi: f64::NAN }
                })
                .collect(),
        })
        .collect()
}

fn groups(c: &Comparison, metrics: &[(Metric, &str, f64)]) -> Vec<BarGroup> {
    metrics
        .iter()
        .map(|&(m, name, scale)| {
            let summary: &MetricSummary = c.metrics.iter().find(|s| s.metric == m).expect("every metric is summarised");
            BarGroup {
                metric: name.to_string(),
                bars: c.variants.iter().zip(&summary.estimates).map(|(v, e)| bar(&v.label, e, scale)).collect(),
            }
        })
        .collect()
}

/// Writes every chart into `dir` and returns the PNG and SVG paths.
pub fn write_charts(c: &Comparison, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let mut written = Vec::new();
    let mut out = |base: &str| {
        let files = chart::output_paths(&dir.join(base));
        written.push(files.png);
        written.push(files.svg);
        dir.join(base)
    };
    let reps = c.seeds.len();
    let cdf: Vec<CdfSeries> =
        c.variants.iter().map(|v| CdfSeries { name: v.label.clone(), points: cdf_points(v) }).collect();
    let title = format!("{}: latency CDF ({reps} replications merged)", c.scenario);
    chart::cdf(&out("latency_cdf"), &title, "latency (ms, log scale)", &cdf)?;
    if let Some(t) = p99_timeline(c) {
        chart::timeline(&out("p99_over_time"), &t)?;
    }
    for ((title, y_label, groups), base) in bar_charts(c).into_iter().zip(["server_load", "metrics", "availability"]) {
        chart::bars(&out(base), &title, &y_label, &groups)?;
    }
    for chart in extra_charts(c) {
        chart::bars(&out(&chart.stem), &chart.title, &chart.y_label, &chart.groups)?;
    }
    Ok(written)
}

/// The bar chart of one `--metric` key: one bar per variant with its 95% interval.
pub struct ExtraChart {
    /// File name without extension (`metric-cost-total`).
    pub stem: String,
    /// The chart's title.
    pub title: String,
    /// The value axis' label: the key.
    pub y_label: String,
    /// One group: the key, one bar per variant.
    pub groups: Vec<BarGroup>,
}

/// One chart per `--metric` key, in the order given; `report.html` draws the same ones.
pub fn extra_charts(c: &Comparison) -> Vec<ExtraChart> {
    let reps = c.seeds.len();
    c.metrics
        .iter()
        .filter_map(|summary| match &summary.metric {
            Measure::Builtin(_) => None,
            Measure::Summary(m) => Some(ExtraChart {
                stem: m.chart_stem(),
                title: format!(
                    "{}: {}, mean of {reps} replications with 95% CI ({} is better)",
                    c.scenario,
                    m.key,
                    if m.higher_is_better { "higher" } else { "lower" }
                ),
                y_label: m.key.clone(),
                groups: vec![BarGroup {
                    metric: m.key.clone(),
                    bars: c.variants.iter().zip(&summary.estimates).map(|(v, e)| bar(&v.label, e, 1.0)).collect(),
                }],
            }),
        })
        .collect()
}

/// The three bar charts (`server_load`, `metrics`, `availability`): title, value label and
/// groups of each; `report.html` draws the same ones.
pub fn bar_charts(c: &Comparison) -> Vec<(String, String, Vec<BarGroup>)> {
    let reps = c.seeds.len();
    let servers = c.variants.iter().map(|v| v.server_load.len()).max().unwrap_or(0);
    let load_title = if servers <= MAX_SERVERS_DRAWN {
        format!("{}: requests at each server (time-averaged, 95% CI)", c.scenario)
    } else {
        format!("{}: requests per server across {servers} servers (time-averaged)", c.scenario)
    };
    let latency = [
        (Metric::MeanMs, "mean", 1.0),
        (Metric::P50Ms, "p50", 1.0),
        (Metric::P99Ms, "p99", 1.0),
        (Metric::P999Ms, "p99.9", 1.0),
    ];
    vec![
        (load_title, "requests in service + waiting".into(), server_load_groups(c)),
        (
            format!("{}: latency, mean of {reps} replications with 95% CI", c.scenario),
            "latency (ms)".into(),
            groups(c, &latency),
        ),
        (
            format!("{}: failed requests, mean of {reps} replications with 95% CI", c.scenario),
            "share of finished requests (%)".into(),
            failure_groups(c),
        ),
    ]
}

/// A failed share from one replication's (availability, rejected share).
type Share = fn(f64, f64) -> f64;

/// Failed shares in percent, each estimated over replications: unavailable (100 −
/// availability), rejected, and timed out (the rest of the unavailable).
fn failure_groups(c: &Comparison) -> Vec<BarGroup> {
    let per_rep = |v: &VariantResult, f: Share| -> Vec<f64> {
        let av = v.metric_values(Metric::Availability);
        let rej = v.metric_values(Metric::RejectedShare);
        av.iter().zip(&rej).map(|(a, r)| f(*a, *r) * 100.0).collect()
    };
    let kinds: [(&str, Share); 3] = [
        ("unavailable (rejected + timed out + failed)", |a, _| 1.0 - a),
        ("rejected", |_, r| r),
        ("timed out", |a, r| (1.0 - a - r).max(0.0)),
    ];
    kinds
        .iter()
        .map(|(name, f)| BarGroup {
            metric: (*name).to_string(),
            bars: c
                .variants
                .iter()
                .map(|v| {
                    // A share cannot leave 0..100 %, whatever the interval says.
                    let mut b = bar(&v.label, &prodsim_lab::stats::estimate(&per_rep(v, *f)), 1.0);
                    b.lo = b.lo.clamp(0.0, 100.0);
                    b.hi = b.hi.clamp(0.0, 100.0);
                    b
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_lab::Options;

    /// Two variants whose labels hold a comma, two replications each.
    fn comparison() -> Comparison {
        let text = "[scenario]\nname = \"c\"\nduration = \"20s\"\nreport_interval = \"10s\"\n\
                    [[workload]]\nname = \"w\"\nrate = 40\n[servers]\ncount = 2\nworkers = 2\n\
                    service_time = \"exp(5ms)\"\n";
        let dims =
            [prodsim_lab::sweep::parse_param("servers.service_time=uniform(2ms, 8ms),exp(5ms)").expect("parses")];
        let variants = prodsim_lab::variants(text, Path::new("c.toml"), &[], &dims, 2).expect("the variants are valid");
        let opts = Options { replications: 2, base_seed: 1, jobs: 1 };
        prodsim_lab::compare::run(&variants, opts, &prodsim_lab::Measures::BUILTIN, &|| {}).expect("runs")
    }

    #[test]
    fn every_row_has_one_field_per_column() {
        let c = comparison();
        let csv = to_csv(&c);
        let records = crate::csv_table::read_back(&csv);
        let (header, rows) = records.split_first().expect("a header");
        assert_eq!(header.iter().collect::<Vec<_>>(), columns().names());
        let doc = include_str!("../../../docs/compare-and-sweep.md");
        assert_eq!(crate::csv_table::undocumented(&columns().names(), doc), Vec::<&str>::new());
        assert_eq!(
            header.iter().collect::<Vec<_>>().join(","),
            "variant,metric,mean,ci_low,ci_high,n,best,diff_vs_best,diff_ci_low,diff_ci_high,p_value,significant_vs_best",
            "the columns docs/compare-and-sweep.md documents"
        );
        assert_eq!(rows.len(), 2 * Metric::ALL.len());
        for row in rows {
            assert_eq!(row.len(), header.len(), "{row:?}");
        }
        assert_eq!(&rows[0][0], "servers.service_time=uniform(2ms, 8ms)");
        assert_eq!(&rows[1][0], "servers.service_time=exp(5ms)");
        assert!(
            csv.lines().nth(1).is_some_and(|l| l.starts_with("\"servers.service_time=uniform(2ms, 8ms)\",mean_ms,")),
            "{csv}"
        );
        // The best of a metric has no test against itself: empty cells, not "NaN".
        let best = rows.iter().find(|r| &r[6] == "true").expect("a best variant");
        assert!((7..=10).all(|i| best[i].is_empty()) && &best[11] == "false", "{best:?}");
    }
}
