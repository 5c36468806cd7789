//! A release's run through the pipeline before production: each stage takes a sampled
//! time and may fail on its own; staging verification catches a harmful version with the
//! probability set by how closely staging mirrors production. The first failed stage
//! stops the release, so the lead time to production is the sum of the stages' times.

use rand::RngExt;

use crate::delivery::{PipelineSpec, StageKind};
use prodsim_kernel::SimRng;

/// How a stage ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageResult {
    /// It passed.
    Passed,
    /// It failed on its own (a broken build, a flaky test).
    Failed,
    /// Staging verification caught the version's regression.
    CaughtRegression,
}

impl StageResult {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            StageResult::Passed => "passed",
            StageResult::Failed => "failed",
            StageResult::CaughtRegression => "caught_regression",
        }
    }
}

/// One stage as it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageRun {
    /// Which stage.
    pub kind: StageKind,
    /// When it started, ns.
    pub start_ns: u64,
    /// When it ended, ns.
    pub end_ns: u64,
    /// How it ended.
    pub result: StageResult,
}

/// A release's whole run through the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineRun {
    /// The stages that ran, in order; the last one is the failed one if the run failed.
    pub stages: Vec<StageRun>,
    /// When the last stage ended (the release may reach production then), ns.
    pub end_ns: u64,
    /// Whether every stage passed.
    pub passed: bool,
}

/// Runs a release starting at `start_ns` through `spec`'s stages (a hotfix only through
/// `hotfix_stages`). `harmful` says whether the version hurts users, which only staging
/// verification can notice. Samples in stage order from `rng`.
pub fn run_pipeline(spec: &PipelineSpec, start_ns: u64, harmful: bool, hotfix: bool, rng: &mut SimRng) -> PipelineRun {
    let mut t = start_ns;
    let mut stages = Vec::with_capacity(spec.stages.len());
    for stage in &spec.stages {
        if hotfix && !spec.hotfix_stages.contains(&stage.kind) {
            continue;
        }
        let end = t.saturating_add(stage.duration.sample_ns(rng));
        // One draw per stage whatever its outcome, so a stage's randomness does not
        // depend on the stages before it.
        let u: f64 = rng.random();
        let v: f64 = rng.random();
        let result = if u < stage.failure {
            StageResult::Failed
        } else if stage.kind == StageKind::StagingVerify && harmful && v < spec.staging_fidelity {
            StageResult::CaughtRegression
        } else {
            StageResult::Passed
        };
        stages.push(StageRun { kind: stage.kind, start_ns: t, end_ns: end, result });
        t = end;
        if result != StageResult::Passed {
            return PipelineRun { stages, end_ns: t, passed: false };
        }
    }
    PipelineRun { stages, end_ns: t, passed: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::StageSpec;
    use prodsim_kernel::{Dist, NS_PER_S};

    fn spec(failures: [f64; 5], fidelity: f64) -> PipelineSpec {
        PipelineSpec {
            stages: StageKind::ALL
                .iter()
                .zip(failures)
                .enumerate()
                .map(|(i, (k, f))| StageSpec {
                    kind: *k,
                    duration: Dist::Const { ns: (i as u64 + 1) * 60 * NS_PER_S },
                    failure: f,
                })
                .collect(),
            staging_fidelity: fidelity,
            hotfix_stages: vec![StageKind::Build, StageKind::Tests],
            ..PipelineSpec::default()
        }
    }

    #[test]
    fn lead_time_is_the_sum_of_the_stages() {
        let mut rng = prodsim_kernel::stream(1, "t");
        let run = run_pipeline(&spec([0.0; 5], 0.0), 10 * NS_PER_S, true, false, &mut rng);
        assert!(run.passed);
        assert_eq!(run.stages.len(), 5);
        let total: u64 = run.stages.iter().map(|s| s.end_ns - s.start_ns).sum();
        assert_eq!(run.end_ns - 10 * NS_PER_S, total);
        assert_eq!(total, (1 + 2 + 3 + 4 + 5) * 60 * NS_PER_S);
        for w in run.stages.windows(2) {
            assert_eq!(w[0].end_ns, w[1].start_ns);
        }
    }

    #[test]
    fn a_failed_stage_stops_the_release() {
        let mut rng = prodsim_kernel::stream(1, "t");
        let run = run_pipeline(&spec([0.0, 1.0, 0.0, 0.0, 0.0], 0.0), 0, false, false, &mut rng);
        assert!(!run.passed);
        assert_eq!(run.stages.len(), 2);
        assert_eq!(run.stages[1].result, StageResult::Failed);
        assert_eq!(run.end_ns, 3 * 60 * NS_PER_S);
    }

    #[test]
    fn staging_catches_only_harmful_versions_at_its_fidelity() {
        let s = spec([0.0; 5], 0.7);
        let mut rng = prodsim_kernel::stream(3, "t");
        let caught = (0..4000).filter(|_| !run_pipeline(&s, 0, true, false, &mut rng).passed).count();
        let share = caught as f64 / 4000.0;
        assert!((share - 0.7).abs() < 0.03, "{share}");
        assert!((0..200).all(|_| run_pipeline(&s, 0, false, false, &mut rng).passed));
    }

    #[test]
    fn a_hotfix_runs_only_the_hotfix_stages() {
        let mut rng = prodsim_kernel::stream(1, "t");
        let run = run_pipeline(&spec([0.0; 5], 1.0), 0, true, true, &mut rng);
        assert!(run.passed, "staging is skipped, so it cannot catch anything");
        let kinds: Vec<StageKind> = run.stages.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [StageKind::Build, StageKind::Tests]);
        assert_eq!(run.end_ns, 3 * 60 * NS_PER_S);
    }
}
