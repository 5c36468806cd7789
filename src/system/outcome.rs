//! What the multi-tier model adds to an [`crate::Outcome`].

use crate::arch::resilience::LedgerTotals;
use crate::outcome::{Latency, RequestCounts};

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

/// Everything the multi-tier model measured beyond the single-tier outcome.
#[derive(Clone, Debug)]
pub struct SystemOutcome {
    /// One per class, in file order.
    pub classes: Vec<ClassOutcome>,
    /// Completions degraded, over all classes.
    pub degraded: u64,
    /// Completions deferred, over all classes.
    pub deferred: u64,
    /// The payment ledger.
    pub payments: LedgerTotals,
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
}
