//! The raw shape of a scenario file, as serde reads it.
//!
//! Every table denies unknown keys. Values that need checking after parsing (rates,
//! durations, distributions, counts) keep their byte span with `toml::Spanned`, so semantic
//! errors point at the exact place in the file. See `docs/scenario-format.md`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::topology_schema::{
    RawDatabase, RawDiurnal, RawRegion, RawRequestClass, RawRetryQueue, RawService, RawWeekly,
};
use prodsim_parts::{Arrivals, Strategy};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// `[scenario]`: name, seed, duration.
    pub scenario: RawMeta,
    /// `[[workload]]`: open arrival streams.
    #[serde(default)]
    pub workload: Vec<RawWorkload>,
    /// `[balancer]`: how requests are spread over servers.
    #[serde(default)]
    pub balancer: Option<Spanned<RawBalancer>>,
    /// `[servers]`: the app server pool.
    pub servers: Spanned<RawServers>,
    /// `[limits]`: engine bounds.
    #[serde(default)]
    pub limits: Option<RawLimits>,
    /// `[[faults]]`: injected failures.
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
    /// `[[requests]]`: request classes and their call graphs.
    #[serde(default)]
    pub requests: Vec<Spanned<RawRequestClass>>,
    /// `[services.NAME]`: internal services and third-party APIs, by name.
    #[serde(default)]
    pub services: std::collections::BTreeMap<String, Spanned<RawService>>,
    /// `[storage]`: object storage.
    #[serde(default)]
    pub storage: Option<Spanned<RawService>>,
    /// `[database]`: primary, replicas and pools.
    #[serde(default)]
    pub database: Option<Spanned<RawDatabase>>,
    /// `[retry_queue]`: the durable queue for deferred payments.
    #[serde(default)]
    pub retry_queue: Option<Spanned<RawRetryQueue>>,
    /// `[reconciliation]`: the job that settles payments whose answer was lost.
    #[serde(default)]
    pub reconciliation: Option<Spanned<super::recovery::RawReconciliation>>,
    /// `[backups]`: scheduled database backups and the restore time.
    #[serde(default)]
    pub backups: Option<Spanned<super::recovery::RawBackups>>,
    /// `[[regions]]`: where users and app servers are, and the network between them.
    #[serde(default)]
    pub regions: Vec<Spanned<RawRegion>>,
    /// `[proxy]`: the reverse proxy in front of the app servers.
    #[serde(default)]
    pub proxy: Option<Spanned<super::proxy_schema::RawProxy>>,
    /// `[autoscaling]`: a horizontal autoscaler for the app servers.
    #[serde(default)]
    pub autoscaling: Option<Spanned<super::scaling::RawAutoscaling>>,
    /// `[[actions]]`: scheduled operator actions on the app server pool.
    #[serde(default)]
    pub actions: Vec<Spanned<super::scaling::RawAction>>,
    /// `[monitoring]`: scraping, rule evaluation and the clock of the alerting stack.
    #[serde(default)]
    pub monitoring: Option<Spanned<super::monitoring_schema::RawMonitoring>>,
    /// `[[alerts]]`: alerting rules.
    #[serde(default)]
    pub alerts: Vec<Spanned<super::monitoring_schema::RawAlert>>,
    /// `[[rules]]`: recording rules.
    #[serde(default)]
    pub rules: Vec<Spanned<super::monitoring_schema::RawRecordingRule>>,
    /// `[slo]`: the objective, its burn-rate alerts and the ground truth's incidents.
    #[serde(default)]
    pub slo: Option<Spanned<super::monitoring_schema::RawSlo>>,
    /// `[routing]`: where notifications go.
    #[serde(default)]
    pub routing: Option<Spanned<super::monitoring_schema::RawRouting>>,
    /// `[logging]`: structured logs and their shipping.
    #[serde(default)]
    pub logging: Option<Spanned<super::monitoring_schema::RawLogging>>,
    /// `[pipeline]`: the CI/CD pipeline releases go through.
    #[serde(default)]
    pub pipeline: Option<Spanned<super::delivery_schema::RawPipeline>>,
    /// `[[deploys]]`: releases.
    #[serde(default)]
    pub deploys: Vec<Spanned<super::delivery_schema::RawDeploy>>,
    /// `[oncall]`: the people paged by alerts.
    #[serde(default)]
    pub oncall: Option<Spanned<super::delivery_schema::RawOncall>>,
    /// `[[playbooks]]`: what a responder does when an alert pages them.
    #[serde(default)]
    pub playbooks: Vec<Spanned<super::delivery_schema::RawPlaybook>>,
    /// `[[expect]]`: what must hold at the end of the run.
    #[serde(default)]
    pub expect: Vec<Spanned<super::expect::RawExpect>>,
}

/// Questions about the file as written, asked by more than one section's validation before
/// any section is resolved (so no validator depends on another's result for them).
impl RawScenario {
    /// Service names in id order: `[services.*]` by name (`db` and `storage` are reserved),
    /// then `storage`.
    pub fn service_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.services.keys().filter(|n| n.as_str() != "db" && n.as_str() != "storage").cloned().collect();
        if self.storage.is_some() {
            names.push("storage".to_string());
        }
        names
    }

    /// The servers of each region by name, `(name, first, end)`, as `[[regions]]` places
    /// them (region by region, in file order).
    pub fn region_ranges(&self) -> Vec<(String, u32, u32)> {
        let mut first = 0u32;
        self.regions
            .iter()
            .map(|r| {
                let r = r.get_ref();
                let end = first.saturating_add(*r.servers.get_ref());
                let out = (r.name.get_ref().clone(), first, end);
                first = end;
                out
            })
            .collect()
    }

    /// Whether the file changes the app server pool at run time.
    pub fn has_scaling(&self) -> bool {
        self.autoscaling.is_some() || !self.actions.is_empty()
    }

    /// The most app servers the pool can have: `[autoscaling].max`, else
    /// `[servers].max_count` (with `[[actions]]`), else `[servers].count`.
    pub fn pool_max(&self) -> u32 {
        let s = self.servers.get_ref();
        let count = *s.count.get_ref();
        match (&self.autoscaling, &s.max_count) {
            (Some(a), _) => (*a.get_ref().max.get_ref()).max(count),
            (None, Some(m)) if !self.actions.is_empty() => (*m.get_ref()).max(count),
            _ => count,
        }
    }

    /// Whether the file uses any monitoring section.
    pub fn uses_monitoring(&self) -> bool {
        self.monitoring.is_some()
            || !self.alerts.is_empty()
            || !self.rules.is_empty()
            || self.slo.is_some()
            || self.routing.is_some()
    }

    /// The notification receivers a `notification_outage` can hit: `[[routing.receivers]]`,
    /// or the default `production-alerts` of a scenario with monitoring and no `[routing]`.
    /// (Receivers of an imported Alertmanager file are not listed.)
    pub fn receiver_names(&self) -> Vec<String> {
        match &self.routing {
            Some(r) => r.get_ref().receivers.iter().map(|rc| rc.get_ref().name.get_ref().clone()).collect(),
            None if self.uses_monitoring() => vec!["production-alerts".to_string()],
            None => Vec::new(),
        }
    }

    /// Whether the file has any of `[pipeline]`, `[[deploys]]`, `[oncall]`, `[[playbooks]]`.
    pub fn has_delivery(&self) -> bool {
        self.pipeline.is_some() || !self.deploys.is_empty() || self.oncall.is_some() || !self.playbooks.is_empty()
    }
}

/// `[[faults]]`. The parameters a kind does not use must be absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// The fault kind, e.g. `"slowdown"`.
    pub kind: Spanned<String>,
    /// What it hits: `"server-<index>"` or `"servers"`.
    pub target: Spanned<String>,
    /// When it starts.
    pub at: Spanned<String>,
    /// How long it lasts; absent means until the end of the run.
    #[serde(default)]
    pub duration: Option<Spanned<String>>,
    /// `slowdown`, `slow_queries`, `traffic_spike`: multiplier.
    #[serde(default)]
    pub factor: Option<Spanned<f64>>,
    /// `error_rate`: share of calls that fail (0 to 1); `ddos`: attack requests per second.
    #[serde(default)]
    pub rate: Option<Spanned<f64>>,
    /// `added_latency`: a distribution added to each call.
    #[serde(default)]
    pub latency: Option<Spanned<String>>,
    /// `timeouts`: how long a call hangs before the connection drops (default 120s).
    #[serde(default)]
    pub hang: Option<Spanned<String>>,
    /// `replication_lag`: the replicas' lag during the fault.
    #[serde(default)]
    pub lag: Option<Spanned<String>>,
    /// `memory_leak`: MiB leaked per second.
    #[serde(default)]
    pub mb_per_s: Option<Spanned<f64>>,
    /// `connection_leak`: pool connections leaked per second.
    #[serde(default)]
    pub per_s: Option<Spanned<f64>>,
    /// `partition`: the app servers cut off (`servers`, `server-<i>` or a region name).
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// `ddos`: distinct attacking clients.
    #[serde(default)]
    pub clients: Option<Spanned<u32>>,
    /// `credential_stuffing`: share of the attack's served logins that fail (default 0.98).
    #[serde(default)]
    pub failure_ratio: Option<Spanned<f64>>,
}

/// `[scenario]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// Names the report directory; letters, digits, `-`, `_`, `.`.
    pub name: Spanned<String>,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed of every random stream; `--seed` overrides it.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Simulated time to run.
    pub duration: Spanned<String>,
    /// Time excluded from statistics at the start.
    #[serde(default)]
    pub warmup: Option<Spanned<String>>,
    /// Width of one `timeseries.csv` row.
    #[serde(default)]
    pub report_interval: Option<Spanned<String>>,
    /// What the wall clock reads at simulated time 0: `"mon 09:00"` (weekday, 24-hour
    /// time; default `"mon 09:00"`). Business hours and on-call schedules use it.
    #[serde(default)]
    pub start_time: Option<Spanned<String>>,
}

/// `[[workload]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Unique name.
    pub name: Spanned<String>,
    /// `poisson` or `constant`.
    #[serde(default = "default_arrivals")]
    pub arrivals: Arrivals,
    /// Requests per second from time zero.
    #[serde(default)]
    pub rate: Option<Spanned<f64>>,
    /// Piecewise rates over time.
    #[serde(default)]
    pub stages: Vec<Spanned<RawStage>>,
    /// A daily cycle multiplying the rate.
    #[serde(default)]
    pub diurnal: Option<Spanned<RawDiurnal>>,
    /// A weekly cycle multiplying the rate at the weekend.
    #[serde(default)]
    pub weekly: Option<Spanned<RawWeekly>>,
    /// The region its users are in (default: spread over `[[regions]]` by `share`).
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// Closed workloads: the think time between an answer and the user's next request.
    #[serde(default)]
    pub think_time: Option<Spanned<String>>,
    /// Distinct users (default 10000). In a closed workload (with
    /// `think_time`), the users in the loop, each waiting for an answer and thinking before
    /// their next request.
    #[serde(default)]
    pub users: Option<Spanned<u32>>,
    /// Share of requests that are malicious (default 0).
    #[serde(default)]
    pub malicious: Option<Spanned<f64>>,
}

fn default_arrivals() -> Arrivals {
    Arrivals::Poisson
}

/// One entry of `stages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// When the rate starts.
    pub at: Spanned<String>,
    /// Requests per second.
    pub rate: Spanned<f64>,
}

/// `[balancer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBalancer {
    /// The strategy.
    pub strategy: Strategy,
    /// d for `power_of_two`.
    #[serde(default)]
    pub choices: Option<Spanned<u32>>,
    /// Weight per app server for `weighted_round_robin`.
    #[serde(default)]
    pub weights: Option<Spanned<Vec<u32>>>,
    /// Active health checks of the app servers.
    #[serde(default)]
    pub health_check: Option<Spanned<RawHealthCheck>>,
    /// Passive ejection of failing app servers.
    #[serde(default)]
    pub outlier_detection: Option<Spanned<RawOutlier>>,
}

/// `[balancer] health_check = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Time between probes (default 5s).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    /// Consecutive failed probes before a server leaves rotation (default 3).
    #[serde(default)]
    pub unhealthy_threshold: Option<Spanned<u32>>,
    /// Consecutive good probes before it returns (default 2).
    #[serde(default)]
    pub healthy_threshold: Option<Spanned<u32>>,
}

/// `[balancer] outlier_detection = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlier {
    /// Failed responses in a row that eject a server (default 5).
    #[serde(default)]
    pub consecutive_failures: Option<Spanned<u32>>,
    /// First ejection time (default 30s).
    #[serde(default)]
    pub base_ejection: Option<Spanned<String>>,
    /// Most servers ejected at once, in percent (default 50).
    #[serde(default)]
    pub max_ejection_percent: Option<Spanned<u32>>,
}

/// `[servers]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServers {
    /// How many servers.
    #[serde(default = "one")]
    pub count: Spanned<u32>,
    /// Requests served concurrently per server.
    #[serde(default = "one")]
    pub workers: Spanned<u32>,
    /// Waiting room per server.
    #[serde(default)]
    pub queue_capacity: QueueCapacity,
    /// Service time distribution, e.g. `"exp(20ms)"` (the `default` class's one
    /// work step; with `[[requests]]` each class says what it does).
    #[serde(default)]
    pub service_time: Option<Spanned<String>>,
    /// Supervisor restart delay after a crash (default 30s).
    #[serde(default)]
    pub restart_after: Option<Spanned<String>>,
    /// Resident memory of a fresh process in MiB (default 512).
    #[serde(default)]
    pub memory_mb: Option<Spanned<f64>>,
    /// Out-of-memory limit in MiB (default 2048).
    #[serde(default)]
    pub memory_limit_mb: Option<Spanned<f64>>,
    /// Price per server-hour.
    #[serde(default)]
    pub price_per_hour: Option<Spanned<f64>>,
    /// Client deadline per request.
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// Most servers `[[actions]]` may scale out to (default `count`).
    #[serde(default)]
    pub max_count: Option<Spanned<u32>>,
    /// How long a retiring server may take to finish its requests (default 30s).
    #[serde(default)]
    pub drain_timeout: Option<Spanned<String>>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

/// `[limits]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Most events one run may process.
    #[serde(default)]
    pub max_events: Option<Spanned<u64>>,
    /// Most requests in flight at once.
    #[serde(default)]
    pub max_in_flight: Option<Spanned<u64>>,
    /// Most memory the run's estimate may reach, in MiB.
    #[serde(default)]
    pub max_memory_mb: Option<Spanned<u64>>,
}

/// `queue_capacity`: a non-negative integer or `"unbounded"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueCapacity {
    /// No limit on waiting requests.
    #[default]
    Unbounded,
    /// At most this many waiting requests per server; more are rejected.
    Bounded(u32),
}

impl<'de> Deserialize<'de> for QueueCapacity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QueueCapacity;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a non-negative integer or \"unbounded\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QueueCapacity, E> {
                u32::try_from(v)
                    .map(QueueCapacity::Bounded)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<QueueCapacity, E> {
                u32::try_from(v)
                    .map(QueueCapacity::Bounded)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueueCapacity, E> {
                if v == "unbounded" {
                    Ok(QueueCapacity::Unbounded)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}
