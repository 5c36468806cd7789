//! The architecture's part of `summary.json`: per-class results, the payment ledger, each
//! component's calls, errors, retries and breaker, the database, the retry queue and the
//! cost. Documented in `docs/summary-json.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::summary::{LatencyMs, Requests};
use prodsim_kernel::units::ns_to_ms;
use prodsim_model::outcome::{ClassOutcome, ComponentOutcome, CostOutcome, DatabaseOutcome, SystemOutcome};
use prodsim_parts::resilience::ledger::LedgerTotals;

/// The architecture's keys at the top level of `summary.json`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SystemSummary {
    /// `classes.<name>`: the same request and latency keys as the whole, per class.
    pub classes: BTreeMap<String, ClassSummary>,
    /// `regions.<name>`: the same keys per region of the users, latency including the
    /// network; absent without `[[regions]]`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, ClassSummary>,
    /// Completions that went on without a failed dependency (degraded).
    pub degraded: u64,
    /// Completions answered "accepted" with their payment on the retry queue.
    pub deferred: u64,
    /// `payments.*`: the ledger.
    pub payments: Payments,
    /// One entry per component (app servers, services, storage, database).
    pub components: Vec<ComponentSummary>,
    /// The database, if the scenario has one.
    pub database: Option<DatabaseSummary>,
    /// The retry queue, if the scenario has one.
    pub retry_queue: Option<RetryQueueSummary>,
    /// App server crashes (faults and out-of-memory kills).
    pub crashes: u64,
    /// Out-of-memory kills.
    pub oom_kills: u64,
    /// The run's cost.
    pub cost: CostSummary,
    /// The reverse proxy, if the scenario has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<super::summary_proxy::ProxySummary>,
    /// Malicious requests, if the scenario has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malicious: Option<super::summary_proxy::MaliciousSummary>,
    /// What the app server pool did, when it could change (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<ScalingSummary>,
    /// `monitoring`, `alert_quality`, `alerts`, `incidents`, `notifications` (at the top
    /// level), when monitoring is on.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<super::summary_alerting::AlertingSummary>,
    /// `fallback`, `reconciliation` and `backups` (at the top level), where the scenario
    /// has them.
    #[serde(flatten)]
    pub recovery: super::summary_recovery::RecoverySummary,
    /// `logs`: what became of the log entries, with `[logging]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<super::logs::LogsSummary>,
    /// `client_errors`: failed user requests by fingerprint, with `[logging]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_errors: Option<Vec<super::logs::ClientErrorSummary>>,
    /// `deploys`, `pages`, `actions`, `versions` (at the top level), with releases or
    /// incident response in the scenario.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<super::summary_delivery::DeliverySummary>,
}

/// `autoscaling`: the app server pool over the run.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct ScalingSummary {
    /// Decisions that added servers (autoscaler or actions).
    pub scale_outs: u64,
    /// Decisions that removed servers.
    pub scale_ins: u64,
    /// Fewest servers provisioned at once.
    pub min_instances: u32,
    /// Most servers provisioned at once.
    pub max_instances: u32,
    /// Provisioned server-hours.
    pub instance_hours: f64,
    /// Retiring servers stopped at the drain timeout with requests still on them.
    pub drain_timeouts: u64,
}

/// `classes.<name>`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClassSummary {
    /// Fates of the class's requests.
    pub requests: Requests,
    /// Completed share of finished requests.
    pub availability: Option<f64>,
    /// Latency of completions.
    pub latency_ms: LatencyMs,
    /// Degraded completions.
    pub degraded: u64,
    /// Deferred completions.
    pub deferred: u64,
}

/// `payments`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Payments {
    /// Payments started (one per request of a payment class).
    pub attempted: u64,
    /// Charged once and recorded as done.
    pub completed: u64,
    /// On the retry queue at the end.
    pub queued: u64,
    /// Not charged, and the user was told (visible failure).
    pub failed: u64,
    /// Money and records disagree: charged but recorded as failed, or dropped work.
    pub lost: u64,
    /// Charged more than once.
    pub duplicated: u64,
    /// Still in progress at the end.
    pub in_flight: u64,
    /// Whether attempted = completed + queued + failed + lost + in_flight, with nothing lost
    /// or duplicated.
    pub balanced: bool,
}

/// One element of `components`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ComponentSummary {
    /// `servers`, a service name, `storage` or `db`.
    pub name: String,
    /// `app`, `internal`, `third_party`, `storage` or `database`.
    pub kind: String,
    /// Instances.
    pub instances: u32,
    /// Busy share of workers over the run (`null` when unlimited).
    pub utilization: Option<f64>,
    /// Mean waiting tasks.
    pub mean_queue_length: f64,
    /// Longest queue on one instance.
    pub peak_queue: u64,
    /// Attempts made to it.
    pub calls: u64,
    /// First attempts.
    pub first_attempts: u64,
    /// Retries.
    pub retries: u64,
    /// Hedged copies.
    pub hedges: u64,
    /// Attempts per first attempt.
    pub amplification: Option<f64>,
    /// Failed attempts.
    pub errors: u64,
    /// Attempts whose timeout fired.
    pub timeouts: u64,
    /// Calls refused by the open breaker.
    pub breaker_rejections: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Retries refused by the retry budget.
    pub budget_denied: u64,
}

/// `database`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct DatabaseSummary {
    /// Reads served by replicas.
    pub replica_reads: u64,
    /// Reads that saw a row older than its last write.
    pub stale_reads: u64,
    /// Share of replica reads that were stale.
    pub stale_ratio: Option<f64>,
    /// Queries that timed out waiting for a pool connection.
    pub pool_timeouts: u64,
    /// Failovers completed.
    pub failovers: u64,
    /// The largest replication lag during the run, ms.
    pub max_replication_lag_ms: f64,
    /// Bytes of data on the primary's volume at the end.
    pub data_bytes: u64,
    /// Size of each instance's volume.
    pub disk_bytes: u64,
    /// Writes that failed because the disk was full.
    pub disk_full_writes: u64,
    /// Queries slower than `[database] slow_query`.
    pub slow_queries: u64,
}

/// `retry_queue`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct RetryQueueSummary {
    /// Items put on it.
    pub enqueued: u64,
    /// Items completed from it.
    pub drained: u64,
    /// Items left at the end.
    pub remaining: u64,
    /// Longest it got.
    pub peak: u64,
    /// Items lost with a crashed server (non-durable queue).
    pub dropped: u64,
}

/// `cost`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct CostSummary {
    /// Instance-hours, priced.
    pub infrastructure: f64,
    /// Third-party calls, priced.
    pub calls: f64,
    /// Everything.
    pub total: f64,
    /// Total per million arrived requests.
    pub per_million_requests: Option<f64>,
}

impl SystemSummary {
    /// Summarises the architecture's outcome; `arrived` is the run's measured arrivals.
    pub fn from_outcome(s: &SystemOutcome, arrived: u64) -> SystemSummary {
        SystemSummary {
            classes: by_name(&s.classes),
            regions: by_name(&s.regions),
            degraded: s.degraded,
            deferred: s.deferred,
            payments: Payments::of(&s.payments),
            components: s.components.iter().map(ComponentSummary::of).collect(),
            database: s.database.map(|d| DatabaseSummary::of(&d)),
            retry_queue: s.retry_queue.map(|q| RetryQueueSummary {
                enqueued: q.enqueued,
                drained: q.drained,
                remaining: q.remaining,
                peak: q.peak,
                dropped: q.dropped,
            }),
            crashes: s.crashes,
            oom_kills: s.oom_kills,
            cost: CostSummary::of(&s.cost, arrived),
            proxy: s.proxy.as_ref().map(super::summary_proxy::ProxySummary::from_outcome),
            malicious: s.malicious.as_ref().map(super::summary_proxy::MaliciousSummary::from_outcome),
            autoscaling: s.scaling.map(|a| ScalingSummary {
                scale_outs: a.scale_outs,
                scale_ins: a.scale_ins,
                min_instances: a.min_instances,
                max_instances: a.max_instances,
                instance_hours: a.instance_hours,
                drain_timeouts: a.drain_timeouts,
            }),
            alerting: s.monitoring.as_deref().map(super::summary_alerting::AlertingSummary::from_outcome),
            recovery: super::summary_recovery::RecoverySummary::of(&s.recovery),
            logs: s.logging.as_ref().map(super::logs::LogsSummary::from_outcome),
            client_errors: s.logging.as_ref().map(super::logs::client_errors),
            delivery: s.delivery.as_ref().map(super::summary_delivery::DeliverySummary::from_outcome),
        }
    }
}

/// Per-class (or per-region) summaries under their names.
fn by_name(list: &[ClassOutcome]) -> BTreeMap<String, ClassSummary> {
    list.iter()
        .map(|c| {
            let summary = ClassSummary {
                requests: c.requests.into(),
                availability: c.requests.availability(),
                latency_ms: LatencyMs::of(&c.latency),
                degraded: c.degraded,
                deferred: c.deferred,
            };
            (c.name.clone(), summary)
        })
        .collect()
}

impl Payments {
    fn of(p: &LedgerTotals) -> Payments {
        Payments {
            attempted: p.attempted,
            completed: p.completed,
            queued: p.queued,
            failed: p.failed,
            lost: p.lost,
            duplicated: p.duplicated,
            in_flight: p.in_flight,
            balanced: p.balanced(),
        }
    }
}

impl ComponentSummary {
    fn of(c: &ComponentOutcome) -> ComponentSummary {
        ComponentSummary {
            name: c.name.clone(),
            kind: c.kind.clone(),
            instances: c.instances,
            utilization: c.utilization,
            mean_queue_length: c.mean_queue_length,
            peak_queue: c.peak_queue,
            calls: c.calls,
            first_attempts: c.first_attempts,
            retries: c.retries,
            hedges: c.hedges,
            amplification: c.amplification(),
            errors: c.errors,
            timeouts: c.timeouts,
            breaker_rejections: c.breaker_rejections,
            breaker_opened: c.breaker_opened,
            budget_denied: c.budget_denied,
        }
    }
}

impl DatabaseSummary {
    fn of(d: &DatabaseOutcome) -> DatabaseSummary {
        DatabaseSummary {
            replica_reads: d.replica_reads,
            stale_reads: d.stale_reads,
            stale_ratio: (d.replica_reads > 0).then(|| d.stale_reads as f64 / d.replica_reads as f64),
            pool_timeouts: d.pool_timeouts,
            failovers: d.failovers,
            max_replication_lag_ms: ns_to_ms(d.max_replication_lag_ns),
            data_bytes: d.data_bytes,
            disk_bytes: d.disk_bytes,
            disk_full_writes: d.disk_full_writes,
            slow_queries: d.slow_queries,
        }
    }
}

impl CostSummary {
    /// The cost, and per million of the `arrived` requests.
    fn of(cost: &CostOutcome, arrived: u64) -> CostSummary {
        CostSummary {
            infrastructure: cost.infrastructure,
            calls: cost.calls,
            total: cost.total(),
            per_million_requests: (arrived > 0).then(|| cost.total() / arrived as f64 * 1e6),
        }
    }
}
