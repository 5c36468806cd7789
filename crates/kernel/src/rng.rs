//! Seeded random streams, one per component.
//!
//! Every component draws from its own stream derived from (scenario seed, component name),
//! so adding a component never shifts another component's draws. The generator is named
//! (PCG 64-bit MCG, `rand_pcg::Pcg64Mcg`) and seeded through `from_seed` with bytes we
//! derive ourselves, so a seed reproduces the same run on every platform and every version.

use rand::SeedableRng;

/// The generator every component uses.
pub type SimRng = rand_pcg::Pcg64Mcg;

/// SplitMix64 finaliser: a bijective mix of 64 bits.
#[inline]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over the component name: stable across platforms and compiler versions.
fn fnv1a(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The random stream of component `component` in a run seeded with `seed`.
pub fn stream(seed: u64, component: &str) -> SimRng {
    let a = splitmix64(seed ^ splitmix64(fnv1a(component)));
    let b = splitmix64(a ^ 0xD1B5_4A32_D192_ED03);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    SimRng::from_seed(bytes)
}

/// A seed derived from a base seed and an index, for replications and generated cases.
pub fn derive_seed(base: u64, index: u64) -> u64 {
    splitmix64(base ^ splitmix64(index.wrapping_add(0x5EED)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_stable_and_independent() {
        let mut a1 = stream(42, "workload.visitors");
        let mut a2 = stream(42, "workload.visitors");
        let mut b = stream(42, "balancer");
        let mut c = stream(43, "workload.visitors");
        let x1: u64 = a1.random();
        assert_eq!(x1, a2.random::<u64>());
        assert_ne!(x1, b.random::<u64>());
        assert_ne!(x1, c.random::<u64>());
    }

    #[test]
    fn stream_values_never_change() {
        // Pinned: if this fails, every published seed stops reproducing.
        let mut r = stream(1, "x");
        let v: u64 = r.random();
        assert_eq!(v, PINNED);
    }
    const PINNED: u64 = 1_962_601_779_450_738_084;

    #[test]
    fn derived_seeds_differ() {
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_eq!(derive_seed(7, 3), derive_seed(7, 3));
    }
}
