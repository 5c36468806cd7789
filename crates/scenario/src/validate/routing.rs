//! Resolving `[routing]`: receivers (exactly one channel each), the route tree with its
//! matchers and timings, inhibition rules and silences, checked the way Alertmanager
//! checks its configuration, with errors at their place in the file.

use toml::Spanned;

use super::ctx::Ctx;
use crate::diagnostic::nearest;
use crate::monitoring_schema::{RawInhibitRule, RawReceiver, RawRoute, RawRouting, RawSilence};
use crate::units::ns_to_ms_floor;
use prodsim_parts::ops::routing::{InhibitRule, Matcher, Receiver, ReceiverKind, Route, RoutingConfig, Silence};

/// Without `[routing]`, every notification goes to the Slack channel `#production-alerts`,
/// grouped by alert name.
pub(super) fn default_routing() -> RoutingConfig {
    RoutingConfig {
        route: Route {
            receiver: Some("production-alerts".into()),
            group_by: Some(vec!["alertname".into()]),
            ..Route::default()
        },
        receivers: vec![Receiver::new(
            "production-alerts",
            ReceiverKind::Slack { channel: "#production-alerts".into() },
            true,
        )],
        inhibit_rules: Vec::new(),
        silences: Vec::new(),
    }
}

/// Resolves `[routing]`; `None` when something is wrong (the diagnostics say what).
/// `imported` is the Alertmanager configuration `config` names, already read.
pub(super) fn resolve(
    cx: &mut Ctx<'_>,
    r: &Spanned<RawRouting>,
    imported: Option<&RoutingConfig>,
) -> Option<RoutingConfig> {
    let raw = r.get_ref();
    if let Some(config) = imported {
        return from_config(cx, r, config);
    }
    let Some(root) = &raw.receiver else {
        cx.error(
            r.span().start..r.span().start,
            "[routing] needs `receiver` (the root route's), or `config` naming an Alertmanager configuration file",
        );
        return None;
    };
    let (mut receivers, mut ok) = receivers(cx, &raw.receivers);
    let names: Vec<String> = receivers.iter().map(|r| r.name.clone()).collect();
    for rc in &raw.receivers {
        let rc = rc.get_ref();
        let Some(f) = &rc.fallback else { continue };
        let fallback = receiver_ref(cx, f, &names);
        ok &= fallback.is_some();
        if let Some(r) = receivers.iter_mut().find(|r| &r.name == rc.name.get_ref()) {
            r.fallback = fallback;
        }
    }
    let root_receiver = receiver_ref(cx, root, &names);
    let gw = timing(cx, raw.group_wait.as_ref(), "routing.group_wait");
    let gi = timing(cx, raw.group_interval.as_ref(), "routing.group_interval");
    let ri = timing(cx, raw.repeat_interval.as_ref(), "routing.repeat_interval");
    let mut routes = Vec::new();
    for child in &raw.routes {
        match resolve_route(cx, child, &names) {
            Some(r) => routes.push(r),
            None => ok = false,
        }
    }
    let inhibit_rules = inhibit_rules(cx, &raw.inhibit_rules);
    let silences = silences(cx, &raw.silences);
    let (Some(inhibit_rules), Some(silences), true) = (inhibit_rules, silences, ok) else { return None };
    let config = RoutingConfig {
        route: Route {
            receiver: Some(root_receiver?),
            matchers: Vec::new(),
            group_by: raw.group_by.clone(),
            group_wait_ms: gw?,
            group_interval_ms: gi?,
            repeat_interval_ms: ri?,
            continue_matching: false,
            routes,
        },
        receivers,
        inhibit_rules,
        silences,
    };
    if let Err(e) = config.check() {
        cx.error(r.span().start..r.span().start, format!("routing: {e}"));
        return None;
    }
    Some(config)
}

/// `[routing] config`: the imported configuration plus the file's silences (silences are
/// not Alertmanager configuration); anything else beside `config` is an error.
fn from_config(cx: &mut Ctx<'_>, r: &Spanned<RawRouting>, imported: &RoutingConfig) -> Option<RoutingConfig> {
    let raw = r.get_ref();
    let beside = [
        ("receiver", raw.receiver.is_some()),
        ("group_by", raw.group_by.is_some()),
        ("group_wait", raw.group_wait.is_some()),
        ("group_interval", raw.group_interval.is_some()),
        ("repeat_interval", raw.repeat_interval.is_some()),
        ("routes", !raw.routes.is_empty()),
        ("receivers", !raw.receivers.is_empty()),
        ("inhibit_rules", !raw.inhibit_rules.is_empty()),
    ];
    if let Some((key, _)) = beside.iter().find(|(_, set)| *set) {
        let at = raw.config.as_ref().map_or(r.span(), Spanned::span);
        cx.error(at, format!("routing: `{key}` cannot be set beside `config` (the configuration file gives the routing); only [[routing.silences]] may be added"));
        return None;
    }
    let mut config = imported.clone();
    config.silences = silences(cx, &raw.silences)?;
    if let Err(e) = config.check() {
        cx.error(r.span().start..r.span().start, format!("routing: {e}"));
        return None;
    }
    Some(config)
}

/// `[[routing.receivers]]`: unique names, exactly one channel each; whether all were right.
fn receivers(cx: &mut Ctx<'_>, raw: &[Spanned<RawReceiver>]) -> (Vec<Receiver>, bool) {
    let mut ok = true;
    let mut receivers: Vec<Receiver> = Vec::new();
    for rc in raw {
        let rc = rc.get_ref();
        let name = rc.name.get_ref().clone();
        let mut kinds: Vec<ReceiverKind> = [
            rc.slack.clone().map(|channel| ReceiverKind::Slack { channel }),
            rc.email.clone().map(|to| ReceiverKind::Email { to }),
            rc.sms.clone().map(|to| ReceiverKind::Sms { to }),
            rc.pager.clone().map(|service| ReceiverKind::Pager { service }),
            rc.webhook.clone().map(|url| ReceiverKind::Webhook { url }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if kinds.len() != 1 {
            cx.error(
                rc.name.span(),
                format!(
                    "receiver `{name}` needs exactly one of `slack`, `email`, `sms`, `pager`, `webhook` (has {})",
                    kinds.len()
                ),
            );
            ok = false;
            continue;
        }
        let Some(kind) = kinds.pop() else { continue };
        let send_resolved =
            rc.send_resolved.unwrap_or(!matches!(kind, ReceiverKind::Sms { .. } | ReceiverKind::Pager { .. }));
        if receivers.iter().any(|r| r.name == name) {
            cx.error(rc.name.span(), format!("receiver `{name}` is defined twice"));
            ok = false;
        }
        receivers.push(Receiver::new(name, kind, send_resolved));
    }
    (receivers, ok)
}

/// A reference to a receiver by name, with the nearest one when it is unknown.
fn receiver_ref(cx: &mut Ctx<'_>, v: &Spanned<String>, names: &[String]) -> Option<String> {
    if names.contains(v.get_ref()) {
        return Some(v.get_ref().clone());
    }
    let hint = nearest(v.get_ref(), names.iter().map(String::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    let known =
        if names.is_empty() { "none is defined: add [[routing.receivers]]".to_string() } else { names.join(", ") };
    cx.error(v.span(), format!("no receiver `{}` (receivers: {known}){hint}", v.get_ref()));
    None
}

/// A `group_wait`, `group_interval` or `repeat_interval`, in milliseconds; `Some(None)`
/// when absent (the parent route's applies).
fn timing(cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str) -> Option<Option<i64>> {
    let Some(v) = v else { return Some(None) };
    match cx.duration(v, field)? {
        0 => {
            cx.error(v.span(), format!("{field} must be longer than 0s"));
            None
        }
        ns => Some(Some(ns_to_ms_floor(ns))),
    }
}

/// Alertmanager matchers (`severity="page"`, `service=~"pay.*"`).
fn matchers(cx: &mut Ctx<'_>, list: &[Spanned<String>], field: &str) -> Option<Vec<Matcher>> {
    let mut out = Vec::new();
    let mut ok = true;
    for m in list {
        match Matcher::parse(m.get_ref()) {
            Ok(m) => out.push(m),
            Err(e) => {
                cx.error(m.span(), format!("{field}: {e}"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `[[routing.inhibit_rules]]`: alerts matching the target matchers are muted while one
/// matching the source matchers fires with the same `equal` labels.
fn inhibit_rules(cx: &mut Ctx<'_>, raw: &[Spanned<RawInhibitRule>]) -> Option<Vec<InhibitRule>> {
    let mut out = Vec::new();
    let mut ok = true;
    for i in raw {
        let i = i.get_ref();
        let source = matchers(cx, &i.source_matchers, "routing.inhibit_rules.source_matchers");
        let target = matchers(cx, &i.target_matchers, "routing.inhibit_rules.target_matchers");
        match (source, target) {
            (Some(source_matchers), Some(target_matchers)) => {
                out.push(InhibitRule { source_matchers, target_matchers, equal: i.equal.clone() });
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// `[[routing.silences]]`: matchers muted from `starts` to `ends`.
fn silences(cx: &mut Ctx<'_>, raw: &[Spanned<RawSilence>]) -> Option<Vec<Silence>> {
    let mut out = Vec::new();
    let mut ok = true;
    for s in raw {
        let s = s.get_ref();
        let m = matchers(cx, &s.matchers, "routing.silences.matchers");
        let starts = cx.duration(&s.starts, "routing.silences.starts");
        let ends = cx.duration(&s.ends, "routing.silences.ends");
        match (m, starts, ends) {
            (Some(matchers), Some(a), Some(b)) if a < b => out.push(Silence {
                matchers,
                starts_ms: ns_to_ms_floor(a),
                ends_ms: ns_to_ms_floor(b),
                comment: s.comment.clone(),
            }),
            (Some(_), Some(_), Some(_)) => {
                cx.error(s.ends.span(), "routing.silences.ends must come after starts");
                ok = false;
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// A child route: its receiver (inherited when absent), matchers, timings and children.
fn resolve_route(cx: &mut Ctx<'_>, r: &Spanned<RawRoute>, names: &[String]) -> Option<Route> {
    let raw = r.get_ref();
    let receiver = match &raw.receiver {
        Some(v) => receiver_ref(cx, v, names).map(Some),
        None => Some(None),
    };
    let matchers = matchers(cx, &raw.matchers, "routing.routes.matchers");
    let gw = timing(cx, raw.group_wait.as_ref(), "routing.routes.group_wait");
    let gi = timing(cx, raw.group_interval.as_ref(), "routing.routes.group_interval");
    let ri = timing(cx, raw.repeat_interval.as_ref(), "routing.routes.repeat_interval");
    let mut routes = Vec::new();
    let mut ok = true;
    for child in &raw.routes {
        match resolve_route(cx, child, names) {
            Some(c) => routes.push(c),
            None => ok = false,
        }
    }
    let route = Route {
        receiver: receiver?,
        matchers: matchers?,
        group_by: raw.group_by.clone(),
        group_wait_ms: gw?,
        group_interval_ms: gi?,
        repeat_interval_ms: ri?,
        continue_matching: raw.continue_,
        routes,
    };
    ok.then_some(route)
}
