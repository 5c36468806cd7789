//! Power of d choices: sample d distinct backends, send to the least loaded of them.

use rand::RngExt;

use super::Balancer;
use crate::sim::SimRng;

/// Samples `d` distinct backends uniformly (a partial Fisher–Yates shuffle over a scratch
/// index buffer sized at build time) and picks the one with the fewest connections; among
/// equals, the first sampled wins, which is itself uniformly random.
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
}

impl Balancer for PowerOfChoices {
    fn pick(&mut self, connections: &[u32], rng: &mut SimRng) -> usize {
        let n = connections.len().min(self.indices.len());
        let d = self.d.min(n);
        let mut best = usize::MAX;
        let mut best_load = u32::MAX;
        for k in 0..d {
            let j = rng.random_range(k..n);
            self.indices.swap(k, j);
            let candidate = self.indices[k];
            if connections[candidate] < best_load {
                best = candidate;
                best_load = connections[candidate];
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_d_equal_n_it_is_least_connections() {
        let mut rng = crate::sim::stream(9, "t");
        let mut b = PowerOfChoices::new(4, 4);
        for _ in 0..100 {
            assert_eq!(b.pick(&[3, 1, 2, 9], &mut rng), 1);
        }
    }

    #[test]
    fn never_picks_the_most_loaded_of_two() {
        let mut rng = crate::sim::stream(9, "t");
        let mut b = PowerOfChoices::new(2, 2);
        for _ in 0..100 {
            assert_eq!(b.pick(&[5, 1], &mut rng), 1);
        }
        // With d = 2 of 3, the most loaded backend can never win.
        let mut b = PowerOfChoices::new(3, 2);
        for _ in 0..1_000 {
            assert_ne!(b.pick(&[1, 2, 9], &mut rng), 2);
        }
    }
}
