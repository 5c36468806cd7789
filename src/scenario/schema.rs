//! The raw shape of a scenario file, as serde reads it.
//!
//! Every table denies unknown keys. Values that need checking after parsing (rates,
//! durations, distributions, counts) keep their byte span with `toml::Spanned`, so semantic
//! errors point at the exact place in the file. See `docs/scenario-format.md`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::arch::{Arrivals, Strategy};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// `[scenario]`: name, seed, duration.
    pub scenario: RawMeta,
    /// `[[workload]]`: open arrival streams.
    #[serde(default)]
    pub workload: Vec<RawWorkload>,
    /// `[balancer]`: how requests are spread over servers.
    #[serde(default)]
    pub balancer: Option<Spanned<RawBalancer>>,
    /// `[servers]`: the app server pool.
    pub servers: Spanned<RawServers>,
    /// `[limits]`: engine bounds.
    #[serde(default)]
    pub limits: Option<RawLimits>,
    /// `[[faults]]`: injected failures.
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
}

/// `[[faults]]`. The parameters a kind does not use must be absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// The fault kind, e.g. `"slowdown"`.
    pub kind: Spanned<String>,
    /// What it hits: `"server-<index>"` or `"servers"`.
    pub target: Spanned<String>,
    /// When it starts.
    pub at: Spanned<String>,
    /// How long it lasts; absent means until the end of the run.
    #[serde(default)]
    pub duration: Option<Spanned<String>>,
    /// `slowdown`: service time multiplier.
    #[serde(default)]
    pub factor: Option<Spanned<f64>>,
}

/// `[scenario]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// Names the report directory; letters, digits, `-`, `_`, `.`.
    pub name: Spanned<String>,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed of every random stream; `--seed` overrides it.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Simulated time to run.
    pub duration: Spanned<String>,
    /// Time excluded from statistics at the start.
    #[serde(default)]
    pub warmup: Option<Spanned<String>>,
    /// Width of one `timeseries.csv` row.
    #[serde(default)]
    pub report_interval: Option<Spanned<String>>,
}

/// `[[workload]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Unique name.
    pub name: Spanned<String>,
    /// `poisson` or `constant`.
    #[serde(default = "default_arrivals")]
    pub arrivals: Arrivals,
    /// Requests per second from time zero.
    #[serde(default)]
    pub rate: Option<Spanned<f64>>,
    /// Piecewise rates over time.
    #[serde(default)]
    pub stages: Vec<Spanned<RawStage>>,
}

fn default_arrivals() -> Arrivals {
    Arrivals::Poisson
}

/// One entry of `stages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// When the rate starts.
    pub at: Spanned<String>,
    /// Requests per second.
    pub rate: Spanned<f64>,
}

/// `[balancer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBalancer {
    /// The strategy.
    pub strategy: Strategy,
    /// d for `power_of_two`.
    #[serde(default)]
    pub choices: Option<Spanned<u32>>,
}

/// `[servers]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServers {
    /// How many servers.
    #[serde(default = "one")]
    pub count: Spanned<u32>,
    /// Requests served concurrently per server.
    #[serde(default = "one")]
    pub workers: Spanned<u32>,
    /// Waiting room per server.
    #[serde(default)]
    pub queue_capacity: QueueCapacity,
    /// Service time distribution, e.g. `"exp(20ms)"`.
    pub service_time: Spanned<String>,
    /// Client deadline per request.
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

/// `[limits]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Most events one run may process.
    #[serde(default)]
    pub max_events: Option<Spanned<u64>>,
    /// Most requests in flight at once.
    #[serde(default)]
    pub max_in_flight: Option<Spanned<u64>>,
}

/// `queue_capacity`: a non-negative integer or `"unbounded"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueCapacity {
    /// No limit on waiting requests.
    #[default]
    Unbounded,
    /// At most this many waiting requests per server; more are rejected.
    Bounded(u32),
}

impl<'de> Deserialize<'de> for QueueCapacity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QueueCapacity;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a non-negative integer or \"unbounded\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QueueCapacity, E> {
                u32::try_from(v)
                    .map(QueueCapacity::Bounded)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<QueueCapacity, E> {
                u32::try_from(v)
                    .map(QueueCapacity::Bounded)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueueCapacity, E> {
                if v == "unbounded" {
                    Ok(QueueCapacity::Unbounded)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}
