//! Least connections: join the shortest queue.

use rand::RngExt;

use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// Picks the backend with the fewest connections; ties are broken uniformly at random so no
/// backend is favoured by its position.
#[derive(Debug, Default, Clone, Copy)]
pub struct LeastConnections;

impl Balancer for LeastConnections {
    #[inline]
    fn pick(&mut self, backends: &Backends<'_>, _client: &Client, rng: &mut SimRng) -> Option<usize> {
        let connections = backends.connections;
        if backends.all_in_rotation() {
            least_loaded(connections.iter().copied().enumerate(), rng)
        } else {
            let candidates = connections.iter().zip(backends.in_rotation).enumerate();
            least_loaded(candidates.filter(|(_, (_, in_rotation))| **in_rotation).map(|(i, (&c, _))| (i, c)), rng)
        }
    }
}

/// The index of the least loaded of `candidates` (pairs of backend index and connections),
/// ties broken uniformly at random by reservoir sampling: one draw per tie after the first,
/// none without ties. `None` when there are no candidates.
#[inline]
pub(super) fn least_loaded(candidates: impl Iterator<Item = (usize, u32)>, rng: &mut SimRng) -> Option<usize> {
    // Wider than any load, so the first candidate always takes the lead without a draw.
    let mut best = None;
    let mut best_load = u64::MAX;
    let mut ties = 0u32;
    for (i, load) in candidates {
        let load = u64::from(load);
        if load < best_load {
            best = Some(i);
            best_load = load;
            ties = 1;
        } else if load == best_load {
            // Reservoir sampling over the tied backends.
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = Some(i);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(conns: &[u32], rng: &mut SimRng) -> usize {
        LeastConnections.pick(&Backends::all(conns), &Client::default(), rng).expect("a backend")
    }

    #[test]
    fn picks_the_least_loaded_and_spreads_ties() {
        let mut rng = prodsim_kernel::stream(5, "t");
        assert_eq!(pick(&[4, 2, 7, 3], &mut rng), 1);
        let mut seen = [0u32; 3];
        for _ in 0..3_000 {
            seen[pick(&[1, 5, 1], &mut rng)] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!(seen[0] > 1_300 && seen[2] > 1_300, "{seen:?}");
    }

    #[test]
    fn skips_backends_out_of_rotation() {
        let mut rng = prodsim_kernel::stream(5, "t");
        let conns = [0, 2, 0, 1];
        let backends = Backends { connections: &conns, in_rotation: &[false, true, false, true] };
        for _ in 0..100 {
            assert_eq!(LeastConnections.pick(&backends, &Client::default(), &mut rng), Some(3));
        }
        let none = Backends { connections: &conns, in_rotation: &[false; 4] };
        assert_eq!(LeastConnections.pick(&none, &Client::default(), &mut rng), None);
    }

    #[test]
    fn saturated_backends_are_still_candidates() {
        let mut rng = prodsim_kernel::stream(5, "t");
        assert!(pick(&[u32::MAX, u32::MAX], &mut rng) < 2);
    }
}
