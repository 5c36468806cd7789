//! `postmortem.md`: one blameless post-mortem per incident of the run, written by
//! `prodsim_parts::ops::postmortem` from what the run recorded around the incident — the faults
//! and releases behind it, the alerts, the pages and who acted, the playbook actions, and
//! the impact. Documented in `docs/incidents.md`.

use prodsim_kernel::units::ns_to_ms_floor as ms;
use prodsim_model::Outcome;
use prodsim_model::system::{DeliveryOutcome, IncidentOutcome, MonitoringOutcome};
use prodsim_parts::ops::postmortem::{self, ActionNote, AlertNote, DeployNote, Event, Impact, PostmortemInput};

/// How far before an incident its story starts (a release merged, a fault began).
const BEFORE_MS: i64 = 30 * 60_000;
/// How far after it the story goes on (alerts resolve, the queue drains).
const AFTER_MS: i64 = 15 * 60_000;

/// Every incident's post-mortem, separated by rules; `None` when the run had no incident
/// (or no `[slo]` to find them).
pub fn render_all(o: &Outcome, scenario: &str) -> Option<String> {
    let system = o.system.as_deref()?;
    let m = system.monitoring.as_deref()?;
    if m.incidents.is_empty() {
        return None;
    }
    // Stations are the app servers, then the services in id order (then the database).
    let services: Vec<String> = system.components.iter().skip(1).map(|c| c.name.clone()).collect();
    let docs: Vec<String> = m
        .incidents
        .iter()
        .enumerate()
        .map(|(k, inc)| postmortem::render(&input(o, m, system.delivery.as_ref(), &services, k, inc, scenario)))
        .collect();
    Some(docs.join("\n---\n\n"))
}

/// What the post-mortem of incident `k` is written from.
fn input(
    o: &Outcome,
    m: &MonitoringOutcome,
    d: Option<&DeliveryOutcome>,
    services: &[String],
    k: usize,
    inc: &IncidentOutcome,
    scenario: &str,
) -> PostmortemInput {
    let (start, end) = (inc.incident.start_ms, inc.incident.end_ms);
    let slack = m.slo.as_ref().map_or(5 * 60_000, |s| ms(s.merge_gap_ns));
    let near = |t: i64| t >= start - BEFORE_MS && t <= end + AFTER_MS;
    let mut events: Vec<Event> = Vec::new();
    let mut event = |t_ms: i64, text: String| {
        if near(t_ms) {
            events.push(Event { t_ms, text });
        }
    };
    for f in &o.faults {
        let what = format!("{} on {}", f.kind.name(), f.target.name_with(services));
        event(ms(f.start_ns), format!("{what} starts"));
        if f.end_ns > f.start_ns {
            event(ms(f.end_ns), format!("{what} ends"));
        }
    }
    let alerts: Vec<AlertNote> = m
        .episodes
        .iter()
        .filter_map(|e| {
            let fired = e.firing_ms?;
            let overlaps = fired <= end && e.resolved_ms.is_none_or(|r| r >= start - slack);
            overlaps.then(|| AlertNote {
                name: e.alert.clone(),
                set: e.set.clone(),
                severity: e.severity.clone(),
                fired_ms: fired,
                resolved_ms: e.resolved_ms,
                paged: prodsim_parts::ops::quality::is_paging(&e.severity),
            })
        })
        .collect();
    for a in &alerts {
        event(a.fired_ms, format!("alert {} ({}) fires", a.name, a.severity));
        if let Some(r) = a.resolved_ms {
            event(r, format!("alert {} resolves", a.name));
        }
    }
    let mut pages = Vec::new();
    let mut actions = Vec::new();
    let mut deploys = Vec::new();
    if let Some(d) = d {
        for r in &d.releases {
            let who =
                if r.hotfix { format!("hotfix {} by {}", r.version, r.by) } else { format!("release {}", r.version) };
            event(ms(r.merged_ns), format!("{who} merged; the pipeline starts"));
            if let Some(t) = r.rollout_start_ns {
                event(ms(t), format!("{} starts reaching production ({})", r.version, r.strategy));
            }
            if let Some(t) = r.everywhere_ns {
                event(ms(t), format!("{} is on every server", r.version));
            }
            if let Some(t) = r.end_ns {
                let why = r.reason.as_ref().map_or(String::new(), |w| format!(": {w}"));
                event(ms(t), format!("{} {}{why}", r.version, r.outcome.as_str().replace('_', " ")));
            }
            if inc.deploys.contains(&r.version) {
                deploys.push(DeployNote {
                    version: r.version.clone(),
                    strategy: r.strategy.clone(),
                    start_ms: ms(r.merged_ns),
                    end_ms: r.end_ns.map(ms),
                    outcome: r.outcome.as_str().to_string(),
                    harmful: r.harmful,
                    canary_share: (r.strategy == "canary").then_some(r.peak_share),
                });
            }
        }
        for p in d.pages.iter().filter(|p| ms(p.opened_ns) >= start - slack && ms(p.opened_ns) <= end) {
            for a in &p.attempts {
                let missed = if a.missed { " (missed)" } else { "" };
                event(ms(a.paged_ns), format!("{} paged{missed}", a.responder));
            }
            if let Some((t, who)) = &p.acknowledged {
                event(ms(*t), format!("{who} acknowledges the page"));
            }
            pages.push(p.clone());
        }
        for a in d.actions.iter().filter(|a| near(ms(a.started_ns))) {
            event(ms(a.started_ns), format!("{} starts {} ({} playbook)", a.by, a.action, a.alert));
            actions.push(ActionNote {
                action: a.action.clone(),
                by: a.by.clone(),
                started_ms: ms(a.started_ns),
                finished_ms: a.finished_ns.map(ms),
                succeeded: a.succeeded,
                attempts: a.attempts,
            });
        }
        for mi in d.mitigations.iter().filter(|mi| mi.by == "pipeline" && near(ms(mi.t_ns))) {
            actions.push(ActionNote {
                action: mi.what.clone(),
                by: mi.by.clone(),
                started_ms: ms(mi.t_ns),
                finished_ms: Some(ms(mi.t_ns)),
                succeeded: true,
                attempts: 1,
            });
        }
    }
    events.sort_by_key(|e| e.t_ms);
    PostmortemInput {
        scenario: scenario.to_string(),
        number: k + 1,
        start_time_s: m.start_time_s,
        timeline: inc.timeline(),
        events,
        alerts,
        pages,
        actions,
        impact: Impact {
            requests: inc.incident.requests,
            failed_requests: inc.incident.bad,
            affected_users: inc.affected_users,
            lost_revenue: inc.lost_revenue,
            budget_burned: inc.budget_burned,
        },
        faults: inc.faults.clone(),
        deploys,
        rollback_plan_ms: d.and_then(|d| d.rollback_plan_ns).map(ms),
        business_hours: m.business_hours,
    }
}
