//! The releases and incident response part of the human summary: each release's path
//! (pipeline, rollout, outcome), each page (who was paged, who acknowledged), each
//! playbook action, and the mean times to detect, acknowledge, mitigate and resolve.

use std::fmt::Write;

use prodsim_kernel::units::{NS_PER_S, ns_to_ms_floor};
use prodsim_model::outcome::{DeliveryOutcome, MonitoringOutcome};
use prodsim_parts::ops::routing::format_offset;

/// `+1h02m30s` for a time of the run in ns.
fn at(ns: u64) -> String {
    format_offset(ns_to_ms_floor(ns))
}

/// `3m15s` for a span in ns (the monitoring lines' formatter).
fn span(ns: u64) -> String {
    super::text_alerting::span(Some((ns / NS_PER_S) as f64))
}

/// Appends the releases, pages, actions and mean times to `s`.
pub fn render(s: &mut String, d: &DeliveryOutcome, m: Option<&MonitoringOutcome>) {
    for (k, r) in d.releases.iter().enumerate() {
        let label = if k == 0 { "releases" } else { "" };
        let who = if r.hotfix { format!(" hotfix by {}", r.by) } else { String::new() };
        let mut line = format!("{label:<13} {}{who} ({}): merged {}", r.version, r.strategy, at(r.merged_ns));
        if let Some(last) = r.stages.last() {
            let _ = write!(line, ", pipeline {}", span(last.end_ns.saturating_sub(r.merged_ns)));
        }
        if let Some(e) = r.everywhere_ns {
            let _ = write!(line, ", everywhere {}", at(e));
        } else if r.peak_share > 0.0 {
            let _ = write!(line, ", reached {:.0}% of traffic", r.peak_share * 100.0);
        }
        let end = r.end_ns.map_or(String::new(), |e| format!(" {}", at(e)));
        let _ = write!(line, ", {}{end}", r.outcome.as_str().replace('_', " "));
        if let Some(why) = &r.reason {
            let _ = write!(line, " ({why})");
        }
        if let (Some(author), Some(t)) = (&r.author, r.notified_ns) {
            let _ = write!(line, "; {author} told {}", at(t));
        }
        let _ = writeln!(s, "{line}");
    }
    if d.rollback_plan_ns.is_none() && d.releases.iter().any(|r| !r.hotfix) {
        let _ = writeln!(s, "              no rollback plan: [pipeline] has no `rollback`");
    }
    for (k, p) in d.pages.iter().enumerate() {
        let label = if k == 0 { "pages" } else { "" };
        let paged: Vec<String> = p
            .attempts
            .iter()
            .map(|a| format!("{} {}{}", a.responder, at(a.paged_ns), if a.missed { " (missed)" } else { "" }))
            .collect();
        let ack = match &p.acknowledged {
            Some(a) => format!("acknowledged by {} {} ({} later)", a.by, at(a.at_ns), span(a.at_ns - p.opened_ns)),
            None => "never acknowledged".to_string(),
        };
        let _ =
            writeln!(s, "{label:<13} {} {}: paged {}; {ack}", at(p.opened_ns), p.alerts.join(", "), paged.join(", "));
    }
    for (k, a) in d.actions.iter().enumerate() {
        let label = if k == 0 { "actions" } else { "" };
        let result = match (a.finished_ns, a.succeeded) {
            (Some(f), true) => format!("done {}", at(f)),
            (Some(f), false) => format!("FAILED {}", at(f)),
            (None, _) => "under way at the end".to_string(),
        };
        let tries = if a.attempts > 1 { format!(", {} attempts", a.attempts) } else { String::new() };
        let note = a.note.as_ref().map_or(String::new(), |n| format!(" ({n})"));
        // A player's action with no page yet answers no alert.
        let alert = if a.alert.is_empty() { String::new() } else { format!(" for {}", a.alert) };
        let _ =
            writeln!(s, "{label:<13} {} ran {}{alert} at {}: {result}{tries}{note}", a.by, a.action, at(a.started_ns));
    }
    if let Some(m) = m.filter(|m| !m.incidents.is_empty()) {
        let timelines: Vec<_> = m.incidents.iter().map(|i| i.timeline()).collect();
        let t = prodsim_parts::ops::incident::mean_times(&timelines);
        // Truncated to whole nanoseconds (not `s_to_ns`, which rounds): `span` then shows
        // whole seconds, so a mean just under a second boundary stays under it.
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| span((x.max(0.0) * NS_PER_S as f64) as u64));
        let _ = writeln!(
            s,
            "response      MTTD {}  MTTA {}  MTTM {}  MTTR {}  over {} incidents",
            f(t.mttd_s),
            f(t.mtta_s),
            f(t.mttm_s),
            f(t.mttr_s),
            m.incidents.len()
        );
    }
}
