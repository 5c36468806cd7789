//! Random: a backend chosen uniformly, blind to load.

use rand::RngExt;

use super::Balancer;
use crate::sim::SimRng;

/// Picks a backend uniformly at random.
#[derive(Debug, Default, Clone, Copy)]
pub struct Random;

impl Balancer for Random {
    fn pick(&mut self, connections: &[u32], rng: &mut SimRng) -> usize {
        rng.random_range(0..connections.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_backend_evenly() {
        let mut rng = crate::sim::stream(3, "t");
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[Random.pick(&[0; 4], &mut rng)] += 1;
        }
        assert!(counts.iter().all(|&c| (9_400..10_600).contains(&c)), "{counts:?}");
    }
}
