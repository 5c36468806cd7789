//! From the raw file to a [`Scenario`]: units resolved, distributions built, and every
//! semantic rule checked with the span it is about.
//!
//! This module only orchestrates: it resolves the sections in dependency order (the run's
//! times, the open workloads, the balancer and the app servers, the faults, the
//! architecture and what watches and changes it, then the expectations against the
//! resolved scenario) and assembles the result. Each section is resolved in its own module
//! with the field checks of [`ctx::Ctx`]; a section module depends on the context, the raw
//! schema, the resolved types and the sub-sections it contains, never on this module, so
//! the validation modules form no import cycle:
//!
//! ```text
//! mod ─┬─ run, workloads, servers, faults, scaling, logging, recovery
//!      ├─ topology ── steps, regions, proxy
//!      ├─ monitoring ── routing, generated
//!      ├─ delivery ── release, response
//!      └─ expect ── crate::summary_paths
//!         (every one of them) ── ctx
//! ```

mod ctx;
mod delivery;
mod expect;
mod faults;
mod generated;
mod logging;
mod monitoring;
mod notify;
mod proxy;
mod recovery;
mod regions;
mod release;
mod response;
mod routing;
mod run;
mod scaling;
mod servers;
mod steps;
mod topology;
mod weekly;
mod workloads;

use std::ops::Range;

use ctx::Ctx;

use crate::diagnostic::{Diagnostic, Severity, nearest};
use crate::schema::RawScenario;
use crate::summary_paths::SummaryPaths;
use crate::{Scenario, ServerPool, units};
use prodsim_kernel::NS_PER_S;

pub use run::default_report_interval;

/// Default seed when the file gives none.
pub const DEFAULT_SEED: u64 = 1;

/// Turns a TOML or serde error into a diagnostic, adding the nearest valid name for unknown
/// keys and values.
pub fn from_toml_error(text: &str, e: &toml::de::Error) -> Diagnostic {
    let span = e.span().unwrap_or(0..0);
    let message = e.message().trim().to_string();
    let said = plain_words(&message).or_else(|| duplicate(text, &message, &span)).unwrap_or_else(|| message.clone());
    let mut d = Diagnostic::error(text, span, said);
    if let Some(help) = suggestion(&message) {
        d = d.with_help(help);
    }
    d
}

/// serde's "invalid value: integer `-4`, expected u32" in a person's words: "expected a
/// whole number ≥ 0 (at most 4294967295), got -4".
fn plain_words(message: &str) -> Option<String> {
    let (got, expected) = message.rsplit_once(", expected ")?;
    let what = match expected {
        "u8" => format!("a whole number ≥ 0 (at most {})", u8::MAX),
        "u16" => format!("a whole number ≥ 0 (at most {})", u16::MAX),
        "u32" => format!("a whole number ≥ 0 (at most {})", u32::MAX),
        "u64" | "usize" => "a whole number ≥ 0".to_string(),
        "i64" => "a whole number".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a boolean" => "true or false".to_string(),
        _ => return None,
    };
    let value = got.strip_prefix("invalid value: ").or_else(|| got.strip_prefix("invalid type: "))?.replace('`', "");
    let value = match value.split_once(' ') {
        Some(("integer", v)) => v.to_string(),
        Some(("floating", v)) => v.trim_start_matches("point ").to_string(),
        Some(("string", v)) => format!("the text {v}"),
        _ => value,
    };
    Some(format!("expected {what}, got {value}"))
}

/// TOML's bare "duplicate key", with the table or key named and where it was first given.
fn duplicate(text: &str, message: &str, span: &Range<usize>) -> Option<String> {
    if message != "duplicate key" {
        return None;
    }
    let name = text.get(span.clone())?.trim();
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let is_table = text[line_start..span.start].trim_end().ends_with('[');
    if is_table {
        let header = format!("[{name}]");
        let first = text[..line_start].lines().position(|l| l.trim() == header).map(|i| i + 1);
        let at = first.map(|l| format!("; the first is on line {l}")).unwrap_or_default();
        return Some(format!("table `{header}` is defined twice{at}"));
    }
    Some(format!("key `{name}` is given twice in this table"))
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" and "unknown variant ..."
/// messages, the nearest expected name.
fn suggestion(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field ").or_else(|| message.strip_prefix("unknown variant "))?;
    let mut quoted = rest.split('`').skip(1).step_by(2);
    let word = quoted.next()?;
    let candidates: Vec<&str> = quoted.collect();
    nearest(word, candidates.iter().copied()).map(|n| format!("did you mean `{n}`?"))
}

/// Resolves `raw` into a scenario. Returns `None` when an error was found; the diagnostics
/// hold every error and warning.
/// `imports` holds the rule files and Alertmanager configuration the file names, read.
pub fn resolve(
    text: &str,
    raw: RawScenario,
    imports: &crate::prometheus::imports::Imports,
) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut cx = Ctx::new(text);
    cx.imports = Some(imports);
    let scenario = resolve_sections(&mut cx, &raw);
    (scenario, cx.into_diagnostics())
}

/// One `[[faults]]` table written in `text` (what [`crate::inject`] makes of an injected
/// fault), resolved by the code that resolves a file's faults; the errors' messages when it
/// is wrong.
pub(crate) fn resolve_one_fault(
    text: &str,
    raw: &crate::schema::RawFault,
    duration_ns: u64,
    targets: &crate::inject::FaultTargets,
) -> Result<prodsim_parts::faults::Fault, Vec<String>> {
    let mut cx = Ctx::new(text);
    let fault = faults::resolve_fault(&mut cx, raw, duration_ns, targets);
    let errors: Vec<String> = cx
        .into_diagnostics()
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| match d.help {
            Some(h) => format!("{} ({h})", d.message),
            None => d.message,
        })
        .collect();
    match fault {
        Some(f) if errors.is_empty() => Ok(f),
        _ => Err(errors),
    }
}

/// Resolves every section, then the expectations against what they made.
fn resolve_sections(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<Scenario> {
    let meta = &raw.scenario;
    let name = run::name(cx, &meta.name);
    let times = run::times(cx, meta);
    let duration_ns = times.duration_ns.unwrap_or(0);
    let start_time_s = run::start_time(cx, meta.start_time.as_ref());
    let week_start_s = start_time_s.unwrap_or(crate::monitoring::DEFAULT_START_S);
    let workloads = workloads::resolve(cx, &raw.workload, raw.servers.span(), duration_ns, week_start_s);
    let balancer = servers::balancer(cx, raw);
    let servers = servers::pool(cx, raw);
    let limits = run::limits(cx, raw.limits.as_ref());
    let pool_max = servers.as_ref().map_or(0, |_| raw.pool_max());
    let faults = faults::resolve(cx, raw, duration_ns, pool_max);
    let fault_targets = faults::targets(raw, pool_max);
    let topology = architecture(cx, raw, servers.as_ref(), times.duration_ns);
    let alerts = topology.as_ref().map(|t| t.monitoring.as_ref().map(|m| m.alert_names()).filter(|n| !n.is_empty()));
    let scenario = (|| {
        Some(Scenario {
            name: name?,
            description: meta.description.clone().unwrap_or_default(),
            seed: meta.seed.unwrap_or(DEFAULT_SEED),
            duration_ns: times.duration_ns?,
            warmup_ns: times.warmup_ns?,
            report_interval_ns: times.report_interval_ns?,
            workloads: workloads?,
            balancer: balancer?,
            servers: servers?,
            limits,
            faults: faults.clone()?,
            topology: topology?,
            start_time_s: start_time_s?,
            expectations: Vec::new(),
            fault_targets,
        })
    })();
    let paths = scenario.as_ref().map(SummaryPaths::of);
    let known = expect::Known {
        faults: faults.as_deref(),
        alerts: alerts.as_ref().map(Option::as_deref),
        paths: paths.as_ref(),
    };
    let expectations = expect::resolve(cx, &raw.expect, &known);
    let mut scenario = scenario?;
    scenario.expectations = expectations?;
    if cx.has_errors() {
        return None;
    }
    warn_if_unstable(cx, &scenario, raw.servers.span());
    Some(scenario)
}

/// The architecture and what watches and changes it: every scenario is a topology (a file
/// without `[[requests]]` has one class whose only step is `[servers].service_time`), with
/// its scaling, monitoring, logging and delivery. `duration_ns` is `None` when the run's
/// duration is wrong (its error is reported already; no deploy is "too late" then).
fn architecture(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    servers: Option<&ServerPool>,
    duration_ns: Option<u64>,
) -> Option<crate::topology::Topology> {
    let topology = topology::resolve(cx, raw, servers.and_then(|s| s.service_time.as_ref()));
    let scaling = scaling::resolve(cx, raw, duration_ns.unwrap_or(0));
    let mut t = topology?;
    // A wrong scaling section has its errors; the sections after it are still checked.
    t.scaling = scaling.flatten();
    let reconciliation = recovery::reconciliation(cx, raw, &t);
    let backups = recovery::backups(cx, raw, &t);
    t.reconciliation = reconciliation?;
    t.backups = backups?;
    t.monitoring = monitoring::resolve(cx, raw, &t)?;
    t.logging = logging::resolve(cx, raw)?;
    t.delivery = delivery::resolve(cx, raw, &t, duration_ns.unwrap_or(u64::MAX))?;
    Some(t)
}

/// Warns when the offered load reaches capacity with an unbounded queue: the queue then
/// grows for as long as that lasts, and a steady-state report means little.
fn warn_if_unstable(cx: &mut Ctx<'_>, s: &Scenario, span: Range<usize>) {
    if s.servers.queue_capacity.is_some() || s.servers.timeout_ns.is_some() {
        return;
    }
    let capacity = s.total_workers() as f64;
    let Some(service_time) = &s.servers.service_time else { return };
    let Some(mean_ns) = service_time.mean_ns() else {
        cx.warning(
            span,
            "servers.service_time has an infinite mean: with an unbounded queue the system cannot be stable",
        );
        return;
    };
    let mut times: Vec<u64> = s.workloads.iter().flat_map(|w| w.stages.iter().map(|st| st.at.as_nanos())).collect();
    times.sort_unstable();
    times.dedup();
    let peak = times
        .iter()
        .filter(|&&t| t < s.duration_ns)
        .map(|&t| (t, s.arrival_rate_at(t) * mean_ns / NS_PER_S as f64 / capacity))
        .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    if peak.1 >= 1.0 {
        cx.warning(span, format!("offered load is {:.3} of capacity (from {}) with an unbounded queue: the queue grows without bound while it lasts", peak.1, units::format_duration(peak.0)));
    }
}
