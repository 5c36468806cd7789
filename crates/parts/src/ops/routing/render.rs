//! How a notification looks in its channel: Slack, email, SMS, pager or webhook. The
//! `runbook_url` and `dashboard_url` annotations are rendered as links under each alert,
//! as the usual Alertmanager templates do (the webhook carries every annotation).

use std::fmt::Write as _;

use super::config::ReceiverKind;
use super::direct::Origin;
use super::group::{AlertStatus, Delivery, Notification, NotifiedAlert};
use super::matcher::LabelSet;

/// The annotations rendered as links, with the word each is shown with.
pub const LINK_ANNOTATIONS: [(&str, &str); 2] = [("runbook_url", "runbook"), ("dashboard_url", "dashboard")];

/// The longest SMS, in characters.
const SMS_MAX_CHARS: usize = 160;

/// A simulated time as an offset from the start of the run: `+1h02m30s`, `+2m05s`,
/// `+45s`, `+1.250s`.
pub fn format_offset(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "+" };
    let total_ms = t_ms.unsigned_abs();
    let (h, m, s, ms) = (total_ms / 3_600_000, total_ms / 60_000 % 60, total_ms / 1000 % 60, total_ms % 1000);
    let frac = if ms == 0 { String::new() } else { format!(".{ms:03}") };
    if h > 0 {
        format!("{sign}{h}h{m:02}m{s:02}{frac}s")
    } else if m > 0 {
        format!("{sign}{m}m{s:02}{frac}s")
    } else {
        format!("{sign}{s}{frac}s")
    }
}

/// Alertmanager's default title: `[FIRING:2] HighErrorRate (api critical)`: the status
/// (with the firing count), the group labels' values, then in parentheses the values of
/// the other labels every alert shares.
pub fn title(n: &Notification) -> String {
    let mut out = match n.status() {
        AlertStatus::Firing => format!("[FIRING:{}]", n.firing()),
        AlertStatus::Resolved => "[RESOLVED]".to_string(),
    };
    for value in n.group_labels.values() {
        out.push(' ');
        out.push_str(value);
    }
    let common = common_labels(&n.alerts);
    let extra: Vec<&str> =
        common.iter().filter(|(k, _)| !n.group_labels.contains_key(*k)).map(|(_, v)| v.as_str()).collect();
    if !extra.is_empty() {
        let _ = write!(out, " ({})", extra.join(" "));
    }
    out
}

/// What follows a notification's title: whether it is a reminder, whether it failed or
/// came through a fallback.
fn marks(n: &Notification) -> String {
    let mut out = if n.repeat { " (reminder)" } else { "" }.to_string();
    match &n.delivery {
        Delivery::Delivered => {}
        Delivery::Failed => out.push_str(" (NOT DELIVERED: the channel is down)"),
        Delivery::Fallback { from } => {
            let _ = write!(out, " (fallback: `{from}` is down)");
        }
    }
    out
}

/// The notification as its channel shows it, prefixed with the simulated time.
pub fn render(n: &Notification) -> String {
    let at = format_offset(n.t_ms);
    let reminder = marks(n);
    match &n.origin {
        Origin::Pipeline { author, version } => render_pipeline(n, &at, &reminder, author, version),
        Origin::Alert => render_alert(n, &at, &reminder),
    }
}

/// An alert group's notification as its channel shows it (`at`: its time; `reminder`: its
/// marks).
fn render_alert(n: &Notification, at: &str, reminder: &str) -> String {
    match &n.kind {
        ReceiverKind::Slack { channel } => {
            let mut out = format!("{at} {channel}  {}{reminder}", title(n));
            let common = common_labels(&n.alerts);
            for alert in &n.alerts {
                let _ = write!(out, "\n  • {}", alert_line(alert, &common));
                for (word, url) in links(alert) {
                    let _ = write!(out, "\n    {word}: {url}");
                }
            }
            out
        }
        ReceiverKind::Email { to } => {
            let mut out = format!("{at} email to {to}\nSubject: {}{reminder}\n", title(n));
            for (status, heading) in [(AlertStatus::Firing, "Firing"), (AlertStatus::Resolved, "Resolved")] {
                let alerts: Vec<&NotifiedAlert> = n.alerts.iter().filter(|a| a.status == status).collect();
                if alerts.is_empty() {
                    continue;
                }
                let _ = write!(out, "\n{heading} ({}):", alerts.len());
                for alert in alerts {
                    let _ = write!(
                        out,
                        "\n  - {}\n    labels: {}\n    {}",
                        summary(alert),
                        labels_text(&alert.labels),
                        since(alert)
                    );
                    if let Some(description) = alert.annotations.get("description") {
                        let _ = write!(out, "\n    {description}");
                    }
                    for (word, url) in links(alert) {
                        let _ = write!(out, "\n    {word}: {url}");
                    }
                }
            }
            out
        }
        ReceiverKind::Sms { to } => {
            let first = n.alerts.first().map(summary).unwrap_or_default();
            // The runbook comes first: a link cut in half is useless.
            let runbook = n.alerts.first().and_then(|a| a.annotations.get("runbook_url"));
            let runbook = runbook.map(|u| format!(" {u}")).unwrap_or_default();
            truncate_chars(&format!("{at} SMS {to}:{runbook} {}{reminder}: {first}", title(n)), SMS_MAX_CHARS)
        }
        ReceiverKind::Pager { service } => {
            let name = n.alerts.first().and_then(|a| a.labels.get("alertname")).map_or("alert", String::as_str);
            let first = n.alerts.first().map(summary).unwrap_or_default();
            match n.status() {
                AlertStatus::Firing => {
                    let mut out = format!(
                        "{at} PAGE {service} [{}] {name}: {first} ({} firing){reminder}",
                        severity(&n.alerts),
                        n.firing()
                    );
                    for (word, url) in n.alerts.first().map(links).unwrap_or_default() {
                        let _ = write!(out, " {word}: {url}");
                    }
                    out
                }
                AlertStatus::Resolved => format!("{at} PAGE {service} [RESOLVED] {name}: {first}{reminder}"),
            }
        }
        ReceiverKind::Webhook { url } => {
            let body = serde_json::json!({
                "receiver": n.receiver,
                "status": n.status().as_str(),
                "groupLabels": n.group_labels,
                "alerts": n.alerts.iter().map(|a| serde_json::json!({
                    "status": a.status.as_str(),
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "startsAt": a.starts_ms,
                    "endsAt": a.ends_ms,
                })).collect::<Vec<_>>(),
            });
            format!("{at} POST {url}{reminder} {body}")
        }
    }
}

/// A pipeline's direct message to the committer, as each channel shows it: addressed to
/// the author, with what failed (the summary names the release; no alert title, no
/// grouping).
fn render_pipeline(n: &Notification, at: &str, marks: &str, author: &str, version: &str) -> String {
    let what = n.alerts.first().map(summary).unwrap_or_default();
    match &n.kind {
        ReceiverKind::Slack { channel } => format!("{at} {channel}  @{author} [PIPELINE] {what}{marks}"),
        ReceiverKind::Email { to } => {
            format!("{at} email to {to}\nSubject: [PIPELINE] {version} by {author} failed{marks}\n\n{what}")
        }
        ReceiverKind::Sms { to } => {
            truncate_chars(&format!("{at} SMS {to}: [PIPELINE] @{author}{marks}: {what}"), SMS_MAX_CHARS)
        }
        ReceiverKind::Pager { service } => format!("{at} NOTIFY {service} [pipeline] @{author}: {what}{marks}"),
        ReceiverKind::Webhook { url } => {
            let body = serde_json::json!({
                "receiver": n.receiver,
                "kind": "pipeline",
                "author": author,
                "version": version,
                "summary": what,
            });
            format!("{at} POST {url}{marks} {body}")
        }
    }
}

/// One alert on one line: status, summary, the labels that set it apart from the others
/// (all of them for a lone alert), since when.
fn alert_line(alert: &NotifiedAlert, common: &LabelSet) -> String {
    let own: LabelSet =
        alert.labels.iter().filter(|(k, _)| !common.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let shown = if own.is_empty() { &alert.labels } else { &own };
    format!("[{}] {} — {} ({})", alert.status.as_str(), summary(alert), labels_text(shown), since(alert))
}

/// The alert's links (`runbook_url`, `dashboard_url`) that it has, with their words.
fn links(alert: &NotifiedAlert) -> Vec<(&'static str, &str)> {
    LINK_ANNOTATIONS.iter().filter_map(|(key, word)| Some((*word, alert.annotations.get(*key)?.as_str()))).collect()
}

/// The `summary` annotation, else the alert's name.
fn summary(alert: &NotifiedAlert) -> String {
    alert
        .annotations
        .get("summary")
        .or_else(|| alert.labels.get("alertname"))
        .cloned()
        .unwrap_or_else(|| "(no summary)".to_string())
}

/// `since +1h00m00s`, or `+1h00m00s → +1h10m00s` once resolved.
fn since(alert: &NotifiedAlert) -> String {
    match alert.ends_ms {
        None => format!("since {}", format_offset(alert.starts_ms)),
        Some(end) => format!("{} → {}", format_offset(alert.starts_ms), format_offset(end)),
    }
}

/// `service=api severity=critical`.
fn labels_text(labels: &LabelSet) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// The labels (name and value) every alert has.
fn common_labels(alerts: &[NotifiedAlert]) -> LabelSet {
    let Some((first, rest)) = alerts.split_first() else { return LabelSet::new() };
    first
        .labels
        .iter()
        .filter(|(k, v)| rest.iter().all(|a| a.labels.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The most severe `severity` label among the alerts (critical, page, error, warning,
/// info, then anything else), or `unknown`.
fn severity(alerts: &[NotifiedAlert]) -> &str {
    let rank = |s: &str| match s {
        "critical" => 0,
        "page" => 1,
        "error" => 2,
        "warning" => 3,
        "info" => 4,
        _ => 5,
    };
    alerts
        .iter()
        .filter_map(|a| a.labels.get("severity"))
        .map(String::as_str)
        .min_by_key(|s| (rank(s), *s))
        .unwrap_or("unknown")
}

/// At most `max` characters, ending with `…` if cut.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
