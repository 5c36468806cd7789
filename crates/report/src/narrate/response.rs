//! What watched and answered during a narrated run: alert firings and resolutions,
//! notifications, pages and their escalations, acknowledgements, playbook actions,
//! releases (pipeline, rollout, rollback) and the ground truth's incidents.

use std::fmt::Write;

use prodsim_kernel::units::{format_duration, ms_to_ns};
use prodsim_model::outcome::{DeliveryOutcome, MonitoringOutcome, Outcome, ReleaseEnd};
use prodsim_parts::deploy::pipeline::StageResult;
use prodsim_parts::ops::routing::{self as render, Delivery, Notification, ReceiverKind};

use super::{Line, capped, errors_now, percent};
use crate::text::thousands;

/// Every line about monitoring and response.
pub fn lines(o: &Outcome) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(m) = o.system.monitoring.as_deref() {
        lines.extend(alerts(m));
        lines.extend(notifications(m));
        lines.extend(incidents(m));
    }
    if let Some(d) = o.system.delivery.as_ref() {
        lines.extend(pages(o, d));
        lines.extend(actions(d));
        lines.extend(releases(o, d));
    }
    lines
}

/// Time in ms of the monitoring clock (from the start of the run) as ns.
fn at(ms: i64) -> u64 {
    ms_to_ns(ms.max(0))
}

fn alerts(m: &MonitoringOutcome) -> Vec<Line> {
    let mut fired = Vec::new();
    let mut resolved = Vec::new();
    for e in &m.episodes {
        let Some(firing) = e.firing_ms else { continue };
        let sev = if e.severity.is_empty() { String::new() } else { format!(" [{}]", e.severity) };
        let labels = crate::text_alerting::episode_labels(e);
        let on = if labels.is_empty() { String::new() } else { format!(" for {}", labels.join(" ")) };
        let truth = if e.true_positive { "users are hurting" } else { "a false alarm: users are fine" };
        let pending = match firing - e.pending_ms {
            0 => String::new(),
            ms => format!(" after {} pending", span(ms)),
        };
        fired.push(Line { t_ns: at(firing), text: format!("alert {}{sev} fires{on}{pending} ({truth})", e.alert) });
        if let Some(r) = e.resolved_ms {
            resolved.push(Line {
                t_ns: at(r),
                text: format!("alert {} resolves after {} firing", e.alert, span(r - firing)),
            });
        }
    }
    let mut lines = capped(fired, "alert firings");
    lines.extend(capped(resolved, "alert resolutions"));
    lines
}

fn span(ms: i64) -> String {
    format_duration(ms_to_ns(ms.max(0)))
}

/// The channel in words: `#production-alerts`, `email to x@y`, `the pager (oncall)`.
fn channel(kind: &ReceiverKind, receiver: &str) -> String {
    match kind {
        ReceiverKind::Slack { channel } => channel.clone(),
        ReceiverKind::Email { to } => format!("email to {to}"),
        ReceiverKind::Sms { to } => format!("a text message to {to}"),
        ReceiverKind::Pager { service } => format!("the pager ({service})"),
        ReceiverKind::Webhook { .. } => format!("the webhook {receiver}"),
    }
}

fn notifications(m: &MonitoringOutcome) -> Vec<Line> {
    let mut lines = Vec::new();
    for set in &m.sets {
        for n in &set.notifications {
            let what = if n.repeat { "a reminder" } else { "a notification" };
            let to = channel(&n.kind, &n.receiver);
            let text = match &n.delivery {
                Delivery::Delivered => format!("{to} gets {what}: {}", render::title(n)),
                Delivery::Failed => format!("{what} to {to} fails, the channel is down: {}", render::title(n)),
                Delivery::Fallback { from } => {
                    format!("{to} gets {what} in place of `{from}`, which is down: {}", render::title(n))
                }
            };
            lines.push(Line { t_ns: at(n.t_ms), text });
        }
    }
    capped(lines, "notifications")
}

fn incidents(m: &MonitoringOutcome) -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, inc) in m.incidents.iter().enumerate() {
        let x = &inc.incident;
        let bad = if x.requests > 0 { x.bad as f64 / x.requests as f64 } else { 0.0 };
        lines.push(Line {
            t_ns: at(x.start_ms),
            text: format!(
                "incident #{i} begins (the ground truth: users get bad answers, {} of requests)",
                percent(bad)
            ),
        });
        let mut text = format!(
            "incident #{i} ends after {}: {} bad requests, {} of the error budget burned",
            span(x.end_ms - x.start_ms),
            thousands(x.bad),
            percent(inc.budget_burned)
        );
        if inc.lost_revenue > 0.0 {
            let _ = write!(text, ", ${} of revenue lost", thousands(inc.lost_revenue.round() as u64));
        }
        if inc.detected_ms.is_none() {
            text.push_str("; no alert paged for it");
        }
        lines.push(Line { t_ns: at(x.end_ms), text });
    }
    capped(lines, "incident lines")
}

/// Pages: who was paged (and through which channel), escalations, acknowledgements.
fn pages(o: &Outcome, d: &DeliveryOutcome) -> Vec<Line> {
    let mut lines = Vec::new();
    let monitoring = o.system.monitoring.as_deref();
    for p in &d.pages {
        let first = p.alerts.first().map_or("an alert", String::as_str);
        let later = match p.alerts.get(1..) {
            Some(rest) if !rest.is_empty() => format!("; {} join it later", rest.join(", ")),
            _ => String::new(),
        };
        for (i, a) in p.attempts.iter().enumerate() {
            let text = if i == 0 {
                let via = monitoring
                    .and_then(|m| via(m, ms(p.opened_ns)))
                    .map(|c| format!(" through {c}"))
                    .unwrap_or_default();
                format!("{first} pages {}{via} (page #{}{later})", a.responder, p.id)
            } else {
                format!("page #{} is not acknowledged: it escalates to {}", p.id, a.responder)
            };
            lines.push(Line { t_ns: a.paged_ns, text });
        }
        if let Some(ack) = &p.acknowledged {
            let after = format_duration(ack.at_ns.saturating_sub(p.opened_ns));
            lines.push(Line { t_ns: ack.at_ns, text: format!("{} acknowledges page #{} after {after}", ack.by, p.id) });
        }
    }
    capped(lines, "page lines")
}

fn ms(ns: u64) -> i64 {
    prodsim_kernel::units::ns_to_ms_floor(ns)
}

/// The channels that got a firing notification at `t_ms`: how the page reached its person.
fn via(m: &MonitoringOutcome, t_ms: i64) -> Option<String> {
    let mut channels: Vec<String> = Vec::new();
    let reached = |n: &&Notification| n.t_ms == t_ms && n.firing() > 0 && n.delivery.reached();
    for n in m.sets.iter().flat_map(|s| &s.notifications).filter(reached) {
        let c = channel(&n.kind, &n.receiver);
        if !channels.contains(&c) {
            channels.push(c);
        }
    }
    (!channels.is_empty()).then(|| channels.join(" and "))
}

fn actions(d: &DeliveryOutcome) -> Vec<Line> {
    let mut lines = Vec::new();
    for a in &d.actions {
        // A player's action with no page yet answers no alert.
        let text = if a.alert.is_empty() {
            format!("{} runs {} (no page yet)", a.by, a.action)
        } else {
            format!("{} runs the playbook for {}: {} (page #{})", a.by, a.alert, a.action, a.page)
        };
        lines.push(Line { t_ns: a.started_ns, text });
        if let Some(done) = a.finished_ns {
            let how = if a.succeeded { "is done" } else { "fails" };
            let mut text = format!("{}'s {} {how} after {}", a.by, a.action, format_duration(done - a.started_ns));
            if let Some(note) = &a.note {
                let _ = write!(text, " ({note})");
            }
            lines.push(Line { t_ns: done, text });
        }
    }
    capped(lines, "action lines")
}

fn releases(o: &Outcome, d: &DeliveryOutcome) -> Vec<Line> {
    let mut lines = Vec::new();
    for r in &d.releases {
        let who =
            if r.hotfix { format!("the hotfix {} by {}", r.version, r.by) } else { format!("release {}", r.version) };
        lines.push(Line { t_ns: r.merged_ns, text: format!("{who} is merged and enters the pipeline") });
        for s in r.stages.iter().filter(|s| s.result != StageResult::Passed) {
            let what = match s.result {
                StageResult::CaughtRegression => {
                    format!("{} catches a regression in {}: it never reaches production", s.kind.as_str(), r.version)
                }
                StageResult::Failed => format!("{} fails for {}", s.kind.as_str(), r.version),
                StageResult::Passed => continue,
            };
            lines.push(Line { t_ns: s.end_ns, text: what });
        }
        if let Some(t) = r.rollout_start_ns {
            let text =
                format!("{} starts rolling out to production ({}, replacing {})", r.version, r.strategy, r.previous);
            lines.push(Line { t_ns: t, text });
        }
        if let Some(t) = r.everywhere_ns {
            let mut text = format!("{} reaches every server", r.version);
            if let Some(now) = errors_now(o, t) {
                let _ = write!(text, "; {now}");
            }
            lines.push(Line { t_ns: t, text });
        }
        if let Some(line) = release_end(o, r) {
            lines.push(line);
        }
        if let (Some(author), Some(t)) = (&r.author, r.notified_ns) {
            lines.push(Line {
                t_ns: t,
                text: format!("the pipeline tells {author}, who committed {}, that it failed", r.version),
            });
        }
    }
    capped(lines, "release lines")
}

fn release_end(o: &Outcome, r: &prodsim_model::outcome::ReleaseOutcome) -> Option<Line> {
    let t = r.end_ns?;
    let why = r.reason.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
    let mut text = match r.outcome {
        ReleaseEnd::RolledBack => {
            let by = r.rolled_back_by.as_deref().unwrap_or("the pipeline");
            format!("{} is rolled back to {} by {by}{why}", r.version, r.previous)
        }
        ReleaseEnd::Failed => format!("{} fails and stops{why}", r.version),
        ReleaseEnd::Completed | ReleaseEnd::InProgress => return None,
    };
    if let Some(now) = errors_now(o, t) {
        let _ = write!(text, "; {now}");
    }
    Some(Line { t_ns: t, text })
}
