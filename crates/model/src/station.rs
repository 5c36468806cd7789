//! A station: a named pool of instances, each with workers and a FIFO queue of tasks, and
//! what the faults in force do to it.
//!
//! App servers, internal services, third-party APIs, the object storage and the database
//! are all stations; they differ in their programs and in what faults do to them. An
//! instance keeps the time integrals behind utilization and mean queue length in the
//! summed-by-parts form `prodsim_parts::server::Server` documents.

use std::collections::VecDeque;

use prodsim_kernel::{Dist, SimTime};
use prodsim_parts::resilience::{CircuitBreaker, RetryBudget, TokenBucket};
use prodsim_scenario::topology::ServiceKind;

use crate::outcome::ComponentOutcome;

/// Which kind of station.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StationKind {
    /// The app servers.
    App,
    /// An internal service, a third-party API or the storage.
    Service(ServiceKind),
    /// The database (primary and replicas).
    Database,
}

impl StationKind {
    /// The name reports use (`components[].kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            StationKind::App => "app",
            StationKind::Service(k) => k.as_str(),
            StationKind::Database => "database",
        }
    }
}

/// Calls from app servers `first..end` hang for `hang_ns` (a `partition` fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Partition {
    /// First app server cut off.
    pub first: u32,
    /// One past the last app server cut off.
    pub end: u32,
    /// How long a call waits before its connection drops.
    pub hang_ns: u64,
}

/// What the faults in force do to a station, recomputed when one starts or ends.
#[derive(Clone, Debug, Default)]
pub(crate) struct FaultEffects {
    /// Nothing answers.
    pub outage: bool,
    /// Calls hang this long, then their connection drops.
    pub hang_ns: Option<u64>,
    /// Extra share of calls that fail.
    pub error_rate: f64,
    /// Extra latency added to each call's first work step.
    pub added_latency: Option<Dist>,
    /// Work multiplier per instance (`slowdown` faults).
    pub slowdown: Vec<f64>,
    /// Query time multiplier (`slow_queries` faults; the database only).
    pub query_factor: f64,
    /// What a task's work is multiplied by on each instance: slowdown × query factor.
    pub work_factor: Vec<f64>,
    /// Partitions in force.
    pub partitions: Vec<Partition>,
}

impl FaultEffects {
    /// No fault in force on `n` instances.
    pub fn none(n: usize) -> FaultEffects {
        FaultEffects { slowdown: vec![1.0; n], query_factor: 1.0, work_factor: vec![1.0; n], ..FaultEffects::default() }
    }

    /// Brings `work_factor` up to date after `slowdown` or `query_factor` changed.
    pub fn refresh_work_factor(&mut self) {
        self.work_factor = self.slowdown.iter().map(|s| s * self.query_factor).collect();
    }
}

/// A pool of instances and what faults do to it.
pub(crate) struct Station {
    /// `servers`, a service's name, `storage` or `db`.
    pub name: String,
    /// What it is.
    pub kind: StationKind,
    /// Its instances.
    pub instances: Vec<Instance>,
    /// The next instance round robin gives a call.
    pub cursor: u32,
    /// The program calls to this station run (services; the database picks per query).
    pub program: u16,
    /// Share of calls that fail on their own (`error_rate`).
    pub error_rate: f64,
    /// What the faults in force do to it.
    pub faults: FaultEffects,
    /// Its callers' circuit breaker.
    pub breaker: Option<CircuitBreaker>,
    /// Its callers' retry budget.
    pub budget: Option<RetryBudget>,
    /// Its own rate limit.
    pub limiter: Option<TokenBucket>,
    /// What calls to it did.
    pub stats: ComponentOutcome,
    /// Price of one instance per hour.
    pub price_per_hour: f64,
    /// Price of one call.
    pub price_per_call: f64,
}

impl Station {
    /// A station of `instances`, running `program` for its calls.
    pub fn new(name: &str, kind: StationKind, instances: Vec<Instance>, program: u16, price_per_hour: f64) -> Station {
        let n = instances.len();
        Station {
            name: name.to_string(),
            kind,
            instances,
            cursor: 0,
            program,
            error_rate: 0.0,
            faults: FaultEffects::none(n),
            breaker: None,
            budget: None,
            limiter: None,
            stats: ComponentOutcome::default(),
            price_per_hour,
            price_per_call: 0.0,
        }
    }

    /// The next instance in round-robin order.
    #[inline]
    pub fn next_instance(&mut self) -> u32 {
        let i = self.cursor % self.instances.len() as u32;
        self.cursor = self.cursor.wrapping_add(1);
        i
    }
}

/// What an instance did with an arriving task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// A worker took it now.
    Started,
    /// It waits in the queue.
    Queued,
    /// The queue was full, or the instance is down.
    Refused,
}

/// One instance of a station.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Whether the process is up.
    pub up: bool,
    workers: u32,
    queue_capacity: usize,
    busy: u32,
    queue: VecDeque<u32>,
    busy_offset: u128,
    queued_offset: u128,
    /// Tasks finished.
    pub served: u64,
    /// Tasks refused (full queue or down).
    pub refused: u64,
    /// Longest queue seen.
    pub peak_queue: usize,
}

impl Instance {
    /// An instance with `workers` workers (`u32::MAX`: unlimited) and a queue of
    /// `queue_capacity` (`usize::MAX`: unbounded).
    pub fn new(workers: u32, queue_capacity: usize) -> Self {
        Instance {
            up: true,
            workers,
            queue_capacity,
            busy: 0,
            queue: VecDeque::new(),
            busy_offset: 0,
            queued_offset: 0,
            served: 0,
            refused: 0,
            peak_queue: 0,
        }
    }

    /// A task arrives.
    #[inline]
    pub fn admit(&mut self, now: SimTime, task: u32) -> Admit {
        if !self.up {
            self.refused += 1;
            return Admit::Refused;
        }
        if self.busy < self.workers {
            self.busy += 1;
            self.busy_offset = self.busy_offset.wrapping_sub(now.as_nanos().into());
            Admit::Started
        } else if self.queue.len() < self.queue_capacity {
            self.queue.push_back(task);
            self.queued_offset = self.queued_offset.wrapping_sub(now.as_nanos().into());
            self.peak_queue = self.peak_queue.max(self.queue.len());
            Admit::Queued
        } else {
            self.refused += 1;
            Admit::Refused
        }
    }

    /// A worker finished its task: it takes the next waiting task (returned) or goes idle.
    #[inline]
    pub fn release(&mut self, now: SimTime) -> Option<u32> {
        self.served += 1;
        if let Some(next) = self.queue.pop_front() {
            self.queued_offset = self.queued_offset.wrapping_add(now.as_nanos().into());
            return Some(next);
        }
        self.busy = self.busy.saturating_sub(1);
        self.busy_offset = self.busy_offset.wrapping_add(now.as_nanos().into());
        None
    }

    /// The process dies: every worker and queue slot empties. Returns nothing; the caller
    /// finds the tasks it held by their instance.
    pub fn crash(&mut self, now: SimTime) {
        let t = u128::from(now.as_nanos());
        self.busy_offset = self.busy_offset.wrapping_add(u128::from(self.busy) * t);
        self.queued_offset = self.queued_offset.wrapping_add(self.queue.len() as u128 * t);
        self.busy = 0;
        self.queue.clear();
        self.up = false;
    }

    /// Requests in service plus waiting: what a balancer counts as connections.
    #[inline]
    pub fn connections(&self) -> u32 {
        self.busy + self.queue.len() as u32
    }

    /// Tasks waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Workers (`u32::MAX` when unlimited).
    pub fn workers(&self) -> u32 {
        self.workers
    }

    /// Integrals of busy workers and waiting tasks over time up to `now`, in
    /// worker-nanoseconds and task-nanoseconds.
    pub fn integrals_at(&self, now: SimTime) -> (u128, u128) {
        let t = u128::from(now.as_nanos());
        (
            (u128::from(self.busy) * t).wrapping_add(self.busy_offset),
            (self.queue.len() as u128 * t).wrapping_add(self.queued_offset),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_queues_refuses_and_crashes() {
        let mut i = Instance::new(1, 1);
        assert_eq!(i.admit(SimTime(0), 1), Admit::Started);
        assert_eq!(i.admit(SimTime(1), 2), Admit::Queued);
        assert_eq!(i.admit(SimTime(2), 3), Admit::Refused);
        assert_eq!(i.release(SimTime(10)), Some(2));
        assert_eq!(i.integrals_at(SimTime(10)), (10, 9));
        i.crash(SimTime(20));
        assert_eq!(i.admit(SimTime(21), 4), Admit::Refused);
        assert_eq!(i.integrals_at(SimTime(30)), (20, 9));
        assert_eq!((i.connections(), i.refused), (0, 2));
    }
}
