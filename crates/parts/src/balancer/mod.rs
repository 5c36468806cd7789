//! Load balancer strategies: which backend gets the next request.
//!
//! This module owns the [`Balancer`] trait, the picture of the backends a strategy sees
//! ([`Backends`]), what it knows about the request ([`Client`]), its build-time
//! configuration ([`Setup`]) and the [`Strategy`] enum that names and builds every strategy.
//! Each strategy lives in a file of its own.
//!
//! A strategy sees the number of connections (requests in service or waiting) of every
//! backend, which backends are in rotation, the client's region and request key, and a
//! random stream of its own; it returns an index, or `None` when no backend is in rotation.
//! Strategies that learn from responses get them through [`Balancer::observe`]. Strategies
//! hold only their own state, sized at build time, so picking and observing allocate
//! nothing.

mod consistent_hash;
mod geographic;
mod least_connections;
mod power_of_two;
mod random;
mod response_time;
mod round_robin;
mod weighted_round_robin;

pub use consistent_hash::ConsistentHash;
pub use geographic::Geographic;
pub use least_connections::LeastConnections;
pub use power_of_two::PowerOfChoices;
pub use random::Random;
pub use response_time::ResponseTime;
pub use round_robin::RoundRobin;
pub use weighted_round_robin::WeightedRoundRobin;

use prodsim_kernel::{SimRng, SimTime};

/// What a strategy sees of the backends at the moment it picks.
#[derive(Clone, Copy, Debug)]
pub struct Backends<'a> {
    /// Requests each backend is serving or holding in its queue (never empty).
    pub connections: &'a [u32],
    /// Whether each backend is in rotation (healthy, not ejected, not draining).
    /// An EMPTY slice means every backend is in rotation (the fast path). Otherwise it has
    /// one entry per backend; a backend past its end counts as out of rotation.
    pub in_rotation: &'a [bool],
}

impl<'a> Backends<'a> {
    /// Every backend in rotation (the fast path).
    #[inline]
    pub fn all(connections: &'a [u32]) -> Backends<'a> {
        Backends { connections, in_rotation: &[] }
    }

    /// The number of backends.
    #[inline]
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// Whether there are no backends at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// Whether every backend is in rotation (the rotation slice is empty), so strategies
    /// can skip the per-backend test.
    #[inline]
    pub fn all_in_rotation(&self) -> bool {
        self.in_rotation.is_empty()
    }

    /// Whether backend `i` is in rotation. A backend index past `connections` is not.
    #[inline]
    pub fn is_in_rotation(&self, i: usize) -> bool {
        i < self.connections.len() && (self.in_rotation.is_empty() || self.in_rotation.get(i).copied().unwrap_or(false))
    }
}

/// What a strategy knows about the request being placed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Client {
    /// Region index of the client.
    pub region: u16,
    /// Request key for consistent hashing (user or session id).
    pub key: u64,
}

/// A load-balancing strategy.
pub trait Balancer: Send {
    /// Picks a backend in rotation, or `None` when no backend is in rotation.
    fn pick(&mut self, backends: &Backends<'_>, client: &Client, rng: &mut SimRng) -> Option<usize>;

    /// Feedback after a response from `backend`: `latency_ns` from dispatch to response,
    /// and whether it succeeded. The default ignores it.
    fn observe(&mut self, _backend: usize, _now: SimTime, _latency_ns: u64, _success: bool) {}

    /// Whether [`Balancer::observe`] does anything: a caller may skip the call (one
    /// dynamic call per response) when it does not.
    fn observes(&self) -> bool {
        false
    }
}

/// Static configuration of a strategy, fixed when it is built. Each strategy reads the
/// fields it needs and ignores the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Setup {
    /// Number of backends; it must equal the length of [`Backends::connections`].
    pub backends: usize,
    /// d for `power_of_two` (power of d choices), clamped to 1..=backends.
    pub choices: u32,
    /// Weight per backend for `weighted_round_robin`; empty means all 1, a missing entry is
    /// 1, and a backend of weight 0 is never picked.
    pub weights: Vec<u32>,
    /// Region per backend for `geographic`; empty means every backend is in region 0, and
    /// a missing entry is region 0.
    pub backend_region: Vec<u16>,
    /// Round trip in nanoseconds from client region (outer index) to backend region
    /// (inner index), for `geographic`; empty means a single region. A missing entry is
    /// farther than any given one.
    pub region_rtt_ns: Vec<Vec<u64>>,
    /// Half-life of the latency average of `response_time`; 0 means the default, 10 s.
    pub ewma_half_life_ns: u64,
    /// Points on the ring per backend for `consistent_hash`; 0 means the default, 100.
    pub virtual_nodes: u32,
}

/// The strategies a scenario can name in `[balancer].strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each backend in turn.
    RoundRobin,
    /// A backend chosen uniformly at random.
    Random,
    /// The backend with the fewest connections (join the shortest queue); ties at random.
    LeastConnections,
    /// The least loaded of `choices` distinct backends sampled at random (power of d
    /// choices; `power_of_d` is accepted as another name).
    #[serde(alias = "power_of_d")]
    PowerOfTwo,
    /// Each backend in turn, as often as its weight, interleaved (nginx's smooth weighted
    /// round robin).
    WeightedRoundRobin,
    /// The lowest decaying average of observed latency times (connections + 1), as
    /// Finagle's and Linkerd's peak EWMA; untried backends first, ties at random.
    ResponseTime,
    /// The backend owning the request key on a hash ring of virtual nodes; removing a
    /// backend moves only its own keys.
    ConsistentHash,
    /// The nearest region (by round trip from the client's region) with a backend in
    /// rotation, and the least connections backend within it.
    Geographic,
}

impl Strategy {
    /// Every strategy, in the order documentation lists them. A strategy's position here
    /// is also its fixed colour in charts.
    pub const ALL: [Strategy; 8] = [
        Strategy::RoundRobin,
        Strategy::Random,
        Strategy::LeastConnections,
        Strategy::PowerOfTwo,
        Strategy::WeightedRoundRobin,
        Strategy::ResponseTime,
        Strategy::ConsistentHash,
        Strategy::Geographic,
    ];

    /// The four classic dispatch policies, which need nothing but connection counts: what
    /// `prodsim compare` compares by default.
    pub const CLASSIC: [Strategy; 4] =
        [Strategy::RoundRobin, Strategy::Random, Strategy::LeastConnections, Strategy::PowerOfTwo];

    /// The name used in scenario files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::Random => "random",
            Strategy::LeastConnections => "least_connections",
            Strategy::PowerOfTwo => "power_of_two",
            Strategy::WeightedRoundRobin => "weighted_round_robin",
            Strategy::ResponseTime => "response_time",
            Strategy::ConsistentHash => "consistent_hash",
            Strategy::Geographic => "geographic",
        }
    }

    /// Parses a strategy name as written in scenario files; `power_of_d` is another name
    /// for `power_of_two`.
    pub fn from_name(name: &str) -> Option<Strategy> {
        if name == "power_of_d" {
            return Some(Strategy::PowerOfTwo);
        }
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Builds the strategy from its static configuration.
    pub fn build(self, setup: &Setup) -> Box<dyn Balancer> {
        match self {
            Strategy::RoundRobin => Box::new(RoundRobin::new()),
            Strategy::Random => Box::new(Random),
            Strategy::LeastConnections => Box::new(LeastConnections),
            Strategy::PowerOfTwo => Box::new(PowerOfChoices::new(setup.backends, setup.choices as usize)),
            Strategy::WeightedRoundRobin => Box::new(WeightedRoundRobin::new(setup.backends, &setup.weights)),
            Strategy::ResponseTime => Box::new(ResponseTime::new(setup.backends, setup.ewma_half_life_ns)),
            Strategy::ConsistentHash => Box::new(ConsistentHash::new(setup.backends, setup.virtual_nodes)),
            Strategy::Geographic => {
                Box::new(Geographic::new(setup.backends, &setup.backend_region, &setup.region_rtt_ns))
            }
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::stream;

    fn setup(backends: usize) -> Setup {
        Setup { backends, choices: 2, ..Setup::default() }
    }

    #[test]
    fn every_strategy_picks_a_valid_backend() {
        let mut rng = stream(1, "t");
        let conns = [3, 0, 5, 0, 1];
        for s in Strategy::ALL {
            let mut b = s.build(&setup(conns.len()));
            for key in 0..100 {
                let client = Client { region: 0, key };
                let i = b.pick(&Backends::all(&conns), &client, &mut rng).expect("a backend");
                assert!(i < conns.len(), "{s}");
                b.observe(i, SimTime(key * 1_000), 1_000, true);
            }
            assert_eq!(Strategy::from_name(s.as_str()), Some(s));
        }
    }

    #[test]
    fn every_strategy_respects_the_rotation() {
        let mut rng = stream(2, "t");
        let conns = [3, 0, 5, 0, 1];
        let rotation = [false, false, true, false, true];
        let backends = Backends { connections: &conns, in_rotation: &rotation };
        for s in Strategy::ALL {
            let mut b = s.build(&setup(conns.len()));
            let mut seen = [0u32; 5];
            for key in 0..2_000 {
                let i = b.pick(&backends, &Client { region: 0, key }, &mut rng).expect("a backend");
                seen[i] += 1;
            }
            assert_eq!([seen[0], seen[1], seen[3]], [0, 0, 0], "{s}: {seen:?}");
            assert!(seen[2] + seen[4] == 2_000, "{s}: {seen:?}");
        }
    }

    #[test]
    fn every_strategy_says_none_when_nothing_is_in_rotation() {
        let mut rng = stream(3, "t");
        let conns = [1, 2, 3];
        let backends = Backends { connections: &conns, in_rotation: &[false; 3] };
        for s in Strategy::ALL {
            let mut b = s.build(&setup(conns.len()));
            assert_eq!(b.pick(&backends, &Client::default(), &mut rng), None, "{s}");
        }
    }

    #[test]
    fn names_round_trip_and_power_of_d_is_an_alias() {
        assert_eq!(Strategy::from_name("power_of_d"), Some(Strategy::PowerOfTwo));
        assert_eq!(Strategy::PowerOfTwo.as_str(), "power_of_two");
        assert_eq!(Strategy::from_name("power_of_three"), None);
        #[derive(serde::Deserialize)]
        struct Raw {
            strategy: Strategy,
        }
        for (text, want) in [
            ("strategy = \"power_of_d\"", Strategy::PowerOfTwo),
            ("strategy = \"weighted_round_robin\"", Strategy::WeightedRoundRobin),
            ("strategy = \"consistent_hash\"", Strategy::ConsistentHash),
        ] {
            let raw: Raw = toml::from_str(text).expect("parses");
            assert_eq!(raw.strategy, want);
        }
        // The discriminant is the position in ALL (charts colour strategies by it).
        for (i, s) in Strategy::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i);
        }
        assert!(Strategy::CLASSIC.iter().all(|s| Strategy::ALL.contains(s)));
    }

    #[test]
    fn backends_rotation_queries() {
        let conns = [0, 0, 0];
        let all = Backends::all(&conns);
        assert!(all.all_in_rotation() && all.is_in_rotation(2) && !all.is_in_rotation(3));
        let some = Backends { connections: &conns, in_rotation: &[true, false] };
        assert!(!some.all_in_rotation());
        assert!(some.is_in_rotation(0) && !some.is_in_rotation(1) && !some.is_in_rotation(2));
        assert_eq!(some.len(), 3);
        assert!(!some.is_empty());
    }
}
