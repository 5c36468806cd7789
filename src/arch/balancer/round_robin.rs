//! Round robin: each backend in turn, blind to load.

use super::Balancer;
use crate::sim::SimRng;

/// Sends request k to backend k mod n.
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
    fn pick(&mut self, connections: &[u32], _rng: &mut SimRng) -> usize {
        // A compare instead of `%`: an integer division per request is measurable.
        let i = if self.next >= connections.len() { 0 } else { self.next };
        self.next = i + 1;
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles() {
        let mut rng = crate::sim::stream(0, "t");
        let mut b = RoundRobin::new();
        let picks: Vec<usize> = (0..7).map(|_| b.pick(&[9, 0, 0], &mut rng)).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
    }
}
