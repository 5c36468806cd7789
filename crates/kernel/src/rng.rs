//! The registry of random streams: every draw of a run comes from a stream named by
//! (scenario seed, [`Purpose`], component), and from nowhere else.
//!
//! Two kinds of stream:
//! - **Sequential** ([`Streams::rng`]): a PCG generator a component draws from in its own
//!   order — a workload's arrival times, a balancer strategy's choices, the pipeline, the
//!   on-call rotation. Adding a component never shifts another's draws, since each has its
//!   own stream.
//! - **Keyed** ([`Streams::keyed`], [`Keyed::draws`]): counter-based draws for one item —
//!   one request, one call attempt, one work step — found by the item's key rather than by
//!   the order in which items happen to draw. A request's class, its work at every step,
//!   the error coin of a call, the jitter of a retry: each comes from (purpose, key), so
//!   changing the balancer, the number of servers or a fault on one component changes no
//!   other component's draws. That is what makes `compare` fair (common random numbers)
//!   by construction.
//!
//! Names are hashed with their lengths (`workload` `a.clients` and the clients of workload
//! `a` are different streams), and the generators are named algorithms seeded with bytes
//! derived here (PCG 64-bit MCG for sequential streams, SplitMix64 for keyed draws), so a
//! seed reproduces the same run on every platform. Pinned tests guard the derivations.

use std::convert::Infallible;

use rand::SeedableRng;
use rand::TryRng;

/// The generator of sequential streams.
pub type SimRng = rand_pcg::Pcg64Mcg;

/// What a stream is for. Every stream of a run is named by one of these (and, for
/// per-component streams, the component's name): this list is the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A workload's arrival times; sequential, per workload.
    Arrivals,
    /// The keys of a workload's requests, in arrival order; per workload.
    Requests,
    /// A DDoS attack's arrival times; sequential, per attack (named by its index, in a
    /// registry of its own so that no workload name can share it).
    AttackArrivals,
    /// The keys of an attack's requests, in arrival order; per attack.
    AttackRequests,
    /// A balancer strategy's own choices (random, power of d); sequential.
    Balancer,
    /// A request's class.
    Class,
    /// The users' region of a request.
    Region,
    /// A request's client id, whether it is malicious, an attack's class.
    Clients,
    /// A request's session key (consistent hashing).
    Session,
    /// A request's round trips and packet losses on the users' network.
    Network,
    /// The work of one step of a task (a request at an app server, a call at a service).
    Work,
    /// A call's base error coin at its callee (`error_rate`).
    Errors,
    /// A call's error coin under an `error_rate` fault.
    FaultErrors,
    /// A call's added latency under an `added_latency` fault.
    FaultLatency,
    /// The database row a query touches.
    Rows,
    /// A retry's backoff jitter.
    Jitter,
    /// A closed workload's user's think time.
    Think,
    /// The reverse proxy's CPU for a request (handshakes, resumption, compression).
    ProxyCpu,
    /// The reverse proxy's decisions for a request (filter verdicts, cache keys).
    ProxyDecisions,
    /// The version a request runs during a split rollout and the version's effects on it.
    Versions,
    /// Release pipelines: stage times and failures; sequential.
    Pipeline,
    /// The on-call rotation: acknowledgement delays and misses; sequential.
    OnCall,
    /// Responders' investigations and playbook actions; sequential.
    Playbooks,
    /// Which log entries the exemplar reservoir keeps; sequential.
    LogExemplars,
    /// Whether a login attempt succeeds (keyed by the request's key).
    Auth,
    /// Tests of components outside a run.
    Test,
}

impl Purpose {
    /// The name hashed into the stream's seed. Never change one: every published seed
    /// would stop reproducing.
    pub const fn name(self) -> &'static str {
        match self {
            Purpose::Arrivals => "arrivals",
            Purpose::Requests => "requests",
            Purpose::AttackArrivals => "attack-arrivals",
            Purpose::AttackRequests => "attack-requests",
            Purpose::Balancer => "balancer",
            Purpose::Class => "class",
            Purpose::Region => "region",
            Purpose::Clients => "clients",
            Purpose::Session => "session",
            Purpose::Network => "network",
            Purpose::Work => "work",
            Purpose::Errors => "errors",
            Purpose::FaultErrors => "fault-errors",
            Purpose::FaultLatency => "fault-latency",
            Purpose::Rows => "rows",
            Purpose::Jitter => "jitter",
            Purpose::Think => "think",
            Purpose::ProxyCpu => "proxy-cpu",
            Purpose::ProxyDecisions => "proxy-decisions",
            Purpose::Versions => "versions",
            Purpose::Pipeline => "pipeline",
            Purpose::OnCall => "oncall",
            Purpose::Playbooks => "playbooks",
            Purpose::LogExemplars => "log-exemplars",
            Purpose::Auth => "auth",
            Purpose::Test => "test",
        }
    }
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
#[inline(always)]
const fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's increment (the golden ratio), which also spaces keys apart.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A key derived from `key` and `part`: distinct parts give unrelated keys. Used to name
/// an item within an item (a call of a task, an attempt of a call, a step of a task).
#[inline(always)]
pub const fn mix(key: u64, part: u64) -> u64 {
    finalise(key ^ finalise(part.wrapping_add(GOLDEN)))
}

/// FNV-1a over `bytes`, continuing from `h`: stable across platforms and versions.
fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The 64-bit name of (seed, purpose, component): each string is hashed with its length,
/// so no two different pairs of names run together into the same bytes.
fn stream_key(seed: u64, purpose: Purpose, component: &str) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325;
    for part in [purpose.name(), component] {
        h = fnv1a(h, &(part.len() as u64).to_le_bytes());
        h = fnv1a(h, part.as_bytes());
    }
    mix(seed, h)
}

/// The streams of one run: every generator and every keyed draw of the run comes from
/// here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streams {
    seed: u64,
}

impl Streams {
    /// The streams of a run seeded with `seed`.
    pub const fn new(seed: u64) -> Streams {
        Streams { seed }
    }

    /// The sequential stream of `purpose` for `component` (a workload's name, `""` for
    /// the run's only one).
    pub fn rng(&self, purpose: Purpose, component: &str) -> SimRng {
        let a = stream_key(self.seed, purpose, component);
        let b = finalise(a ^ 0xD1B5_4A32_D192_ED03);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
        SimRng::from_seed(bytes)
    }

    /// The keyed draws of `purpose` for `component`.
    pub fn keyed(&self, purpose: Purpose, component: &str) -> Keyed {
        Keyed(stream_key(self.seed, purpose, component))
    }
}

/// One purpose's keyed draws: [`Keyed::draws`] gives the draws of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyed(u64);

/// The spacing of the parts of one item's draws (odd, and no small multiple of
/// [`GOLDEN`], so parts' SplitMix64 sequences never overlap in their first draws).
const PART: u64 = 0xD6E8_FEB8_6659_FD93;

impl Keyed {
    /// The draws of the item named `key` (a request's key, a call attempt's key, ...).
    ///
    /// Keys are themselves well-mixed 64-bit values ([`Keyed::key`], [`mix`]), so the
    /// purpose is folded in with a XOR and SplitMix64's output function does the mixing:
    /// creating draws costs nothing, each draw one finaliser.
    #[inline(always)]
    pub const fn draws(self, key: u64) -> Draws {
        Draws { state: self.0 ^ key }
    }

    /// The draws of part `part` of item `key` (a task's step).
    #[inline(always)]
    pub const fn draws_of(self, key: u64, part: u64) -> Draws {
        Draws { state: (self.0 ^ key).wrapping_add(part.wrapping_mul(PART)) }
    }

    /// The `index`-th key of this purpose (the `index`-th request of a workload): the
    /// SplitMix64 sequence seeded with the purpose's name.
    #[inline(always)]
    pub const fn key(self, index: u64) -> u64 {
        finalise(self.0.wrapping_add(index.wrapping_mul(GOLDEN)))
    }
}

/// A few draws for one item: SplitMix64 from the item's own state. Cheap to make (one
/// mix), so every item gets its own, and no item's draws depend on another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draws {
    state: u64,
}

impl Draws {
    /// The next 64 random bits.
    #[inline(always)]
    pub fn bits(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        finalise(self.state)
    }

    /// A uniform draw in `[0, 1)`, from the top 53 bits.
    #[inline(always)]
    pub fn unit(&mut self) -> f64 {
        (self.bits() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform draw in `0..n` (multiply-shift, no division; `0` for `n = 0`).
    #[inline(always)]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.bits()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p` (false for `p <= 0`, true for `p >= 1`).
    #[inline(always)]
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
}

impl TryRng for Draws {
    type Error = Infallible;

    #[inline(always)]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.bits() >> 32) as u32)
    }

    #[inline(always)]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.bits())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.bits().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A sequential stream outside a run (tests of components, examples).
pub fn stream(seed: u64, component: &str) -> SimRng {
    Streams::new(seed).rng(Purpose::Test, component)
}

/// A seed derived from a base seed and an index, for replications and generated cases.
pub fn derive_seed(base: u64, index: u64) -> u64 {
    let inner = finalise(index.wrapping_add(0x5EED).wrapping_add(GOLDEN));
    finalise((base ^ inner).wrapping_add(GOLDEN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_stable_and_independent() {
        let s = Streams::new(42);
        let x1: u64 = s.rng(Purpose::Arrivals, "visitors").random();
        assert_eq!(x1, s.rng(Purpose::Arrivals, "visitors").random::<u64>());
        assert_ne!(x1, s.rng(Purpose::Balancer, "visitors").random::<u64>());
        assert_ne!(x1, s.rng(Purpose::Arrivals, "visitor").random::<u64>());
        assert_ne!(x1, Streams::new(43).rng(Purpose::Arrivals, "visitors").random::<u64>());
    }

    #[test]
    fn names_do_not_run_together() {
        // A workload named `a.clients` is not the clients of workload `a`.
        let s = Streams::new(1);
        assert_ne!(s.keyed(Purpose::Requests, "a.clients"), s.keyed(Purpose::Requests, "a"));
        assert_ne!(stream_key(1, Purpose::Work, "ab"), stream_key(1, Purpose::Work, "a"));
    }

    #[test]
    fn keyed_draws_depend_on_the_key_only() {
        let work = Streams::new(7).keyed(Purpose::Work, "");
        let mut a = work.draws(5);
        let first = a.bits();
        // Whatever else was drawn in between, key 5 gives the same draws.
        let _ = work.draws(6).bits();
        assert_eq!(work.draws(5).bits(), first);
        assert_ne!(work.draws_of(5, 0).bits(), work.draws_of(5, 1).bits());
        assert_ne!(a.bits(), first);
    }

    #[test]
    fn unit_draws_are_uniform() {
        let k = Streams::new(3).keyed(Purpose::Test, "");
        let n = 200_000;
        let mut buckets = [0u32; 10];
        for i in 0..n {
            let u = k.draws(i).unit();
            assert!((0.0..1.0).contains(&u));
            buckets[(u * 10.0) as usize] += 1;
        }
        // Chi-squared with 9 degrees of freedom: 27.9 is its 0.1% point.
        let e = n as f64 / 10.0;
        let chi2: f64 = buckets.iter().map(|&b| (f64::from(b) - e).powi(2) / e).sum();
        assert!(chi2 < 27.9, "{chi2} {buckets:?}");
    }

    /// Pearson's correlation of two samples.
    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn purposes_parts_and_neighbouring_keys_are_uncorrelated() {
        let s = Streams::new(11);
        let (work, errors) = (s.keyed(Purpose::Work, ""), s.keyed(Purpose::Errors, ""));
        let requests = s.keyed(Purpose::Requests, "visitors");
        let n = 100_000;
        let keys: Vec<u64> = (1..=n).map(|i| requests.key(i)).collect();
        let a: Vec<f64> = keys.iter().map(|&k| work.draws(k).unit()).collect();
        let b: Vec<f64> = keys.iter().map(|&k| errors.draws(k).unit()).collect();
        let c: Vec<f64> = keys.iter().map(|&k| work.draws_of(k, 1).unit()).collect();
        let next: Vec<f64> = a[1..].to_vec();
        // For independent uniforms the correlation is about N(0, 1/n): 0.02 is 6 sigmas.
        for (x, y, what) in [(&a, &b, "purposes"), (&a, &c, "parts"), (&a[..a.len() - 1].to_vec(), &next, "keys")] {
            let r = correlation(x, y);
            assert!(r.abs() < 0.02, "{what}: {r}");
        }
    }

    #[test]
    fn stream_values_never_change() {
        // Pinned: if this fails, every published seed stops reproducing.
        let s = Streams::new(1);
        assert_eq!(s.rng(Purpose::Arrivals, "x").random::<u64>(), PINNED_RNG);
        assert_eq!(s.keyed(Purpose::Work, "").draws(9).bits(), PINNED_DRAW);
    }
    const PINNED_RNG: u64 = 9_084_666_238_124_081_742;
    const PINNED_DRAW: u64 = 13_320_565_632_409_968_241;

    #[test]
    fn derived_seeds_differ() {
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_eq!(derive_seed(7, 3), derive_seed(7, 3));
    }
}
