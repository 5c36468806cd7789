//! What the monitoring stack produced, scored: the ground truth's incidents with the
//! faults behind them, every firing episode of every rule set marked true or false
//! positive, every notification, and the alert quality of each set, each rule and the
//! whole file (`ops::quality`).

use std::collections::BTreeMap;

use prodsim_kernel::SimTime;
use prodsim_parts::faults::Fault;
use prodsim_parts::ops::quality::{
    self, FiringEpisode, Incident, IncidentRule, Quality, ScoreContext, SentNotification,
};
use prodsim_parts::ops::routing::{AlertStatus, Notification};
use prodsim_parts::ops::rules::Rule;
use prodsim_parts::ops::tsdb::Tsdb;
use prodsim_scenario::monitoring::{BusinessHours, SloSpec};

use crate::monitoring::Monitor;

/// A window in which users were hurt, with what caused it and what saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentOutcome {
    /// The window and its requests.
    pub incident: Incident,
    /// Faults in force during the window or shortly before it (`kind on target`).
    pub faults: Vec<String>,
    /// Share of the SLO period's error budget the incident burned.
    pub budget_burned: f64,
    /// When the first paging alert (any set) fired about it, ms.
    pub detected_ms: Option<i64>,
    /// When a responder acknowledged a page about it, ms (`None` without `[oncall]`, or
    /// if nobody did).
    pub acknowledged_ms: Option<i64>,
    /// When the first action that changed production took effect during it (a rollback,
    /// a hotfix everywhere, a scale-out, a failover, degradation switched on), ms.
    pub mitigated_ms: Option<i64>,
    /// Revenue of its failed requests (their class's `revenue`; queued payments are not
    /// lost).
    pub lost_revenue: f64,
    /// Users who saw at least one failure, estimated (see `docs/incidents.md`).
    pub affected_users: u64,
    /// Releases that contributed: live on some server when it started, or rolled out
    /// during it.
    pub deploys: Vec<String>,
}

impl IncidentOutcome {
    /// Its timeline: start, detection, acknowledgement, mitigation, resolution.
    pub fn timeline(&self) -> prodsim_parts::ops::incident::Timeline {
        prodsim_parts::ops::incident::Timeline {
            start_ms: self.incident.start_ms,
            detected_ms: self.detected_ms,
            acknowledged_ms: self.acknowledged_ms,
            mitigated_ms: self.mitigated_ms,
            resolved_ms: self.incident.end_ms,
        }
    }
}

/// One firing (or only pending) episode of an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeOutcome {
    /// The rule set.
    pub set: String,
    /// The alert's name.
    pub alert: String,
    /// Its `severity` label (empty without one).
    pub severity: String,
    /// Every label of the alert instance.
    pub labels: BTreeMap<String, String>,
    /// When it became pending, ms.
    pub pending_ms: i64,
    /// When it fired, ms; `None` if it never did.
    pub firing_ms: Option<i64>,
    /// When it resolved, ms; `None` if it was still active at the end.
    pub resolved_ms: Option<i64>,
    /// It fired and overlapped an incident.
    pub true_positive: bool,
}

/// One rule set's results.
#[derive(Clone, Debug)]
pub struct RuleSetOutcome {
    /// The set's name.
    pub name: String,
    /// Its scores.
    pub quality: Quality,
    /// Each alerting rule's scores, in file order.
    pub rules: Vec<(String, Quality)>,
    /// Notifications its router sent, in time order.
    pub notifications: Vec<Notification>,
}

/// The monitoring stack's results.
#[derive(Clone, Debug)]
pub struct MonitoringOutcome {
    /// Every scraped and recorded sample still held (all of them with `--metrics`).
    pub tsdb: Tsdb,
    /// Scrapes done.
    pub scrapes: u64,
    /// Rule evaluations done.
    pub evaluations: u64,
    /// The SLO behind the ground truth, if any.
    pub slo: Option<SloSpec>,
    /// The ground truth (empty without `[slo]`).
    pub incidents: Vec<IncidentOutcome>,
    /// Every episode of every set, in set order then time order.
    pub episodes: Vec<EpisodeOutcome>,
    /// Each rule set.
    pub sets: Vec<RuleSetOutcome>,
    /// Every set together.
    pub quality: Quality,
    /// Every rule of every set together, by alert name (sets sharing a name merge).
    pub rules: Vec<(String, Quality)>,
    /// Rules whose evaluation failed at least once (a PromQL runtime error such as a
    /// many-to-many match): rule name, failed evaluations, the last error. Such a rule
    /// keeps its previous alerts meanwhile.
    pub rule_errors: Vec<(String, u64, String)>,
    /// The wall clock at time 0, seconds after Monday 00:00.
    pub start_time_s: u64,
    /// Working hours.
    pub business_hours: BusinessHours,
}

fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", parts.join(","))
}

/// Scores what `monitor` saw over a run that ended at `end`, against the ground truth
/// `buckets` ((requests, bad) per SLO resolution bucket).
pub(crate) fn outcome(
    monitor: Monitor,
    buckets: &[(u64, u64)],
    faults: &[Fault],
    services: &[String],
    start_time_s: u64,
    end: SimTime,
) -> MonitoringOutcome {
    let run_ms = (end.as_nanos() / 1_000_000) as i64;
    let spec = &monitor.spec;
    let slo = spec.slo.clone();
    let incidents: Vec<Incident> = match &slo {
        Some(s) => quality::incidents(
            buckets,
            &IncidentRule {
                resolution_ms: (s.resolution_ns / 1_000_000) as i64,
                budget: s.budget(),
                burn_rate: s.incident_burn_rate,
                min_ms: (s.min_incident_ns / 1_000_000) as i64,
                merge_gap_ms: (s.merge_gap_ns / 1_000_000) as i64,
            },
        ),
        None => Vec::new(),
    };
    let slack_ms = slo.as_ref().map_or(5 * 60_000, |s| (s.merge_gap_ns / 1_000_000) as i64);
    let business = spec.business_hours;
    let in_hours = move |t_ms: i64| business.contains(start_time_s + (t_ms.max(0) / 1000) as u64);
    let cx = ScoreContext { incidents: &incidents, slack_ms, run_ms, in_hours: &in_hours, paging_recall: true };
    let rule_cx = ScoreContext { paging_recall: false, ..cx };

    let mut rule_errors = Vec::new();
    let engines = std::iter::once(&monitor.recording).chain(monitor.sets.iter().map(|s| &s.engine));
    for engine in engines {
        for (k, rule) in engine.rules().iter().enumerate() {
            let n = engine.errors(k);
            if n > 0 {
                let name = match rule {
                    Rule::Alert(a) => a.name.clone(),
                    Rule::Record(r) => r.record.clone(),
                };
                let last = engine.last_error(k).map_or(String::new(), ToString::to_string);
                rule_errors.push((name, n, last));
            }
        }
    }
    let mut episodes = Vec::new();
    let mut sets = Vec::new();
    let (mut all_firing, mut all_sent) = (Vec::new(), Vec::new());
    let mut by_rule: BTreeMap<String, (Vec<FiringEpisode>, Vec<SentNotification>)> = BTreeMap::new();
    let mut rule_order: Vec<String> = Vec::new();
    for set in monitor.sets {
        let rules = set.engine.rules();
        let names: Vec<String> = rules
            .iter()
            .map(|r| match r {
                Rule::Alert(a) => a.name.clone(),
                Rule::Record(r) => r.record.clone(),
            })
            .collect();
        let mut firing = Vec::new();
        for e in set.engine.episodes() {
            let alert = names.get(e.rule).cloned().unwrap_or_default();
            let severity = e.labels.get("severity").cloned().unwrap_or_default();
            let f = e.firing_ms.map(|firing_ms| FiringEpisode {
                alert: alert.clone(),
                labels: render_labels(&e.labels),
                paging: quality::is_paging(&severity),
                firing_ms,
                resolved_ms: e.resolved_ms,
            });
            let true_positive =
                f.as_ref().is_some_and(|f| incidents.iter().any(|i| quality::overlaps(f, i, slack_ms, run_ms)));
            episodes.push(EpisodeOutcome {
                set: set.name.clone(),
                alert,
                severity,
                labels: e.labels.clone(),
                pending_ms: e.pending_ms,
                firing_ms: e.firing_ms,
                resolved_ms: e.resolved_ms,
                true_positive,
            });
            firing.extend(f);
        }
        let sent: Vec<SentNotification> = set.notifications.iter().map(scored_notification).collect();
        let mut rule_scores = Vec::new();
        for name in names.iter().filter(|n| rules.iter().any(|r| matches!(r, Rule::Alert(a) if &a.name == *n))) {
            if rule_scores.iter().any(|(n, _): &(String, Quality)| n == name) {
                continue;
            }
            let mine: Vec<FiringEpisode> = firing.iter().filter(|f| &f.alert == name).cloned().collect();
            let notes: Vec<SentNotification> = sent.iter().filter(|n| n.alerts.contains(name)).cloned().collect();
            rule_scores.push((name.clone(), quality::score(&mine, &notes, &rule_cx)));
            let entry = by_rule.entry(name.clone()).or_default();
            entry.0.extend(mine);
            entry.1.extend(notes);
            if !rule_order.contains(name) {
                rule_order.push(name.clone());
            }
        }
        sets.push(RuleSetOutcome {
            name: set.name.clone(),
            quality: quality::score(&firing, &sent, &cx),
            rules: rule_scores,
            notifications: set.notifications,
        });
        all_firing.extend(firing);
        all_sent.extend(sent);
    }
    let rules: Vec<(String, Quality)> = rule_order
        .into_iter()
        .map(|name| {
            let (f, n) = by_rule.remove(&name).unwrap_or_default();
            let q = quality::score(&f, &n, &rule_cx);
            (name, q)
        })
        .collect();
    let total_requests: u64 = buckets.iter().map(|b| b.0).sum();
    let scored: Vec<IncidentOutcome> = incidents
        .iter()
        .cloned()
        .map(|i| {
            let window_requests =
                slo.as_ref().map_or(0.0, |s| total_requests as f64 / (run_ms.max(1) as f64 * 1e6) * s.window_ns as f64);
            let budget_burned = slo.as_ref().map_or(0.0, |s| {
                if window_requests > 0.0 { i.bad as f64 / (s.budget() * window_requests) } else { 0.0 }
            });
            let lead_ms = slack_ms;
            let faults = faults
                .iter()
                .filter(|f| {
                    let (a, b) = ((f.start_ns / 1_000_000) as i64, (f.end_ns.max(f.start_ns + 1) / 1_000_000) as i64);
                    a <= i.end_ms && b >= i.start_ms - lead_ms
                })
                .map(|f| format!("{} on {}", f.kind.name(), f.target.name_with(services)))
                .collect();
            let detected_ms = all_firing
                .iter()
                .filter(|e| e.paging && quality::overlaps(e, &i, slack_ms, run_ms))
                .map(|e| e.firing_ms.max(i.start_ms))
                .min();
            IncidentOutcome {
                incident: i,
                faults,
                budget_burned,
                detected_ms,
                acknowledged_ms: None,
                mitigated_ms: None,
                lost_revenue: 0.0,
                affected_users: 0,
                deploys: Vec::new(),
            }
        })
        .collect();
    let mut quality = quality::score(&all_firing, &all_sent, &cx);
    let mut rules: Vec<(String, Quality)> = rules;
    if slo.is_none() {
        // Without an objective there is no ground truth: nothing can be called a true or
        // false positive, detected or missed. Counts of pages and notifications stand.
        let in_sets =
            sets.iter_mut().flat_map(|s| std::iter::once(&mut s.quality).chain(s.rules.iter_mut().map(|r| &mut r.1)));
        for q in std::iter::once(&mut quality).chain(in_sets).chain(rules.iter_mut().map(|r| &mut r.1)) {
            q.precision = None;
            q.recall = None;
            q.true_positives = 0;
        }
    }
    MonitoringOutcome {
        tsdb: monitor.tsdb,
        scrapes: monitor.scrapes,
        evaluations: monitor.evaluations,
        slo,
        incidents: scored,
        episodes,
        sets,
        quality,
        rules,
        rule_errors,
        start_time_s,
        business_hours: business,
    }
}

/// A notification as the scoring sees it: its firing alerts and whether one pages.
fn scored_notification(n: &Notification) -> SentNotification {
    let firing: Vec<_> = n.alerts.iter().filter(|a| a.status == AlertStatus::Firing).collect();
    SentNotification {
        t_ms: n.t_ms,
        page: firing.iter().any(|a| a.labels.get("severity").is_some_and(|s| quality::is_paging(s))),
        alerts: firing.iter().filter_map(|a| a.labels.get("alertname").cloned()).collect(),
        repeat: n.repeat,
    }
}

impl crate::engine::Engine {
    /// What monitoring saw, scored against the ground truth, its incidents enriched with
    /// the releases and responses of `delivery`; `None` without monitoring.
    pub(crate) fn monitoring_outcome(
        &mut self,
        scenario: &prodsim_scenario::Scenario,
        delivery: Option<&crate::delivery::incidents::DeliveryOutcome>,
        end: SimTime,
    ) -> Option<Box<MonitoringOutcome>> {
        let m = self.monitor.take()?;
        let services: Vec<String> = scenario.topology.services.iter().map(|s| s.name.clone()).collect();
        let truth = std::mem::take(&mut self.measure.truth.buckets);
        let mut out = outcome(*m, &truth, &scenario.faults, &services, scenario.start_time_s, end);
        if let Some(slo) = &out.slo {
            let resolution_ms = prodsim_kernel::units::ns_to_ms_floor(slo.resolution_ns);
            let slack_ms = prodsim_kernel::units::ns_to_ms_floor(slo.merge_gap_ns);
            let lost = &self.measure.truth.lost;
            crate::delivery::incidents::enrich(&mut out.incidents, delivery, lost, resolution_ms, slack_ms);
        }
        Some(Box::new(out))
    }
}
