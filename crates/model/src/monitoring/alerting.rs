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

use prodsim_kernel::units::ns_to_ms_floor;

use crate::monitoring::{Monitor, SetState};

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
    /// When the first notification carrying a paging alert about it was sent (after the
    /// route's `group_wait`), ms; `None`: no page went out.
    pub paged_ms: Option<i64>,
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
    /// Of its bad requests, those a harmful release caused: bad requests on a harmful
    /// version beyond the rate at which requests on other versions were bad.
    pub release_failures: u64,
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
            paged_ms: self.paged_ms,
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

/// One alerting rule's scores.
#[derive(Clone, Debug)]
pub struct RuleQuality {
    /// The alert's name.
    pub alert: String,
    /// Its scores.
    pub quality: Quality,
}

/// A rule whose evaluation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The alert's name, or the recording rule's series.
    pub rule: String,
    /// Evaluations that failed.
    pub failed_evaluations: u64,
    /// The last error.
    pub last_error: String,
}

/// One rule set's results.
#[derive(Clone, Debug)]
pub struct RuleSetOutcome {
    /// The set's name.
    pub name: String,
    /// Its scores.
    pub quality: Quality,
    /// Each alerting rule's scores, in file order.
    pub rules: Vec<RuleQuality>,
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
    /// Failed pipelines' direct messages to their committers (`[pipeline] notify`), in
    /// time order, failed attempts included; never scored or paged.
    pub pipeline_notifications: Vec<Notification>,
    /// Every set together.
    pub quality: Quality,
    /// Every rule of every set together, by alert name (sets sharing a name merge).
    pub rules: Vec<RuleQuality>,
    /// Rules whose evaluation failed at least once (a PromQL runtime error such as a
    /// many-to-many match). Such a rule keeps its previous alerts meanwhile.
    pub rule_errors: Vec<RuleError>,
    /// The wall clock at time 0, seconds after Monday 00:00.
    pub start_time_s: u64,
    /// The run's length, ms (what `pages_per_week` extrapolates from).
    pub run_ms: i64,
    /// Working hours.
    pub business_hours: BusinessHours,
}

fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", parts.join(","))
}

/// The name a rule goes by: an alert's name or a recording rule's series.
fn rule_name(rule: &Rule) -> &str {
    match rule {
        Rule::Alert(a) => &a.name,
        Rule::Record(r) => &r.record,
    }
}

/// The ground truth's incidents under `slo` over the SLO resolution `buckets`.
pub(crate) fn truth(slo: Option<&SloSpec>, buckets: &[(u64, u64)]) -> Vec<Incident> {
    let Some(s) = slo else { return Vec::new() };
    let rule = IncidentRule {
        resolution_ms: ns_to_ms_floor(s.resolution_ns) as i64,
        budget: s.budget(),
        burn_rate: s.incident_burn_rate,
        significance: s.incident_significance,
        min_bad: s.incident_min_bad,
        min_ms: ns_to_ms_floor(s.min_incident_ns) as i64,
        merge_gap_ms: ns_to_ms_floor(s.merge_gap_ns) as i64,
    };
    quality::incidents(buckets, &rule)
}

/// Rules of the recording set and of every rule set whose evaluation failed at least once.
fn rule_errors(monitor: &Monitor) -> Vec<RuleError> {
    let engines = std::iter::once(&monitor.recording).chain(monitor.sets.iter().map(|s| &s.engine));
    let mut errors = Vec::new();
    for engine in engines {
        for (k, rule) in engine.rules().iter().enumerate() {
            let failed_evaluations = engine.errors(k);
            if failed_evaluations > 0 {
                errors.push(RuleError {
                    rule: rule_name(rule).to_string(),
                    failed_evaluations,
                    last_error: engine.last_error(k).map_or(String::new(), ToString::to_string),
                });
            }
        }
    }
    errors
}

/// Scores rule set by rule set, gathering every firing episode and notification, and per
/// alert name the episodes and notifications of every set that has it.
#[derive(Default)]
struct Scoring {
    episodes: Vec<EpisodeOutcome>,
    sets: Vec<RuleSetOutcome>,
    firing: Vec<FiringEpisode>,
    sent: Vec<SentNotification>,
    by_rule: BTreeMap<String, (Vec<FiringEpisode>, Vec<SentNotification>)>,
    rule_order: Vec<String>,
}

impl Scoring {
    /// Scores `set`: its episodes against `incidents`, the set and each of its alerting
    /// rules.
    fn set(&mut self, set: SetState, incidents: &[Incident], cx: &ScoreContext, rule_cx: &ScoreContext) {
        let rules = set.engine.rules();
        let names: Vec<String> = rules.iter().map(|r| rule_name(r).to_string()).collect();
        let mut firing = Vec::new();
        for e in set.engine.episodes() {
            let alert = names.get(e.rule).cloned().unwrap_or_default();
            let episode = self.episode(&set.name, alert, e, incidents, cx);
            firing.extend(episode);
        }
        // What reached people: a notification whose channel was down bothered nobody.
        let sent: Vec<SentNotification> =
            set.notifications.iter().filter(|n| n.delivery.reached()).map(scored_notification).collect();
        let mut rule_scores: Vec<RuleQuality> = Vec::new();
        let alerts = rules.iter().filter_map(|r| match r {
            Rule::Alert(a) => Some(&a.name),
            Rule::Record(_) => None,
        });
        for name in alerts {
            if rule_scores.iter().any(|r| &r.alert == name) {
                continue;
            }
            let mine: Vec<FiringEpisode> = firing.iter().filter(|f| &f.alert == name).cloned().collect();
            let notes: Vec<SentNotification> = sent.iter().filter(|n| n.alerts.contains(name)).cloned().collect();
            rule_scores.push(RuleQuality { alert: name.clone(), quality: quality::score(&mine, &notes, rule_cx) });
            let entry = self.by_rule.entry(name.clone()).or_default();
            entry.0.extend(mine);
            entry.1.extend(notes);
            if !self.rule_order.contains(name) {
                self.rule_order.push(name.clone());
            }
        }
        self.sets.push(RuleSetOutcome {
            name: set.name.clone(),
            quality: quality::score(&firing, &sent, cx),
            rules: rule_scores,
            notifications: set.notifications,
        });
        self.firing.extend(firing);
        self.sent.extend(sent);
    }

    /// Records episode `e` of alert `alert` in set `set`; its firing part, if it fired.
    fn episode(
        &mut self,
        set: &str,
        alert: String,
        e: &prodsim_parts::ops::rules::Episode,
        incidents: &[Incident],
        cx: &ScoreContext,
    ) -> Option<FiringEpisode> {
        let severity = e.labels.get("severity").cloned().unwrap_or_default();
        let firing = e.firing_ms.map(|firing_ms| FiringEpisode {
            alert: alert.clone(),
            labels: render_labels(&e.labels),
            paging: quality::is_paging(&severity),
            firing_ms,
            resolved_ms: e.resolved_ms,
        });
        let true_positive =
            firing.as_ref().is_some_and(|f| incidents.iter().any(|i| quality::overlaps(f, i, cx.slack_ms, cx.run_ms)));
        self.episodes.push(EpisodeOutcome {
            set: set.to_string(),
            alert,
            severity,
            labels: e.labels.clone(),
            pending_ms: e.pending_ms,
            firing_ms: e.firing_ms,
            resolved_ms: e.resolved_ms,
            true_positive,
        });
        firing
    }

    /// Every rule of every set together, by alert name in first-seen order.
    fn rules(&mut self, rule_cx: &ScoreContext) -> Vec<RuleQuality> {
        let order = std::mem::take(&mut self.rule_order);
        order
            .into_iter()
            .map(|alert| {
                let (f, n) = self.by_rule.remove(&alert).unwrap_or_default();
                RuleQuality { quality: quality::score(&f, &n, rule_cx), alert }
            })
            .collect()
    }
}

/// Share of `slo`'s window budget that `bad` requests burned, the window's requests
/// estimated from `requests` over `elapsed_ns`.
pub(crate) fn budget_burned(slo: &SloSpec, bad: u64, requests: u64, elapsed_ns: f64) -> f64 {
    let window_requests = requests as f64 / elapsed_ns * slo.window_ns as f64;
    if window_requests > 0.0 { bad as f64 / (slo.budget() * window_requests) } else { 0.0 }
}

/// What the ground truth's incidents need besides themselves.
struct TruthContext<'a> {
    slo: Option<&'a SloSpec>,
    faults: &'a [Fault],
    services: &'a [String],
    /// Requests over the whole run.
    total_requests: u64,
    run_ms: i64,
    slack_ms: i64,
}

impl TruthContext<'_> {
    /// Incident `i` with the faults behind it, the budget it burned, when a paging alert
    /// among `firing` detected it and when a notification among `sent` paged about it.
    fn incident(&self, i: Incident, firing: &[FiringEpisode], sent: &[SentNotification]) -> IncidentOutcome {
        let run_ns = self.run_ms.max(1) as f64 * 1e6;
        let budget_burned = self.slo.map_or(0.0, |s| budget_burned(s, i.bad, self.total_requests, run_ns));
        let faults = self
            .faults
            .iter()
            .filter(|f| {
                let a = ns_to_ms_floor(f.start_ns) as i64;
                let b = ns_to_ms_floor(f.end_ns.max(f.start_ns + 1)) as i64;
                contributes(a, b, &i, self.slack_ms)
            })
            .map(|f| format!("{} on {}", f.kind.name(), f.target.name_with(self.services)))
            .collect();
        let about: Vec<&FiringEpisode> =
            firing.iter().filter(|e| e.paging && quality::overlaps(e, &i, self.slack_ms, self.run_ms)).collect();
        let detected_ms = about.iter().map(|e| e.firing_ms.max(i.start_ms)).min();
        let paged_ms = about.iter().filter_map(|e| first_page(e, sent, self.run_ms)).map(|t| t.max(i.start_ms)).min();
        IncidentOutcome {
            incident: i,
            faults,
            budget_burned,
            detected_ms,
            paged_ms,
            acknowledged_ms: None,
            mitigated_ms: None,
            lost_revenue: 0.0,
            affected_users: 0,
            release_failures: 0,
            deploys: Vec::new(),
        }
    }
}

/// When the first paging notification carrying episode `e`'s alert went out while it
/// fired, ms.
fn first_page(e: &FiringEpisode, sent: &[SentNotification], run_ms: i64) -> Option<i64> {
    let until = e.resolved_ms.unwrap_or(run_ms);
    sent.iter()
        .filter(|n| n.page && n.t_ms >= e.firing_ms && n.t_ms <= until && n.alerts.contains(&e.alert))
        .map(|n| n.t_ms)
        .min()
}

/// Whether a fault in force from `start_ms` to `end_ms` contributed to `i`: it began
/// before the incident ended (one that starts exactly at its end came after the harm) and
/// was still in force at its start or up to `slack_ms` before.
fn contributes(start_ms: i64, end_ms: i64, i: &Incident, slack_ms: i64) -> bool {
    start_ms < i.end_ms && end_ms >= i.start_ms - slack_ms
}

/// Without an objective there is no ground truth: nothing can be called a true or false
/// positive, detected or missed. Counts of pages and notifications stand.
fn without_truth(quality: &mut Quality, sets: &mut [RuleSetOutcome], rules: &mut [RuleQuality]) {
    let in_sets =
        sets.iter_mut().flat_map(|s| std::iter::once(&mut s.quality).chain(s.rules.iter_mut().map(|r| &mut r.quality)));
    for q in std::iter::once(quality).chain(in_sets).chain(rules.iter_mut().map(|r| &mut r.quality)) {
        q.precision = None;
        q.recall = None;
        q.true_positives = 0;
    }
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
    let run_ms = ns_to_ms_floor(end.as_nanos()) as i64;
    let slo = monitor.spec.slo.clone();
    let incidents = truth(slo.as_ref(), buckets);
    let slack_ms = slo.as_ref().map_or(5 * 60_000, |s| ns_to_ms_floor(s.merge_gap_ns) as i64);
    let business = monitor.spec.business_hours;
    let in_hours = move |t_ms: i64| business.contains(start_time_s + (t_ms.max(0) / 1000) as u64);
    let cx = ScoreContext { incidents: &incidents, slack_ms, run_ms, in_hours: &in_hours, paging_recall: true };
    let rule_cx = ScoreContext { paging_recall: false, ..cx };

    let rule_errors = rule_errors(&monitor);
    let mut scoring = Scoring::default();
    for set in monitor.sets {
        scoring.set(set, &incidents, &cx, &rule_cx);
    }
    let mut rules = scoring.rules(&rule_cx);
    let truth_cx = TruthContext {
        slo: slo.as_ref(),
        faults,
        services,
        total_requests: buckets.iter().map(|b| b.0).sum(),
        run_ms,
        slack_ms,
    };
    let scored = incidents.iter().cloned().map(|i| truth_cx.incident(i, &scoring.firing, &scoring.sent)).collect();
    let mut quality = quality::score(&scoring.firing, &scoring.sent, &cx);
    if slo.is_none() {
        without_truth(&mut quality, &mut scoring.sets, &mut rules);
    }
    MonitoringOutcome {
        tsdb: monitor.tsdb,
        scrapes: monitor.scrapes,
        evaluations: monitor.evaluations,
        slo,
        incidents: scored,
        episodes: scoring.episodes,
        sets: scoring.sets,
        pipeline_notifications: monitor.committers.sent,
        quality,
        rules,
        rule_errors,
        start_time_s,
        run_ms,
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
            let counts = crate::delivery::incidents::TruthCounts {
                lost,
                buckets: &truth,
                on_release: &self.measure.truth.on_release,
            };
            crate::delivery::incidents::enrich(&mut out.incidents, delivery, counts, resolution_ms, slack_ms);
        }
        Some(Box::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_starting_as_the_incident_ends_is_not_its_cause() {
        let i = Incident { start_ms: 600_000, end_ms: 1_200_000, requests: 10, bad: 10 };
        assert!(!contributes(1_200_000, 1_800_000, &i, 300_000), "starts exactly at the end");
        assert!(contributes(1_199_999, 1_800_000, &i, 300_000));
        assert!(contributes(0, 300_000, &i, 300_000), "ended within the slack before it");
        assert!(!contributes(0, 299_999, &i, 300_000));
    }
}
