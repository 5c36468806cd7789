//! Recovery (liveness): once the last fault has ended and the recovery bound has passed,
//! the system must be back to its fault-free self. Compared with the fault-free baseline
//! run of the same seed, over the time series rows of the recovery window:
//!
//! - the error ratio is at most the baseline's plus [`Tolerance::error_ratio`];
//! - the p99 latency (the median of the rows' p99s, which one slow interval does not
//!   move) is at most the baseline's times [`Tolerance::p99_factor`] plus
//!   [`Tolerance::p99_slack_ms`];
//! - queues drain: the app servers' and every component's mean queue length is at most the
//!   baseline's times the same factor plus [`Tolerance::queue_slack`], and the retry queue
//!   ends with at most the most it ever held in the baseline plus the same slack;
//! - every alert that fired resolves, unless it is still firing in the baseline too, or
//!   its expression reads further back than the run goes on after the recovery point (a
//!   slow burn-rate alert over 6 hours cannot resolve 2 minutes after the faults).

use super::{Invariant, Violation};
use prodsim_kernel::units::{format_duration, ms_to_ns, ns_to_ms};
use prodsim_model::outcome::{Outcome, Row};
use prodsim_parts::ops::promql::Expr;
use prodsim_parts::ops::rules::RecordingRule;
use prodsim_scenario::Scenario;

/// How close to the baseline a recovered system must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Added error ratio allowed (absolute, 0.01 = one point).
    pub error_ratio: f64,
    /// p99 latency and queue lengths may be this many times the baseline's.
    pub p99_factor: f64,
    /// Plus this many milliseconds of p99.
    pub p99_slack_ms: f64,
    /// Plus this many waiting requests (or queued payments).
    pub queue_slack: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { error_ratio: 0.01, p99_factor: 1.5, p99_slack_ms: 20.0, queue_slack: 10.0 }
    }
}

/// The part of the run where the system must have recovered: `[from_ns, to_ns)`, and
/// how long each alert may take to resolve once it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The last fault's end plus the recovery bound.
    pub from_ns: u64,
    /// The run's end.
    pub to_ns: u64,
    /// Per alert, how long after recovery it may keep firing. An alert still firing at the
    /// end counts only when `from_ns` plus its reset is before the end. Alerts not listed
    /// must resolve by the end.
    pub alert_resets: Vec<AlertReset>,
}

/// How long after the trouble is over one alert may keep firing: the longest range its
/// expression reads (through recording rules too), its `keep_firing_for`, one evaluation
/// and one scrape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertReset {
    /// The alert's name.
    pub alert: String,
    /// How long it may keep firing, ns.
    pub reset_ns: u64,
}

impl Window {
    /// The recovery window of `scenario` when its last fault ends at `last_fault_end_ns`
    /// and the system has `bound_ns` to recover.
    pub fn after(scenario: &Scenario, last_fault_end_ns: u64, bound_ns: u64) -> Window {
        Window {
            from_ns: last_fault_end_ns.saturating_add(bound_ns),
            to_ns: scenario.duration_ns,
            alert_resets: alert_resets(scenario),
        }
    }
}

/// How long each alert of `scenario` may keep firing after the trouble is over (see
/// [`Window::alert_resets`]).
pub fn alert_resets(scenario: &Scenario) -> Vec<AlertReset> {
    let Some(m) = scenario.topology.monitoring.as_ref() else { return Vec::new() };
    let mut resets: Vec<AlertReset> = Vec::new();
    for rule in m.sets.iter().flat_map(|s| &s.rules) {
        let range_ms = reach_ms(&rule.expr, &m.recording, 0);
        let ns = ms_to_ns(range_ms + rule.keep_firing_for_ms.max(0)) + m.evaluation_interval_ns + m.scrape_interval_ns;
        match resets.iter_mut().find(|r| r.alert == rule.name) {
            Some(r) => r.reset_ns = r.reset_ns.max(ns),
            None => resets.push(AlertReset { alert: rule.name.clone(), reset_ns: ns }),
        }
    }
    resets
}

/// How far back `expr` reads, in ms, following the recording rules it selects (a few
/// levels deep).
fn reach_ms(expr: &Expr, recording: &[RecordingRule], depth: u32) -> i64 {
    let own = expr.longest_range_ms().max(0);
    if depth >= 4 {
        return own;
    }
    let names = expr.metric_names();
    let through = recording
        .iter()
        .filter(|r| names.contains(&r.record))
        .map(|r| reach_ms(&r.expr, recording, depth + 1))
        .max()
        .unwrap_or(0);
    own + through
}

/// Checks that `case` recovered over `window`, against `baseline` (the same scenario and
/// seed without faults).
pub fn check(case: &Outcome, baseline: &Outcome, window: &Window, tol: &Tolerance) -> Vec<Violation> {
    let mut found = Vec::new();
    let (c, b) = (rows_in(case, window), rows_in(baseline, window));
    if c.is_empty() || b.is_empty() {
        return found;
    }
    let when = format!("from +{} to the end", format_duration(window.from_ns));

    let (ce, be) = (error_ratio(c), error_ratio(b));
    if ce > be + tol.error_ratio {
        found.push(Violation::new(
            Invariant::Recovery,
            format!(
                "error ratio {:.2}% {when}, against {:.2}% without faults (allowed +{:.2} points)",
                ce * 100.0,
                be * 100.0,
                tol.error_ratio * 100.0
            ),
        ));
    }
    if let (Some(cp), Some(bp)) = (median_p99_ms(c), median_p99_ms(b)) {
        let allowed = bp * tol.p99_factor + tol.p99_slack_ms;
        if cp > allowed {
            found.push(Violation::new(
                Invariant::Recovery,
                format!("p99 latency {cp:.0} ms {when}, against {bp:.0} ms without faults (allowed {allowed:.0} ms)"),
            ));
        }
    }
    let queue = |rows: &[Row]| rows.iter().map(|r| r.queue_length).sum::<f64>() / rows.len() as f64;
    drained("app servers' queues", queue(c), queue(b), &when, tol, &mut found);
    components(case, baseline, window, &when, tol, &mut found);
    retry_queue(case, baseline, tol, &mut found);
    alerts(case, baseline, window, &mut found);
    found
}

fn rows_in<'a>(o: &'a Outcome, w: &Window) -> &'a [Row] {
    let first = o.rows.partition_point(|r| r.start_ns < w.from_ns);
    let last = o.rows.partition_point(|r| r.end_ns <= w.to_ns);
    o.rows.get(first..last.max(first)).unwrap_or(&[])
}

fn error_ratio(rows: &[Row]) -> f64 {
    let (mut bad, mut finished) = (0u64, 0u64);
    for r in rows {
        bad += r.rejections + r.timeouts + r.failures;
        finished += r.completions + r.rejections + r.timeouts + r.failures;
    }
    if finished == 0 { 0.0 } else { bad as f64 / finished as f64 }
}

fn median_p99_ms(rows: &[Row]) -> Option<f64> {
    let mut p99: Vec<u64> = rows.iter().filter_map(|r| r.latency_p99_ns).collect();
    if p99.is_empty() {
        return None;
    }
    p99.sort_unstable();
    Some(ns_to_ms(p99[p99.len() / 2]))
}

fn drained(what: &str, case: f64, base: f64, when: &str, tol: &Tolerance, found: &mut Vec<Violation>) {
    let allowed = base * tol.p99_factor + tol.queue_slack;
    if case > allowed {
        found.push(Violation::new(
            Invariant::Recovery,
            format!(
                "{what} hold {case:.1} waiting on average {when}, against {base:.1} without faults (allowed {allowed:.1})"
            ),
        ));
    }
}

/// Every component's (services, database) mean queue over the window.
fn components(case: &Outcome, baseline: &Outcome, w: &Window, when: &str, tol: &Tolerance, found: &mut Vec<Violation>) {
    let (cs, bs) = (&*case.system, &*baseline.system);
    for (index, component) in cs.components.iter().enumerate() {
        let mean = |s: &prodsim_model::outcome::SystemOutcome| {
            let (mut sum, mut n) = (0.0, 0u32);
            for r in s.series.iter().filter(|r| usize::from(r.component) == index) {
                if r.start_ns >= w.from_ns && r.end_ns <= w.to_ns {
                    sum += r.queue_length;
                    n += 1;
                }
            }
            (n > 0).then(|| sum / f64::from(n))
        };
        if let (Some(c), Some(b)) = (mean(cs), mean(bs)) {
            drained(&format!("{}'s queues", component.name), c, b, when, tol, found);
        }
    }
}

fn retry_queue(case: &Outcome, baseline: &Outcome, tol: &Tolerance, found: &mut Vec<Violation>) {
    let queue = |o: &Outcome| o.system.retry_queue;
    let (Some(c), Some(b)) = (queue(case), queue(baseline)) else { return };
    let allowed = b.peak.max(b.remaining) as f64 + tol.queue_slack;
    if c.remaining as f64 > allowed {
        found.push(Violation::new(
            Invariant::Recovery,
            format!(
                "the retry queue still holds {} payments at the end (at most {} without faults; allowed {allowed:.0})",
                c.remaining,
                b.peak.max(b.remaining)
            ),
        ));
    }
}

/// Alerts still firing at the end that the baseline does not have firing, and that had
/// time to clear their lookback after the recovery point.
fn alerts(case: &Outcome, baseline: &Outcome, w: &Window, found: &mut Vec<Violation>) {
    let open = |o: &Outcome| -> Vec<(String, i64)> {
        let Some(m) = o.system.monitoring.as_deref() else { return Vec::new() };
        m.episodes
            .iter()
            .filter(|e| e.resolved_ms.is_none())
            .filter_map(|e| e.firing_ms.map(|f| (e.alert.clone(), f)))
            .collect()
    };
    let base: Vec<String> = open(baseline).into_iter().map(|(a, _)| a).collect();
    let mut named: Vec<String> = Vec::new();
    for (alert, firing_ms) in open(case) {
        if base.contains(&alert) || named.contains(&alert) {
            continue;
        }
        let reset = w.alert_resets.iter().find(|r| r.alert == alert).map_or(0, |r| r.reset_ns);
        if w.from_ns.saturating_add(reset) > w.to_ns {
            continue;
        }
        found.push(Violation::new(
            Invariant::Recovery,
            format!("alert {alert} fired at +{} and never resolved", format_duration(ms_to_ns(firing_ms))),
        ));
        named.push(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::units::{NS_PER_MS, NS_PER_S};

    fn row(start_s: u64, completions: u64, failures: u64, p99_ms: u64, queue: f64) -> Row {
        Row {
            start_ns: start_s * NS_PER_S,
            end_ns: (start_s + 10) * NS_PER_S,
            completions,
            failures,
            latency_p99_ns: Some(p99_ms * NS_PER_MS),
            queue_length: queue,
            ..Row::default()
        }
    }

    #[test]
    fn window_rows_error_ratio_and_median() {
        let rows = [row(0, 90, 10, 50, 0.0), row(10, 100, 0, 40, 0.0), row(20, 100, 0, 900, 0.0)];
        assert!((error_ratio(&rows) - 10.0 / 300.0).abs() < 1e-12);
        assert_eq!(median_p99_ms(&rows), Some(50.0), "one slow row does not move the median");
    }

    #[test]
    fn a_queue_that_stays_long_is_named() {
        let mut found = Vec::new();
        drained("app servers' queues", 400.0, 2.0, "from +5m to the end", &Tolerance::default(), &mut found);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("400.0 waiting"), "{}", found[0].message);
        drained("app servers' queues", 12.0, 2.0, "", &Tolerance::default(), &mut found);
        assert_eq!(found.len(), 1, "within the slack");
    }
}
