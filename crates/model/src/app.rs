//! The app tier around its servers: the balancer and its rotation (health checks,
//! outlier ejection, drained servers), the connections it counts, and each server's
//! process — its memory, its crashes and its supervisor's restart delay.
//!
//! The app servers' instances themselves are station [`crate::engine::APP`]; this
//! subsystem holds what the balancer and the processes add to them.

use prodsim_kernel::{EventQueue, NS_PER_S, SimRng, SimTime};
use prodsim_parts::{ActiveHealthCheck, Backends, Balancer, Client, HealthChange, OutlierDetection, Rotation};

use crate::engine::{APP, Engine};
use crate::event::{BalancerEvent, Event};

/// The balancer and the app servers' processes.
pub(crate) struct AppTier {
    /// The strategy.
    pub balancer: Box<dyn Balancer>,
    /// The strategy's own random choices (random, power of d).
    pub balancer_rng: SimRng,
    /// Whether the strategy hashes a session key (consistent hashing).
    pub hashing: bool,
    /// Whether the strategy learns from responses (response time EWMA).
    pub observes: bool,
    /// Which servers are in rotation.
    pub rotation: Rotation,
    /// Active health checks, if configured.
    pub health: Option<ActiveHealthCheck>,
    /// Passive outlier ejection, if configured.
    pub outliers: Option<OutlierDetection>,
    /// Each server's connections (working and waiting), as the balancer counts them.
    pub connections: Vec<u32>,
    /// Each server's memory.
    pub memory: Memory,
    /// How long a crashed server's supervisor takes to restart it.
    pub restart_ns: u64,
    /// Crashes (faults, OOM kills, crash loops).
    pub crashes: u64,
    /// Of those, out-of-memory kills.
    pub oom_kills: u64,
}

impl AppTier {
    /// The server the balancer picks for a request from `region` with session `session`
    /// (drawn only by consistent hashing); `None` when none is in rotation.
    #[inline]
    pub fn pick(&mut self, region: u16, session: impl FnOnce() -> u64) -> Option<usize> {
        let in_rotation = self.rotation.as_slice();
        if self.connections.len() == 1 && in_rotation.is_empty() {
            return Some(0);
        }
        let backends = Backends { connections: &self.connections, in_rotation };
        let key = if self.hashing { session() } else { 0 };
        self.balancer.pick(&backends, &Client { region, key }, &mut self.balancer_rng)
    }

    /// Server `i` now holds `connections` requests. A pool that can only ever have one
    /// server needs no balancing, so nothing reads its count and it is not kept.
    #[inline(always)]
    pub fn track(&mut self, i: usize, connections: u32) {
        if self.connections.len() > 1 {
            self.connections[i] = connections;
        }
    }

    /// Tells the strategy and the outlier detector how server `i` answered at `now`
    /// after `latency_ns`. Inline only as far as asking whether anything learns from it,
    /// so that a pool whose strategy and detector do not costs one branch per answer.
    #[inline(always)]
    pub fn observe(&mut self, now: SimTime, i: usize, latency_ns: u64, ok: bool) {
        if self.observes || self.outliers.is_some() {
            self.learn(now, i, latency_ns, ok);
        }
    }

    #[inline(never)]
    fn learn(&mut self, now: SimTime, i: usize, latency_ns: u64, ok: bool) {
        if self.observes {
            self.balancer.observe(i, now, latency_ns, ok);
        }
        if let Some(o) = self.outliers.as_mut() {
            // The ejection ends on an `EjectionEnds` tick after its end time.
            if o.record(now, i, ok).is_some() {
                self.rotation.set_ejected(i, true);
            }
        }
    }
}

/// App server memory, integrated lazily between changes of the leak rate.
pub(crate) struct Memory {
    /// Resident memory of a fresh process, MiB.
    pub base_mb: f64,
    /// The out-of-memory limit, MiB.
    pub limit_mb: f64,
    /// Resident memory at `since`, per server.
    pub used_mb: Vec<f64>,
    /// When `used_mb` was last brought up to date, per server.
    pub since: Vec<SimTime>,
    /// The leak in force, MiB/s, per server.
    pub leak_mb_per_s: Vec<f64>,
    /// Bumped whenever a scheduled OOM kill may no longer be due, per server.
    pub epoch: Vec<u32>,
}

impl Memory {
    /// `servers` fresh processes of `base_mb`, killed at `limit_mb`.
    pub fn new(servers: usize, base_mb: f64, limit_mb: f64) -> Memory {
        Memory {
            base_mb,
            limit_mb,
            used_mb: vec![base_mb; servers],
            since: vec![SimTime::ZERO; servers],
            leak_mb_per_s: vec![0.0; servers],
            epoch: vec![0; servers],
        }
    }

    /// Server `i`'s resident memory at `now`, MiB (never above the limit).
    pub fn resident_mb(&self, i: usize, now: SimTime) -> f64 {
        let leaked = self.leak_mb_per_s[i] * now.since(self.since[i]) as f64 / NS_PER_S as f64;
        (self.used_mb[i] + leaked).min(self.limit_mb)
    }

    /// Server `i` starts a fresh process at `now`; a scheduled OOM kill is no longer due.
    pub fn fresh(&mut self, i: usize, now: SimTime) {
        self.epoch[i] = self.epoch[i].wrapping_add(1);
        self.used_mb[i] = self.base_mb;
        self.since[i] = now;
    }

    /// Brings server `i` up to date at `now` (if its process runs) and sets its leak to
    /// `mb_per_s`.
    pub fn set_leak(&mut self, i: usize, now: SimTime, running: bool, mb_per_s: f64) {
        if running {
            self.used_mb[i] += self.leak_mb_per_s[i] * now.since(self.since[i]) as f64 / NS_PER_S as f64;
        }
        self.since[i] = now;
        self.leak_mb_per_s[i] = mb_per_s;
    }

    /// When server `i`, leaking, reaches its limit (and the epoch that kill carries);
    /// `None` without a leak.
    pub fn out_of_memory_at(&mut self, i: usize, now: SimTime) -> Option<(SimTime, u32)> {
        self.epoch[i] = self.epoch[i].wrapping_add(1);
        let rate = self.leak_mb_per_s[i];
        if rate <= 0.0 {
            return None;
        }
        let secs = ((self.limit_mb - self.used_mb[i]) / rate).max(0.0);
        Some((now.after((secs * NS_PER_S as f64).ceil() as u64), self.epoch[i]))
    }
}

impl Engine {
    /// Probes every app server: a dead process fails its probe. Enough failures in a row
    /// take a server out of rotation, enough successes bring it back.
    pub(crate) fn health_probe(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(h) = self.app.health.as_mut() else { return };
        for (i, instance) in self.stations[APP as usize].instances.iter().enumerate() {
            if !self.scaling.probed(i) {
                continue; // A stopped or booting machine is not registered with the balancer.
            }
            match h.probe_result(i, instance.up) {
                Some(HealthChange::Up) => self.app.rotation.set_healthy(i, true),
                Some(HealthChange::Down) => self.app.rotation.set_healthy(i, false),
                None => {}
            }
        }
        queue.schedule(now.after(h.config().interval_ns), Event::Balancer(BalancerEvent::HealthProbe));
    }

    /// Ejected servers whose ejection is over return to rotation.
    pub(crate) fn ejections_end(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(o) = self.app.outliers.as_mut() {
            let rotation = &mut self.app.rotation;
            o.expire(now, |b| rotation.set_ejected(b, false));
            queue.schedule(now.after(NS_PER_S), Event::Balancer(BalancerEvent::EjectionEnds));
        }
    }
}
