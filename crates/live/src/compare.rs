//! `prodsim live --compare`: the live run beside the simulation of the same scenario and
//! seed, row by row, each row with its documented tolerance (`docs/live.md`).
//!
//! Both runs see the same requests: the load generator draws arrivals, keys, classes and
//! work from the simulation's own streams. The differences left are what reality adds
//! (loopback, the scheduler, timer lateness), which is what the comparison is for.

use std::fmt::Write;

use prodsim_model::Outcome;

use crate::LiveOutcome;

/// How far live may be from simulated for a row to pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// A share of the simulated value (0.05: within 5%).
    Relative(f64),
    /// An absolute difference in the row's unit (availability: 0.01 is 1 percentage point).
    Absolute(f64),
}

impl Tolerance {
    fn allows(self, live: f64, sim: f64) -> bool {
        let diff = (live - sim).abs();
        match self {
            Tolerance::Relative(r) => diff <= r * sim.abs() + 1e-12,
            Tolerance::Absolute(a) => diff <= a + 1e-12,
        }
    }

    fn render(self) -> String {
        match self {
            Tolerance::Relative(r) => format!("±{}%", r * 100.0),
            Tolerance::Absolute(a) => format!("±{a}"),
        }
    }
}

/// One compared figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What it is, with its unit (`latency_ms.mean`, `wait.probability`, ...): the
    /// summary.json path of the figure.
    pub name: String,
    /// Measured live (`None`: nothing to measure, e.g. no request completed).
    pub live: Option<f64>,
    /// Simulated.
    pub simulated: Option<f64>,
    /// The row's tolerance.
    pub tolerance: Tolerance,
}

impl Row {
    /// Whether live and simulated agree within the tolerance (both missing agrees).
    pub fn within(&self) -> bool {
        match (self.live, self.simulated) {
            (Some(l), Some(s)) => self.tolerance.allows(l, s),
            (None, None) => true,
            _ => false,
        }
    }
}

/// The tolerances, by row (documented in docs/live.md, table "Tolerances").
pub const REQUESTS_TOLERANCE: Tolerance = Tolerance::Relative(0.01);
/// Availability: one percentage point.
pub const AVAILABILITY_TOLERANCE: Tolerance = Tolerance::Absolute(0.01);
/// Mean latency and P(wait): 5%.
pub const MEAN_TOLERANCE: Tolerance = Tolerance::Relative(0.05);
/// Median and 90th percentile: 5%.
pub const QUANTILE_TOLERANCE: Tolerance = Tolerance::Relative(0.05);
/// 99th percentile: 10% (a tail quantile moves with few requests).
pub const TAIL_TOLERANCE: Tolerance = Tolerance::Relative(0.10);
/// Mean wait: 10% (a difference of small numbers).
pub const WAIT_TOLERANCE: Tolerance = Tolerance::Relative(0.10);

fn row(name: &str, live: Option<f64>, simulated: Option<f64>, tolerance: Tolerance) -> Row {
    Row { name: name.to_string(), live, simulated, tolerance }
}

/// The rows of `live` against `sim`.
pub fn rows(live: &LiveOutcome, sim: &Outcome) -> Vec<Row> {
    let (m, l) = (&live.measure, &live.measure.all.latency);
    let mut out = vec![
        row(
            "requests.arrived",
            Some(m.all.counts.arrived as f64),
            Some(sim.requests.arrived as f64),
            REQUESTS_TOLERANCE,
        ),
        row("availability", m.all.counts.availability(), sim.requests.availability(), AVAILABILITY_TOLERANCE),
        row("latency_ms.mean", l.mean_ms(), sim.latency.mean_ms(), MEAN_TOLERANCE),
        row("latency_ms.p50", l.quantile_ms(0.5), sim.latency.quantile_ms(0.5), QUANTILE_TOLERANCE),
        row("latency_ms.p90", l.quantile_ms(0.9), sim.latency.quantile_ms(0.9), QUANTILE_TOLERANCE),
        row("latency_ms.p99", l.quantile_ms(0.99), sim.latency.quantile_ms(0.99), TAIL_TOLERANCE),
        row("wait.probability", m.waiting.probability(), sim.waiting.probability(), MEAN_TOLERANCE),
        row("wait.mean_ms", m.waiting.mean_ms(), sim.waiting.mean_ms(), WAIT_TOLERANCE),
    ];
    if live.classes.len() > 1 {
        for (i, name) in live.classes.iter().enumerate() {
            let simulated = sim.system.classes.get(i);
            let g = &m.classes[i];
            out.push(row(
                &format!("classes.{name}.availability"),
                g.counts.availability(),
                simulated.and_then(|c| c.requests.availability()),
                AVAILABILITY_TOLERANCE,
            ));
            out.push(row(
                &format!("classes.{name}.latency_ms.mean"),
                g.latency.mean_ms(),
                simulated.and_then(|c| c.latency.mean_ms()),
                MEAN_TOLERANCE,
            ));
        }
    }
    out
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

/// The side-by-side table, one line per row, with the verdict.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "{:<34} {:>14} {:>14} {:>9} {:>10}  verdict", "metric", "live", "simulated", "diff", "tolerance");
    for r in rows {
        let diff = match (r.live, r.simulated) {
            (Some(l), Some(s)) if s != 0.0 => format!("{:+.2}%", (l - s) / s.abs() * 100.0),
            (Some(l), Some(s)) => format!("{:+.4}", l - s),
            _ => "-".to_string(),
        };
        let verdict = if r.within() { "ok" } else { "EXCEEDED" };
        let _ = writeln!(
            out,
            "{:<34} {:>14} {:>14} {:>9} {:>10}  {verdict}",
            r.name,
            cell(r.live),
            cell(r.simulated),
            diff,
            r.tolerance.render()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_decide_the_verdict() {
        assert!(row("x", Some(104.0), Some(100.0), MEAN_TOLERANCE).within());
        assert!(!row("x", Some(106.0), Some(100.0), MEAN_TOLERANCE).within());
        assert!(row("a", Some(0.995), Some(0.999), AVAILABILITY_TOLERANCE).within());
        assert!(!row("a", Some(0.98), Some(0.999), AVAILABILITY_TOLERANCE).within());
        assert!(row("n", None, None, MEAN_TOLERANCE).within());
        assert!(!row("n", Some(1.0), None, MEAN_TOLERANCE).within());
        let table = render(&[row("latency_ms.mean", Some(106.0), Some(100.0), MEAN_TOLERANCE)]);
        assert!(table.contains("+6.00%") && table.contains("EXCEEDED"), "{table}");
    }
}
