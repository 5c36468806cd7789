//! The app server pool at run time: servers are provisioned (ready after a cold start),
//! retired (out of rotation, finish what they hold, then deprovisioned), and drained or
//! undrained by an operator. The autoscaler (`prodsim_parts::Autoscaler`) and the scheduled
//! `[[actions]]` both act through [`Engine::set_target`].
//!
//! Every per-server array of the model is allocated for the pool's maximum up front; a
//! server that is not provisioned is down and out of rotation, so the balancer, health
//! checks, faults, memory and pools treat it as a stopped machine. Its life cycle:
//!
//! ```text
//! Off --provision--> Starting --cold start--> Serving --retire--> Retiring --empty--> Off
//!                       `---------------retire (cancelled)-------------------------> Off
//! ```
//!
//! A retiring server still holding requests after the drain timeout is stopped: those
//! requests fail. Instance counts are integrated over time, for billing (provisioned
//! instance-hours) and for utilization (busy workers over the workers of running servers).

use prodsim_kernel::{EventQueue, NS_PER_S, SimTime};
use prodsim_parts::autoscaler::{Autoscaler, AutoscalerConfig};
use prodsim_scenario::scaling::{ActionKind, ScalingSpec};

use crate::engine::{APP, Engine};
use crate::event::{Event, ScalingEvent};

/// Where a server is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Not provisioned: not billed, down, out of rotation.
    Off,
    /// Provisioned, booting: billed, down, out of rotation.
    Starting,
    /// Serving (in rotation unless drained by an operator or out for health reasons).
    Serving,
    /// Out of rotation, finishing its requests before it is deprovisioned.
    Retiring,
}

/// A count that changes at instants, with its integral over time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Gauge {
    count: u32,
    integral: u128,
    since: SimTime,
}

impl Gauge {
    fn set(&mut self, now: SimTime, count: u32) {
        self.integral += u128::from(self.count) * u128::from(now.since(self.since));
        self.since = now;
        self.count = count;
    }

    /// The integral up to `now`, in instance-nanoseconds.
    pub(crate) fn at(&self, now: SimTime) -> u128 {
        self.integral + u128::from(self.count) * u128::from(now.since(self.since))
    }

    /// The current count.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }
}

/// How often a retiring server is checked for being empty (and for its drain timeout).
const DRAIN_CHECK_NS: u64 = NS_PER_S;

/// The pool's run-time state.
pub(crate) struct Scaling {
    /// Whether the pool can change at all (`[autoscaling]` or `[[actions]]`).
    pub(crate) enabled: bool,
    pub(crate) spec: Option<ScalingSpec>,
    pub(crate) life: Vec<Life>,
    /// Drained by an operator (out of rotation, provisioned).
    held: Vec<bool>,
    /// Bumped when a server is provisioned or deprovisioned, so a stale `ServerReady` is
    /// ignored.
    generation: Vec<u32>,
    /// When a crashed server's supervisor brings it back; `None` when no restart is due
    /// (never crashed, or deprovisioned since).
    restart_at: Vec<Option<SimTime>>,
    drain_deadline: Vec<SimTime>,
    drain_check_scheduled: bool,
    autoscaler: Option<Autoscaler>,
    /// Provisioned servers (billed).
    pub(crate) provisioned: Gauge,
    /// Servers whose process runs and that may hold work: serving or retiring, and up.
    pub(crate) running: Gauge,
    /// Busy worker-ns and running instance-ns at the last evaluation.
    last_eval: (u128, u128),
    workers: u32,
    pub(crate) stats: ScalingOutcome,
}

/// What the pool did during the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScalingOutcome {
    /// Decisions that added servers (autoscaler or `scale_out` actions).
    pub scale_outs: u64,
    /// Decisions that removed servers (autoscaler or `scale_in` actions).
    pub scale_ins: u64,
    /// Fewest provisioned servers at any time.
    pub min_instances: u32,
    /// Most provisioned servers at any time.
    pub max_instances: u32,
    /// Provisioned server-hours (what the app servers are billed for).
    pub instance_hours: f64,
    /// Retiring servers stopped at the drain timeout with requests still on them.
    pub drain_timeouts: u64,
}

impl Scaling {
    /// The pool state for `size` allocated servers, `initial` of them serving.
    pub(crate) fn new(spec: Option<&ScalingSpec>, size: usize, workers: u32) -> Scaling {
        let initial = spec.map_or(size, |s| s.initial as usize);
        let life = (0..size).map(|i| if i < initial { Life::Serving } else { Life::Off }).collect();
        let autoscaler = spec.and_then(|s| s.autoscaling).map(|a| {
            Autoscaler::new(AutoscalerConfig {
                min: a.min,
                max: a.max,
                target_utilization: a.target_utilization,
                cooldown_ns: a.cooldown_ns,
                cold_start_ns: a.cold_start_ns,
                evaluation_ns: a.interval_ns,
            })
        });
        let n = initial as u32;
        Scaling {
            enabled: spec.is_some(),
            spec: spec.cloned(),
            life,
            held: vec![false; size],
            generation: vec![0; size],
            restart_at: vec![None; size],
            drain_deadline: vec![SimTime::ZERO; size],
            drain_check_scheduled: false,
            autoscaler,
            provisioned: Gauge { count: n, ..Gauge::default() },
            running: Gauge { count: n, ..Gauge::default() },
            last_eval: (0, 0),
            workers,
            stats: ScalingOutcome { min_instances: n, max_instances: n, ..ScalingOutcome::default() },
        }
    }

    /// Whether the balancer's health checks probe server `i` (a stopped or booting machine
    /// is not registered with the balancer).
    #[inline]
    pub(crate) fn probed(&self, i: usize) -> bool {
        matches!(self.life[i], Life::Serving | Life::Retiring)
    }

    /// Servers provisioned and not retiring: the count the autoscaler reasons about.
    fn current(&self) -> u32 {
        self.life.iter().filter(|l| matches!(l, Life::Starting | Life::Serving)).count() as u32
    }

    /// The outcome at `end`.
    pub(crate) fn outcome(&self, end: SimTime) -> Option<ScalingOutcome> {
        self.enabled.then(|| ScalingOutcome {
            instance_hours: self.provisioned.at(end) as f64 / (3600.0 * NS_PER_S as f64),
            ..self.stats
        })
    }
}

impl Engine {
    /// Puts the servers beyond the initial count out of service and schedules the
    /// autoscaler's evaluations and the operator's actions.
    pub(crate) fn install_scaling(&mut self, queue: &mut EventQueue<Event>) {
        let Some(spec) = self.scaling.spec.clone() else { return };
        for i in spec.initial as usize..self.scaling.life.len() {
            self.stations[APP as usize].instances[i].up = false;
            self.app.rotation.set_draining(i, true);
        }
        self.refresh_gauges(SimTime::ZERO);
        if let Some(a) = spec.autoscaling {
            queue.schedule(SimTime(a.interval_ns), Event::Scaling(ScalingEvent::Autoscale));
        }
        for (k, a) in spec.actions.iter().enumerate() {
            queue.schedule(SimTime(a.at_ns), Event::Scaling(ScalingEvent::Action { index: k as u32 }));
        }
    }

    pub(crate) fn autoscale(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let busy: u128 = self.stations[APP as usize].instances.iter().map(|s| s.integrals_at(now).0).sum();
        let running = self.scaling.running.at(now);
        let (last_busy, last_running) = self.scaling.last_eval;
        self.scaling.last_eval = (busy, running);
        let capacity = (running - last_running) as f64 * f64::from(self.scaling.workers);
        // No running server over the interval: no measurement (the bounds still apply).
        let utilization = if capacity > 0.0 { (busy - last_busy) as f64 / capacity } else { f64::NAN };
        let current = self.scaling.current();
        let Some(a) = self.scaling.autoscaler.as_mut() else { return };
        let interval = a.config().evaluation_ns;
        if let Some(d) = a.evaluate(now, current, utilization) {
            self.set_target(now, d.target, queue);
        }
        queue.schedule(now.after(interval), Event::Scaling(ScalingEvent::Autoscale));
    }

    pub(crate) fn act(&mut self, now: SimTime, k: usize, queue: &mut EventQueue<Event>) {
        let Some(spec) = self.scaling.spec.as_ref() else { return };
        let (lo, hi) = spec.autoscaling.map_or((1, spec.max), |a| (a.min, a.max));
        let kind = spec.actions[k].kind;
        let current = self.scaling.current();
        match kind {
            ActionKind::ScaleOut { count } => self.set_target(now, current.saturating_add(count).clamp(lo, hi), queue),
            ActionKind::ScaleIn { count } => self.set_target(now, current.saturating_sub(count).clamp(lo, hi), queue),
            ActionKind::Drain { server } => self.hold(server as usize, true),
            ActionKind::Undrain { server } => self.hold(server as usize, false),
        }
    }

    /// An operator drains (`held`) or undrains server `i`. Only a serving server changes.
    fn hold(&mut self, i: usize, held: bool) {
        if self.scaling.life[i] == Life::Serving {
            self.scaling.held[i] = held;
            self.app.rotation.set_draining(i, held);
        }
    }

    /// Brings the pool to `target` provisioned servers (not counting retiring ones): new
    /// servers take the lowest free indices; servers leave in the order that costs least:
    /// booting ones, crashed ones, drained ones, then the newest serving ones.
    pub(crate) fn set_target(&mut self, now: SimTime, target: u32, queue: &mut EventQueue<Event>) {
        let current = self.scaling.current();
        if target > current {
            self.scaling.stats.scale_outs += 1;
            let cold_start_ns = self.scaling.spec.as_ref().and_then(|s| s.autoscaling).map_or(0, |a| a.cold_start_ns);
            let free: Vec<usize> =
                (0..self.scaling.life.len()).filter(|&i| self.scaling.life[i] == Life::Off).collect();
            for &i in free.iter().take((target - current) as usize) {
                self.scaling.life[i] = Life::Starting;
                self.scaling.held[i] = false;
                self.scaling.generation[i] = self.scaling.generation[i].wrapping_add(1);
                let life = self.scaling.generation[i];
                queue.schedule(
                    now.after(cold_start_ns),
                    Event::Scaling(ScalingEvent::ServerReady { server: i as u32, life }),
                );
            }
        } else if target < current {
            self.scaling.stats.scale_ins += 1;
            let instances = &self.stations[APP as usize].instances;
            let sc = &self.scaling;
            let rank = |i: usize| match sc.life[i] {
                Life::Starting => 0,
                Life::Serving if !instances[i].up => 1,
                Life::Serving if sc.held[i] => 2,
                _ => 3,
            };
            let mut victims: Vec<usize> =
                (0..sc.life.len()).filter(|&i| matches!(sc.life[i], Life::Starting | Life::Serving)).collect();
            victims.sort_by_key(|&i| (rank(i), std::cmp::Reverse(i)));
            for &i in victims.iter().take((current - target) as usize) {
                self.retire(now, i, queue);
            }
        }
        self.refresh_gauges(now);
    }

    pub(crate) fn server_ready(&mut self, now: SimTime, i: usize, life: u32, queue: &mut EventQueue<Event>) {
        if self.scaling.generation[i] != life || self.scaling.life[i] != Life::Starting {
            return;
        }
        self.scaling.life[i] = Life::Serving;
        if let Some(stable) = self.delivery.as_ref().map(|d| d.stable) {
            // A new server gets production's version.
            self.switch_server(now, i, stable, queue);
        }
        // A fresh process: up, fresh memory (a leak in force leaks again), an empty pool.
        self.restart(now, i, queue);
        if let Some(db) = self.db.as_mut() {
            let pool = &mut db.pools[i];
            pool.in_use = 0;
            pool.leaked = 0;
        }
        self.app.rotation.set_draining(i, false);
        self.refresh_gauges(now);
    }

    /// Server `i` leaves: a booting one at once, a serving one after it finishes its
    /// requests (or the drain timeout).
    fn retire(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        match self.scaling.life[i] {
            Life::Starting => self.deprovision(now, i),
            Life::Serving => {
                self.scaling.life[i] = Life::Retiring;
                self.app.rotation.set_draining(i, true);
                let timeout = self.scaling.spec.as_ref().map_or(0, |s| s.drain_timeout_ns);
                self.scaling.drain_deadline[i] = now.after(timeout);
                if !self.scaling.drain_check_scheduled {
                    self.scaling.drain_check_scheduled = true;
                    queue.schedule(now, Event::Scaling(ScalingEvent::DrainCheck));
                }
            }
            Life::Off | Life::Retiring => {}
        }
    }

    /// Deprovisions the empty retiring servers and stops those past their drain timeout.
    pub(crate) fn drain_check(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        self.scaling.drain_check_scheduled = false;
        let mut waiting = false;
        for i in 0..self.scaling.life.len() {
            if self.scaling.life[i] != Life::Retiring {
                continue;
            }
            if self.stations[APP as usize].instances[i].connections() == 0 {
                self.deprovision(now, i);
            } else if now >= self.scaling.drain_deadline[i] {
                self.scaling.stats.drain_timeouts += 1;
                self.kill_server(now, i, queue);
                self.deprovision(now, i);
            } else {
                waiting = true;
            }
        }
        self.refresh_gauges(now);
        if waiting {
            self.scaling.drain_check_scheduled = true;
            queue.schedule(now.after(DRAIN_CHECK_NS), Event::Scaling(ScalingEvent::DrainCheck));
        }
    }

    /// Server `i` is stopped and no longer billed.
    fn deprovision(&mut self, now: SimTime, i: usize) {
        let sc = &mut self.scaling;
        sc.life[i] = Life::Off;
        sc.held[i] = false;
        sc.generation[i] = sc.generation[i].wrapping_add(1);
        sc.restart_at[i] = None;
        self.stations[APP as usize].instances[i].up = false;
        self.app.rotation.set_draining(i, true);
        let m = &mut self.app.memory;
        m.epoch[i] = m.epoch[i].wrapping_add(1);
        m.used_mb[i] = m.base_mb;
        m.since[i] = now;
        if let Some(db) = self.db.as_mut() {
            let pool = &mut db.pools[i];
            pool.in_use = 0;
            pool.leaked = 0;
            pool.waiters.clear();
        }
        self.refresh_gauges(now);
    }

    /// Recounts provisioned and running servers after a change.
    pub(crate) fn refresh_gauges(&mut self, now: SimTime) {
        if !self.scaling.enabled {
            return;
        }
        let instances = &self.stations[APP as usize].instances;
        let sc = &mut self.scaling;
        let provisioned = sc.life.iter().filter(|&&l| l != Life::Off).count() as u32;
        let running = (0..sc.life.len())
            .filter(|&i| matches!(sc.life[i], Life::Serving | Life::Retiring) && instances[i].up)
            .count() as u32;
        sc.provisioned.set(now, provisioned);
        sc.running.set(now, running);
        if let Some(o) = self.app.outliers.as_mut() {
            // At most `max_ejection_percent` of the servers in service, not of the pool's max.
            o.set_counted_backends(provisioned as usize);
        }
        sc.stats.min_instances = sc.stats.min_instances.min(provisioned);
        sc.stats.max_instances = sc.stats.max_instances.max(provisioned);
    }

    /// Server `i` crashed; its supervisor restarts it `restart_ns` later.
    pub(crate) fn on_server_down(&mut self, now: SimTime, i: usize) {
        self.scaling.restart_at[i] = Some(now.after(self.app.restart_ns));
        self.refresh_gauges(now);
    }

    /// The supervisor's restart of server `i` is due, unless the server was deprovisioned
    /// (or deprovisioned and provisioned again) since it crashed.
    pub(crate) fn on_restart_due(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        if self.scaling.enabled && self.scaling.restart_at[i] != Some(now) {
            return;
        }
        self.scaling.restart_at[i] = None;
        self.restart(now, i, queue);
        self.refresh_gauges(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_scenario::scaling::{Action, AutoscalingSpec};

    #[test]
    fn a_gauge_integrates_its_count_over_time() {
        let mut g = Gauge { count: 2, ..Gauge::default() };
        g.set(SimTime(10), 5);
        assert_eq!((g.at(SimTime(10)), g.count()), (20, 5));
        g.set(SimTime(14), 1);
        assert_eq!(g.at(SimTime(20)), 20 + 5 * 4 + 6);
    }

    #[test]
    fn the_pool_starts_with_the_initial_servers_serving() {
        let spec = ScalingSpec {
            initial: 2,
            max: 5,
            autoscaling: Some(AutoscalingSpec {
                min: 1,
                max: 5,
                target_utilization: 0.5,
                cooldown_ns: 0,
                cold_start_ns: 0,
                interval_ns: 1,
            }),
            actions: vec![Action { at_ns: 0, kind: ActionKind::ScaleOut { count: 1 } }],
            drain_timeout_ns: 0,
        };
        let s = Scaling::new(Some(&spec), 5, 4);
        assert!(s.enabled && s.autoscaler.is_some());
        assert_eq!(s.life, vec![Life::Serving, Life::Serving, Life::Off, Life::Off, Life::Off]);
        assert_eq!((s.current(), s.provisioned.count(), s.running.count()), (2, 2, 2));
        assert!(s.probed(1) && !s.probed(2));
        let out = s.outcome(SimTime(3_600 * NS_PER_S)).expect("a changing pool");
        assert_eq!((out.instance_hours, out.min_instances, out.max_instances), (2.0, 2, 2));
        // A fixed pool: every server serves, and there is no scaling outcome.
        let fixed = Scaling::new(None, 3, 4);
        assert!(!fixed.enabled && fixed.outcome(SimTime(1)).is_none());
        assert!((0..3).all(|i| fixed.probed(i)));
    }
}
