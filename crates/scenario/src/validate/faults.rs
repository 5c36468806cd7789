//! Resolving `[[faults]]`: each kind's parameters (and no parameter it does not use), its
//! target among the families of components it can hit, and its window.

use std::ops::Range;

use toml::Spanned;

use super::ctx::Ctx;
use crate::diagnostic::Severity;
use crate::limits::{MAX_RATE_PER_S, MAX_SPIKE_FACTOR};
use crate::schema::{RawFault, RawScenario};
use crate::units::NS_PER_S;
use prodsim_parts::faults::{Fault, FaultKind, FaultTarget, PLANNED_KINDS};

/// How long a call hangs in a `timeouts` or `partition` fault when `hang` is absent.
const DEFAULT_HANG_NS: u64 = 120 * NS_PER_S;

/// Resolves every fault; `None` when one is wrong (the diagnostics say why). `servers` is
/// the most app servers the pool can have.
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario, duration_ns: u64, servers: u32) -> Option<Vec<Fault>> {
    let targets = targets(raw, servers);
    let mut out = Vec::with_capacity(raw.faults.len());
    let mut ok = true;
    for f in &raw.faults {
        match resolve_fault(cx, f.get_ref(), duration_ns, &targets) {
            Some(fault) => out.push(fault),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// What a fault may hit in `raw`, whose pool has at most `servers` app servers.
pub(super) fn targets(raw: &RawScenario, servers: u32) -> Targets {
    Targets {
        servers,
        services: raw.service_names(),
        database: raw.database.is_some(),
        regions: raw.region_ranges(),
        monitoring: raw.uses_monitoring(),
        logging: raw.logging.is_some(),
        backups: raw.backups.is_some(),
        receivers: raw.receiver_names(),
        login_class: raw
            .requests
            .iter()
            .position(|c| c.get_ref().login.as_ref().is_some_and(|b| *b.get_ref()))
            .map(|i| i as u16),
    }
}

/// What a fault may hit in this scenario (kept in the scenario as
/// [`crate::inject::FaultTargets`], so a fault injected mid-run resolves the same way).
pub(crate) type Targets = crate::inject::FaultTargets;

/// The family of targets a kind accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Servers,
    Regions,
    ServersOrServices,
    Dependencies,
    Database,
    Workload,
    Receivers,
}

impl Family {
    fn describe(self) -> &'static str {
        match self {
            Family::Servers => "`servers`, `server-<i>` or a region name",
            Family::Regions => "a region name",
            Family::ServersOrServices => "`servers`, `server-<i>` or a service name",
            Family::Dependencies => "a service name, `storage` or `db`",
            Family::Database => "`db`",
            Family::Workload => "`workload`",
            Family::Receivers => "a notification receiver of [routing]",
        }
    }
}

/// The kind's parameter `v`, which it needs (`what` says what it is).
fn param<T: Copy>(
    cx: &mut Ctx<'_>,
    f: &RawFault,
    v: &Option<Spanned<T>>,
    name: &str,
    what: &str,
) -> Option<Spanned<T>> {
    match v {
        Some(v) => Some(v.clone()),
        None => {
            cx.error(f.kind.span(), format!("a {} fault needs `{name}` ({what})", f.kind.get_ref()));
            None
        }
    }
}

/// A positive multiplier or rate the kind needs.
fn positive_param(cx: &mut Ctx<'_>, f: &RawFault, v: &Option<Spanned<f64>>, name: &str, what: &str) -> Option<f64> {
    let v = param(cx, f, v, name, what)?;
    cx.positive(&v, &format!("faults.{name}"))
}

/// The kind and the family of targets it hits, with its parameters checked.
fn resolve_kind(cx: &mut Ctx<'_>, f: &RawFault, targets: &Targets) -> Option<(FaultKind, Family)> {
    let kind = match f.kind.get_ref().as_str() {
        "slowdown" => {
            let factor = positive_param(cx, f, &f.factor, "factor", "work time multiplier, e.g. 4.0")?;
            (FaultKind::Slowdown { factor }, Family::ServersOrServices)
        }
        "outage" => (FaultKind::Outage, Family::Dependencies),
        "timeouts" => (FaultKind::Timeouts { hang_ns: hang(cx, f)? }, Family::Dependencies),
        "error_rate" => {
            let rate = param(cx, f, &f.rate, "rate", "share of calls that fail, 0 to 1")?;
            (FaultKind::ErrorRate { rate: cx.probability(Some(&rate), "faults.rate")? }, Family::Dependencies)
        }
        "added_latency" => (added_latency(cx, f)?, Family::Dependencies),
        "crash" => (FaultKind::Crash, Family::Servers),
        "primary_crash" => (FaultKind::PrimaryCrash, Family::Database),
        "data_loss" if !targets.backups => {
            cx.error(f.kind.span(), "a data_loss fault needs a [backups] section to restore the database from");
            return None;
        }
        "data_loss" => (FaultKind::DataLoss, Family::Database),
        "replication_lag" => (replication_lag(cx, f)?, Family::Database),
        "slow_queries" => {
            let factor = positive_param(cx, f, &f.factor, "factor", "query time multiplier, e.g. 10.0")?;
            (FaultKind::SlowQueries { factor }, Family::Database)
        }
        "memory_leak" => {
            let mb_per_s = positive_param(cx, f, &f.mb_per_s, "mb_per_s", "MiB leaked per second")?;
            (FaultKind::MemoryLeak { mb_per_s }, Family::Servers)
        }
        "connection_leak" => {
            let per_s = positive_param(cx, f, &f.per_s, "per_s", "pool connections leaked per second per server")?;
            (FaultKind::ConnectionLeak { per_s }, Family::Servers)
        }
        "traffic_spike" => {
            let factor = positive_param(cx, f, &f.factor, "factor", "arrival rate multiplier, e.g. 5.0")?;
            (
                FaultKind::TrafficSpike { factor: at_most(cx, &f.factor, factor, "factor", MAX_SPIKE_FACTOR)? },
                Family::Workload,
            )
        }
        "region_outage" => (FaultKind::RegionOutage, Family::Regions),
        "partition" => (partition(cx, f, targets)?, Family::Dependencies),
        "ddos" => (ddos(cx, f)?, Family::Workload),
        "credential_stuffing" => (credential_stuffing(cx, f, targets)?, Family::Workload),
        "notification_outage" => (FaultKind::NotificationOutage, Family::Receivers),
        other => {
            unknown_kind(cx, f, other);
            return None;
        }
    };
    check_unused_params(cx, f, &kind.0)?;
    Some(kind)
}

/// `hang`: how long a call hangs before its connection drops.
fn hang(cx: &mut Ctx<'_>, f: &RawFault) -> Option<u64> {
    cx.duration_or(f.hang.as_ref(), "faults.hang", DEFAULT_HANG_NS)
}

fn added_latency(cx: &mut Ctx<'_>, f: &RawFault) -> Option<FaultKind> {
    let Some(l) = &f.latency else {
        cx.error(f.kind.span(), "an added_latency fault needs `latency` (a distribution, e.g. \"const(500ms)\")");
        return None;
    };
    Some(FaultKind::AddedLatency { latency: cx.dist(l, "faults.latency")? })
}

fn replication_lag(cx: &mut Ctx<'_>, f: &RawFault) -> Option<FaultKind> {
    let Some(l) = &f.lag else {
        cx.error(f.kind.span(), "a replication_lag fault needs `lag` (a duration, e.g. \"30s\")");
        return None;
    };
    Some(FaultKind::ReplicationLag { lag_ns: cx.duration(l, "faults.lag")? })
}

/// A partition cuts the app servers `from` off their dependencies.
fn partition(cx: &mut Ctx<'_>, f: &RawFault, targets: &Targets) -> Option<FaultKind> {
    let Some(from) = &f.from else {
        cx.error(
            f.kind.span(),
            "a partition fault needs `from`: the app servers cut off (`servers`, `server-<i>` or a region name)",
        );
        return None;
    };
    let from = match resolve_target(cx, from, Family::Servers, targets)? {
        FaultTarget::Server(i) => (i, i + 1),
        FaultTarget::Region { first, end, .. } => (first, end),
        _ => (0, targets.servers),
    };
    Some(FaultKind::Partition { from, hang_ns: hang(cx, f)? })
}

/// `value` of the parameter `name`, when it is at most `max` (docs/limits.md says why).
fn at_most(cx: &mut Ctx<'_>, v: &Option<Spanned<f64>>, value: f64, name: &str, max: f64) -> Option<f64> {
    if value > max {
        let span = v.as_ref().map_or(0..0, Spanned::span);
        cx.error(span, format!("faults.{name} must be at most {max:e}, got {value}"));
        return None;
    }
    Some(value)
}

/// A ddos attack: `rate` attack requests per second from `clients` distinct clients.
fn ddos(cx: &mut Ctx<'_>, f: &RawFault) -> Option<FaultKind> {
    let rate = positive_param(cx, f, &f.rate, "rate", "attack requests per second, e.g. 5000")?;
    let rate = at_most(cx, &f.rate, rate, "rate", MAX_RATE_PER_S)?;
    let Some(c) = &f.clients else {
        cx.error(f.kind.span(), "a ddos fault needs `clients` (distinct attacking clients, e.g. 300)");
        return None;
    };
    cx.positive_count(c, "faults.clients")?;
    let clients = cx.count_in(c, "faults.clients", 1..=1_000_000)?;
    Some(FaultKind::Ddos { rate, clients })
}

/// Credential stuffing: `rate` login attempts per second from `clients` clients against
/// the scenario's first login class, `failure_ratio` of them failing.
fn credential_stuffing(cx: &mut Ctx<'_>, f: &RawFault, targets: &Targets) -> Option<FaultKind> {
    let Some(class) = targets.login_class else {
        cx.error(f.kind.span(), "a credential_stuffing fault needs a request class with `login = true` to attack");
        return None;
    };
    let Some(FaultKind::Ddos { rate, clients }) = ddos(cx, f) else { return None };
    let failure_ratio = cx.number_or(f.failure_ratio.as_ref(), "faults.failure_ratio", 0.98, super::ctx::FRACTION)?;
    Some(FaultKind::CredentialStuffing { rate, clients, class, failure_ratio })
}

/// A kind that is planned but not built, or unknown (with the nearest kind).
fn unknown_kind(cx: &mut Ctx<'_>, f: &RawFault, name: &str) {
    if PLANNED_KINDS.contains(&name) {
        cx.error(
            f.kind.span(),
            format!("fault kind `{name}` is planned but not built yet; available now: {}", FaultKind::BUILT.join(", ")),
        );
        return;
    }
    let all = FaultKind::BUILT.iter().chain(PLANNED_KINDS.iter()).copied();
    let message = format!("unknown fault kind `{name}`, expected one of {}", FaultKind::BUILT.join(", "));
    cx.unknown_name(&f.kind, message, all);
}

/// Parameters the kind does not use must be absent, so a typo'd kind never silently
/// ignores a value.
fn check_unused_params(cx: &mut Ctx<'_>, f: &RawFault, kind: &FaultKind) -> Option<()> {
    let used: &[&str] = match kind {
        FaultKind::Slowdown { .. } | FaultKind::SlowQueries { .. } | FaultKind::TrafficSpike { .. } => &["factor"],
        FaultKind::Timeouts { .. } => &["hang"],
        FaultKind::Partition { .. } => &["from", "hang"],
        FaultKind::ErrorRate { .. } => &["rate"],
        FaultKind::AddedLatency { .. } => &["latency"],
        FaultKind::ReplicationLag { .. } => &["lag"],
        FaultKind::MemoryLeak { .. } => &["mb_per_s"],
        FaultKind::ConnectionLeak { .. } => &["per_s"],
        FaultKind::Outage
        | FaultKind::Crash
        | FaultKind::PrimaryCrash
        | FaultKind::DataLoss
        | FaultKind::RegionOutage
        | FaultKind::NotificationOutage => &[],
        FaultKind::Ddos { .. } => &["rate", "clients"],
        FaultKind::CredentialStuffing { .. } => &["rate", "clients", "failure_ratio"],
    };
    let given: [(&str, Option<Range<usize>>); 10] = [
        ("factor", f.factor.as_ref().map(Spanned::span)),
        ("rate", f.rate.as_ref().map(Spanned::span)),
        ("latency", f.latency.as_ref().map(Spanned::span)),
        ("hang", f.hang.as_ref().map(Spanned::span)),
        ("lag", f.lag.as_ref().map(Spanned::span)),
        ("mb_per_s", f.mb_per_s.as_ref().map(Spanned::span)),
        ("per_s", f.per_s.as_ref().map(Spanned::span)),
        ("from", f.from.as_ref().map(Spanned::span)),
        ("clients", f.clients.as_ref().map(Spanned::span)),
        ("failure_ratio", f.failure_ratio.as_ref().map(Spanned::span)),
    ];
    for (key, span) in given {
        if let (Some(span), false) = (span, used.contains(&key)) {
            cx.error(span, format!("a {} fault takes no `{key}`", f.kind.get_ref()));
            return None;
        }
    }
    Some(())
}

/// One fault of `[[faults]]` (or injected mid-run), resolved against `targets`.
pub(crate) fn resolve_fault(cx: &mut Ctx<'_>, f: &RawFault, duration_ns: u64, targets: &Targets) -> Option<Fault> {
    let (kind, family) = resolve_kind(cx, f, targets)?;
    let target = match f.target.get_ref().as_str() {
        _ if family == Family::Receivers => receiver(cx, &f.target, targets)?,
        "monitoring" | "log_store" => watcher(cx, f, &kind, targets)?,
        _ => resolve_target(cx, &f.target, family, targets)?,
    };
    let (start_ns, end_ns) = window(cx, f, &kind, duration_ns)?;
    Some(Fault { kind, target, target_name: f.target.get_ref().clone(), start_ns, end_ns })
}

/// The receiver a `notification_outage` takes down, by name.
fn receiver(cx: &mut Ctx<'_>, target: &Spanned<String>, t: &Targets) -> Option<FaultTarget> {
    if let Some(i) = t.receivers.iter().position(|r| r == target.get_ref()) {
        return Some(FaultTarget::Receiver(i as u16));
    }
    let message = if t.receivers.is_empty() {
        format!(
            "fault target `{}`: a notification_outage hits a receiver of [[routing.receivers]], and this scenario              has none (it needs monitoring and [routing])",
            target.get_ref()
        )
    } else {
        format!(
            "fault target `{}` is not a receiver; a notification_outage hits one of: {}",
            target.get_ref(),
            t.receivers.join(", ")
        )
    };
    cx.unknown(Severity::Error, target.span(), message, target.get_ref(), t.receivers.iter().map(String::as_str));
    None
}

/// The watchers can fail too: an outage stops the monitoring stack or the log store, a
/// slowdown stretches the monitoring stack's periods.
fn watcher(cx: &mut Ctx<'_>, f: &RawFault, kind: &FaultKind, targets: &Targets) -> Option<FaultTarget> {
    let monitoring = f.target.get_ref() == "monitoring";
    let fits = matches!(kind, FaultKind::Outage) || (monitoring && matches!(kind, FaultKind::Slowdown { .. }));
    if !fits {
        let allowed = if monitoring { "`outage` and `slowdown`" } else { "`outage`" };
        let name = f.kind.get_ref();
        cx.error(f.target.span(), format!("a {name} fault cannot hit `{}`; it takes {allowed}", f.target.get_ref()));
        return None;
    }
    let present = if monitoring { targets.monitoring } else { targets.logging };
    if !present {
        let section = if monitoring { "[monitoring] (or alert rules)" } else { "[logging]" };
        cx.error(f.target.span(), format!("fault target `{}` needs a {section} section", f.target.get_ref()));
        return None;
    }
    Some(if monitoring { FaultTarget::Monitoring } else { FaultTarget::LogStore })
}

/// The fault's start and end: `at` plus `duration`, or the end of the run; a crash has no
/// duration (recovery takes its own time).
fn window(cx: &mut Ctx<'_>, f: &RawFault, kind: &FaultKind, duration_ns: u64) -> Option<(u64, u64)> {
    let start_ns = cx.duration(&f.at, "faults.at")?;
    let crash = matches!(kind, FaultKind::Crash | FaultKind::PrimaryCrash | FaultKind::DataLoss);
    let end_ns = match &f.duration {
        Some(d) if crash => {
            let recovery = match kind {
                FaultKind::Crash => "[servers].restart_after",
                FaultKind::DataLoss => "[backups].restore",
                _ => "[database].failover_after",
            };
            cx.error(d.span(), format!("a {} fault has no `duration`: recovery takes {recovery}", kind.name()));
            return None;
        }
        Some(d) => match cx.duration(d, "faults.duration")? {
            0 => {
                cx.error(d.span(), "faults.duration must be longer than zero (omit it to last until the end)");
                return None;
            }
            ns => start_ns.saturating_add(ns),
        },
        None if crash => start_ns,
        None => duration_ns.max(start_ns),
    };
    if start_ns >= duration_ns {
        cx.warning(f.at.span(), "this fault starts after the run ends and has no effect");
    }
    Some((start_ns, end_ns))
}

/// The component a name stands for, if any: `servers`, `db`, `workload`, `server-<i>`, a
/// region or a service.
fn lookup_target(name: &str, t: &Targets) -> Option<FaultTarget> {
    if name == "servers" {
        return Some(FaultTarget::AllServers);
    }
    if name == "db" {
        return Some(FaultTarget::Database);
    }
    if name == "workload" {
        return Some(FaultTarget::Workloads);
    }
    if let Some(i) = name.strip_prefix("server-").and_then(|i| i.parse::<u32>().ok()).filter(|&i| i < t.servers) {
        return Some(FaultTarget::Server(i));
    }
    if let Some(r) = t.regions.iter().position(|(n, _, _)| n == name) {
        let (_, first, end) = t.regions[r];
        return Some(FaultTarget::Region { index: r as u16, first, end });
    }
    t.services.iter().position(|s| s == name).map(|i| FaultTarget::Service(i as u16))
}

/// Whether a kind of `family` can hit `target`.
fn fits(family: Family, target: FaultTarget) -> bool {
    use FaultTarget::{AllServers, Database, Region, Server, Service, Workloads};
    match family {
        Family::Servers => matches!(target, Server(_) | AllServers | Region { .. }),
        Family::Regions => matches!(target, Region { .. }),
        Family::ServersOrServices => matches!(target, Server(_) | AllServers | Service(_) | Region { .. }),
        Family::Dependencies => matches!(target, Service(_) | Database),
        Family::Database => matches!(target, Database),
        Family::Workload => matches!(target, Workloads),
        Family::Receivers => matches!(target, FaultTarget::Receiver(_)),
    }
}

fn resolve_target(cx: &mut Ctx<'_>, target: &Spanned<String>, family: Family, t: &Targets) -> Option<FaultTarget> {
    let found = lookup_target(target.get_ref(), t);
    if !found.is_some_and(|f| fits(family, f)) {
        misfit(cx, target, family, t, found.is_none());
        return None;
    }
    if found == Some(FaultTarget::Database) && !t.database {
        cx.error(target.span(), "fault target `db` needs a [database] section");
        return None;
    }
    found
}

/// Reports a target the kind cannot hit, listing the scenario's targets (and, for a name
/// that is no target at all, the nearest one).
fn misfit(cx: &mut Ctx<'_>, target: &Spanned<String>, family: Family, t: &Targets, unknown: bool) {
    let last = t.servers.saturating_sub(1);
    let index = target.get_ref().strip_prefix("server-").and_then(|i| i.parse::<u64>().ok());
    if let Some(i) = index.filter(|&i| i >= u64::from(t.servers)) {
        let count = t.servers;
        cx.error(
            target.span(),
            format!(
                "fault target `server-{i}` is out of range: the pool has {count} servers (`server-0` … `server-{last}`)"
            ),
        );
        return;
    }
    let mut known = vec!["servers".to_string(), format!("server-0 … server-{last}")];
    known.extend(t.services.iter().cloned());
    known.extend(t.regions.iter().map(|(n, _, _)| n.clone()));
    if t.database {
        known.push("db".into());
    }
    known.push("workload".into());
    let message = format!(
        "fault target `{}` does not fit this kind, which hits {}; targets in this scenario: {}",
        target.get_ref(),
        family.describe(),
        known.join(", ")
    );
    let candidates: Vec<&str> = if unknown {
        let names = t.services.iter().map(String::as_str).chain(t.regions.iter().map(|(n, _, _)| n.as_str()));
        names.chain(["servers", "db", "workload"]).collect()
    } else {
        Vec::new()
    };
    cx.unknown(Severity::Error, target.span(), message, target.get_ref(), candidates);
}
