//! The run's score so far: the error budget burned, the revenue lost, the cost and the
//! time to recover, by the same definitions as the finished outcome's, over what has
//! happened up to now. A game day shows it while the game is on ([`crate::Session`]).

use prodsim_kernel::{SimTime, units};

use prodsim_parts::ops::quality::Incident;

use crate::delivery::incidents::revenue_lost;
use crate::engine::Engine;
use crate::monitoring::alerting;

/// What the run has cost so far, as the outcome will count it if the run ended now.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoreSoFar {
    /// Ground-truth incidents found so far in the closed `[slo]` buckets.
    pub incidents: usize,
    /// Share of the SLO window's error budget their bad requests burned (`None` without an
    /// `[slo]`): what `incidents[].budget_burned` sums to.
    pub budget_burned: Option<f64>,
    /// Revenue of the requests that failed during those incidents.
    pub revenue_lost: f64,
    /// Infrastructure (instance-hours, backups) and paid calls so far, as `cost.total`.
    pub cost: f64,
    /// Mean duration of the incidents that are over (no longer able to grow), s.
    pub mttr_s: Option<f64>,
}

impl Engine {
    /// The score at `now`.
    pub(crate) fn score_so_far(&self, now: SimTime) -> ScoreSoFar {
        let (_, mut cost) = self.components(self.scaling.outcome(now), now);
        cost.infrastructure += self.recovery.outcome(now).backups.map_or(0.0, |b| b.cost);
        let mut score = ScoreSoFar { cost: cost.total(), ..ScoreSoFar::default() };
        let slo = self.monitor.as_deref().and_then(|m| m.spec.slo.as_ref());
        let truth = &self.measure.truth;
        let (Some(slo), true) = (slo, truth.resolution_ns > 0) else { return score };
        // Only closed buckets: the one now is in still fills.
        let closed = ((now.as_nanos() / truth.resolution_ns) as usize).min(truth.buckets.len());
        let buckets = &truth.buckets[..closed];
        let incidents = alerting::truth(Some(slo), buckets);
        let elapsed_ns = closed as f64 * truth.resolution_ns as f64;
        let requests: u64 = buckets.iter().map(|b| b.0).sum();
        let bad: u64 = incidents.iter().map(|i| i.bad).sum();
        score.incidents = incidents.len();
        score.budget_burned =
            Some(if elapsed_ns > 0.0 { alerting::budget_burned(slo, bad, requests, elapsed_ns) } else { 0.0 });
        let resolution_ms = units::ns_to_ms_floor(truth.resolution_ns).max(1) as i64;
        let range = |i: &Incident| (i.start_ms / resolution_ms) as usize..(i.end_ms / resolution_ms) as usize;
        score.revenue_lost = incidents.iter().map(|i| revenue_lost(&truth.lost, range(i))).fold(0.0, |a, b| a + b);
        // An incident closer to now than the merge gap could still be merged with what comes.
        let settled_ms = (elapsed_ns / 1e6) as i64 - units::ns_to_ms_floor(slo.merge_gap_ns) as i64;
        let over: Vec<i64> =
            incidents.iter().filter(|i| i.end_ms <= settled_ms).map(|i| i.end_ms - i.start_ms).collect();
        score.mttr_s = (!over.is_empty()).then(|| over.iter().sum::<i64>() as f64 / over.len() as f64 / 1000.0);
        score
    }
}
