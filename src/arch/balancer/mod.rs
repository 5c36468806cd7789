//! Load balancer strategies: which backend gets the next request.
//!
//! Every strategy implements [`Balancer`], one file each. A strategy sees the number of
//! connections (requests in service or waiting) of every backend and a random stream of its
//! own, and returns an index. Strategies hold only their own small state (a cursor, a
//! scratch buffer sized at build time), so picking allocates nothing.

mod least_connections;
mod power_of_two;
mod random;
mod round_robin;

pub use least_connections::LeastConnections;
pub use power_of_two::PowerOfChoices;
pub use random::Random;
pub use round_robin::RoundRobin;

use crate::sim::SimRng;

/// A load-balancing strategy.
pub trait Balancer: Send {
    /// Picks the backend for the next request. `connections[i]` is the number of requests
    /// backend `i` is serving or holding in its queue; the slice is never empty.
    fn pick(&mut self, connections: &[u32], rng: &mut SimRng) -> usize;
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
    /// The least loaded of `choices` distinct backends sampled at random.
    PowerOfTwo,
}

impl Strategy {
    /// Every strategy, in the order documentation lists them.
    pub const ALL: [Strategy; 4] =
        [Strategy::RoundRobin, Strategy::Random, Strategy::LeastConnections, Strategy::PowerOfTwo];

    /// The name used in scenario files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::Random => "random",
            Strategy::LeastConnections => "least_connections",
            Strategy::PowerOfTwo => "power_of_two",
        }
    }

    /// Parses a strategy name as written in scenario files.
    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Builds the strategy for `backends` backends; `choices` is d for power of d choices.
    pub fn build(self, backends: usize, choices: u32) -> Box<dyn Balancer> {
        match self {
            Strategy::RoundRobin => Box::new(RoundRobin::new()),
            Strategy::Random => Box::new(Random),
            Strategy::LeastConnections => Box::new(LeastConnections),
            Strategy::PowerOfTwo => Box::new(PowerOfChoices::new(backends, choices as usize)),
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
    use crate::sim::stream;

    #[test]
    fn every_strategy_picks_a_valid_backend() {
        let mut rng = stream(1, "t");
        let conns = [3, 0, 5, 0, 1];
        for s in Strategy::ALL {
            let mut b = s.build(conns.len(), 2);
            for _ in 0..100 {
                assert!(b.pick(&conns, &mut rng) < conns.len(), "{s}");
            }
            assert_eq!(Strategy::from_name(s.as_str()), Some(s));
        }
    }
}
