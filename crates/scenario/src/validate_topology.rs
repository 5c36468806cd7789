//! Resolving the multi-tier sections: request classes, services, storage, the database and
//! the retry queue. Every reference (a call to a service, a class's payment service) is
//! checked, with the nearest valid name when it is unknown.

use toml::Spanned;

use super::diagnostic::{Diagnostic, nearest};
use super::schema::RawScenario;
use super::topology::{
    BreakerSpec, CallSpec, DatabaseSpec, MemorySpec, OnFailure, RequestClass, RetryBudgetSpec, RetryQueueSpec,
    ServiceId, ServiceKind, ServiceSpec, Step, Target, Topology,
};
use super::topology_schema::{RawDatabase, RawRetryQueue, RawService, RawStep};
use super::validate::Ctx;
use prodsim_kernel::{Dist, NS_PER_S};

const SECOND: u64 = NS_PER_S;

/// Resolves the architecture's sections. `service_time` is `[servers].service_time`, which
/// becomes the one class's work when the file has no `[[requests]]`.
pub fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario, service_time: Option<&Dist>) -> Option<Topology> {
    let names = service_names(raw);
    let mut ok = true;
    let mut services = Vec::with_capacity(names.len());
    for (name, svc) in raw.services.iter() {
        if name == "db" || name == "storage" {
            cx.error(svc.span(), format!("`{name}` is a reserved name: use [database] / [storage] for it"));
            ok = false;
            continue;
        }
        match resolve_service(cx, name, svc, &names, false, raw.database.is_some()) {
            Some(s) => services.push(s),
            None => ok = false,
        }
    }
    if let Some(storage) = &raw.storage {
        match resolve_service(cx, "storage", storage, &names, true, raw.database.is_some()) {
            Some(s) => services.push(s),
            None => ok = false,
        }
    }
    let database = match &raw.database {
        Some(db) => resolve_database(cx, db),
        None => Some(None),
    };
    let classes = resolve_classes(cx, raw, &names, service_time, database.as_ref().is_some_and(Option::is_some));
    let retry_queue = match &raw.retry_queue {
        Some(q) => resolve_retry_queue(cx, q.get_ref()),
        None => Some(None),
    };
    let s = raw.servers.get_ref();
    let restart_ns = match &s.restart_after {
        Some(v) => cx.duration(v, "servers.restart_after"),
        None => Some(30 * SECOND),
    };
    let base_mb = non_negative(cx, s.memory_mb.as_ref(), "servers.memory_mb", 512.0);
    let limit_mb = non_negative(cx, s.memory_limit_mb.as_ref(), "servers.memory_limit_mb", 2048.0);
    if let (Some(b), Some(l)) = (base_mb, limit_mb) {
        if l <= b {
            let span = s.memory_limit_mb.as_ref().map_or(raw.servers.span(), Spanned::span);
            cx.error(span, format!("servers.memory_limit_mb ({l}) must be above servers.memory_mb ({b})"));
            ok = false;
        }
    }
    let price = non_negative(cx, s.price_per_hour.as_ref(), "servers.price_per_hour", 0.0);
    let network = super::validate_clients::resolve_network(cx, raw, *s.count.get_ref());
    let clients = super::validate_clients::resolve_clients(cx, raw, network.as_ref().and_then(Option::as_ref));
    let classes = classes?;
    let edge = super::validate_proxy::resolve(cx, raw);
    if let Some(None) = &retry_queue {
        if let Some(span) = retry_queue_users(raw) {
            cx.error(span, "on_failure = \"retry_queue\" or \"accept_and_queue\" needs a [retry_queue] section");
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let topology = Topology {
        classes,
        services,
        database: database?,
        retry_queue: retry_queue?,
        restart_ns: restart_ns?,
        memory: MemorySpec { base_mb: base_mb?, limit_mb: limit_mb? },
        price_per_server_hour: price?,
        network: network?,
        clients: clients?,
        edge: edge?,
        scaling: None,
        monitoring: None,
        logging: None,
        delivery: None,
    };
    if let Some(cycle) = topology.call_cycle() {
        let names: Vec<&str> = cycle.iter().map(|&i| topology.services[i].name.as_str()).collect();
        let span = raw.services.get(names[0]).map_or(raw.servers.span(), Spanned::span);
        cx.error(
            span,
            format!(
                "the services call each other in a cycle ({}): every request would call without end; break the cycle",
                names.join(" → ")
            ),
        );
        return None;
    }
    Some(topology)
}

/// Service names in id order: `[services.*]` by name, then `storage`.
fn service_names(raw: &RawScenario) -> Vec<String> {
    let mut names: Vec<String> =
        raw.services.keys().filter(|n| n.as_str() != "db" && n.as_str() != "storage").cloned().collect();
    if raw.storage.is_some() {
        names.push("storage".to_string());
    }
    names
}

fn retry_queue_users(raw: &RawScenario) -> Option<std::ops::Range<usize>> {
    fn find(steps: &[Spanned<RawStep>]) -> Option<std::ops::Range<usize>> {
        steps.iter().find_map(|s| {
            let st = s.get_ref();
            match &st.on_failure {
                Some(v) if v.get_ref() == "retry_queue" || v.get_ref() == "accept_and_queue" => Some(v.span()),
                _ => st.parallel.as_deref().and_then(find),
            }
        })
    }
    raw.requests
        .iter()
        .find_map(|c| find(&c.get_ref().steps))
        .or_else(|| raw.services.values().find_map(|s| find(&s.get_ref().steps)))
}

fn non_negative(cx: &mut Ctx<'_>, v: Option<&Spanned<f64>>, field: &str, default: f64) -> Option<f64> {
    let Some(v) = v else { return Some(default) };
    let x = *v.get_ref();
    if !x.is_finite() || x < 0.0 {
        cx.error(v.span(), format!("{field} must be zero or a positive number, got {x}"));
        return None;
    }
    Some(x)
}

fn probability(cx: &mut Ctx<'_>, v: Option<&Spanned<f64>>, field: &str) -> Option<f64> {
    let Some(v) = v else { return Some(0.0) };
    let x = *v.get_ref();
    if !(0.0..=1.0).contains(&x) {
        cx.error(v.span(), format!("{field} must be a probability between 0 and 1, got {x}"));
        return None;
    }
    Some(x)
}

fn positive_duration(cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str, default: u64) -> Option<u64> {
    let Some(v) = v else { return Some(default) };
    let ns = cx.duration(v, field)?;
    if ns == 0 {
        cx.error(v.span(), format!("{field} must be longer than zero"));
        return None;
    }
    Some(ns)
}

fn resolve_classes(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    names: &[String],
    service_time: Option<&Dist>,
    has_db: bool,
) -> Option<Vec<RequestClass>> {
    if raw.requests.is_empty() {
        let Some(work) = service_time else {
            let span = raw.servers.span();
            cx.error(
                span.start..span.start,
                "[servers] needs `service_time` (the time one request takes), or describe requests with [[requests]] classes",
            );
            return None;
        };
        return Some(vec![RequestClass {
            name: "default".to_string(),
            weight: 1.0,
            steps: vec![Step::Work(work.clone())],
            payment: None,
            revenue: 0.0,
        }]);
    }
    if let Some(st) = &raw.servers.get_ref().service_time {
        cx.error(st.span(), "servers.service_time applies only without [[requests]]: each class's `steps` say what a server does (use a `cpu` step)");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, c) in raw.requests.iter().enumerate() {
        let c = c.get_ref();
        if raw.requests[..i].iter().any(|p| p.get_ref().name.get_ref() == c.name.get_ref()) {
            cx.error(c.name.span(), format!("request class `{}` is defined twice", c.name.get_ref()));
            ok = false;
        }
        let w = *c.weight.get_ref();
        if !w.is_finite() || w <= 0.0 {
            cx.error(c.weight.span(), format!("requests.weight must be a positive number, got {w}"));
            ok = false;
        }
        let steps = resolve_steps(cx, &c.steps, names, has_db, "requests.steps");
        let payment = match &c.payment {
            Some(p) => service_ref(cx, p, names).map(Some),
            None => Some(None),
        };
        let revenue = super::validate_delivery::revenue(cx, c.revenue.as_ref());
        match (steps, payment, revenue) {
            (Some(steps), Some(payment), Some(revenue)) => {
                out.push(RequestClass { name: c.name.get_ref().clone(), weight: w, steps, payment, revenue })
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn service_ref(cx: &mut Ctx<'_>, name: &Spanned<String>, names: &[String]) -> Option<ServiceId> {
    if let Some(i) = names.iter().position(|n| n == name.get_ref()) {
        return Some(i as ServiceId);
    }
    let d = Diagnostic::error(
        cx.text,
        name.span(),
        format!(
            "unknown service `{}`; defined: {}",
            name.get_ref(),
            if names.is_empty() { "none (add a [services.NAME] section)".to_string() } else { names.join(", ") }
        ),
    );
    cx.diags.push(match nearest(name.get_ref(), names.iter().map(String::as_str)) {
        Some(n) => d.with_help(format!("did you mean `{n}`?")),
        None => d,
    });
    None
}

fn resolve_steps(
    cx: &mut Ctx<'_>,
    raw: &[Spanned<RawStep>],
    names: &[String],
    has_db: bool,
    field: &str,
) -> Option<Vec<Step>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for s in raw {
        match resolve_step(cx, s, names, has_db, field) {
            Some(step) => out.push(step),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn resolve_step(cx: &mut Ctx<'_>, s: &Spanned<RawStep>, names: &[String], has_db: bool, field: &str) -> Option<Step> {
    let st = s.get_ref();
    let kinds = usize::from(st.cpu.is_some()) + usize::from(st.call.is_some()) + usize::from(st.parallel.is_some());
    if kinds != 1 {
        cx.error(s.span(), format!("{field}: each step needs exactly one of `cpu`, `call` or `parallel`"));
        return None;
    }
    // Settings only a synchronous call uses; anywhere else they would be silently ignored.
    let call_settings = [
        ("timeout", st.timeout.is_some()),
        ("retries", st.retries.is_some()),
        ("backoff", st.backoff.is_some()),
        ("backoff_max", st.backoff_max.is_some()),
        ("jitter", st.jitter.is_some()),
        ("hedge_after", st.hedge_after.is_some()),
        ("on_failure", st.on_failure.is_some()),
        ("idempotent", st.idempotent.is_some()),
    ];
    let is_async = st.is_async.as_ref().is_some_and(|a| *a.get_ref());
    if st.call.is_none() || is_async {
        let what = if st.cpu.is_some() {
            "a `cpu` step"
        } else if st.parallel.is_some() {
            "a `parallel` step (put them on each call inside it)"
        } else {
            "an `async` call (nobody waits for it)"
        };
        if let Some((key, _)) = call_settings.iter().find(|(_, given)| *given) {
            cx.error(s.span(), format!("{field}: {what} takes no `{key}`"));
            return None;
        }
        if st.call.is_none() && (st.op.is_some() || st.is_async.is_some()) {
            cx.error(s.span(), format!("{field}: {what} takes no `op` or `async`"));
            return None;
        }
    }
    if let Some(cpu) = &st.cpu {
        return cx.dist(cpu, &format!("{field}.cpu")).map(Step::Work);
    }
    if let Some(parallel) = &st.parallel {
        let mut calls = Vec::with_capacity(parallel.len());
        for p in parallel {
            if p.get_ref().call.is_none() || p.get_ref().is_async.is_some() {
                cx.error(p.span(), format!("{field}.parallel: every entry is a synchronous `call`"));
                return None;
            }
            calls.push(resolve_call(cx, p, names, has_db, field)?);
        }
        if calls.is_empty() {
            cx.error(s.span(), format!("{field}.parallel needs at least one call"));
            return None;
        }
        return Some(Step::Parallel(calls));
    }
    let call = resolve_call(cx, s, names, has_db, field)?;
    if st.is_async.as_ref().is_some_and(|a| *a.get_ref()) {
        let Target::Service(_) = call.target else {
            cx.error(s.span(), format!("{field}: an `async` call goes to a service's queue, not the database"));
            return None;
        };
        return Some(Step::Async(call.target));
    }
    Some(Step::Call(call))
}

fn resolve_call(
    cx: &mut Ctx<'_>,
    s: &Spanned<RawStep>,
    names: &[String],
    has_db: bool,
    field: &str,
) -> Option<CallSpec> {
    let st = s.get_ref();
    let callee = st.call.as_ref()?;
    let target = if callee.get_ref() == "db" {
        if !has_db {
            cx.error(callee.span(), format!("{field}: a call to `db` needs a [database] section"));
            return None;
        }
        match st.op.as_ref().map(|o| o.get_ref().as_str()) {
            Some("read") => Target::DbRead,
            Some("write") => Target::DbWrite,
            _ => {
                let span = st.op.as_ref().map_or(callee.span(), Spanned::span);
                cx.error(span, format!("{field}: a call to `db` needs op = \"read\" or \"write\""));
                return None;
            }
        }
    } else {
        if let Some(op) = &st.op {
            cx.error(op.span(), format!("{field}: `op` applies only to calls to `db`"));
            return None;
        }
        Target::Service(service_ref(cx, callee, names)?)
    };
    let timeout_ns = match &st.timeout {
        Some(t) => Some(positive_duration(cx, Some(t), &format!("{field}.timeout"), 0)?),
        None => None,
    };
    let retries = st.retries.as_ref().map_or(0, |r| *r.get_ref());
    if retries > 10 {
        cx.error(
            st.retries.as_ref().map_or(s.span(), Spanned::span),
            format!("{field}.retries must be at most 10, got {retries}"),
        );
        return None;
    }
    let backoff_ns = positive_duration(cx, st.backoff.as_ref(), &format!("{field}.backoff"), 100_000_000)?;
    let backoff_max_ns = positive_duration(cx, st.backoff_max.as_ref(), &format!("{field}.backoff_max"), 10 * SECOND)?;
    let jitter = match st.jitter.as_ref().map(|j| j.get_ref().as_str()) {
        None | Some("full") => true,
        Some("none") => false,
        Some(other) => {
            cx.error(
                st.jitter.as_ref().map_or(s.span(), Spanned::span),
                format!("{field}.jitter must be \"full\" or \"none\", got \"{other}\""),
            );
            return None;
        }
    };
    let hedge_after_ns = match &st.hedge_after {
        Some(h) => Some(positive_duration(cx, Some(h), &format!("{field}.hedge_after"), 0)?),
        None => None,
    };
    let on_failure = match st.on_failure.as_ref().map(|o| o.get_ref().as_str()) {
        None | Some("fail") => OnFailure::Fail,
        Some("degrade") => OnFailure::Degrade,
        Some("retry_queue") => OnFailure::RetryQueue,
        Some("accept_and_queue") => OnFailure::AcceptAndQueue,
        Some(other) => {
            let span = st.on_failure.as_ref().map_or(s.span(), Spanned::span);
            let d = Diagnostic::error(
                cx.text,
                span,
                format!(
                    "{field}.on_failure must be one of fail, degrade, retry_queue, accept_and_queue; got \"{other}\""
                ),
            );
            cx.diags.push(match nearest(other, ["fail", "degrade", "retry_queue", "accept_and_queue"]) {
                Some(n) => d.with_help(format!("did you mean `{n}`?")),
                None => d,
            });
            return None;
        }
    };
    Some(CallSpec {
        target,
        timeout_ns,
        retries,
        backoff_ns,
        backoff_max_ns: backoff_max_ns.max(backoff_ns),
        jitter,
        hedge_after_ns,
        on_failure,
        idempotent: st.idempotent.as_ref().is_some_and(|i| *i.get_ref()),
    })
}

fn resolve_service(
    cx: &mut Ctx<'_>,
    name: &str,
    svc: &Spanned<RawService>,
    names: &[String],
    is_storage: bool,
    has_db: bool,
) -> Option<ServiceSpec> {
    let s = svc.get_ref();
    let field = if is_storage { "storage".to_string() } else { format!("services.{name}") };
    let kind = if is_storage {
        if let Some(k) = &s.kind {
            cx.error(k.span(), "storage has no `kind`");
            return None;
        }
        ServiceKind::Storage
    } else {
        match s.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("internal") => ServiceKind::Internal,
            Some("third_party") => ServiceKind::ThirdParty,
            Some(other) => {
                let span = s.kind.as_ref().map_or(svc.span(), Spanned::span);
                cx.error(span, format!("{field}.kind must be \"internal\" or \"third_party\", got \"{other}\""));
                return None;
            }
        }
    };
    let instances = match &s.instances {
        Some(v) => cx.positive_count(v, &format!("{field}.instances"))?,
        None => 1,
    };
    let workers = match &s.workers {
        Some(v) => Some(cx.positive_count(v, &format!("{field}.workers"))?),
        None if kind == ServiceKind::Internal => Some(16),
        None => None,
    };
    let latency = cx.dist(&s.latency, &format!("{field}.latency"))?;
    let error_rate = probability(cx, s.error_rate.as_ref(), &format!("{field}.error_rate"))?;
    let rate_limit = match &s.rate_limit {
        Some(r) if !r.get_ref().is_finite() || *r.get_ref() <= 0.0 => {
            cx.error(r.span(), format!("{field}.rate_limit must be a positive number of calls per second"));
            return None;
        }
        Some(r) => Some(*r.get_ref()),
        None => None,
    };
    if kind != ServiceKind::Internal && !s.steps.is_empty() {
        cx.error(svc.span(), format!("{field}: only internal services have `steps` (their own calls)"));
        return None;
    }
    let steps = resolve_steps(cx, &s.steps, names, has_db, &format!("{field}.steps"))?;
    let breaker = match &s.circuit_breaker {
        Some(b) => {
            let b = b.get_ref();
            let failure_ratio = match &b.failure_ratio {
                Some(v) if !(*v.get_ref() > 0.0 && *v.get_ref() <= 1.0) => {
                    cx.error(v.span(), format!("{field}.circuit_breaker.failure_ratio must be in (0, 1]"));
                    return None;
                }
                Some(v) => *v.get_ref(),
                None => 0.5,
            };
            Some(BreakerSpec {
                failure_ratio,
                min_calls: b.min_calls.as_ref().map_or(20, |v| *v.get_ref()).max(1),
                window_ns: positive_duration(
                    cx,
                    b.window.as_ref(),
                    &format!("{field}.circuit_breaker.window"),
                    10 * SECOND,
                )?,
                open_for_ns: positive_duration(
                    cx,
                    b.open_for.as_ref(),
                    &format!("{field}.circuit_breaker.open_for"),
                    30 * SECOND,
                )?,
            })
        }
        None => None,
    };
    let retry_budget = match &s.retry_budget {
        Some(b) => {
            let b = b.get_ref();
            let ratio = non_negative(cx, Some(&b.ratio), &format!("{field}.retry_budget.ratio"), 0.1)?;
            let min_per_s =
                non_negative(cx, b.min_per_second.as_ref(), &format!("{field}.retry_budget.min_per_second"), 10.0)?;
            Some(RetryBudgetSpec { ratio, min_per_s })
        }
        None => None,
    };
    Some(ServiceSpec {
        name: name.to_string(),
        kind,
        instances,
        workers,
        queue_capacity: s.queue_capacity.as_ref().map(|q| *q.get_ref()),
        latency,
        error_rate,
        rate_limit,
        steps,
        breaker,
        retry_budget,
        price_per_hour: non_negative(cx, s.price_per_hour.as_ref(), &format!("{field}.price_per_hour"), 0.0)?,
        price_per_call: non_negative(cx, s.price_per_call.as_ref(), &format!("{field}.price_per_call"), 0.0)?,
    })
}

fn resolve_database(cx: &mut Ctx<'_>, db: &Spanned<RawDatabase>) -> Option<Option<DatabaseSpec>> {
    let d = db.get_ref();
    let count = |cx: &mut Ctx<'_>, v: &Option<Spanned<u32>>, field: &str, default: u32| match v {
        Some(v) => cx.positive_count(v, field),
        None => Some(default),
    };
    let replicas = d.replicas.as_ref().map_or(0, |r| *r.get_ref());
    let connections = count(cx, &d.connections, "database.connections", 100);
    let pool = count(cx, &d.pool, "database.pool", 10);
    let keys = count(cx, &d.keys, "database.keys", 10_000);
    let pool_timeout_ns = positive_duration(cx, d.pool_timeout.as_ref(), "database.pool_timeout", SECOND);
    let read_time = cx.dist(&d.read_time, "database.read_time");
    let write_time = cx.dist(&d.write_time, "database.write_time");
    let replication_lag_ns = match &d.replication_lag {
        Some(v) => cx.duration(v, "database.replication_lag"),
        None => Some(0),
    };
    let failover_ns = positive_duration(cx, d.failover_after.as_ref(), "database.failover_after", 30 * SECOND);
    let price = non_negative(cx, d.price_per_hour.as_ref(), "database.price_per_hour", 0.0);
    if keys.is_some_and(|k| k > 10_000_000) {
        cx.error(d.keys.as_ref().map_or(db.span(), Spanned::span), "database.keys must be at most 10000000");
        return None;
    }
    Some(Some(DatabaseSpec {
        replicas,
        connections: connections?,
        pool: pool?,
        pool_timeout_ns: pool_timeout_ns?,
        read_time: read_time?,
        write_time: write_time?,
        replication_lag_ns: replication_lag_ns?,
        keys: keys?,
        failover_ns: failover_ns?,
        price_per_hour: price?,
    }))
}

fn resolve_retry_queue(cx: &mut Ctx<'_>, q: &RawRetryQueue) -> Option<Option<RetryQueueSpec>> {
    let consumers = match &q.consumers {
        Some(v) => cx.positive_count(v, "retry_queue.consumers"),
        None => Some(4),
    };
    let capacity = match &q.capacity {
        Some(v) => cx.positive_count(v, "retry_queue.capacity"),
        None => Some(100_000),
    };
    let interval = positive_duration(cx, q.retry_interval.as_ref(), "retry_queue.retry_interval", 5 * SECOND);
    if consumers.is_some_and(|c| c > 10_000) {
        cx.error(q.consumers.as_ref().map_or(0..0, Spanned::span), "retry_queue.consumers must be at most 10000");
        return None;
    }
    Some(Some(RetryQueueSpec {
        consumers: consumers?,
        capacity: capacity?,
        durable: q.durable.unwrap_or(true),
        retry_interval_ns: interval?,
    }))
}
