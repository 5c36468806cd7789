//! What faults do: each fault's window starts and ends ([`FaultState`]), and the effects of
//! the faults in force are recomputed on what they hit — dependency outages, hangs, errors
//! and added latency, slowdowns and partitions on a station; lag and slow queries on the
//! database; the monitoring system and the log store. Crashes, restarts, out-of-memory
//! kills, leaks and the primary's failover are in [`crash`]; traffic spikes are folded
//! into the workloads ([`with_spikes`]) and `ddos` attacks into the edge's sources when
//! the run is built.

pub(crate) mod crash;

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::faults::{Fault, FaultKind, FaultTarget};
use prodsim_parts::{Stage, Workload};

use crate::engine::{APP, Engine};
use crate::event::{Event, FaultEvent};
use crate::station::{FaultEffects, Partition};

/// The scenario's faults, each with whether it is in force now.
pub(crate) struct FaultState {
    /// The faults, in file order.
    pub list: Vec<Fault>,
    /// Whether each is in force.
    pub active: Vec<bool>,
}

impl FaultState {
    /// The faults of a run, none in force yet.
    pub fn new(list: &[Fault]) -> FaultState {
        FaultState { list: list.to_vec(), active: vec![false; list.len()] }
    }

    /// The faults in force.
    pub fn in_force(&self) -> impl Iterator<Item = &Fault> {
        self.list.iter().zip(&self.active).filter(|(_, on)| **on).map(|(f, _)| f)
    }

    /// Whether a region outage in force holds app server `i` down.
    pub fn region_down(&self, i: usize) -> bool {
        self.in_force().any(|f| f.kind == FaultKind::RegionOutage && f.target.hits_server(i))
    }

    /// The memory leaked per second by the faults in force on app server `i`, MiB/s.
    pub fn leak_mb_per_s(&self, i: usize) -> f64 {
        let leak = |f: &Fault| if let FaultKind::MemoryLeak { mb_per_s } = f.kind { mb_per_s } else { 0.0 };
        self.in_force().filter(|f| f.target.hits_server(i)).map(leak).sum()
    }
}

impl Engine {
    /// Schedules every fault window (traffic spikes and attacks are in the arrivals).
    pub(crate) fn schedule_faults(&self, queue: &mut EventQueue<Event>) {
        for (i, f) in self.faults.list.iter().enumerate() {
            if matches!(
                f.kind,
                FaultKind::TrafficSpike { .. } | FaultKind::Ddos { .. } | FaultKind::CredentialStuffing { .. }
            ) {
                continue;
            }
            queue.schedule(SimTime(f.start_ns), Event::Fault(FaultEvent::Start { fault: i as u32 }));
            if f.end_ns > f.start_ns {
                queue.schedule(SimTime(f.end_ns), Event::Fault(FaultEvent::End { fault: i as u32 }));
            }
        }
    }

    /// A fault injected mid-run (a game day's instructor) starts now, by the code a
    /// scenario fault's start runs, and its end is scheduled; its index in the faults, or
    /// why not now (then nothing changed). The caller checked [`mid_run_refusal`].
    pub(crate) fn inject_fault(
        &mut self,
        now: SimTime,
        fault: Fault,
        queue: &mut EventQueue<Event>,
    ) -> Result<usize, String> {
        // A window of the same kind on the same target in force: a second would only hide
        // which one ends when. Crashes have no window (recovery takes its own time).
        let windowed = fault.end_ns > fault.start_ns;
        if let Some(on) = self.faults.in_force().find(|f| {
            windowed && f.end_ns > f.start_ns && f.kind.name() == fault.kind.name() && f.target == fault.target
        }) {
            return Err(format!(
                "a {} on {} is in force already, until +{}",
                on.kind.name(),
                on.target_name,
                prodsim_kernel::units::format_duration(on.end_ns)
            ));
        }
        let f = self.faults.list.len();
        let end_ns = fault.end_ns;
        self.faults.list.push(fault);
        self.faults.active.push(false);
        self.on_fault(now, f, true, queue);
        if windowed {
            queue.schedule(SimTime(end_ns), Event::Fault(FaultEvent::End { fault: f as u32 }));
        }
        Ok(f)
    }

    /// Fault `f` starts (`active`) or ends.
    pub(crate) fn on_fault(&mut self, now: SimTime, f: usize, active: bool, queue: &mut EventQueue<Event>) {
        self.faults.active[f] = active;
        let fault = self.faults.list[f].clone();
        match fault.target {
            FaultTarget::Monitoring => return self.recompute_monitoring(),
            FaultTarget::LogStore => return self.recompute_log_store(now),
            FaultTarget::Receiver(r) => return self.recompute_receiver(r),
            FaultTarget::Server(_)
            | FaultTarget::AllServers
            | FaultTarget::Service(_)
            | FaultTarget::Database
            | FaultTarget::Workloads
            | FaultTarget::Region { .. } => {}
        }
        match fault.kind {
            FaultKind::Crash if active => self.crash_servers_hit(now, fault.target, queue),
            FaultKind::Crash => {}
            FaultKind::RegionOutage => self.region_outage(now, fault.target, active, queue),
            FaultKind::PrimaryCrash if active => self.crash_primary(now, queue),
            FaultKind::PrimaryCrash => {}
            FaultKind::DataLoss if active => self.lose_data(now, queue),
            FaultKind::DataLoss => {}
            FaultKind::MemoryLeak { .. } => self.update_leaks_hit(now, fault.target, queue),
            FaultKind::ConnectionLeak { .. } if active => {
                queue.schedule(now, Event::Fault(FaultEvent::LeakTick { fault: f as u32 }));
            }
            FaultKind::ConnectionLeak { .. } => self.give_back_leaked(now, fault.target, queue),
            FaultKind::ReplicationLag { .. } | FaultKind::SlowQueries { .. } => self.recompute_database(),
            // Folded into the arrival processes when the run was built.
            FaultKind::TrafficSpike { .. } | FaultKind::Ddos { .. } | FaultKind::CredentialStuffing { .. } => {}
            // Only receivers suffer it (the loader checks), handled above.
            FaultKind::NotificationOutage => {}
            FaultKind::Slowdown { .. }
            | FaultKind::Outage
            | FaultKind::Timeouts { .. }
            | FaultKind::ErrorRate { .. }
            | FaultKind::AddedLatency { .. }
            | FaultKind::Partition { .. } => {
                let s = self.station_of_target(fault.target);
                self.recompute_station(s);
            }
        }
    }

    /// The station a fault target names (the app servers for server and region targets).
    fn station_of_target(&self, target: FaultTarget) -> usize {
        match target {
            FaultTarget::Service(id) => 1 + id as usize,
            FaultTarget::Database => self.db.as_ref().map_or(APP as usize, |d| d.station as usize),
            FaultTarget::Server(_)
            | FaultTarget::AllServers
            | FaultTarget::Region { .. }
            | FaultTarget::Workloads
            | FaultTarget::Monitoring
            | FaultTarget::LogStore
            | FaultTarget::Receiver(_) => APP as usize,
        }
    }

    /// Whether fault `f` hits station `s`.
    fn hits_station(&self, f: &Fault, s: usize) -> bool {
        match f.target {
            FaultTarget::Service(id) => s == 1 + id as usize,
            FaultTarget::Database => self.db.as_ref().is_some_and(|d| d.station as usize == s),
            FaultTarget::Server(_) | FaultTarget::AllServers | FaultTarget::Region { .. } => s == APP as usize,
            FaultTarget::Workloads | FaultTarget::Monitoring | FaultTarget::LogStore | FaultTarget::Receiver(_) => {
                false
            }
        }
    }

    /// Recomputes the effects of every fault in force on station `s`.
    fn recompute_station(&mut self, s: usize) {
        let n = self.stations[s].instances.len();
        let mut effects = FaultEffects::none(n);
        effects.query_factor = self.stations[s].faults.query_factor;
        let mut ok_share = 1.0;
        for fault in self.faults.in_force().filter(|f| self.hits_station(f, s)) {
            match &fault.kind {
                FaultKind::Outage => effects.outage = true,
                FaultKind::Timeouts { hang_ns } => effects.hang_ns = Some(effects.hang_ns.unwrap_or(0).max(*hang_ns)),
                FaultKind::Partition { from: (first, end), hang_ns } => {
                    effects.partitions.push(Partition { first: *first, end: *end, hang_ns: *hang_ns });
                }
                FaultKind::ErrorRate { rate } => ok_share *= 1.0 - rate,
                FaultKind::AddedLatency { latency } => effects.added_latency = Some(latency.clone()),
                FaultKind::Slowdown { factor } => {
                    for (i, x) in effects.slowdown.iter_mut().enumerate() {
                        if s != APP as usize || fault.target.hits_server(i) {
                            *x *= factor;
                        }
                    }
                }
                // What these do is not an effect on a station's calls.
                FaultKind::Crash
                | FaultKind::PrimaryCrash
                | FaultKind::DataLoss
                | FaultKind::ReplicationLag { .. }
                | FaultKind::SlowQueries { .. }
                | FaultKind::MemoryLeak { .. }
                | FaultKind::ConnectionLeak { .. }
                | FaultKind::TrafficSpike { .. }
                | FaultKind::RegionOutage
                | FaultKind::Ddos { .. }
                | FaultKind::CredentialStuffing { .. }
                | FaultKind::NotificationOutage => {}
            }
        }
        effects.error_rate = 1.0 - ok_share;
        effects.refresh_work_factor();
        self.stations[s].faults = effects;
    }

    /// Recomputes what the faults in force do to the monitoring system.
    fn recompute_monitoring(&mut self) {
        let (mut down, mut slow) = (false, 1.0);
        for fault in self.faults.in_force().filter(|f| f.target == FaultTarget::Monitoring) {
            match fault.kind {
                FaultKind::Outage => down = true,
                FaultKind::Slowdown { factor } => slow *= factor,
                // The loader allows only outages and slowdowns on `monitoring`.
                FaultKind::Timeouts { .. }
                | FaultKind::ErrorRate { .. }
                | FaultKind::AddedLatency { .. }
                | FaultKind::Crash
                | FaultKind::PrimaryCrash
                | FaultKind::DataLoss
                | FaultKind::ReplicationLag { .. }
                | FaultKind::SlowQueries { .. }
                | FaultKind::MemoryLeak { .. }
                | FaultKind::ConnectionLeak { .. }
                | FaultKind::TrafficSpike { .. }
                | FaultKind::RegionOutage
                | FaultKind::Partition { .. }
                | FaultKind::Ddos { .. }
                | FaultKind::CredentialStuffing { .. }
                | FaultKind::NotificationOutage => {}
            }
        }
        if let Some(m) = self.monitor.as_mut() {
            m.down = down;
            m.slow = slow;
        }
    }

    /// Recomputes whether receiver `r`'s channel is up, in every rule set's router.
    fn recompute_receiver(&mut self, r: u16) {
        let down = self.faults.in_force().any(|f| f.target == FaultTarget::Receiver(r));
        let Some(m) = self.monitor.as_mut() else { return };
        let Some(name) = m.spec.routing.receivers.get(r as usize).map(|x| x.name.clone()) else { return };
        for set in &mut m.sets {
            set.router.set_reachable(&name, !down);
        }
        m.committers.router.set_reachable(&name, !down);
    }

    /// Recomputes whether the log store is up.
    fn recompute_log_store(&mut self, now: SimTime) {
        let down = self.faults.in_force().any(|f| f.target == FaultTarget::LogStore);
        self.set_log_store_up(now, !down);
    }

    /// Recomputes the replicas' lag and the queries' slowdown.
    fn recompute_database(&mut self) {
        let Some(db) = self.db.as_ref() else { return };
        let (station, mut lag, mut slow) = (db.station as usize, db.spec.replication_lag_ns, 1.0);
        for fault in self.faults.in_force().filter(|f| self.hits_station(f, station)) {
            if let FaultKind::ReplicationLag { lag_ns } = fault.kind {
                lag = lag.max(lag_ns);
            }
            if let FaultKind::SlowQueries { factor } = fault.kind {
                slow *= factor;
            }
        }
        if let Some(db) = self.db.as_mut() {
            db.set_lag(lag);
        }
        let effects = &mut self.stations[station].faults;
        effects.query_factor = slow;
        effects.refresh_work_factor();
    }
}

/// Why a fault of `kind` cannot start mid-run, if it cannot: spikes and attacks shape the
/// arrivals, which are drawn when the run is built.
pub(crate) fn mid_run_refusal(kind: &FaultKind) -> Option<String> {
    match kind {
        FaultKind::TrafficSpike { .. } | FaultKind::Ddos { .. } | FaultKind::CredentialStuffing { .. } => {
            Some(format!(
                "a {} shapes the arrivals, which are drawn when the run is built; it cannot start mid-run \
             (put it in the scenario's [[faults]])",
                kind.name()
            ))
        }
        FaultKind::Slowdown { .. }
        | FaultKind::Outage
        | FaultKind::Timeouts { .. }
        | FaultKind::ErrorRate { .. }
        | FaultKind::AddedLatency { .. }
        | FaultKind::Crash
        | FaultKind::PrimaryCrash
        | FaultKind::DataLoss
        | FaultKind::ReplicationLag { .. }
        | FaultKind::SlowQueries { .. }
        | FaultKind::MemoryLeak { .. }
        | FaultKind::ConnectionLeak { .. }
        | FaultKind::RegionOutage
        | FaultKind::Partition { .. }
        | FaultKind::NotificationOutage => None,
    }
}

/// A workload with its traffic spikes folded into its stages: each spike multiplies the
/// rate in force over its window. Poisson arrivals stay exact across the boundaries.
pub fn with_spikes(w: &Workload, faults: &[Fault]) -> Workload {
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
    let factor_at = |t: u64| -> f64 {
        let factor = |f: &&Fault| if let FaultKind::TrafficSpike { factor } = f.kind { factor } else { 1.0 };
        spikes.iter().filter(|f| f.start_ns <= t && t < f.end_ns).map(factor).product()
    };
    let stages = times
        .into_iter()
        .map(|t| {
            let i = w.stages.partition_point(|s| s.at.as_nanos() <= t).saturating_sub(1);
            Stage { at: SimTime(t), rate: w.stages[i].rate * factor_at(t) }
        })
        .collect();
    Workload { name: w.name.clone(), arrivals: w.arrivals, stages }
}
