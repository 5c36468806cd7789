//! Resolving `[[faults]]`: each kind's parameters, its target and its window.

use toml::Spanned;

use super::diagnostic::{Diagnostic, nearest};
use super::schema::{RawFault, RawScenario};
use super::validate::Ctx;
use prodsim_kernel::NS_PER_S;
use prodsim_parts::faults::{Fault, FaultKind, FaultTarget, PLANNED_KINDS};

/// Resolves every fault; `None` when one is wrong (the diagnostics say why).
pub fn resolve_faults(cx: &mut Ctx<'_>, raw: &RawScenario, duration_ns: u64, servers: u32) -> Option<Vec<Fault>> {
    let mut services: Vec<String> =
        raw.services.keys().filter(|n| n.as_str() != "db" && n.as_str() != "storage").cloned().collect();
    if raw.storage.is_some() {
        services.push("storage".to_string());
    }
    let regions = super::validate_clients::region_ranges(raw);
    let targets = Targets {
        servers,
        services,
        database: raw.database.is_some(),
        regions,
        monitoring: super::validate_monitoring::uses_monitoring(raw),
        logging: raw.logging.is_some(),
    };
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

/// What a fault may hit in this scenario.
struct Targets {
    servers: u32,
    services: Vec<String>,
    database: bool,
    /// Regions by name with their servers, `(name, first, end)`.
    regions: Vec<(String, u32, u32)>,
    /// The scenario has a monitoring stack (`monitoring` is a target).
    monitoring: bool,
    /// The scenario has `[logging]` (`log_store` is a target).
    logging: bool,
}

/// The family of targets a kind accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Servers,
    Regions,
    ServersOrServices,
    Dependencies,
    Database,
    Workload,
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
        }
    }
}

fn param<T: Copy>(
    cx: &mut Ctx<'_>,
    f: &RawFault,
    v: &Option<Spanned<T>>,
    name: &str,
    what: &str,
) -> Option<(T, std::ops::Range<usize>)> {
    match v {
        Some(v) => Some((*v.get_ref(), v.span())),
        None => {
            cx.error(f.kind.span(), format!("a {} fault needs `{name}` ({what})", f.kind.get_ref()));
            None
        }
    }
}

fn positive(cx: &mut Ctx<'_>, (v, span): (f64, std::ops::Range<usize>), name: &str) -> Option<f64> {
    if !v.is_finite() || v <= 0.0 {
        cx.error(span, format!("faults.{name} must be a positive number, got {v}"));
        return None;
    }
    Some(v)
}

fn resolve_kind(cx: &mut Ctx<'_>, f: &RawFault, targets: &Targets) -> Option<(FaultKind, Family)> {
    let name = f.kind.get_ref().as_str();
    let kind = match name {
        "slowdown" => {
            let p = param(cx, f, &f.factor, "factor", "work time multiplier, e.g. 4.0")?;
            (FaultKind::Slowdown { factor: positive(cx, p, "factor")? }, Family::ServersOrServices)
        }
        "outage" => (FaultKind::Outage, Family::Dependencies),
        "timeouts" => {
            let hang_ns = match &f.hang {
                Some(h) => cx.duration(h, "faults.hang")?,
                None => 120 * NS_PER_S,
            };
            (FaultKind::Timeouts { hang_ns }, Family::Dependencies)
        }
        "error_rate" => {
            let (rate, span) = param(cx, f, &f.rate, "rate", "share of calls that fail, 0 to 1")?;
            if !(0.0..=1.0).contains(&rate) {
                cx.error(span, format!("faults.rate must be a probability between 0 and 1, got {rate}"));
                return None;
            }
            (FaultKind::ErrorRate { rate }, Family::Dependencies)
        }
        "added_latency" => {
            let Some(l) = &f.latency else {
                cx.error(
                    f.kind.span(),
                    "an added_latency fault needs `latency` (a distribution, e.g. \"const(500ms)\")",
                );
                return None;
            };
            (FaultKind::AddedLatency { latency: cx.dist(l, "faults.latency")? }, Family::Dependencies)
        }
        "crash" => (FaultKind::Crash, Family::Servers),
        "primary_crash" => (FaultKind::PrimaryCrash, Family::Database),
        "replication_lag" => {
            let Some(l) = &f.lag else {
                cx.error(f.kind.span(), "a replication_lag fault needs `lag` (a duration, e.g. \"30s\")");
                return None;
            };
            (FaultKind::ReplicationLag { lag_ns: cx.duration(l, "faults.lag")? }, Family::Database)
        }
        "slow_queries" => {
            let p = param(cx, f, &f.factor, "factor", "query time multiplier, e.g. 10.0")?;
            (FaultKind::SlowQueries { factor: positive(cx, p, "factor")? }, Family::Database)
        }
        "memory_leak" => {
            let p = param(cx, f, &f.mb_per_s, "mb_per_s", "MiB leaked per second")?;
            (FaultKind::MemoryLeak { mb_per_s: positive(cx, p, "mb_per_s")? }, Family::Servers)
        }
        "connection_leak" => {
            let p = param(cx, f, &f.per_s, "per_s", "pool connections leaked per second per server")?;
            (FaultKind::ConnectionLeak { per_s: positive(cx, p, "per_s")? }, Family::Servers)
        }
        "traffic_spike" => {
            let p = param(cx, f, &f.factor, "factor", "arrival rate multiplier, e.g. 5.0")?;
            (FaultKind::TrafficSpike { factor: positive(cx, p, "factor")? }, Family::Workload)
        }
        "region_outage" => (FaultKind::RegionOutage, Family::Regions),
        "partition" => {
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
            let hang_ns = match &f.hang {
                Some(h) => cx.duration(h, "faults.hang")?,
                None => 120 * NS_PER_S,
            };
            (FaultKind::Partition { from, hang_ns }, Family::Dependencies)
        }
        "ddos" => {
            let p = param(cx, f, &f.rate, "rate", "attack requests per second, e.g. 5000")?;
            let rate = positive(cx, p, "rate")?;
            let Some(c) = &f.clients else {
                cx.error(f.kind.span(), "a ddos fault needs `clients` (distinct attacking clients, e.g. 300)");
                return None;
            };
            let clients = cx.positive_count(c, "faults.clients")?;
            if clients > 1_000_000 {
                cx.error(c.span(), format!("faults.clients must be 1 to 1000000, got {clients}"));
                return None;
            }
            (FaultKind::Ddos { rate, clients }, Family::Workload)
        }
        other if PLANNED_KINDS.contains(&other) => {
            cx.error(
                f.kind.span(),
                format!(
                    "fault kind `{other}` is planned but not built yet; available now: {}",
                    FaultKind::BUILT.join(", ")
                ),
            );
            return None;
        }
        other => {
            let all = FaultKind::BUILT.iter().chain(PLANNED_KINDS.iter()).copied();
            let d = Diagnostic::error(
                cx.text,
                f.kind.span(),
                format!("unknown fault kind `{other}`, expected one of {}", FaultKind::BUILT.join(", ")),
            );
            cx.diags.push(match nearest(other, all) {
                Some(n) => d.with_help(format!("did you mean `{n}`?")),
                None => d,
            });
            return None;
        }
    };
    // Parameters the kind does not use must be absent, so a typo'd kind never silently
    // ignores a value.
    let used: &[&str] = match kind.0 {
        FaultKind::Slowdown { .. } | FaultKind::SlowQueries { .. } | FaultKind::TrafficSpike { .. } => &["factor"],
        FaultKind::Timeouts { .. } => &["hang"],
        FaultKind::Partition { .. } => &["from", "hang"],
        FaultKind::ErrorRate { .. } => &["rate"],
        FaultKind::AddedLatency { .. } => &["latency"],
        FaultKind::ReplicationLag { .. } => &["lag"],
        FaultKind::MemoryLeak { .. } => &["mb_per_s"],
        FaultKind::ConnectionLeak { .. } => &["per_s"],
        FaultKind::Outage | FaultKind::Crash | FaultKind::PrimaryCrash | FaultKind::RegionOutage => &[],
        FaultKind::Ddos { .. } => &["rate", "clients"],
    };
    let given = [
        ("factor", f.factor.as_ref().map(Spanned::span)),
        ("rate", f.rate.as_ref().map(Spanned::span)),
        ("latency", f.latency.as_ref().map(Spanned::span)),
        ("hang", f.hang.as_ref().map(Spanned::span)),
        ("lag", f.lag.as_ref().map(Spanned::span)),
        ("mb_per_s", f.mb_per_s.as_ref().map(Spanned::span)),
        ("per_s", f.per_s.as_ref().map(Spanned::span)),
        ("from", f.from.as_ref().map(Spanned::span)),
        ("clients", f.clients.as_ref().map(Spanned::span)),
    ];
    for (key, span) in given {
        if let Some(span) = span {
            if !used.contains(&key) {
                cx.error(span, format!("a {name} fault takes no `{key}`"));
                return None;
            }
        }
    }
    Some(kind)
}

fn resolve_fault(cx: &mut Ctx<'_>, f: &RawFault, duration_ns: u64, targets: &Targets) -> Option<Fault> {
    let (kind, family) = resolve_kind(cx, f, targets)?;
    let target = match f.target.get_ref().as_str() {
        // The watchers can fail too: an outage stops them, a slowdown stretches their periods.
        "monitoring" | "log_store" => {
            let monitoring = f.target.get_ref() == "monitoring";
            let fits = matches!(kind, FaultKind::Outage) || (monitoring && matches!(kind, FaultKind::Slowdown { .. }));
            if !fits {
                let allowed = if monitoring { "`outage` and `slowdown`" } else { "`outage`" };
                let name = f.kind.get_ref();
                cx.error(
                    f.target.span(),
                    format!("a {name} fault cannot hit `{}`; it takes {allowed}", f.target.get_ref()),
                );
                return None;
            }
            let present = if monitoring { targets.monitoring } else { targets.logging };
            if !present {
                let section = if monitoring { "[monitoring] (or alert rules)" } else { "[logging]" };
                cx.error(f.target.span(), format!("fault target `{}` needs a {section} section", f.target.get_ref()));
                return None;
            }
            if monitoring { FaultTarget::Monitoring } else { FaultTarget::LogStore }
        }
        _ => resolve_target(cx, &f.target, family, targets)?,
    };
    let start_ns = cx.duration(&f.at, "faults.at")?;
    let end_ns = match (&f.duration, &kind) {
        (Some(d), FaultKind::Crash | FaultKind::PrimaryCrash) => {
            cx.error(
                d.span(),
                format!(
                    "a {} fault has no `duration`: recovery takes {}",
                    kind.name(),
                    match kind {
                        FaultKind::Crash => "[servers].restart_after",
                        _ => "[database].failover_after",
                    }
                ),
            );
            return None;
        }
        (Some(d), _) => match cx.duration(d, "faults.duration")? {
            0 => {
                cx.error(d.span(), "faults.duration must be longer than zero (omit it to last until the end)");
                return None;
            }
            ns => start_ns.saturating_add(ns),
        },
        (None, FaultKind::Crash | FaultKind::PrimaryCrash) => start_ns,
        (None, _) => duration_ns.max(start_ns),
    };
    if start_ns >= duration_ns {
        cx.warning(f.at.span(), "this fault starts after the run ends and has no effect");
    }
    Some(Fault { kind, target, target_name: f.target.get_ref().clone(), start_ns, end_ns })
}

fn resolve_target(cx: &mut Ctx<'_>, target: &Spanned<String>, family: Family, t: &Targets) -> Option<FaultTarget> {
    let name = target.get_ref().as_str();
    let found = if name == "servers" {
        Some(FaultTarget::AllServers)
    } else if name == "db" {
        Some(FaultTarget::Database)
    } else if name == "workload" {
        Some(FaultTarget::Workloads)
    } else if let Some(i) = name.strip_prefix("server-").and_then(|i| i.parse::<u32>().ok()).filter(|&i| i < t.servers)
    {
        Some(FaultTarget::Server(i))
    } else if let Some(r) = t.regions.iter().position(|(n, _, _)| n == name) {
        let (_, first, end) = t.regions[r];
        Some(FaultTarget::Region { index: r as u16, first, end })
    } else {
        t.services.iter().position(|s| s == name).map(|i| FaultTarget::Service(i as u16))
    };
    let fits = match (family, found) {
        (_, None) => false,
        (Family::Servers, Some(FaultTarget::Server(_) | FaultTarget::AllServers | FaultTarget::Region { .. })) => true,
        (Family::Regions, Some(FaultTarget::Region { .. })) => true,
        (
            Family::ServersOrServices,
            Some(
                FaultTarget::Server(_) | FaultTarget::AllServers | FaultTarget::Service(_) | FaultTarget::Region { .. },
            ),
        ) => true,
        (Family::Dependencies, Some(FaultTarget::Service(_) | FaultTarget::Database)) => true,
        (Family::Database, Some(FaultTarget::Database)) => true,
        (Family::Workload, Some(FaultTarget::Workloads)) => true,
        _ => false,
    };
    if !fits {
        let last = t.servers.saturating_sub(1);
        let mut known = vec!["servers".to_string(), format!("server-0 … server-{last}")];
        known.extend(t.services.iter().cloned());
        known.extend(t.regions.iter().map(|(n, _, _)| n.clone()));
        if t.database {
            known.push("db".into());
        }
        known.push("workload".into());
        let d = Diagnostic::error(
            cx.text,
            target.span(),
            format!(
                "fault target `{name}` does not fit this kind, which hits {}; targets in this scenario: {}",
                family.describe(),
                known.join(", ")
            ),
        );
        let candidates: Vec<&str> = t
            .services
            .iter()
            .map(String::as_str)
            .chain(t.regions.iter().map(|(n, _, _)| n.as_str()))
            .chain(["servers", "db", "workload"])
            .collect();
        cx.diags.push(match found.is_none().then(|| nearest(name, candidates.iter().copied())).flatten() {
            Some(n) => d.with_help(format!("did you mean `{n}`?")),
            None => d,
        });
        return None;
    }
    if found == Some(FaultTarget::Database) && !t.database {
        cx.error(target.span(), "fault target `db` needs a [database] section");
        return None;
    }
    found
}
