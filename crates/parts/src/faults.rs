//! Fault kinds, targets and windows.

use prodsim_kernel::Dist;

/// Fault kinds a scenario may name that are planned but not built yet; naming one is a
/// clear "not yet" error rather than a silently ignored key.
pub const PLANNED_KINDS: [&str; 0] = [];

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// The target works slower: each piece of work that starts during the window takes
    /// `factor` times as long (CPU contention, a noisy neighbour, a bad disk).
    Slowdown {
        /// Work time multiplier, > 0 (2.0 = twice as slow).
        factor: f64,
    },
    /// The target refuses every call at once (connection refused, HTTP 503).
    Outage,
    /// The target stops answering: calls hang for `hang_ns`, then the connection drops.
    /// Only a caller's timeout frees the caller earlier.
    Timeouts {
        /// How long a call hangs.
        hang_ns: u64,
    },
    /// A share of calls to the target fail.
    ErrorRate {
        /// Probability that a call fails, 0 to 1.
        rate: f64,
    },
    /// Every call to the target takes this much longer.
    AddedLatency {
        /// The added time.
        latency: Dist,
    },
    /// An app server's process dies; its supervisor restarts it after
    /// `[servers].restart_after`.
    Crash,
    /// The database primary dies; a replica takes over after `[database].failover_after`.
    PrimaryCrash,
    /// The database's data is destroyed (a dropped table, a corrupting bug: it replicates,
    /// so no failover saves it); the database is down until it is restored from the last
    /// backup (`[backups]`), and the writes since that backup are lost.
    DataLoss,
    /// The replicas fall this far behind the primary.
    ReplicationLag {
        /// The lag during the window.
        lag_ns: u64,
    },
    /// Database queries take `factor` times as long.
    SlowQueries {
        /// Query time multiplier.
        factor: f64,
    },
    /// App servers leak memory; one that reaches its limit is killed (out of memory) and
    /// restarted.
    MemoryLeak {
        /// MiB leaked per second.
        mb_per_s: f64,
    },
    /// App servers leak database pool connections, which come back when the window ends
    /// (the leak is fixed) or the server restarts.
    ConnectionLeak {
        /// Connections leaked per second, per server.
        per_s: f64,
    },
    /// The offered load is multiplied (a flash crowd, a marketing email, a retry storm
    /// from a client).
    TrafficSpike {
        /// Arrival rate multiplier.
        factor: f64,
    },
    /// Every app server of a region goes down together (a data center or cloud region
    /// lost) and comes back when the window ends; its supervisor cannot restart it
    /// earlier.
    RegionOutage,
    /// The network between some app servers (`from`) and a dependency drops every packet:
    /// calls from those servers hang for `hang_ns`, then the connection drops. Other
    /// servers still reach the dependency.
    Partition {
        /// The app servers cut off, `first..end` by index.
        from: (u32, u32),
        /// How long a call hangs before its connection drops.
        hang_ns: u64,
    },
    /// A distributed denial of service: malicious requests from `clients` attacking
    /// clients arrive at `rate` a second on top of the workloads.
    Ddos {
        /// Attack requests per second.
        rate: f64,
        /// Distinct attacking clients (few: the per-client rate limit catches them).
        clients: u32,
    },
    /// Credential stuffing: login attempts with leaked passwords from `clients` attacking
    /// clients arrive at `rate` a second on top of the workloads, all of login class
    /// `class`; `failure_ratio` of the served ones fail.
    CredentialStuffing {
        /// Extra login attempts per second.
        rate: f64,
        /// Distinct attacking clients (many: a botnet).
        clients: u32,
        /// The login class attacked (index into the scenario's classes).
        class: u16,
        /// Share of the served attempts that fail.
        failure_ratio: f64,
    },
    /// A notification channel is down (Slack, the SMS gateway, the paging service): every
    /// notification to the target receiver fails. The router keeps no record of a failed
    /// notification, so it is sent again at the group's next tick, and a receiver's
    /// `fallback` gets it at once.
    NotificationOutage,
}

impl FaultKind {
    /// The kind's name as written in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Slowdown { .. } => "slowdown",
            FaultKind::Outage => "outage",
            FaultKind::Timeouts { .. } => "timeouts",
            FaultKind::ErrorRate { .. } => "error_rate",
            FaultKind::AddedLatency { .. } => "added_latency",
            FaultKind::Crash => "crash",
            FaultKind::PrimaryCrash => "primary_crash",
            FaultKind::DataLoss => "data_loss",
            FaultKind::ReplicationLag { .. } => "replication_lag",
            FaultKind::SlowQueries { .. } => "slow_queries",
            FaultKind::MemoryLeak { .. } => "memory_leak",
            FaultKind::ConnectionLeak { .. } => "connection_leak",
            FaultKind::TrafficSpike { .. } => "traffic_spike",
            FaultKind::RegionOutage => "region_outage",
            FaultKind::Partition { .. } => "partition",
            FaultKind::Ddos { .. } => "ddos",
            FaultKind::CredentialStuffing { .. } => "credential_stuffing",
            FaultKind::NotificationOutage => "notification_outage",
        }
    }

    /// The kind's parameters in a few words, for reports ("work ×4", "rate 30%").
    pub fn describe(&self) -> String {
        let secs = |ns: u64| prodsim_kernel::units::format_duration(ns);
        match self {
            FaultKind::Slowdown { factor } => format!("work ×{factor}"),
            FaultKind::Outage => "refuses every call".to_string(),
            FaultKind::Timeouts { hang_ns } => format!("calls hang {}", secs(*hang_ns)),
            FaultKind::ErrorRate { rate } => format!("{}% of calls fail", rate * 100.0),
            FaultKind::AddedLatency { latency } => format!("+{latency} per call"),
            FaultKind::Crash => "process dies, supervisor restarts it".to_string(),
            FaultKind::PrimaryCrash => "primary dies, replica takes over".to_string(),
            FaultKind::DataLoss => "data destroyed, restored from the last backup".to_string(),
            FaultKind::ReplicationLag { lag_ns } => format!("replicas {} behind", secs(*lag_ns)),
            FaultKind::SlowQueries { factor } => format!("queries ×{factor}"),
            FaultKind::MemoryLeak { mb_per_s } => format!("leaks {mb_per_s} MiB/s"),
            FaultKind::ConnectionLeak { per_s } => format!("leaks {per_s} connections/s"),
            FaultKind::TrafficSpike { factor } => format!("traffic ×{factor}"),
            FaultKind::RegionOutage => "every server of the region down".to_string(),
            FaultKind::Partition { from: (first, end), hang_ns } => {
                format!("unreachable from server-{first}…server-{}, calls hang {}", end - 1, secs(*hang_ns))
            }
            FaultKind::Ddos { rate, clients } => format!("{rate} attack requests/s from {clients} clients"),
            FaultKind::CredentialStuffing { rate, clients, failure_ratio, .. } => {
                format!("{rate} login attempts/s from {clients} clients, {}% fail", failure_ratio * 100.0)
            }
            FaultKind::NotificationOutage => "notifications to it fail".to_string(),
        }
    }

    /// Every kind that is built, by name.
    pub const BUILT: [&'static str; 18] = [
        "slowdown",
        "outage",
        "timeouts",
        "error_rate",
        "added_latency",
        "crash",
        "primary_crash",
        "data_loss",
        "replication_lag",
        "slow_queries",
        "memory_leak",
        "connection_leak",
        "traffic_spike",
        "region_outage",
        "partition",
        "ddos",
        "notification_outage",
        "credential_stuffing",
    ];
}

/// What a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// One app server, by index (`server-<index>` in files and reports).
    Server(u32),
    /// Every app server (`servers`).
    AllServers,
    /// A service, third-party API or the storage, by index into the topology's services.
    Service(u16),
    /// The database (`db`).
    Database,
    /// Every workload (`workload`).
    Workloads,
    /// The monitoring system itself (`monitoring`): Prometheus and its rule evaluation.
    Monitoring,
    /// The external log store (`log_store`).
    LogStore,
    /// The app servers of a region (the region's name): servers `first..end`.
    Region {
        /// Index of the region in `[[regions]]`.
        index: u16,
        /// Its first server.
        first: u32,
        /// One past its last server.
        end: u32,
    },
    /// A notification receiver of `[routing]`, by index into its receivers (the
    /// receiver's name in files; `receiver-<index>` without the names).
    Receiver(u16),
}

impl FaultTarget {
    /// Whether the fault applies to server `index`.
    pub fn hits_server(&self, index: usize) -> bool {
        match *self {
            FaultTarget::Server(i) => i as usize == index,
            FaultTarget::AllServers => true,
            FaultTarget::Region { first, end, .. } => (first as usize..end as usize).contains(&index),
            _ => false,
        }
    }

    /// The target's name as written in scenario files and reports; `services` names the
    /// topology's services.
    pub fn name_with(&self, services: &[String]) -> String {
        match self {
            FaultTarget::Service(i) => services.get(*i as usize).cloned().unwrap_or_else(|| format!("service-{i}")),
            other => other.name(),
        }
    }

    /// The target's name, without service names (`service-<index>` for a service).
    pub fn name(&self) -> String {
        match self {
            FaultTarget::Server(i) => format!("server-{i}"),
            FaultTarget::AllServers => "servers".to_string(),
            FaultTarget::Service(i) => format!("service-{i}"),
            FaultTarget::Database => "db".to_string(),
            FaultTarget::Workloads => "workload".to_string(),
            FaultTarget::Monitoring => "monitoring".to_string(),
            FaultTarget::LogStore => "log_store".to_string(),
            FaultTarget::Region { index, .. } => format!("region-{index}"),
            FaultTarget::Receiver(i) => format!("receiver-{i}"),
        }
    }
}

/// A fault in force from `start_ns` until `end_ns` (exclusive).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// What it hits.
    pub target: FaultTarget,
    /// The target as the file named it (for reports).
    pub target_name: String,
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
        assert!(!FaultTarget::Database.hits_server(0));
        assert_eq!(FaultTarget::Server(3).name(), "server-3");
        assert_eq!(FaultTarget::Service(1).name_with(&["a".into(), "pay".into()]), "pay");
        assert_eq!(FaultKind::Slowdown { factor: 2.0 }.name(), "slowdown");
        assert!(!PLANNED_KINDS.iter().any(|k| FaultKind::BUILT.contains(k)));
    }
}
