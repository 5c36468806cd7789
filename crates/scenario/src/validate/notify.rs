//! Who hears about a failed pipeline: `[pipeline] notify` (a receiver of `[routing]`) and
//! `[[deploys]] author` (a free name: a committer need not be on call, but a name one
//! typo away from a responder's is probably that responder).

use super::ctx::Ctx;
use crate::Severity;
use crate::schema::RawScenario;
use crate::topology::Topology;

/// Resolves `[pipeline] notify`: `Some(None)` when absent, `None` on an error (an unknown
/// receiver, or no monitoring to carry the message).
pub(super) fn resolve_notify(cx: &mut Ctx<'_>, raw: &RawScenario, t: &Topology) -> Option<Option<String>> {
    let Some(v) = raw.pipeline.as_ref().and_then(|p| p.get_ref().notify.as_ref()) else { return Some(None) };
    let Some(routing) = t.monitoring.as_ref().map(|m| &m.routing) else {
        cx.error(
            v.span(),
            "pipeline.notify names a receiver, which needs monitoring ([monitoring], [[alerts]] or [slo]) and [routing] receivers",
        );
        return None;
    };
    let names: Vec<&str> = routing.receivers.iter().map(|r| r.name.as_str()).collect();
    cx.pick(v, "pipeline.notify", "receiver", "receivers:", &names)?;
    if raw.deploys.iter().all(|d| d.get_ref().author.is_none()) && raw.playbooks.is_empty() {
        cx.warning(v.span(), "pipeline.notify tells a failed release's author, but no [[deploys]] has an `author`");
    }
    Some(Some(v.get_ref().clone()))
}

/// Checks every `[[deploys]] author`: not blank; a warning with "did you mean" when it is
/// close to, but not, a responder's name; a warning when `[pipeline]` tells nobody.
pub(super) fn check_authors(cx: &mut Ctx<'_>, raw: &RawScenario, notify: Option<&str>) -> bool {
    let responders: Vec<&str> = raw
        .oncall
        .iter()
        .flat_map(|o| o.get_ref().responders.iter())
        .map(|r| r.get_ref().name.get_ref().as_str())
        .collect();
    let mut ok = true;
    let mut warned_no_notify = false;
    for a in raw.deploys.iter().filter_map(|d| d.get_ref().author.as_ref()) {
        let name = a.get_ref();
        if name.trim().is_empty() {
            cx.error(a.span(), "deploys.author must be a person's name, e.g. \"alice\"");
            ok = false;
            continue;
        }
        if !responders.is_empty() && !responders.contains(&name.as_str()) {
            let near = crate::diagnostic::nearest(name, responders.iter().copied());
            if near.is_some_and(|n| n != name) {
                let message = format!(
                    "deploys.author `{name}` is not a responder of [oncall] (responders: {}); a committer may be anyone, but this looks like a typo",
                    responders.join(", ")
                );
                cx.unknown(Severity::Warning, a.span(), message, name, responders.iter().copied());
            }
        }
        if notify.is_none() && !warned_no_notify {
            cx.warning(
                a.span(),
                "deploys.author is set but [pipeline] has no `notify` receiver: nobody is told when its pipeline fails",
            );
            warned_no_notify = true;
        }
    }
    ok
}
