//! Power of d choices: sample d distinct backends, send to the least loaded of them.

use rand::RngExt;

use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// Samples `d` distinct backends uniformly (a partial Fisher–Yates shuffle over a scratch
/// index buffer sized at build time) and picks the one with the fewest connections; among
/// equals, the first sampled wins, which is itself uniformly random.
///
/// Backends out of rotation are passed over while shuffling: the first `d` backends in
/// rotation of a uniformly random order are a uniformly random `d`-subset of them.
#[derive(Debug, Clone)]
pub struct PowerOfChoices {
    d: usize,
    indices: Vec<usize>,
}

impl PowerOfChoices {
    /// A balancer over `backends` backends sampling `d` of them (clamped to 1..=backends).
    pub fn new(backends: usize, d: usize) -> Self {
        PowerOfChoices { d: d.clamp(1, backends.max(1)), indices: (0..backends).collect() }
    }

    /// The least loaded of the first `d` sampled backends that pass `in_rotation`.
    #[inline(always)]
    fn sample(&mut self, connections: &[u32], rng: &mut SimRng, in_rotation: impl Fn(usize) -> bool) -> Option<usize> {
        let n = connections.len().min(self.indices.len());
        let d = self.d.min(n);
        let mut best = None;
        let mut best_load = u64::MAX;
        let mut found = 0;
        let mut k = 0;
        while found < d && k < n {
            let j = rng.random_range(k..n);
            self.indices.swap(k, j);
            let candidate = self.indices[k];
            k += 1;
            if !in_rotation(candidate) {
                continue;
            }
            found += 1;
            if u64::from(connections[candidate]) < best_load {
                best = Some(candidate);
                best_load = u64::from(connections[candidate]);
            }
        }
        best
    }
}

impl Balancer for PowerOfChoices {
    #[inline]
    fn pick(&mut self, backends: &Backends<'_>, _client: &Client, rng: &mut SimRng) -> Option<usize> {
        if backends.all_in_rotation() {
            self.sample(backends.connections, rng, |_| true)
        } else {
            self.sample(backends.connections, rng, |i| backends.is_in_rotation(i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(b: &mut PowerOfChoices, conns: &[u32], rng: &mut SimRng) -> usize {
        b.pick(&Backends::all(conns), &Client::default(), rng).expect("a backend")
    }

    #[test]
    fn with_d_equal_n_it_is_least_connections() {
        let mut rng = prodsim_kernel::stream(9, "t");
        let mut b = PowerOfChoices::new(4, 4);
        for _ in 0..100 {
            assert_eq!(pick(&mut b, &[3, 1, 2, 9], &mut rng), 1);
        }
    }

    #[test]
    fn never_picks_the_most_loaded_of_two() {
        let mut rng = prodsim_kernel::stream(9, "t");
        let mut b = PowerOfChoices::new(2, 2);
        for _ in 0..100 {
            assert_eq!(pick(&mut b, &[5, 1], &mut rng), 1);
        }
        // With d = 2 of 3, the most loaded backend can never win.
        let mut b = PowerOfChoices::new(3, 2);
        for _ in 0..1_000 {
            assert_ne!(pick(&mut b, &[1, 2, 9], &mut rng), 2);
        }
    }

    #[test]
    fn samples_only_backends_in_rotation() {
        let mut rng = prodsim_kernel::stream(9, "t");
        let mut b = PowerOfChoices::new(5, 2);
        let conns = [0, 1, 5, 0, 7];
        // In rotation: 1, 2 and 4. With d = 2 of those three, 4 (the most loaded) never
        // wins and 1 wins whenever it is sampled (two thirds of the time).
        let backends = Backends { connections: &conns, in_rotation: &[false, true, true, false, true] };
        let mut seen = [0u32; 5];
        for _ in 0..3_000 {
            seen[b.pick(&backends, &Client::default(), &mut rng).expect("a backend")] += 1;
        }
        assert_eq!([seen[0], seen[3], seen[4]], [0, 0, 0], "{seen:?}");
        assert!((1_850..2_150).contains(&seen[1]), "{seen:?}");
        // One backend in rotation: it is the answer whatever d; none: no answer.
        let one = Backends { connections: &conns, in_rotation: &[false, false, false, false, true] };
        assert_eq!(b.pick(&one, &Client::default(), &mut rng), Some(4));
        let none = Backends { connections: &conns, in_rotation: &[false; 5] };
        assert_eq!(b.pick(&none, &Client::default(), &mut rng), None);
        // The scratch buffer is still a permutation.
        let mut sorted = b.indices.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
    }
}
