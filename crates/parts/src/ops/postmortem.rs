//! The post-mortem of one incident, as Markdown: a blameless write-up in the style of the
//! Google SRE book's example (summary, impact, timeline, detection and response,
//! contributing causes, what would have shortened it, action items). Owns the plain-data
//! input the simulator fills ([`PostmortemInput`]), the rendering, and (in `suggest`) the
//! data-driven suggestions. Pure: the same input gives the same text.

use std::fmt::Write as _;

use crate::ops::calendar::{BusinessHours, WEEK_S};
use crate::ops::incident::Timeline;
use crate::ops::oncall::Page;
use crate::ops::routing::format_offset;

mod suggest;
#[cfg(test)]
mod tests;

pub use suggest::suggestions;

/// What a post-mortem is written from.
#[derive(Clone, Debug, PartialEq)]
pub struct PostmortemInput {
    /// The scenario's name.
    pub scenario: String,
    /// 1-based incident number.
    pub number: usize,
    /// Wall clock at t = 0, seconds after Monday 00:00.
    pub start_time_s: u64,
    /// The incident's milestones.
    pub timeline: Timeline,
    /// Everything that happened around the incident, any order (rendered sorted by time).
    pub events: Vec<Event>,
    /// Alerts that fired around the incident.
    pub alerts: Vec<AlertNote>,
    /// Pages overlapping it.
    pub pages: Vec<Page>,
    /// Actions taken by people or the pipeline.
    pub actions: Vec<ActionNote>,
    /// What users lost.
    pub impact: Impact,
    /// Faults active during it, described, e.g. `timeouts on payment_api (+20m → +35m)`.
    pub faults: Vec<String>,
    /// Releases that contributed: live at the start, or rolled out during it.
    pub deploys: Vec<DeployNote>,
    /// The pipeline's rollback time, ms; `None`: no rollback plan.
    pub rollback_plan_ms: Option<i64>,
    /// Working hours, for pages out of hours.
    pub business_hours: BusinessHours,
}

/// Something that happened, for the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When, ms of simulated time.
    pub t_ms: i64,
    /// What happened, one line.
    pub text: String,
}

/// One firing episode of an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertNote {
    /// The alert's name.
    pub name: String,
    /// The rule set it belongs to.
    pub set: String,
    /// Its `severity` label.
    pub severity: String,
    /// When it fired, ms.
    pub fired_ms: i64,
    /// When it resolved, ms; `None`: still firing at the end.
    pub resolved_ms: Option<i64>,
    /// Whether its notifications paged the on-call.
    pub paged: bool,
}

/// One action taken during the incident.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionNote {
    /// What: `rollback`, `hotfix v1.4.1`, `scale_out 4`, ….
    pub action: String,
    /// Who: a responder's name or `pipeline`.
    pub by: String,
    /// When it started, ms.
    pub started_ms: i64,
    /// When it took effect or gave up, ms; `None`: still running at the end.
    pub finished_ms: Option<i64>,
    /// Whether it worked in the end.
    pub succeeded: bool,
    /// Tries it took (1 when it worked the first time).
    pub attempts: u32,
}

/// What users lost during the incident.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Impact {
    /// User requests answered.
    pub requests: u64,
    /// Of those, failed ones.
    pub failed_requests: u64,
    /// Of the failed ones, those a harmful release caused (beyond what requests on other
    /// versions suffered): what a canary would have limited.
    pub release_failures: u64,
    /// Distinct users who saw a failure.
    pub affected_users: u64,
    /// Revenue of the failed requests.
    pub lost_revenue: f64,
    /// Share of the error budget burned (0.25 = 25%).
    pub budget_burned: f64,
}

/// A release that contributed to the incident.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployNote {
    /// The version's name.
    pub version: String,
    /// How it rolled out: `all_at_once`, `rolling`, `canary`, `blue_green`, ….
    pub strategy: String,
    /// When the rollout started, ms.
    pub start_ms: i64,
    /// When it ended, ms; `None`: in progress at the end.
    pub end_ms: Option<i64>,
    /// `completed`, `rolled_back`, `failed` or `in_progress`.
    pub outcome: String,
    /// Whether the version itself hurt users.
    pub harmful: bool,
    /// The share of traffic its canary took, if it had one.
    pub canary_share: Option<f64>,
}

/// The post-mortem of `input`'s incident, as Markdown. Missing values render as "—",
/// "not detected" and the like; it never panics.
pub fn render(input: &PostmortemInput) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Incident {}: {}\n", input.number, headline(input));
    let _ = writeln!(
        out,
        "_Scenario `{}`. A blameless post-mortem: it is about the system, not people._\n",
        input.scenario
    );
    let _ = writeln!(out, "## Summary\n\n{}\n", summary(input));
    impact_section(&mut out, &input.impact);
    timeline_section(&mut out, input);
    response_section(&mut out, input);
    causes_section(&mut out, input);
    let items = suggestions(input);
    out.push_str("## What would have shortened it\n\n");
    if items.is_empty() {
        out.push_str("- Nothing obvious: detection, response and mitigation were all prompt.\n");
    }
    for s in &items {
        let _ = writeln!(out, "- {s}");
    }
    out.push_str("\n## Action items\n\n");
    if items.is_empty() {
        out.push_str("- None.\n");
    }
    for s in &items {
        let _ = writeln!(out, "- [ ] {s}");
    }
    out
}

/// The one-line summary: the first cause, then the harm.
fn headline(input: &PostmortemInput) -> String {
    let deploy = input.deploys.iter().find(|d| d.harmful).or(input.deploys.first());
    let cause = match (input.faults.first(), deploy) {
        (Some(f), _) => f.clone(),
        (None, Some(d)) => format!("release {} ({})", d.version, d.strategy),
        (None, None) => "degraded service".to_string(),
    };
    let i = &input.impact;
    let harm = if i.requests > 0 {
        format!("{} of {} requests failed ({})", count(i.failed_requests), count(i.requests), failed_pct(i))
    } else {
        format!("{} requests failed", count(i.failed_requests))
    };
    format!("{cause}: {harm} over {}", dur(input.timeline.to_resolve_ms()))
}

/// The summary paragraph: duration, impact, detection, acknowledgement, mitigation.
fn summary(input: &PostmortemInput) -> String {
    let (t, i) = (&input.timeline, &input.impact);
    let mut s = format!(
        "For {}, from {} to {}, {} of {} requests failed ({}), {} users were affected and {} of revenue was lost; \
         the incident burned {} of the error budget.",
        dur(t.to_resolve_ms()),
        at(input, t.start_ms),
        at(input, t.resolved_ms),
        count(i.failed_requests),
        count(i.requests),
        failed_pct(i),
        count(i.affected_users),
        money(i.lost_revenue),
        percent(i.budget_burned),
    );
    match (t.to_detect_ms(), first_paged_alert(input)) {
        (Some(d), Some(a)) => {
            let _ = write!(s, " It was detected {} after it started, when the paging alert `{}` fired", dur(d), a.name);
        }
        (Some(d), None) => {
            let _ = write!(s, " It was detected {} after it started, when a paging alert fired", dur(d));
        }
        (None, _) => s.push_str(" It was not detected: no paging alert fired."),
    }
    match (t.detected_ms, t.paged_ms) {
        (Some(_), Some(p)) => {
            let _ = write!(s, "; the page went out {} after the start.", dur(p - t.start_ms));
        }
        (Some(_), None) => s.push_str("; no page went out."),
        (None, _) => {}
    }
    match (t.to_acknowledge_ms(), acknowledger(input)) {
        (Some(a), Some(who)) => {
            let _ = write!(s, " {who} acknowledged {} after the alert fired.", dur(a));
        }
        (Some(a), None) => {
            let _ = write!(s, " A responder acknowledged {} after the alert fired.", dur(a));
        }
        (None, _) if t.detected_ms.is_some() => s.push_str(" Nobody acknowledged the page."),
        (None, _) => {}
    }
    match (t.to_mitigate_ms(), mitigating_action(input)) {
        (Some(m), Some(a)) => {
            let _ = write!(s, " `{}` by {} mitigated it {} after the start.", a.action, a.by, dur(m));
        }
        (Some(m), None) => {
            let _ = write!(s, " It was mitigated {} after the start.", dur(m));
        }
        (None, _) => s.push_str(" No action mitigated it; it ended on its own."),
    }
    s
}

/// `## Impact`: a table.
fn impact_section(out: &mut String, i: &Impact) {
    out.push_str("## Impact\n\n| Measure | Value |\n|---|---|\n");
    let _ = writeln!(out, "| Requests | {} |", count(i.requests));
    let _ = writeln!(out, "| Failed requests | {} ({}) |", count(i.failed_requests), failed_pct(i));
    let _ = writeln!(out, "| Affected users | {} |", count(i.affected_users));
    let _ = writeln!(out, "| Lost revenue | {} |", money(i.lost_revenue));
    let _ = writeln!(out, "| Error budget burned | {} |\n", percent(i.budget_burned));
}

/// `## Timeline`: the milestones and the events, by time (milestones first on a tie).
fn timeline_section(out: &mut String, input: &PostmortemInput) {
    let t = &input.timeline;
    let mut rows: Vec<(i64, String)> = vec![(t.start_ms, "**Start**: users start being hurt".to_string())];
    if let Some(d) = t.detected_ms {
        let what = first_paged_alert(input).map_or("an alert".to_string(), |a| format!("`{}`", a.name));
        rows.push((d, format!("**Detected**: {what} fired (a paging alert)")));
    }
    if let Some(p) = t.paged_ms {
        rows.push((p, "**Paged**: the first page went out".to_string()));
    }
    if let Some(a) = t.acknowledged_ms {
        rows.push((a, format!("**Acknowledged** by {}", acknowledger(input).unwrap_or("a responder"))));
    }
    if let Some(m) = t.mitigated_ms {
        let what = mitigating_action(input).map_or("an action".to_string(), |a| format!("`{}` by {}", a.action, a.by));
        rows.push((m, format!("**Mitigated**: {what} took effect")));
    }
    rows.push((t.resolved_ms, "**Resolved**: users no longer hurt".to_string()));
    rows.extend(input.events.iter().map(|e| (e.t_ms, escape_cell(&e.text))));
    rows.sort_by_key(|r| r.0);
    out.push_str("## Timeline\n\n| Time | Clock | What happened |\n|---|---|---|\n");
    for (t_ms, text) in rows {
        let _ = writeln!(out, "| {} | {} | {text} |", format_offset(t_ms), clock(input.start_time_s, t_ms));
    }
    out.push('\n');
}

/// `## Detection and response`: this incident's times, the pages and the alerts.
fn response_section(out: &mut String, input: &PostmortemInput) {
    let t = &input.timeline;
    out.push_str("## Detection and response\n\n");
    let detect = t.to_detect_ms().map_or("not detected".to_string(), dur);
    let ack = t.to_acknowledge_ms().map_or("not acknowledged".to_string(), |a| format!("{} after detection", dur(a)));
    let mitigate = t.to_mitigate_ms().map_or("not mitigated by an action".to_string(), dur);
    let page = match (t.detected_ms, t.paged_ms) {
        (Some(_), Some(p)) => dur(p - t.start_ms),
        (Some(_), None) => "no page went out".to_string(),
        (None, _) => "nobody was paged".to_string(),
    };
    let _ = writeln!(out, "- Time to detect (the paging alert fired): {detect}");
    let _ = writeln!(out, "- Time to page (the first page went out): {page}");
    let _ = writeln!(out, "- Time to acknowledge: {ack}");
    let _ = writeln!(out, "- Time to mitigate: {mitigate}");
    let _ = writeln!(out, "- Time to resolve: {}", dur(t.to_resolve_ms()));
    if input.pages.is_empty() {
        out.push_str("- Nobody was paged.\n");
    }
    for p in &input.pages {
        let _ = writeln!(out, "- {}", describe_page(input, p));
    }
    for a in &input.alerts {
        let resolved = a
            .resolved_ms
            .map_or("was still firing at the end".to_string(), |r| format!("resolved at {}", at(input, r)));
        let paged = if a.paged { "paged" } else { "did not page" };
        let _ = writeln!(
            out,
            "- Alert `{}` (set `{}`, {}) fired at {}, {resolved}; it {paged}.",
            a.name,
            a.set,
            if a.severity.is_empty() { "no severity" } else { &a.severity },
            at(input, a.fired_ms)
        );
    }
    out.push('\n');
}

/// One line about a page: when, in or out of hours, who was paged, who acknowledged.
fn describe_page(input: &PostmortemInput, p: &Page) -> String {
    let opened = ms(p.opened_ns);
    let hours = if out_of_hours(input, opened) { "out of business hours" } else { "in business hours" };
    let when = format!("{} ({}, {hours})", format_offset(opened), clock(input.start_time_s, opened));
    let alerts: Vec<String> = p.alerts.iter().map(|a| format!("`{a}`")).collect();
    let alerts = if alerts.is_empty() { "no named alert".to_string() } else { alerts.join(", ") };
    let who: Vec<String> = p
        .attempts
        .iter()
        .map(|a| {
            format!("{} at {}{}", a.responder, format_offset(ms(a.paged_ns)), if a.missed { " (missed)" } else { "" })
        })
        .collect();
    let who = if who.is_empty() { "nobody".to_string() } else { who.join(", then ") };
    let ack = match (&p.acknowledged, p.ack_delay_ns()) {
        (Some(a), Some(d)) => {
            format!("acknowledged by {} at {}, {} after it opened", a.by, format_offset(ms(a.at_ns)), dur(ms(d)))
        }
        _ => "nobody acknowledged".to_string(),
    };
    let escalations = p.attempts.len().saturating_sub(1);
    format!(
        "Page {} opened at {when} for {alerts}: paged {who}; {ack}; {escalations} escalation{}.",
        p.id + 1,
        if escalations == 1 { "" } else { "s" }
    )
}

/// `## Contributing causes`: faults and releases.
fn causes_section(out: &mut String, input: &PostmortemInput) {
    out.push_str("## Contributing causes\n\n");
    if input.faults.is_empty() && input.deploys.is_empty() {
        out.push_str("- None recorded: no injected fault or release overlapped the incident.\n");
    }
    for f in &input.faults {
        let _ = writeln!(out, "- Fault: {f}");
    }
    for d in &input.deploys {
        let end = d.end_ms.map_or("—".to_string(), format_offset);
        let canary = d.canary_share.map_or("no canary".to_string(), |c| format!("canary {}", percent(c)));
        let harm = if d.harmful { "harmful" } else { "not harmful itself" };
        let _ = writeln!(
            out,
            "- Release `{}`: {} ({canary}), {} → {end}, {}; {harm}.",
            d.version,
            d.strategy,
            format_offset(d.start_ms),
            d.outcome
        );
    }
    out.push('\n');
}

/// The earliest paging alert.
fn first_paged_alert(input: &PostmortemInput) -> Option<&AlertNote> {
    input.alerts.iter().filter(|a| a.paged).min_by_key(|a| a.fired_ms)
}

/// Who acknowledged: the first page acknowledged.
fn acknowledger(input: &PostmortemInput) -> Option<&str> {
    input.pages.iter().find_map(|p| p.acknowledged.as_ref().map(|a| a.by.as_str()))
}

/// The succeeded action that took effect closest to the mitigation (the first on a tie).
fn mitigating_action(input: &PostmortemInput) -> Option<&ActionNote> {
    let m = input.timeline.mitigated_ms?;
    input
        .actions
        .iter()
        .filter(|a| a.succeeded && a.finished_ms.is_some())
        .min_by_key(|a| (a.finished_ms.unwrap_or(m) - m).abs())
}

/// Whether `t_ms` falls outside business hours on the scenario's wall clock.
fn out_of_hours(input: &PostmortemInput, t_ms: i64) -> bool {
    !input.business_hours.contains(week_s(input.start_time_s, t_ms))
}

/// The wall clock at `t_ms`, seconds after Monday 00:00.
fn week_s(start_time_s: u64, t_ms: i64) -> u64 {
    (start_time_s as i64 + t_ms.div_euclid(1000)).rem_euclid(WEEK_S as i64) as u64
}

/// The weekday and time at `t_ms`: `Tue 14:20`.
fn clock(start_time_s: u64, t_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let s = week_s(start_time_s, t_ms);
    format!("{} {:02}:{:02}", DAYS[(s / 86_400) as usize % 7], s % 86_400 / 3600, s % 3600 / 60)
}

/// A time with its clock: `+20m00s (Tue 14:20)`.
fn at(input: &PostmortemInput, t_ms: i64) -> String {
    format!("{} ({})", format_offset(t_ms), clock(input.start_time_s, t_ms))
}

/// A duration: `15m00s`, `1h02m30s`.
fn dur(ms: i64) -> String {
    let s = format_offset(ms);
    s.strip_prefix('+').map_or(s.clone(), str::to_string)
}

/// Simulated ns to ms.
fn ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

/// An integer with thousands separators: `12,345`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars with cents and thousands separators: `$1,234.50`.
fn money(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let cents = (x.abs() * 100.0).round() as u64;
    let sign = if x < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", count(cents / 100), cents % 100)
}

/// A share as a percentage: `25.0%`.
fn percent(share: f64) -> String {
    if share.is_finite() { format!("{:.1}%", share * 100.0) } else { "—".to_string() }
}

/// The failed share of requests, or "—" without requests.
fn failed_pct(i: &Impact) -> String {
    if i.requests == 0 { "—".to_string() } else { percent(i.failed_requests as f64 / i.requests as f64) }
}

/// Text safe inside a Markdown table cell.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
