//! What the architecture did: per class and region, per component, the ledger, the
//! database, the retry queue, the cost; and how a finished engine becomes an [`Outcome`].

use prodsim_kernel::{RunStats, SimTime, units};
use prodsim_parts::resilience::LedgerTotals;
use prodsim_scenario::Scenario;

use super::{
    DeliveryOutcome, LoggingOutcome, MaliciousOutcome, MonitoringOutcome, ProxyOutcome, ScalingOutcome, ServerStats,
};
use crate::engine::{APP, Engine};
use crate::measure::recorder::{ClassStats, GroupRow};
use crate::outcome::{ComponentRow, Latency, Outcome, RequestCounts};
use crate::station::Station;

/// Per-class results.
#[derive(Clone, Debug)]
pub struct ClassOutcome {
    /// Class name.
    pub name: String,
    /// Fates of measured requests.
    pub requests: RequestCounts,
    /// Latency of measured completions.
    pub latency: Latency,
    /// Completions that went on without a failed dependency.
    pub degraded: u64,
    /// Completions answered "accepted", their payment deferred to the retry queue.
    pub deferred: u64,
}

/// One component (a station: app servers, a service, the storage, the database).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComponentOutcome {
    /// Name: `servers`, a service name, `storage`, `db`.
    pub name: String,
    /// `app`, `internal`, `third_party`, `storage`, `database`.
    pub kind: String,
    /// Instances.
    pub instances: u32,
    /// Busy share of workers over the measured run (`None` when workers are unlimited).
    pub utilization: Option<f64>,
    /// Mean number of waiting tasks over the measured run.
    pub mean_queue_length: f64,
    /// Longest queue on one instance.
    pub peak_queue: u64,
    /// Calls made to it (every attempt, retries and hedges included).
    pub calls: u64,
    /// First attempts (calls as the callers' code made them).
    pub first_attempts: u64,
    /// Retries.
    pub retries: u64,
    /// Hedged copies sent.
    pub hedges: u64,
    /// Attempts that failed with an error or refusal.
    pub errors: u64,
    /// Attempts whose caller's timeout fired first.
    pub timeouts: u64,
    /// Calls refused because the circuit breaker was open.
    pub breaker_rejections: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Retries the retry budget refused.
    pub budget_denied: u64,
}

impl ComponentOutcome {
    /// Attempts per first attempt: how much retries and hedges multiplied the load.
    pub fn amplification(&self) -> Option<f64> {
        (self.first_attempts > 0).then(|| self.calls as f64 / self.first_attempts as f64)
    }
}

/// The database's own numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DatabaseOutcome {
    /// Reads served by a replica.
    pub replica_reads: u64,
    /// Of those, reads of a row written more recently than the replica's lag.
    pub stale_reads: u64,
    /// Queries that gave up waiting for a pool connection.
    pub pool_timeouts: u64,
    /// Failovers completed.
    pub failovers: u64,
    /// The largest lag of the replicas behind the primary during the run, ns.
    pub max_replication_lag_ns: u64,
    /// Bytes of data on the primary's volume at the end.
    pub data_bytes: u64,
    /// Size of each instance's volume.
    pub disk_bytes: u64,
    /// Writes that failed because the primary's disk was full.
    pub disk_full_writes: u64,
    /// Queries longer than `[database] slow_query` (0 without it).
    pub slow_queries: u64,
}

/// The retry queue's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RetryQueueOutcome {
    /// Items put on it.
    pub enqueued: u64,
    /// Items it completed.
    pub drained: u64,
    /// Items still on it at the end.
    pub remaining: u64,
    /// Longest it got.
    pub peak: u64,
    /// Items lost with a crashed server (a non-durable queue).
    pub dropped: u64,
}

/// The run's infrastructure cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostOutcome {
    /// Instance-hours priced, summed over components.
    pub infrastructure: f64,
    /// Third-party calls priced.
    pub calls: f64,
}

impl CostOutcome {
    /// Everything.
    pub fn total(&self) -> f64 {
        self.infrastructure + self.calls
    }
}

/// What every part of the architecture did.
#[derive(Clone, Debug)]
pub struct SystemOutcome {
    /// One per class, in file order.
    pub classes: Vec<ClassOutcome>,
    /// One per region of the users, in file order (empty without `[[regions]]`); the
    /// latency includes the network.
    pub regions: Vec<ClassOutcome>,
    /// Completions degraded, over all classes.
    pub degraded: u64,
    /// Completions deferred, over all classes.
    pub deferred: u64,
    /// The payment ledger.
    pub payments: LedgerTotals,
    /// Fallbacks, reconciliation and backups, where the scenario has them.
    pub recovery: super::RecoveryOutcome,
    /// One per component: app servers, then services by name, then the database.
    pub components: Vec<ComponentOutcome>,
    /// The database, if any.
    pub database: Option<DatabaseOutcome>,
    /// The retry queue, if any.
    pub retry_queue: Option<RetryQueueOutcome>,
    /// App server crashes (faults and out-of-memory kills).
    pub crashes: u64,
    /// Of those, out-of-memory kills.
    pub oom_kills: u64,
    /// Cost of the run.
    pub cost: CostOutcome,
    /// The reverse proxy, if any.
    pub proxy: Option<ProxyOutcome>,
    /// Malicious requests, if the scenario has any.
    pub malicious: Option<MaliciousOutcome>,
    /// What the app server pool did, when it could change (`[autoscaling]`, `[[actions]]`).
    pub scaling: Option<ScalingOutcome>,
    /// Per-component time series: for each report interval, one row per component in
    /// `components` order.
    pub series: Vec<ComponentRow>,
    /// With a retry queue: the items waiting on it at the end of each report interval, one
    /// per interval (empty without one).
    pub retry_queue_depth: Vec<u64>,
    /// Per class and report interval: for each row, one per class in class order (empty
    /// with one class, whose numbers are the rows').
    pub class_rows: Vec<GroupRow>,
    /// Per region and report interval: for each row, one per region in file order (empty
    /// without `[[regions]]`).
    pub region_rows: Vec<GroupRow>,
    /// Metrics, alerts, notifications and their quality, when monitoring is on.
    pub monitoring: Option<Box<MonitoringOutcome>>,
    /// Log counts, kept entries and client errors, with `[logging]`.
    pub logging: Option<LoggingOutcome>,
    /// Releases, pages and playbook actions, with `[pipeline]`, `[[deploys]]`, `[oncall]`
    /// or `[[playbooks]]`.
    pub delivery: Option<DeliveryOutcome>,
}

impl Engine {
    /// Turns the finished engine into an outcome.
    pub(crate) fn into_outcome(mut self, scenario: &Scenario, seed: u64, stats: RunStats) -> Outcome {
        let end = stats.end;
        self.measure.recorder.finish(end, &self.stations[APP as usize].instances);
        self.finish_series(end);
        let servers = self.server_stats(scenario, end);
        let scaling = self.scaling.outcome(end);
        let (components, mut cost) = self.components(scaling, end);
        let recovery = self.recovery.outcome(end);
        // Backups are infrastructure: storage and transfer.
        cost.infrastructure += recovery.backups.map_or(0.0, |b| b.cost);
        if self.deferral.spec.is_some() {
            self.deferral.stats.remaining = self.deferral.items.len() as u64;
            self.deferral.stats.peak = self.deferral.items.peak() as u64;
        }
        let (proxy, malicious) = match self.edge.as_deref() {
            Some(e) => {
                let (p, m) = e.outcome(end);
                (p, e.has_malicious().then_some(m))
            }
            None => (None, None),
        };
        let logging = self.logging_outcome(end);
        let delivery = crate::delivery::incidents::outcome(self.delivery.as_deref(), self.response.as_deref());
        let monitoring = self.monitoring_outcome(scenario, delivery.as_ref(), end);
        let mut r = self.measure.recorder;
        let (class_rows, region_rows) = (std::mem::take(&mut r.class_rows), std::mem::take(&mut r.region_rows));
        let topology = &scenario.topology;
        let classes = topology.classes.iter().zip(r.classes).map(|(c, s)| class_outcome(&c.name, s)).collect();
        let regions = topology.network.iter().flat_map(|n| n.regions.iter());
        let regions = regions.zip(r.regions).map(|(region, s)| class_outcome(&region.name, s)).collect();
        let system = SystemOutcome {
            classes,
            regions,
            degraded: r.total.degraded,
            deferred: r.total.deferred,
            payments: self.ledger.totals(),
            recovery,
            components,
            database: self.db.as_ref().map(|d| d.stats),
            retry_queue: self.deferral.spec.map(|_| self.deferral.stats),
            crashes: self.app.crashes,
            oom_kills: self.app.oom_kills,
            cost,
            proxy,
            malicious,
            scaling,
            series: std::mem::take(&mut self.measure.series.rows),
            retry_queue_depth: std::mem::take(&mut self.measure.series.retry_queue_depth),
            class_rows,
            region_rows,
            monitoring,
            logging,
            delivery,
        };
        Outcome {
            scenario: scenario.name.clone(),
            seed,
            simulated_ns: end.as_nanos(),
            warmup_ns: scenario.warmup_ns,
            events: stats.events,
            requests: r.total.requests,
            latency: r.total.latency.to_latency(),
            waiting: r.waiting,
            servers,
            interval_ns: scenario.report_interval_ns,
            rows: r.rows,
            faults: scenario.faults.clone(),
            system: Box::new(system),
        }
    }

    /// Each app server over the measured part of the run (after the warmup).
    fn server_stats(&mut self, scenario: &Scenario, end: SimTime) -> Vec<ServerStats> {
        let measured_ns = end.since(SimTime(scenario.warmup_ns)).max(1) as f64;
        let warm = self.measure.recorder.warm_integrals.take().unwrap_or_default();
        let instances = &self.stations[APP as usize].instances;
        let stats = instances.iter().enumerate().map(|(i, s)| {
            let (busy, queued) = s.integrals_at(end);
            let (wb, wq) = warm.get(i).copied().unwrap_or_default();
            ServerStats {
                utilization: busy.wrapping_sub(wb) as f64 / (measured_ns * f64::from(s.workers())),
                mean_queue_length: queued.wrapping_sub(wq) as f64 / measured_ns,
                served: s.served,
                rejected: s.refused,
            }
        });
        stats.collect()
    }

    /// Every component over the whole run, and what the run cost.
    pub(super) fn components(
        &self,
        scaling: Option<ScalingOutcome>,
        end: SimTime,
    ) -> (Vec<ComponentOutcome>, CostOutcome) {
        let mut cost = CostOutcome::default();
        let hours = units::ns_to_h(end.as_nanos());
        let components = self.stations.iter().enumerate().map(|(s, st)| {
            let mut c = component(st, end);
            match scaling.filter(|_| s == APP as usize) {
                // A changing pool is billed for the hours its servers were provisioned,
                // and busy over the hours they ran.
                Some(sc) => {
                    c.instances = self.scaling.provisioned.count();
                    let running_ns = self.scaling.running.at(end) as f64;
                    let busy: u128 = st.instances.iter().map(|i| i.integrals_at(end).0).sum();
                    let workers = st.instances.first().map_or(1.0, |i| f64::from(i.workers()));
                    c.utilization = (running_ns > 0.0).then(|| busy as f64 / (running_ns * workers));
                    cost.infrastructure += st.price_per_hour * sc.instance_hours;
                }
                None => cost.infrastructure += st.price_per_hour * st.instances.len() as f64 * hours,
            }
            // Calls the open breaker refused never left the building: they are not billed.
            cost.calls += st.price_per_call * (c.calls - c.breaker_rejections) as f64;
            c
        });
        (components.collect(), cost)
    }
}

/// Station `st`'s numbers over the whole run, to `end`.
fn component(st: &Station, end: SimTime) -> ComponentOutcome {
    let mut c = st.stats.clone();
    c.name = st.name.clone();
    c.kind = st.kind.as_str().to_string();
    c.instances = st.instances.len() as u32;
    let limited = st.instances.iter().all(|i| i.workers() != u32::MAX);
    let busy: u128 = st.instances.iter().map(|i| i.integrals_at(end).0).sum();
    let queued: u128 = st.instances.iter().map(|i| i.integrals_at(end).1).sum();
    let workers: f64 = st.instances.iter().map(|i| f64::from(i.workers())).sum();
    let whole_ns = end.as_nanos().max(1) as f64;
    c.utilization = limited.then(|| busy as f64 / (whole_ns * workers));
    c.mean_queue_length = queued as f64 / whole_ns;
    c.peak_queue = st.instances.iter().map(|i| i.peak_queue as u64).max().unwrap_or(0);
    if let Some(b) = &st.breaker {
        c.breaker_opened = b.times_opened();
    }
    c
}

/// A class's (or region's) numbers under its name.
fn class_outcome(name: &str, s: ClassStats) -> ClassOutcome {
    ClassOutcome {
        name: name.to_string(),
        requests: s.requests,
        latency: s.latency.to_latency(),
        degraded: s.degraded,
        deferred: s.deferred,
    }
}
