//! An app server: a pool of workers in front of a FIFO queue.
//!
//! Sans-IO: the server decides whether a request starts, waits or is rejected, and keeps the
//! time integrals behind utilization and mean queue length. It does not sample service times
//! or schedule anything; the world does that with what the server returns.

use std::collections::VecDeque;

use crate::sim::SimTime;

/// A request as a server holds it while it waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// When the request arrived at the system.
    pub arrived: SimTime,
    /// The work it needs once a worker takes it, in nanoseconds.
    pub service_ns: u64,
}

/// What a server did with an arriving request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A worker was free and took it now.
    Started,
    /// All workers were busy; it waits in the queue.
    Queued,
    /// All workers were busy and the queue was full.
    Rejected,
}

/// One app server.
#[derive(Debug, Clone)]
pub struct Server {
    workers: u32,
    queue_capacity: usize,
    busy: u32,
    queue: VecDeque<Request>,
    last_change: SimTime,
    busy_ns: u128,
    queued_ns: u128,
    served: u64,
    rejected: u64,
}

/// Time integrals of a server up to some instant, for utilization and mean queue length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Integrals {
    /// Integral of busy workers over time, in worker-nanoseconds.
    pub busy_ns: u128,
    /// Integral of waiting requests over time, in request-nanoseconds.
    pub queued_ns: u128,
}

impl Server {
    /// A server with `workers` workers and room for `queue_capacity` waiting requests
    /// (`usize::MAX` for unbounded).
    pub fn new(workers: u32, queue_capacity: usize) -> Self {
        Server {
            workers,
            queue_capacity,
            busy: 0,
            queue: VecDeque::new(),
            last_change: SimTime::ZERO,
            busy_ns: 0,
            queued_ns: 0,
            served: 0,
            rejected: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: SimTime) {
        let dt = u128::from(now.since(self.last_change));
        self.busy_ns += u128::from(self.busy) * dt;
        self.queued_ns += self.queue.len() as u128 * dt;
        self.last_change = now;
    }

    /// A request arrives: a free worker takes it, or it waits, or it is rejected.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, request: Request) -> Admission {
        self.advance(now);
        if self.busy < self.workers {
            self.busy += 1;
            Admission::Started
        } else if self.queue.len() < self.queue_capacity {
            self.queue.push_back(request);
            Admission::Queued
        } else {
            self.rejected += 1;
            Admission::Rejected
        }
    }

    /// A worker finished its request. It takes the oldest waiting request whose deadline
    /// (`deadline_ns` after its arrival) has not passed and returns it, so the caller can
    /// schedule its end; requests found expired are handed to `on_expired` and skipped,
    /// because their client has already given up.
    #[inline]
    pub fn finish(&mut self, now: SimTime, deadline_ns: u64, mut on_expired: impl FnMut(Request)) -> Option<Request> {
        self.advance(now);
        debug_assert!(self.busy > 0, "finish() on an idle server");
        self.served += 1;
        while let Some(next) = self.queue.pop_front() {
            if now.since(next.arrived) >= deadline_ns {
                on_expired(next);
                continue;
            }
            // The freed worker takes it: `busy` is unchanged.
            return Some(next);
        }
        self.busy = self.busy.saturating_sub(1);
        None
    }

    /// Requests being served plus requests waiting: what a balancer counts as connections.
    #[inline]
    pub fn connections(&self) -> u32 {
        self.busy + self.queue.len() as u32
    }

    /// Workers serving a request now.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Number of workers.
    pub fn workers(&self) -> u32 {
        self.workers
    }

    /// Requests waiting now.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Requests this server has finished serving.
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Requests this server turned away because its queue was full.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The time integrals up to `now` (which must not precede the last change).
    pub fn integrals_at(&self, now: SimTime) -> Integrals {
        let dt = u128::from(now.since(self.last_change));
        Integrals {
            busy_ns: self.busy_ns + u128::from(self.busy) * dt,
            queued_ns: self.queued_ns + self.queue.len() as u128 * dt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(t: u64) -> Request {
        Request { arrived: SimTime(t), service_ns: 10 }
    }

    #[test]
    fn expired_waiting_requests_are_skipped() {
        let mut s = Server::new(1, 10);
        s.arrive(SimTime(0), req(0));
        s.arrive(SimTime(1), req(1));
        s.arrive(SimTime(8), req(8));
        let mut expired = vec![];
        // Deadline 5 ns: at t = 10 the request from t = 1 has expired, the one from t = 8 has not.
        assert_eq!(s.finish(SimTime(10), 5, |r| expired.push(r)), Some(req(8)));
        assert_eq!(expired, vec![req(1)]);
        assert_eq!(s.busy(), 1);
    }

    #[test]
    fn admits_queues_then_rejects() {
        let mut s = Server::new(1, 1);
        assert_eq!(s.arrive(SimTime(0), req(0)), Admission::Started);
        assert_eq!(s.arrive(SimTime(1), req(1)), Admission::Queued);
        assert_eq!(s.arrive(SimTime(2), req(2)), Admission::Rejected);
        assert_eq!(s.connections(), 2);
        assert_eq!(s.finish(SimTime(10), u64::MAX, |_| panic!("nothing expires")), Some(req(1)));
        assert_eq!(s.finish(SimTime(20), u64::MAX, |_| panic!("nothing expires")), None);
        assert_eq!((s.served(), s.rejected(), s.busy()), (2, 1, 0));
        // Busy from 0 to 20; one waiting from 1 to 10.
        let i = s.integrals_at(SimTime(40));
        assert_eq!(i, Integrals { busy_ns: 20, queued_ns: 9 });
    }
}
