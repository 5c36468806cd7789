//! Resolving the edge: workloads' `users` and `malicious`, classes' `response_bytes` and
//! `[proxy]` with its cache, compression, rate limit and filter. Errors name the field and
//! what it accepts.

use toml::Spanned;

use super::ctx::{Allowed, Ctx, FRACTION_ABOVE_ZERO, SHARE};
use crate::limits::{MAX_INSTANCES, MAX_WORKERS};
use crate::proxy::{
    ClientSpec, CompressionSpec, DEFAULT_RESPONSE_BYTES, DEFAULT_USERS, EdgeSpec, ProxyCacheSpec, ProxySpec,
};
use crate::proxy_schema::{RawCompression, RawFilter, RawProxy, RawProxyCache, RawProxyRateLimit};
use crate::schema::RawScenario;
use prodsim_kernel::Dist;

/// Most distinct users of one workload (the rate limiter keeps a bucket per client).
const MAX_USERS: u32 = 1_000_000;
/// Most responses a cache holds.
const MAX_CACHE_CAPACITY: u32 = 10_000_000;
/// Most distinct URLs per class.
const MAX_CACHE_KEYS: u64 = 1_000_000_000;

/// Resolves the edge; `None` when something is wrong (the diagnostics say what).
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<EdgeSpec> {
    let mut ok = true;
    let mut clients = Vec::with_capacity(raw.workload.len());
    for w in &raw.workload {
        let name = w.name.get_ref();
        let users =
            cx.count_in_or(w.users.as_ref(), &format!("workload `{name}`: users"), 1..=MAX_USERS, DEFAULT_USERS);
        let malicious = cx.number_or(w.malicious.as_ref(), &format!("workload `{name}`: malicious"), 0.0, SHARE);
        match (users, malicious) {
            (Some(users), Some(malicious)) => clients.push(ClientSpec { users, malicious }),
            _ => ok = false,
        }
    }
    let class_names: Vec<String> = if raw.requests.is_empty() {
        vec!["default".to_string()]
    } else {
        raw.requests.iter().map(|c| c.get_ref().name.get_ref().clone()).collect()
    };
    let response_bytes = if raw.requests.is_empty() {
        vec![DEFAULT_RESPONSE_BYTES]
    } else {
        raw.requests
            .iter()
            .map(|c| c.get_ref().response_bytes.as_ref().map_or(DEFAULT_RESPONSE_BYTES, |b| *b.get_ref()))
            .collect()
    };
    let proxy = match &raw.proxy {
        Some(p) => resolve_proxy(cx, p.get_ref(), &class_names),
        None => Some(None),
    };
    ok.then_some(EdgeSpec { clients, proxy: proxy?, response_bytes })
}

fn resolve_proxy(cx: &mut Ctx<'_>, p: &RawProxy, classes: &[String]) -> Option<Option<ProxySpec>> {
    let instances = cx.count_in_or(p.instances.as_ref(), "proxy.instances", 1..=MAX_INSTANCES, 1);
    let workers = cx.count_in_or(p.workers.as_ref(), "proxy.workers", 1..=MAX_WORKERS, 4);
    let cpu = match &p.cpu {
        Some(c) => cx.dist(c, "proxy.cpu"),
        None => Some(Dist::constant(50_000)),
    };
    let tls_handshake = match &p.tls_handshake {
        Some(t) => cx.dist(t, "proxy.tls_handshake").map(Some),
        None => Some(None),
    };
    let tls_resumption = cx.number_or(p.tls_resumption.as_ref(), "proxy.tls_resumption", 0.0, SHARE);
    if let (Some(r), None) = (&p.tls_resumption, &p.tls_handshake) {
        cx.error(r.span(), "proxy.tls_resumption needs proxy.tls_handshake (the cost of a full handshake)");
        return None;
    }
    let cache = match &p.cache {
        Some(c) => resolve_cache(cx, c.get_ref(), classes).map(Some),
        None => Some(None),
    };
    let compression = match &p.compression {
        Some(c) => compression(cx, c.get_ref()).map(Some),
        None => Some(None),
    };
    let rate_limit = match &p.rate_limit {
        Some(r) => Some(rate_limit(cx, r.get_ref())?),
        None => None,
    };
    let filter = match &p.filter {
        Some(f) => Some(filter(cx, f.get_ref())?),
        None => None,
    };
    Some(Some(ProxySpec {
        instances: instances?,
        workers: workers?,
        queue_capacity: p.queue_capacity.as_ref().map(|q| *q.get_ref()),
        cpu: cpu?,
        tls_handshake: tls_handshake?,
        tls_resumption: tls_resumption?,
        cache: cache?,
        compression: compression?,
        rate_limit,
        filter,
    }))
}

/// `[proxy.compression]`: its CPU cost and the compressed size over the original.
fn compression(cx: &mut Ctx<'_>, c: &RawCompression) -> Option<CompressionSpec> {
    let cpu = cx.dist(&c.cpu, "proxy.compression.cpu");
    let ratio = cx.number(&c.ratio, "proxy.compression.ratio (compressed size / original)", RATIO)?;
    Some(CompressionSpec { cpu: cpu?, ratio })
}

/// A compression ratio: some bytes remain, and compression never grows a response.
const RATIO: Allowed = Allowed { says: "in (0, 1]", ..FRACTION_ABOVE_ZERO };

/// `[proxy.rate_limit]`: a token bucket per client, `(rate, burst)`.
fn rate_limit(cx: &mut Ctx<'_>, r: &RawProxyRateLimit) -> Option<(f64, f64)> {
    let rate = cx.positive(&r.per_client, "proxy.rate_limit.per_client")?;
    let burst = match &r.burst {
        Some(b) => cx.positive(b, "proxy.rate_limit.burst")?,
        None => rate.max(1.0),
    };
    Some((rate, burst))
}

/// `[proxy.filter]`: the share of malicious requests it catches, and of users' it blocks.
fn filter(cx: &mut Ctx<'_>, f: &RawFilter) -> Option<(f64, f64)> {
    let detection = cx.number(&f.detection, "proxy.filter.detection", SHARE)?;
    let false_positives = cx.number_or(f.false_positives.as_ref(), "proxy.filter.false_positives", 0.0, SHARE)?;
    Some((detection, false_positives))
}

fn resolve_cache(cx: &mut Ctx<'_>, c: &RawProxyCache, classes: &[String]) -> Option<ProxyCacheSpec> {
    let capacity = *c.capacity.get_ref();
    if capacity == 0 || capacity > MAX_CACHE_CAPACITY {
        let msg = format!("proxy.cache.capacity must be 1 to {MAX_CACHE_CAPACITY} responses, got {capacity}");
        cx.error(c.capacity.span(), msg);
        return None;
    }
    let ttl_ns = cx.duration(&c.ttl, "proxy.cache.ttl")?;
    if ttl_ns == 0 {
        cx.error(c.ttl.span(), "proxy.cache.ttl must be longer than zero");
        return None;
    }
    let keys = cx.count_in_or(c.keys.as_ref(), "proxy.cache.keys", 1..=MAX_CACHE_KEYS, 100_000)?;
    let zipf = c.zipf.as_ref().map_or(1.0, |z| *z.get_ref());
    if !(zipf.is_finite() && zipf >= 0.0) {
        let span = c.zipf.as_ref().map_or(0..0, Spanned::span);
        cx.error(span, format!("proxy.cache.zipf must be a number of at least 0 (0 is uniform), got {zipf}"));
        return None;
    }
    let mut cacheable = vec![false; classes.len()];
    if c.classes.get_ref().is_empty() {
        cx.error(c.classes.span(), format!("proxy.cache.classes needs at least one of: {}", classes.join(", ")));
        return None;
    }
    for name in c.classes.get_ref() {
        let Some(i) = classes.iter().position(|n| n == name.get_ref()) else {
            let message = format!(
                "proxy.cache.classes: unknown request class `{}`; classes: {}",
                name.get_ref(),
                classes.join(", ")
            );
            cx.unknown_name(name, message, classes.iter().map(String::as_str));
            return None;
        };
        cacheable[i] = true;
    }
    Some(ProxyCacheSpec { capacity, ttl_ns, keys, zipf, cacheable })
}
