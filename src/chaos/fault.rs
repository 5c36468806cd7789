//! Fault kinds, targets and windows.

/// Fault kinds a scenario may name that are planned but not built yet; naming one is a
/// clear "not yet" error rather than a silently ignored key.
pub const PLANNED_KINDS: [&str; 13] = [
    "outage",
    "error_rate",
    "added_latency",
    "crash",
    "region_outage",
    "partition",
    "primary_crash",
    "replication_lag",
    "slow_queries",
    "memory_leak",
    "connection_leak",
    "traffic_spike",
    "ddos",
];

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// The target serves slower: each service time that starts during the window is
    /// multiplied by `factor` (CPU contention, a noisy neighbour, a bad disk).
    Slowdown {
        /// Service time multiplier, > 0 (2.0 = twice as slow).
        factor: f64,
    },
}

impl FaultKind {
    /// The kind's name as written in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Slowdown { .. } => "slowdown",
        }
    }

    /// Every kind that is built, by name.
    pub const BUILT: [&'static str; 1] = ["slowdown"];
}

/// What a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// One app server, by index (`server-<index>` in files and reports).
    Server(u32),
    /// Every app server (`servers`).
    AllServers,
}

impl FaultTarget {
    /// Whether the fault applies to server `index`.
    pub fn hits_server(&self, index: usize) -> bool {
        match *self {
            FaultTarget::Server(i) => i as usize == index,
            FaultTarget::AllServers => true,
        }
    }

    /// The target's name as written in scenario files and reports.
    pub fn name(&self) -> String {
        match self {
            FaultTarget::Server(i) => format!("server-{i}"),
            FaultTarget::AllServers => "servers".to_string(),
        }
    }
}

/// A fault in force from `start_ns` until `end_ns` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// What it hits.
    pub target: FaultTarget,
    /// When it starts, in nanoseconds.
    pub start_ns: u64,
    /// When it ends, in nanoseconds (the run's end when the file gives no duration).
    pub end_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_names() {
        assert!(FaultTarget::Server(2).hits_server(2));
        assert!(!FaultTarget::Server(2).hits_server(1));
        assert!(FaultTarget::AllServers.hits_server(7));
        assert_eq!(FaultTarget::Server(3).name(), "server-3");
        assert_eq!(FaultKind::Slowdown { factor: 2.0 }.name(), "slowdown");
        assert!(!PLANNED_KINDS.iter().any(|k| FaultKind::BUILT.contains(k)));
    }
}
