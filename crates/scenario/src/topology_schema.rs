//! The raw shape of the architecture's sections: `[[requests]]`, `[services.NAME]`,
//! `[storage]`, `[database]`, `[retry_queue]`. See `docs/scenario-format.md`.

use serde::Deserialize;
use toml::Spanned;

/// `[[requests]]`: a request class.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequestClass {
    /// Unique name.
    pub name: Spanned<String>,
    /// Relative share of traffic.
    pub weight: Spanned<f64>,
    /// The call graph, in order.
    pub steps: Vec<Spanned<RawStep>>,
    /// Makes each request a payment charged by this service.
    #[serde(default)]
    pub payment: Option<Spanned<String>>,
    /// Size of one response in bytes (default 20000).
    #[serde(default)]
    pub response_bytes: Option<Spanned<u64>>,
    /// Size of one request in bytes (default 1000).
    #[serde(default)]
    pub request_bytes: Option<Spanned<u64>>,
    /// Each successful request is a signup (`signups_total`; default false).
    #[serde(default)]
    pub signup: Option<Spanned<bool>>,
    /// Each request is a login attempt (`auth_attempts_total`; default false).
    #[serde(default)]
    pub login: Option<Spanned<bool>>,
    /// Share of a login class's legitimate attempts that fail (HTTP 401; default 0.02).
    #[serde(default)]
    pub login_failure_ratio: Option<Spanned<f64>>,
    /// Money earned by one successful request (default 0).
    #[serde(default)]
    pub revenue: Option<Spanned<f64>>,
}

/// One step: exactly one of `cpu`, `call` or `parallel`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Work on the worker, a distribution.
    #[serde(default)]
    pub cpu: Option<Spanned<String>>,
    /// A call: `"db"`, `"storage"` or a service name.
    #[serde(default)]
    pub call: Option<Spanned<String>>,
    /// For `call = "db"`: `"read"` or `"write"`.
    #[serde(default)]
    pub op: Option<Spanned<String>>,
    /// Calls made at once.
    #[serde(default)]
    pub parallel: Option<Vec<Spanned<RawStep>>>,
    /// Fire and forget through the service's queue.
    #[serde(default, rename = "async")]
    pub is_async: Option<Spanned<bool>>,
    /// Per-call timeout.
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// Retries after the first attempt.
    #[serde(default)]
    pub retries: Option<Spanned<u32>>,
    /// First retry delay.
    #[serde(default)]
    pub backoff: Option<Spanned<String>>,
    /// Longest retry delay.
    #[serde(default)]
    pub backoff_max: Option<Spanned<String>>,
    /// `"full"` (default) or `"none"`.
    #[serde(default)]
    pub jitter: Option<Spanned<String>>,
    /// Hedge delay.
    #[serde(default)]
    pub hedge_after: Option<Spanned<String>>,
    /// `"fail"`, `"degrade"` or `"retry_queue"`.
    #[serde(default)]
    pub on_failure: Option<Spanned<String>>,
    /// Idempotency key on the call.
    #[serde(default)]
    pub idempotent: Option<Spanned<bool>>,
    /// A service called instead when the call fails for good or its breaker is open.
    #[serde(default)]
    pub fallback: Option<Spanned<String>>,
}

/// `[services.NAME]` and `[storage]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// `"internal"` (default) or `"third_party"`.
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// Instances.
    #[serde(default)]
    pub instances: Option<Spanned<u32>>,
    /// Concurrent calls per instance; absent is unlimited for third-party APIs and storage, 1
    /// for internal services... see the docs.
    #[serde(default)]
    pub workers: Option<Spanned<u32>>,
    /// Waiting room per instance.
    #[serde(default)]
    pub queue_capacity: Option<Spanned<u32>>,
    /// Time of one call, a distribution.
    pub latency: Spanned<String>,
    /// Share of calls that fail anyway.
    #[serde(default)]
    pub error_rate: Option<Spanned<f64>>,
    /// Calls per second accepted.
    #[serde(default)]
    pub rate_limit: Option<Spanned<f64>>,
    /// The service's own calls after its work.
    #[serde(default)]
    pub steps: Vec<Spanned<RawStep>>,
    /// Circuit breaker callers use.
    #[serde(default)]
    pub circuit_breaker: Option<Spanned<RawBreaker>>,
    /// Retry budget callers use.
    #[serde(default)]
    pub retry_budget: Option<Spanned<RawRetryBudget>>,
    /// Price per instance-hour.
    #[serde(default)]
    pub price_per_hour: Option<Spanned<f64>>,
    /// Price per call.
    #[serde(default)]
    pub price_per_call: Option<Spanned<f64>>,
}

/// `circuit_breaker = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Failure share that opens it (default 0.5).
    #[serde(default)]
    pub failure_ratio: Option<Spanned<f64>>,
    /// Fewest calls in the window (default 20).
    #[serde(default)]
    pub min_calls: Option<Spanned<u32>>,
    /// Rolling window (default 10s).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// Open time before probing (default 30s).
    #[serde(default)]
    pub open_for: Option<Spanned<String>>,
}

/// `retry_budget = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryBudget {
    /// Retries per first attempt (e.g. 0.1).
    pub ratio: Spanned<f64>,
    /// Retries always allowed per second (default 10).
    #[serde(default)]
    pub min_per_second: Option<Spanned<f64>>,
}

/// `[database]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Read replicas (default 0).
    #[serde(default)]
    pub replicas: Option<Spanned<u32>>,
    /// Concurrent queries per database instance (default 100).
    #[serde(default)]
    pub connections: Option<Spanned<u32>>,
    /// Pool size per app server (default 10).
    #[serde(default)]
    pub pool: Option<Spanned<u32>>,
    /// Pool wait timeout (default 1s).
    #[serde(default)]
    pub pool_timeout: Option<Spanned<String>>,
    /// Read query time.
    pub read_time: Spanned<String>,
    /// Write query time.
    pub write_time: Spanned<String>,
    /// Replica lag (default 0s).
    #[serde(default)]
    pub replication_lag: Option<Spanned<String>>,
    /// Rows touched (default 10000).
    #[serde(default)]
    pub keys: Option<Spanned<u32>>,
    /// Failover time (default 30s).
    #[serde(default)]
    pub failover_after: Option<Spanned<String>>,
    /// Price per instance-hour.
    #[serde(default)]
    pub price_per_hour: Option<Spanned<f64>>,
    /// Size of each instance's data volume in bytes (default 100 GB).
    #[serde(default)]
    pub disk_bytes: Option<Spanned<u64>>,
    /// Data on the volume at the start in bytes (default 10 GB).
    #[serde(default)]
    pub data_bytes: Option<Spanned<u64>>,
    /// Bytes each committed write adds (default 1000).
    #[serde(default)]
    pub bytes_per_write: Option<Spanned<u64>>,
    /// Queries that take longer are logged as slow (a duration; default: none).
    #[serde(default)]
    pub slow_query: Option<Spanned<String>>,
}

/// `[retry_queue]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryQueue {
    /// Consumers (default 4).
    #[serde(default)]
    pub consumers: Option<Spanned<u32>>,
    /// Capacity (default 100000).
    #[serde(default)]
    pub capacity: Option<Spanned<u32>>,
    /// Survives app server crashes (default true).
    #[serde(default)]
    pub durable: Option<bool>,
    /// Wait after a failed attempt (default 5s).
    #[serde(default)]
    pub retry_interval: Option<Spanned<String>>,
}

/// `[[regions]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    /// Unique name, e.g. `us-east`.
    pub name: Spanned<String>,
    /// Relative share of the users in this region (default 1).
    #[serde(default)]
    pub share: Option<Spanned<f64>>,
    /// App servers placed in this region.
    pub servers: Spanned<u32>,
    /// Round trip of its users to its own servers (a distribution, default "const(0ms)").
    #[serde(default)]
    pub rtt: Option<Spanned<String>>,
    /// Probability that a request's exchange loses a packet (default 0).
    #[serde(default)]
    pub loss: Option<Spanned<f64>>,
    /// Extra round trip when its users are served by another region, by region name.
    #[serde(default)]
    pub rtt_to: std::collections::BTreeMap<String, Spanned<String>>,
}

/// `[[workload]] diurnal = { ... }`: a daily cycle.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiurnal {
    /// Relative swing around the rate, 0 to 1 (0.5: from half to one and a half times).
    pub amplitude: Spanned<f64>,
    /// Length of one cycle (default "24h").
    #[serde(default)]
    pub period: Option<Spanned<String>>,
    /// When in the cycle the peak is, from the start of the run (default a quarter period).
    #[serde(default)]
    pub peak: Option<Spanned<String>>,
}

/// `[[workload]] weekly = { ... }`: a weekly cycle (weekdays and the weekend).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeekly {
    /// Factor on the rate on Saturday and Sunday of the scenario's wall clock (0 to 10).
    pub weekend_factor: Spanned<f64>,
}
