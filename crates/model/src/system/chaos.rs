//! What faults do to the multi-tier model: dependency outages, hangs, errors and added
//! latency; app server crashes and restarts; out-of-memory kills; the database primary's
//! crash and failover; replication lag, slow queries and leaked pool connections; traffic
//! spikes folded into the workloads; the monitoring system and the log store.

use prodsim_kernel::{EventQueue, NS_PER_S, SimTime};
use prodsim_parts::Workload;
use prodsim_parts::faults::{Fault, FaultKind, FaultTarget};
use prodsim_parts::resilience::PaymentId;

use super::recorder::Fate;
use super::tasks::NONE;
use super::{APP, Event, System};

impl System {
    /// A fault, restart, failover, out-of-memory or leak event.
    #[cold]
    #[inline(never)]
    pub(super) fn on_chaos_event(&mut self, now: SimTime, event: Event, queue: &mut EventQueue<Event>) {
        match event {
            Event::FaultStart { fault } => self.on_fault(now, fault as usize, true, queue),
            Event::FaultEnd { fault } => self.on_fault(now, fault as usize, false, queue),
            Event::Restart { server } => self.on_restart_due(now, server as usize, queue),
            Event::Failover => self.failover(now),
            Event::OutOfMemory { server, epoch } => {
                let i = server as usize;
                if self.memory.epoch[i] == epoch && self.stations[APP as usize].instances[i].up {
                    self.oom_kills += 1;
                    self.crash_server(now, i, queue);
                }
            }
            Event::LeakTick { fault } => self.leak_tick(now, fault as usize, queue),
            Event::HealthProbe => self.health_probe(now, queue),
            Event::EjectionEnds => {
                if let Some(o) = self.outliers.as_mut() {
                    let rotation = &mut self.rotation;
                    o.expire(now, |b| rotation.set_ejected(b, false));
                    queue.schedule(now.after(NS_PER_S), Event::EjectionEnds);
                }
            }
            other => self.on_scaling_event(now, other, queue),
        }
    }

    /// Probes every app server: a dead process fails its probe. Enough failures in a row
    /// take a server out of rotation, enough successes bring it back.
    fn health_probe(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(h) = self.health.as_mut() else { return };
        for (i, instance) in self.stations[APP as usize].instances.iter().enumerate() {
            if !self.scaling.probed(i) {
                continue; // A stopped or booting machine is not registered with the balancer.
            }
            match h.probe_result(i, instance.up) {
                Some(prodsim_parts::HealthChange::Up) => self.rotation.set_healthy(i, true),
                Some(prodsim_parts::HealthChange::Down) => self.rotation.set_healthy(i, false),
                None => {}
            }
        }
        queue.schedule(now.after(h.config().interval_ns), Event::HealthProbe);
    }

    fn on_fault(&mut self, now: SimTime, f: usize, active: bool, queue: &mut EventQueue<Event>) {
        self.fault_active[f] = active;
        let fault = self.faults[f].clone();
        match (&fault.kind, fault.target) {
            (_, FaultTarget::Monitoring) => self.recompute_monitoring(),
            (_, FaultTarget::LogStore) => self.recompute_log_store(now),
            (FaultKind::Crash, _) => {
                if active {
                    for i in 0..self.connections.len() {
                        if fault.target.hits_server(i) && self.stations[APP as usize].instances[i].up {
                            self.crash_server(now, i, queue);
                        }
                    }
                }
            }
            (FaultKind::RegionOutage, _) => self.region_outage(now, &fault.target, active, queue),
            (FaultKind::Partition { .. }, _) => {
                let s = self.station_of_target(fault.target);
                self.recompute_station(s);
            }
            (FaultKind::PrimaryCrash, _) => {
                if active {
                    self.crash_primary(now, queue);
                }
            }
            (FaultKind::MemoryLeak { .. }, _) => {
                for i in 0..self.connections.len() {
                    if fault.target.hits_server(i) {
                        self.update_leak(now, i, queue);
                    }
                }
            }
            (FaultKind::ConnectionLeak { per_s }, _) => {
                if active {
                    queue.schedule(now, Event::LeakTick { fault: f as u32 });
                } else if let Some(db) = self.db.as_mut() {
                    for (i, pool) in db.pools.iter_mut().enumerate() {
                        if fault.target.hits_server(i) {
                            pool.leaked = 0;
                        }
                    }
                    for i in 0..self.connections.len() {
                        self.grant_connections(now, i, queue);
                    }
                }
                let _ = per_s;
            }
            (FaultKind::ReplicationLag { .. } | FaultKind::SlowQueries { .. }, _) => self.recompute_database(),
            (_, FaultTarget::Workloads) => {}
            (_, target) => {
                let s = self.station_of_target(target);
                self.recompute_station(s);
            }
        }
    }

    /// The station a fault target names (the app servers for server and region targets).
    fn station_of_target(&self, target: FaultTarget) -> usize {
        match target {
            FaultTarget::Service(id) => 1 + id as usize,
            FaultTarget::Database => self.db.as_ref().map_or(APP as usize, |d| d.station as usize),
            _ => APP as usize,
        }
    }

    /// A region's data center goes down (`active`) or comes back: its servers die
    /// together, and no supervisor restarts them until the region returns.
    fn region_outage(&mut self, now: SimTime, target: &FaultTarget, active: bool, queue: &mut EventQueue<Event>) {
        for i in 0..self.connections.len() {
            if !target.hits_server(i) {
                continue;
            }
            let up = self.stations[APP as usize].instances[i].up;
            if active && up {
                self.crash_server(now, i, queue);
            } else if !active && !up && !self.region_down(i) && self.scaling.probed(i) {
                self.restart(now, i, queue);
            }
        }
    }

    /// Whether a region outage in force holds server `i` down.
    fn region_down(&self, i: usize) -> bool {
        self.faults
            .iter()
            .zip(&self.fault_active)
            .any(|(f, on)| *on && f.kind == FaultKind::RegionOutage && f.target.hits_server(i))
    }

    /// Whether fault `f` is in force and hits station `s`.
    fn hits_station(&self, f: usize, s: usize) -> bool {
        if !self.fault_active[f] {
            return false;
        }
        match self.faults[f].target {
            FaultTarget::Service(id) => s == 1 + id as usize,
            FaultTarget::Database => self.db.as_ref().is_some_and(|d| d.station as usize == s),
            FaultTarget::Server(_) | FaultTarget::AllServers | FaultTarget::Region { .. } => s == APP as usize,
            FaultTarget::Workloads | FaultTarget::Monitoring | FaultTarget::LogStore => false,
        }
    }

    /// Recomputes the effects of every fault in force on station `s`.
    fn recompute_station(&mut self, s: usize) {
        let mut outage = false;
        let mut hang: Option<u64> = None;
        let mut ok_share = 1.0;
        let mut latency = None;
        let n = self.stations[s].instances.len();
        let mut slowdown = vec![1.0; n];
        let mut partitions = Vec::new();
        for f in 0..self.faults.len() {
            if !self.hits_station(f, s) {
                continue;
            }
            let fault = &self.faults[f];
            match &fault.kind {
                FaultKind::Outage => outage = true,
                FaultKind::Timeouts { hang_ns } => hang = Some(hang.map_or(*hang_ns, |h: u64| h.max(*hang_ns))),
                FaultKind::Partition { from: (first, end), hang_ns } => partitions.push((*first, *end, *hang_ns)),
                FaultKind::ErrorRate { rate } => ok_share *= 1.0 - rate,
                FaultKind::AddedLatency { latency: d } => latency = Some(d.clone()),
                FaultKind::Slowdown { factor } => {
                    for (i, x) in slowdown.iter_mut().enumerate() {
                        if s != APP as usize || fault.target.hits_server(i) {
                            *x *= factor;
                        }
                    }
                }
                _ => {}
            }
        }
        let st = &mut self.stations[s];
        st.outage = outage;
        st.hang_ns = hang;
        st.fault_error_rate = 1.0 - ok_share;
        st.added_latency = latency;
        st.slowdown = slowdown;
        st.partitions = partitions;
    }

    /// Recomputes what the faults in force do to the monitoring system.
    fn recompute_monitoring(&mut self) {
        let (mut down, mut slow) = (false, 1.0);
        for (f, fault) in self.faults.iter().enumerate() {
            if self.fault_active[f] && fault.target == FaultTarget::Monitoring {
                match fault.kind {
                    FaultKind::Outage => down = true,
                    FaultKind::Slowdown { factor } => slow *= factor,
                    _ => {}
                }
            }
        }
        if let Some(m) = self.monitor.as_mut() {
            m.down = down;
            m.slow = slow;
        }
    }

    /// Recomputes whether the log store is up.
    fn recompute_log_store(&mut self, now: SimTime) {
        let down =
            self.faults.iter().enumerate().any(|(f, x)| self.fault_active[f] && x.target == FaultTarget::LogStore);
        self.set_log_store_up(now, !down);
    }

    fn recompute_database(&mut self) {
        let Some(db_station) = self.db.as_ref().map(|d| d.station as usize) else { return };
        let mut lag = self.db.as_ref().map_or(0, |d| d.spec.replication_lag_ns);
        let mut slow = 1.0;
        for f in 0..self.faults.len() {
            if !self.hits_station(f, db_station) {
                continue;
            }
            match self.faults[f].kind {
                FaultKind::ReplicationLag { lag_ns } => lag = lag.max(lag_ns),
                FaultKind::SlowQueries { factor } => slow *= factor,
                _ => {}
            }
        }
        if let Some(db) = self.db.as_mut() {
            db.lag_ns = lag;
            db.stats.max_replication_lag_ns = db.stats.max_replication_lag_ns.max(lag);
            db.slow_factor = slow;
        }
    }

    /// Tasks live on instance `i` of station `s`, in slot order.
    fn tasks_on(&self, s: usize, i: u32) -> Vec<u32> {
        (0..self.tasks.len() as u32)
            .filter(|&t| {
                let task = &self.tasks[t];
                task.live && task.station as usize == s && task.instance == i
            })
            .collect()
    }

    /// App server `i`'s process dies: every request on it fails, its pool empties, a
    /// non-durable retry queue loses its items, and the supervisor restarts it later.
    pub(super) fn crash_server(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        self.crashes += 1;
        self.kill_server(now, i, queue);
        self.on_server_down(now, i);
        queue.schedule(now.after(self.restart_ns), Event::Restart { server: i as u32 });
    }

    /// App server `i`'s process stops: every request on it fails, its pool empties, a
    /// non-durable retry queue loses its items, and its memory is fresh.
    pub(super) fn kill_server(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let victims = self.tasks_on(APP as usize, i as u32);
        self.stations[APP as usize].instances[i].crash(now);
        self.connections[i] = 0;
        for c in 0..self.calls.len() as u32 {
            let call = self.calls[c];
            if call.live && call.caller != NONE && victims.contains(&call.caller) {
                let slot = &mut self.calls[c];
                slot.live = false;
                slot.seq = slot.seq.wrapping_add(1);
                self.calls.release(c);
            }
        }
        for t in victims {
            if self.tasks[t].parent_call == NONE {
                self.end_root(now, t, Fate::Failed, queue);
            } else {
                self.free_task(t);
            }
        }
        if let Some(db) = self.db.as_mut() {
            let pool = &mut db.pools[i];
            pool.in_use = 0;
            pool.leaked = 0;
            pool.waiters.clear();
        }
        if let Some((spec, q)) = self.retry_queue.as_mut() {
            if !spec.durable {
                let mut kept = Vec::new();
                while let Some((enq, item)) = q.pop() {
                    if item.server as usize == i {
                        self.ledger.mark_dropped(PaymentId(item.payment));
                        self.rq_stats.dropped += 1;
                    } else {
                        kept.push((enq, item));
                    }
                }
                for (enq, item) in kept.into_iter().rev() {
                    q.push_front(enq, item);
                }
            }
        }
        let m = &mut self.memory;
        m.epoch[i] = m.epoch[i].wrapping_add(1);
        m.used_mb[i] = m.base_mb;
        m.since[i] = now;
        // The process's metrics and unshipped logs die with it.
        if let Some(target) = self.counters.target(APP, i as u32) {
            self.counters.reset(target);
        }
        self.logs_crashed(now, i);
    }

    /// Server `i`'s process starts fresh: up, with base memory (a leak in force leaks again).
    pub(super) fn restart(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        if self.region_down(i) {
            // The region is down: the server returns with it.
            return;
        }
        self.stations[APP as usize].instances[i].up = true;
        let m = &mut self.memory;
        m.used_mb[i] = m.base_mb;
        m.since[i] = now;
        self.schedule_oom(now, i, queue);
        self.schedule_version_crash(now, i, queue);
    }

    /// The leak rate on server `i` changed (a leak started or ended).
    pub(super) fn update_leak(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let m = &mut self.memory;
        if self.stations[APP as usize].instances[i].up {
            m.used_mb[i] += m.leak_mb_per_s[i] * now.since(m.since[i]) as f64 / NS_PER_S as f64;
        }
        m.since[i] = now;
        let rate: f64 = self
            .faults
            .iter()
            .zip(&self.fault_active)
            .filter(|(f, on)| **on && f.target.hits_server(i))
            .map(|(f, _)| match f.kind {
                FaultKind::MemoryLeak { mb_per_s } => mb_per_s,
                _ => 0.0,
            })
            .sum::<f64>()
            + self.version_leak(i);
        self.memory.leak_mb_per_s[i] = rate;
        if self.stations[APP as usize].instances[i].up {
            self.schedule_oom(now, i, queue);
        }
    }

    fn schedule_oom(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        let m = &mut self.memory;
        m.epoch[i] = m.epoch[i].wrapping_add(1);
        let rate = m.leak_mb_per_s[i];
        if rate > 0.0 {
            let secs = ((m.limit_mb - m.used_mb[i]) / rate).max(0.0);
            let at = now.after((secs * NS_PER_S as f64).ceil() as u64);
            queue.schedule(at, Event::OutOfMemory { server: i as u32, epoch: m.epoch[i] });
        }
    }

    fn leak_tick(&mut self, now: SimTime, f: usize, queue: &mut EventQueue<Event>) {
        if !self.fault_active[f] {
            return;
        }
        let FaultKind::ConnectionLeak { per_s } = self.faults[f].kind else { return };
        let target = self.faults[f].target;
        let Some(db) = self.db.as_mut() else { return };
        for (i, pool) in db.pools.iter_mut().enumerate() {
            if target.hits_server(i) && self.stations[APP as usize].instances[i].up {
                pool.leaked = (pool.leaked + 1).min(pool.size);
            }
        }
        queue.schedule(now.after((NS_PER_S as f64 / per_s).max(1.0) as u64), Event::LeakTick { fault: f as u32 });
    }

    /// The primary dies: queries on it fail, writes fail until a replica takes over.
    fn crash_primary(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(db) = self.db.as_mut() else { return };
        if db.failover_pending {
            return;
        }
        db.failover_pending = true;
        let (s, p, failover_ns) = (db.station as usize, db.primary, db.spec.failover_ns);
        let victims = self.tasks_on(s, p);
        self.stations[s].instances[p as usize].crash(now);
        for t in victims {
            let task = self.tasks[t];
            self.free_task(t);
            if task.parent_call != NONE {
                queue.schedule(now, Event::CallFailed { call: task.parent_call, seq: task.parent_gen });
            }
        }
        queue.schedule(now.after(failover_ns), Event::Failover);
    }

    /// A replica becomes the primary (or, with none, the primary comes back).
    fn failover(&mut self, _now: SimTime) {
        let Some(db) = self.db.as_mut() else { return };
        if !db.failover_pending {
            // A responder promoted a replica already.
            return;
        }
        db.failover_pending = false;
        db.stats.failovers += 1;
        if db.replicas.is_empty() {
            self.stations[db.station as usize].instances[db.primary as usize].up = true;
        } else {
            db.primary = db.replicas.remove(0);
        }
    }
}

impl System {
    /// A responder promotes a replica now (a planned failover, or ahead of the automatic
    /// one after a crash).
    pub(super) fn promote_replica(&mut self, now: SimTime) {
        if let Some(db) = self.db.as_mut() {
            db.failover_pending = true;
        }
        self.failover(now);
    }
}

/// A workload with its traffic spikes folded into its stages: each spike multiplies the
/// rate in force over its window. Poisson arrivals stay exact across the boundaries.
pub(super) fn with_spikes(w: &Workload, faults: &[Fault]) -> Workload {
    let spikes: Vec<&Fault> = faults
        .iter()
        .filter(|f| matches!(f.kind, FaultKind::TrafficSpike { .. }) && f.target == FaultTarget::Workloads)
        .collect();
    if spikes.is_empty() {
        return w.clone();
    }
    let mut times: Vec<u64> = w.stages.iter().map(|s| s.at.as_nanos()).collect();
    for f in &spikes {
        times.push(f.start_ns);
        times.push(f.end_ns);
    }
    times.sort_unstable();
    times.dedup();
    let stages = times
        .into_iter()
        .map(|t| {
            let i = w.stages.partition_point(|s| s.at.as_nanos() <= t).saturating_sub(1);
            let factor: f64 = spikes
                .iter()
                .filter(|f| f.start_ns <= t && t < f.end_ns)
                .map(|f| match f.kind {
                    FaultKind::TrafficSpike { factor } => factor,
                    _ => 1.0,
                })
                .product();
            prodsim_parts::Stage { at: SimTime(t), rate: w.stages[i].rate * factor }
        })
        .collect();
    Workload { name: w.name.clone(), arrivals: w.arrivals, stages }
}
