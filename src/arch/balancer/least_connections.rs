//! Least connections: join the shortest queue.

use rand::RngExt;

use super::Balancer;
use crate::sim::SimRng;

/// Picks the backend with the fewest connections; ties are broken uniformly at random so no
/// backend is favoured by its position.
#[derive(Debug, Default, Clone, Copy)]
pub struct LeastConnections;

impl Balancer for LeastConnections {
    fn pick(&mut self, connections: &[u32], rng: &mut SimRng) -> usize {
        let mut best = 0;
        let mut best_load = u32::MAX;
        let mut ties = 0u32;
        for (i, &load) in connections.iter().enumerate() {
            if load < best_load {
                best = i;
                best_load = load;
                ties = 1;
            } else if load == best_load {
                // Reservoir sampling over the tied backends.
                ties += 1;
                if rng.random_range(0..ties) == 0 {
                    best = i;
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_least_loaded_and_spreads_ties() {
        let mut rng = crate::sim::stream(5, "t");
        assert_eq!(LeastConnections.pick(&[4, 2, 7, 3], &mut rng), 1);
        let mut seen = [0u32; 3];
        for _ in 0..3_000 {
            seen[LeastConnections.pick(&[1, 5, 1], &mut rng)] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!(seen[0] > 1_300 && seen[2] > 1_300, "{seen:?}");
    }
}
