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
    /// Who committed it (`[[deploys]] author`, or the responder of a hotfix).
    pub author: Option<String>,
    /// When its author was told that its pipeline failed, ns (`None`: not told).
    pub notified_ns: Option<u64>,
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
            author: r.author.clone(),
            notified_ns: r.notified_ns,
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

/// Full SLO buckets after a change that judge whether it lowered the harm.
const AFTER_BUCKETS: usize = 2;

/// The bad share of `buckets` ((requests, bad) each); `None` without requests.
fn bad_share(buckets: &[(u64, u64)]) -> Option<f64> {
    let (n, bad) = buckets.iter().fold((0u64, 0u64), |a, b| (a.0 + b.0, a.1 + b.1));
    (n > 0).then(|| bad as f64 / n as f64)
}

/// Whether a change at `t_ms` during an incident that began at `start_ms` lowered the
/// harm: the bad share of the [`AFTER_BUCKETS`] full buckets after it is at most half the
/// incident's bad share before it (from its start to the change's bucket). A change with
/// nothing to compare (no requests either side, the run's end) is taken at its word.
fn lowered_harm(truth: &[(u64, u64)], resolution_ms: i64, start_ms: i64, t_ms: i64) -> bool {
    let (from, at) = ((start_ms / resolution_ms).max(0) as usize, (t_ms / resolution_ms).max(0) as usize);
    let before = truth.get(from..at.max(from + 1).min(truth.len())).and_then(bad_share);
    let after = truth.get(at + 1..(at + 1 + AFTER_BUCKETS).min(truth.len())).and_then(bad_share);
    match (before, after) {
        (Some(b), Some(a)) => a <= b / 2.0,
        _ => true,
    }
}

/// The first of `mitigations` (in time order) that took effect between `start_ms` and
/// `end_ms` plus a bucket and actually lowered the harm in `truth`: a hotfix that crash
/// loops until the health check rolls it back changed production but is not it.
fn first_mitigation(
    mitigations: &[Mitigation],
    truth: &[(u64, u64)],
    resolution_ms: i64,
    (start_ms, end_ms): (i64, i64),
) -> Option<i64> {
    mitigations
        .iter()
        .map(|m| (m.t_ns / 1_000_000) as i64)
        .filter(|&t| t >= start_ms && t <= end_ms + resolution_ms.max(0))
        .find(|&t| resolution_ms <= 0 || lowered_harm(truth, resolution_ms, start_ms, t))
}

/// The ground truth's counts per SLO bucket that incidents are enriched from.
pub(crate) struct TruthCounts<'a> {
    /// Revenue lost.
    pub(crate) lost: &'a [f64],
    /// (requests, bad ones).
    pub(crate) buckets: &'a [(u64, u64)],
    /// (requests on a harmful release's version, bad ones among them).
    pub(crate) on_release: &'a [(u64, u64)],
}

/// Revenue lost in the SLO buckets `range` (`lost` per bucket; past the end counts nothing).
pub(crate) fn revenue_lost(lost: &[f64], range: std::ops::Range<usize>) -> f64 {
    lost.get(range.start..range.end.min(lost.len())).map_or(0.0, |s| s.iter().sum())
}

/// The bad requests of buckets `range` that a harmful release caused: in each bucket, the
/// bad requests on a harmful version beyond what the same number of requests on the other
/// versions would have had (their bad share in that bucket; when every request ran the
/// release, the last bucket's that had others). A provider fault hurting every version
/// alike is not the release's doing.
pub(crate) fn release_failures(t: &TruthCounts<'_>, range: std::ops::Range<usize>) -> u64 {
    let mut base = 0.0;
    let mut caused = 0.0;
    for k in 0..range.end.min(t.buckets.len()) {
        let (n, bad) = t.buckets[k];
        let (n_h, bad_h) = t.on_release.get(k).copied().unwrap_or((0, 0));
        if n > n_h {
            base = (bad - bad_h) as f64 / (n - n_h) as f64;
        }
        if k >= range.start {
            caused += (bad_h as f64 - n_h as f64 * base).max(0.0);
        }
    }
    caused.round() as u64
}

/// Fills each incident's response times, lost revenue, affected users and contributing
/// releases, from the `counts` per SLO bucket of `resolution_ms`; `slack_ms` is how long
/// before an incident a page or release still counts as about it.
pub(crate) fn enrich(
    incidents: &mut [IncidentOutcome],
    delivery: Option<&DeliveryOutcome>,
    counts: TruthCounts<'_>,
    resolution_ms: i64,
    slack_ms: i64,
) {
    let (lost, truth) = (counts.lost, counts.buckets);
    let ms = |ns: u64| (ns / 1_000_000) as i64;
    for inc in incidents.iter_mut() {
        let (start, end) = (inc.incident.start_ms, inc.incident.end_ms);
        if resolution_ms > 0 {
            let (a, b) = ((start / resolution_ms).max(0) as usize, (end / resolution_ms).max(0) as usize);
            inc.lost_revenue = revenue_lost(lost, a..b);
            inc.release_failures = release_failures(&counts, a..b);
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
        inc.mitigated_ms = first_mitigation(&d.mitigations, truth, resolution_ms, (start, end));
        inc.deploys = d
            .releases
            .iter()
            .filter(|r| r.harmful)
            .filter(|r| {
                let Some(first) = r.rollout_start_ns.map(ms) else { return false };
                // A release stopped without a rollback stays on the servers it reached.
                let gone = if r.outcome == ReleaseEnd::RolledBack { r.end_ns.map(ms) } else { None };
                // One that starts rolling out exactly as the harm ends did not cause it.
                first < end && gone.is_none_or(|g| g >= start)
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

    fn change(t_ms: u64, what: &str) -> Mitigation {
        Mitigation { t_ns: t_ms * 1_000_000, what: what.into(), by: "alice".into() }
    }

    #[test]
    fn release_failures_leave_out_what_a_fault_did() {
        // A provider fault fails 20% of every request from bucket 1; a harmful release
        // reaches every server at bucket 2 and adds 5%. Of 1,000 bad requests in buckets
        // 2-3 (each 500 of 2,000), the release caused 200 (5% of 4,000), not 1,000 (the post-mortem's
        // canary counterfactual counted all of them).
        let buckets = [(2_000, 0), (2_000, 400), (2_000, 500), (2_000, 500)];
        let on_release = [(0, 0), (0, 0), (2_000, 500), (2_000, 500)];
        let t = TruthCounts { lost: &[], buckets: &buckets, on_release: &on_release };
        assert_eq!(release_failures(&t, 2..4), 200);
        // Half the traffic on it: the other half's share is the baseline in that bucket.
        let buckets = [(2_000, 450)];
        let on_release = [(1_000, 250)];
        let t = TruthCounts { lost: &[], buckets: &buckets, on_release: &on_release };
        assert_eq!(release_failures(&t, 0..1), 50);
    }

    #[test]
    fn mitigation_is_the_first_change_that_lowered_the_harm() {
        // 1-minute buckets: a bad release fails 30% from minute 2. A hotfix reaches every
        // server at 6m30s but crash-loops (40% bad); the health check rolls it back at
        // 9m10s (30% again); the responder's rollback of the release at 12m20s ends it.
        // The hotfix used to be credited as the mitigation.
        let mut truth = vec![(1_000, 0); 20];
        for (k, bad) in [(2, 300), (3, 300), (4, 300), (5, 300), (6, 350), (7, 400), (8, 400), (9, 320)] {
            truth[k] = (1_000, bad);
        }
        truth[10..=12].fill((1_000, 300));
        let changes = [
            change(390_000, "hotfix v2.0.1 everywhere"),
            change(550_000, "rollback of v2.0.1"),
            change(740_000, "rollback of v2"),
        ];
        let got = first_mitigation(&changes, &truth, 60_000, (120_000, 780_000));
        assert_eq!(got, Some(740_000));
        // A change in the harm's first bucket compares with that bucket.
        assert!(!lowered_harm(&truth, 60_000, 120_000, 130_000));
        // Nothing after the change to judge it by: taken at its word.
        assert_eq!(first_mitigation(&[change(1_190_000, "x")], &truth, 60_000, (120_000, 1_200_000)), Some(1_190_000));
    }
}
