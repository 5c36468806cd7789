//! `postmortem.md`: one blameless post-mortem per incident of the run, written by
//! `prodsim_parts::ops::postmortem` from what the run recorded around the incident — the faults
//! and releases behind it, the alerts, the pages and who acted, the playbook actions, and
//! the impact. Documented in `docs/incidents.md`.

use prodsim_kernel::units::ns_to_ms_floor as ms;
use prodsim_model::Outcome;
use prodsim_model::outcome::{DeliveryOutcome, IncidentOutcome, MonitoringOutcome};
use prodsim_parts::ops::oncall::Page;
use prodsim_parts::ops::postmortem::{self, ActionNote, AlertNote, DeployNote, Event, Impact, PostmortemInput};

/// How far before an incident its story starts (a release merged, a fault began).
const BEFORE_MS: i64 = 30 * 60_000;
/// How far after it the story goes on (alerts resolve, the queue drains).
const AFTER_MS: i64 = 15 * 60_000;

/// Every incident's post-mortem, separated by rules; `None` when the run had no incident
/// (or no `[slo]` to find them).
pub fn render_all(o: &Outcome, scenario: &str) -> Option<String> {
    let system = &*o.system;
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

/// The timeline of one incident's story: what happened from [`BEFORE_MS`] before it to
/// [`AFTER_MS`] after it, in the order it was told (sorted by time at the end).
struct Story {
    from_ms: i64,
    to_ms: i64,
    events: Vec<Event>,
}

impl Story {
    fn new(start_ms: i64, end_ms: i64) -> Story {
        Story { from_ms: start_ms - BEFORE_MS, to_ms: end_ms + AFTER_MS, events: Vec::new() }
    }

    /// Whether `t_ms` falls within the story.
    fn near(&self, t_ms: i64) -> bool {
        t_ms >= self.from_ms && t_ms <= self.to_ms
    }

    /// Tells `text` at `t_ms`, when that is near the incident.
    fn tell(&mut self, t_ms: i64, text: String) {
        if self.near(t_ms) {
            self.events.push(Event { t_ms, text });
        }
    }

    /// The events in time order (events at the same time in the order they were told).
    fn into_events(mut self) -> Vec<Event> {
        self.events.sort_by_key(|e| e.t_ms);
        self.events
    }
}

/// What delivery and incident response contributed to one incident's post-mortem.
#[derive(Default)]
struct Response {
    pages: Vec<Page>,
    actions: Vec<ActionNote>,
    deploys: Vec<DeployNote>,
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
    let mut story = Story::new(start, end);
    tell_faults(&mut story, o, services);
    let alerts = alert_notes(m, start - slack, end);
    for a in &alerts {
        story.tell(a.fired_ms, format!("alert {} ({}) fires", a.name, a.severity));
        if let Some(r) = a.resolved_ms {
            story.tell(r, format!("alert {} resolves", a.name));
        }
    }
    let response = d.map_or_else(Response::default, |d| {
        let mut response = Response::default();
        tell_releases(&mut story, &mut response, d, inc);
        tell_pages(&mut story, &mut response, d, start - slack, end);
        tell_actions(&mut story, &mut response, d);
        response
    });
    PostmortemInput {
        scenario: scenario.to_string(),
        number: k + 1,
        start_time_s: m.start_time_s,
        timeline: inc.timeline(),
        events: story.into_events(),
        alerts,
        pages: response.pages,
        actions: response.actions,
        impact: Impact {
            requests: inc.incident.requests,
            failed_requests: inc.incident.bad,
            release_failures: inc.release_failures,
            affected_users: inc.affected_users,
            lost_revenue: inc.lost_revenue,
            budget_burned: inc.budget_burned,
        },
        faults: inc.faults.clone(),
        deploys: response.deploys,
        rollback_plan_ms: d.and_then(|d| d.rollback_plan_ns).map(ms),
        business_hours: m.business_hours,
    }
}

/// Each injected fault's start and end.
fn tell_faults(story: &mut Story, o: &Outcome, services: &[String]) {
    for f in &o.faults {
        let what = format!("{} on {}", f.kind.name(), f.target.name_with(services));
        story.tell(ms(f.start_ns), format!("{what} starts"));
        if f.end_ns > f.start_ns {
            story.tell(ms(f.end_ns), format!("{what} ends"));
        }
    }
}

/// The alerts that fired by `end_ms` and were still firing at `from_ms` (or never resolved).
fn alert_notes(m: &MonitoringOutcome, from_ms: i64, end_ms: i64) -> Vec<AlertNote> {
    m.episodes
        .iter()
        .filter_map(|e| {
            let fired = e.firing_ms?;
            let overlaps = fired <= end_ms && e.resolved_ms.is_none_or(|r| r >= from_ms);
            overlaps.then(|| AlertNote {
                name: e.alert.clone(),
                set: e.set.clone(),
                severity: e.severity.clone(),
                fired_ms: fired,
                resolved_ms: e.resolved_ms,
                paged: prodsim_parts::ops::quality::is_paging(&e.severity),
            })
        })
        .collect()
}

/// Each release's walk (merged, reaching production, everywhere, its end), and the
/// releases that contributed to the incident as deploy notes.
fn tell_releases(story: &mut Story, response: &mut Response, d: &DeliveryOutcome, inc: &IncidentOutcome) {
    for r in &d.releases {
        let who = if r.hotfix { format!("hotfix {} by {}", r.version, r.by) } else { format!("release {}", r.version) };
        story.tell(ms(r.merged_ns), format!("{who} merged; the pipeline starts"));
        if let Some(t) = r.rollout_start_ns {
            story.tell(ms(t), format!("{} starts reaching production ({})", r.version, r.strategy));
        }
        if let Some(t) = r.everywhere_ns {
            story.tell(ms(t), format!("{} is on every server", r.version));
        }
        if let Some(t) = r.end_ns {
            let why = r.reason.as_ref().map_or(String::new(), |w| format!(": {w}"));
            story.tell(ms(t), format!("{} {}{why}", r.version, r.outcome.as_str().replace('_', " ")));
        }
        if inc.deploys.contains(&r.version) {
            response.deploys.push(DeployNote {
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
}

/// The pages opened between `from_ms` and `end_ms`: who was paged (and missed it), who
/// acknowledged.
fn tell_pages(story: &mut Story, response: &mut Response, d: &DeliveryOutcome, from_ms: i64, end_ms: i64) {
    for p in d.pages.iter().filter(|p| ms(p.opened_ns) >= from_ms && ms(p.opened_ns) <= end_ms) {
        for a in &p.attempts {
            let missed = if a.missed { " (missed)" } else { "" };
            let tired = match a.recent_pages {
                0 => String::new(),
                n => format!(", their {}{} page in the fatigue window", n + 1, ordinal_suffix(n + 1)),
            };
            story.tell(ms(a.paged_ns), format!("{} paged{missed}{tired}", a.responder));
        }
        if let Some(ack) = &p.acknowledged {
            story.tell(ms(ack.at_ns), format!("{} acknowledges the page", ack.by));
        }
        response.pages.push(p.clone());
    }
}

/// The playbook actions started near the incident, and the pipeline's own mitigations
/// (an automatic rollback) as actions.
fn tell_actions(story: &mut Story, response: &mut Response, d: &DeliveryOutcome) {
    for a in &d.actions {
        if !story.near(ms(a.started_ns)) {
            continue;
        }
        story.tell(ms(a.started_ns), format!("{} starts {} ({} playbook)", a.by, a.action, a.alert));
        response.actions.push(ActionNote {
            action: a.action.clone(),
            by: a.by.clone(),
            started_ms: ms(a.started_ns),
            finished_ms: a.finished_ns.map(ms),
            succeeded: a.succeeded,
            attempts: a.attempts,
        });
    }
    for mi in d.mitigations.iter().filter(|mi| mi.by == "pipeline" && story.near(ms(mi.t_ns))) {
        response.actions.push(ActionNote {
            action: mi.what.clone(),
            by: mi.by.clone(),
            started_ms: ms(mi.t_ns),
            finished_ms: Some(ms(mi.t_ns)),
            succeeded: true,
            attempts: 1,
        });
    }
}

/// `st`, `nd`, `rd` or `th`, for "their 12th page".
fn ordinal_suffix(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

#[cfg(test)]
mod tests {
    use super::ordinal_suffix;

    #[test]
    fn ordinals_read_as_english() {
        let said: Vec<String> =
            [1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111].map(|n| format!("{n}{}", ordinal_suffix(n))).to_vec();
        assert_eq!(
            said,
            ["1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"]
        );
    }
}
