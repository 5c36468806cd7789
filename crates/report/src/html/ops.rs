//! The operations sections of a run's page: incidents with their timelines and the
//! post-mortem, alert quality per rule and per rule set, and every notification as its
//! channel shows it (a Slack message, an e-mail, an SMS, a page, a webhook call).

use std::fmt::Write as _;

use prodsim_model::outcome::{MonitoringOutcome, Outcome};
use prodsim_parts::ops::routing::{self as render, Notification, Origin, ReceiverKind};

use super::escape::html;
use crate::summary_alerting::{AlertingSummary, QualitySummary};

/// Most notifications drawn; the rest are in `notifications.txt`.
pub const MAX_NOTIFICATIONS: usize = 300;

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |s| render::format_offset((s * 1000.0).round() as i64))
}

/// Incidents with their timelines, then the post-mortem.
pub fn incidents(a: &AlertingSummary, postmortem: Option<&str>) -> String {
    if a.incidents.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<section id=\"incidents\"><h2>Incidents</h2><table><tr><th>#</th><th>start</th><th>detected</th>\
         <th>acknowledged</th><th>mitigated</th><th>resolved</th><th>failed / requests</th><th>budget burned</th>\
         <th>users affected</th><th>faults</th><th>deploys</th></tr>",
    );
    for (k, i) in a.incidents.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td>{k}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{:.1}%</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            secs(Some(i.start_s)),
            secs(i.detected_s),
            secs(i.acknowledged_s),
            secs(i.mitigated_s),
            secs(Some(i.resolved_s)),
            i.failed_requests,
            i.requests,
            i.budget_burned * 100.0,
            i.affected_users,
            html(&i.faults.join(", ")),
            html(&i.deploys.join(", "))
        );
    }
    s.push_str("</table>");
    let _ = write!(
        s,
        "<p class=\"meta\">MTTD {} · MTTA {} · MTTM {} · MTTR {}</p>",
        secs(a.mttd_s).trim_start_matches('+'),
        secs(a.mtta_s).trim_start_matches('+'),
        secs(a.mttm_s).trim_start_matches('+'),
        secs(a.mttr_s).trim_start_matches('+')
    );
    if let Some(md) = postmortem {
        s.push_str("<details open class=\"postmortem\"><summary>Post-mortem</summary>");
        s.push_str(&markdown(md));
        s.push_str("</details>");
    }
    s.push_str("</section>");
    s
}

/// A small Markdown subset (headings, bullets, tables as text, paragraphs, `---`), all
/// text escaped.
fn markdown(md: &str) -> String {
    let mut s = String::new();
    let mut list = false;
    let mut table = false;
    for line in md.lines() {
        let t = line.trim_end();
        if table && !t.starts_with('|') {
            s.push_str("</table>");
            table = false;
        }
        let item = t.strip_prefix("- ").or_else(|| t.strip_prefix("* "));
        if list && item.is_none() {
            s.push_str("</ul>");
            list = false;
        }
        if let Some(rest) = item {
            if !list {
                s.push_str("<ul>");
                list = true;
            }
            let _ = write!(s, "<li>{}</li>", inline(rest));
        } else if let Some(h) = t.strip_prefix("### ") {
            let _ = write!(s, "<h5>{}</h5>", inline(h));
        } else if let Some(h) = t.strip_prefix("## ") {
            let _ = write!(s, "<h4>{}</h4>", inline(h));
        } else if let Some(h) = t.strip_prefix("# ") {
            let _ = write!(s, "<h3>{}</h3>", inline(h));
        } else if t == "---" {
            s.push_str("<hr>");
        } else if t.starts_with('|') {
            let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
            if cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
                continue;
            }
            let tag = if table { "td" } else { "th" };
            if !table {
                s.push_str("<table class=\"md-table\">");
                table = true;
            }
            s.push_str("<tr>");
            for c in cells {
                let _ = write!(s, "<{tag}>{}</{tag}>", inline(c));
            }
            s.push_str("</tr>");
        } else if let Some(em) = t.strip_prefix('_').and_then(|r| r.strip_suffix('_')) {
            let _ = write!(s, "<p><em>{}</em></p>", inline(em));
        } else if !t.is_empty() {
            let _ = write!(s, "<p>{}</p>", inline(t));
        }
    }
    if list {
        s.push_str("</ul>");
    }
    if table {
        s.push_str("</table>");
    }
    s
}

/// `**bold**` and `` `code` `` inside escaped text.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in html(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, p) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<strong>{p}</strong>");
                } else {
                    out.push_str(p);
                }
            }
        }
    }
    out
}

fn opt_pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.0}%", v * 100.0))
}

fn quality_row(s: &mut String, name: &str, q: &QualitySummary) {
    let _ = write!(
        s,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
        html(name),
        q.episodes,
        q.true_positives,
        opt_pct(q.precision),
        opt_pct(q.recall),
        secs(q.detection_time_s).trim_start_matches('+'),
        q.notifications,
        q.pages,
        q.pages_per_week,
        q.flapping,
        q.duplicates
    );
}

/// Alert quality: every set, every rule, and the whole file.
pub fn quality(a: &AlertingSummary) -> String {
    let head = "<tr><th>name</th><th>firings</th><th>true positives</th><th>precision</th><th>recall</th>\
                <th>detection</th><th>notifications</th><th>pages</th><th>pages / week</th><th>flapping</th><th>duplicates</th></tr>";
    let q = &a.alert_quality;
    let mut s = format!("<section id=\"alert-quality\"><h2>Alert quality</h2><h3>Per rule set</h3><table>{head}");
    for (name, set) in &q.sets {
        quality_row(&mut s, name, set);
    }
    quality_row(&mut s, "all sets", &q.whole);
    let _ = write!(s, "</table><h3>Per rule</h3><table>{head}");
    for (name, rule) in &q.rules {
        quality_row(&mut s, name, rule);
    }
    s.push_str("</table></section>");
    s
}

/// Every notification as its channel shows it (the pipeline's messages to committers
/// among them, as set `pipeline`).
pub fn notifications(m: &MonitoringOutcome) -> String {
    let all: Vec<(&str, &Notification)> = m
        .sets
        .iter()
        .flat_map(|set| set.notifications.iter().map(move |n| (set.name.as_str(), n)))
        .chain(m.pipeline_notifications.iter().map(|n| ("pipeline", n)))
        .collect();
    let mut sorted = all;
    sorted.sort_by_key(|(_, n)| n.t_ms);
    let mut s = format!("<section id=\"notifications\"><h2>Notifications ({})</h2>", sorted.len());
    if sorted.is_empty() {
        s.push_str("<p>No notification was sent.</p>");
    }
    s.push_str("<div class=\"messages\">");
    for (set, n) in sorted.iter().take(MAX_NOTIFICATIONS) {
        message(&mut s, set, n);
    }
    s.push_str("</div>");
    if sorted.len() > MAX_NOTIFICATIONS {
        let _ = write!(s, "<p>… and {} more in notifications.txt.</p>", sorted.len() - MAX_NOTIFICATIONS);
    }
    s.push_str("</section>");
    s
}

/// One message: the channel's frame around the text the channel shows.
fn message(s: &mut String, set: &str, n: &Notification) {
    let text = render::render(n);
    let at = render::format_offset(n.t_ms);
    // The rendered text starts with the time and the channel's own first line.
    let text = text.strip_prefix(&at).unwrap_or(&text).trim_start();
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let firing = if n.firing() > 0 { "firing" } else { "resolved" };
    let (class, who, title, body) = match &n.kind {
        ReceiverKind::Slack { channel } => {
            let sender = if n.origin == Origin::Alert { "Alertmanager" } else { "CI" };
            ("slack", format!("{sender} in {channel}"), first.strip_prefix(channel.as_str()).unwrap_or(first), rest)
        }
        ReceiverKind::Email { to } => {
            let (subject, body) = rest.split_once('\n').unwrap_or((rest, ""));
            ("email", format!("To: {to}"), subject.strip_prefix("Subject: ").unwrap_or(subject), body)
        }
        ReceiverKind::Sms { to } => {
            ("sms", format!("SMS to {to}"), first.strip_prefix(&format!("SMS {to}: ")).unwrap_or(first), rest)
        }
        ReceiverKind::Pager { service } => (
            "pager",
            format!("Pager: {service}"),
            first.strip_prefix(&format!("PAGE {service} ")).unwrap_or(first),
            rest,
        ),
        ReceiverKind::Webhook { url } => ("webhook", format!("POST {url}"), first, rest),
    };
    let _ = write!(
        s,
        "<div class=\"msg {class} {firing}\"><div class=\"msg-head\"><span class=\"msg-who\">{}</span>\
         <span class=\"msg-time\">{} · {} · set {}</span></div><div class=\"msg-title\">{}</div>",
        html(&who),
        html(&at),
        html(&n.receiver),
        html(set),
        html(title.trim())
    );
    let body = body.trim_matches('\n');
    if !body.is_empty() {
        let _ = write!(s, "<pre class=\"msg-body\">{}</pre>", html(body));
    }
    s.push_str("</div>");
}

/// The post-mortem's Markdown, when the run had incidents.
pub fn postmortem_text(o: &Outcome) -> Option<String> {
    crate::postmortem::render_all(o, &o.scenario)
}
