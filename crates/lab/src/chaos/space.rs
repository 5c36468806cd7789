//! The fault space of a scenario: every (fault kind, target) pair its own components can
//! suffer, and the app servers a partition may cut off.
//!
//! The space follows the loader's rules (`crates/scenario/src/validate/faults.rs`) exactly, so that
//! every fault generated from it is one the loader accepts for the same topology and
//! resolves to the same target: a service's index is its index in
//! [`Topology::services`](prodsim_scenario::topology::Topology::services) (`[services.*]` by
//! name, then `storage`), which is the order the loader numbers fault targets in.
//!
//! Choices are listed from the simplest kind to the most complex one (a slowdown before an
//! outage, an outage before a crash), and within a kind from the smallest blast radius to
//! the largest (one server before all of them), because proptest shrinks toward the first
//! choice: a shrunk counterexample then names the mildest fault that still breaks things.

use prodsim_parts::faults::FaultTarget;
use prodsim_scenario::Scenario;
use prodsim_scenario::topology::Topology;

/// Most `server-<i>` targets listed per kind: beyond a few servers, one more is no new
/// behaviour, only a bigger space.
pub const MAX_SERVER_CHOICES: u32 = 8;

/// Kind names from the simplest (a degradation) to the most complex (losing a region, an
/// attack); the choices follow this order.
const KIND_ORDER: [&str; 16] = [
    "slowdown",
    "added_latency",
    "error_rate",
    "timeouts",
    "slow_queries",
    "replication_lag",
    "traffic_spike",
    "outage",
    "memory_leak",
    "connection_leak",
    "partition",
    "crash",
    "primary_crash",
    "data_loss",
    "region_outage",
    "ddos",
];

/// Which faults a scenario's components can suffer.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpace {
    /// Every (kind, target) pair, simplest first.
    pub choices: Vec<Choice>,
    /// The app servers a `partition` may cut off; the smallest first.
    sources: Vec<PartitionSource>,
}

/// App servers a `partition` may cut off from a dependency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSource {
    /// As a scenario file names them: `server-2`, or `servers` for the whole pool.
    pub name: String,
    /// Their server range `first..end` by index, as
    /// [`FaultKind::Partition`](super::FaultKind::Partition)'s `from` takes it.
    pub from: (u32, u32),
}

/// One kind of fault on one target, e.g. `timeouts` on `payment_api`, `crash` on `server-2`.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The fault kind's name, as [`FaultKind::name`](super::FaultKind::name) gives it.
    pub kind: &'static str,
    /// What it hits, as the loader resolves the name.
    pub target: FaultTarget,
    /// The target as a scenario file names it (`server-2`, `servers`, `payment_api`, `db`,
    /// `workload`, a region's name, `monitoring`, `log_store`).
    pub target_name: String,
}

/// A target with its file name.
type Named = (FaultTarget, String);

impl FaultSpace {
    /// Builds the space from a validated scenario (its topology: app servers, services,
    /// third-party APIs, storage, database and replicas, regions, monitoring, logging, proxy).
    pub fn of(scenario: &Scenario) -> FaultSpace {
        let servers = scenario.servers.count;
        let shown = servers.min(MAX_SERVER_CHOICES);
        let single: Vec<Named> = (0..shown).map(|i| (FaultTarget::Server(i), format!("server-{i}"))).collect();
        let topology = &scenario.topology;
        // `servers` reaches every server the pool may ever have, as the loader resolves it.
        let pool_max = topology.scaling.as_ref().map_or(servers, |s| s.max.max(servers));
        let mut sources: Vec<PartitionSource> =
            (0..shown).map(|i| PartitionSource { name: format!("server-{i}"), from: (i, i + 1) }).collect();
        if pool_max > 1 {
            sources.push(PartitionSource { name: "servers".to_string(), from: (0, pool_max) });
        }
        let mut choices = Vec::new();
        for kind in KIND_ORDER {
            for (target, target_name) in targets_of(kind, scenario, topology, &single) {
                choices.push(Choice { kind, target, target_name });
            }
        }
        FaultSpace { choices, sources }
    }

    /// Whether the space has no choice at all.
    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }

    /// The distinct kind names in the space, in a fixed order (for the check summary).
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for c in &self.choices {
            if !out.contains(&c.kind) {
                out.push(c.kind);
            }
        }
        out
    }

    /// The distinct target names, in a fixed order.
    pub fn targets(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.choices {
            if !out.contains(&c.target_name) {
                out.push(c.target_name.clone());
            }
        }
        out
    }

    /// The app servers a `partition` may cut off, smallest first. Regions are not among them: a [`Fault`](super::Fault) keeps only the server
    /// range of its `from`, so a region's name could not be written back to a file.
    pub fn partition_sources(&self) -> &[PartitionSource] {
        &self.sources
    }
}

/// The targets `kind` may hit in this scenario, smallest blast radius first.
fn targets_of(kind: &str, scenario: &Scenario, topology: &Topology, single: &[Named]) -> Vec<Named> {
    let database = topology.database.as_ref();
    let mut servers: Vec<Named> = single.to_vec();
    servers.push((FaultTarget::AllServers, "servers".to_string()));
    servers.extend(regions(topology));
    let services: Vec<Named> = topology
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| u16::try_from(i).ok().map(|i| (FaultTarget::Service(i), s.name.clone())))
        .collect();
    let mut dependencies = services.clone();
    if database.is_some() {
        dependencies.push((FaultTarget::Database, "db".to_string()));
    }
    let db: Vec<Named> = dependencies.iter().filter(|(t, _)| *t == FaultTarget::Database).cloned().collect();
    let monitoring = topology.monitoring.is_some().then(|| (FaultTarget::Monitoring, "monitoring".to_string()));
    let log_store = topology.logging.is_some().then(|| (FaultTarget::LogStore, "log_store".to_string()));
    let workload = vec![(FaultTarget::Workloads, "workload".to_string())];
    match kind {
        "slowdown" => servers.into_iter().chain(services).chain(monitoring).collect(),
        "added_latency" | "error_rate" | "timeouts" => dependencies,
        "outage" => dependencies.into_iter().chain(monitoring).chain(log_store).collect(),
        // Partitions need a server range to cut off; the schedule picks it.
        "partition" if scenario.servers.count > 0 => dependencies,
        "slow_queries" | "primary_crash" => db,
        // Data can be lost only where a backup can bring it back (the loader's rule).
        "data_loss" if topology.backups.is_some() => db,
        "replication_lag" if database.is_some_and(|d| d.replicas >= 1) => db,
        "memory_leak" | "crash" => servers,
        "connection_leak" if database.is_some() => servers,
        "traffic_spike" => workload,
        // An attack is interesting only where something can stop it: a proxy's per-client
        // rate limit. Without one it is a traffic spike with extra steps.
        "ddos" if topology.edge.proxy.as_ref().is_some_and(|p| p.rate_limit.is_some()) => workload,
        // Losing the only region is losing everything; a region outage needs another to
        // fail over to.
        "region_outage" => {
            let r = regions(topology);
            if r.len() >= 2 { r } else { Vec::new() }
        }
        _ => Vec::new(),
    }
}

/// The regions as targets, in file order, as the loader resolves their names.
fn regions(topology: &Topology) -> Vec<Named> {
    let Some(network) = &topology.network else { return Vec::new() };
    network
        .regions
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let index = u16::try_from(i).ok()?;
            let target = FaultTarget::Region { index, first: r.first_server, end: r.first_server + r.servers };
            Some((target, r.name.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Scenario {
        match prodsim_scenario::load_str(text, Path::new("x.toml")) {
            Ok(l) => l.scenario,
            Err(e) => panic!("scenario does not load: {e:?}"),
        }
    }

    fn has(space: &FaultSpace, kind: &str, target: &str) -> bool {
        space.choices.iter().any(|c| c.kind == kind && c.target_name == target)
    }

    #[test]
    fn payment_outage_space() {
        let s = load(include_str!("../../../../scenarios/payment-outage.toml"));
        let space = FaultSpace::of(&s);
        assert!(has(&space, "timeouts", "payment_api"));
        assert!(has(&space, "crash", "server-0"));
        assert!(has(&space, "primary_crash", "db"));
        assert!(has(&space, "replication_lag", "db"));
        assert!(has(&space, "outage", "storage"));
        assert!(has(&space, "outage", "monitoring"));
        assert!(has(&space, "connection_leak", "servers"));
        assert!(!has(&space, "outage", "log_store"), "no [logging]");
        assert!(!space.kinds().contains(&"region_outage"));
        assert!(!space.kinds().contains(&"ddos"), "no proxy rate limit");
        assert!(!has(&space, "slowdown", "db"), "the loader refuses a slowdown on db");
        assert_eq!(space.kinds()[0], "slowdown");
        assert_eq!(space.choices[0].target_name, "server-0");
        // Service targets are the loader's indices: topology order, storage last.
        let t: Vec<String> = s.topology.services.iter().map(|s| s.name.clone()).collect();
        assert_eq!(t, ["notification", "payment_api", "recommendations", "search", "storage"].map(String::from));
        let pay = space.choices.iter().find(|c| c.target_name == "payment_api").map(|c| c.target);
        assert_eq!(pay, Some(FaultTarget::Service(1)));
        assert_eq!(
            space.partition_sources().last(),
            Some(&PartitionSource { name: "servers".to_string(), from: (0, 8) })
        );
    }

    #[test]
    fn an_app_pool_alone_suffers_server_faults_and_traffic() {
        let s = load(include_str!("../../../../scenarios/quickstart.toml"));
        let space = FaultSpace::of(&s);
        assert_eq!(space.kinds(), vec!["slowdown", "traffic_spike", "memory_leak", "crash"]);
        assert_eq!(space.targets(), vec!["server-0", "server-1", "server-2", "server-3", "servers", "workload"]);
        assert!(!space.is_empty());
    }

    #[test]
    fn regions_are_targets() {
        let s = load(include_str!("../../../../scenarios/region-outage.toml"));
        let space = FaultSpace::of(&s);
        let regions: Vec<&str> =
            space.choices.iter().filter(|c| c.kind == "region_outage").map(|c| c.target_name.as_str()).collect();
        assert!(regions.len() >= 2, "{regions:?}");
        assert!(space.choices.iter().any(|c| c.kind == "crash" && matches!(c.target, FaultTarget::Region { .. })));
    }

    #[test]
    fn ddos_needs_a_rate_limit() {
        let s = load(include_str!("../../../../scenarios/ddos.toml"));
        assert!(FaultSpace::of(&s).kinds().contains(&"ddos"));
    }
}
