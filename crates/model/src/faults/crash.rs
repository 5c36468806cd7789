//! Processes that die and come back: app server crashes (a fault, an out-of-memory kill,
//! a crash-looping version, a region lost), the supervisor's restart, memory leaks and
//! their OOM kills, leaked database connections, and the primary database's crash and
//! failover.

use prodsim_kernel::{EventQueue, NS_PER_S, SimTime};
use prodsim_parts::faults::{FaultKind, FaultTarget};

use crate::database::Failover;
use crate::engine::{APP, Engine};
use crate::event::{CallEvent, Event, FaultEvent};
use crate::measure::recorder::Fate;
use crate::tasks::NONE;

impl Engine {
    /// A `crash` fault kills every live app server it hits.
    pub(crate) fn crash_servers_hit(&mut self, now: SimTime, target: FaultTarget, queue: &mut EventQueue<Event>) {
        for i in 0..self.app.connections.len() {
            if target.hits_server(i) && self.stations[APP as usize].instances[i].up {
                self.crash_server(now, i, queue);
            }
        }
    }

    /// A region's data center goes down (`active`) or comes back: its servers die
    /// together, and no supervisor restarts them until the region returns.
    pub(crate) fn region_outage(
        &mut self,
        now: SimTime,
        target: FaultTarget,
        active: bool,
        queue: &mut EventQueue<Event>,
    ) {
        for i in 0..self.app.connections.len() {
            if !target.hits_server(i) {
                continue;
            }
            let up = self.stations[APP as usize].instances[i].up;
            if active && up {
                self.crash_server(now, i, queue);
            } else if !active && !up && !self.faults.region_down(i) && self.scaling.probed(i) {
                self.restart(now, i, queue);
            }
        }
    }

    /// Tasks live on instance `i` of station `s`, in slot order.
    pub(crate) fn tasks_on(&self, s: usize, i: u32) -> Vec<u32> {
        (0..self.flow.tasks.len() as u32)
            .filter(|&t| {
                let task = &self.flow.tasks[t];
                task.live && task.station as usize == s && task.instance == i
            })
            .collect()
    }

    /// App server `i`'s process dies: every request on it fails, its pool empties, a
    /// non-durable retry queue loses its items, and the supervisor restarts it later.
    pub(crate) fn crash_server(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        self.app.crashes += 1;
        self.kill_server(now, i, queue);
        self.on_server_down(now, i);
        queue.schedule(now.after(self.app.restart_ns), Event::Fault(FaultEvent::Restart { server: i as u32 }));
    }

    /// App server `i`'s process stops: every request on it fails, its pool empties, a
    /// non-durable retry queue loses its items, and its memory is fresh.
    pub(crate) fn kill_server(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let victims = self.tasks_on(APP as usize, i as u32);
        self.stations[APP as usize].instances[i].crash(now);
        self.app.connections[i] = 0;
        self.calls.abandon_callers(&victims);
        for t in victims {
            if self.flow.tasks[t].parent_call == NONE {
                self.end_root(now, t, Fate::Failed, queue);
            } else {
                self.free_task(t);
            }
        }
        if let Some(db) = self.db.as_mut() {
            db.pools[i].empty();
        }
        self.deferral.server_crashed(i, &mut self.ledger);
        self.app.memory.fresh(i, now);
        // The process's metrics and unshipped logs die with it.
        if let Some(target) = self.measure.counters.target(APP, i as u32) {
            self.measure.counters.reset(target);
        }
        self.logs_crashed(now, i);
    }

    /// Server `i`'s process starts fresh: up, with base memory (a leak in force leaks again).
    pub(crate) fn restart(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        if self.faults.region_down(i) {
            // The region is down: the server returns with it.
            return;
        }
        self.stations[APP as usize].instances[i].up = true;
        self.app.memory.fresh(i, now);
        self.schedule_oom(now, i, queue);
        self.schedule_version_crash(now, i, queue);
    }

    /// A `memory_leak` fault started or ended on the servers it hits.
    pub(crate) fn update_leaks_hit(&mut self, now: SimTime, target: FaultTarget, queue: &mut EventQueue<Event>) {
        for i in 0..self.app.connections.len() {
            if target.hits_server(i) {
                self.update_leak(now, i, queue);
            }
        }
    }

    /// The leak rate on server `i` changed (a leak started or ended, or its version).
    pub(crate) fn update_leak(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let up = self.stations[APP as usize].instances[i].up;
        let rate = self.faults.leak_mb_per_s(i) + self.version_leak(i);
        self.app.memory.set_leak(i, now, up, rate);
        if up {
            self.schedule_oom(now, i, queue);
        }
    }

    /// Schedules server `i`'s out-of-memory kill, if it leaks.
    fn schedule_oom(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        if let Some((at, epoch)) = self.app.memory.out_of_memory_at(i, now) {
            queue.schedule(at, Event::Fault(FaultEvent::OutOfMemory { server: i as u32, epoch }));
        }
    }

    /// Server `i` reached its memory limit, if `epoch` is still its memory's epoch.
    pub(crate) fn on_out_of_memory(&mut self, now: SimTime, i: usize, epoch: u32, queue: &mut EventQueue<Event>) {
        if self.app.memory.epoch[i] == epoch && self.stations[APP as usize].instances[i].up {
            self.app.oom_kills += 1;
            self.crash_server(now, i, queue);
        }
    }

    /// A connection leak takes one more connection from each live server it hits.
    pub(crate) fn leak_tick(&mut self, now: SimTime, f: usize, queue: &mut EventQueue<Event>) {
        if !self.faults.active[f] {
            return;
        }
        let FaultKind::ConnectionLeak { per_s } = self.faults.list[f].kind else { return };
        let target = self.faults.list[f].target;
        let Some(db) = self.db.as_mut() else { return };
        for (i, pool) in db.pools.iter_mut().enumerate() {
            if target.hits_server(i) && self.stations[APP as usize].instances[i].up {
                pool.leaked = (pool.leaked + 1).min(pool.size);
            }
        }
        let every_ns = (NS_PER_S as f64 / per_s).max(1.0) as u64;
        queue.schedule(now.after(every_ns), Event::Fault(FaultEvent::LeakTick { fault: f as u32 }));
    }

    /// A connection leak ended: the servers it hit get their connections back.
    pub(crate) fn give_back_leaked(&mut self, now: SimTime, target: FaultTarget, queue: &mut EventQueue<Event>) {
        let Some(db) = self.db.as_mut() else { return };
        for (i, pool) in db.pools.iter_mut().enumerate() {
            if target.hits_server(i) {
                pool.leaked = 0;
            }
        }
        for i in 0..self.app.connections.len() {
            self.grant_connections(now, i, queue);
        }
    }

    /// The primary dies: queries on it fail, writes fail until a replica takes over.
    pub(crate) fn crash_primary(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(db) = self.db.as_mut() else { return };
        if db.failover_pending {
            return;
        }
        db.failover_pending = true;
        let (s, p, failover_ns) = (db.station as usize, db.primary, db.spec.failover_ns);
        let victims = self.tasks_on(s, p);
        self.stations[s].instances[p as usize].crash(now);
        for t in victims {
            let (call, seq) = (self.flow.tasks[t].parent_call, self.flow.tasks[t].parent_gen);
            self.free_task(t);
            if call != NONE {
                queue.schedule(now, Event::Call(CallEvent::Failed { call, seq }));
            }
        }
        queue.schedule(now.after(failover_ns), Event::Fault(FaultEvent::Failover));
    }

    /// A replica becomes the primary (or, with none, the primary comes back).
    pub(crate) fn failover(&mut self, _now: SimTime) {
        let Some(db) = self.db.as_mut() else { return };
        if let Some(Failover::SamePrimary(p)) = db.promote() {
            self.stations[db.station as usize].instances[p as usize].up = true;
        }
    }

    /// A responder promotes a replica now (a planned failover, or ahead of the automatic
    /// one after a crash).
    pub(crate) fn promote_replica(&mut self, now: SimTime) {
        if let Some(db) = self.db.as_mut() {
            db.failover_pending = true;
        }
        self.failover(now);
    }
}
