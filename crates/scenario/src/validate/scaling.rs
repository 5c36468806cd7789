//! Resolving `[autoscaling]`, `[[actions]]` and the pool keys of `[servers]` (`max_count`,
//! `drain_timeout`): bounds, kinds with their parameters, targets, and, for a pool without
//! an autoscaler, that the scheduled actions keep it between 1 and `max_count` servers.

use toml::Spanned;

use super::ctx::Ctx;
use crate::scaling::{Action, ActionKind, AutoscalingSpec, MAX_POOL, RawAction, RawAutoscaling, ScalingSpec};
use crate::schema::RawScenario;
use crate::units::NS_PER_S;

/// Resolves the scaling sections; `Some(None)` when the file has none, `None` on an error.
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario, duration_ns: u64) -> Option<Option<ScalingSpec>> {
    let s = raw.servers.get_ref();
    let count = *s.count.get_ref();
    if !raw.has_scaling() {
        for (key, span) in [
            ("max_count", s.max_count.as_ref().map(Spanned::span)),
            ("drain_timeout", s.drain_timeout.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = span {
                cx.warning(span, format!("servers.{key} has no effect without [autoscaling] or [[actions]]"));
            }
        }
        return Some(None);
    }
    let drain_timeout_ns = cx.duration_or(s.drain_timeout.as_ref(), "servers.drain_timeout", 30 * NS_PER_S)?;
    let autoscaling = match &raw.autoscaling {
        Some(a) => Some(resolve_autoscaling(cx, raw, a)?),
        None => None,
    };
    let max = match (&autoscaling, &s.max_count) {
        (Some(_), Some(m)) => {
            cx.error(m.span(), "servers.max_count conflicts with [autoscaling]: the pool's maximum is autoscaling.max");
            return None;
        }
        (Some(a), None) => a.max,
        (None, Some(m)) => {
            let m_value = *m.get_ref();
            if m_value < count || m_value > MAX_POOL {
                cx.error(
                    m.span(),
                    format!("servers.max_count must be between servers.count ({count}) and {MAX_POOL}, got {m_value}"),
                );
                return None;
            }
            m_value
        }
        (None, None) => count,
    };
    let mut actions = Vec::with_capacity(raw.actions.len());
    let mut ok = true;
    for a in &raw.actions {
        match resolve_action(cx, a.get_ref(), max, duration_ns) {
            Some(action) => actions.push(action),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    if autoscaling.is_none() {
        check_fixed_pool(cx, raw, &actions, count, max)?;
    }
    Some(Some(ScalingSpec { initial: count, max, autoscaling, actions, drain_timeout_ns }))
}

fn resolve_autoscaling(cx: &mut Ctx<'_>, raw: &RawScenario, a: &Spanned<RawAutoscaling>) -> Option<AutoscalingSpec> {
    let r = a.get_ref();
    let min = r.min.as_ref().map_or(1, |m| *m.get_ref());
    let max = *r.max.get_ref();
    if min == 0 {
        cx.error(r.min.as_ref().map_or(a.span(), Spanned::span), "autoscaling.min must be at least 1");
        return None;
    }
    if max < min || max > MAX_POOL {
        cx.error(
            r.max.span(),
            format!("autoscaling.max must be between autoscaling.min ({min}) and {MAX_POOL}, got {max}"),
        );
        return None;
    }
    let target = *r.target_utilization.get_ref();
    if !(target.is_finite() && target > 0.0 && target <= 1.0) {
        cx.error(
            r.target_utilization.span(),
            format!("autoscaling.target_utilization must be above 0 and at most 1 (e.g. 0.6), got {target}"),
        );
        return None;
    }
    let s = raw.servers.get_ref();
    let count = *s.count.get_ref();
    if !(min..=max).contains(&count) {
        let span = if s.count.span().is_empty() { raw.servers.span() } else { s.count.span() };
        cx.error(
            span,
            format!(
                "servers.count ({count}) is the number of servers at the start and must be between autoscaling.min ({min}) and autoscaling.max ({max})"
            ),
        );
        return None;
    }
    let cooldown_ns = cx.duration_or(r.cooldown.as_ref(), "autoscaling.cooldown", 300 * NS_PER_S)?;
    let cold_start_ns = cx.duration_or(r.cold_start.as_ref(), "autoscaling.cold_start", 60 * NS_PER_S)?;
    let interval_ns = cx.duration_or(r.interval.as_ref(), "autoscaling.interval", 15 * NS_PER_S)?;
    if interval_ns == 0 {
        let span = r.interval.as_ref().map_or(a.span(), Spanned::span);
        cx.error(span, "autoscaling.interval must be longer than zero");
        return None;
    }
    Some(AutoscalingSpec { min, max, target_utilization: target, cooldown_ns, cold_start_ns, interval_ns })
}

fn resolve_action(cx: &mut Ctx<'_>, a: &RawAction, max: u32, duration_ns: u64) -> Option<Action> {
    let at_ns = cx.duration(&a.at, "actions.at")?;
    let name = a.kind.get_ref().as_str();
    let takes_count = matches!(name, "scale_out" | "scale_in");
    if !takes_count && !matches!(name, "drain" | "undrain") {
        let message = format!("unknown action kind `{name}`, expected one of {}", ActionKind::NAMES.join(", "));
        cx.unknown_name(&a.kind, message, ActionKind::NAMES);
        return None;
    }
    let kind = if takes_count {
        if let Some(t) = &a.target {
            cx.error(
                t.span(),
                format!("a {name} action takes no `target` (it picks the servers itself); give `count`"),
            );
            return None;
        }
        let Some(c) = &a.count else {
            cx.error(
                a.kind.span(),
                format!(
                    "a {name} action needs `count` (servers to {})",
                    if name == "scale_out" { "add" } else { "remove" }
                ),
            );
            return None;
        };
        let count = cx.positive_count(c, "actions.count")?;
        if name == "scale_out" { ActionKind::ScaleOut { count } } else { ActionKind::ScaleIn { count } }
    } else {
        if let Some(c) = &a.count {
            cx.error(c.span(), format!("a {name} action takes no `count`; give `target = \"server-<i>\"`"));
            return None;
        }
        let Some(t) = &a.target else {
            cx.error(a.kind.span(), format!("a {name} action needs `target` (a server, e.g. \"server-0\")"));
            return None;
        };
        let server = t.get_ref().strip_prefix("server-").and_then(|i| i.parse::<u32>().ok()).filter(|&i| i < max);
        let Some(server) = server else {
            cx.error(
                t.span(),
                format!(
                    "action target `{}` is not a server of this pool; expected server-0 … server-{}",
                    t.get_ref(),
                    max - 1
                ),
            );
            return None;
        };
        if name == "drain" { ActionKind::Drain { server } } else { ActionKind::Undrain { server } }
    };
    if at_ns >= duration_ns {
        cx.warning(a.at.span(), "this action comes after the run ends and has no effect");
    }
    Some(Action { at_ns, kind })
}

/// Without an autoscaler nothing else changes the pool's size, so the actions' effect is
/// known in advance: it must stay between 1 and `max` servers.
fn check_fixed_pool(cx: &mut Ctx<'_>, raw: &RawScenario, actions: &[Action], count: u32, max: u32) -> Option<()> {
    let mut order: Vec<usize> = (0..actions.len()).collect();
    order.sort_by_key(|&i| actions[i].at_ns);
    let mut size = i64::from(count);
    for i in order {
        let (delta, bound_msg) = match actions[i].kind {
            ActionKind::ScaleOut { count } => (i64::from(count), "above servers.max_count"),
            ActionKind::ScaleIn { count } => (-i64::from(count), "below 1"),
            _ => continue,
        };
        size += delta;
        if size < 1 || size > i64::from(max) {
            let span = raw.actions[i].get_ref().count.as_ref().map_or(raw.actions[i].span(), Spanned::span);
            let hint = if delta > 0 { format!(" ({max}); raise servers.max_count") } else { String::new() };
            cx.error(span, format!("this action takes the pool to {size} servers, {bound_msg}{hint}"));
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use crate::scaling::ActionKind;

    const BASE: &str = "[scenario]\nname = \"t\"\nduration = \"1h\"\n[[workload]]\nname = \"w\"\nrate = 10\n[servers]\ncount = 2\nmax_count = 4\nservice_time = \"exp(10ms)\"\n";

    fn load(extra: &str) -> Result<crate::Scenario, String> {
        crate::load_str(&format!("{BASE}{extra}"), std::path::Path::new("t.toml"))
            .map(|l| l.scenario)
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn actions_resolve_into_the_topology() {
        let s = load("[[actions]]\nat = \"1m\"\nkind = \"scale_out\"\ncount = 2\n[[actions]]\nat = \"2m\"\nkind = \"drain\"\ntarget = \"server-3\"\n").expect("loads");
        let t = s.topology;
        let spec = t.scaling.expect("scaling");
        assert_eq!((spec.initial, spec.max, spec.drain_timeout_ns), (2, 4, 30 * crate::units::NS_PER_S));
        assert_eq!(spec.actions[0].kind, ActionKind::ScaleOut { count: 2 });
        assert_eq!(spec.actions[1].kind, ActionKind::Drain { server: 3 });
        assert_eq!(spec.actions[1].at_ns, 120 * crate::units::NS_PER_S);
    }

    #[test]
    fn the_fixed_pool_bound_is_checked_in_time_order() {
        // Out then in, written in reverse order: never above 4.
        let ok = "[[actions]]\nat = \"2m\"\nkind = \"scale_in\"\ncount = 2\n[[actions]]\nat = \"1m\"\nkind = \"scale_out\"\ncount = 2\n";
        assert!(load(ok).is_ok());
        let bad = "[[actions]]\nat = \"2m\"\nkind = \"scale_out\"\ncount = 2\n[[actions]]\nat = \"1m\"\nkind = \"scale_in\"\ncount = 2\n";
        assert!(load(bad).unwrap_err().contains("takes the pool to 0 servers"));
    }
}
