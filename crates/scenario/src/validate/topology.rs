//! Resolving the architecture: request classes, services and storage, the database, the
//! retry queue and the app servers' process (restart, memory, price), with the regions and
//! the edge in front of them. Every reference (a call to a service, a class's payment
//! service) is checked, with the nearest valid name when it is unknown; services that call
//! each other in a cycle are refused.

use toml::Spanned;

use super::ctx::Ctx;
use super::steps::{self, Callees};
use crate::limits::{MAX_INSTANCES, MAX_REPLICAS, MAX_RETRY_QUEUE, MAX_WORKERS};
use crate::proxy::DEFAULT_RESPONSE_BYTES;
use crate::schema::RawScenario;
use crate::topology::{
    BreakerSpec, DEFAULT_REQUEST_BYTES, DatabaseSpec, MemorySpec, RequestClass, RetryBudgetSpec, RetryQueueSpec,
    ServiceKind, ServiceSpec, Step, Topology,
};
use crate::topology_schema::{
    RawBreaker, RawDatabase, RawRequestClass, RawRetryBudget, RawRetryQueue, RawService, RawStep,
};
use crate::units::NS_PER_S;
use prodsim_kernel::Dist;

/// Most keys the database may hold.
const MAX_DB_KEYS: u32 = 10_000_000;
/// Most consumers of the retry queue.
const MAX_QUEUE_CONSUMERS: u32 = 10_000;

/// Resolves the architecture's sections. `service_time` is `[servers].service_time`, which
/// becomes the one class's work when the file has no `[[requests]]`.
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario, service_time: Option<&Dist>) -> Option<Topology> {
    let names = raw.service_names();
    let callees = Callees { names: &names, has_db: raw.database.is_some() };
    let services = services(cx, raw, callees);
    let database = match &raw.database {
        Some(db) => database(cx, db).map(Some),
        None => Some(None),
    };
    let classes = classes(cx, raw, service_time, Callees { has_db: matches!(database, Some(Some(_))), ..callees });
    let retry_queue = match &raw.retry_queue {
        Some(q) => retry_queue(cx, q.get_ref()).map(Some),
        None => Some(None),
    };
    let process = app_process(cx, raw);
    let network = super::regions::network(cx, raw, *raw.servers.get_ref().count.get_ref());
    let clients = super::regions::clients(cx, raw, network.as_ref().and_then(Option::as_ref));
    let classes = classes?;
    let edge = super::proxy::resolve(cx, raw);
    let queue_used = check_retry_queue_used(cx, raw, retry_queue.as_ref());
    let (services, process) = (services?, process?);
    if !queue_used {
        return None;
    }
    let topology = Topology {
        classes,
        services,
        database: database?,
        retry_queue: retry_queue?,
        reconciliation: None,
        backups: None,
        restart_ns: process.restart_ns,
        memory: process.memory,
        price_per_server_hour: process.price_per_hour,
        network: network?,
        clients: clients?,
        edge: edge?,
        scaling: None,
        monitoring: None,
        logging: None,
        delivery: None,
    };
    check_call_cycle(cx, raw, &topology)?;
    Some(topology)
}

/// What `[servers]` says about each app server's process.
struct AppProcess {
    restart_ns: u64,
    memory: MemorySpec,
    price_per_hour: f64,
}

/// `[servers]`' restart delay, memory (the limit above the fresh process's size) and price.
fn app_process(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<AppProcess> {
    let s = raw.servers.get_ref();
    let restart_ns = cx.duration_or(s.restart_after.as_ref(), "servers.restart_after", 30 * NS_PER_S);
    let base_mb = cx.non_negative(s.memory_mb.as_ref(), "servers.memory_mb", 512.0);
    let limit_mb = cx.non_negative(s.memory_limit_mb.as_ref(), "servers.memory_limit_mb", 2048.0);
    let mut ok = true;
    if let (Some(b), Some(l)) = (base_mb, limit_mb) {
        if l <= b {
            let span = s.memory_limit_mb.as_ref().map_or(raw.servers.span(), Spanned::span);
            cx.error(span, format!("servers.memory_limit_mb ({l}) must be above servers.memory_mb ({b})"));
            ok = false;
        }
    }
    let price_per_hour = cx.non_negative(s.price_per_hour.as_ref(), "servers.price_per_hour", 0.0);
    let process = AppProcess {
        restart_ns: restart_ns?,
        memory: MemorySpec { base_mb: base_mb?, limit_mb: limit_mb? },
        price_per_hour: price_per_hour?,
    };
    ok.then_some(process)
}

/// `[services.*]` by name, then `[storage]`; `db` and `storage` are reserved names.
fn services(cx: &mut Ctx<'_>, raw: &RawScenario, callees: Callees<'_>) -> Option<Vec<ServiceSpec>> {
    let mut ok = true;
    let mut out = Vec::with_capacity(callees.names.len());
    for (name, svc) in &raw.services {
        if name == "db" || name == "storage" {
            cx.error(svc.span(), format!("`{name}` is a reserved name: use [database] / [storage] for it"));
            ok = false;
            continue;
        }
        match service(cx, name, svc, callees, false) {
            Some(s) => out.push(s),
            None => ok = false,
        }
    }
    if let Some(storage) = &raw.storage {
        match service(cx, "storage", storage, callees, true) {
            Some(s) => out.push(s),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The classes of `[[requests]]`, or without them the one class `default` whose only step
/// is `[servers].service_time`.
fn classes(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    service_time: Option<&Dist>,
    callees: Callees<'_>,
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
        let steps = vec![Step::Work(work.clone())];
        return Some(vec![RequestClass {
            name: "default".to_string(),
            weight: 1.0,
            steps,
            payment: None,
            revenue: 0.0,
            request_bytes: DEFAULT_REQUEST_BYTES,
            response_bytes: DEFAULT_RESPONSE_BYTES,
            signup: false,
            login: None,
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
        match class(cx, c, callees) {
            Some(class) => out.push(class),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Money per successful request: finite, 0 or more.
const REVENUE: super::ctx::Allowed =
    super::ctx::Allowed { says: "money per successful request, 0 or more", ..super::ctx::NON_NEGATIVE };

fn class(cx: &mut Ctx<'_>, c: &RawRequestClass, callees: Callees<'_>) -> Option<RequestClass> {
    let weight = cx.positive(&c.weight, "requests.weight");
    let steps = steps::resolve(cx, &c.steps, callees, "requests.steps");
    let payment = match &c.payment {
        Some(p) => steps::service_ref(cx, p, callees.names).map(Some),
        None => Some(None),
    };
    let revenue = cx.number_or(c.revenue.as_ref(), "requests.revenue", 0.0, REVENUE);
    let login = login(cx, c);
    Some(RequestClass {
        name: c.name.get_ref().clone(),
        weight: weight?,
        steps: steps?,
        payment: payment?,
        revenue: revenue?,
        request_bytes: c.request_bytes.as_ref().map_or(DEFAULT_REQUEST_BYTES, |b| *b.get_ref()),
        response_bytes: c.response_bytes.as_ref().map_or(DEFAULT_RESPONSE_BYTES, |b| *b.get_ref()),
        signup: c.signup.as_ref().is_some_and(|b| *b.get_ref()),
        login: login?,
    })
}

/// A class's `login` and `login_failure_ratio`: `Some(Some(ratio))` for a login class.
fn login(cx: &mut Ctx<'_>, c: &RawRequestClass) -> Option<Option<f64>> {
    let is_login = c.login.as_ref().is_some_and(|b| *b.get_ref());
    if !is_login {
        if let Some(r) = &c.login_failure_ratio {
            cx.error(r.span(), "requests.login_failure_ratio applies only to a class with `login = true`");
            return None;
        }
        return Some(None);
    }
    let default = crate::topology::DEFAULT_LOGIN_FAILURE_RATIO;
    let ratio =
        cx.number_or(c.login_failure_ratio.as_ref(), "requests.login_failure_ratio", default, super::ctx::FRACTION);
    ratio.map(Some)
}

/// `on_failure = "retry_queue"` or `"accept_and_queue"` needs a `[retry_queue]`; `false`
/// when one is used without it. `queue` is `Some(None)` when the file has none.
fn check_retry_queue_used(cx: &mut Ctx<'_>, raw: &RawScenario, queue: Option<&Option<RetryQueueSpec>>) -> bool {
    fn find(steps: &[Spanned<RawStep>]) -> Option<std::ops::Range<usize>> {
        steps.iter().find_map(|s| {
            let st = s.get_ref();
            match &st.on_failure {
                Some(v) if v.get_ref() == "retry_queue" || v.get_ref() == "accept_and_queue" => Some(v.span()),
                _ => st.parallel.as_deref().and_then(find),
            }
        })
    }
    if !matches!(queue, Some(None)) {
        return true;
    }
    let user = raw
        .requests
        .iter()
        .find_map(|c| find(&c.get_ref().steps))
        .or_else(|| raw.services.values().find_map(|s| find(&s.get_ref().steps)));
    let Some(span) = user else { return true };
    cx.error(span, "on_failure = \"retry_queue\" or \"accept_and_queue\" needs a [retry_queue] section");
    false
}

/// Services that call each other in a cycle would make every request call without end.
fn check_call_cycle(cx: &mut Ctx<'_>, raw: &RawScenario, topology: &Topology) -> Option<()> {
    let Some(cycle) = topology.call_cycle() else { return Some(()) };
    let names: Vec<&str> = cycle.iter().map(|&i| topology.services[i].name.as_str()).collect();
    let span = raw.services.get(names[0]).map_or(raw.servers.span(), Spanned::span);
    cx.error(
        span,
        format!(
            "the services call each other in a cycle ({}): every request would call without end; break the cycle",
            names.join(" → ")
        ),
    );
    None
}

fn service(
    cx: &mut Ctx<'_>,
    name: &str,
    svc: &Spanned<RawService>,
    callees: Callees<'_>,
    is_storage: bool,
) -> Option<ServiceSpec> {
    let s = svc.get_ref();
    let field = if is_storage { "storage".to_string() } else { format!("services.{name}") };
    let kind = service_kind(cx, svc, &field, is_storage)?;
    let instances = cx.count_in_or(s.instances.as_ref(), &format!("{field}.instances"), 1..=MAX_INSTANCES, 1)?;
    let workers = match &s.workers {
        Some(v) => Some(cx.count_in(v, &format!("{field}.workers"), 1..=MAX_WORKERS)?),
        None if kind == ServiceKind::Internal => Some(16),
        None => None,
    };
    let latency = cx.dist(&s.latency, &format!("{field}.latency"))?;
    let error_rate = cx.probability(s.error_rate.as_ref(), &format!("{field}.error_rate"))?;
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
    let steps = steps::resolve(cx, &s.steps, callees, &format!("{field}.steps"))?;
    let breaker = match &s.circuit_breaker {
        Some(b) => Some(breaker(cx, b.get_ref(), &field)?),
        None => None,
    };
    let retry_budget = match &s.retry_budget {
        Some(b) => Some(retry_budget(cx, b.get_ref(), &field)?),
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
        price_per_hour: cx.non_negative(s.price_per_hour.as_ref(), &format!("{field}.price_per_hour"), 0.0)?,
        price_per_call: cx.non_negative(s.price_per_call.as_ref(), &format!("{field}.price_per_call"), 0.0)?,
    })
}

/// `kind`: `internal` (the default) or `third_party`; storage has none.
fn service_kind(cx: &mut Ctx<'_>, svc: &Spanned<RawService>, field: &str, is_storage: bool) -> Option<ServiceKind> {
    let kind = svc.get_ref().kind.as_ref();
    if is_storage {
        if let Some(k) = kind {
            cx.error(k.span(), "storage has no `kind`");
            return None;
        }
        return Some(ServiceKind::Storage);
    }
    match kind.map(|k| k.get_ref().as_str()) {
        None | Some("internal") => Some(ServiceKind::Internal),
        Some("third_party") => Some(ServiceKind::ThirdParty),
        Some(other) => {
            let span = kind.map_or(svc.span(), Spanned::span);
            cx.error(span, format!("{field}.kind must be \"internal\" or \"third_party\", got \"{other}\""));
            None
        }
    }
}

/// `circuit_breaker`: the failure ratio over a window that opens it, and for how long.
fn breaker(cx: &mut Ctx<'_>, b: &RawBreaker, field: &str) -> Option<BreakerSpec> {
    let failure_ratio = match &b.failure_ratio {
        Some(v) if !(*v.get_ref() > 0.0 && *v.get_ref() <= 1.0) => {
            cx.error(v.span(), format!("{field}.circuit_breaker.failure_ratio must be in (0, 1]"));
            return None;
        }
        Some(v) => *v.get_ref(),
        None => 0.5,
    };
    let window = format!("{field}.circuit_breaker.window");
    let open_for = format!("{field}.circuit_breaker.open_for");
    Some(BreakerSpec {
        failure_ratio,
        min_calls: b.min_calls.as_ref().map_or(20, |v| *v.get_ref()).max(1),
        window_ns: cx.positive_duration_or(b.window.as_ref(), &window, 10 * NS_PER_S)?,
        open_for_ns: cx.positive_duration_or(b.open_for.as_ref(), &open_for, 30 * NS_PER_S)?,
    })
}

/// `retry_budget`: retries allowed as a share of calls, with a floor per second.
fn retry_budget(cx: &mut Ctx<'_>, b: &RawRetryBudget, field: &str) -> Option<RetryBudgetSpec> {
    let ratio = cx.non_negative(Some(&b.ratio), &format!("{field}.retry_budget.ratio"), 0.1)?;
    let min_per_s =
        cx.non_negative(b.min_per_second.as_ref(), &format!("{field}.retry_budget.min_per_second"), 10.0)?;
    Some(RetryBudgetSpec { ratio, min_per_s })
}

fn database(cx: &mut Ctx<'_>, db: &Spanned<RawDatabase>) -> Option<DatabaseSpec> {
    let d = db.get_ref();
    let replicas = match &d.replicas {
        Some(r) => cx.count_in(r, "database.replicas", 0..=MAX_REPLICAS),
        None => Some(0),
    };
    let connections = cx.positive_count_or(d.connections.as_ref(), "database.connections", 100);
    let pool = cx.positive_count_or(d.pool.as_ref(), "database.pool", 10);
    let keys = cx.positive_count_or(d.keys.as_ref(), "database.keys", 10_000);
    let pool_timeout_ns = cx.positive_duration_or(d.pool_timeout.as_ref(), "database.pool_timeout", NS_PER_S);
    let read_time = cx.dist(&d.read_time, "database.read_time");
    let write_time = cx.dist(&d.write_time, "database.write_time");
    let replication_lag_ns = cx.duration_or(d.replication_lag.as_ref(), "database.replication_lag", 0);
    let failover_ns = cx.positive_duration_or(d.failover_after.as_ref(), "database.failover_after", 30 * NS_PER_S);
    let price = cx.non_negative(d.price_per_hour.as_ref(), "database.price_per_hour", 0.0);
    let volume = volume(cx, d, db.span());
    let slow_query_ns = match &d.slow_query {
        Some(s) => cx.positive_duration(s, "database.slow_query").map(Some),
        None => Some(None),
    };
    if keys.is_some_and(|k| k > MAX_DB_KEYS) {
        cx.error(
            d.keys.as_ref().map_or(db.span(), Spanned::span),
            format!("database.keys must be at most {MAX_DB_KEYS}"),
        );
        return None;
    }
    Some(DatabaseSpec {
        replicas: replicas?,
        connections: connections?,
        pool: pool?,
        pool_timeout_ns: pool_timeout_ns?,
        read_time: read_time?,
        write_time: write_time?,
        replication_lag_ns: replication_lag_ns?,
        keys: keys?,
        failover_ns: failover_ns?,
        price_per_hour: price?,
        disk_bytes: volume?.disk,
        data_bytes: volume?.data,
        bytes_per_write: volume?.per_write,
        slow_query_ns: slow_query_ns?,
    })
}

/// A database instance's data volume: its size, the data on it at the start, and what a
/// write adds.
#[derive(Clone, Copy)]
struct Volume {
    disk: u64,
    data: u64,
    per_write: u64,
}

/// `disk_bytes`, `data_bytes` and `bytes_per_write`; the data must fit on the disk.
fn volume(cx: &mut Ctx<'_>, d: &RawDatabase, span: std::ops::Range<usize>) -> Option<Volume> {
    let get = |v: &Option<Spanned<u64>>, default: u64| v.as_ref().map_or(default, |b| *b.get_ref());
    let disk = get(&d.disk_bytes, DEFAULT_DISK_BYTES);
    let data = get(&d.data_bytes, DEFAULT_DATA_BYTES.min(disk));
    let per_write = get(&d.bytes_per_write, DEFAULT_BYTES_PER_WRITE);
    if disk == 0 {
        cx.error(d.disk_bytes.as_ref().map_or(span.clone(), Spanned::span), "database.disk_bytes must be at least 1");
        return None;
    }
    if data > disk {
        let at = d.data_bytes.as_ref().map_or(span, Spanned::span);
        cx.error(
            at,
            format!(
                "database.data_bytes ({data}) is more than database.disk_bytes ({disk}): the data must fit on the disk"
            ),
        );
        return None;
    }
    Some(Volume { disk, data, per_write })
}

/// Default `[database] disk_bytes`: 100 GB.
const DEFAULT_DISK_BYTES: u64 = 100_000_000_000;
/// Default `[database] data_bytes`: 10 GB.
const DEFAULT_DATA_BYTES: u64 = 10_000_000_000;
/// Default `[database] bytes_per_write`.
const DEFAULT_BYTES_PER_WRITE: u64 = 1_000;

fn retry_queue(cx: &mut Ctx<'_>, q: &RawRetryQueue) -> Option<RetryQueueSpec> {
    let consumers = cx.positive_count_or(q.consumers.as_ref(), "retry_queue.consumers", 4);
    let capacity = cx.count_in_or(q.capacity.as_ref(), "retry_queue.capacity", 1..=MAX_RETRY_QUEUE, 100_000);
    let interval = cx.positive_duration_or(q.retry_interval.as_ref(), "retry_queue.retry_interval", 5 * NS_PER_S);
    if consumers.is_some_and(|c| c > MAX_QUEUE_CONSUMERS) {
        let span = q.consumers.as_ref().map_or(0..0, Spanned::span);
        cx.error(span, format!("retry_queue.consumers must be at most {MAX_QUEUE_CONSUMERS}"));
        return None;
    }
    Some(RetryQueueSpec {
        consumers: consumers?,
        capacity: capacity?,
        durable: q.durable.unwrap_or(true),
        retry_interval_ns: interval?,
    })
}
