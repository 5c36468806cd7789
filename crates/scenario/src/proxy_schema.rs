//! The raw shape of `[proxy]` and its subtables. See `docs/scenario-format.md`.

use serde::Deserialize;
use toml::Spanned;

/// `[proxy]`: the reverse proxy in front of the app servers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// Instances (default 1).
    #[serde(default)]
    pub instances: Option<Spanned<u32>>,
    /// Cores per instance (default 4).
    #[serde(default)]
    pub workers: Option<Spanned<u32>>,
    /// Waiting room per instance (default unbounded).
    #[serde(default)]
    pub queue_capacity: Option<Spanned<u32>>,
    /// CPU per request, a distribution (default `const(50us)`).
    #[serde(default)]
    pub cpu: Option<Spanned<String>>,
    /// CPU of a full TLS handshake, a distribution.
    #[serde(default)]
    pub tls_handshake: Option<Spanned<String>>,
    /// Share of resumed TLS sessions.
    #[serde(default)]
    pub tls_resumption: Option<Spanned<f64>>,
    /// `[proxy.cache]`.
    #[serde(default)]
    pub cache: Option<Spanned<RawProxyCache>>,
    /// `[proxy.compression]`.
    #[serde(default)]
    pub compression: Option<Spanned<RawCompression>>,
    /// `[proxy.rate_limit]`.
    #[serde(default)]
    pub rate_limit: Option<Spanned<RawProxyRateLimit>>,
    /// `[proxy.filter]`.
    #[serde(default)]
    pub filter: Option<Spanned<RawFilter>>,
}

/// `[proxy.cache]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxyCache {
    /// Responses held.
    pub capacity: Spanned<u32>,
    /// Freshness, a duration.
    pub ttl: Spanned<String>,
    /// Distinct URLs per class (default 100000).
    #[serde(default)]
    pub keys: Option<Spanned<u64>>,
    /// Zipf exponent (default 1.0).
    #[serde(default)]
    pub zipf: Option<Spanned<f64>>,
    /// Cacheable request classes.
    pub classes: Spanned<Vec<Spanned<String>>>,
}

/// `[proxy.compression]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompression {
    /// CPU per response, a distribution.
    pub cpu: Spanned<String>,
    /// Compressed size / original size.
    pub ratio: Spanned<f64>,
}

/// `[proxy.rate_limit]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxyRateLimit {
    /// Requests per second per client.
    pub per_client: Spanned<f64>,
    /// Bucket size (default: one second's worth, at least 1).
    #[serde(default)]
    pub burst: Option<Spanned<f64>>,
}

/// `[proxy.filter]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    /// Share of malicious requests caught.
    pub detection: Spanned<f64>,
    /// Share of legitimate requests wrongly blocked (default 0).
    #[serde(default)]
    pub false_positives: Option<Spanned<f64>>,
}
