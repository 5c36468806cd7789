//! Resolving `[routing]`: receivers (exactly one channel each), the route tree with its
//! matchers and timings, inhibition rules and silences, checked the way Alertmanager
//! checks its configuration, with errors at their place in the file.

use toml::Spanned;

use super::monitoring_schema::{RawRoute, RawRouting};
use super::validate::Ctx;
use prodsim_parts::ops::routing::{InhibitRule, Matcher, Receiver, ReceiverKind, Route, RoutingConfig, Silence};

/// Without `[routing]`, every notification goes to the Slack channel `#production-alerts`,
/// grouped by alert name.
pub fn default_routing() -> RoutingConfig {
    RoutingConfig {
        route: Route {
            receiver: Some("production-alerts".into()),
            group_by: Some(vec!["alertname".into()]),
            ..Route::default()
        },
        receivers: vec![Receiver {
            name: "production-alerts".into(),
            kind: ReceiverKind::Slack { channel: "#production-alerts".into() },
            send_resolved: true,
        }],
        inhibit_rules: Vec::new(),
        silences: Vec::new(),
    }
}

/// Resolves `[routing]`; `None` when something is wrong (the diagnostics say what).
pub fn resolve(cx: &mut Ctx<'_>, r: &Spanned<RawRouting>) -> Option<RoutingConfig> {
    let raw = r.get_ref();
    let mut ok = true;
    let mut receivers = Vec::new();
    for rc in &raw.receivers {
        let rc = rc.get_ref();
        let name = rc.name.get_ref().clone();
        let kinds: Vec<ReceiverKind> = [
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
        let kind = kinds.into_iter().next()?;
        let send_resolved =
            rc.send_resolved.unwrap_or(!matches!(kind, ReceiverKind::Sms { .. } | ReceiverKind::Pager { .. }));
        if receivers.iter().any(|r: &Receiver| r.name == name) {
            cx.error(rc.name.span(), format!("receiver `{name}` is defined twice"));
            ok = false;
        }
        receivers.push(Receiver { name, kind, send_resolved });
    }
    let names: Vec<String> = receivers.iter().map(|r| r.name.clone()).collect();
    let mut receiver = |cx: &mut Ctx<'_>, v: &Spanned<String>| -> Option<String> {
        if names.contains(v.get_ref()) {
            return Some(v.get_ref().clone());
        }
        let hint = super::diagnostic::nearest(v.get_ref(), names.iter().map(String::as_str))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        let known =
            if names.is_empty() { "none is defined: add [[routing.receivers]]".to_string() } else { names.join(", ") };
        cx.error(v.span(), format!("no receiver `{}` (receivers: {known}){hint}", v.get_ref()));
        None
    };
    let root_receiver = receiver(cx, &raw.receiver);
    let timing = |cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str| -> Option<Option<i64>> {
        match v {
            None => Some(None),
            Some(v) => match cx.duration(v, field)? {
                0 => {
                    cx.error(v.span(), format!("{field} must be longer than 0s"));
                    None
                }
                ns => Some(Some((ns / 1_000_000) as i64)),
            },
        }
    };
    let gw = timing(cx, raw.group_wait.as_ref(), "routing.group_wait");
    let gi = timing(cx, raw.group_interval.as_ref(), "routing.group_interval");
    let ri = timing(cx, raw.repeat_interval.as_ref(), "routing.repeat_interval");
    let mut routes = Vec::new();
    for child in &raw.routes {
        match resolve_route(cx, child, &mut receiver, &timing) {
            Some(r) => routes.push(r),
            None => ok = false,
        }
    }
    let matchers = |cx: &mut Ctx<'_>, list: &[Spanned<String>], field: &str| -> Option<Vec<Matcher>> {
        let mut out = Vec::new();
        let mut good = true;
        for m in list {
            match Matcher::parse(m.get_ref()) {
                Ok(m) => out.push(m),
                Err(e) => {
                    cx.error(m.span(), format!("{field}: {e}"));
                    good = false;
                }
            }
        }
        good.then_some(out)
    };
    let mut inhibit_rules = Vec::new();
    for i in &raw.inhibit_rules {
        let i = i.get_ref();
        let source = matchers(cx, &i.source_matchers, "routing.inhibit_rules.source_matchers");
        let target = matchers(cx, &i.target_matchers, "routing.inhibit_rules.target_matchers");
        match (source, target) {
            (Some(source_matchers), Some(target_matchers)) => {
                inhibit_rules.push(InhibitRule { source_matchers, target_matchers, equal: i.equal.clone() })
            }
            _ => ok = false,
        }
    }
    let mut silences = Vec::new();
    for s in &raw.silences {
        let s = s.get_ref();
        let m = matchers(cx, &s.matchers, "routing.silences.matchers");
        let starts = cx.duration(&s.starts, "routing.silences.starts");
        let ends = cx.duration(&s.ends, "routing.silences.ends");
        match (m, starts, ends) {
            (Some(matchers), Some(a), Some(b)) if a < b => silences.push(Silence {
                matchers,
                starts_ms: (a / 1_000_000) as i64,
                ends_ms: (b / 1_000_000) as i64,
                comment: s.comment.clone(),
            }),
            (Some(_), Some(_), Some(_)) => {
                cx.error(s.ends.span(), "routing.silences.ends must come after starts");
                ok = false;
            }
            _ => ok = false,
        }
    }
    let config = RoutingConfig {
        route: Route {
            receiver: root_receiver,
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
    if !ok || config.route.receiver.is_none() {
        return None;
    }
    if let Err(e) = config.check() {
        cx.error(r.span().start..r.span().start, format!("routing: {e}"));
        return None;
    }
    Some(config)
}

type Timing<'t> = dyn Fn(&mut Ctx<'_>, Option<&Spanned<String>>, &str) -> Option<Option<i64>> + 't;

fn resolve_route(
    cx: &mut Ctx<'_>,
    r: &Spanned<RawRoute>,
    receiver: &mut dyn FnMut(&mut Ctx<'_>, &Spanned<String>) -> Option<String>,
    timing: &Timing<'_>,
) -> Option<Route> {
    let raw = r.get_ref();
    let mut ok = true;
    let rec = match &raw.receiver {
        Some(v) => match receiver(cx, v) {
            Some(name) => Some(name),
            None => {
                ok = false;
                None
            }
        },
        None => None,
    };
    let mut matchers = Vec::new();
    for m in &raw.matchers {
        match Matcher::parse(m.get_ref()) {
            Ok(m) => matchers.push(m),
            Err(e) => {
                cx.error(m.span(), format!("routing.routes.matchers: {e}"));
                ok = false;
            }
        }
    }
    let gw = timing(cx, raw.group_wait.as_ref(), "routing.routes.group_wait");
    let gi = timing(cx, raw.group_interval.as_ref(), "routing.routes.group_interval");
    let ri = timing(cx, raw.repeat_interval.as_ref(), "routing.routes.repeat_interval");
    let mut routes = Vec::new();
    for child in &raw.routes {
        match resolve_route(cx, child, receiver, timing) {
            Some(c) => routes.push(c),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    Some(Route {
        receiver: rec,
        matchers,
        group_by: raw.group_by.clone(),
        group_wait_ms: gw?,
        group_interval_ms: gi?,
        repeat_interval_ms: ri?,
        continue_matching: raw.continue_,
        routes,
    })
}
