//! The state of releases during a run: every version and its effects on the requests
//! and servers that run it, every release's record, which version each server runs, and
//! the request windows the health check and the canary analysis judge. The request path
//! reads it (`request_version`, `injects_error`, `degrades`, `observe`); `release.rs`
//! walks each release through the pipeline and its rollout.

pub(crate) mod incidents;
pub(crate) mod notify;
pub(crate) mod release;

use std::collections::VecDeque;

use prodsim_kernel::{Draws, SimRng};
use prodsim_parts::deploy::{Phase, PipelineRun, WindowStats};
use prodsim_scenario::delivery::{DeliverySpec, ReleaseStrategy, VersionEffects};

use crate::measure::recorder::Fate;

/// One version and what it does.
pub(crate) struct Version {
    pub(crate) name: String,
    pub(crate) effects: VersionEffects,
    /// Per class: whether the request effects apply.
    pub(crate) applies: Vec<bool>,
}

/// Where a release is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Merged; the pipeline has not started.
    Merged,
    /// In the pipeline's stages.
    Pipeline,
    /// Passed the pipeline; waiting for the deploy lock.
    Waiting,
    /// Rolling out, phase by phase.
    RollingOut,
    /// Everywhere; the health check watches it.
    Watching,
    /// Being rolled back.
    RollingBack,
    /// Finished, one way or the other.
    Done,
}

/// How a release ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseEnd {
    /// It reached every server and passed its checks.
    Completed,
    /// It was rolled back.
    RolledBack,
    /// A stage failed, or it was stopped without a way back.
    Failed,
    /// Still under way when the run ended.
    InProgress,
}

impl ReleaseEnd {
    /// The name used in `summary.json` (`deploys[].outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseEnd::Completed => "completed",
            ReleaseEnd::RolledBack => "rolled_back",
            ReleaseEnd::Failed => "failed",
            ReleaseEnd::InProgress => "in_progress",
        }
    }
}

/// One release during the run.
pub(crate) struct Release {
    pub(crate) version: u16,
    /// The version it replaces (what a rollback restores).
    pub(crate) previous: u16,
    pub(crate) strategy: ReleaseStrategy,
    pub(crate) rollback_on: Vec<String>,
    /// Who started it: `pipeline` for a scheduled deploy, the responder for a hotfix.
    pub(crate) by: String,
    pub(crate) hotfix: bool,
    pub(crate) merged_ns: u64,
    pub(crate) pipeline: Option<PipelineRun>,
    pub(crate) phases: Vec<Phase>,
    pub(crate) next_phase: usize,
    /// When the next phase is due, ns (health checks run until then).
    pub(crate) next_phase_at_ns: u64,
    pub(crate) rollout_start_ns: Option<u64>,
    pub(crate) stage: Stage,
    /// When the production rollout reached every server.
    pub(crate) everywhere_ns: Option<u64>,
    pub(crate) watch_until_ns: u64,
    pub(crate) end_ns: Option<u64>,
    pub(crate) end: ReleaseEnd,
    /// Why it was stopped, rolled back or failed.
    pub(crate) reason: Option<String>,
    /// Bumped whenever the pending wake is replaced, so stale ones are ignored.
    pub(crate) seq: u32,
    /// Most of the traffic the new version took at once (share of requests or servers).
    pub(crate) peak_share: f64,
    /// Who rolled it back (`pipeline` or a responder).
    pub(crate) rolled_back_by: Option<String>,
    /// Who committed it (`[[deploys]] author`, a hotfix's responder): told when its
    /// pipeline fails.
    pub(crate) author: Option<String>,
    /// When its author was told that its pipeline failed, ns.
    pub(crate) notified_ns: Option<u64>,
}

/// Something that changed production in response to trouble, for the incidents'
/// mitigation times.
#[derive(Clone, Debug, PartialEq)]
pub struct Mitigation {
    /// When it took effect, ns.
    pub t_ns: u64,
    /// What it was (`rollback of v2`, `hotfix v1.0.1 everywhere`, ...).
    pub what: String,
    /// Who did it (`pipeline` or a responder).
    pub by: String,
}

/// Versions, releases and their state.
pub(crate) struct Delivery {
    pub(crate) spec: DeliverySpec,
    pub(crate) versions: Vec<Version>,
    /// The version each app server runs.
    pub(crate) server_version: Vec<u16>,
    /// Production's version: what a new server gets.
    pub(crate) stable: u16,
    pub(crate) releases: Vec<Release>,
    /// The release holding the deploy lock.
    pub(crate) active: Option<usize>,
    pub(crate) waiting: VecDeque<usize>,
    /// The share of requests on the active release's code path, when it splits traffic.
    pub(crate) share: Option<f64>,
    /// Requests of the releasing version, and of every other, since the last verdict.
    pub(crate) new_stats: WindowStats,
    pub(crate) base_stats: WindowStats,
    /// Requests of the releasing version since the last health check.
    pub(crate) health_stats: WindowStats,
    /// Pipeline randomness (stage times and failures).
    pub(crate) rng: SimRng,
    /// Per station: graceful degradation switched on at run time by a playbook.
    pub(crate) runtime_degrade: Vec<bool>,
    /// Per server: bumped at each version switch and restart, so stale crash-loop events
    /// are ignored.
    pub(crate) crash_epoch: Vec<u32>,
    pub(crate) mitigations: Vec<Mitigation>,
}

impl Delivery {
    pub(crate) fn new(spec: &DeliverySpec, classes: usize, servers: usize, stations: usize, rng: SimRng) -> Delivery {
        let mut d = Delivery {
            spec: spec.clone(),
            versions: Vec::new(),
            server_version: vec![0; servers],
            stable: 0,
            releases: Vec::new(),
            active: None,
            waiting: VecDeque::new(),
            share: None,
            new_stats: WindowStats::new(),
            base_stats: WindowStats::new(),
            health_stats: WindowStats::new(),
            rng,
            runtime_degrade: vec![false; stations],
            crash_epoch: vec![0; servers],
            mitigations: Vec::new(),
        };
        d.add_version(&spec.pipeline.initial_version, VersionEffects::default(), classes);
        d
    }

    /// Registers a version; returns its index.
    pub(crate) fn add_version(&mut self, name: &str, effects: VersionEffects, classes: usize) -> u16 {
        let applies =
            (0..classes).map(|c| effects.classes.is_empty() || effects.classes.contains(&(c as u16))).collect();
        self.versions.push(Version { name: name.to_string(), effects, applies });
        (self.versions.len() - 1) as u16
    }

    /// Registers a release of version `version`, merged at `merged_ns`; returns its index.
    pub(crate) fn add_release(
        &mut self,
        version: u16,
        strategy: ReleaseStrategy,
        rollback_on: Vec<String>,
        by: &str,
        hotfix: bool,
        merged_ns: u64,
    ) -> usize {
        self.releases.push(Release {
            version,
            previous: 0,
            strategy,
            rollback_on,
            by: by.to_string(),
            hotfix,
            merged_ns,
            pipeline: None,
            phases: Vec::new(),
            next_phase: 0,
            next_phase_at_ns: 0,
            rollout_start_ns: None,
            stage: Stage::Merged,
            everywhere_ns: None,
            watch_until_ns: 0,
            end_ns: None,
            end: ReleaseEnd::InProgress,
            reason: None,
            seq: 0,
            peak_share: 0.0,
            rolled_back_by: None,
            author: hotfix.then(|| by.to_string()),
            notified_ns: None,
        });
        self.releases.len() - 1
    }

    /// The version a request of `class` on `server` runs, and its extra work, drawn from
    /// the request's `draws`.
    #[inline]
    pub(crate) fn request_version(&self, server: usize, class: u16, draws: &mut Draws) -> (u16, u64) {
        let v = match (self.share, self.active) {
            (Some(p), Some(r)) => {
                let rel = &self.releases[r];
                if draws.chance(p) { rel.version } else { rel.previous }
            }
            _ => self.server_version[server],
        };
        let version = &self.versions[v as usize];
        let extra = match &version.effects.latency {
            Some(d) if version.applies[class as usize] => d.sample_ns(draws),
            _ => 0,
        };
        (v, extra)
    }

    /// Whether `version` hurts users (errors, latency, a leak, a crash loop).
    #[inline]
    pub(crate) fn is_harmful(&self, version: u16) -> bool {
        self.versions[version as usize].effects.is_harmful()
    }

    /// Whether a finished request of `class` on `version` fails because of the version
    /// (a coin of the request's `draws`).
    #[inline]
    pub(crate) fn injects_error(&self, version: u16, class: u16, draws: &mut Draws) -> bool {
        let v = &self.versions[version as usize];
        v.effects.error_rate > 0.0 && v.applies[class as usize] && draws.chance(v.effects.error_rate)
    }

    /// Whether a failing call to `station` from a request on `version` degrades instead.
    /// (Station `s > 0` below the database is service `s - 1`: the app servers come first.)
    pub(crate) fn degrades(&self, version: u16, station: usize) -> bool {
        self.runtime_degrade[station]
            || (station > 0 && self.versions[version as usize].effects.degrade.contains(&((station - 1) as u16)))
    }

    /// A user's request on `version` was answered with `fate` after `latency_ns`.
    #[inline]
    pub(crate) fn observe(&mut self, version: u16, latency_ns: u64, fate: Fate) {
        let Some(r) = self.active else { return };
        let ok = fate == Fate::Completed;
        if version == self.releases[r].version {
            self.new_stats.record(latency_ns, ok);
            self.health_stats.record(latency_ns, ok);
        } else {
            self.base_stats.record(latency_ns, ok);
        }
    }

    /// The newest release whose version is live (rolling out, watched or completed) and
    /// that can be rolled back; feature-flag releases only if `flags_only`.
    pub(crate) fn newest_live(&self, flags_only: bool) -> Option<usize> {
        (0..self.releases.len()).rev().find(|&r| {
            let rel = &self.releases[r];
            let live = matches!(rel.stage, Stage::RollingOut | Stage::Watching)
                || (rel.stage == Stage::Done && rel.end == ReleaseEnd::Completed && self.stable == rel.version);
            live && (!flags_only || matches!(rel.strategy, ReleaseStrategy::FeatureFlag { .. }))
        })
    }
}
