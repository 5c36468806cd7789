//! The edge of a scenario, resolved: who the clients are (how many distinct
//! users each workload has, what share of its requests are malicious), the reverse proxy
//! in front of the app servers (`[proxy]`), and the size of each class's responses.
//!
//! The raw shape is in `proxy_schema.rs`, validation in `validate/proxy.rs`.

use prodsim_kernel::Dist;

/// Default `users` of a workload.
pub const DEFAULT_USERS: u32 = 10_000;
/// Default `response_bytes` of a request class.
pub const DEFAULT_RESPONSE_BYTES: u64 = 20_000;

/// Clients, the proxy and response sizes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EdgeSpec {
    /// One per workload, in file order.
    pub clients: Vec<ClientSpec>,
    /// The reverse proxy, if any.
    pub proxy: Option<ProxySpec>,
    /// Size of one response of each class, in bytes, in class order.
    pub response_bytes: Vec<u64>,
}

impl EdgeSpec {
    /// Whether anything at the edge needs simulating: a proxy or malicious traffic (a
    /// `ddos` fault is checked by the model, from the faults).
    pub fn is_active(&self) -> bool {
        self.proxy.is_some() || self.clients.iter().any(|c| c.malicious > 0.0)
    }
}

/// A workload's clients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientSpec {
    /// Distinct clients; each request comes from one drawn uniformly.
    pub users: u32,
    /// Share of its requests that are malicious.
    pub malicious: f64,
}

/// `[proxy]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxySpec {
    /// Proxy instances; requests are spread over them in turn.
    pub instances: u32,
    /// Cores per instance: requests it handles at once.
    pub workers: u32,
    /// Waiting requests per instance; `None` is unbounded.
    pub queue_capacity: Option<u32>,
    /// CPU of handling one request (parsing, routing, logging).
    pub cpu: Dist,
    /// CPU of a full TLS handshake, if the proxy terminates TLS.
    pub tls_handshake: Option<Dist>,
    /// Share of legitimate connections that resume a TLS session (no full handshake).
    pub tls_resumption: f64,
    /// The response cache, if any.
    pub cache: Option<ProxyCacheSpec>,
    /// Compression of responses, if any.
    pub compression: Option<CompressionSpec>,
    /// Per-client rate limit: requests per second and burst, if any.
    pub rate_limit: Option<(f64, f64)>,
    /// The filter: detection share and false-positive share, if any.
    pub filter: Option<(f64, f64)>,
}

/// `[proxy.cache]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyCacheSpec {
    /// Responses it holds.
    pub capacity: u32,
    /// How long a response stays fresh.
    pub ttl_ns: u64,
    /// Distinct URLs per cacheable class.
    pub keys: u64,
    /// Zipf exponent of URL popularity.
    pub zipf: f64,
    /// Which classes are cacheable, in class order.
    pub cacheable: Vec<bool>,
}

/// `[proxy.compression]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressionSpec {
    /// CPU of compressing one response.
    pub cpu: Dist,
    /// Compressed size over original size.
    pub ratio: f64,
}
