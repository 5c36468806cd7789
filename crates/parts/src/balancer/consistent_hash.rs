//! Consistent hashing: the same key goes to the same backend, and removing a backend moves
//! only the keys it owned.

use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// Points on the ring per backend when the setup gives none.
pub const DEFAULT_VIRTUAL_NODES: u32 = 100;

/// A hash ring (Karger et al.) with virtual nodes. At build time every backend gets
/// `virtual_nodes` points on a 64-bit ring, `splitmix64(backend << 32 | vnode)` (a bijection,
/// so no two points collide), kept in a sorted `Vec`. A pick hashes the client's key onto
/// the ring, finds the first point at or after it by binary search and walks clockwise to
/// the first point whose backend is in rotation. A backend out of rotation hands each of
/// its keys to the next backend along the ring; every other key stays where it was.
///
/// The strategy never draws from its random stream: the key alone decides.
#[derive(Debug, Clone)]
pub struct ConsistentHash {
    /// (point, backend), sorted by point.
    ring: Vec<(u64, u32)>,
}

impl ConsistentHash {
    /// A ring over `backends` backends with `virtual_nodes` points each (0 means
    /// [`DEFAULT_VIRTUAL_NODES`]).
    pub fn new(backends: usize, virtual_nodes: u32) -> Self {
        let vnodes = if virtual_nodes == 0 { DEFAULT_VIRTUAL_NODES } else { virtual_nodes };
        let backends = u32::try_from(backends).unwrap_or(u32::MAX);
        let mut ring: Vec<(u64, u32)> = (0..backends)
            .flat_map(|b| (0..vnodes).map(move |v| (splitmix64((u64::from(b) << 32) | u64::from(v)), b)))
            .collect();
        ring.sort_unstable();
        ConsistentHash { ring }
    }

    /// The position of `key` on the ring.
    #[inline]
    fn hash_key(key: u64) -> u64 {
        // A different constant from the points' so key k and backend 0's point k differ.
        splitmix64(key ^ 0x6A09_E667_F3BC_C909)
    }
}

impl Balancer for ConsistentHash {
    fn pick(&mut self, backends: &Backends<'_>, client: &Client, _rng: &mut SimRng) -> Option<usize> {
        let len = self.ring.len();
        if len == 0 {
            return None;
        }
        let h = Self::hash_key(client.key);
        let start = self.ring.partition_point(|&(point, _)| point < h);
        let start = if start == len { 0 } else { start };
        let n = backends.len();
        if backends.all_in_rotation() {
            let b = self.ring[start].1 as usize;
            if b < n {
                return Some(b);
            }
        }
        let (wrapped, from_start) = self.ring.split_at(start);
        from_start.iter().chain(wrapped).map(|&(_, b)| b as usize).find(|&b| backends.is_in_rotation(b))
    }
}

/// SplitMix64's finaliser: a fixed bijective mix of 64 bits, the same on every platform.
#[inline]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(ring: &mut ConsistentHash, backends: &Backends<'_>, key: u64) -> Option<usize> {
        let mut rng = prodsim_kernel::stream(0, "t");
        ring.pick(backends, &Client { region: 0, key }, &mut rng)
    }

    #[test]
    fn the_ring_is_sorted_with_distinct_points() {
        let ring = ConsistentHash::new(7, 0);
        assert_eq!(ring.ring.len(), 700);
        assert!(ring.ring.windows(2).all(|w| w[0].0 < w[1].0));
        // Pinned: the layout of the ring never changes, or every published seed stops
        // reproducing.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn the_same_key_goes_to_the_same_backend_and_keys_spread() {
        let conns = [0u32; 8];
        let all = Backends::all(&conns);
        let mut ring = ConsistentHash::new(8, 0);
        let mut counts = [0u32; 8];
        for key in 0..80_000 {
            let b = owner(&mut ring, &all, key).expect("a backend");
            assert_eq!(owner(&mut ring, &all, key), Some(b));
            counts[b] += 1;
        }
        // 100 virtual nodes per backend keep every share within about 30% of even.
        assert!(counts.iter().all(|&c| (7_000..13_000).contains(&c)), "{counts:?}");
    }

    #[test]
    fn removing_a_backend_moves_only_its_keys() {
        let conns = [0u32; 6];
        let all = Backends::all(&conns);
        let mut ring = ConsistentHash::new(6, 0);
        let before: Vec<usize> = (0..20_000).map(|k| owner(&mut ring, &all, k).expect("a backend")).collect();
        for removed in 0..6 {
            let mut rotation = [true; 6];
            rotation[removed] = false;
            let some = Backends { connections: &conns, in_rotation: &rotation };
            let mut moved = 0;
            for (k, &was) in before.iter().enumerate() {
                let now = owner(&mut ring, &some, k as u64).expect("a backend");
                if was == removed {
                    assert_ne!(now, removed);
                    moved += 1;
                } else {
                    assert_eq!(now, was, "key {k} moved off backend {was} when {removed} left");
                }
            }
            assert!(moved > 0);
        }
        // The explicit all-true rotation agrees with the fast path.
        let full = Backends { connections: &conns, in_rotation: &[true; 6] };
        assert!((0..2_000).all(|k| owner(&mut ring, &full, k) == Some(before[k as usize])));
        let none = Backends { connections: &conns, in_rotation: &[false; 6] };
        assert_eq!(owner(&mut ring, &none, 1), None);
    }
}
