//! Round robin: each backend in turn, blind to load.

use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// Sends request k to backend k mod n; backends out of rotation are skipped (the next one
/// in rotation after the cursor takes the turn).
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: usize,
}

impl RoundRobin {
    /// Starts at backend 0.
    pub fn new() -> Self {
        RoundRobin { next: 0 }
    }
}

impl Balancer for RoundRobin {
    #[inline]
    fn pick(&mut self, backends: &Backends<'_>, _client: &Client, _rng: &mut SimRng) -> Option<usize> {
        let n = backends.len();
        // A compare instead of `%`: an integer division per request is measurable.
        let mut i = if self.next >= n { 0 } else { self.next };
        if !backends.all_in_rotation() {
            let mut tried = 0;
            while !backends.is_in_rotation(i) {
                tried += 1;
                if tried >= n {
                    return None;
                }
                i = if i + 1 >= n { 0 } else { i + 1 };
            }
        }
        self.next = i + 1;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles() {
        let mut rng = prodsim_kernel::stream(0, "t");
        let mut b = RoundRobin::new();
        let picks: Vec<usize> =
            (0..7).filter_map(|_| b.pick(&Backends::all(&[9, 0, 0]), &Client::default(), &mut rng)).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn skips_backends_out_of_rotation() {
        let mut rng = prodsim_kernel::stream(0, "t");
        let mut b = RoundRobin::new();
        let backends = Backends { connections: &[0; 4], in_rotation: &[false, true, false, true] };
        let picks: Vec<usize> = (0..5).filter_map(|_| b.pick(&backends, &Client::default(), &mut rng)).collect();
        assert_eq!(picks, vec![1, 3, 1, 3, 1]);
        let none = Backends { connections: &[0; 4], in_rotation: &[false; 4] };
        assert_eq!(b.pick(&none, &Client::default(), &mut rng), None);
        // Back to all in rotation: the cursor carries on after the last pick.
        let picks: Vec<usize> =
            (0..3).filter_map(|_| b.pick(&Backends::all(&[0; 4]), &Client::default(), &mut rng)).collect();
        assert_eq!(picks, vec![2, 3, 0]);
    }
}
