//! Random: a backend chosen uniformly, blind to load.

use rand::RngExt;

use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// Picks a backend uniformly at random among those in rotation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Random;

impl Balancer for Random {
    #[inline]
    fn pick(&mut self, backends: &Backends<'_>, _client: &Client, rng: &mut SimRng) -> Option<usize> {
        if backends.all_in_rotation() {
            return Some(rng.random_range(0..backends.len()));
        }
        // Count the backends in rotation, draw a rank among them, and find it: one draw,
        // exactly uniform, whatever the share out of rotation.
        let in_rotation = &backends.in_rotation[..backends.in_rotation.len().min(backends.len())];
        let count = in_rotation.iter().filter(|&&r| r).count();
        if count == 0 {
            return None;
        }
        let rank = rng.random_range(0..count);
        in_rotation.iter().enumerate().filter(|(_, r)| **r).nth(rank).map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_backend_evenly() {
        let mut rng = prodsim_kernel::stream(3, "t");
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[Random.pick(&Backends::all(&[0; 4]), &Client::default(), &mut rng).expect("a backend")] += 1;
        }
        assert!(counts.iter().all(|&c| (9_400..10_600).contains(&c)), "{counts:?}");
    }

    #[test]
    fn covers_the_backends_in_rotation_evenly() {
        let mut rng = prodsim_kernel::stream(3, "t");
        let backends = Backends { connections: &[0; 5], in_rotation: &[true, false, true, false, true] };
        let mut counts = [0u32; 5];
        for _ in 0..30_000 {
            counts[Random.pick(&backends, &Client::default(), &mut rng).expect("a backend")] += 1;
        }
        assert_eq!((counts[1], counts[3]), (0, 0));
        assert!([counts[0], counts[2], counts[4]].iter().all(|&c| (9_400..10_600).contains(&c)), "{counts:?}");
        let none = Backends { connections: &[0; 2], in_rotation: &[false; 2] };
        assert_eq!(Random.pick(&none, &Client::default(), &mut rng), None);
    }
}
