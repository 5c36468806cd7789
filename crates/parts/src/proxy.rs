//! The reverse proxy's decisions: per-client rate limiting, filtering of malicious
//! requests (a WAF), and the response cache.
//!
//! Sans-IO: [`Proxy::decide`] takes the time, the request (its client, whether it is
//! malicious, whether its class is cacheable) and a random stream, and answers what the
//! proxy does with it. The order is the usual one in front of a site: the per-client rate
//! limit first (cheap, and it sheds floods before any inspection), then the filter, then
//! the cache. The engine charges the CPU (TLS, request handling, compression) and turns
//! answers into events; [`Proxy::store`] puts a successful upstream response in the cache.
//!
//! Malicious requests never hit the cache: floods bust caches with random query strings,
//! which is what makes them expensive for the servers behind.

use rand::RngExt;

use super::cache::{ResponseCache, Zipf};
use super::resilience::KeyedRateLimiter;
use prodsim_kernel::SimTime;

/// How the proxy is set up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProxyConfig {
    /// Distinct clients (the size of the rate limiter's table).
    pub clients: usize,
    /// Per-client rate limit: requests per second and burst, if any.
    pub rate_limit: Option<(f64, f64)>,
    /// Filter: share of malicious requests caught, and share of legitimate ones wrongly
    /// blocked, if any.
    pub filter: Option<(f64, f64)>,
    /// Response cache, if any.
    pub cache: Option<CacheConfig>,
}

/// The response cache's setup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheConfig {
    /// Responses it holds.
    pub capacity: usize,
    /// How long a stored response stays fresh.
    pub ttl_ns: u64,
    /// Distinct cacheable URLs per request class.
    pub keys: u64,
    /// Zipf exponent of their popularity (0 is uniform).
    pub zipf: f64,
}

/// One request as the proxy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyRequest {
    /// The client's id (its rate-limit bucket).
    pub client: u32,
    /// Whether it is an attack request.
    pub malicious: bool,
    /// Its request class.
    pub class: u16,
    /// Whether responses of its class may be cached.
    pub cacheable: bool,
}

/// What the proxy does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its client is over the rate limit: refused with HTTP 429.
    RateLimited,
    /// The filter blocked it (HTTP 403). For a legitimate request this is a false positive.
    Blocked,
    /// A fresh response was in the cache: the proxy answers it.
    Hit,
    /// Sent to the app servers. `key` is the cache key to store a successful response
    /// under (a cacheable class's miss), or `None`.
    Forward {
        /// Cache key of the response, if cacheable.
        key: Option<u64>,
    },
}

/// The proxy's state: one token bucket per client, the cache and key popularity.
#[derive(Clone, Debug)]
pub struct Proxy {
    limiter: Option<KeyedRateLimiter>,
    filter: Option<(f64, f64)>,
    cache: Option<(ResponseCache, Zipf)>,
}

impl Proxy {
    /// Builds the proxy, allocating the rate limiter's table and the cache now. A cache
    /// with zero keys or a bad exponent is left out (validation refuses both).
    pub fn new(config: &ProxyConfig) -> Proxy {
        Proxy {
            limiter: config.rate_limit.map(|(rate, burst)| KeyedRateLimiter::new(config.clients, rate, burst)),
            filter: config.filter,
            cache: config
                .cache
                .and_then(|c| Zipf::new(c.keys, c.zipf).ok().map(|z| (ResponseCache::new(c.capacity, c.ttl_ns), z))),
        }
    }

    /// Decides what happens to `req` now. Draws from `rng` only for the parts configured:
    /// the filter's verdict and the cache key.
    pub fn decide<R: rand::Rng + ?Sized>(&mut self, now: SimTime, req: ProxyRequest, rng: &mut R) -> Verdict {
        if let Some(l) = self.limiter.as_mut() {
            if !l.try_acquire(now, req.client as usize) {
                return Verdict::RateLimited;
            }
        }
        if let Some((detection, false_positives)) = self.filter {
            let p = if req.malicious { detection } else { false_positives };
            if p > 0.0 && rng.random::<f64>() < p {
                return Verdict::Blocked;
            }
        }
        if req.malicious || !req.cacheable {
            return Verdict::Forward { key: None };
        }
        let Some((cache, zipf)) = self.cache.as_mut() else { return Verdict::Forward { key: None } };
        let key = (u64::from(req.class) << 40) | zipf.sample(rng);
        if cache.lookup(now, key) { Verdict::Hit } else { Verdict::Forward { key: Some(key) } }
    }

    /// Stores a successful response for `key` (from [`Verdict::Forward`]).
    pub fn store(&mut self, now: SimTime, key: u64) {
        if let Some((cache, _)) = self.cache.as_mut() {
            cache.insert(now, key);
        }
    }

    /// Whether the proxy has a cache.
    pub fn has_cache(&self) -> bool {
        self.cache.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: u32, malicious: bool) -> ProxyRequest {
        ProxyRequest { client, malicious, class: 0, cacheable: true }
    }

    fn config() -> ProxyConfig {
        ProxyConfig { clients: 10, rate_limit: None, filter: None, cache: None }
    }

    #[test]
    fn rate_limit_is_per_client() {
        let mut p = Proxy::new(&ProxyConfig { rate_limit: Some((1.0, 2.0)), ..config() });
        let mut rng = prodsim_kernel::stream(1, "t");
        let t = SimTime::ZERO;
        assert_eq!(p.decide(t, req(3, false), &mut rng), Verdict::Forward { key: None });
        assert_eq!(p.decide(t, req(3, false), &mut rng), Verdict::Forward { key: None });
        assert_eq!(p.decide(t, req(3, false), &mut rng), Verdict::RateLimited);
        assert_eq!(p.decide(t, req(4, false), &mut rng), Verdict::Forward { key: None }, "another client");
        assert_eq!(p.decide(SimTime::from_secs(1), req(3, false), &mut rng), Verdict::Forward { key: None });
    }

    #[test]
    fn the_filter_catches_its_detection_share() {
        let mut p = Proxy::new(&ProxyConfig { filter: Some((0.9, 0.01)), ..config() });
        let mut rng = prodsim_kernel::stream(2, "t");
        let n = 100_000;
        let caught = (0..n).filter(|_| p.decide(SimTime::ZERO, req(0, true), &mut rng) == Verdict::Blocked).count();
        let wrong = (0..n).filter(|_| p.decide(SimTime::ZERO, req(0, false), &mut rng) == Verdict::Blocked).count();
        assert!((caught as f64 / n as f64 - 0.9).abs() < 0.005, "{caught}");
        assert!((wrong as f64 / n as f64 - 0.01).abs() < 0.002, "{wrong}");
    }

    #[test]
    fn hits_follow_stores_and_attacks_bypass_the_cache() {
        let cache = CacheConfig { capacity: 10, ttl_ns: 1_000_000_000, keys: 1, zipf: 1.0 };
        let mut p = Proxy::new(&ProxyConfig { cache: Some(cache), ..config() });
        let mut rng = prodsim_kernel::stream(3, "t");
        let t = SimTime::ZERO;
        let Verdict::Forward { key: Some(key) } = p.decide(t, req(0, false), &mut rng) else { panic!("a miss") };
        p.store(t, key);
        assert_eq!(p.decide(t, req(1, false), &mut rng), Verdict::Hit);
        assert_eq!(p.decide(t, req(1, true), &mut rng), Verdict::Forward { key: None });
        let uncacheable = ProxyRequest { cacheable: false, ..req(1, false) };
        assert_eq!(p.decide(t, uncacheable, &mut rng), Verdict::Forward { key: None });
        assert_eq!(p.decide(SimTime::from_secs(1), req(1, false), &mut rng), Verdict::Forward { key: Some(key) });
        assert!(p.has_cache());
    }
}
