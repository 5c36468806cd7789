//! A release's rollout plan: the phases each strategy goes through, as times from the
//! start of the production deploy. Each phase says how many servers run the new version,
//! which share of requests takes its code path, and what must pass before the phase
//! applies (the health check between rolling batches, the canary analysis between canary
//! steps). The simulator walks the plan and stops it — and rolls back — when a gate fails.

use crate::delivery::ReleaseStrategy;

/// What must pass, over the time since the previous phase, before a phase applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Nothing.
    None,
    /// The health check of the new version.
    Health,
    /// The canary analysis (canary against baseline).
    Analysis,
}

/// One phase of a rollout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phase {
    /// When it applies, ns after the production deploy starts.
    pub at_ns: u64,
    /// How many servers run the new version from then on (the first ones of the pool).
    pub servers: u32,
    /// The share of requests that take the new version's code path whatever their
    /// server (a canary's traffic split, a feature flag's percentage); `None`: each
    /// request runs its server's version.
    pub share: Option<f64>,
    /// What must pass before it applies.
    pub gate: Gate,
}

/// The phases of `strategy` on a pool of `servers`, where replacing one batch of servers
/// takes `deploy_time_ns`. The last phase puts the new version everywhere.
pub fn plan(strategy: &ReleaseStrategy, servers: u32, deploy_time_ns: u64) -> Vec<Phase> {
    let n = servers.max(1);
    let all = |at_ns, gate| Phase { at_ns, servers: n, share: None, gate };
    match strategy {
        // Blue-green boots the green fleet in `deploy_time`, then switches everything.
        ReleaseStrategy::AllAtOnce | ReleaseStrategy::BlueGreen => vec![all(deploy_time_ns, Gate::None)],
        ReleaseStrategy::Rolling { batch, pause_ns } => {
            let batch = (*batch).max(1);
            let batches = n.div_ceil(batch);
            (0..batches)
                .map(|k| Phase {
                    at_ns: deploy_time_ns * (k as u64 + 1) + pause_ns * k as u64,
                    servers: ((k + 1) * batch).min(n),
                    share: None,
                    gate: if k == 0 { Gate::None } else { Gate::Health },
                })
                .collect()
        }
        ReleaseStrategy::Canary { steps, bake_ns, .. } => steps
            .iter()
            .enumerate()
            .map(|(i, &share)| {
                let at_ns = deploy_time_ns + bake_ns * i as u64;
                let gate = if i == 0 { Gate::None } else { Gate::Analysis };
                if share >= 1.0 {
                    all(at_ns, gate)
                } else {
                    let canaries = ((share * n as f64).ceil() as u32).clamp(1, n);
                    Phase { at_ns, servers: canaries, share: Some(share), gate }
                }
            })
            .collect(),
        // The binary ships dark everywhere at once; the flag raises the share.
        ReleaseStrategy::FeatureFlag { steps, bake_ns } => steps
            .iter()
            .enumerate()
            .map(|(i, &share)| Phase {
                at_ns: deploy_time_ns + bake_ns * i as u64,
                servers: n,
                share: Some(share.min(1.0)),
                gate: if i == 0 { Gate::None } else { Gate::Health },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::CanaryAnalysis;

    const S: u64 = 1_000_000_000;

    #[test]
    fn all_at_once_and_blue_green_switch_every_server_after_the_deploy_time() {
        for s in [ReleaseStrategy::AllAtOnce, ReleaseStrategy::BlueGreen] {
            assert_eq!(plan(&s, 8, 30 * S), [Phase { at_ns: 30 * S, servers: 8, share: None, gate: Gate::None }]);
        }
    }

    #[test]
    fn rolling_goes_batch_by_batch_with_health_gates() {
        let p = plan(&ReleaseStrategy::Rolling { batch: 3, pause_ns: 60 * S }, 8, 30 * S);
        let servers: Vec<u32> = p.iter().map(|ph| ph.servers).collect();
        assert_eq!(servers, [3, 6, 8]);
        let times: Vec<u64> = p.iter().map(|ph| ph.at_ns / S).collect();
        assert_eq!(times, [30, 120, 210]);
        assert_eq!(p[0].gate, Gate::None);
        assert!(p[1..].iter().all(|ph| ph.gate == Gate::Health));
    }

    #[test]
    fn a_canary_raises_its_share_after_each_analysis() {
        let s = ReleaseStrategy::Canary {
            steps: vec![0.05, 0.5, 1.0],
            bake_ns: 300 * S,
            analysis: CanaryAnalysis::default(),
        };
        let p = plan(&s, 8, 30 * S);
        assert_eq!(p[0], Phase { at_ns: 30 * S, servers: 1, share: Some(0.05), gate: Gate::None });
        assert_eq!(p[1], Phase { at_ns: 330 * S, servers: 4, share: Some(0.5), gate: Gate::Analysis });
        assert_eq!(p[2], Phase { at_ns: 630 * S, servers: 8, share: None, gate: Gate::Analysis });
    }

    #[test]
    fn a_feature_flag_ships_dark_then_raises_the_share() {
        let p = plan(&ReleaseStrategy::FeatureFlag { steps: vec![0.1, 1.0], bake_ns: 60 * S }, 4, 10 * S);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|ph| ph.servers == 4));
        assert_eq!(p[0].share, Some(0.1));
        assert_eq!(p[1].share, Some(1.0));
    }
}
