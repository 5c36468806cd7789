//! The largest count, size and rate a scenario file may ask for, each with the reason for
//! it (docs/limits.md lists them for users).
//!
//! A limit here is about the machine, not about realism: it stops a file that validates
//! from then exhausting memory or running for hours. The run's own budget (`[limits]`
//! `max_events`, `max_in_flight`) is checked against an estimate of the run before it
//! starts (`prodsim_model::estimate`); these caps bound what that estimate cannot see,
//! such as one allocation sized by a count.

/// Largest scenario file read, in bytes. The largest shipped scenario is under 20 KiB; a
/// file a thousand times that is not a hand-written scenario, and reading stops there
/// instead of filling memory (`validate /dev/zero`).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most app servers in the pool (`servers.count`, `servers.max_count`, `autoscaling.max`).
/// Every server holds its workers, queue and metric series; at a thousand a run's setup
/// already dominates short runs, and real pools behind one balancer are smaller.
pub const MAX_SERVERS: u32 = 1000;

/// Most instances of one proxy tier or one service (`proxy.instances`,
/// `services.NAME.instances`), for the same reason as [`MAX_SERVERS`].
pub const MAX_INSTANCES: u32 = 1000;

/// Most read replicas of the database: each keeps its own replication stream and lag.
pub const MAX_REPLICAS: u32 = 100;

/// Most workers (concurrent requests) per app server or service instance: the engine
/// keeps a slot per worker.
pub const MAX_WORKERS: u32 = 100_000;

/// Most payments the retry queue may hold (`retry_queue.capacity`): each is a record of
/// its request; more than this many deferred payments is a queue that never drains.
pub const MAX_RETRY_QUEUE: u32 = 10_000_000;

/// Highest arrival rate of one workload, stage or attack, in requests per second. The
/// clock counts nanoseconds: at 10⁸ requests a second arrivals are 10 ns apart on
/// average, and faster streams would collapse onto the same instants. The run's event
/// budget usually refuses much lower rates for long runs.
pub const MAX_RATE_PER_S: f64 = 1e8;

/// Largest multiplier of a traffic spike (`factor`): with [`MAX_RATE_PER_S`] it keeps a
/// spiked rate within what the clock can resolve.
pub const MAX_SPIKE_FACTOR: f64 = 1000.0;

/// Most labels (and, separately, annotations) on one alerting or recording rule. Every
/// alert instance carries its labels through evaluation, routing and every notification;
/// Prometheus's own `label_limit` is usually set far lower.
pub const MAX_LABELS: usize = 64;

/// Longest label name, in bytes.
pub const MAX_LABEL_NAME_BYTES: usize = 256;

/// Longest label or annotation value (a template before rendering), in bytes.
pub const MAX_LABEL_VALUE_BYTES: usize = 16 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_cap_keeps_gaps_above_the_clock_resolution() {
        let mean_gap_ns = 1e9 / MAX_RATE_PER_S;
        assert!(mean_gap_ns >= 10.0, "{mean_gap_ns}");
    }
}
