//! The reverse proxy's and the malicious requests' keys of `summary.json` (`proxy`,
//! `malicious`), present only when the scenario has a `[proxy]` or malicious traffic.
//! Documented in `docs/summary-json.md`.

use serde::Serialize;

use prodsim_model::outcome::{MaliciousOutcome, ProxyOutcome};

/// `proxy`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct ProxySummary {
    /// Proxy instances.
    pub instances: u32,
    /// Requests the proxy decided on.
    pub requests: u64,
    /// Full TLS handshakes.
    pub tls_handshakes: u64,
    /// Refused by the per-client rate limit (HTTP 429).
    pub rate_limited: u64,
    /// Malicious requests the filter blocked.
    pub filtered: u64,
    /// Legitimate requests the filter blocked.
    pub false_positives: u64,
    /// Answered from the cache.
    pub cache_hits: u64,
    /// Cacheable requests not found fresh in the cache.
    pub cache_misses: u64,
    /// `cache_hits / (cache_hits + cache_misses)`.
    pub cache_hit_ratio: Option<f64>,
    /// Sent on to the app servers.
    pub forwarded: u64,
    /// Response bytes sent (after compression).
    pub bytes_sent: u64,
    /// Response bytes compression saved.
    pub bytes_saved: u64,
    /// Busy cores / cores over the run.
    pub utilization: f64,
    /// Waiting requests, time-averaged.
    pub mean_queue_length: f64,
    /// Longest queue on one instance.
    pub peak_queue: u64,
}

impl ProxySummary {
    /// The keys for the proxy's outcome.
    pub fn from_outcome(p: &ProxyOutcome) -> ProxySummary {
        ProxySummary {
            instances: p.instances,
            requests: p.requests,
            tls_handshakes: p.tls_handshakes,
            rate_limited: p.rate_limited,
            filtered: p.filtered,
            false_positives: p.false_positives,
            cache_hits: p.cache_hits,
            cache_misses: p.cache_misses,
            cache_hit_ratio: p.cache_hit_ratio(),
            forwarded: p.forwarded,
            bytes_sent: p.bytes_sent,
            bytes_saved: p.bytes_saved,
            utilization: p.utilization,
            mean_queue_length: p.mean_queue_length,
            peak_queue: p.peak_queue,
        }
    }
}

/// `malicious`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct MaliciousSummary {
    /// Malicious requests that arrived.
    pub arrived: u64,
    /// Blocked by the filter.
    pub filtered: u64,
    /// Refused by the rate limit.
    pub rate_limited: u64,
    /// Served by the app servers.
    pub served: u64,
    /// Neither turned away by the proxy's defences nor served.
    pub failed: u64,
}

impl MaliciousSummary {
    /// The keys for the malicious requests' outcome.
    pub fn from_outcome(m: &MaliciousOutcome) -> MaliciousSummary {
        MaliciousSummary {
            arrived: m.arrived,
            filtered: m.filtered,
            rate_limited: m.rate_limited,
            served: m.served,
            failed: m.failed,
        }
    }
}
