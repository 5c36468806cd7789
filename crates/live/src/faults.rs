//! The scenario's `[[faults]]` on the wall clock, for what live mode builds: a `slowdown`
//! of app servers stretches the work that starts while it is in force (by the product of
//! the factors in force, rounded as the simulation rounds it), and a `traffic_spike` of the
//! workloads multiplies their rate over its window (the simulation's own
//! `prodsim_model::with_spikes` folds it into the workloads' stages). Fault windows are
//! scenario time, so they run on the live clock like everything else. Every other kind is
//! refused by name until live mode builds it.

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
}

fn unsupported(fault: &Fault, why: &str) -> LiveError {
    LiveError::Unsupported {
        section: format!("[[faults]] kind `{}` on `{}`", fault.kind.name(), fault.target_name),
        why: why.to_string(),
    }
}

impl LiveFaults {
    /// The faults live mode applies, or the first it does not build yet.
    pub fn of(faults: &[Fault]) -> Result<LiveFaults, LiveError> {
        let mut out = LiveFaults::default();
        for f in faults {
            let on_servers = matches!(f.target, FaultTarget::Server(_) | FaultTarget::AllServers);
            match f.kind {
                FaultKind::Slowdown { factor } if on_servers => {
                    out.slowdowns.push(Slowdown { target: f.target, factor, start_ns: f.start_ns, end_ns: f.end_ns });
                }
                FaultKind::TrafficSpike { .. } if f.target == FaultTarget::Workloads => {}
                FaultKind::Slowdown { .. } | FaultKind::TrafficSpike { .. } => {
                    return Err(unsupported(
                        f,
                        "live mode applies slowdowns to app servers and spikes to workloads only",
                    ));
                }
                FaultKind::Outage
                | FaultKind::Timeouts { .. }
                | FaultKind::ErrorRate { .. }
                | FaultKind::AddedLatency { .. }
                | FaultKind::Crash
                | FaultKind::PrimaryCrash
                | FaultKind::ReplicationLag { .. }
                | FaultKind::SlowQueries { .. }
                | FaultKind::MemoryLeak { .. }
                | FaultKind::ConnectionLeak { .. }
                | FaultKind::RegionOutage
                | FaultKind::Partition { .. }
                | FaultKind::Ddos { .. }
                | FaultKind::DataLoss
                | FaultKind::NotificationOutage => {
                    return Err(unsupported(
                        f,
                        "live mode builds `slowdown` (app servers) and `traffic_spike` only so far",
                    ));
                }
            }
        }
        Ok(out)
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
        let f = LiveFaults::of(&faults).expect("supported");
        assert_eq!(f.work_factor(1, SimTime(9)), 1.0);
        assert_eq!(f.work_factor(1, SimTime(10)), 2.0);
        assert_eq!(f.work_factor(1, SimTime(15)), 6.0);
        assert_eq!(f.work_factor(0, SimTime(15)), 3.0);
        assert_eq!(f.work_factor(1, SimTime(30)), 1.0);
        assert_eq!(LiveFaults::stretch(10, 2.5), 25);
    }

    #[test]
    fn other_kinds_are_refused_by_name() {
        let e = LiveFaults::of(&[fault(FaultKind::Crash, FaultTarget::Server(0), 0, 1)]).expect_err("refused");
        assert!(e.to_string().starts_with("not yet: live mode does not support [[faults]] kind `crash`"), "{e}");
    }
}
