//! The monitoring part of `summary.json`: `monitoring` (what was scraped and evaluated),
//! `alert_quality` (the whole file, `rules.<alert>` and `sets.<set>`), `alerts[]` (every
//! firing episode), `incidents[]` (the ground truth) and `notifications[]`. Documented in
//! `docs/summary-json.md` and `docs/alerting.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use prodsim_model::outcome::MonitoringOutcome;
use prodsim_parts::ops::incident::{Timeline, mean_times};
use prodsim_parts::ops::quality::Quality;
use prodsim_parts::ops::routing::{AlertStatus, Delivery, Notification, Origin, ReceiverKind};

/// The keys monitoring adds at the top level of `summary.json`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertingSummary {
    /// `monitoring.*`.
    pub monitoring: MonitoringSummary,
    /// `alert_quality.*`.
    pub alert_quality: AlertQualitySummary,
    /// Every episode that fired, in set then time order.
    pub alerts: Vec<AlertEpisode>,
    /// The ground truth's incidents (empty without `[slo]`).
    pub incidents: Vec<IncidentSummary>,
    /// Mean incident start to detection (first page), seconds (`null`: none detected).
    pub mttd_s: Option<f64>,
    /// Mean detection to acknowledgement, seconds (`null`: none acknowledged).
    pub mtta_s: Option<f64>,
    /// Mean incident start to mitigation, seconds (`null`: none mitigated by an action).
    pub mttm_s: Option<f64>,
    /// Mean incident start to resolution, seconds (`null`: no incident).
    pub mttr_s: Option<f64>,
    /// Every notification sent, in set then time order, then the pipeline's messages.
    pub notifications: Vec<NotificationSummary>,
}

/// `monitoring`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MonitoringSummary {
    /// Scrapes done.
    pub scrapes: u64,
    /// Rule evaluations done.
    pub evaluations: u64,
    /// Series in the store at the end.
    pub series: usize,
    /// Samples held at the end.
    pub samples: usize,
    /// Episodes that were pending but never fired.
    pub pending_only: u64,
    /// Rule evaluations that failed (PromQL runtime errors), over every rule.
    pub rule_errors: u64,
}

/// Scores, as `alert_quality` and its `rules.<alert>` and `sets.<set>` write them.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QualitySummary {
    /// Firing episodes that overlapped an incident, over firing episodes.
    pub precision: Option<f64>,
    /// Incidents that got a page (a rule: that fired the rule), over incidents.
    pub recall: Option<f64>,
    /// Mean incident start to first firing, seconds.
    pub detection_time_s: Option<f64>,
    /// Mean incident end to resolution, seconds.
    pub reset_time_s: Option<f64>,
    /// Pages per week of simulated time.
    pub pages_per_week: f64,
    /// Notifications sent.
    pub notifications: u64,
    /// Pages sent: notifications that carried a paging alert (not `pages[]`, the on-call
    /// pages, where alerts join an open page).
    pub pages: u64,
    /// The same count under a clearer name: notifications carrying a firing `page` or
    /// `critical` alert.
    pub paging_notifications: u64,
    /// Pages outside business hours.
    pub pages_out_of_hours: u64,
    /// Firing episodes.
    pub episodes: u64,
    /// Of those, true positives.
    pub true_positives: u64,
    /// Episodes re-firing within 10 minutes of their previous resolution.
    pub flapping: u64,
    /// Resent unchanged notifications.
    pub duplicates: u64,
}

impl From<&Quality> for QualitySummary {
    fn from(q: &Quality) -> Self {
        QualitySummary {
            precision: q.precision,
            recall: q.recall,
            detection_time_s: q.detection_time_s,
            reset_time_s: q.reset_time_s,
            pages_per_week: q.pages_per_week,
            notifications: q.notifications,
            pages: q.pages,
            paging_notifications: q.pages,
            pages_out_of_hours: q.pages_out_of_hours,
            episodes: q.episodes,
            true_positives: q.true_positives,
            flapping: q.flapping,
            duplicates: q.duplicates,
        }
    }
}

/// `alert_quality`: the whole file's scores, plus per rule and per set.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertQualitySummary {
    /// The whole file.
    #[serde(flatten)]
    pub whole: QualitySummary,
    /// `rules.<alert>`.
    pub rules: BTreeMap<String, QualitySummary>,
    /// `sets.<set>`, each scored alone.
    pub sets: BTreeMap<String, QualitySummary>,
}

/// One element of `alerts`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertEpisode {
    /// The alert's name.
    pub alert: String,
    /// Its rule set.
    pub set: String,
    /// Its `severity` label.
    pub severity: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Became pending, seconds.
    pub pending_s: f64,
    /// Fired, seconds.
    pub firing_s: f64,
    /// Resolved, seconds (`null`: still firing at the end).
    pub resolved_s: Option<f64>,
    /// Overlapped an incident.
    pub true_positive: bool,
}

/// One element of `incidents`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IncidentSummary {
    /// First bad bucket, seconds.
    pub start_s: f64,
    /// First paging alert about it fired, seconds (`null`: none).
    pub detected_s: Option<f64>,
    /// The first notification carrying a paging alert about it went out, seconds (`null`:
    /// no page went out).
    pub paged_s: Option<f64>,
    /// A responder acknowledged a page about it, seconds (`null`: nobody did, or no
    /// `[oncall]`).
    pub acknowledged_s: Option<f64>,
    /// The first action that changed production took effect, seconds (`null`: it ended
    /// on its own).
    pub mitigated_s: Option<f64>,
    /// End of the last bad bucket, seconds.
    pub resolved_s: f64,
    /// User requests in the window.
    pub requests: u64,
    /// Bad ones (failed, or slower than the SLO's latency).
    pub failed_requests: u64,
    /// Share of the SLO period's error budget burned.
    pub budget_burned: f64,
    /// Users who saw a failure, estimated (`docs/incidents.md`).
    pub affected_users: u64,
    /// Revenue of its failed requests (their class's `revenue`).
    pub lost_revenue: f64,
    /// Faults in force during it or shortly before.
    pub faults: Vec<String>,
    /// Harmful releases live during it.
    pub deploys: Vec<String>,
}

/// One element of `notifications`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NotificationSummary {
    /// When, seconds.
    pub time_s: f64,
    /// `alert` (alert routing) or `pipeline` (a failed release's message to its author).
    pub kind: String,
    /// The rule set whose router sent it; `null` for a `pipeline` message.
    pub set: Option<String>,
    /// Whom a `pipeline` message is for: the release's author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The receiver's name.
    pub receiver: String,
    /// `slack`, `email`, `sms`, `pager` or `webhook`.
    pub channel: String,
    /// Where it went: the channel, address, number, service or URL.
    pub to: String,
    /// `firing` when any alert in it fires, else `resolved`.
    pub status: String,
    /// The alerts it carries.
    pub alerts: Vec<String>,
    /// The highest severity among them.
    pub severity: String,
    /// The first alert's `summary` annotation.
    pub summary: String,
    /// A resend of unchanged content.
    pub repeat: bool,
    /// The first alert's `runbook_url` annotation, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook_url: Option<String>,
    /// The first alert's `dashboard_url` annotation, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_url: Option<String>,
    /// `delivered`; `failed` when the receiver's channel was down (a
    /// `notification_outage`: nobody saw it); `fallback` when it went to this receiver
    /// because `fallback_for`'s channel was down.
    pub delivery: String,
    /// The receiver whose failure sent it here, for a `fallback` delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_for: Option<String>,
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Where a receiver's notifications go: its channel, address, number, service or URL.
fn address(kind: &ReceiverKind) -> &str {
    match kind {
        ReceiverKind::Slack { channel } => channel,
        ReceiverKind::Email { to } | ReceiverKind::Sms { to } => to,
        ReceiverKind::Pager { service } => service,
        ReceiverKind::Webhook { url } => url,
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "page" => 3,
        "warning" => 2,
        "ticket" => 1,
        _ => 0,
    }
}

fn notification(set: Option<&str>, n: &Notification) -> NotificationSummary {
    let (kind, to) = (n.kind.as_str(), address(&n.kind));
    let firing = n.alerts.iter().any(|a| a.status == AlertStatus::Firing);
    let severity = n
        .alerts
        .iter()
        .filter_map(|a| a.labels.get("severity"))
        .max_by_key(|s| severity_rank(s))
        .cloned()
        .unwrap_or_default();
    let mut alerts: Vec<String> = n.alerts.iter().filter_map(|a| a.labels.get("alertname").cloned()).collect();
    alerts.dedup();
    NotificationSummary {
        time_s: secs(n.t_ms),
        kind: n.origin.as_str().to_string(),
        set: set.map(str::to_string),
        author: match &n.origin {
            Origin::Pipeline { author, .. } => Some(author.clone()),
            Origin::Alert => None,
        },
        receiver: n.receiver.clone(),
        channel: kind.to_string(),
        to: to.to_string(),
        status: if firing { "firing" } else { "resolved" }.to_string(),
        alerts,
        severity,
        summary: n.alerts.first().and_then(|a| a.annotations.get("summary").cloned()).unwrap_or_default(),
        repeat: n.repeat,
        runbook_url: n.alerts.first().and_then(|a| a.annotations.get("runbook_url").cloned()),
        dashboard_url: n.alerts.first().and_then(|a| a.annotations.get("dashboard_url").cloned()),
        delivery: n.delivery.as_str().to_string(),
        fallback_for: match &n.delivery {
            Delivery::Fallback { from } => Some(from.clone()),
            Delivery::Delivered | Delivery::Failed => None,
        },
    }
}

impl AlertingSummary {
    /// The summary of `m`.
    pub fn from_outcome(m: &MonitoringOutcome) -> AlertingSummary {
        let timelines: Vec<Timeline> =
            m.incidents.iter().map(prodsim_model::outcome::IncidentOutcome::timeline).collect();
        let means = mean_times(&timelines);
        AlertingSummary {
            monitoring: MonitoringSummary {
                scrapes: m.scrapes,
                evaluations: m.evaluations,
                series: m.tsdb.len(),
                samples: m.tsdb.samples(),
                pending_only: m.episodes.iter().filter(|e| e.firing_ms.is_none()).count() as u64,
                rule_errors: m.rule_errors.iter().map(|e| e.failed_evaluations).sum(),
            },
            alert_quality: AlertQualitySummary {
                whole: (&m.quality).into(),
                rules: m.rules.iter().map(|r| (r.alert.clone(), (&r.quality).into())).collect(),
                sets: m.sets.iter().map(|s| (s.name.clone(), (&s.quality).into())).collect(),
            },
            alerts: m
                .episodes
                .iter()
                .filter_map(|e| {
                    Some(AlertEpisode {
                        alert: e.alert.clone(),
                        set: e.set.clone(),
                        severity: e.severity.clone(),
                        labels: e.labels.clone(),
                        pending_s: secs(e.pending_ms),
                        firing_s: secs(e.firing_ms?),
                        resolved_s: e.resolved_ms.map(secs),
                        true_positive: e.true_positive,
                    })
                })
                .collect(),
            incidents: m
                .incidents
                .iter()
                .map(|i| IncidentSummary {
                    start_s: secs(i.incident.start_ms),
                    detected_s: i.detected_ms.map(secs),
                    paged_s: i.paged_ms.map(secs),
                    acknowledged_s: i.acknowledged_ms.map(secs),
                    mitigated_s: i.mitigated_ms.map(secs),
                    resolved_s: secs(i.incident.end_ms),
                    requests: i.incident.requests,
                    failed_requests: i.incident.bad,
                    budget_burned: i.budget_burned,
                    affected_users: i.affected_users,
                    lost_revenue: i.lost_revenue,
                    faults: i.faults.clone(),
                    deploys: i.deploys.clone(),
                })
                .collect(),
            mttd_s: means.mttd_s,
            mtta_s: means.mtta_s,
            mttm_s: means.mttm_s,
            mttr_s: means.mttr_s,
            notifications: m
                .sets
                .iter()
                .flat_map(|s| s.notifications.iter().map(move |n| notification(Some(&s.name), n)))
                .chain(m.pipeline_notifications.iter().map(|n| notification(None, n)))
                .collect(),
        }
    }
}
