//! Response time: send to the backend expected to answer soonest, learnt from responses.

use rand::RngExt;

use super::{Backends, Balancer, Client};
use prodsim_kernel::{NS_PER_S, SimRng, SimTime};

/// The half-life of the latency average when the setup gives none: 10 s.
pub const DEFAULT_HALF_LIFE_NS: u64 = 10 * NS_PER_S;

/// Peak-EWMA-style load balancing, as Finagle and Linkerd do it: each backend keeps an
/// exponentially weighted moving average of the latency of its successful responses, and a
/// pick takes the backend with the lowest `average × (connections + 1)`, so a fast backend
/// gets more traffic until its queue makes it as slow as the others.
///
/// The average decays with time, not with the number of responses: a response `dt` after
/// the previous one has weight `alpha = 1 - 2^(-dt / half_life)`, so after one half-life
/// the old average counts for half. (Responses at the very same instant as the previous
/// one therefore add nothing.) A backend's first response sets its average. Backends not
/// yet observed have an average of 0, so they are tried first. Failed responses do not
/// update the average: a backend that fails fast must not look fast (ejecting it is the
/// job of outlier detection). Ties, including among untried backends, are broken uniformly
/// at random.
#[derive(Debug, Clone)]
pub struct ResponseTime {
    half_life_ns: f64,
    backends: Vec<Ewma>,
}

/// The latency average of one backend.
#[derive(Debug, Clone, Copy, Default)]
struct Ewma {
    /// Average latency in nanoseconds; 0 until the first observation.
    ns: f64,
    /// When the last observation came; `None` before the first.
    last: Option<SimTime>,
}

impl ResponseTime {
    /// A balancer over `backends` backends whose latency averages halve their memory every
    /// `half_life_ns` (0 means [`DEFAULT_HALF_LIFE_NS`]).
    pub fn new(backends: usize, half_life_ns: u64) -> Self {
        let half_life_ns = if half_life_ns == 0 { DEFAULT_HALF_LIFE_NS } else { half_life_ns };
        ResponseTime { half_life_ns: half_life_ns as f64, backends: vec![Ewma::default(); backends] }
    }

    /// The latency average of `backend` in nanoseconds (0 before its first successful
    /// response).
    pub fn average_ns(&self, backend: usize) -> f64 {
        self.backends.get(backend).map_or(0.0, |e| e.ns)
    }
}

impl Balancer for ResponseTime {
    fn pick(&mut self, backends: &Backends<'_>, _client: &Client, rng: &mut SimRng) -> Option<usize> {
        let n = backends.len().min(self.backends.len());
        let all = backends.all_in_rotation();
        let mut best = None;
        let mut best_cost = f64::INFINITY;
        let mut ties = 0u32;
        for i in 0..n {
            if !(all || backends.is_in_rotation(i)) {
                continue;
            }
            let cost = self.backends[i].ns * (f64::from(backends.connections[i]) + 1.0);
            if cost < best_cost || best.is_none() {
                best = Some(i);
                best_cost = cost;
                ties = 1;
            } else if cost == best_cost {
                // Reservoir sampling over the tied backends.
                ties += 1;
                if rng.random_range(0..ties) == 0 {
                    best = Some(i);
                }
            }
        }
        best
    }

    fn observes(&self) -> bool {
        true
    }

    fn observe(&mut self, backend: usize, now: SimTime, latency_ns: u64, success: bool) {
        let Some(e) = self.backends.get_mut(backend) else { return };
        if !success {
            return;
        }
        let latency = latency_ns as f64;
        match e.last {
            None => e.ns = latency,
            Some(last) => {
                let alpha = 1.0 - (-(now.since(last) as f64) / self.half_life_ns).exp2();
                e.ns += alpha * (latency - e.ns);
            }
        }
        e.last = Some(now.max(e.last.unwrap_or(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn untried_backends_come_first_then_the_fastest() {
        let mut rng = prodsim_kernel::stream(4, "t");
        let mut b = ResponseTime::new(3, 0);
        let conns = [0; 3];
        // All untried: ties at random, every backend gets some.
        let mut seen = [0u32; 3];
        for _ in 0..300 {
            seen[b.pick(&Backends::all(&conns), &Client::default(), &mut rng).expect("a backend")] += 1;
        }
        assert!(seen.iter().all(|&c| c > 60), "{seen:?}");
        b.observe(0, SimTime(MS), 50 * MS, true);
        b.observe(1, SimTime(MS), 10 * MS, true);
        // Backend 2 is untried, so it goes first; once observed, the fastest wins.
        assert_eq!(b.pick(&Backends::all(&conns), &Client::default(), &mut rng), Some(2));
        b.observe(2, SimTime(MS), 30 * MS, true);
        assert_eq!(b.pick(&Backends::all(&conns), &Client::default(), &mut rng), Some(1));
        // Connections weigh in: 10 ms × 4 is worse than 30 ms × 1.
        assert_eq!(b.pick(&Backends::all(&[0, 3, 0]), &Client::default(), &mut rng), Some(2));
        // Out of rotation, the fastest is passed over.
        let rotation = [true, false, false];
        assert_eq!(
            b.pick(&Backends { connections: &conns, in_rotation: &rotation }, &Client::default(), &mut rng),
            Some(0)
        );
    }

    #[test]
    fn the_average_decays_with_time() {
        let half = 10 * NS_PER_S;
        let mut b = ResponseTime::new(1, half);
        b.observe(0, SimTime(0), 100 * MS, true);
        assert_eq!(b.average_ns(0), 100.0 * MS as f64);
        // One half-life later, a 20 ms response pulls the average halfway.
        b.observe(0, SimTime(half), 20 * MS, true);
        assert!((b.average_ns(0) - 60.0 * MS as f64).abs() < 1.0, "{}", b.average_ns(0));
        // At the same instant, another response adds nothing; a failure never counts.
        b.observe(0, SimTime(half), 0, true);
        b.observe(0, SimTime(3 * half), 0, false);
        assert!((b.average_ns(0) - 60.0 * MS as f64).abs() < 1.0, "{}", b.average_ns(0));
        // Long after, the new response is nearly all that counts.
        b.observe(0, SimTime(30 * half), 5 * MS, true);
        assert!((b.average_ns(0) - 5.0 * MS as f64).abs() < 0.01 * MS as f64, "{}", b.average_ns(0));
        // Unknown backends are ignored.
        b.observe(7, SimTime(0), 1, true);
        assert_eq!(b.average_ns(7), 0.0);
    }

    #[test]
    fn steers_to_the_faster_backend() {
        // Two single-worker FIFO backends taking 10 ms and 40 ms per request, a request
        // every 9 ms (more than the fast one can serve): responses are fed back when they complete.
        let mut rng = prodsim_kernel::stream(4, "t");
        let mut b = ResponseTime::new(2, NS_PER_S);
        let service = [10 * MS, 40 * MS];
        let mut busy_until = [SimTime::ZERO; 2];
        let mut pending: Vec<(SimTime, usize, u64)> = Vec::new();
        let mut picks = [0u32; 2];
        for k in 0..20_000u64 {
            let now = SimTime(k * 9 * MS);
            pending.sort_unstable_by_key(|p| std::cmp::Reverse(p.0));
            while pending.last().is_some_and(|p| p.0 <= now) {
                let (at, i, latency) = pending.pop().expect("pending");
                b.observe(i, at, latency, true);
            }
            let mut conns = [0u32; 2];
            pending.iter().for_each(|p| conns[p.1] += 1);
            let i = b.pick(&Backends::all(&conns), &Client::default(), &mut rng).expect("a backend");
            picks[i] += 1;
            let done = busy_until[i].max(now).after(service[i]);
            busy_until[i] = done;
            pending.push((done, i, done.since(now)));
        }
        // Backend 0 serves at most 100 of the 111 requests per second: it should get nearly
        // all it can take, and backend 1 about the tenth left over.
        assert!((17_000..19_000).contains(&picks[0]) && picks[1] > 1_000, "{picks:?}");
    }
}
