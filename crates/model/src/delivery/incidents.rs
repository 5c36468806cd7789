//! What releases and responders did, at the end of a run: every release with its stages
//! and outcome, every page and playbook action, and each incident's response times
//! (acknowledged, mitigated), lost revenue, affected users and contributing releases.

use prodsim_parts::deploy::StageRun;
use prodsim_parts::ops::oncall::Page;

use crate::delivery::{Delivery, Mitigation, ReleaseEnd, Stage};
use crate::monitoring::alerting::IncidentOutcome;
use crate::response::{ActionRecord, Response};

/// Sessions a workload's users are spread over, for the affected-users estimate (the same
/// key space as consistent hashing's sessions).
pub const SESSIONS: f64 = 100_000.0;

/// One release, as it went.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseOutcome {
    /// Its version.
    pub version: String,
    /// The version it replaced: what a rollback restores.
    pub previous: String,
    /// Its strategy's name.
    pub strategy: String,
    /// A responder's hotfix rather than a scheduled deploy.
    pub hotfix: bool,
    /// Who started it (`pipeline` or the responder).
    pub by: String,
    /// Whether the version hurts users (errors, latency, a leak, a crash loop).
    pub harmful: bool,
    /// When it was merged, ns.
    pub merged_ns: u64,
    /// Its pipeline stages as they ran.
    pub stages: Vec<StageRun>,
    /// When the production rollout started, ns.
    pub rollout_start_ns: Option<u64>,
    /// When it reached every server, ns.
    pub everywhere_ns: Option<u64>,
    /// When it ended, ns.
    pub end_ns: Option<u64>,
    /// How it ended.
    pub outcome: ReleaseEnd,
    /// Why it was stopped, rolled back or failed.
    pub reason: Option<String>,
    /// Who rolled it back.
    pub rolled_back_by: Option<String>,
    /// Most of the traffic it took at once, 0..1.
    pub peak_share: f64,
}

/// Releases and incident response over a run.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryOutcome {
    /// The version every server ran at time 0.
    pub initial_version: String,
    /// Every release, scheduled deploys first (file order), then hotfixes.
    pub releases: Vec<ReleaseOutcome>,
    /// The version each app server ran at the end (servers never provisioned included).
    pub server_versions: Vec<String>,
    /// How long a rollback takes; `None`: no rollback plan.
    pub rollback_plan_ns: Option<u64>,
    /// Every page.
    pub pages: Vec<Page>,
    /// Every playbook action.
    pub actions: Vec<ActionRecord>,
    /// Changes to production that answered trouble, in time order.
    pub mitigations: Vec<Mitigation>,
}

/// Everything `delivery` and `response` recorded.
pub(crate) fn outcome(delivery: Option<&Delivery>, response: Option<&Response>) -> Option<DeliveryOutcome> {
    let d = delivery?;
    let releases = d
        .releases
        .iter()
        .map(|r| ReleaseOutcome {
            version: d.versions[r.version as usize].name.clone(),
            previous: d.versions[r.previous as usize].name.clone(),
            strategy: r.strategy.name().to_string(),
            hotfix: r.hotfix,
            by: r.by.clone(),
            harmful: d.versions[r.version as usize].effects.is_harmful(),
            merged_ns: r.merged_ns,
            stages: r.pipeline.as_ref().map_or_else(Vec::new, |p| p.stages.clone()),
            rollout_start_ns: r.rollout_start_ns,
            everywhere_ns: r.everywhere_ns,
            end_ns: r.end_ns,
            outcome: if r.stage == Stage::Done { r.end } else { ReleaseEnd::InProgress },
            reason: r.reason.clone(),
            rolled_back_by: r.rolled_back_by.clone(),
            peak_share: r.peak_share,
        })
        .collect();
    let mut mitigations = d.mitigations.clone();
    mitigations.sort_by_key(|m| m.t_ns);
    Some(DeliveryOutcome {
        initial_version: d.versions[0].name.clone(),
        releases,
        server_versions: d.server_version.iter().map(|&v| d.versions[v as usize].name.clone()).collect(),
        rollback_plan_ns: d.spec.pipeline.rollback_ns,
        pages: response.and_then(|r| r.oncall.as_ref()).map_or_else(Vec::new, |o| o.pages().to_vec()),
        actions: response.map_or_else(Vec::new, |r| r.actions.clone()),
        mitigations,
    })
}

/// Expected distinct users among `failures` failed requests spread uniformly over
/// [`SESSIONS`] sessions: `S·(1 − (1 − 1/S)^k)`.
pub fn affected_users(failures: u64) -> u64 {
    (SESSIONS * (1.0 - (1.0 - 1.0 / SESSIONS).powf(failures as f64))).round() as u64
}

/// Fills each incident's response times, lost revenue, affected users and contributing
/// releases. `lost` is the revenue lost per SLO bucket of `resolution_ms`; `slack_ms` is
/// how long before an incident a page or release still counts as about it.
pub(crate) fn enrich(
    incidents: &mut [IncidentOutcome],
    delivery: Option<&DeliveryOutcome>,
    lost: &[f64],
    resolution_ms: i64,
    slack_ms: i64,
) {
    let ms = |ns: u64| (ns / 1_000_000) as i64;
    for inc in incidents.iter_mut() {
        let (start, end) = (inc.incident.start_ms, inc.incident.end_ms);
        if resolution_ms > 0 {
            let (a, b) = ((start / resolution_ms).max(0) as usize, (end / resolution_ms).max(0) as usize);
            inc.lost_revenue = lost.get(a..b.min(lost.len())).map_or(0.0, |s| s.iter().sum());
        }
        let failed = inc.incident.bad;
        inc.affected_users = affected_users(failed);
        let Some(d) = delivery else { continue };
        inc.acknowledged_ms = d
            .pages
            .iter()
            .filter(|p| {
                let opened = ms(p.opened_ns);
                opened >= start - slack_ms && opened <= end
            })
            .filter_map(|p| p.acknowledged.as_ref().map(|a| ms(a.at_ns)))
            .min();
        inc.mitigated_ms =
            d.mitigations.iter().map(|m| ms(m.t_ns)).find(|&t| t >= start && t <= end + resolution_ms.max(0));
        inc.deploys = d
            .releases
            .iter()
            .filter(|r| r.harmful)
            .filter(|r| {
                let Some(first) = r.rollout_start_ns.map(ms) else { return false };
                // A release stopped without a rollback stays on the servers it reached.
                let gone = if r.outcome == ReleaseEnd::RolledBack { r.end_ns.map(ms) } else { None };
                first <= end && gone.is_none_or(|g| g >= start)
            })
            .map(|r| r.version.clone())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_users_saturate_at_the_sessions() {
        assert_eq!(affected_users(0), 0);
        assert_eq!(affected_users(1), 1);
        let k = affected_users(100_000);
        assert!((63_000..63_300).contains(&k), "{k}");
        assert!(affected_users(10_000_000) <= SESSIONS as u64);
    }
}
