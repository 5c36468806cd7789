//! The game day's score: while the game is on, what the rows and pages say so far and the
//! error budget, revenue, cost and MTTR by the outcome's definitions so far; at the end, the numbers `summary.json` computes (the same report a `prodsim run` writes).

use prodsim_model::{Outcome, Session};
use prodsim_report::summary::Summary;
use serde::{Deserialize, Serialize};

/// The score at the end, from `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Score {
    /// Share of the SLO period's error budget left: 1 minus every incident's
    /// `budget_burned` (`None` without an `[slo]`-backed incident record).
    pub error_budget_left: Option<f64>,
    /// Revenue of the failed requests of every incident.
    pub revenue_lost: f64,
    /// `cost.total`: what the infrastructure and the paid calls cost.
    pub cost: f64,
    /// Mean time to acknowledge, s (`mtta_s`).
    pub mtta_s: Option<f64>,
    /// Mean time to recover, s (`mttr_s`).
    pub mttr_s: Option<f64>,
    /// Requests that failed (rejected, timed out or failed).
    pub failed_requests: u64,
}

impl Score {
    /// The score of a run that stopped before its end.
    pub fn empty() -> Score {
        Score { error_budget_left: None, revenue_lost: 0.0, cost: 0.0, mtta_s: None, mttr_s: None, failed_requests: 0 }
    }

    /// The score of a finished run, from its `summary.json`.
    pub fn of(outcome: &Outcome) -> Score {
        let v: serde_json::Value = serde_json::from_str(&Summary::from_outcome(outcome).to_json()).unwrap_or_default();
        let incidents = v["incidents"].as_array().cloned().unwrap_or_default();
        // A fold from +0.0: `Sum` for f64 starts at -0.0, which would show as "-0" with no incident.
        let sum = |key: &str| incidents.iter().filter_map(|i| i[key].as_f64()).fold(0.0, |a, b| a + b);
        let slo = outcome.system.monitoring.is_some();
        let r = &v["requests"];
        let failed = ["rejected", "timed_out", "failed"].iter().filter_map(|k| r[*k].as_u64()).sum();
        Score {
            error_budget_left: slo.then(|| (1.0 - sum("budget_burned")).max(0.0)),
            revenue_lost: sum("lost_revenue"),
            cost: v["cost"]["total"].as_f64().unwrap_or(0.0),
            mtta_s: v["mtta_s"].as_f64(),
            mttr_s: v["mttr_s"].as_f64(),
            failed_requests: failed,
        }
    }
}

/// What the page shows while the game is on.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LiveScore {
    /// Requests that arrived in the closed rows.
    pub requests: u64,
    /// Of them, rejected, timed out or failed.
    pub failed_requests: u64,
    /// `failed_requests / requests`.
    pub error_ratio: Option<f64>,
    /// Pages opened.
    pub pages: usize,
    /// Pages acknowledged.
    pub acknowledged: usize,
    /// Mean time from a page to its acknowledgement, s.
    pub mtta_s: Option<f64>,
    /// Share of the SLO window's error budget left: 1 minus what the ground-truth
    /// incidents so far burned (`None` without an `[slo]`); at the end it is the final
    /// score's [`Score::error_budget_left`].
    pub error_budget_left: Option<f64>,
    /// Revenue of the requests that failed during the incidents so far.
    pub revenue_lost: f64,
    /// What the infrastructure and the paid calls have cost so far (`cost.total` so far).
    pub cost: f64,
    /// Mean duration of the incidents that are over, s.
    pub mttr_s: Option<f64>,
    /// Ground-truth incidents so far.
    pub incidents: usize,
}

impl LiveScore {
    /// The score so far.
    pub fn of(session: &Session) -> LiveScore {
        let rows = session.rows();
        let requests: u64 = rows.iter().map(|r| r.arrivals).sum();
        let failed: u64 = rows.iter().map(|r| r.rejections + r.timeouts + r.failures).sum();
        let pages = session.pages();
        let so_far = session.score_so_far();
        let delays: Vec<f64> = pages.iter().filter_map(|p| p.ack_delay_ns()).map(|d| d as f64 / 1e9).collect();
        LiveScore {
            requests,
            failed_requests: failed,
            error_ratio: (requests > 0).then(|| failed as f64 / requests as f64),
            pages: pages.len(),
            acknowledged: delays.len(),
            mtta_s: (!delays.is_empty()).then(|| delays.iter().sum::<f64>() / delays.len() as f64),
            error_budget_left: so_far.budget_burned.map(|b| (1.0 - b).max(0.0)),
            revenue_lost: so_far.revenue_lost,
            cost: so_far.cost,
            mttr_s: so_far.mttr_s,
            incidents: so_far.incidents,
        }
    }
}
