//! An app server: a pool of workers in front of a FIFO queue.
//!
//! Sans-IO: the server decides whether a request starts, waits or is rejected, and keeps the
//! time integrals behind utilization and mean queue length. It does not sample service times
//! or schedule anything; the engine does that with what the server returns.

use std::collections::VecDeque;

use prodsim_kernel::SimTime;

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
///
/// The time integrals behind utilization and mean queue length are kept in summed-by-parts
/// form, which needs no multiplication on the hot path: for a step function `n(t)` that
/// starts at 0 and changes by `Δⱼ` at times `tⱼ`,
/// `∫₀ᵗ n = n(t)·t − Σⱼ Δⱼ·tⱼ`. Every change is ±1, so the sum is kept by adding or
/// subtracting the time of each change; [`Server::integrals_at`] adds the `n(t)·t` term.
/// The arithmetic is exact integer arithmetic (wrapping, as the running sum is negative),
/// so the integrals are bit-for-bit those of accumulating `n·Δt` at every change, which
/// cost two 128-bit multiplies per event.
#[derive(Debug, Clone)]
pub struct Server {
    workers: u32,
    queue_capacity: usize,
    busy: u32,
    queue: VecDeque<Request>,
    /// `−Σ Δⱼ·tⱼ` over changes of `busy`, wrapping.
    busy_offset: u128,
    /// `−Σ Δⱼ·tⱼ` over changes of the queue length, wrapping.
    queued_offset: u128,
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
            busy_offset: 0,
            queued_offset: 0,
            served: 0,
            rejected: 0,
        }
    }

    /// A request arrives: a free worker takes it, or it waits, or it is rejected.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, request: Request) -> Admission {
        if self.busy < self.workers {
            self.busy += 1;
            self.busy_offset = self.busy_offset.wrapping_sub(now.as_nanos().into());
            Admission::Started
        } else if self.queue.len() < self.queue_capacity {
            self.queue.push_back(request);
            self.queued_offset = self.queued_offset.wrapping_sub(now.as_nanos().into());
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
        debug_assert!(self.busy > 0, "finish() on an idle server");
        self.served += 1;
        while let Some(next) = self.queue.pop_front() {
            self.queued_offset = self.queued_offset.wrapping_add(now.as_nanos().into());
            if now.since(next.arrived) >= deadline_ns {
                on_expired(next);
                continue;
            }
            // The freed worker takes it: `busy` is unchanged.
            return Some(next);
        }
        if self.busy > 0 {
            self.busy -= 1;
            self.busy_offset = self.busy_offset.wrapping_add(now.as_nanos().into());
        }
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
        let t = u128::from(now.as_nanos());
        Integrals {
            busy_ns: (u128::from(self.busy) * t).wrapping_add(self.busy_offset),
            queued_ns: (self.queue.len() as u128 * t).wrapping_add(self.queued_offset),
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

    proptest::proptest! {
        /// The summed-by-parts integrals equal the sum of `n·Δt` over every interval.
        #[test]
        fn integrals_match_a_step_by_step_sum(ops in proptest::collection::vec((proptest::bool::ANY, 0u64..1_000_000_000), 1..200)) {
            let mut s = Server::new(3, 4);
            let (mut now, mut busy_ns, mut queued_ns) = (0u64, 0u128, 0u128);
            for (arrive, dt) in ops {
                busy_ns += u128::from(s.busy()) * u128::from(dt);
                queued_ns += s.queue_len() as u128 * u128::from(dt);
                now += dt;
                if arrive {
                    s.arrive(SimTime(now), req(now));
                } else if s.busy() > 0 {
                    s.finish(SimTime(now), 2_000_000_000, |_| {});
                }
                proptest::prop_assert_eq!(s.integrals_at(SimTime(now)), Integrals { busy_ns, queued_ns });
            }
            let end = now + 12_345;
            busy_ns += u128::from(s.busy()) * 12_345;
            queued_ns += s.queue_len() as u128 * 12_345;
            proptest::prop_assert_eq!(s.integrals_at(SimTime(end)), Integrals { busy_ns, queued_ns });
        }
    }
}
