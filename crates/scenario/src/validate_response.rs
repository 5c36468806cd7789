//! Resolving incident response: `[oncall]` (the rotation, its responders and the receivers
//! that page it) and `[[playbooks]]` (each action with the keys it takes), against the
//! resolved topology's alert rules, receivers, services and database.

use toml::Spanned;

use super::delivery::{OnCallHours, OncallSpec, PlaybookAction, PlaybookSpec, ResponderSpec};
use super::delivery_schema::{RawOncall, RawPlaybook};
use super::diagnostic::Severity;
use super::schema::RawScenario;
use super::topology::Topology;
use super::validate::Ctx;
use super::validate_release::{
    Share, dist_or, duration_or, key_list, pick, resolve_effects, resolve_release, share, unknown,
};
use prodsim_kernel::NS_PER_S;

const SECOND: u64 = NS_PER_S;
/// The end of the error for a section that needs alerting rules and has none.
pub(super) const NEEDS_ALERTS: &str = "needs alerts: add [monitoring] with ready_rules, [[alerts]] or [slo]";

/// Warns when no alert rule is called `a`: the reference never triggers.
pub(super) fn check_alert(cx: &mut Ctx<'_>, a: &Spanned<String>, field: &str, known: &[String]) {
    if known.contains(a.get_ref()) {
        return;
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let message = format!("{field}: no alert named `{}`; known alerts: {}", a.get_ref(), names.join(", "));
    unknown(cx, a, message, &names, Severity::Warning);
}

pub(super) fn resolve_oncall(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    o: &Spanned<RawOncall>,
    t: &Topology,
    has_alerts: bool,
) -> Option<OncallSpec> {
    let r = o.get_ref();
    let at = o.span().start..o.span().start;
    let mut ok = true;
    if !has_alerts {
        cx.error(at.clone(), format!("[oncall] {NEEDS_ALERTS}"));
        ok = false;
    }
    if r.responders.is_empty() {
        cx.error(at, "[oncall] needs at least one [[oncall.responders]] (name, hours, ack, miss)");
        ok = false;
    }
    let escalate_after_ns = duration_or(cx, r.escalate_after.as_ref(), "oncall.escalate_after", 600 * SECOND);
    let investigate = dist_or(cx, r.investigate.as_ref(), "oncall.investigate", "lognormal(5m, 15m)");
    let routing = t.monitoring.as_ref().map(|m| &m.routing);
    let names: Vec<&str> = routing.iter().flat_map(|r| r.receivers.iter()).map(|r| r.name.as_str()).collect();
    let mut receivers = Vec::new();
    for v in r.receivers.iter().flatten() {
        if !names.contains(&v.get_ref().as_str()) && !names.is_empty() {
            let listed = names.join(", ");
            if raw.routing.is_some() {
                let message =
                    format!("oncall.receivers: no receiver `{}` in [routing]; receivers: {listed}", v.get_ref());
                unknown(cx, v, message, &names, Severity::Error);
                ok = false;
            } else {
                let message = format!(
                    "oncall.receivers: no receiver `{}`; without [routing] every notification goes to {listed}",
                    v.get_ref()
                );
                unknown(cx, v, message, &names, Severity::Warning);
            }
        }
        receivers.push(v.get_ref().clone());
    }
    let mut responders: Vec<ResponderSpec> = Vec::with_capacity(r.responders.len());
    for p in &r.responders {
        let p = p.get_ref();
        let name = p.name.get_ref().clone();
        if responders.iter().any(|q| q.name == name) {
            cx.error(
                p.name.span(),
                format!("oncall.responders: responder `{name}` is defined twice; names must be unique"),
            );
            ok = false;
        }
        let hours = match &p.hours {
            Some(h) => pick(cx, h, "oncall.responders.hours", "hours", "use one of", &OnCallHours::NAMES)
                .map(|i| [OnCallHours::Business, OnCallHours::Nights, OnCallHours::Always][i]),
            None => Some(OnCallHours::Always),
        };
        let ack = dist_or(cx, p.ack.as_ref(), "oncall.responders.ack", "lognormal(2m, 8m)");
        let miss = share(cx, p.miss.as_ref(), "oncall.responders.miss", 0.0, Share::BelowOne);
        match (hours, ack, miss) {
            (Some(hours), Some(ack), Some(miss)) => responders.push(ResponderSpec { name, hours, ack, miss }),
            _ => ok = false,
        }
    }
    let spec = OncallSpec { responders, escalate_after_ns: escalate_after_ns?, investigate: investigate?, receivers };
    ok.then_some(spec)
}

/// The keys of `[[playbooks]]` that only some actions take.
const ACTION_KEYS: [&str; 10] =
    ["version", "strategy", "batch", "pause", "steps", "bake", "analysis", "effects", "count", "dependency"];

pub(super) fn resolve_playbook(
    cx: &mut Ctx<'_>,
    p: &RawPlaybook,
    t: &Topology,
    alerts: Option<&[String]>,
    servers_max: u32,
) -> Option<PlaybookSpec> {
    if let Some(known) = alerts {
        check_alert(cx, &p.alert, "playbooks.alert", known);
    }
    let action =
        PlaybookAction::NAMES[pick(cx, &p.action, "playbooks.action", "action", "use one of", &PlaybookAction::NAMES)?];
    let takes: &[&str] = match action {
        "hotfix" => &ACTION_KEYS[..8],
        "scale_out" => &["count"],
        "degrade" => &["dependency"],
        _ => &[],
    };
    let given = [
        p.version.as_ref().map(Spanned::span),
        p.strategy.as_ref().map(Spanned::span),
        p.batch.as_ref().map(Spanned::span),
        p.pause.as_ref().map(Spanned::span),
        p.steps.as_ref().map(Spanned::span),
        p.bake.as_ref().map(Spanned::span),
        p.analysis.as_ref().map(Spanned::span),
        p.effects.as_ref().map(Spanned::span),
        p.count.as_ref().map(Spanned::span),
        p.dependency.as_ref().map(Spanned::span),
    ];
    for (key, span) in ACTION_KEYS.iter().zip(given) {
        if let (Some(span), false) = (span, takes.contains(key)) {
            let keys = if takes.is_empty() {
                "only `alert`, `action`, `duration` and `failure`".to_string()
            } else {
                key_list(takes)
            };
            cx.error(span, format!("playbooks.{key}: a {action} playbook takes no `{key}`; {action} takes {keys}"));
            return None;
        }
    }
    let duration = dist_or(cx, p.duration.as_ref(), "playbooks.duration", "1m");
    let failure = share(cx, p.failure.as_ref(), "playbooks.failure", 0.0, Share::BelowOne);
    let needs = |cx: &mut Ctx<'_>, key: &str, what: &str| {
        cx.error(p.action.span(), format!("playbooks.{key}: a {action} playbook needs `{key}` ({what})"));
    };
    let action = match action {
        "rollback" => PlaybookAction::Rollback,
        "failover" => {
            let has_replica = t.database.as_ref().is_some_and(|d| d.replicas > 0);
            if !has_replica {
                let why = if t.database.is_some() { "[database] has no `replicas`" } else { "there is no [database]" };
                cx.error(
                    p.action.span(),
                    format!("playbooks.action: a failover playbook promotes a database replica, but {why}"),
                );
                return None;
            }
            PlaybookAction::Failover
        }
        "disable_flag" => PlaybookAction::DisableFlag,
        "scale_out" => {
            let Some(c) = &p.count else {
                needs(cx, "count", "app servers to add, 1 or more");
                return None;
            };
            PlaybookAction::ScaleOut { count: cx.positive_count(c, "playbooks.count")? }
        }
        "degrade" => {
            let Some(dep) = &p.dependency else {
                needs(cx, "dependency", "a service name");
                return None;
            };
            let names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
            let i = pick(cx, dep, "playbooks.dependency", "service", "services:", &names)?;
            PlaybookAction::Degrade { dependency: i as super::topology::ServiceId }
        }
        _ => {
            let Some(version) = &p.version else {
                needs(cx, "version", "the hotfix's version name");
                return None;
            };
            let strategy = resolve_release(cx, p.release(), "playbooks", servers_max);
            let effects = resolve_effects(cx, p.effects.as_ref(), "playbooks", t);
            PlaybookAction::Hotfix { version: version.get_ref().clone(), strategy: strategy?, effects: effects? }
        }
    };
    Some(PlaybookSpec { alert: p.alert.get_ref().clone(), action, duration: duration?, failure: failure? })
}
