//! The report of `prodsim capacity` (docs/capacity.md): the table of every configuration
//! evaluated and the answer line it prints, `capacity.json`, and the charts of the frontier
//! it explored (the share of replications meeting, and each objective's metric, against
//! the bisected value, with the objective's line and the chosen point).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prodsim_lab::capacity::slo::{Objective, SloMetric};
use prodsim_lab::capacity::{Capacity, Evaluation};
use prodsim_lab::stats::Estimate;
use serde::Serialize;

use crate::ReportError;
use crate::atomic::write_atomic;
use crate::chart::{BandPoint, BandSeries, ChartError, bands};
use crate::estimate_json::{Interval, interval};

#[derive(Serialize)]
struct ObjectiveJson {
    objective: String,
    metric: &'static str,
    op: &'static str,
    threshold: f64,
}

#[derive(Serialize)]
struct EstimateJson {
    metric: &'static str,
    met: u32,
    #[serde(flatten)]
    estimate: Interval,
}

#[derive(Serialize)]
struct EvaluationJson<'a> {
    configuration: &'a str,
    values: Vec<(&'a str, &'a str)>,
    round: usize,
    met: u32,
    meets: bool,
    objectives: Vec<EstimateJson>,
    cost_per_month: Interval,
}

#[derive(Serialize)]
struct Answer<'a> {
    configuration: &'a str,
    values: Vec<(&'a str, &'a str)>,
    met: u32,
    cost_per_month: Option<f64>,
}

#[derive(Serialize)]
struct NotMonotone<'a> {
    met: &'a str,
    failed: &'a str,
}

/// `capacity.json` (docs/capacity.md).
#[derive(Serialize)]
struct Json<'a> {
    scenario: &'a str,
    replications: u32,
    base_seed: u64,
    confidence: f64,
    required_replications: u32,
    objectives: Vec<ObjectiveJson>,
    dimensions: Vec<(&'a str, Vec<&'a str>)>,
    bisected: Option<&'a str>,
    priced: bool,
    configurations: usize,
    evaluated: usize,
    monotone: bool,
    not_monotone: Vec<NotMonotone<'a>>,
    cheapest: Option<Answer<'a>>,
    closest: Option<Answer<'a>>,
    evaluations: Vec<EvaluationJson<'a>>,
}

/// The configuration's `(key, value)` pairs.
fn values<'a>(c: &'a Capacity, e: &Evaluation) -> Vec<(&'a str, &'a str)> {
    c.dims.iter().zip(&e.levels).map(|(d, &l)| (d.key.as_str(), d.levels[l].text.as_str())).collect()
}

/// The evaluations in the order of their values (the frontier), not of the search.
pub fn by_values(c: &Capacity) -> Vec<&Evaluation> {
    let mut out: Vec<&Evaluation> = c.evaluations.iter().collect();
    out.sort_by(|a, b| a.levels.cmp(&b.levels));
    out
}

/// The JSON text of a capacity search.
pub fn to_json(c: &Capacity) -> String {
    let answer = |i: Option<usize>| {
        i.map(|i| {
            let e = &c.evaluations[i];
            Answer {
                configuration: &e.label,
                values: values(c, e),
                met: e.met,
                cost_per_month: (c.priced && e.cost_per_month.mean.is_finite()).then_some(e.cost_per_month.mean),
            }
        })
    };
    let json = Json {
        scenario: &c.scenario,
        replications: c.replications,
        base_seed: c.base_seed,
        confidence: c.confidence,
        required_replications: c.required,
        objectives: c
            .objectives
            .iter()
            .map(|o| ObjectiveJson {
                objective: o.to_string(),
                metric: o.metric.key(),
                op: o.op.symbol(),
                threshold: o.threshold,
            })
            .collect(),
        dimensions: c
            .dims
            .iter()
            .map(|d| (d.key.as_str(), d.levels.iter().map(|l| l.text.as_str()).collect()))
            .collect(),
        bisected: c.bisected.map(|b| c.dims[b].key.as_str()),
        priced: c.priced,
        configurations: c.configurations,
        evaluated: c.evaluations.len(),
        monotone: !c.not_monotone(),
        not_monotone: c
            .lines
            .iter()
            .filter_map(|l| l.not_monotone.as_ref())
            .map(|(met, failed)| NotMonotone { met, failed })
            .collect(),
        cheapest: answer(c.cheapest),
        closest: answer(c.closest),
        evaluations: by_values(c)
            .into_iter()
            .map(|e| EvaluationJson {
                configuration: &e.label,
                values: values(c, e),
                round: e.round,
                met: e.met,
                meets: e.meets,
                objectives: c
                    .objectives
                    .iter()
                    .zip(&e.estimates)
                    .zip(&e.met_per_objective)
                    .map(|((o, est), &met)| EstimateJson { metric: o.metric.key(), met, estimate: interval(est) })
                    .collect(),
                cost_per_month: interval(&e.cost_per_month),
            })
            .collect(),
    };
    // Plain structs of numbers and strings always serialise.
    let mut text = serde_json::to_string_pretty(&json).expect("capacity serialises");
    text.push('\n');
    text
}

/// A money amount with thousands separators, e.g. `$1,234` (cents below 100).
pub fn money(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let digits = if v.abs() < 100.0 { 2 } else { 0 };
    let text = format!("{:.digits$}", v.abs());
    let (int, frac) = text.split_once('.').map_or((text.as_str(), ""), |(i, f)| (i, f));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if frac.is_empty() { format!("{sign}${grouped}") } else { format!("{sign}${grouped}.{frac}") }
}

/// An objective's estimate as text: ms for latencies, a percentage for shares.
fn value_text(metric: SloMetric, e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "—".into();
    }
    let half = e.half_width();
    if metric.is_latency() {
        let d = if e.mean.abs() >= 100.0 { 0 } else { 1 };
        if half.is_finite() { format!("{:.d$} ± {half:.d$}", e.mean) } else { format!("{:.d$}", e.mean) }
    } else if half.is_finite() {
        format!("{:.3}% ± {:.3}", e.mean * 100.0, half * 100.0)
    } else {
        format!("{:.3}%", e.mean * 100.0)
    }
}

/// The rule a configuration is judged by, as a sentence.
pub fn rule(c: &Capacity) -> String {
    format!(
        "a configuration meets when at least {} of {} replications (confidence {}%) met every objective",
        c.required,
        c.replications,
        c.confidence * 100.0
    )
}

/// The answer line: the cheapest configuration that meets, or the closest when none does.
pub fn answer(c: &Capacity) -> String {
    let cost = |e: &Evaluation| {
        if c.priced { format!(", {}/month", money(e.cost_per_month.mean)) } else { String::new() }
    };
    match (c.cheapest, c.closest) {
        (Some(i), _) => {
            let e = &c.evaluations[i];
            format!("cheapest: {}{}; met in {}/{} replications", e.label, cost(e), e.met, c.replications)
        }
        (None, Some(i)) => {
            let e = &c.evaluations[i];
            format!(
                "no configuration in the range meets the SLO; closest: {}{} met in {}/{} replications (needs {})",
                e.label,
                cost(e),
                e.met,
                c.replications,
                c.required
            )
        }
        (None, None) => "no configuration was evaluated".to_string(),
    }
}

/// How the search went, as sentences: what was bisected, how many configurations it
/// evaluated, where it was not monotone, how cost was ranked.
pub fn notes(c: &Capacity) -> Vec<String> {
    let mut out = Vec::new();
    out.push(match c.bisected {
        Some(b) => format!(
            "bisected {} ({} line{}): {} of {} configurations evaluated",
            c.dims[b].key,
            c.lines.len(),
            if c.lines.len() == 1 { "" } else { "s" },
            c.evaluations.len(),
            c.configurations
        ),
        None => format!("no --vary has numeric values to bisect: all {} configurations evaluated", c.configurations),
    });
    for (met, failed) in c.lines.iter().filter_map(|l| l.not_monotone.as_ref()) {
        out.push(format!("not monotone: {met} met but {failed} failed; scanned the rest of that line"));
    }
    if !c.priced {
        out.push("the scenario has no prices: ranked by the varied values (smaller is cheaper)".into());
    } else {
        out.push("cost/month: the run's cost scaled to 30 days (assumes the run's traffic is representative)".into());
    }
    out
}

/// The table `prodsim capacity` prints: every configuration evaluated, in value order,
/// then the answer.
pub fn table(c: &Capacity) -> String {
    let mut s = String::new();
    let slo: Vec<String> = c.objectives.iter().map(Objective::to_string).collect();
    let _ = writeln!(
        s,
        "capacity of {}: SLO {}; {} replications per configuration (base seed {})",
        c.scenario,
        slo.join(", "),
        c.replications,
        c.base_seed
    );
    let _ = writeln!(s, "{}\n", rule(c));
    let width = c.evaluations.iter().map(|e| e.label.chars().count()).max().unwrap_or(0).max(13);
    let _ = write!(s, "{:<width$}  {:>5}  {:>7}", "configuration", "round", "met");
    for o in &c.objectives {
        let _ = write!(s, "  {:>20}", o.to_string());
    }
    let _ = writeln!(s, "  {:>12}  verdict", "cost/month");
    for e in by_values(c) {
        let _ = write!(s, "{:<width$}  {:>5}  {:>7}", e.label, e.round + 1, format!("{}/{}", e.met, c.replications));
        for (o, est) in c.objectives.iter().zip(&e.estimates) {
            let _ = write!(s, "  {:>20}", value_text(o.metric, est));
        }
        let cost = if c.priced { money(e.cost_per_month.mean) } else { "—".into() };
        let verdict = if e.meets { "meets" } else { "fails" };
        let chosen = if Some(e) == c.cheapest.map(|i| &c.evaluations[i]) { "  <- cheapest" } else { "" };
        let _ = writeln!(s, "  {cost:>12}  {verdict}{chosen}");
    }
    s.push('\n');
    for n in notes(c) {
        let _ = writeln!(s, "{n}");
    }
    s.push_str("± is the 95% interval over the replications; latencies in ms\n\n");
    let _ = writeln!(s, "{}", answer(c));
    s
}

/// Writes `capacity.json` into `dir`.
pub fn write_files(c: &Capacity, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    crate::atomic::ensure_dir(dir)?;
    let json = dir.join("capacity.json");
    write_atomic(&json, to_json(c).as_bytes())?;
    Ok(vec![json])
}

/// What a chart plots, and the objective's line on it.
pub struct ChartSpec {
    /// File stem and HTML key, e.g. `capacity` or `capacity-p99_ms`.
    pub key: String,
    /// The y axis' label.
    pub y_label: String,
    /// Whether the y axis is logarithmic.
    pub log_y: bool,
    /// The objective's line (or the confidence's), in plotted units.
    pub line: f64,
    /// The line's legend name.
    pub line_name: String,
    /// One series per line of the search.
    pub series: Vec<BandSeries>,
    /// The chosen point (the cheapest, or the closest), in plotted units.
    pub chosen: Option<(f64, f64)>,
}

/// The share of replications meeting, then each objective's metric (latencies in ms on a
/// log axis, shares as their complement on a log axis), against the bisected value; none
/// without a numeric dimension.
pub fn chart_specs(c: &Capacity) -> Vec<ChartSpec> {
    let Some(b) = c.bisected else { return Vec::new() };
    let reps = f64::from(c.replications);
    let mut out = vec![spec(
        c,
        b,
        "capacity".into(),
        "share of replications meeting every objective".into(),
        false,
        c.confidence,
        format!("confidence {}%", c.confidence * 100.0),
        &|e: &Evaluation| {
            let v = f64::from(e.met) / reps;
            (v, f64::NAN, f64::NAN)
        },
    )];
    for (k, o) in c.objectives.iter().enumerate() {
        let (y_label, flip) = match o.metric {
            SloMetric::P50 | SloMetric::P90 | SloMetric::P99 | SloMetric::P999 | SloMetric::Mean => {
                (format!("{} latency (ms, log)", o.metric.name()), false)
            }
            SloMetric::Availability => ("unavailability = 1 − availability (log)".to_string(), true),
            SloMetric::RejectedShare => ("rejected share (log)".to_string(), false),
        };
        let tr = move |v: f64| if flip { 1.0 - v } else { v };
        let line = tr(o.threshold);
        out.push(spec(
            c,
            b,
            format!("capacity-{}", o.metric.key()),
            y_label,
            true,
            line,
            format!("objective {o}"),
            &|e: &Evaluation| {
                let est = &e.estimates[k];
                (tr(est.mean), tr(est.ci_low), tr(est.ci_high))
            },
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn spec(
    c: &Capacity,
    b: usize,
    key: String,
    y_label: String,
    log_y: bool,
    line: f64,
    line_name: String,
    value: &dyn Fn(&Evaluation) -> (f64, f64, f64),
) -> ChartSpec {
    let x_of = |e: &Evaluation| c.dims[b].levels[e.levels[b]].number.unwrap_or(f64::NAN);
    let series = c
        .lines
        .iter()
        .map(|l| {
            let others = |e: &Evaluation| {
                e.levels.iter().enumerate().filter(|(d, _)| *d != b).map(|(_, &v)| v).eq(l.others.iter().copied())
            };
            let name = if l.others.is_empty() {
                c.dims[b].key.clone()
            } else {
                let parts = c.dims.iter().enumerate().filter(|(d, _)| *d != b).zip(&l.others);
                parts.map(|((_, d), &v)| format!("{}={}", d.key, d.levels[v].text)).collect::<Vec<_>>().join(" ")
            };
            let points = by_values(c)
                .into_iter()
                .filter(|e| others(e))
                .map(|e| {
                    let (mean, lo, hi) = value(e);
                    BandPoint { x: x_of(e), mean, lo, hi }
                })
                .collect();
            BandSeries { name, points }
        })
        .collect();
    let chosen = c.chosen().map(|e| (x_of(e), value(e).0));
    ChartSpec { key, y_label, log_y, line, line_name, series, chosen }
}

/// Writes `capacity.png`/`.svg` and one chart per objective into `dir`.
pub fn write_charts(c: &Capacity, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let Some(b) = c.bisected else { return Ok(Vec::new()) };
    let xs: Vec<f64> = c.dims[b].levels.iter().filter_map(|l| l.number).collect();
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, z), &x| (a.min(x), z.max(x)));
    let mut out = Vec::new();
    for s in chart_specs(c) {
        let mut series = s.series.clone();
        series.push(BandSeries {
            name: s.line_name.clone(),
            points: [lo, hi].iter().map(|&x| BandPoint { x, mean: s.line, lo: f64::NAN, hi: f64::NAN }).collect(),
        });
        if let Some((x, y)) = s.chosen {
            let name = if c.cheapest.is_some() { "cheapest" } else { "closest" };
            series.push(BandSeries {
                name: name.into(),
                points: vec![BandPoint { x, mean: y, lo: f64::NAN, hi: f64::NAN }],
            });
        }
        let base = dir.join(&s.key);
        let title = format!("{}: {} against {}", c.scenario, s.y_label, c.dims[b].key);
        bands(&base, &title, &c.dims[b].key, &s.y_label, s.log_y, &series)?;
        out.extend([base.with_extension("png"), base.with_extension("svg")]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_groups_thousands_and_keeps_cents_below_a_hundred() {
        assert_eq!(money(1234.4), "$1,234");
        assert_eq!(money(792.0), "$792");
        assert_eq!(money(1_234_567.0), "$1,234,567");
        assert_eq!(money(12.5), "$12.50");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(money(f64::NAN), "—");
    }
}
