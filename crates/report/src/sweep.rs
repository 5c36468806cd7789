//! The report of `prodsim sweep`: `sweep.csv` (one row per grid point), a short printed
//! table, and one chart per metric (the six built in and each `--metric` key) with the mean and its 95% confidence band against the
//! first numeric parameter, one line per combination of the other parameters. All pure
//! functions of a [`Sweep`] and atomic writes; columns are documented in
//! `docs/compare-and-sweep.md`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::chart::{self, BandPoint, BandSeries, ChartError};
use super::csv_table::{Column, Table, finite};
use super::{ReportError, write_atomic};
use prodsim_lab::stats::Estimate;
use prodsim_lab::sweep::{Point, Sweep};
use prodsim_lab::{Measure, Metric};

/// Most grid points the printed table shows; `sweep.csv` has them all.
pub const MAX_TABLE_ROWS: usize = 100;

/// Reads one part of an estimate.
type EstimatePart = fn(&Estimate) -> f64;

/// The parts of each metric's estimate `sweep.csv` gives, with their column suffixes, in
/// column order.
const ESTIMATE_PARTS: [(&str, EstimatePart); 3] =
    [("mean", |e| e.mean), ("ci_low", |e| e.ci_low), ("ci_high", |e| e.ci_high)];

/// `sweep.csv`'s columns for `s`: one per parameter (its level's text), `n` (the fewest
/// replications with a value among the metrics), then mean, ci_low and ci_high per metric.
pub fn columns<'a, 'p>(s: &'a Sweep) -> Table<'a, &'p Point> {
    let mut columns: Vec<Column<'a, &'p Point>> = s
        .dims
        .iter()
        .enumerate()
        .map(|(d, dim)| Column::new(dim.key.as_str(), move |p: &&Point| dim.levels[p.levels[d]].text.clone()))
        .collect();
    columns.push(Column::new("n", |p: &&Point| p.estimates.iter().map(|e| e.n).min().unwrap_or(0).to_string()));
    for (m, metric) in s.metrics.iter().enumerate() {
        for (part, value) in ESTIMATE_PARTS {
            let name = format!("{}_{part}", metric.key());
            columns.push(Column::new(name, move |p: &&Point| finite(p.estimates.get(m).map_or(f64::NAN, value))));
        }
    }
    Table::new(columns)
}

/// `sweep.csv`: one row per grid point.
pub fn to_csv(s: &Sweep) -> String {
    columns(s).to_csv(&s.points)
}

fn pm(mean: f64, half: f64, scale: f64) -> String {
    if !mean.is_finite() {
        return "-".into();
    }
    let m = mean * scale;
    let h = half * scale;
    let digits = if m.abs() >= 100.0 { 0 } else { 2 };
    if h.is_finite() { format!("{m:.digits$} ±{h:.digits$}") } else { format!("{m:.digits$}") }
}

/// The table `prodsim sweep` prints: p50, p99, availability and each `--metric` key per
/// grid point.
pub fn table(s: &Sweep) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} points × {} replications (seeds derived from {}); mean ±95% CI half-width",
        s.scenario,
        s.points.len(),
        s.replications,
        s.base_seed
    );
    let width = s.points.iter().map(|p| p.label.chars().count()).max().unwrap_or(0).max(5);
    let extra: Vec<(usize, &str)> =
        s.metrics.iter().enumerate().filter(|(_, m)| m.builtin().is_none()).map(|(i, m)| (i, m.key())).collect();
    let _ = write!(out, "{:<width$}  {:>18}  {:>18}  {:>18}", "point", "p50 (ms)", "p99 (ms)", "availability (%)");
    for (_, key) in &extra {
        let _ = write!(out, "  {key:>18}");
    }
    out.push('\n');
    let idx = |m: Metric| Metric::ALL.iter().position(|x| *x == m).expect("in ALL");
    for p in s.points.iter().take(MAX_TABLE_ROWS) {
        let e = |i: usize| p.estimates.get(i).copied().unwrap_or(Estimate::EMPTY);
        let (p50, p99, av) = (e(idx(Metric::P50Ms)), e(idx(Metric::P99Ms)), e(idx(Metric::Availability)));
        let _ = write!(
            out,
            "{:<width$}  {:>18}  {:>18}  {:>18}",
            p.label,
            pm(p50.mean, p50.half_width(), 1.0),
            pm(p99.mean, p99.half_width(), 1.0),
            pm(av.mean, av.half_width(), 100.0)
        );
        for (i, key) in &extra {
            let w = key.chars().count().max(18);
            let _ = write!(out, "  {:>w$}", pm(e(*i).mean, e(*i).half_width(), 1.0));
        }
        out.push('\n');
    }
    if s.points.len() > MAX_TABLE_ROWS {
        let _ = writeln!(out, "… {} more points in sweep.csv", s.points.len() - MAX_TABLE_ROWS);
    }
    out
}

/// Writes `sweep.csv` into `dir` and returns its path.
pub fn write_files(s: &Sweep, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let csv = dir.join("sweep.csv");
    write_atomic(&csv, to_csv(s).as_bytes())?;
    Ok(vec![csv])
}

/// The dimension charts put on the x axis: the first whose values are all numbers.
pub fn x_dimension(s: &Sweep) -> Option<usize> {
    s.dims.iter().position(|d| d.levels.len() > 1 && d.levels.iter().all(|l| l.number.is_some()))
}

/// The last part of dimension `d`'s key (`workers` for `servers.workers`) when no other
/// dimension's key ends the same way, else the whole key: legends stay short.
fn short_key(s: &Sweep, d: usize) -> &str {
    let key = s.dims[d].key.as_str();
    let tail = key.rsplit('.').next().unwrap_or(key);
    let clash = s.dims.iter().enumerate().any(|(i, o)| i != d && o.key.rsplit('.').next() == Some(tail));
    if clash { key } else { tail }
}

/// One band series of the `mi`th metric of [`Sweep::metrics`] per combination of the
/// dimensions other than `x`, in grid order.
pub fn band_series(s: &Sweep, x: usize, mi: usize, scale: f64) -> Vec<BandSeries> {
    let m = s.metrics.get(mi).and_then(Measure::builtin);
    let mut series: Vec<(Vec<usize>, BandSeries)> = Vec::new();
    for p in &s.points {
        let others: Vec<usize> = p.levels.iter().enumerate().filter(|(d, _)| *d != x).map(|(_, &l)| l).collect();
        let pos = match series.iter().position(|(k, _)| *k == others) {
            Some(i) => i,
            None => {
                let name = s
                    .dims
                    .iter()
                    .zip(&p.levels)
                    .enumerate()
                    .filter(|(d, _)| *d != x)
                    .map(|(d, (dim, &l))| {
                        let text = &dim.levels[l].text;
                        if dim.key == "balancer.strategy" {
                            text.clone()
                        } else {
                            format!("{}={text}", short_key(s, d))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = if name.is_empty() { s.scenario.clone() } else { name };
                series.push((others, BandSeries { name, points: Vec::new() }));
                series.len() - 1
            }
        };
        let e = p.estimates.get(mi).copied().unwrap_or(Estimate::EMPTY);
        let xv = s.dims[x].levels[p.levels[x]].number.unwrap_or(f64::NAN);
        let point = if m == Some(Metric::Availability) {
            // 100 − availability, the interval flipped and kept within 0..=100 %.
            let c = |v: f64| ((1.0 - v) * scale).clamp(0.0, scale);
            BandPoint { x: xv, mean: c(e.mean), lo: c(e.ci_high), hi: c(e.ci_low) }
        } else if m == Some(Metric::RejectedShare) {
            let c = |v: f64| (v * scale).clamp(0.0, scale);
            BandPoint { x: xv, mean: c(e.mean), lo: c(e.ci_low), hi: c(e.ci_high) }
        } else {
            BandPoint { x: xv, mean: e.mean * scale, lo: e.ci_low * scale, hi: e.ci_high * scale }
        };
        series[pos].1.points.push(point);
    }
    series.into_iter().map(|(_, b)| b).collect()
}

/// The x axis label: the key, with its unit when the key has a well-known one.
fn x_label(key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    let unit = match last {
        "rate" => Some("req/s"),
        "count" if key.starts_with("servers") => Some("servers"),
        "workers" => Some("workers per server"),
        "queue_capacity" => Some("waiting requests per server"),
        "factor" => Some("× service time"),
        _ => None,
    };
    match unit {
        Some(u) => format!("{key} ({u})"),
        None => key.to_string(),
    }
}

/// File base name, y label and scale of each metric's chart.
pub fn chart_spec(m: Metric) -> (&'static str, &'static str, f64) {
    match m {
        Metric::MeanMs => ("mean_latency", "mean latency (ms)", 1.0),
        Metric::P50Ms => ("p50", "p50 latency (ms)", 1.0),
        Metric::P99Ms => ("p99", "p99 latency (ms)", 1.0),
        Metric::P999Ms => ("p999", "p99.9 latency (ms)", 1.0),
        // Charted as its complement: availability sits near 100% on an axis from zero.
        Metric::Availability => ("unavailable", "failed requests: 100 − availability (%)", 100.0),
        Metric::RejectedShare => ("rejected", "rejected share (%)", 100.0),
    }
}

/// File base name, y label and scale of any metric's chart: [`chart_spec`] for the six,
/// `metric-<key>` and the key itself for a `--metric` key.
pub fn measure_chart_spec(m: &Measure) -> (String, String, f64) {
    match m {
        Measure::Builtin(b) => {
            let (base, y_label, scale) = chart_spec(*b);
            (base.to_string(), y_label.to_string(), scale)
        }
        Measure::Summary(k) => (k.chart_stem(), k.key.clone(), 1.0),
    }
}

/// Writes one chart per metric into `dir` and returns the PNG and SVG paths; writes
/// nothing when no parameter is numeric.
pub fn write_charts(s: &Sweep, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let Some(x) = x_dimension(s) else { return Ok(Vec::new()) };
    let mut written = Vec::new();
    for (mi, m) in s.metrics.iter().enumerate() {
        let (base, y_label, scale) = measure_chart_spec(m);
        let series = band_series(s, x, mi, scale);
        // Latency spanning more than a factor of 20 (a sweep towards saturation) reads
        // better on a log axis.
        let values = series.iter().flat_map(|b| b.points.iter().map(|p| p.mean)).filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        // Only latencies go on a log axis: a `--metric` key may be a count near zero.
        let log_y = scale == 1.0 && m.builtin().is_some() && hi > 20.0 * lo;
        let what = if *m == Metric::Availability { "failed requests" } else { m.label() };
        let title =
            format!("{}: {what} against {} ({} replications, 95% CI)", s.scenario, s.dims[x].key, s.replications);
        let y_label = if log_y { format!("{y_label}, log scale") } else { y_label };
        let path = dir.join(base);
        chart::bands(&path, &title, &x_label(&s.dims[x].key), &y_label, log_y, &series)?;
        let files = chart::output_paths(&path);
        written.extend([files.png, files.svg]);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_lab::{Dimension, Level};

    fn level(text: &str) -> Level {
        Level { text: text.to_string(), number: None, assignments: Vec::new() }
    }

    fn estimate(mean: f64, n: usize) -> Estimate {
        Estimate { mean, ci_low: mean - 1.0, ci_high: mean + 1.0, n }
    }

    fn sweep() -> Sweep {
        let dims = vec![
            Dimension {
                key: "servers.service_time".into(),
                levels: vec![level("uniform(10ms, 30ms)"), level("exp(20ms)")],
            },
            Dimension { key: "balancer.strategy".into(), levels: vec![level("round_robin")] },
        ];
        let point = |d: usize, mean: f64| Point {
            levels: vec![d, 0],
            label: String::new(),
            estimates: (0..6).map(|m| estimate(if m == 5 { f64::NAN } else { mean }, 3 - m % 2)).collect(),
        };
        let metrics = Measure::list(&[]);
        Sweep {
            scenario: "s".into(),
            base_seed: 1,
            replications: 3,
            dims,
            metrics,
            points: vec![point(0, 1.5), point(1, 20.0)],
        }
    }

    #[test]
    fn every_row_has_one_field_per_column() {
        let s = sweep();
        let csv = to_csv(&s);
        let records = crate::csv_table::read_back(&csv);
        let (header, rows) = records.split_first().expect("a header");
        assert_eq!(header.iter().collect::<Vec<_>>(), columns(&s).names());
        assert_eq!(header.len(), 2 + 1 + 3 * Metric::ALL.len(), "{csv}");
        assert_eq!(rows.len(), 2);
        for row in rows {
            assert_eq!(row.len(), header.len(), "{row:?}");
        }
        assert_eq!(&rows[0][0], "uniform(10ms, 30ms)");
        assert_eq!(&rows[1][1], "round_robin");
    }

    #[test]
    fn levels_with_commas_are_quoted_and_undefined_estimates_empty() {
        let csv = to_csv(&sweep());
        let mut lines = csv.lines();
        let header = lines.next().expect("a header");
        assert!(header.starts_with(
            "servers.service_time,balancer.strategy,n,mean_ms_mean,mean_ms_ci_low,mean_ms_ci_high,p50_ms_mean,"
        ));
        assert!(header.ends_with(",rejected_share_mean,rejected_share_ci_low,rejected_share_ci_high"), "{header}");
        assert_eq!(
            lines.next(),
            Some(
                "\"uniform(10ms, 30ms)\",round_robin,2,1.5,0.5,2.5,1.5,0.5,2.5,1.5,0.5,2.5,1.5,0.5,2.5,1.5,0.5,2.5,,,"
            )
        );
        assert_eq!(lines.next(), Some("exp(20ms),round_robin,2,20,19,21,20,19,21,20,19,21,20,19,21,20,19,21,,,"));
        assert_eq!(lines.next(), None);
    }
}
