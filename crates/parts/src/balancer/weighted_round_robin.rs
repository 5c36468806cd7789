//! Weighted round robin: each backend in turn as often as its weight, interleaved.

use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// nginx's smooth weighted round robin. Every pick adds each backend's weight to its
/// running score, takes the backend with the highest score (the first on ties) and takes
/// the total weight off the winner's score. Over any `sum of weights` consecutive picks each
/// backend is picked exactly as often as its weight, and picks of a heavy backend are spread
/// out instead of coming in a burst: weights 5, 1, 1 give `a a b a c a a`.
///
/// Backends out of rotation, and backends of weight 0, take no part: their scores stand
/// still until they are back. Weights are static (nginx's lowering of the effective weight
/// after failures is not modelled).
#[derive(Debug, Clone)]
pub struct WeightedRoundRobin {
    weights: Vec<i64>,
    current: Vec<i64>,
}

impl WeightedRoundRobin {
    /// A balancer over `backends` backends; `weights[i]` is backend i's weight, 1 when the
    /// list is empty or shorter.
    pub fn new(backends: usize, weights: &[u32]) -> Self {
        let weights = (0..backends).map(|i| i64::from(weights.get(i).copied().unwrap_or(1))).collect();
        WeightedRoundRobin { weights, current: vec![0; backends] }
    }
}

impl Balancer for WeightedRoundRobin {
    fn pick(&mut self, backends: &Backends<'_>, _client: &Client, _rng: &mut SimRng) -> Option<usize> {
        let n = backends.len().min(self.weights.len());
        let all = backends.all_in_rotation();
        let mut best: Option<usize> = None;
        let mut best_score = i64::MIN;
        let mut total = 0i64;
        for i in 0..n {
            let weight = self.weights[i];
            if weight == 0 || !(all || backends.is_in_rotation(i)) {
                continue;
            }
            self.current[i] += weight;
            total += weight;
            if self.current[i] > best_score {
                best = Some(i);
                best_score = self.current[i];
            }
        }
        if let Some(b) = best {
            self.current[b] -= total;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(b: &mut WeightedRoundRobin, backends: &Backends<'_>, count: usize) -> Vec<usize> {
        let mut rng = prodsim_kernel::stream(0, "t");
        (0..count).map(|_| b.pick(backends, &Client::default(), &mut rng).expect("a backend")).collect()
    }

    #[test]
    fn smooth_sequence_as_nginx() {
        let mut b = WeightedRoundRobin::new(3, &[5, 1, 1]);
        let seq = picks(&mut b, &Backends::all(&[0; 3]), 14);
        assert_eq!(seq, vec![0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn equal_weights_are_round_robin() {
        let mut b = WeightedRoundRobin::new(3, &[]);
        assert_eq!(picks(&mut b, &Backends::all(&[0; 3]), 6), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn shares_follow_weights_over_every_window() {
        let weights = [3, 0, 2, 7];
        let mut b = WeightedRoundRobin::new(4, &weights);
        let seq = picks(&mut b, &Backends::all(&[0; 4]), 12 * 50);
        for window in seq.chunks(12) {
            let mut counts = [0u32; 4];
            window.iter().for_each(|&i| counts[i] += 1);
            assert_eq!(counts, weights);
        }
    }

    #[test]
    fn skips_backends_out_of_rotation_and_weight_zero() {
        let mut b = WeightedRoundRobin::new(3, &[2, 1, 1]);
        let rotation = [false, true, true];
        let seq = picks(&mut b, &Backends { connections: &[0; 3], in_rotation: &rotation }, 4);
        assert_eq!(seq, vec![1, 2, 1, 2]);
        let mut rng = prodsim_kernel::stream(0, "t");
        let none = Backends { connections: &[0; 3], in_rotation: &[true, false, false] };
        let mut zero = WeightedRoundRobin::new(3, &[0, 1, 1]);
        assert_eq!(zero.pick(&none, &Client::default(), &mut rng), None);
    }
}
