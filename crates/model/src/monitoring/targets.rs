//! What the monitoring stack scrapes and evaluates: the scrape targets laid out over the
//! run's stations, one rule evaluator and Alertmanager router per rule set, and the
//! samples of the database's queries and of the business (orders, revenue).

use prodsim_parts::ops::routing::Router;
use prodsim_parts::ops::rules::{Rule, RuleEngine};
use prodsim_scenario::monitoring::MonitoringSpec;
use prodsim_scenario::topology::Topology;

use super::{SetState, Slot};
use crate::engine::Engine;
use crate::measure::metrics::{AUTH_OUTCOMES, DB_OPS};
use crate::station::StationKind;

/// One scrape target.
#[derive(Clone, Debug)]
pub(crate) struct ScrapeTarget {
    pub(super) job: String,
    pub(super) instance: String,
    /// The `service` label of its HTTP metrics.
    pub(super) service: String,
    pub(super) kind: TargetKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TargetKind {
    Balancer,
    /// Instance `i` of station `s`.
    Station(usize, usize),
    RetryQueue,
    Payments,
}

/// A target named `name` alike in job, instance and service.
fn single(name: &str, kind: TargetKind) -> ScrapeTarget {
    ScrapeTarget { job: name.into(), instance: name.into(), service: name.into(), kind }
}

/// The balancer, every instance of `stations` (name, kind, instances), then the retry queue
/// and the payment ledger where `topology` has them; with the first target of each station.
pub(super) fn scrape_targets(
    topology: &Topology,
    stations: &[(String, StationKind, usize)],
) -> (Vec<ScrapeTarget>, Vec<usize>) {
    let mut targets = vec![single("lb", TargetKind::Balancer)];
    let mut station_base = Vec::with_capacity(stations.len());
    for (s, (name, kind, n)) in stations.iter().enumerate() {
        station_base.push(targets.len());
        let (job, prefix) = match kind {
            StationKind::App => ("app", "server"),
            StationKind::Database => ("db", "db"),
            StationKind::Service(_) => (name.as_str(), name.as_str()),
        };
        let service = if *kind == StationKind::App { "app" } else { name.as_str() };
        targets.extend((0..*n).map(|i| ScrapeTarget {
            job: job.to_string(),
            instance: format!("{prefix}-{i}"),
            service: service.to_string(),
            kind: TargetKind::Station(s, i),
        }));
    }
    if topology.retry_queue.is_some() {
        targets.push(single("retry-queue", TargetKind::RetryQueue));
    }
    if topology.classes.iter().any(|c| c.payment.is_some()) {
        targets.push(ScrapeTarget { instance: "ledger".into(), ..single("payments", TargetKind::Payments) });
    }
    (targets, station_base)
}

/// One evaluator and router per rule set of `spec`. Two sets may share alert names, so with
/// more than one set each rule carries a `set` label that keeps their `ALERTS` series and
/// notifications apart.
pub(super) fn rule_sets(spec: &MonitoringSpec) -> Vec<SetState> {
    let multi = spec.sets.len() > 1;
    spec.sets
        .iter()
        .map(|set| {
            let rules = set
                .rules
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    if multi {
                        r.labels.insert("set".into(), set.name.clone());
                    }
                    Rule::Alert(r)
                })
                .collect();
            SetState {
                name: set.name.clone(),
                engine: RuleEngine::new(rules),
                router: Router::new(spec.routing.clone()),
                notifications: Vec::new(),
            }
        })
        .collect()
}

impl Engine {
    /// `db_query_duration_seconds` of database target `t`, every op.
    pub(super) fn query_samples(&self, t: usize, out: &mut Vec<(Slot, f64)>) {
        let c = &self.measure.counters;
        for op in 0..DB_OPS.len() {
            let count = super::push_buckets(out, c.query_histogram(t, op), |b| Slot::DbBucket(op as u8, b));
            out.push((Slot::DbSum(op as u8), c.query_sum_seconds(t, op)));
            out.push((Slot::DbCount(op as u8), count as f64));
        }
    }

    /// `orders_total` of the payment classes, `revenue_total` of the classes that earn and
    /// `signups_total` of the signup classes, `auth_attempts_total` of the login classes.
    pub(super) fn sales_samples(&self, out: &mut Vec<(Slot, f64)>) {
        let (c, classes) = (&self.measure.counters, &self.flow.classes);
        for class in 0..c.orders.len() {
            if classes.payment[class].is_some() {
                out.push((Slot::Orders(class as u16), c.orders[class] as f64));
            }
            if classes.revenue[class] > 0.0 {
                out.push((Slot::Revenue(class as u16), c.revenue[class]));
            }
            if classes.signup[class] {
                out.push((Slot::Signups(class as u16), c.signups[class] as f64));
            }
            if classes.login[class].is_some() {
                for o in 0..AUTH_OUTCOMES.len() {
                    let v = c.auth[class * AUTH_OUTCOMES.len() + o] as f64;
                    out.push((Slot::Auth(class as u16, o as u8), v));
                }
            }
        }
    }
}

/// The host series node_exporter would report for an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Host {
    /// `node_network_receive_bytes_total`.
    NetReceive,
    /// `node_network_transmit_bytes_total`.
    NetTransmit,
    /// `node_filesystem_size_bytes`.
    FsSize,
    /// `node_filesystem_avail_bytes`.
    FsAvail,
}

impl Host {
    /// The family name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Host::NetReceive => "node_network_receive_bytes_total",
            Host::NetTransmit => "node_network_transmit_bytes_total",
            Host::FsSize => "node_filesystem_size_bytes",
            Host::FsAvail => "node_filesystem_avail_bytes",
        }
    }

    /// Its one label: the network device, or the database volume's mount point.
    pub(super) fn label(self) -> (&'static str, &'static str) {
        match self {
            Host::NetReceive | Host::NetTransmit => ("device", "eth0"),
            Host::FsSize | Host::FsAvail => ("mountpoint", "/var/lib/db"),
        }
    }
}
