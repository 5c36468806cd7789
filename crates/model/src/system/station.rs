//! A station: a named pool of instances, each with workers and a FIFO queue of tasks.
//!
//! App servers, internal services, third-party APIs, the object storage and the database
//! are all stations; they differ in their programs and in what faults do to them. An
//! instance keeps the time integrals behind utilization and mean queue length in the
//! summed-by-parts form `arch::Server` documents.

use std::collections::VecDeque;

use prodsim_kernel::SimTime;

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
