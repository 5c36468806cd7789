//! The report of `prodsim blast-radius` (docs/blast-radius.md): the ranked table it prints,
//! `blast-radius.json`, the chart of availability lost (PNG and SVG) and its section of
//! `report.html`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prodsim_lab::blast::{BlastRadius, Harm};
use prodsim_lab::stats::Estimate;
use serde::Serialize;

use crate::ReportError;
use crate::atomic::write_atomic;
use crate::chart::{Bar, BarGroup, ChartError, bars};
use crate::estimate_json::{Interval, interval};

/// Suspects drawn in the chart (the worst ones): beyond a dozen the bars are unreadable.
const CHART_SUSPECTS: usize = 12;

/// One suspect in `blast-radius.json`.
#[derive(Serialize)]
struct SuspectJson<'a> {
    rank: usize,
    suspect: &'a str,
    kind: &'a str,
    target: &'a str,
    single_point_of_failure: bool,
    availability_lost_pp: Interval,
    window_availability: Interval,
    failed_requests: Interval,
    failed_per_class: Vec<(&'a str, Interval)>,
    revenue_lost: Interval,
    payments_lost: Interval,
    payments_delayed: Interval,
    budget_burned: Option<Interval>,
}

/// `blast-radius.json` (docs/blast-radius.md).
#[derive(Serialize)]
struct Json<'a> {
    scenario: &'a str,
    replications: u32,
    base_seed: u64,
    objective: f64,
    objective_from_slo: bool,
    fault_start_s: f64,
    fault_duration_s: f64,
    baseline_availability: Interval,
    single_points_of_failure: Vec<&'a str>,
    suspects: Vec<SuspectJson<'a>>,
}

/// The JSON text of a blast radius.
pub fn to_json(b: &BlastRadius) -> String {
    let suspects = b
        .harms
        .iter()
        .enumerate()
        .map(|(i, h)| SuspectJson {
            rank: i + 1,
            suspect: &h.suspect.label,
            kind: h.suspect.fault.kind.name(),
            target: &h.suspect.fault.target_name,
            single_point_of_failure: h.single_point_of_failure,
            availability_lost_pp: interval(&h.availability_lost_pp),
            window_availability: interval(&h.window_availability),
            failed_requests: interval(&h.failed_requests),
            failed_per_class: b
                .classes
                .iter()
                .map(String::as_str)
                .zip(h.failed_per_class.iter().map(interval))
                .collect(),
            revenue_lost: interval(&h.revenue_lost),
            payments_lost: interval(&h.payments_lost),
            payments_delayed: interval(&h.payments_delayed),
            budget_burned: h.budget_burned.as_ref().map(interval),
        })
        .collect();
    let (start, end) = b.window_ns;
    let json = Json {
        scenario: &b.scenario,
        replications: b.replications,
        base_seed: b.base_seed,
        objective: b.objective,
        objective_from_slo: b.objective_from_slo,
        fault_start_s: start as f64 / 1e9,
        fault_duration_s: (end - start) as f64 / 1e9,
        baseline_availability: interval(&b.baseline_availability),
        single_points_of_failure: b
            .harms
            .iter()
            .filter(|h| h.single_point_of_failure)
            .map(|h| h.suspect.label.as_str())
            .collect(),
        suspects,
    };
    // Plain structs of numbers and strings always serialise.
    let mut text = serde_json::to_string_pretty(&json).expect("blast radius serialises");
    text.push('\n');
    text
}

/// A mean with its interval's half-width, e.g. `12.3 ± 0.4`; `0` for an exact zero (a
/// fault that changed nothing), `—` when undefined.
fn pm(e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "—".into();
    }
    let half = e.half_width();
    if e.mean == 0.0 && (half == 0.0 || !half.is_finite()) {
        return "0".into();
    }
    let digits = if e.mean.abs() >= 100.0 {
        0
    } else if e.mean.abs() >= 1.0 {
        2
    } else {
        4
    };
    if half.is_finite() { format!("{:.digits$} ± {half:.digits$}", e.mean) } else { format!("{:.digits$}", e.mean) }
}

/// A share as a percentage with three decimals, e.g. `99.826%`, with its interval.
fn percent(e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "—".into();
    }
    let half = e.half_width();
    if half.is_finite() {
        format!("{:.3}% ± {:.3}", e.mean * 100.0, half * 100.0)
    } else {
        format!("{:.3}%", e.mean * 100.0)
    }
}

/// The table `prodsim blast-radius` prints: the suspects, the worst first.
pub fn table(b: &BlastRadius) -> String {
    let mut s = String::new();
    let objective = if b.objective_from_slo { "the [slo] objective" } else { "99.9%, no [slo]" };
    let _ = writeln!(
        s,
        "blast radius of {}: {} suspects, faults at {}, {} replications (base seed {})",
        b.scenario,
        b.harms.len(),
        b.window_text(),
        b.replications,
        b.base_seed
    );
    let _ = writeln!(s, "baseline availability {} (no faults)\n", percent(&b.baseline_availability));
    let _ = writeln!(
        s,
        "{:<4} {:<34} {:>16} {:>20} {:>16} {:>14} {:>10}",
        "rank", "suspect", "avail. lost (pp)", "avail. in fault", "failed requests", "revenue lost", "payments"
    );
    for (i, h) in b.harms.iter().enumerate() {
        let spof = if h.single_point_of_failure { "  SPOF" } else { "" };
        let payments = h.payments_lost.mean + h.payments_delayed.mean;
        let _ = writeln!(
            s,
            "{:<4} {:<34} {:>16} {:>20} {:>16} {:>14} {:>10}{spof}",
            i + 1,
            h.suspect.label,
            pm(&h.availability_lost_pp),
            percent(&h.window_availability),
            pm(&h.failed_requests),
            pm(&h.revenue_lost),
            if payments.is_finite() { format!("{payments:.0}") } else { "—".into() },
        );
    }
    let spofs: Vec<&str> = spofs(b);
    let _ = writeln!(
        s,
        "\nsingle points of failure (availability during the fault below {:.3}%, {objective}): {}",
        b.objective * 100.0,
        if spofs.is_empty() { "none".to_string() } else { spofs.join(", ") }
    );
    s.push_str("± is the 95% interval of the paired differences; payments = lost + still queued at the end\n");
    s
}

fn spofs(b: &BlastRadius) -> Vec<&str> {
    b.harms.iter().filter(|h| h.single_point_of_failure).map(|h| h.suspect.label.as_str()).collect()
}

/// Writes `blast-radius.json` into `dir`.
pub fn write_files(b: &BlastRadius, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    crate::atomic::ensure_dir(dir)?;
    let json = dir.join("blast-radius.json");
    write_atomic(&json, to_json(b).as_bytes())?;
    Ok(vec![json])
}

/// The bars of the chart: availability lost per suspect (the worst first), with intervals.
pub fn bar_group(b: &BlastRadius) -> BarGroup {
    let bar = |h: &Harm| Bar {
        series: h.suspect.label.clone(),
        mean: h.availability_lost_pp.mean,
        lo: h.availability_lost_pp.ci_low,
        hi: h.availability_lost_pp.ci_high,
    };
    BarGroup {
        metric: "availability lost (percentage points)".into(),
        bars: b.harms.iter().take(CHART_SUSPECTS).map(bar).collect(),
    }
}

/// Writes `blast-radius.png` and `.svg` into `dir`.
pub fn write_chart(b: &BlastRadius, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let base = dir.join("blast-radius");
    let title = format!("{}: availability lost per fault ({})", b.scenario, b.window_text());
    bars(&base, &title, "percentage points", &[bar_group(b)])?;
    Ok(vec![base.with_extension("png"), base.with_extension("svg")])
}
