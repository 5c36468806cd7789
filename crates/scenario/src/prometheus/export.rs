//! `prodsim export`: a scenario's rules as a Prometheus rules file and its routing as an
//! Alertmanager configuration, as text (the CLI writes them).
//!
//! The rules file has one group of recording rules (the file's `[[rules]]` and the SLO's
//! burn-rate recordings), then one group per rule set with its alerting rules (written,
//! ready and burn-rate ones), each carrying the label `set` = its set's name; every group's
//! `interval` is `[monitoring] evaluation_interval`. The Alertmanager configuration has the
//! route tree, the receivers and the inhibition rules; silences are not configuration in
//! Alertmanager (they are created through its API), so they are listed in a comment.

use std::collections::BTreeMap;
use std::fmt::Write;

use prodsim_parts::ops::routing::{InhibitRule, Matcher, Receiver, ReceiverKind, Route, RoutingConfig};
use prodsim_parts::ops::rules::{AlertRule, RecordingRule};

use super::SET_LABEL;
use super::yaml::{format_prom_duration, quote};
use crate::monitoring::MonitoringSpec;
use crate::units::ns_to_ms_floor;

/// The name of the exported group of recording rules.
pub const RECORDING_GROUP: &str = "prodsim-recording";
/// The prefix of the exported group of each rule set's alerts (`prodsim-set-NAME`).
pub const SET_GROUP_PREFIX: &str = "prodsim-set-";
/// The Slack webhook written for Slack receivers: replace it with your own.
pub const SLACK_API_URL: &str = "https://hooks.slack.com/services/REPLACE/WITH/YOURS";

/// The rules of `spec` as a Prometheus rules file; `source` names the scenario in the header.
pub fn rules_yaml(spec: &MonitoringSpec, source: &str) -> String {
    let interval = format_prom_duration(ns_to_ms_floor(spec.evaluation_interval_ns));
    let mut out =
        format!("# Prometheus rules exported by prodsim from {source}.\n# See docs/prometheus.md.\ngroups:\n");
    if !spec.recording.is_empty() {
        group_header(&mut out, RECORDING_GROUP, &interval);
        spec.recording.iter().for_each(|r| recording_rule(&mut out, r));
    }
    for set in &spec.sets {
        group_header(&mut out, &format!("{SET_GROUP_PREFIX}{}", set.name), &interval);
        set.rules.iter().for_each(|r| alert_rule(&mut out, r, &set.name));
    }
    if spec.recording.is_empty() && spec.sets.is_empty() {
        out.push_str("  []\n");
    }
    out
}

fn group_header(out: &mut String, name: &str, interval: &str) {
    let _ = writeln!(out, "  - name: {}\n    interval: {interval}\n    rules:", quote(name));
}

fn recording_rule(out: &mut String, r: &RecordingRule) {
    let _ = writeln!(out, "      - record: {}\n        expr: {}", quote(&r.record), quote(r.expr.text()));
    string_map(out, "labels", &r.labels, 8);
}

fn alert_rule(out: &mut String, r: &AlertRule, set: &str) {
    let _ = writeln!(out, "      - alert: {}\n        expr: {}", quote(&r.name), quote(r.expr.text()));
    if r.for_ms > 0 {
        let _ = writeln!(out, "        for: {}", format_prom_duration(r.for_ms));
    }
    if r.keep_firing_for_ms > 0 {
        let _ = writeln!(out, "        keep_firing_for: {}", format_prom_duration(r.keep_firing_for_ms));
    }
    let mut labels = r.labels.clone();
    labels.insert(SET_LABEL.into(), set.into());
    string_map(out, "labels", &labels, 8);
    string_map(out, "annotations", &r.annotations, 8);
}

/// `key:` and one `name: value` line per entry, at `indent`; nothing when empty.
fn string_map(out: &mut String, key: &str, map: &BTreeMap<String, String>, indent: usize) {
    if map.is_empty() {
        return;
    }
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}{key}:");
    for (k, v) in map {
        let _ = writeln!(out, "{pad}  {}: {}", quote(k), quote(v));
    }
}

/// The routing as an Alertmanager configuration; `source` names the scenario in the header.
pub fn alertmanager_yaml(routing: &RoutingConfig, source: &str) -> String {
    let mut out =
        format!("# Alertmanager configuration exported by prodsim from {source}.\n# See docs/prometheus.md.\n");
    global(&mut out, &routing.receivers);
    out.push_str("route:\n");
    route(&mut out, &routing.route, 2);
    out.push_str("receivers:\n");
    routing.receivers.iter().for_each(|r| receiver(&mut out, r));
    if !routing.inhibit_rules.is_empty() {
        out.push_str("inhibit_rules:\n");
        routing.inhibit_rules.iter().for_each(|r| inhibit_rule(&mut out, r));
    }
    if !routing.silences.is_empty() {
        let _ = writeln!(
            out,
            "# {} silence(s) not exported: silences are not Alertmanager configuration (create them with `amtool silence add`):",
            routing.silences.len()
        );
        for s in &routing.silences {
            let m: Vec<String> = s.matchers.iter().map(am_matcher).collect();
            let _ = writeln!(
                out,
                "#   {} from {} to {} after the start of the run",
                m.join(" "),
                format_prom_duration(s.starts_ms),
                format_prom_duration(s.ends_ms)
            );
        }
    }
    out
}

/// `global:` with the settings the receivers need to pass `amtool check-config`.
fn global(out: &mut String, receivers: &[Receiver]) {
    let has = |kind: &str| receivers.iter().any(|r| r.kind.as_str() == kind);
    if !(has("slack") || has("email")) {
        return;
    }
    out.push_str("global:\n");
    if has("slack") {
        let _ = writeln!(out, "  slack_api_url: {}", quote(SLACK_API_URL));
    }
    if has("email") {
        out.push_str("  smtp_smarthost: \"localhost:25\"\n  smtp_from: \"alertmanager@localhost\"\n");
    }
}

fn route(out: &mut String, r: &Route, indent: usize) {
    let pad = " ".repeat(indent);
    if let Some(receiver) = &r.receiver {
        let _ = writeln!(out, "{pad}receiver: {}", quote(receiver));
    }
    if !r.matchers.is_empty() {
        let _ = writeln!(out, "{pad}matchers:");
        for m in &r.matchers {
            let _ = writeln!(out, "{pad}  - {}", quote(&am_matcher(m)));
        }
    }
    if let Some(group_by) = &r.group_by {
        let labels: Vec<String> = group_by.iter().map(|l| quote(l)).collect();
        let _ = writeln!(out, "{pad}group_by: [{}]", labels.join(", "));
    }
    for (key, v) in [
        ("group_wait", r.group_wait_ms),
        ("group_interval", r.group_interval_ms),
        ("repeat_interval", r.repeat_interval_ms),
    ] {
        if let Some(ms) = v {
            let _ = writeln!(out, "{pad}{key}: {}", format_prom_duration(ms));
        }
    }
    if r.continue_matching {
        let _ = writeln!(out, "{pad}continue: true");
    }
    if !r.routes.is_empty() {
        let _ = writeln!(out, "{pad}routes:");
        for child in &r.routes {
            // The first key of each child takes the list dash.
            let mut text = String::new();
            route(&mut text, child, indent + 4);
            let body = text.get(indent + 4..).unwrap_or_default();
            let _ = write!(out, "{pad}  - {body}");
            if text.is_empty() {
                let _ = writeln!(out, "{{}}");
            }
        }
    }
}

fn receiver(out: &mut String, r: &Receiver) {
    let _ = writeln!(out, "  - name: {}", quote(&r.name));
    let (key, field, value) = match &r.kind {
        ReceiverKind::Slack { channel } => ("slack_configs", "channel", channel),
        ReceiverKind::Email { to } => ("email_configs", "to", to),
        ReceiverKind::Sms { to } => ("sns_configs", "phone_number", to),
        ReceiverKind::Pager { service } => ("pagerduty_configs", "routing_key", service),
        ReceiverKind::Webhook { url } => ("webhook_configs", "url", url),
    };
    let _ = writeln!(out, "    {key}:\n      - {field}: {}\n        send_resolved: {}", quote(value), r.send_resolved);
    if let ReceiverKind::Sms { .. } = r.kind {
        // Amazon SNS needs a region to load; prodsim's SMS has none.
        out.push_str("        sigv4:\n          region: \"us-east-1\"\n");
    }
}

fn inhibit_rule(out: &mut String, r: &InhibitRule) {
    let list = |out: &mut String, key: &str, ms: &[Matcher], first: bool| {
        let lead = if first { "  - " } else { "    " };
        let items: Vec<String> = ms.iter().map(|m| quote(&am_matcher(m))).collect();
        let _ = writeln!(out, "{lead}{key}: [{}]", items.join(", "));
    };
    list(out, "source_matchers", &r.source_matchers, true);
    list(out, "target_matchers", &r.target_matchers, false);
    if !r.equal.is_empty() {
        let labels: Vec<String> = r.equal.iter().map(|l| quote(l)).collect();
        let _ = writeln!(out, "    equal: [{}]", labels.join(", "));
    }
}

/// A matcher in Alertmanager's syntax: the value double-quoted with only `\\`, `\"` and
/// `\n` escaped, as Alertmanager unescapes them.
pub fn am_matcher(m: &Matcher) -> String {
    let mut value = String::new();
    for c in m.value.chars() {
        match c {
            '\\' => value.push_str("\\\\"),
            '"' => value.push_str("\\\""),
            '\n' => value.push_str("\\n"),
            c => value.push(c),
        }
    }
    format!("{}{}\"{value}\"", m.name, m.op.as_str())
}
