//! Narrated runs (`prodsim run FILE --narrate`): what happened during a run, in plain words
//! and in time order, with the run's own numbers ("+20m00s the third-party API payment_api
//! stops answering …; errors climb to 15.1%"). A pure function of an [`Outcome`] and its
//! [`Scenario`]: the lines come from the faults, the alert episodes, notifications, pages,
//! acknowledgements, playbook actions, releases, ground-truth incidents and the per-interval
//! rows, sorted by time (ties keep the order they were gathered in), so the same run always
//! reads the same.

mod faults;
mod response;

use std::fmt::Write;

use prodsim_kernel::units::{ms_to_ns, ns_to_ms_floor};
use prodsim_model::outcome::{Outcome, Row};
use prodsim_parts::ops::routing::format_offset;
use prodsim_scenario::Scenario;

/// Lines of one kind (alert firings, notifications, …) told before the rest are counted in
/// one "… and N more" line: an alert storm stays readable.
pub const MAX_LINES_PER_KIND: usize = 25;

/// One thing that happened: when, and what, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// When it happened, ns from the start of the run.
    pub t_ns: u64,
    /// What happened, as a sentence without the time.
    pub text: String,
}

/// The narration of a run: a heading, then one line per event in time order.
pub fn narrate(outcome: &Outcome, scenario: &Scenario) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "narration     {} (seed {})", outcome.scenario, outcome.seed);
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "              {}", scenario.description);
    }
    for line in lines(outcome, scenario) {
        let _ = writeln!(out, "  {:>10}  {}", clock(line.t_ns), line.text);
    }
    out
}

/// Every line of the narration, in time order.
pub fn lines(o: &Outcome, s: &Scenario) -> Vec<Line> {
    let mut lines = vec![Line { t_ns: 0, text: start_line(o) }];
    if o.warmup_ns > 0 {
        lines.push(Line { t_ns: o.warmup_ns, text: "the warmup ends; measurement starts".to_string() });
    }
    lines.extend(faults::stages(o, s));
    lines.extend(faults::lines(o));
    lines.extend(response::lines(o));
    lines.push(Line { t_ns: o.simulated_ns, text: end_line(o) });
    // A stable sort: events at one instant keep the order they were gathered in.
    lines.sort_by_key(|l| l.t_ns);
    lines
}

/// `+1h02m30s` for a time of the run in ns (to the millisecond, as notifications print it).
pub fn clock(t_ns: u64) -> String {
    format_offset(ns_to_ms_floor(t_ns))
}

/// A share as a percentage with the precision small shares need: `15.1%`, `0.02%`, `0%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 {
        "0%".to_string()
    } else if p >= 1.0 {
        format!("{p:.1}%")
    } else if p >= 0.01 {
        format!("{p:.2}%")
    } else {
        format!("{p:.3}%")
    }
}

/// The share of a row's finished requests that ended in an error; `None` when none finished.
pub fn row_error_ratio(r: &Row) -> Option<f64> {
    let errors = r.rejections + r.timeouts + r.failures;
    let finished = r.completions + errors;
    (finished > 0).then(|| errors as f64 / finished as f64)
}

/// The error ratio of the first row that starts at or after `t_ns` (the first whole
/// interval after an event), with its start.
pub fn errors_after(o: &Outcome, t_ns: u64) -> Option<(u64, f64)> {
    let row = o.rows.iter().find(|r| r.start_ns >= t_ns)?;
    Some((row.start_ns, row_error_ratio(row)?))
}

/// The error ratio over the rows that end by `t_ns` (after the warmup): the level before
/// an event.
pub fn errors_before(o: &Outcome, t_ns: u64) -> Option<f64> {
    let rows = o.rows.iter().filter(|r| r.start_ns >= o.warmup_ns && r.end_ns <= t_ns);
    let (errors, finished) = rows.fold((0u64, 0u64), |(e, f), r| {
        let errors = r.rejections + r.timeouts + r.failures;
        (e + errors, f + errors + r.completions)
    });
    (finished > 0).then(|| errors as f64 / finished as f64)
}

/// `errors fall to 0.02%` (or `errors are at …` when they did not fall): the level in the
/// first whole interval after `t_ns`, compared with the one before it.
pub fn errors_now(o: &Outcome, t_ns: u64) -> Option<String> {
    let (_, after) = errors_after(o, t_ns)?;
    let before = o.rows.iter().rev().find(|r| r.end_ns <= t_ns).and_then(row_error_ratio);
    let verb = match before {
        Some(b) if after < b * 0.8 => "fall to",
        Some(b) if after > b * 1.25 && after - b > 0.001 => "rise to",
        _ => "are at",
    };
    Some(format!("errors {verb} {}", percent(after)))
}

fn start_line(o: &Outcome) -> String {
    let servers = o.servers.len();
    let classes = o.system.classes.len();
    let mut text = format!("the run starts: {servers} app server{}", if servers == 1 { "" } else { "s" });
    if classes > 1 {
        let names: Vec<&str> = o.system.classes.iter().map(|c| c.name.as_str()).collect();
        let _ = write!(text, ", {classes} kinds of request ({})", names.join(", "));
    }
    if let Some(before) = errors_before(o, trouble_ns(o)) {
        let _ = write!(text, "; errors at {} before anything goes wrong", percent(before));
    }
    text
}

/// When trouble starts: the first fault, production rollout or ground-truth incident (the
/// run's end when there is none).
fn trouble_ns(o: &Outcome) -> u64 {
    let faults = o.faults.iter().map(|f| f.start_ns);
    let rollouts = o.system.delivery.iter().flat_map(|d| d.releases.iter().filter_map(|r| r.rollout_start_ns));
    let incidents =
        o.system.monitoring.iter().flat_map(|m| m.incidents.iter().map(|i| ms_to_ns(i.incident.start_ms.max(0))));
    faults.chain(rollouts).chain(incidents).min().unwrap_or(o.simulated_ns)
}

fn end_line(o: &Outcome) -> String {
    let r = &o.requests;
    let mut text = format!("the run ends: {} requests measured", crate::text::thousands(r.arrived));
    if let Some(e) = r.error_ratio() {
        let _ = write!(text, ", {} of them errors", percent(e));
    }
    if let Some(p99) = o.latency.quantile_ms(0.99) {
        let _ = write!(text, ", p99 latency {p99:.0} ms");
    }
    let p = &o.system.payments;
    if p.attempted > 0 {
        let _ = write!(text, "; payments: {} lost, {} charged twice", p.lost, p.duplicated);
    }
    if let Some(q) = &o.system.retry_queue {
        let _ = write!(text, "; the retry queue holds {}", q.remaining);
    }
    text
}

/// Keeps the first [`MAX_LINES_PER_KIND`] lines of one kind and counts the rest in one line
/// at the time of the first left out.
pub fn capped(mut lines: Vec<Line>, kind: &str) -> Vec<Line> {
    lines.sort_by_key(|l| l.t_ns);
    if lines.len() <= MAX_LINES_PER_KIND {
        return lines;
    }
    let rest = lines.split_off(MAX_LINES_PER_KIND);
    lines.push(Line {
        t_ns: rest[0].t_ns,
        text: format!("… and {} more {kind} after this (see the report)", rest.len()),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_small_shares_visible() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.151), "15.1%");
        assert_eq!(percent(0.0002), "0.02%");
        assert_eq!(percent(0.000_012), "0.001%");
    }

    #[test]
    fn long_kinds_are_capped_with_a_count() {
        let many = (0..30).map(|i| Line { t_ns: i, text: format!("{i}") }).collect();
        let kept = capped(many, "alerts");
        assert_eq!(kept.len(), MAX_LINES_PER_KIND + 1);
        assert_eq!(kept.last().map(|l| l.text.as_str()), Some("… and 5 more alerts after this (see the report)"));
    }

    #[test]
    fn row_error_ratio_counts_every_error() {
        let r = Row { completions: 90, rejections: 5, timeouts: 3, failures: 2, ..Row::default() };
        assert_eq!(row_error_ratio(&r), Some(0.1));
        assert_eq!(row_error_ratio(&Row::default()), None);
    }
}
