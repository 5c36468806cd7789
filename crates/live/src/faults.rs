//! The scenario's `[[faults]]` on the wall clock, for what live mode builds: a `slowdown`
//! of app servers stretches the work that starts while it is in force (by the product of
//! the factors in force, rounded as the simulation rounds it), a `crash` of app servers
//! kills every request on them and keeps them down for `[servers].restart_after` (a crash
//! of a server that is down already does nothing, as in the simulation), and a
//! `traffic_spike` of the workloads multiplies their rate over its window (the
//! simulation's own `prodsim_model::with_spikes` folds it into the workloads' stages). Fault
//! windows are scenario time, so they run on the live clock like everything else. Every
//! other kind is refused by name until live mode builds it.

use prodsim_kernel::SimTime;
use prodsim_parts::faults::{Fault, FaultKind, FaultTarget};

use crate::LiveError;

/// One slowdown window on the app servers.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Slowdown {
    target: FaultTarget,
    factor: f64,
    start_ns: u64,
    end_ns: u64,
}

/// What the scenario's faults do to the live app servers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveFaults {
    slowdowns: Vec<Slowdown>,
    /// When `crash` faults strike, and on which servers, in time order.
    crashes: Vec<(u64, FaultTarget)>,
    /// `[servers].restart_after`: how long a crashed server stays down.
    restart_ns: u64,
}

fn unsupported(fault: &Fault, why: &str) -> LiveError {
    LiveError::Unsupported {
        section: format!("[[faults]] kind `{}` on `{}`", fault.kind.name(), fault.target_name),
        why: why.to_string(),
    }
}

impl LiveFaults {
    /// The faults live mode applies, or the first it does not build yet; a crashed server
    /// is back `restart_ns` after its crash.
    pub fn of(faults: &[Fault], restart_ns: u64) -> Result<LiveFaults, LiveError> {
        let mut out = LiveFaults { restart_ns, ..LiveFaults::default() };
        for f in faults {
            let on_servers = matches!(f.target, FaultTarget::Server(_) | FaultTarget::AllServers);
            match f.kind {
                FaultKind::Slowdown { factor } if on_servers => {
                    out.slowdowns.push(Slowdown { target: f.target, factor, start_ns: f.start_ns, end_ns: f.end_ns });
                }
                FaultKind::Crash if on_servers => out.crashes.push((f.start_ns, f.target)),
                FaultKind::TrafficSpike { .. } if f.target == FaultTarget::Workloads => {}
                FaultKind::Slowdown { .. } | FaultKind::Crash | FaultKind::TrafficSpike { .. } => {
                    return Err(unsupported(
                        f,
                        "live mode applies slowdowns and crashes to app servers (`server-<i>`, `servers`) and spikes to workloads only",
                    ));
                }
                FaultKind::Outage
                | FaultKind::Timeouts { .. }
                | FaultKind::ErrorRate { .. }
                | FaultKind::AddedLatency { .. }
                | FaultKind::PrimaryCrash
                | FaultKind::ReplicationLag { .. }
                | FaultKind::SlowQueries { .. }
                | FaultKind::MemoryLeak { .. }
                | FaultKind::ConnectionLeak { .. }
                | FaultKind::RegionOutage
                | FaultKind::Partition { .. }
                | FaultKind::Ddos { .. }
                | FaultKind::CredentialStuffing { .. }
                | FaultKind::DataLoss
                | FaultKind::NotificationOutage => {
                    return Err(unsupported(
                        f,
                        "live mode builds `slowdown` and `crash` (app servers) and `traffic_spike` only so far",
                    ));
                }
            }
        }
        out.crashes.sort_by_key(|c| c.0);
        Ok(out)
    }

    /// The windows `[crash, restart)` in which app server `server` is down, in time order.
    pub fn downtimes(&self, server: usize) -> Vec<(SimTime, SimTime)> {
        let mut out: Vec<(SimTime, SimTime)> = Vec::new();
        for &(at_ns, target) in &self.crashes {
            let down_already = out.last().is_some_and(|w| at_ns < w.1.as_nanos());
            if target.hits_server(server) && !down_already {
                out.push((SimTime(at_ns), SimTime(at_ns.saturating_add(self.restart_ns))));
            }
        }
        out
    }

    /// Whether app server `server` is down (crashed, not restarted yet) at `at`.
    pub fn is_down(&self, server: usize, at: SimTime) -> bool {
        self.downtimes(server).iter().any(|&(from, to)| from <= at && at < to)
    }

    /// The factor stretching work that starts on app server `server` at `at`: the product
    /// of the slowdowns in force there (1 without any).
    pub fn work_factor(&self, server: usize, at: SimTime) -> f64 {
        let t = at.as_nanos();
        self.slowdowns
            .iter()
            .filter(|s| s.start_ns <= t && t < s.end_ns && s.target.hits_server(server))
            .map(|s| s.factor)
            .product()
    }

    /// `ns` of work stretched by `factor`, rounded as the simulation rounds it.
    pub fn stretch(ns: u64, factor: f64) -> u64 {
        if factor == 1.0 { ns } else { (ns as f64 * factor + 0.5) as u64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(kind: FaultKind, target: FaultTarget, start_ns: u64, end_ns: u64) -> Fault {
        Fault { kind, target, target_name: "x".into(), start_ns, end_ns }
    }

    #[test]
    fn slowdowns_multiply_in_their_window_on_their_servers() {
        let faults = [
            fault(FaultKind::Slowdown { factor: 2.0 }, FaultTarget::Server(1), 10, 20),
            fault(FaultKind::Slowdown { factor: 3.0 }, FaultTarget::AllServers, 15, 30),
        ];
        let f = LiveFaults::of(&faults, 0).expect("supported");
        assert_eq!(f.work_factor(1, SimTime(9)), 1.0);
        assert_eq!(f.work_factor(1, SimTime(10)), 2.0);
        assert_eq!(f.work_factor(1, SimTime(15)), 6.0);
        assert_eq!(f.work_factor(0, SimTime(15)), 3.0);
        assert_eq!(f.work_factor(1, SimTime(30)), 1.0);
        assert_eq!(LiveFaults::stretch(10, 2.5), 25);
    }

    #[test]
    fn a_crashed_server_is_down_until_its_restart_and_a_second_crash_meanwhile_does_nothing() {
        let faults = [
            fault(FaultKind::Crash, FaultTarget::Server(1), 100, 100),
            fault(FaultKind::Crash, FaultTarget::AllServers, 120, 120),
            fault(FaultKind::Crash, FaultTarget::Server(1), 200, 200),
        ];
        let f = LiveFaults::of(&faults, 50).expect("supported");
        assert_eq!(f.downtimes(1), vec![(SimTime(100), SimTime(150)), (SimTime(200), SimTime(250))]);
        assert_eq!(f.downtimes(0), vec![(SimTime(120), SimTime(170))]);
        assert!(!f.is_down(1, SimTime(99)) && f.is_down(1, SimTime(100)) && !f.is_down(1, SimTime(150)));
        assert!(f.is_down(0, SimTime(169)) && !f.is_down(0, SimTime(170)));
        assert!(!f.is_down(2, SimTime(100)) && f.is_down(2, SimTime(120)));
    }

    #[test]
    fn other_kinds_are_refused_by_name() {
        let e = LiveFaults::of(&[fault(FaultKind::Outage, FaultTarget::Database, 0, 1)], 0).expect_err("refused");
        assert!(e.to_string().starts_with("not yet: live mode does not support [[faults]] kind `outage`"), "{e}");
    }
}
