//! Resolving the edge: workloads' `users` and `malicious`, classes' `response_bytes` and
//! `[proxy]` with its cache, compression, rate limit and filter. Errors name the field and
//! what it accepts.

use std::ops::Range;

use toml::Spanned;

use super::diagnostic::{Diagnostic, nearest};
use super::proxy::{
    ClientSpec, CompressionSpec, DEFAULT_RESPONSE_BYTES, DEFAULT_USERS, EdgeSpec, ProxyCacheSpec, ProxySpec,
};
use super::proxy_schema::{RawProxy, RawProxyCache};
use super::schema::RawScenario;
use super::validate::Ctx;
use prodsim_kernel::Dist;

/// Most distinct users of one workload (the rate limiter keeps a bucket per client).
const MAX_USERS: u32 = 1_000_000;
/// Most responses a cache holds.
const MAX_CACHE_CAPACITY: u32 = 10_000_000;
/// Most distinct URLs per class.
const MAX_CACHE_KEYS: u64 = 1_000_000_000;

/// Resolves the edge; `None` when something is wrong (the diagnostics say what).
pub fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<EdgeSpec> {
    let mut ok = true;
    let mut clients = Vec::with_capacity(raw.workload.len());
    for w in &raw.workload {
        let name = w.name.get_ref();
        let users = match &w.users {
            Some(u) if *u.get_ref() == 0 || *u.get_ref() > MAX_USERS => {
                cx.error(u.span(), format!("workload `{name}`: users must be 1 to {MAX_USERS}, got {}", u.get_ref()));
                ok = false;
                DEFAULT_USERS
            }
            Some(u) => *u.get_ref(),
            None => DEFAULT_USERS,
        };
        let malicious = probability(cx, w.malicious.as_ref(), &format!("workload `{name}`: malicious"), 0.0);
        ok &= malicious.is_some();
        clients.push(ClientSpec { users, malicious: malicious.unwrap_or(0.0) });
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

fn probability(cx: &mut Ctx<'_>, v: Option<&Spanned<f64>>, field: &str, default: f64) -> Option<f64> {
    let Some(v) = v else { return Some(default) };
    let x = *v.get_ref();
    if !(0.0..=1.0).contains(&x) {
        cx.error(v.span(), format!("{field} must be a share between 0 and 1, got {x}"));
        return None;
    }
    Some(x)
}

fn positive(cx: &mut Ctx<'_>, v: &Spanned<f64>, field: &str) -> Option<f64> {
    let x = *v.get_ref();
    if !x.is_finite() || x <= 0.0 {
        cx.error(v.span(), format!("{field} must be a positive number, got {x}"));
        return None;
    }
    Some(x)
}

fn count(cx: &mut Ctx<'_>, v: Option<&Spanned<u32>>, field: &str, default: u32) -> Option<u32> {
    match v {
        Some(v) => cx.positive_count(v, field),
        None => Some(default),
    }
}

fn resolve_proxy(cx: &mut Ctx<'_>, p: &RawProxy, classes: &[String]) -> Option<Option<ProxySpec>> {
    let instances = count(cx, p.instances.as_ref(), "proxy.instances", 1);
    let workers = count(cx, p.workers.as_ref(), "proxy.workers", 4);
    let cpu = match &p.cpu {
        Some(c) => cx.dist(c, "proxy.cpu"),
        None => Some(Dist::constant(50_000)),
    };
    let tls_handshake = match &p.tls_handshake {
        Some(t) => cx.dist(t, "proxy.tls_handshake").map(Some),
        None => Some(None),
    };
    let tls_resumption = probability(cx, p.tls_resumption.as_ref(), "proxy.tls_resumption", 0.0);
    if let (Some(r), None) = (&p.tls_resumption, &p.tls_handshake) {
        cx.error(r.span(), "proxy.tls_resumption needs proxy.tls_handshake (the cost of a full handshake)");
        return None;
    }
    let cache = match &p.cache {
        Some(c) => resolve_cache(cx, c.get_ref(), classes).map(Some),
        None => Some(None),
    };
    let compression = match &p.compression {
        Some(c) => {
            let c = c.get_ref();
            let cpu = cx.dist(&c.cpu, "proxy.compression.cpu");
            let ratio = *c.ratio.get_ref();
            if !(ratio > 0.0 && ratio <= 1.0) {
                cx.error(
                    c.ratio.span(),
                    format!("proxy.compression.ratio (compressed size / original) must be in (0, 1], got {ratio}"),
                );
                return None;
            }
            cpu.map(|cpu| Some(CompressionSpec { cpu, ratio }))
        }
        None => Some(None),
    };
    let rate_limit = match &p.rate_limit {
        Some(r) => {
            let r = r.get_ref();
            let rate = positive(cx, &r.per_client, "proxy.rate_limit.per_client")?;
            let burst = match &r.burst {
                Some(b) => positive(cx, b, "proxy.rate_limit.burst")?,
                None => rate.max(1.0),
            };
            Some((rate, burst))
        }
        None => None,
    };
    let filter = match &p.filter {
        Some(f) => {
            let f = f.get_ref();
            let d = probability(cx, Some(&f.detection), "proxy.filter.detection", 0.0)?;
            let fp = probability(cx, f.false_positives.as_ref(), "proxy.filter.false_positives", 0.0)?;
            Some((d, fp))
        }
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
    let keys = c.keys.as_ref().map_or(100_000, |k| *k.get_ref());
    if keys == 0 || keys > MAX_CACHE_KEYS {
        let span = c.keys.as_ref().map_or(0..0, Spanned::span);
        cx.error(span, format!("proxy.cache.keys must be 1 to {MAX_CACHE_KEYS}, got {keys}"));
        return None;
    }
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
        match classes.iter().position(|n| n == name.get_ref()) {
            Some(i) => cacheable[i] = true,
            None => {
                unknown_class(cx, name.get_ref(), name.span(), classes);
                return None;
            }
        }
    }
    Some(ProxyCacheSpec { capacity, ttl_ns, keys, zipf, cacheable })
}

fn unknown_class(cx: &mut Ctx<'_>, name: &str, span: Range<usize>, classes: &[String]) {
    let d = Diagnostic::error(
        cx.text,
        span,
        format!("proxy.cache.classes: unknown request class `{name}`; classes: {}", classes.join(", ")),
    );
    cx.diags.push(match nearest(name, classes.iter().map(String::as_str)) {
        Some(n) => d.with_help(format!("did you mean `{n}`?")),
        None => d,
    });
}
