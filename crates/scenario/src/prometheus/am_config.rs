//! Reading an Alertmanager configuration (`[routing] config`): the route tree (`receiver`,
//! `matchers` and the older `match`/`match_re`, `continue`, `group_by`, `group_wait`,
//! `group_interval`, `repeat_interval`, `routes`), receivers with one `slack_configs`,
//! `email_configs`, `sns_configs` (SMS), `pagerduty_configs` or `webhook_configs` entry,
//! and `inhibit_rules`. `global` settings are about delivery and are read but not used.
//! Time intervals, templates and other integrations are outside prodsim's routing model and
//! are refused at their line (docs/prometheus.md).

use prodsim_parts::ops::routing::{
    InhibitRule, MAX_ROUTE_DEPTH, MatchOp, Matcher, Receiver, ReceiverKind, Route, RoutingConfig,
};

use super::yaml::{Doc, Fields, Node, YamlError};

/// Receiver integrations Alertmanager has and prodsim does not model.
const OTHER_INTEGRATIONS: [&str; 8] = [
    "opsgenie_configs",
    "victorops_configs",
    "pushover_configs",
    "telegram_configs",
    "wechat_configs",
    "discord_configs",
    "msteams_configs",
    "webex_configs",
];

/// Parses an Alertmanager configuration into prodsim's routing (without silences, which
/// are not configuration). The result has been checked as Alertmanager checks it.
pub fn parse(text: &str) -> Result<RoutingConfig, YamlError> {
    let (doc, root) = Doc::parse(text)?;
    let Some(root) = root else { return Err(YamlError::new(0..0, "the Alertmanager configuration is empty")) };
    let allowed = ["global", "route", "receivers", "inhibit_rules"];
    let known = ["templates", "time_intervals", "mute_time_intervals"];
    let top = doc.map(&root, "alertmanager config", &allowed, &known)?;
    if let Some(g) = top.get("global") {
        global(&doc, g)?;
    }
    let Some(route_node) = top.get("route") else {
        return Err(doc.err(&root, "alertmanager config: `route` is required"));
    };
    let route = parse_route(&doc, route_node, 1)?;
    let mut receivers = Vec::new();
    if let Some(list) = top.get("receivers") {
        for r in doc.seq(list, "receivers")? {
            receivers.push(receiver(&doc, r)?);
        }
    }
    let mut inhibit_rules = Vec::new();
    if let Some(list) = top.get("inhibit_rules") {
        for r in doc.seq(list, "inhibit_rules")? {
            inhibit_rules.push(inhibit_rule(&doc, r)?);
        }
    }
    let config = RoutingConfig { route, receivers, inhibit_rules, silences: Vec::new() };
    config.check().map_err(|e| doc.err(route_node, e.to_string()))?;
    Ok(config)
}

/// `global`: delivery settings, accepted and unused (they do not change routing).
fn global(doc: &Doc<'_>, node: &Node<'_>) -> Result<(), YamlError> {
    let allowed = [
        "resolve_timeout",
        "http_config",
        "smtp_from",
        "smtp_hello",
        "smtp_smarthost",
        "smtp_auth_username",
        "smtp_auth_password",
        "smtp_auth_identity",
        "smtp_auth_secret",
        "smtp_require_tls",
        "slack_api_url",
        "slack_api_url_file",
        "pagerduty_url",
    ];
    doc.map(node, "global", &allowed, &[])?;
    Ok(())
}

fn parse_route(doc: &Doc<'_>, node: &Node<'_>, depth: usize) -> Result<Route, YamlError> {
    if depth > MAX_ROUTE_DEPTH {
        return Err(doc.err(node, format!("the route tree is deeper than {MAX_ROUTE_DEPTH} levels")));
    }
    let allowed = [
        "receiver",
        "matchers",
        "match",
        "match_re",
        "continue",
        "group_by",
        "group_wait",
        "group_interval",
        "repeat_interval",
        "routes",
    ];
    let r = doc.map(node, "route", &allowed, &["mute_time_intervals", "active_time_intervals"])?;
    let mut route = Route {
        receiver: r.get("receiver").map(|n| doc.str(n, "receiver")).transpose()?,
        matchers: route_matchers(doc, &r)?,
        group_by: r.get("group_by").map(|n| doc.strings(n, "group_by")).transpose()?,
        continue_matching: r.get("continue").map(|n| doc.bool(n, "continue")).transpose()?.unwrap_or(false),
        ..Route::default()
    };
    for (key, slot) in [
        ("group_wait", &mut route.group_wait_ms),
        ("group_interval", &mut route.group_interval_ms),
        ("repeat_interval", &mut route.repeat_interval_ms),
    ] {
        *slot = r.get(key).map(|n| doc.duration_ms(n, key)).transpose()?;
    }
    if let Some(list) = r.get("routes") {
        for child in doc.seq(list, "routes")? {
            route.routes.push(parse_route(doc, child, depth + 1)?);
        }
    }
    Ok(route)
}

/// A route's `matchers`, then its `match` (equality) and `match_re` (regex) maps.
fn route_matchers(doc: &Doc<'_>, r: &Fields<'_, '_>) -> Result<Vec<Matcher>, YamlError> {
    let mut out = matcher_list(doc, r.get("matchers"), "matchers")?;
    out.extend(matcher_map(doc, r.get("match"), "match", MatchOp::Eq)?);
    out.extend(matcher_map(doc, r.get("match_re"), "match_re", MatchOp::Re)?);
    Ok(out)
}

/// A list of matcher strings (each may hold several, `{a="b", c=~"d"}`).
fn matcher_list(doc: &Doc<'_>, node: Option<&Node<'_>>, what: &str) -> Result<Vec<Matcher>, YamlError> {
    let Some(node) = node else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for item in doc.seq(node, what)? {
        let text = doc.str(item, what)?;
        out.extend(Matcher::parse_set(&text).map_err(|e| doc.err(item, format!("{what}: {e}")))?);
    }
    Ok(out)
}

/// `match`/`match_re`-style maps of label names to values or regexes.
fn matcher_map(doc: &Doc<'_>, node: Option<&Node<'_>>, what: &str, op: MatchOp) -> Result<Vec<Matcher>, YamlError> {
    let Some(node) = node else { return Ok(Vec::new()) };
    let map = doc.string_map(node, what)?;
    map.iter().map(|(k, v)| Matcher::new(k, op, v).map_err(|e| doc.err(node, format!("{what}: {e}")))).collect()
}

fn receiver(doc: &Doc<'_>, node: &Node<'_>) -> Result<Receiver, YamlError> {
    let kinds = ["slack_configs", "email_configs", "sns_configs", "pagerduty_configs", "webhook_configs"];
    let mut allowed = vec!["name"];
    allowed.extend(kinds);
    let r = doc.map(node, "receiver", &allowed, &OTHER_INTEGRATIONS)?;
    let Some(name) = r.get("name").map(|n| doc.str(n, "receiver name")).transpose()? else {
        return Err(doc.err(node, "receiver: `name` is required"));
    };
    let present: Vec<&str> = kinds.iter().copied().filter(|k| r.get(k).is_some()).collect();
    let [kind] = present.as_slice() else {
        return Err(doc.err(
            node,
            format!(
                "receiver `{name}`: prodsim's receivers have exactly one channel (one of {}), found {}",
                kinds.join(", "),
                present.len()
            ),
        ));
    };
    let list = doc.seq(r.get(kind).unwrap_or(node), kind)?;
    let [config] = list.as_slice() else {
        return Err(doc.err(node, format!("receiver `{name}`: {kind} must have exactly one entry in prodsim")));
    };
    let (field, default_resolved, build): (&str, bool, fn(String) -> ReceiverKind) = match *kind {
        "slack_configs" => ("channel", false, |v| ReceiverKind::Slack { channel: v }),
        "email_configs" => ("to", false, |v| ReceiverKind::Email { to: v }),
        "sns_configs" => ("phone_number", true, |v| ReceiverKind::Sms { to: v }),
        "pagerduty_configs" => ("routing_key", true, |v| ReceiverKind::Pager { service: v }),
        _ => ("url", true, |v| ReceiverKind::Webhook { url: v }),
    };
    let ignored: &[&str] = match *kind {
        "slack_configs" => &["api_url", "api_url_file", "http_config", "title", "text", "username"],
        "email_configs" => &["from", "smarthost", "require_tls", "headers", "html", "text"],
        "sns_configs" => &["sigv4", "api_url", "subject", "message"],
        "pagerduty_configs" => {
            &["service_key", "url", "client", "client_url", "description", "severity", "http_config"]
        }
        _ => &["http_config", "max_alerts"],
    };
    let mut allowed = vec![field, "send_resolved"];
    allowed.extend(ignored);
    let c = doc.map(config, kind, &allowed, &[])?;
    let value = match (c.get(field), c.get("service_key")) {
        (Some(v), _) | (None, Some(v)) => doc.str(v, field)?,
        (None, None) => return Err(doc.err(config, format!("receiver `{name}`: {kind} needs `{field}`"))),
    };
    let send_resolved = c.get("send_resolved").map(|n| doc.bool(n, "send_resolved")).transpose()?;
    Ok(Receiver::new(name, build(value), send_resolved.unwrap_or(default_resolved)))
}

fn inhibit_rule(doc: &Doc<'_>, node: &Node<'_>) -> Result<InhibitRule, YamlError> {
    let allowed = [
        "source_matchers",
        "target_matchers",
        "source_match",
        "source_match_re",
        "target_match",
        "target_match_re",
        "equal",
    ];
    let r = doc.map(node, "inhibit rule", &allowed, &[])?;
    let mut source_matchers = matcher_list(doc, r.get("source_matchers"), "source_matchers")?;
    source_matchers.extend(matcher_map(doc, r.get("source_match"), "source_match", MatchOp::Eq)?);
    source_matchers.extend(matcher_map(doc, r.get("source_match_re"), "source_match_re", MatchOp::Re)?);
    let mut target_matchers = matcher_list(doc, r.get("target_matchers"), "target_matchers")?;
    target_matchers.extend(matcher_map(doc, r.get("target_match"), "target_match", MatchOp::Eq)?);
    target_matchers.extend(matcher_map(doc, r.get("target_match_re"), "target_match_re", MatchOp::Re)?);
    let equal = r.get("equal").map(|n| doc.strings(n, "equal")).transpose()?.unwrap_or_default();
    Ok(InhibitRule { source_matchers, target_matchers, equal })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::line_column;

    const CONFIG: &str = "global:\n  slack_api_url: http://x\nroute:\n  receiver: slack\n  group_by: [alertname]\n  group_wait: 10s\n  routes:\n    - receiver: pager\n      matchers: ['severity=\"page\"']\n      continue: true\n    - receiver: mail\n      match_re:\n        team: db.*\nreceivers:\n  - name: slack\n    slack_configs:\n      - channel: '#alerts'\n        send_resolved: true\n  - name: pager\n    pagerduty_configs:\n      - routing_key: oncall\n  - name: mail\n    email_configs:\n      - to: db@example.com\ninhibit_rules:\n  - source_matchers: [severity=page]\n    target_matchers: [severity=ticket]\n    equal: [service]\n";

    #[test]
    fn routes_receivers_and_inhibit_rules_are_read() {
        let c = parse(CONFIG).unwrap();
        assert_eq!(c.route.receiver.as_deref(), Some("slack"));
        assert_eq!(c.route.group_wait_ms, Some(10_000));
        assert_eq!(c.route.routes.len(), 2);
        assert!(c.route.routes[0].continue_matching);
        assert_eq!(c.route.routes[1].matchers[0].to_string(), "team=~\"db.*\"");
        assert_eq!(c.receivers[0].kind, ReceiverKind::Slack { channel: "#alerts".into() });
        assert!(c.receivers[1].send_resolved, "pagerduty sends resolved by default");
        assert!(!c.receivers[2].send_resolved, "email does not by default");
        assert_eq!(c.inhibit_rules[0].equal, vec!["service".to_string()]);
    }

    #[test]
    fn what_is_outside_the_subset_is_an_error_at_its_line() {
        let bad =
            CONFIG.replace("      continue: true\n", "      continue: true\n      mute_time_intervals: [night]\n");
        let e = parse(&bad).unwrap_err();
        assert!(e.message.contains("`mute_time_intervals` is not supported"), "{}", e.message);
        assert_eq!(line_column(&bad, e.span.start), (11, 7));
        let bad = CONFIG.replace("pagerduty_configs", "opsgenie_configs");
        assert!(parse(&bad).unwrap_err().message.contains("`opsgenie_configs` is not supported"));
        let bad = CONFIG.replace("receiver: mail", "receiver: nobody");
        assert!(parse(&bad).unwrap_err().message.contains("`nobody`, which is not defined"));
        let deep = format!(
            "route:\n  receiver: slack\n  {}{}\nreceivers: [{{name: slack, webhook_configs: [{{url: x}}]}}]\n",
            "routes: [{".repeat(40),
            "}]".repeat(40)
        );
        assert!(parse(&deep).unwrap_err().message.contains("deeper than 32"));
        let bad = CONFIG.replace("'severity=\"page\"'", "'severity=~\"(\"'");
        assert!(parse(&bad).unwrap_err().message.contains("regular expression"));
    }
}
