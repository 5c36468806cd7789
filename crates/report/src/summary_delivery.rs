//! The releases and incident response part of `summary.json`: `deploys[]` (every release
//! with its pipeline stages and outcome), `pages[]` (who was paged, who acknowledged),
//! `actions[]` (playbook actions) and `versions` (what the servers ran at the end).
//! Documented in `docs/summary-json.md` and `docs/incidents.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use prodsim_kernel::units::ns_to_s;
use prodsim_model::outcome::DeliveryOutcome;

/// The keys releases and incident response add at the top level of `summary.json`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeliverySummary {
    /// Every release: scheduled deploys in file order, then hotfixes.
    pub deploys: Vec<DeploySummary>,
    /// Every page of the on-call rotation.
    pub pages: Vec<PageSummary>,
    /// Every playbook action.
    pub actions: Vec<ActionSummary>,
    /// Servers per version at the end of the run (provisioned or not).
    pub versions: BTreeMap<String, u32>,
}

/// One element of `deploys`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeploySummary {
    /// The version.
    pub version: String,
    /// `all_at_once`, `rolling`, `canary`, `blue_green` or `feature_flag`.
    pub strategy: String,
    /// When it was merged and entered the pipeline, seconds.
    pub start_s: f64,
    /// When it ended (completed, rolled back or failed), seconds; `null` if under way.
    pub end_s: Option<f64>,
    /// `completed`, `rolled_back`, `failed` or `in_progress`.
    pub outcome: String,
    /// Why it was rolled back or failed.
    pub reason: Option<String>,
    /// A responder's hotfix.
    pub hotfix: bool,
    /// `pipeline`, or the responder who shipped the hotfix.
    pub by: String,
    /// Whether the version hurts users.
    pub harmful: bool,
    /// Merge to every server, seconds (`null` if it never got there).
    pub lead_time_s: Option<f64>,
    /// When the production rollout started, seconds.
    pub rollout_start_s: Option<f64>,
    /// Most of the traffic it took at once, 0..1.
    pub peak_share: f64,
    /// Who rolled it back.
    pub rolled_back_by: Option<String>,
    /// Who committed it (`[[deploys]] author`, a hotfix's responder); `null`: nobody named.
    pub author: Option<String>,
    /// When its author was told that its pipeline failed, seconds (`null`: not told: it
    /// did not fail, nobody to tell, or the `[pipeline] notify` channel was down).
    pub notified_s: Option<f64>,
    /// Its pipeline stages as they ran.
    pub stages: Vec<StageSummary>,
}

/// One element of `deploys[].stages`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StageSummary {
    /// `build`, `tests`, `checks`, `staging_deploy` or `staging_verify`.
    pub stage: String,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// `passed`, `failed` or `caught_regression`.
    pub result: String,
}

/// One element of `pages`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PageSummary {
    /// When the first notification reached the on-call, seconds.
    pub opened_s: f64,
    /// The alerts it carried.
    pub alerts: Vec<String>,
    /// Everyone paged, in order (escalations after the first).
    pub paged: Vec<PagedSummary>,
    /// When it was acknowledged, seconds (`null`: never).
    pub acknowledged_s: Option<f64>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When its alerts had all resolved, seconds.
    pub closed_s: Option<f64>,
}

/// One element of `pages[].paged`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PagedSummary {
    /// The responder.
    pub responder: String,
    /// When they were paged, seconds.
    pub time_s: f64,
    /// They missed it.
    pub missed: bool,
    /// Pages they had got in `[oncall.fatigue] window` when paged (0 without fatigue).
    pub recent_pages: u32,
}

/// One element of `actions`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ActionSummary {
    /// The alert whose playbook it is.
    pub alert: String,
    /// `rollback`, `hotfix <version>`, `scale_out <n>`, `failover`, `disable_flag`, `degrade`.
    pub action: String,
    /// The responder.
    pub by: String,
    /// First attempt's start, seconds.
    pub start_s: f64,
    /// Last attempt's end, seconds.
    pub end_s: Option<f64>,
    /// Attempts made.
    pub attempts: u32,
    /// Whether it did what it was meant to.
    pub succeeded: bool,
    /// Why it failed, or what it led to.
    pub note: Option<String>,
}

impl DeliverySummary {
    /// The summary of `d`.
    pub fn from_outcome(d: &DeliveryOutcome) -> DeliverySummary {
        let mut versions = BTreeMap::new();
        for v in &d.server_versions {
            *versions.entry(v.clone()).or_insert(0) += 1;
        }
        DeliverySummary {
            deploys: d
                .releases
                .iter()
                .map(|r| DeploySummary {
                    version: r.version.clone(),
                    strategy: r.strategy.clone(),
                    start_s: ns_to_s(r.merged_ns),
                    end_s: r.end_ns.map(ns_to_s),
                    outcome: r.outcome.as_str().to_string(),
                    reason: r.reason.clone(),
                    hotfix: r.hotfix,
                    by: r.by.clone(),
                    harmful: r.harmful,
                    lead_time_s: r.everywhere_ns.map(|e| ns_to_s(e.saturating_sub(r.merged_ns))),
                    rollout_start_s: r.rollout_start_ns.map(ns_to_s),
                    peak_share: r.peak_share,
                    rolled_back_by: r.rolled_back_by.clone(),
                    author: r.author.clone(),
                    notified_s: r.notified_ns.map(ns_to_s),
                    stages: r
                        .stages
                        .iter()
                        .map(|s| StageSummary {
                            stage: s.kind.as_str().to_string(),
                            start_s: ns_to_s(s.start_ns),
                            end_s: ns_to_s(s.end_ns),
                            result: s.result.as_str().to_string(),
                        })
                        .collect(),
                })
                .collect(),
            pages: d
                .pages
                .iter()
                .map(|p| PageSummary {
                    opened_s: ns_to_s(p.opened_ns),
                    alerts: p.alerts.clone(),
                    paged: p
                        .attempts
                        .iter()
                        .map(|a| PagedSummary {
                            responder: a.responder.clone(),
                            time_s: ns_to_s(a.paged_ns),
                            missed: a.missed,
                            recent_pages: a.recent_pages,
                        })
                        .collect(),
                    acknowledged_s: p.acknowledged.as_ref().map(|a| ns_to_s(a.at_ns)),
                    acknowledged_by: p.acknowledged.as_ref().map(|a| a.by.clone()),
                    closed_s: p.closed_ns.map(ns_to_s),
                })
                .collect(),
            actions: d
                .actions
                .iter()
                .map(|a| ActionSummary {
                    alert: a.alert.clone(),
                    action: a.action.clone(),
                    by: a.by.clone(),
                    start_s: ns_to_s(a.started_ns),
                    end_s: a.finished_ns.map(ns_to_s),
                    attempts: a.attempts,
                    succeeded: a.succeeded,
                    note: a.note.clone(),
                })
                .collect(),
            versions,
        }
    }
}
