//! What would have shortened an incident: data-driven suggestions, each one sentence with
//! the incident's own numbers, in a fixed order (detection, response, releases, playbooks,
//! actions).

use super::{PostmortemInput, at, clock, count, dur, mitigating_action, ms, out_of_hours};
use crate::ops::oncall::Page;
use crate::ops::routing::format_offset;

/// An acknowledgement slower than this is worth a suggestion, ms.
const SLOW_ACK_MS: i64 = 5 * 60 * 1000;

/// The canary share suggested for releases that had none.
const CANARY_SHARE: f64 = 0.05;

/// Suggestions for `input`'s incident, each one sentence; empty when nothing stands out.
pub fn suggestions(input: &PostmortemInput) -> Vec<String> {
    let mut out = Vec::new();
    detection(input, &mut out);
    for p in &input.pages {
        out.extend(response(input, p));
    }
    releases(input, &mut out);
    playbooks(input, &mut out);
    actions(input, &mut out);
    out
}

/// Nothing paged, or an alert fired before the page without paging.
fn detection(input: &PostmortemInput, out: &mut Vec<String>) {
    let t = &input.timeline;
    // Harm the pipeline stopped on its own (a health check, a canary analysis) needed no
    // page.
    let automatic = mitigating_action(input).is_some_and(|a| a.by == "pipeline");
    if t.detected_ms.is_none() && !automatic {
        out.push(format!(
            "No alert paged; users were hurt for {} ({} failed requests) without anyone being told, and an SLO \
             burn-rate alert (e.g. 14.4× the budget's rate over 1h and 5m) would have paged within minutes.",
            dur(t.to_resolve_ms()),
            count(input.impact.failed_requests)
        ));
    }
    let before = t.detected_ms.unwrap_or(t.resolved_ms);
    let mut seen: Vec<&str> = Vec::new();
    // Tickets are meant not to page (a slow burn is for working hours); an alert that
    // fired within a minute of the page would not have changed much.
    let mut quiet: Vec<_> =
        input.alerts.iter().filter(|a| !a.paged && a.severity != "ticket" && a.fired_ms + 60_000 <= before).collect();
    quiet.sort_by_key(|a| a.fired_ms);
    for a in quiet {
        if seen.contains(&a.name.as_str()) {
            continue;
        }
        seen.push(&a.name);
        let would = dur((a.fired_ms - t.start_ms).max(0));
        out.push(match t.detected_ms {
            Some(d) => format!(
                "`{}` fired {} earlier than the page, at {}, but did not page; routing it to the pager would have \
                 cut detection from {} to {would}.",
                a.name,
                dur(d - a.fired_ms),
                at(input, a.fired_ms),
                dur(d - t.start_ms)
            ),
            None => format!(
                "`{}` fired at {}, but did not page; routing it to the pager would have detected the incident \
                 {would} after it started instead of never.",
                a.name,
                at(input, a.fired_ms)
            ),
        });
    }
}

/// A slow or missing acknowledgement, a page out of hours, an escalation.
fn response(input: &PostmortemInput, p: &Page) -> Option<String> {
    let opened = ms(p.opened_ns);
    let mut what = Vec::new();
    let mut advice = Vec::new();
    match (&p.acknowledged, p.ack_delay_ns().map(ms)) {
        (Some(ack), Some(d)) if d > SLOW_ACK_MS => {
            what.push(format!("was acknowledged by {} only {} after it opened", ack.by, dur(d)));
            advice.push(format!("an acknowledgement target of {}", dur(SLOW_ACK_MS)));
        }
        (None, _) => {
            what.push(format!(
                "was never acknowledged although {} paged",
                plural(p.attempts.len(), "responder was", "responders were")
            ));
            advice.push("a secondary paged in parallel".to_string());
        }
        _ => {}
    }
    if out_of_hours(input, opened) {
        what.push(format!("went out at {}, outside business hours", clock(input.start_time_s, opened)));
        advice.push("a follow-the-sun rotation".to_string());
    }
    for pair in p.attempts.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let why = if a.missed { "missed it" } else { "did not acknowledge in time" };
        what.push(format!(
            "{} {why}, so it escalated to {} {} later",
            a.responder,
            b.responder,
            dur(ms(b.paged_ns.saturating_sub(a.paged_ns)))
        ));
    }
    if p.escalated() {
        advice.push("a shorter `escalate_after`".to_string());
    }
    if what.is_empty() {
        return None;
    }
    Some(format!(
        "Page {} ({}, {}) {}; {} would have cut the response.",
        p.id + 1,
        format_offset(opened),
        clock(input.start_time_s, opened),
        what.join(", "),
        advice.join(" or ")
    ))
}

/// Harmful releases without a rollback plan, with a rollback that would have been faster,
/// or without a canary.
fn releases(input: &PostmortemInput, out: &mut Vec<String>) {
    let t = &input.timeline;
    let rolled_back = mitigating_action(input).is_some_and(|a| a.action.starts_with("rollback"));
    for d in input.deploys.iter().filter(|d| d.harmful) {
        match input.rollback_plan_ms {
            None => out.push(format!(
                "No rollback plan for `{}`: with no quick way back the incident lasted {}, and a rollback stage in \
                 the pipeline would bound the harm of a bad release.",
                d.version,
                dur(t.to_resolve_ms())
            )),
            Some(plan) if !rolled_back => {
                // A rollback starts once someone knows (the acknowledgement, else the page, else
                // the start for an automatic one), and not before the release began.
                let from = t.acknowledged_ms.or(t.detected_ms).unwrap_or(t.start_ms).max(d.start_ms).max(t.start_ms);
                let would = from + plan;
                let actual = t.mitigated_ms.unwrap_or(t.resolved_ms);
                if actual > would {
                    out.push(format!(
                        "Rolling back `{}` ({}) from {} would have mitigated at {} instead of {}, {} sooner.",
                        d.version,
                        dur(plan),
                        format_from(input, from),
                        at(input, would),
                        at(input, actual),
                        dur(actual - would)
                    ));
                }
            }
            Some(_) => {}
        }
        if d.canary_share.is_none() && matches!(d.strategy.as_str(), "all_at_once" | "rolling") {
            // Only what the release caused: a canary does not shorten a provider's outage.
            let failed = input.impact.release_failures;
            out.push(format!(
                "`{}` went out {} with no canary: a canary at {} would have exposed ~{} of requests to it first, \
                 about {} failed requests caused by the release instead of {}.",
                d.version,
                d.strategy,
                whole_percent(CANARY_SHARE),
                whole_percent(CANARY_SHARE),
                count((failed as f64 * CANARY_SHARE).round() as u64),
                count(failed)
            ));
        }
    }
}

/// Where a hypothetical rollback starts, named.
fn format_from(input: &PostmortemInput, from_ms: i64) -> String {
    let t = &input.timeline;
    let what = if Some(from_ms) == t.acknowledged_ms {
        "the acknowledgement"
    } else if Some(from_ms) == t.detected_ms {
        "the page"
    } else if from_ms == t.start_ms {
        "the start"
    } else {
        "the release"
    };
    format!("{what} at {}", at(input, from_ms))
}

/// Pages went out but no action mitigated; or the mitigation waited for a hotfix.
fn playbooks(input: &PostmortemInput, out: &mut Vec<String>) {
    let t = &input.timeline;
    if let (Some(m), Some(a)) = (t.mitigated_ms, mitigating_action(input)) {
        // With a harmful release behind it, rolling back is the advice (`releases`).
        if a.action.starts_with("hotfix") && !input.deploys.iter().any(|d| d.harmful) {
            let from = t.acknowledged_ms.unwrap_or(a.started_ms);
            out.push(format!(
                "Mitigation waited for `{}`: {} from {} to production (writing it, then the pipeline). A switch \
                 ready in advance — graceful degradation or a feature flag that a playbook turns (`degrade`, \
                 `disable_flag`) — would have mitigated minutes after the acknowledgement.",
                a.action,
                dur(m - from),
                if t.acknowledged_ms.is_some() { "the acknowledgement" } else { "the first action" }
            ));
        }
    }
    if t.mitigated_ms.is_some() || input.pages.is_empty() {
        return;
    }
    let alert = input.pages.iter().flat_map(|p| p.alerts.first()).next();
    let for_alert = alert.map_or(String::new(), |a| format!(" for `{a}`"));
    out.push(format!(
        "No playbook acted: {} went out but no action mitigated the incident, which lasted {}; a playbook{for_alert} \
         (rollback, scale out or failover) would let the responder act at once.",
        plural(input.pages.len(), "page", "pages"),
        dur(input.timeline.to_resolve_ms())
    ));
}

/// Actions that failed or needed several attempts.
fn actions(input: &PostmortemInput, out: &mut Vec<String>) {
    for a in input.actions.iter().filter(|a| !a.succeeded || a.attempts > 1) {
        let what = if a.succeeded {
            format!("needed {} before it took effect", plural(a.attempts as usize, "attempt", "attempts"))
        } else {
            format!("failed after {}", plural(a.attempts.max(1) as usize, "attempt", "attempts"))
        };
        let end = a.finished_ms.map_or(String::new(), |f| format!(", {} after it started", dur(f - a.started_ms)));
        out.push(format!(
            "`{}` by {} {what} (started {}{end}); rehearsing it and checking its preconditions would make it work \
             the first time.",
            a.action,
            a.by,
            at(input, a.started_ms)
        ));
    }
}

/// A share as a whole percentage: `5%`.
fn whole_percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// `1 page`, `3 pages`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
