//! Geographic: the nearest region with a backend in rotation, the least loaded backend
//! within it.

use super::least_connections::least_loaded;
use super::{Backends, Balancer, Client};
use prodsim_kernel::SimRng;

/// Routes each request to the region nearest its client, as a DNS or anycast front door
/// does, and balances by least connections within that region.
///
/// At build time every client region gets a preference order of all regions, by round
/// trip from it (`region_rtt_ns[client][region]`; ties and missing entries by region
/// index, missing ones after every given one), and the backends are grouped by region. A
/// pick walks the client's preference order and takes the first region with a backend in
/// rotation; within it, the backend with the fewest connections, ties uniformly at random.
/// A client region outside the table prefers regions by index.
#[derive(Debug, Clone)]
pub struct Geographic {
    /// Number of regions (backend regions and rtt table columns).
    regions: usize,
    /// Preference orders, `regions` entries per client region, then one by index for
    /// unknown client regions.
    preference: Vec<u16>,
    /// Backend indices grouped by region, in index order within a region.
    members: Vec<usize>,
    /// `members[starts[r]..starts[r + 1]]` are the backends of region r.
    starts: Vec<usize>,
}

impl Geographic {
    /// A balancer over `backends` backends; `backend_region[i]` is backend i's region (0
    /// when missing) and `region_rtt_ns[c][r]` the round trip from client region c to
    /// region r.
    pub fn new(backends: usize, backend_region: &[u16], region_rtt_ns: &[Vec<u64>]) -> Self {
        let region_of = |i: usize| usize::from(backend_region.get(i).copied().unwrap_or(0));
        let regions = (0..backends)
            .map(|i| region_of(i) + 1)
            .chain(region_rtt_ns.iter().map(Vec::len))
            .max()
            .unwrap_or(1)
            .clamp(1, usize::from(u16::MAX) + 1);
        let mut preference = Vec::with_capacity(regions * (region_rtt_ns.len() + 1));
        for row in region_rtt_ns.iter().map(Vec::as_slice).chain(std::iter::once(&[][..])) {
            let start = preference.len();
            preference.extend((0..regions).map(|r| r as u16));
            preference[start..].sort_by_key(|&r| (row.get(usize::from(r)).copied().unwrap_or(u64::MAX), r));
        }
        let mut members: Vec<usize> = (0..backends).collect();
        members.sort_by_key(|&i| (region_of(i), i));
        let mut starts = vec![0; regions + 1];
        for i in 0..backends {
            starts[region_of(i) + 1] += 1;
        }
        for r in 0..regions {
            starts[r + 1] += starts[r];
        }
        Geographic { regions, preference, members, starts }
    }

    /// The regions client region `region` tries, nearest first.
    pub fn preference(&self, region: u16) -> &[u16] {
        let rows = self.preference.len() / self.regions;
        let row = usize::from(region).min(rows - 1);
        &self.preference[row * self.regions..(row + 1) * self.regions]
    }
}

impl Balancer for Geographic {
    fn pick(&mut self, backends: &Backends<'_>, client: &Client, rng: &mut SimRng) -> Option<usize> {
        let connections = backends.connections;
        let all = backends.all_in_rotation();
        for &region in self.preference(client.region) {
            let region = usize::from(region);
            let group = &self.members[self.starts[region]..self.starts[region + 1]];
            let candidates = group
                .iter()
                .copied()
                .filter(|&i| i < connections.len() && (all || backends.is_in_rotation(i)))
                .map(|i| (i, connections[i]));
            if let Some(best) = least_loaded(candidates, rng) {
                return Some(best);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Three regions: 0 (backends 0, 1), 1 (backend 2), 2 (backends 3, 4).
    fn three_regions() -> Geographic {
        let rtt = vec![vec![MS, 80 * MS, 150 * MS], vec![80 * MS, MS, 60 * MS], vec![150 * MS, 60 * MS, MS]];
        Geographic::new(5, &[0, 0, 1, 2, 2], &rtt)
    }

    fn pick(g: &mut Geographic, backends: &Backends<'_>, region: u16, rng: &mut SimRng) -> Option<usize> {
        g.pick(backends, &Client { region, key: 0 }, rng)
    }

    #[test]
    fn preference_orders_follow_round_trips() {
        let g = three_regions();
        assert_eq!(g.preference(0), &[0, 1, 2]);
        assert_eq!(g.preference(1), &[1, 2, 0]);
        assert_eq!(g.preference(2), &[2, 1, 0]);
        // Unknown client regions go by index; equal round trips too.
        assert_eq!(g.preference(9), &[0, 1, 2]);
        let tied = Geographic::new(2, &[1, 0], &[vec![5, 5]]);
        assert_eq!(tied.preference(0), &[0, 1]);
        // No table at all: one region with every backend.
        let single = Geographic::new(3, &[], &[]);
        assert_eq!(single.preference(0), &[0]);
        assert_eq!(single.members, vec![0, 1, 2]);
    }

    #[test]
    fn nearest_region_then_least_connections() {
        let mut rng = prodsim_kernel::stream(6, "t");
        let mut g = three_regions();
        let conns = [4, 2, 9, 0, 1];
        let all = Backends::all(&conns);
        assert_eq!(pick(&mut g, &all, 0, &mut rng), Some(1));
        assert_eq!(pick(&mut g, &all, 1, &mut rng), Some(2));
        assert_eq!(pick(&mut g, &all, 2, &mut rng), Some(3));
        // Ties within a region go either way.
        let mut seen = [0u32; 5];
        for _ in 0..1_000 {
            seen[pick(&mut g, &Backends::all(&[3, 3, 0, 0, 0]), 0, &mut rng).expect("a backend")] += 1;
        }
        assert!(seen[0] > 400 && seen[1] > 400, "{seen:?}");
    }

    #[test]
    fn fails_over_to_the_next_nearest_region() {
        let mut rng = prodsim_kernel::stream(6, "t");
        let mut g = three_regions();
        let conns = [0, 0, 5, 0, 0];
        // Region 0 out entirely: its clients go to region 1 (80 ms), not region 2.
        let rotation = [false, false, true, true, true];
        let some = Backends { connections: &conns, in_rotation: &rotation };
        assert_eq!(pick(&mut g, &some, 0, &mut rng), Some(2));
        // Region 1 out as well: region 2.
        let rotation = [false, false, false, true, false];
        let fewer = Backends { connections: &conns, in_rotation: &rotation };
        assert_eq!(pick(&mut g, &fewer, 0, &mut rng), Some(3));
        let none = Backends { connections: &conns, in_rotation: &[false; 5] };
        assert_eq!(pick(&mut g, &none, 0, &mut rng), None);
    }
}
