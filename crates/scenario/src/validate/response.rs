//! Resolving incident response: `[oncall]` (the rotation, its responders and the receivers
//! that page it) and `[[playbooks]]` (each action with the keys it takes), against the
//! resolved topology's alert rules, receivers, services and database.

use toml::Spanned;

use super::ctx::{Ctx, FRACTION_BELOW_ONE, NEEDS_ALERTS, PROBABILITY};
use super::release::{key_list, resolve_effects, resolve_release};
use crate::delivery::{OnCallHours, OncallSpec, PlaybookAction, PlaybookSpec, ResponderSpec};
use crate::delivery_schema::{RawFatigue, RawOncall, RawPlaybook, RawResponder};
use crate::diagnostic::Severity;
use crate::schema::RawScenario;
use crate::topology::{ServiceId, Topology};
use crate::units::NS_PER_S;
use prodsim_parts::ops::fatigue::FatigueSpec;

/// Resolves `[oncall]`: its responders, escalation, investigation time and receivers.
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
    let escalate_after_ns = cx.positive_duration_or(r.escalate_after.as_ref(), "oncall.escalate_after", 600 * NS_PER_S);
    let investigate = cx.dist_or(r.investigate.as_ref(), "oncall.investigate", "lognormal(5m, 15m)");
    let routing = t.monitoring.as_ref().map(|m| &m.routing);
    let names: Vec<&str> = routing.iter().flat_map(|r| r.receivers.iter()).map(|r| r.name.as_str()).collect();
    let mut receivers = Vec::new();
    for v in r.receivers.iter().flatten() {
        if !names.contains(&v.get_ref().as_str()) && !names.is_empty() {
            let listed = names.join(", ");
            if raw.routing.is_some() {
                let message =
                    format!("oncall.receivers: no receiver `{}` in [routing]; receivers: {listed}", v.get_ref());
                cx.unknown(Severity::Error, v.span(), message, v.get_ref(), names.iter().copied());
                ok = false;
            } else {
                let message = format!(
                    "oncall.receivers: no receiver `{}`; without [routing] every notification goes to {listed}",
                    v.get_ref()
                );
                cx.unknown(Severity::Warning, v.span(), message, v.get_ref(), names.iter().copied());
            }
        }
        receivers.push(v.get_ref().clone());
    }
    let mut responders: Vec<ResponderSpec> = Vec::with_capacity(r.responders.len());
    for p in &r.responders {
        let p = p.get_ref();
        if responders.iter().any(|q| &q.name == p.name.get_ref()) {
            let name = p.name.get_ref();
            cx.error(
                p.name.span(),
                format!("oncall.responders: responder `{name}` is defined twice; names must be unique"),
            );
            ok = false;
        }
        match responder(cx, p) {
            Some(responder) => responders.push(responder),
            None => ok = false,
        }
    }
    let fatigue = match &r.fatigue {
        Some(f) => Some(fatigue(cx, f.get_ref())?),
        None => None,
    };
    let spec =
        OncallSpec { responders, escalate_after_ns: escalate_after_ns?, investigate: investigate?, receivers, fatigue };
    ok.then_some(spec)
}

/// One responder: the hours they are on call, how long they take to acknowledge, and how
/// often they miss a page.
fn responder(cx: &mut Ctx<'_>, p: &RawResponder) -> Option<ResponderSpec> {
    let hours = match &p.hours {
        Some(h) => cx
            .pick(h, "oncall.responders.hours", "hours", "use one of", &OnCallHours::NAMES)
            .map(|i| [OnCallHours::Business, OnCallHours::Nights, OnCallHours::Always][i]),
        None => Some(OnCallHours::Always),
    };
    let ack = cx.dist_or(p.ack.as_ref(), "oncall.responders.ack", "lognormal(2m, 8m)");
    let miss = cx.number_or(p.miss.as_ref(), "oncall.responders.miss", 0.0, FRACTION_BELOW_ONE);
    Some(ResponderSpec { name: p.name.get_ref().clone(), hours: hours?, ack: ack?, miss: miss? })
}

/// `[oncall.fatigue]`, each key checked (all of them, so every bad value is reported).
fn fatigue(cx: &mut Ctx<'_>, f: &RawFatigue) -> Option<FatigueSpec> {
    let window_ns = cx.positive_duration_or(f.window.as_ref(), "oncall.fatigue.window", FatigueSpec::DEFAULT_WINDOW_NS);
    let miss_per_page = cx.number_or(
        f.miss_per_page.as_ref(),
        "oncall.fatigue.miss_per_page",
        FatigueSpec::DEFAULT_MISS_PER_PAGE,
        PROBABILITY,
    );
    let miss_max =
        cx.number_or(f.miss_max.as_ref(), "oncall.fatigue.miss_max", FatigueSpec::DEFAULT_MISS_MAX, FRACTION_BELOW_ONE);
    let ack_delay_per_page_ns = cx.duration_or(
        f.ack_delay_per_page.as_ref(),
        "oncall.fatigue.ack_delay_per_page",
        FatigueSpec::DEFAULT_ACK_DELAY_PER_PAGE_NS,
    );
    Some(FatigueSpec {
        window_ns: window_ns?,
        miss_per_page: miss_per_page?,
        miss_max: miss_max?,
        ack_delay_per_page_ns: ack_delay_per_page_ns?,
    })
}

/// The keys of `[[playbooks]]` that only some actions take.
const ACTION_KEYS: [&str; 10] =
    ["version", "strategy", "batch", "pause", "steps", "bake", "analysis", "effects", "count", "dependency"];

/// Resolves one playbook: the alert it answers, its action with the keys that action
/// takes, how long it takes and how often it fails.
pub(super) fn resolve_playbook(
    cx: &mut Ctx<'_>,
    p: &RawPlaybook,
    t: &Topology,
    alerts: Option<&[String]>,
    servers_max: u32,
) -> Option<PlaybookSpec> {
    if let Some(known) = alerts {
        cx.known_alert(&p.alert, "playbooks.alert", known);
    }
    let names = PlaybookAction::NAMES;
    let action = names[cx.pick(&p.action, "playbooks.action", "action", "use one of", &names)?];
    check_action_keys(cx, p, action)?;
    let duration = cx.dist_or(p.duration.as_ref(), "playbooks.duration", "1m");
    let failure = cx.number_or(p.failure.as_ref(), "playbooks.failure", 0.0, FRACTION_BELOW_ONE);
    let action = playbook_action(cx, p, action, t, servers_max)?;
    Some(PlaybookSpec { alert: p.alert.get_ref().clone(), action, duration: duration?, failure: failure? })
}

/// The action `action` takes only its own keys.
fn check_action_keys(cx: &mut Ctx<'_>, p: &RawPlaybook, action: &str) -> Option<()> {
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
    Some(())
}

/// What the playbook does, with what its action needs: a replica to fail over to, a count
/// of servers, a service to degrade, a hotfix's version and release.
fn playbook_action(
    cx: &mut Ctx<'_>,
    p: &RawPlaybook,
    action: &str,
    t: &Topology,
    servers_max: u32,
) -> Option<PlaybookAction> {
    let needs = |cx: &mut Ctx<'_>, key: &str, what: &str| {
        cx.error(p.action.span(), format!("playbooks.{key}: a {action} playbook needs `{key}` ({what})"));
    };
    Some(match action {
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
            let i = cx.pick(dep, "playbooks.dependency", "service", "services:", &names)?;
            PlaybookAction::Degrade { dependency: i as ServiceId }
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
    })
}
