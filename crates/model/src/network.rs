//! The network between users and app servers: which region a request comes from, the round
//! trip it pays to the region that serves it (its own, or another one farther away), and
//! the retransmission timeouts that packet loss costs.

use prodsim_kernel::{Dist, Draws, NS_PER_MS};
use prodsim_scenario::topology::{ClientSpec, Network};

/// The minimum retransmission timeout (Linux's `TCP_RTO_MIN`, 200 ms).
pub const MIN_RTO_NS: u64 = 200 * NS_PER_MS;

/// Most retransmissions one exchange pays for (after that the connection is given up on,
/// which the caller's timeout accounts for).
const MAX_RETRANSMISSIONS: u32 = 6;

/// Regions and the network, ready to sample.
#[derive(Debug)]
pub struct NetworkState {
    /// Cumulative user shares by region, for spreading requests over regions.
    cumulative_share: Vec<f64>,
    /// Each workload's region, if pinned.
    workload_region: Vec<Option<u16>>,
    /// Round trip of each region's users to their own region.
    rtt: Vec<Dist>,
    /// Packet loss per region.
    loss: Vec<f64>,
    /// Region of each app server.
    pub server_region: Vec<u16>,
    /// Extra round trip from users of region c to servers of region r.
    cross_rtt_ns: Vec<Vec<u64>>,
}

impl NetworkState {
    /// The network of `net`, for workloads `clients`.
    pub fn new(net: &Network, clients: &[ClientSpec]) -> Self {
        let mut total = 0.0;
        NetworkState {
            cumulative_share: net
                .regions
                .iter()
                .map(|r| {
                    total += r.share;
                    total
                })
                .collect(),
            workload_region: clients.iter().map(|c| c.region).collect(),
            rtt: net.regions.iter().map(|r| r.rtt.clone()).collect(),
            loss: net.regions.iter().map(|r| r.loss).collect(),
            server_region: net.server_region.clone(),
            cross_rtt_ns: net.cross_rtt_ns.clone(),
        }
    }

    /// Number of regions.
    pub fn regions(&self) -> usize {
        self.rtt.len()
    }

    /// The region a request of workload `w` comes from (drawn from `draws` unless the
    /// workload is pinned to one).
    pub fn client_region(&self, w: usize, draws: impl FnOnce() -> Draws) -> u16 {
        if let Some(Some(r)) = self.workload_region.get(w) {
            return *r;
        }
        let n = self.cumulative_share.len();
        if n == 1 {
            return 0;
        }
        let u = draws().unit() * self.cumulative_share[n - 1];
        self.cumulative_share.partition_point(|&c| c <= u).min(n - 1) as u16
    }

    /// The time a request from `region` spends on the network when `server` (or, for
    /// `None`, the front door of its own region) answers it: the users' round trip, the
    /// extra round trip to another region, and a retransmission timeout per lost packet.
    pub fn round_trip_ns(&self, region: u16, server: Option<usize>, draws: &mut Draws) -> u64 {
        let r = usize::from(region);
        let mut ns = self.rtt[r].sample_ns(draws);
        if let Some(s) = server {
            // Servers an autoscaler adds beyond `[servers].count` are in the first region.
            let to = usize::from(self.server_region.get(s).copied().unwrap_or(0));
            ns += self.cross_rtt_ns[r][to];
        }
        let loss = self.loss[r];
        if loss > 0.0 {
            // Each lost packet waits a retransmission timeout (at least 200 ms, and more on
            // a long path), and the retransmission may be lost again.
            let rto = MIN_RTO_NS.max(2 * ns);
            let mut tries = 0;
            while tries < MAX_RETRANSMISSIONS && draws.chance(loss) {
                ns += rto << tries;
                tries += 1;
            }
        }
        ns
    }

    /// The balancer's view of distances: round trip from client region c to region r (the
    /// mean own round trip on the diagonal).
    pub fn distance_matrix(&self) -> Vec<Vec<u64>> {
        self.cross_rtt_ns
            .iter()
            .enumerate()
            .map(|(c, row)| row.iter().enumerate().map(|(r, &x)| if c == r { 0 } else { x.max(1) }).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::{Keyed, Purpose, Streams};
    use prodsim_scenario::topology::RegionSpec;

    static KEYS: std::sync::LazyLock<Keyed> = std::sync::LazyLock::new(|| Streams::new(1).keyed(Purpose::Test, ""));

    fn network(loss: f64) -> NetworkState {
        let region = |name: &str, share, first, rtt_ms: u64| RegionSpec {
            name: name.into(),
            share,
            servers: 2,
            first_server: first,
            rtt: Dist::constant(rtt_ms * 1_000_000),
            loss,
        };
        let net = Network {
            regions: vec![region("us", 3.0, 0, 20), region("eu", 1.0, 2, 30)],
            server_region: vec![0, 0, 1, 1],
            cross_rtt_ns: vec![vec![0, 80_000_000], vec![80_000_000, 0]],
        };
        let clients = [ClientSpec::default(), ClientSpec { region: Some(1), closed: None }];
        NetworkState::new(&net, &clients)
    }

    #[test]
    fn users_spread_by_share_unless_pinned() {
        let n = network(0.0);
        let us = (0..40_000).filter(|&k| n.client_region(0, || KEYS.draws(k)) == 0).count();
        assert!((29_000..31_000).contains(&us), "{us}");
        assert!((0..100).all(|k| n.client_region(1, || KEYS.draws(k)) == 1));
    }

    #[test]
    fn another_region_costs_its_round_trip() {
        let n = network(0.0);
        let mut d = KEYS.draws(1);
        assert_eq!(n.round_trip_ns(0, Some(1), &mut d), 20_000_000);
        assert_eq!(n.round_trip_ns(0, Some(2), &mut d), 100_000_000);
        assert_eq!(n.round_trip_ns(1, None, &mut d), 30_000_000);
        assert_eq!(n.distance_matrix(), vec![vec![0, 80_000_000], vec![80_000_000, 0]]);
    }

    #[test]
    fn loss_adds_retransmission_timeouts() {
        let n = network(0.1);
        let samples: Vec<u64> = (0..20_000).map(|k| n.round_trip_ns(0, Some(0), &mut KEYS.draws(k))).collect();
        let slow = samples.iter().filter(|&&ns| ns > 20_000_000).count();
        // P(at least one loss) = 0.1.
        assert!((1_800..2_200).contains(&slow), "{slow}");
        assert!(samples.iter().all(|&ns| ns == 20_000_000 || ns >= 220_000_000));
    }
}
