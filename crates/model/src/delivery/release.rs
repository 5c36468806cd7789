//! Releases at run time: which version each app server runs, what a version does to the
//! requests and servers that run it, and each release's walk through the pipeline, its
//! rollout phases, its health check window and its rollback.
//!
//! One release rolls out at a time (a deploy lock); a release whose pipeline finishes
//! while another rolls out waits for it. The pure parts (stage runs, rollout plans,
//! verdicts) are in `prodsim_parts::deploy`; this file applies them to the servers.

use prodsim_kernel::{EventQueue, NS_PER_S, SimRng, SimTime};
use prodsim_parts::deploy::{self, Gate, Phase, StageResult, Verdict};
use prodsim_scenario::delivery::{DeliverySpec, ReleaseStrategy};

use crate::delivery::{Delivery, Mitigation, ReleaseEnd, Stage};
use crate::engine::{APP, Engine};
use crate::event::{DeliveryEvent, Event};
use crate::tasks::Task;

/// Time to switch traffic back to the blue fleet, or to turn a feature flag off.
pub(crate) const SWITCH_NS: u64 = 10 * NS_PER_S;

/// How long `rollback_on` alerts watch a release after its rollout when the pipeline has no
/// health check (an alert needs its `for` and its rate window to fire).
pub(crate) const ALERT_WATCH_NS: u64 = 15 * 60 * NS_PER_S;

impl Engine {
    /// Sets up the versions and schedules every `[[deploys]]` entry's merge.
    pub(crate) fn build_delivery(&mut self, spec: &DeliverySpec, rng: SimRng, queue: &mut EventQueue<Event>) {
        let classes = self.flow.classes.cumulative.len();
        let servers = self.stations[APP as usize].instances.len();
        let mut d = Delivery::new(spec, classes, servers, self.stations.len(), rng);
        for dep in &spec.deploys {
            let v = d.add_version(&dep.version, dep.effects.clone(), classes);
            let r = d.add_release(v, dep.strategy.clone(), dep.rollback_on.clone(), "pipeline", false, dep.at_ns);
            d.releases[r].author.clone_from(&dep.author);
            queue.schedule(SimTime(dep.at_ns), Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: 0 }));
        }
        self.delivery = Some(Box::new(d));
    }

    /// Starts release `r` through the pipeline now (a hotfix merged by a responder).
    pub(crate) fn merge_release(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        d.releases[r].merged_ns = now.as_nanos();
        queue.schedule(now, Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: d.releases[r].seq }));
    }

    /// Release `r`'s next step is due.
    pub(crate) fn on_release(&mut self, now: SimTime, r: usize, seq: u32, queue: &mut EventQueue<Event>) {
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
                queue.schedule(SimTime(end), Event::Delivery(DeliveryEvent::Release { release: r as u32, seq }));
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
                    self.notify_committer(now, r, "failed");
                } else if d.active.is_some() {
                    rel.stage = Stage::Waiting;
                    d.waiting.push_back(r);
                } else {
                    self.start_rollout(now, r, queue);
                }
            }
            Stage::RollingOut if now.as_nanos() < rel.next_phase_at_ns => self.health_tick(now, r, queue),
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
            (0..n).filter(|&i| self.scaling.life[i] != crate::scaling::Life::Off).collect()
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
        rel.next_phase_at_ns = at.as_nanos();
        queue.schedule(at, Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: rel.seq }));
        d.new_stats.reset();
        d.base_stats.reset();
        d.health_stats.reset();
    }

    /// Schedules release `r`'s next wake: its next phase, or the health check's next look
    /// before it.
    fn wake_release(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_ref() else { return };
        let rel = &d.releases[r];
        let mut at = SimTime(rel.next_phase_at_ns);
        if let Some(h) = d.spec.pipeline.health_check.as_ref() {
            at = at.min(now.after(h.interval_ns));
        }
        queue.schedule(at, Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: rel.seq }));
    }

    /// A health check of release `r` between two phases: the servers and requests it has
    /// reached so far.
    fn health_tick(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let Some(h) = d.spec.pipeline.health_check.as_ref() else { return self.wake_release(now, r, queue) };
        if let Verdict::Fail(why) = deploy::health_verdict(&d.health_stats, h) {
            self.roll_back(now, r, format!("health check failed: {why}"), "pipeline", queue);
            return;
        }
        d.health_stats.reset();
        self.wake_release(now, r, queue);
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
                    match deploy::health_verdict(&d.health_stats, h) {
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
                    _ => NS_PER_S,
                };
                d.releases[r].next_phase_at_ns = now.after(bake.max(1)).as_nanos();
                self.wake_release(now, r, queue);
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
        d.health_stats.reset();
        if let Some(next) = rel.phases.get(k + 1) {
            rel.next_phase_at_ns = now.after(next.at_ns.saturating_sub(phase.at_ns)).as_nanos();
            self.wake_release(now, r, queue);
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
                    Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: rel.seq }),
                );
            }
            // No health check, but alerts to watch: they get a window of their own.
            None if !rel.rollback_on.is_empty() => {
                rel.stage = Stage::Watching;
                rel.watch_until_ns = now.as_nanos() + ALERT_WATCH_NS;
                queue.schedule(
                    SimTime(rel.watch_until_ns),
                    Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: rel.seq }),
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
    pub(crate) fn switch_server(&mut self, now: SimTime, i: usize, version: u16, queue: &mut EventQueue<Event>) {
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
    pub(crate) fn schedule_version_crash(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        d.crash_epoch[i] = d.crash_epoch[i].wrapping_add(1);
        if let Some(after) = d.versions[d.server_version[i] as usize].effects.crash_after_ns {
            queue.schedule(
                now.after(after),
                Event::Delivery(DeliveryEvent::VersionCrash { server: i as u32, epoch: d.crash_epoch[i] }),
            );
        }
    }

    /// A crash-looping version's crash is due on server `i`.
    pub(crate) fn on_version_crash(&mut self, now: SimTime, i: usize, epoch: u32, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_ref() else { return };
        if d.crash_epoch[i] == epoch && self.stations[APP as usize].instances[i].up {
            self.crash_server(now, i, queue);
        }
    }

    /// Memory leaked per second by server `i`'s version.
    pub(crate) fn version_leak(&self, i: usize) -> f64 {
        self.delivery.as_ref().map_or(0.0, |d| d.versions[d.server_version[i] as usize].effects.memory_leak_mb_per_s)
    }

    /// A health check of release `r` during its watch window.
    fn watch(&mut self, now: SimTime, r: usize, queue: &mut EventQueue<Event>) {
        let Some(d) = self.delivery.as_mut() else { return };
        let Some(h) = d.spec.pipeline.health_check.clone() else {
            // Only alerts watch it: the window is over.
            return self.complete(now, r, queue);
        };
        if let Verdict::Fail(why) = deploy::health_verdict(&d.health_stats, &h) {
            self.roll_back(now, r, format!("health check failed: {why}"), "pipeline", queue);
            return;
        }
        d.health_stats.reset();
        let rel = &d.releases[r];
        if now.as_nanos() >= rel.watch_until_ns {
            return self.complete(now, r, queue);
        }
        let at = now.after(h.interval_ns).min(SimTime(rel.watch_until_ns));
        queue.schedule(at, Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: rel.seq }));
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
    pub(crate) fn roll_back(
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
                if by == "pipeline" {
                    self.notify_committer(now, r, "stopped");
                }
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
        queue.schedule(now.after(time), Event::Delivery(DeliveryEvent::Release { release: r as u32, seq: rel.seq }));
        if by == "pipeline" {
            self.notify_committer(now, r, "rolled back");
        }
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
    pub(crate) fn check_rollback_alerts(&mut self, now: SimTime, firing: &[String], queue: &mut EventQueue<Event>) {
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
    pub(crate) fn tag_version(&mut self, t: u32, server: usize) {
        let Some(d) = self.delivery.as_ref() else { return };
        let task: &mut Task = &mut self.flow.tasks[t];
        let (v, extra) = d.request_version(server, task.class, &mut self.keys.versions.draws_of(task.key, 0));
        task.version = v;
        task.extra_ns += extra;
    }
}
