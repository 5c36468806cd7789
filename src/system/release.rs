//! Releases at run time: which version each app server runs, what a version does to the
//! requests and servers that run it, and each release's walk through the pipeline, its
//! rollout phases, its health check window and its rollback.
//!
//! One release rolls out at a time (a deploy lock); a release whose pipeline finishes
//! while another rolls out waits for it. The pure parts (stage runs, rollout plans,
//! verdicts) are in `crate::deploy`; this file applies them to the servers.

use std::collections::VecDeque;

use rand::RngExt;

use crate::deploy::{self, Gate, Phase, PipelineRun, StageResult, Verdict, WindowStats};
use crate::scenario::delivery::{DeliverySpec, ReleaseStrategy, VersionEffects};
use crate::sim::{EventQueue, NANOS_PER_SEC, SimRng, SimTime};

use super::recorder::Fate;
use super::tasks::Task;
use super::{APP, Event, System};

/// Time to switch traffic back to the blue fleet, or to turn a feature flag off.
pub(super) const SWITCH_NS: u64 = 10 * NANOS_PER_SEC;

/// One version and what it does.
pub(super) struct Version {
    pub(super) name: String,
    pub(super) effects: VersionEffects,
    /// Per class: whether the request effects apply.
    applies: Vec<bool>,
}

/// Where a release is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
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
pub(super) struct Release {
    pub(super) version: u16,
    /// The version it replaces (what a rollback restores).
    pub(super) previous: u16,
    pub(super) strategy: ReleaseStrategy,
    pub(super) rollback_on: Vec<String>,
    /// Who started it: `pipeline` for a scheduled deploy, the responder for a hotfix.
    pub(super) by: String,
    pub(super) hotfix: bool,
    pub(super) merged_ns: u64,
    pub(super) pipeline: Option<PipelineRun>,
    pub(super) phases: Vec<Phase>,
    pub(super) next_phase: usize,
    pub(super) rollout_start_ns: Option<u64>,
    pub(super) stage: Stage,
    /// When the production rollout reached every server.
    pub(super) everywhere_ns: Option<u64>,
    pub(super) watch_until_ns: u64,
    pub(super) end_ns: Option<u64>,
    pub(super) end: ReleaseEnd,
    /// Why it was stopped, rolled back or failed.
    pub(super) reason: Option<String>,
    /// Bumped whenever the pending wake is replaced, so stale ones are ignored.
    seq: u32,
    /// Most of the traffic the new version took at once (share of requests or servers).
    pub(super) peak_share: f64,
    /// Who rolled it back (`pipeline` or a responder).
    pub(super) rolled_back_by: Option<String>,
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
pub(super) struct Delivery {
    pub(super) spec: DeliverySpec,
    pub(super) versions: Vec<Version>,
    /// The version each app server runs.
    pub(super) server_version: Vec<u16>,
    /// Production's version: what a new server gets.
    pub(super) stable: u16,
    pub(super) releases: Vec<Release>,
    /// The release holding the deploy lock.
    pub(super) active: Option<usize>,
    waiting: VecDeque<usize>,
    /// The share of requests on the active release's code path, when it splits traffic.
    share: Option<f64>,
    /// Requests of the releasing version, and of every other, since the last verdict.
    new_stats: WindowStats,
    base_stats: WindowStats,
    /// Pipeline randomness (stage times and failures).
    rng: SimRng,
    /// Request-path randomness (traffic split, injected errors and latency).
    effect_rng: SimRng,
    /// Per station: graceful degradation switched on at run time by a playbook.
    pub(super) runtime_degrade: Vec<bool>,
    /// Per server: bumped at each version switch and restart, so stale crash-loop events
    /// are ignored.
    crash_epoch: Vec<u32>,
    pub(super) mitigations: Vec<Mitigation>,
}

impl Delivery {
    pub(super) fn new(spec: &DeliverySpec, classes: usize, servers: usize, stations: usize, seed: u64) -> Delivery {
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
            rng: crate::sim::stream(seed, "pipeline"),
            effect_rng: crate::sim::stream(seed, "versions"),
            runtime_degrade: vec![false; stations],
            crash_epoch: vec![0; servers],
            mitigations: Vec::new(),
        };
        d.add_version(&spec.pipeline.initial_version, VersionEffects::default(), classes);
        d
    }

    /// Registers a version; returns its index.
    pub(super) fn add_version(&mut self, name: &str, effects: VersionEffects, classes: usize) -> u16 {
        let applies =
            (0..classes).map(|c| effects.classes.is_empty() || effects.classes.contains(&(c as u16))).collect();
        self.versions.push(Version { name: name.to_string(), effects, applies });
        (self.versions.len() - 1) as u16
    }

    /// Registers a release of version `version`, merged at `merged_ns`; returns its index.
    pub(super) fn add_release(
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
        });
        self.releases.len() - 1
    }

    /// The version a request of `class` on `server` runs, and its extra work.
    #[inline]
    pub(super) fn request_version(&mut self, server: usize, class: u16) -> (u16, u64) {
        let v = match (self.share, self.active) {
            (Some(p), Some(r)) => {
                let rel = &self.releases[r];
                if p > 0.0 && self.effect_rng.random::<f64>() < p { rel.version } else { rel.previous }
            }
            _ => self.server_version[server],
        };
        let version = &self.versions[v as usize];
        let extra = match &version.effects.latency {
            Some(d) if version.applies[class as usize] => d.sample_ns(&mut self.effect_rng),
            _ => 0,
        };
        (v, extra)
    }

    /// Whether a finished request of `class` on `version` fails because of the version.
    #[inline]
    pub(super) fn injects_error(&mut self, version: u16, class: u16) -> bool {
        let v = &self.versions[version as usize];
        v.effects.error_rate > 0.0
            && v.applies[class as usize]
            && self.effect_rng.random::<f64>() < v.effects.error_rate
    }

    /// Whether a failing call to `station` from a request on `version` degrades instead.
    pub(super) fn degrades(&self, version: u16, station: usize) -> bool {
        self.runtime_degrade[station]
            || (station > 0 && self.versions[version as usize].effects.degrade.contains(&((station - 1) as u16)))
    }

    /// A user's request on `version` was answered with `fate` after `latency_ns`.
    #[inline]
    pub(super) fn observe(&mut self, version: u16, latency_ns: u64, fate: Fate) {
        let Some(r) = self.active else { return };
        let ok = fate == Fate::Completed;
        if version == self.releases[r].version {
            self.new_stats.record(latency_ns, ok);
        } else {
            self.base_stats.record(latency_ns, ok);
        }
    }

    /// The newest release whose version is live (rolling out, watched or completed) and
    /// that can be rolled back; feature-flag releases only if `flags_only`.
    pub(super) fn newest_live(&self, flags_only: bool) -> Option<usize> {
        (0..self.releases.len()).rev().find(|&r| {
            let rel = &self.releases[r];
            let live = matches!(rel.stage, Stage::RollingOut | Stage::Watching)
                || (rel.stage == Stage::Done && rel.end == ReleaseEnd::Completed && self.stable == rel.version);
            live && (!flags_only || matches!(rel.strategy, ReleaseStrategy::FeatureFlag { .. }))
        })
    }
}

impl System {
    /// Sets up the versions and schedules every `[[deploys]]` entry's merge.
    pub(super) fn build_delivery(&mut self, spec: &DeliverySpec, seed: u64, queue: &mut EventQueue<Event>) {
        let classes = self.programs.len();
        let servers = self.stations[APP as usize].instances.len();
        let mut d = Delivery::new(spec, classes, servers, self.stations.len(), seed);
        for dep in &spec.deploys {
            let v = d.add_version(&dep.version, dep.effects.clone(), classes);
            let r = d.add_release(v, dep.strategy.clone(), dep.rollback_on.clone(), "pipeline", false, dep.at_ns);
            queue.schedule(SimTime(dep.at_ns), Event::Release { release: r as u32, seq: 0 });
        }
        self.delivery = Some(Box::new(d));
    }

    /// Starts release `r` through the pipeline now (a hotfix merged by a responder).
    pub(super) fn merge_release(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        d.releases[r].merged_ns = now.as_nanos();
        queue.schedule(now, Event::Release { release: r as u32, seq: d.releases[r].seq });
    }

    /// Release `r`'s next step is due.
    pub(super) fn on_release(&mut self, now: SimTime, r: usize, seq: u32, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let rel = &mut d.releases[r];
        if rel.seq != seq {
            return;
        }
        match rel.stage {
            Stage::Merged => {
                let harmful = d.versions[rel.version as usize].effects.is_harmful();
                let run = deploy::run_pipeline(&d.spec.pipeline, now.as_nanos(), harmful, rel.hotfix, &mut d.rng);
                let end = run.end_ns;
                rel.pipeline = Some(run);
                rel.stage = Stage::Pipeline;
                queue.schedule(SimTime(end), Event::Release { release: r as u32, seq });
            }
            Stage::Pipeline => {
                let failed =
                    rel.pipeline.as_ref().and_then(|p| p.stages.iter().find(|s| s.result != StageResult::Passed));
                if let Some(stage) = failed {
                    rel.reason = Some(match stage.result {
                        StageResult::CaughtRegression => "staging verification caught the regression".to_string(),
                        _ => format!("the {} stage failed", stage.kind.as_str()),
                    });
                    rel.stage = Stage::Done;
                    rel.end = ReleaseEnd::Failed;
                    rel.end_ns = Some(now.as_nanos());
                } else if d.active.is_some() {
                    rel.stage = Stage::Waiting;
                    d.waiting.push_back(r);
                } else {
                    self.start_rollout(now, r, queue);
                }
            }
            Stage::RollingOut => self.next_phase(now, r, queue),
            Stage::Watching => self.watch(now, r, queue),
            Stage::RollingBack => self.finish_rollback(now, r, queue),
            Stage::Waiting | Stage::Done => {}
        }
    }

    /// Servers in the pool now (provisioned ones when the pool changes).
    fn pool_servers(&self) -> Vec<usize> {
        let n = self.stations[APP as usize].instances.len();
        if self.scaling.enabled {
            (0..n).filter(|&i| self.scaling.life[i] != super::scaling::Life::Off).collect()
        } else {
            (0..n).collect()
        }
    }

    fn start_rollout(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let pool = self.pool_servers().len() as u32;
        let Some(d) = self.delivery.as_mut() else { return };
        d.active = Some(r);
        let stable = d.stable;
        let deploy_ns = d.spec.pipeline.deploy_time_ns;
        let rel = &mut d.releases[r];
        rel.previous = stable;
        rel.phases = deploy::plan(&rel.strategy, pool, deploy_ns);
        rel.next_phase = 0;
        rel.rollout_start_ns = Some(now.as_nanos());
        rel.stage = Stage::RollingOut;
        let at = now.after(rel.phases.first().map_or(0, |p| p.at_ns));
        queue.schedule(at, Event::Release { release: r as u32, seq: rel.seq });
        d.new_stats.reset();
        d.base_stats.reset();
    }

    /// The gate of release `r`'s next phase is judged; if it passes the phase applies.
    fn next_phase(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let rel = &d.releases[r];
        let k = rel.next_phase;
        let Some(phase) = rel.phases.get(k).copied() else { return };
        let verdict =
            match phase.gate {
                Gate::None => Verdict::Pass,
                Gate::Health => d.spec.pipeline.health_check.as_ref().map_or(Verdict::Pass, |h| {
                    match deploy::health_verdict(&d.new_stats, h) {
                        Verdict::Inconclusive => Verdict::Pass,
                        v => v,
                    }
                }),
                Gate::Analysis => match &rel.strategy {
                    ReleaseStrategy::Canary { analysis, .. } => {
                        deploy::canary_verdict(&d.new_stats, &d.base_stats, analysis)
                    }
                    _ => Verdict::Pass,
                },
            };
        match verdict {
            Verdict::Fail(why) => {
                let what = if phase.gate == Gate::Analysis { "canary analysis failed" } else { "health check failed" };
                self.roll_back(now, r, format!("{what}: {why}"), "pipeline", queue);
                return;
            }
            Verdict::Inconclusive => {
                // Too few canary requests: bake the step again.
                let bake = match &rel.strategy {
                    ReleaseStrategy::Canary { bake_ns, .. } => *bake_ns,
                    _ => NANOS_PER_SEC,
                };
                let seq = rel.seq;
                queue.schedule(now.after(bake.max(1)), Event::Release { release: r as u32, seq });
                return;
            }
            Verdict::Pass => {}
        }
        self.apply_phase(now, r, phase, queue);
        let Some(d) = self.delivery.as_mut() else { return };
        let rel = &mut d.releases[r];
        rel.next_phase = k + 1;
        d.new_stats.reset();
        d.base_stats.reset();
        if let Some(next) = rel.phases.get(k + 1) {
            let at = now.after(next.at_ns.saturating_sub(phase.at_ns));
            queue.schedule(at, Event::Release { release: r as u32, seq: rel.seq });
            return;
        }
        // Everywhere: production's version now; the health check watches it.
        rel.everywhere_ns = Some(now.as_nanos());
        d.stable = rel.version;
        if rel.hotfix {
            let what = format!("hotfix {} everywhere", d.versions[rel.version as usize].name);
            d.mitigations.push(Mitigation { t_ns: now.as_nanos(), what, by: rel.by.clone() });
        }
        match d.spec.pipeline.health_check.as_ref() {
            Some(h) => {
                rel.stage = Stage::Watching;
                rel.watch_until_ns = now.as_nanos() + h.window_ns;
                queue.schedule(
                    now.after(h.interval_ns.min(h.window_ns)),
                    Event::Release { release: r as u32, seq: rel.seq },
                );
            }
            None => self.complete(now, r, queue),
        }
    }

    /// Puts phase `phase` of release `r` in force.
    fn apply_phase(&mut self, now: SimTime, r: usize, phase: Phase, queue: &mut EventQueue<Event>) {
        let pool = self.pool_servers();
        let Some(d) = self.delivery.as_mut() else { return };
        let version = d.releases[r].version;
        let everywhere = phase.servers as usize >= pool.len();
        let targets: Vec<usize> = if everywhere {
            (0..d.server_version.len()).collect()
        } else {
            pool.iter().copied().take(phase.servers as usize).collect()
        };
        d.share = phase.share;
        let by_servers = phase.servers as f64 / pool.len().max(1) as f64;
        let share = phase.share.unwrap_or(by_servers.min(1.0));
        d.releases[r].peak_share = d.releases[r].peak_share.max(share);
        for i in targets {
            self.switch_server(now, i, version, queue);
        }
    }

    /// Server `i` now runs `version`: its leak and crash loop follow.
    pub(super) fn switch_server(&mut self, now: SimTime, i: usize, version: u16, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        if d.server_version[i] == version {
            return;
        }
        d.server_version[i] = version;
        d.crash_epoch[i] = d.crash_epoch[i].wrapping_add(1);
        self.update_leak(now, i, queue);
        if self.stations[APP as usize].instances[i].up {
            self.schedule_version_crash(now, i, queue);
        }
    }

    /// If server `i`'s version crash-loops, its next crash.
    pub(super) fn schedule_version_crash(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        d.crash_epoch[i] = d.crash_epoch[i].wrapping_add(1);
        if let Some(after) = d.versions[d.server_version[i] as usize].effects.crash_after_ns {
            queue.schedule(now.after(after), Event::VersionCrash { server: i as u32, epoch: d.crash_epoch[i] });
        }
    }

    /// A crash-looping version's crash is due on server `i`.
    pub(super) fn on_version_crash(&mut self, now: SimTime, i: usize, epoch: u32, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_ref() else { return };
        if d.crash_epoch[i] == epoch && self.stations[APP as usize].instances[i].up {
            self.crash_server(now, i, queue);
        }
    }

    /// Memory leaked per second by server `i`'s version.
    pub(super) fn version_leak(&self, i: usize) -> f64 {
        self.delivery.as_ref().map_or(0.0, |d| d.versions[d.server_version[i] as usize].effects.memory_leak_mb_per_s)
    }

    /// A health check of release `r` during its watch window.
    fn watch(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let Some(h) = d.spec.pipeline.health_check.clone() else { return self.complete(now, r, queue) };
        if let Verdict::Fail(why) = deploy::health_verdict(&d.new_stats, &h) {
            self.roll_back(now, r, format!("health check failed: {why}"), "pipeline", queue);
            return;
        }
        d.new_stats.reset();
        d.base_stats.reset();
        let rel = &d.releases[r];
        if now.as_nanos() >= rel.watch_until_ns {
            return self.complete(now, r, queue);
        }
        let at = now.after(h.interval_ns).min(SimTime(rel.watch_until_ns));
        queue.schedule(at, Event::Release { release: r as u32, seq: rel.seq });
    }

    fn complete(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let rel = &mut d.releases[r];
        rel.stage = Stage::Done;
        rel.end = ReleaseEnd::Completed;
        rel.end_ns = Some(now.as_nanos());
        // A completed flag is simply on: requests follow their servers again.
        d.share = None;
        self.release_lock(now, queue);
    }

    /// The deploy lock is free: the next waiting release starts its rollout.
    fn release_lock(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        d.active = None;
        if let Some(next) = d.waiting.pop_front() {
            self.start_rollout(now, next, queue);
        }
    }

    /// How long rolling back release `r` takes; `None` without a way back.
    fn rollback_time(d: &Delivery, r: usize) -> Option<u64> {
        match d.releases[r].strategy {
            ReleaseStrategy::BlueGreen | ReleaseStrategy::FeatureFlag { .. } => Some(SWITCH_NS),
            _ => d.spec.pipeline.rollback_ns,
        }
    }

    /// Rolls release `r` back (`why`, decided by `by`); false when there is no way back,
    /// in which case a rollout in progress stops where it is.
    pub(super) fn roll_back(
        &mut self,
        now: SimTime,
        r: usize,
        why: String,
        by: &str,
        queue: &mut EventQueue<Event>,
    ) -> bool {
        let Some(d) = self.delivery.as_mut() else { return false };
        if d.releases[r].stage == Stage::RollingBack {
            return true;
        }
        let Some(time) = Self::rollback_time(d, r) else {
            let rel = &mut d.releases[r];
            if matches!(rel.stage, Stage::RollingOut | Stage::Watching) {
                // Stopped where it is: the servers it reached keep it.
                rel.seq = rel.seq.wrapping_add(1);
                rel.stage = Stage::Done;
                rel.end = ReleaseEnd::Failed;
                rel.end_ns = Some(now.as_nanos());
                rel.reason = Some(format!("{why}; no rollback plan, so it stays where it is"));
                if rel.everywhere_ns.is_none() {
                    d.share = None;
                }
                self.release_lock(now, queue);
            }
            return false;
        };
        if let Some(a) = d.active.filter(|&a| a != r) {
            // A completed release being rolled back takes the deploy lock from the one
            // rolling out, which stops.
            let name = d.versions[d.releases[r].version as usize].name.clone();
            let active = &mut d.releases[a];
            active.seq = active.seq.wrapping_add(1);
            active.stage = Stage::Done;
            active.end = ReleaseEnd::Failed;
            active.end_ns = Some(now.as_nanos());
            active.reason = Some(format!("interrupted by the rollback of {name}"));
        }
        d.active = Some(r);
        let rel = &mut d.releases[r];
        rel.seq = rel.seq.wrapping_add(1);
        rel.stage = Stage::RollingBack;
        rel.reason = Some(why);
        rel.rolled_back_by = Some(by.to_string());
        queue.schedule(now.after(time), Event::Release { release: r as u32, seq: rel.seq });
        true
    }

    /// Release `r`'s rollback is done: every server on its version returns to the one it
    /// replaced.
    fn finish_rollback(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let (version, previous) = (d.releases[r].version, d.releases[r].previous);
        d.share = None;
        if d.stable == version {
            d.stable = previous;
        }
        let on_it: Vec<usize> = (0..d.server_version.len()).filter(|&i| d.server_version[i] == version).collect();
        for i in on_it {
            self.switch_server(now, i, previous, queue);
        }
        let Some(d) = self.delivery.as_mut() else { return };
        let name = d.versions[version as usize].name.clone();
        let rel = &mut d.releases[r];
        rel.stage = Stage::Done;
        rel.end = ReleaseEnd::RolledBack;
        rel.end_ns = Some(now.as_nanos());
        let by = rel.rolled_back_by.clone().unwrap_or_else(|| "pipeline".to_string());
        d.mitigations.push(Mitigation { t_ns: now.as_nanos(), what: format!("rollback of {name}"), by });
        self.release_lock(now, queue);
    }

    /// The alerts firing now: a release rolling out or watched rolls back if one of its
    /// `rollback_on` alerts is among them.
    pub(super) fn check_rollback_alerts(&mut self, now: SimTime, firing: &[String], queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_ref() else { return };
        let Some(r) = d.active else { return };
        let rel = &d.releases[r];
        if !matches!(rel.stage, Stage::RollingOut | Stage::Watching) {
            return;
        }
        if let Some(name) = rel.rollback_on.iter().find(|n| firing.contains(n)) {
            let why = format!("alert {name} fired");
            self.roll_back(now, r, why, "pipeline", queue);
        }
    }

    /// Tags root task `t` on `server` with its version and adds the version's extra work.
    #[inline]
    pub(super) fn tag_version(&mut self, t: u32, server: usize) {
        let Some(d) = self.delivery.as_mut() else { return };
        let task: &mut Task = &mut self.tasks[t];
        let (v, extra) = d.request_version(server, task.class);
        task.version = v;
        task.extra_ns += extra;
    }
}
