//! Resolving the app tier: `[balancer]` (its strategy's keys, active health checks and
//! passive outlier ejection) and `[servers]` (the pool's size, workers, work and deadline).

use toml::Spanned;

use super::ctx::Ctx;
use crate::limits::{MAX_SERVERS, MAX_WORKERS};
use crate::schema::{QueueCapacity, RawBalancer, RawHealthCheck, RawOutlier, RawScenario};
use crate::units::NS_PER_S;
use crate::{BalancerConfig, ServerPool};
use prodsim_parts::{HealthCheckConfig, OutlierConfig, Strategy};

/// Resolves `[balancer]`; round robin without it.
pub(super) fn balancer(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<BalancerConfig> {
    let Some(b) = &raw.balancer else {
        return Some(BalancerConfig {
            strategy: Strategy::RoundRobin,
            choices: 2,
            weights: Vec::new(),
            health_check: None,
            outlier_detection: None,
        });
    };
    let count = *raw.servers.get_ref().count.get_ref();
    let b = b.get_ref();
    let choices = choices(cx, b, count)?;
    let weights = weights(cx, b, count)?;
    let health_check = match &b.health_check {
        Some(h) => Some(health_check(cx, h.get_ref())?),
        None => None,
    };
    let outlier_detection = match &b.outlier_detection {
        Some(o) => Some(outlier_detection(cx, o.get_ref())?),
        None => None,
    };
    Some(BalancerConfig { strategy: b.strategy, choices, weights, health_check, outlier_detection })
}

/// `balancer.choices`: d of power of d choices, 1 to the number of servers (default 2).
fn choices(cx: &mut Ctx<'_>, b: &RawBalancer, count: u32) -> Option<u32> {
    let Some(c) = &b.choices else { return Some(2u32.min(count.max(1))) };
    let choices = *c.get_ref();
    if b.strategy != Strategy::PowerOfTwo {
        cx.error(
            c.span(),
            format!("balancer.choices applies only to strategy \"power_of_two\", not \"{}\"", b.strategy),
        );
        return None;
    }
    if choices == 0 || choices > count {
        cx.error(c.span(), format!("balancer.choices must be between 1 and servers.count ({count}), got {choices}"));
        return None;
    }
    Some(choices)
}

/// `balancer.weights`: one per app server for weighted round robin, not all zero.
fn weights(cx: &mut Ctx<'_>, b: &RawBalancer, count: u32) -> Option<Vec<u32>> {
    let Some(w) = &b.weights else { return Some(Vec::new()) };
    let list = w.get_ref();
    if b.strategy != Strategy::WeightedRoundRobin {
        cx.error(
            w.span(),
            format!("balancer.weights applies only to strategy \"weighted_round_robin\", not \"{}\"", b.strategy),
        );
        return None;
    }
    if list.len() != count as usize {
        cx.error(w.span(), format!("balancer.weights needs one weight per app server: {count}, got {}", list.len()));
        return None;
    }
    if list.iter().all(|&x| x == 0) {
        cx.error(w.span(), "balancer.weights: at least one server needs a weight above 0");
        return None;
    }
    Some(list.clone())
}

/// `balancer.health_check`: the probe period and the thresholds that take a server out of
/// rotation and bring it back.
fn health_check(cx: &mut Ctx<'_>, h: &RawHealthCheck) -> Option<HealthCheckConfig> {
    let d = HealthCheckConfig::default();
    let interval_ns = match &h.interval {
        Some(i) => match cx.duration(i, "balancer.health_check.interval")? {
            0 => {
                cx.error(i.span(), "balancer.health_check.interval must be longer than zero");
                return None;
            }
            ns => ns,
        },
        None => d.interval_ns,
    };
    let threshold = |v: &Option<Spanned<u32>>, default: u32| v.as_ref().map_or(default, |v| *v.get_ref()).max(1);
    Some(HealthCheckConfig {
        interval_ns,
        timeout_ns: d.timeout_ns.min(interval_ns),
        healthy_threshold: threshold(&h.healthy_threshold, d.healthy_threshold),
        unhealthy_threshold: threshold(&h.unhealthy_threshold, d.unhealthy_threshold),
    })
}

/// `balancer.outlier_detection`: how many failures eject a server, for how long, and how
/// much of the pool may be out at once.
fn outlier_detection(cx: &mut Ctx<'_>, o: &RawOutlier) -> Option<OutlierConfig> {
    let base_ejection_ns =
        cx.duration_or(o.base_ejection.as_ref(), "balancer.outlier_detection.base_ejection", 30 * NS_PER_S)?;
    let pct = o.max_ejection_percent.as_ref().map_or(50, |v| *v.get_ref());
    if pct > 100 {
        let span = o.max_ejection_percent.as_ref().map_or(0..0, Spanned::span);
        cx.error(span, format!("balancer.outlier_detection.max_ejection_percent must be 0 to 100, got {pct}"));
        return None;
    }
    Some(OutlierConfig {
        consecutive_failures: o.consecutive_failures.as_ref().map_or(5, |v| *v.get_ref()).max(1),
        base_ejection_ns,
        max_ejection_percent: pct,
    })
}

/// Resolves `[servers]`' pool: count, workers, waiting room, work and deadline.
pub(super) fn pool(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<ServerPool> {
    let s = raw.servers.get_ref();
    let count = cx.count_in(&s.count, "servers.count", 1..=MAX_SERVERS);
    let workers = cx.count_in(&s.workers, "servers.workers", 1..=MAX_WORKERS);
    let service_time = match &s.service_time {
        Some(st) => Some(Some(cx.dist(st, "servers.service_time")?)),
        None => Some(None),
    };
    let timeout_ns = match &s.timeout {
        Some(t) => match cx.duration(t, "servers.timeout")? {
            0 => {
                cx.error(t.span(), "servers.timeout must be longer than zero (omit it to wait forever)");
                return None;
            }
            ns => Some(Some(ns)),
        },
        None => Some(None),
    };
    let queue_capacity = match s.queue_capacity {
        QueueCapacity::Unbounded => None,
        QueueCapacity::Bounded(k) => Some(k),
    };
    Some(ServerPool {
        count: count?,
        workers: workers?,
        queue_capacity,
        service_time: service_time?,
        timeout_ns: timeout_ns?,
    })
}
