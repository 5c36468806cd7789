//! The monitoring part of the human summary: what was scraped, the ground truth's
//! incidents, the alert-fatigue table (each set, each rule), the firing episodes and the
//! first notifications as their channel shows them.

use std::fmt::Write;

use super::text::thousands;
use prodsim_kernel::units::ns_to_ms_floor;
use prodsim_model::outcome::{EpisodeOutcome, IncidentOutcome, MonitoringOutcome};
use prodsim_parts::ops::quality::Quality;
/// `+1h02m30s` for a time of the run in ms, as notifications print it.
use prodsim_parts::ops::routing::format_offset as clock;

/// A week, ms: `pages_per_week` of a shorter run is an extrapolation.
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// Episodes and notifications shown before "... and N more".
const SHOWN: usize = 12;

/// `3m15s` for a span in seconds.
pub(super) fn span(s: Option<f64>) -> String {
    let Some(s) = s else { return "-".into() };
    let neg = s < 0.0;
    let t = s.abs().round() as u64;
    let text = if t >= 3600 {
        format!("{}h{:02}m", t / 3600, t / 60 % 60)
    } else if t >= 60 {
        format!("{}m{:02}s", t / 60, t % 60)
    } else {
        format!("{t}s")
    };
    if neg { format!("-{text}") } else { text }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:.0}%", x * 100.0))
}

fn quality_row(s: &mut String, name: &str, q: &Quality) {
    let _ = writeln!(
        s,
        "  {:<24} {:>9} {:>7} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6} {:>6}",
        name,
        pct(q.precision),
        pct(q.recall),
        span(q.detection_time_s),
        span(q.reset_time_s),
        format!("{:.1}", q.pages_per_week),
        q.notifications,
        q.pages_out_of_hours,
        q.flapping,
        q.duplicates
    );
}

/// Appends the monitoring lines to `s`.
pub fn render(s: &mut String, m: &MonitoringOutcome) {
    let _ = writeln!(
        s,
        "monitoring    {} scrapes, {} rule evaluations, {} series",
        thousands(m.scrapes),
        thousands(m.evaluations),
        thousands(m.tsdb.len() as u64)
    );
    incident_lines(s, m);
    alert_quality_lines(s, m);
    episode_lines(s, m);
    notification_lines(s, m);
}

/// The ground truth: the SLO that defines an incident, then each incident with its
/// detection, acknowledgement, mitigation, cost and causes.
fn incident_lines(s: &mut String, m: &MonitoringOutcome) {
    match &m.slo {
        Some(slo) => {
            let latency =
                slo.latency_ns.map_or(String::new(), |l| format!(", slower than {} ms is bad", ns_to_ms_floor(l)));
            let _ = writeln!(
                s,
                "incidents     {} (users hurt: SLO {}%{latency})",
                m.incidents.len(),
                (slo.objective * 1e5).round() / 1e3
            );
        }
        None => {
            let _ = writeln!(s, "incidents     - (no [slo]: alerts cannot be scored against the ground truth)");
        }
    }
    for (k, i) in m.incidents.iter().enumerate() {
        let inc = &i.incident;
        let causes: Vec<String> =
            i.faults.iter().cloned().chain(i.deploys.iter().map(|v| format!("release {v}"))).collect();
        let faults = if causes.is_empty() { "no fault".to_string() } else { causes.join(", ") };
        let _ = writeln!(
            s,
            "  #{:<2} {} to {}  {} bad of {}  budget {:.1}%  {}  ({faults})",
            k + 1,
            clock(inc.start_ms),
            clock(inc.end_ms),
            thousands(inc.bad),
            thousands(inc.requests),
            i.budget_burned * 100.0,
            response(i)
        );
    }
}

/// How an incident was handled: how long after it began a paging alert fired (detected,
/// MTTD's end) and the page went out (or nobody was paged), then when it was
/// acknowledged and mitigated, and the revenue it lost.
fn response(i: &IncidentOutcome) -> String {
    let after = |t: i64| span(Some((t - i.incident.start_ms) as f64 / 1000.0));
    let mut detected = match (i.detected_ms, i.paged_ms) {
        (Some(d), Some(p)) => format!("detected {} later (paging alert fired), paged {} later", after(d), after(p)),
        (Some(d), None) => format!("detected {} later (paging alert fired), no page sent", after(d)),
        (None, _) => "nobody paged".into(),
    };
    if let Some(a) = i.acknowledged_ms {
        detected.push_str(&format!(", acknowledged {}", clock(a)));
    }
    if let Some(t) = i.mitigated_ms {
        detected.push_str(&format!(", mitigated {}", clock(t)));
    }
    if i.lost_revenue > 0.0 {
        detected.push_str(&format!(", ${} lost", thousands(i.lost_revenue.round() as u64)));
    }
    detected
}

/// The alert-fatigue table: every rule together, each set, each rule; then the rules whose
/// evaluation failed.
fn alert_quality_lines(s: &mut String, m: &MonitoringOutcome) {
    let _ = writeln!(
        s,
        "alert quality {:<14} {:>9} {:>7} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6} {:>6}",
        "", "precision", "recall", "detect", "reset", "pages/wk", "notifs", "night", "flap", "dup"
    );
    quality_row(s, "all rules", &m.quality);
    let run_ms = m.run_ms;
    if run_ms < WEEK_MS {
        let run = span(Some(run_ms as f64 / 1000.0));
        let _ = writeln!(
            s,
            "  (pages/wk extrapolated from a {run} run; pages = notifications that carried a paging alert)"
        );
    }
    if m.sets.len() > 1 {
        for set in &m.sets {
            quality_row(s, &format!("set {}", set.name), &set.quality);
        }
    }
    for r in &m.rules {
        quality_row(s, &r.alert, &r.quality);
    }
    for e in &m.rule_errors {
        let (rule, n, last) = (&e.rule, e.failed_evaluations, &e.last_error);
        let _ = writeln!(s, "rule error    {rule} failed {n} evaluations (it kept its alerts meanwhile): {last}");
    }
}

/// The alerts that fired, in time order, the first [`SHOWN`] of them, each marked true
/// or false positive ("not scored" without `[slo]`: nothing can judge them).
fn episode_lines(s: &mut String, m: &MonitoringOutcome) {
    let mut fired: Vec<_> = m.episodes.iter().filter(|e| e.firing_ms.is_some()).collect();
    // Episodes are kept set by set; a reader wants them as they happened (stable: ties
    // keep set order).
    fired.sort_by_key(|e| e.firing_ms);
    let scored = m.slo.is_some();
    let verdict = |tp: bool| match (scored, tp) {
        (false, _) => "not scored",
        (true, true) => "true positive",
        (true, false) => "false positive",
    };
    let tps = fired.iter().filter(|e| e.true_positive).count();
    let head = if scored { format!("{tps} true positives") } else { "not scored: no [slo]".to_string() };
    let _ = writeln!(s, "alerts        {} fired ({head})", fired.len());
    for e in fired.iter().take(SHOWN) {
        let resolved = e.resolved_ms.map_or("still firing".to_string(), |r| format!("resolved {}", clock(r)));
        let set = if m.sets.len() > 1 { format!(" [{}]", e.set) } else { String::new() };
        let _ = writeln!(
            s,
            "  {} {:<24} {:<8} {resolved:<20} {}{set}",
            clock(e.firing_ms.unwrap_or(e.pending_ms)),
            e.alert,
            e.severity,
            verdict(e.true_positive)
        );
    }
    if fired.len() > SHOWN {
        let _ = writeln!(s, "  ... and {} more (summary.json alerts[])", fired.len() - SHOWN);
    }
}

/// How many notifications went out, and the first line of the first [`SHOWN`] of them.
fn notification_lines(s: &mut String, m: &MonitoringOutcome) {
    let total: usize = m.sets.iter().map(|x| x.notifications.len()).sum();
    let failed = m.sets.iter().flat_map(|x| &x.notifications).filter(|n| !n.delivery.reached()).count();
    let failed = if failed > 0 { format!(", {failed} not delivered (channel down)") } else { String::new() };
    let pipeline = m.pipeline_notifications.len();
    let pipeline = if pipeline > 0 { format!(", {pipeline} from the pipeline to committers") } else { String::new() };
    let _ = writeln!(s, "notifications {total}{failed}{pipeline} (every one in notifications.txt)");
    let mut shown = 0;
    for set in &m.sets {
        for n in &set.notifications {
            if shown == SHOWN {
                break;
            }
            let first = prodsim_parts::ops::routing::render(n);
            let line = first.lines().next().unwrap_or_default();
            let _ = writeln!(s, "  {line}");
            shown += 1;
        }
    }
}

/// Appends the logging lines to `s`.
pub fn render_logs(s: &mut String, l: &prodsim_model::outcome::LoggingOutcome) {
    let c = &l.counts.total;
    let _ = writeln!(
        s,
        "logs          {} emitted, {} shipped, {} dropped (buffer full), {} lost (crashes), {} still buffered; max backlog {}, max delay {:.1}s",
        thousands(c.emitted),
        thousands(c.shipped),
        thousands(c.dropped),
        thousands(c.lost),
        thousands(c.backlog + c.in_transit),
        thousands(l.max_backlog),
        l.max_ingestion_delay_ms as f64 / 1000.0
    );
    let top = l.client_errors.top(SHOWN);
    if !top.is_empty() {
        let _ = writeln!(s, "client errors (as a browser error tracker groups them)");
        for (fingerprint, e) in top {
            let _ = writeln!(
                s,
                "  {:<36} {:>10}  first {}  last {}",
                fingerprint,
                thousands(e.count),
                clock(e.first_seen_ms),
                clock(e.last_seen_ms)
            );
        }
    }
}

/// Every notification as its channel shows it, set by set, then the pipeline's direct
/// messages (`notifications.txt`).
pub fn notifications(m: &MonitoringOutcome) -> String {
    let mut s = String::new();
    for set in &m.sets {
        if m.sets.len() > 1 {
            let _ = writeln!(s, "=== rule set {} ===\n", set.name);
        }
        for n in &set.notifications {
            let _ = writeln!(s, "{}\n", prodsim_parts::ops::routing::render(n).trim_end());
        }
    }
    if !m.pipeline_notifications.is_empty() {
        let _ = writeln!(s, "=== pipeline: failed releases' messages to their authors ===\n");
        for n in &m.pipeline_notifications {
            let _ = writeln!(s, "{}\n", prodsim_parts::ops::routing::render(n).trim_end());
        }
    }
    s
}

/// An alert episode's own labels as `key=value`, in label order: every label but
/// `alertname` and `severity`, which are shown on their own (the narration and the
/// report's event lanes write the same words).
pub fn episode_labels(e: &EpisodeOutcome) -> Vec<String> {
    e.labels.iter().filter(|(k, _)| *k != "alertname" && *k != "severity").map(|(k, v)| format!("{k}={v}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_spans() {
        assert_eq!(clock(3_750_000), "+1h02m30s");
        assert_eq!(clock(59_000), "+59s");
        assert_eq!(span(Some(195.0)), "3m15s");
        assert_eq!(span(Some(-30.0)), "-30s");
        assert_eq!(span(Some(7300.0)), "2h01m");
        assert_eq!(span(None), "-");
    }
}
