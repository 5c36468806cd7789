//! From the raw file to a [`Scenario`]: units resolved, distributions built, and every
//! semantic rule checked with the span it is about.

use std::ops::Range;

use toml::Spanned;

use super::diagnostic::{Diagnostic, nearest};
use super::schema::{QueueCapacity, RawScenario, RawWorkload};
use super::units::{self, UnitError};
use super::{
    BalancerConfig, DEFAULT_MAX_EVENTS, DEFAULT_MAX_IN_FLIGHT, MAX_REPORT_ROWS, RunLimits, Scenario, ServerPool,
};
use prodsim_kernel::{Dist, NS_PER_S, SimTime, dist};
use prodsim_parts::{Stage, Strategy, Workload};

/// Default seed when the file gives none.
pub const DEFAULT_SEED: u64 = 1;

/// Turns a TOML or serde error into a diagnostic, adding the nearest valid name for unknown
/// keys and values.
pub fn from_toml_error(text: &str, e: &toml::de::Error) -> Diagnostic {
    let span = e.span().unwrap_or(0..0);
    let message = e.message().trim().to_string();
    let mut d = Diagnostic::error(text, span, message.clone());
    if let Some(help) = suggestion(&message) {
        d = d.with_help(help);
    }
    d
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

/// Collects diagnostics while resolving.
pub(super) struct Ctx<'a> {
    pub(super) text: &'a str,
    pub(super) diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(self.text, span, message));
    }

    pub(super) fn warning(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(self.text, span, message));
    }

    /// Where the contents of a quoted string value start.
    fn inner_start(&self, span: &Range<usize>) -> usize {
        match self.text.as_bytes().get(span.start) {
            Some(b'"' | b'\'') => span.start + 1,
            _ => span.start,
        }
    }

    /// Reports a problem at byte `offset` (length `len`) inside the string `value`.
    pub(super) fn inside(&mut self, value: &Spanned<String>, field: &str, offset: usize, len: usize, message: &str) {
        let start = self.inner_start(&value.span()) + offset;
        let end = (start + len.max(1)).min(value.span().end.max(start + 1));
        self.error(start..end, format!("{field}: {message}"));
    }

    fn unit_error(&mut self, value: &Spanned<String>, field: &str, e: UnitError) {
        self.inside(value, field, e.offset, e.len, &e.message);
    }

    pub(super) fn duration(&mut self, value: &Spanned<String>, field: &str) -> Option<u64> {
        match units::parse_duration(value.get_ref()) {
            Ok(ns) => Some(ns),
            Err(e) => {
                self.unit_error(value, field, e);
                None
            }
        }
    }

    pub(super) fn dist(&mut self, value: &Spanned<String>, field: &str) -> Option<Dist> {
        match dist::parse(value.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.inside(value, field, e.offset, e.len, &e.message);
                None
            }
        }
    }

    pub(super) fn positive_count<T: Copy + Into<u64>>(&mut self, value: &Spanned<T>, field: &str) -> Option<T> {
        if (*value.get_ref()).into() == 0 {
            self.error(value.span(), format!("{field} must be at least 1"));
            return None;
        }
        Some(*value.get_ref())
    }
}

/// Resolves `raw` into a scenario. Returns `None` when an error was found; the diagnostics
/// hold every error and warning.
pub fn resolve(text: &str, raw: RawScenario) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut cx = Ctx { text, diags: Vec::new() };
    let scenario = resolve_inner(&mut cx, raw);
    (scenario, cx.diags)
}

fn resolve_inner(cx: &mut Ctx<'_>, raw: RawScenario) -> Option<Scenario> {
    let meta = &raw.scenario;
    let name = meta.name.get_ref().clone();
    let name_ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        cx.error(meta.name.span(), "scenario.name must be non-empty and use only letters, digits, `-`, `_` and `.` (it names the report directory)");
    }
    let duration_ns = cx.duration(&meta.duration, "scenario.duration");
    if duration_ns == Some(0) {
        cx.error(meta.duration.span(), "scenario.duration must be longer than zero");
    }
    let warmup_ns = match &meta.warmup {
        Some(w) => cx.duration(w, "scenario.warmup"),
        None => Some(0),
    };
    if let (Some(d), Some(w), Some(span)) = (duration_ns, warmup_ns, meta.warmup.as_ref().map(Spanned::span)) {
        if w >= d && d > 0 {
            cx.error(
                span,
                format!(
                    "scenario.warmup ({}) must be shorter than scenario.duration ({})",
                    units::format_duration(w),
                    units::format_duration(d)
                ),
            );
        }
    }
    let report_interval_ns = resolve_report_interval(cx, meta.report_interval.as_ref(), duration_ns.unwrap_or(0));

    let workloads = resolve_workloads(cx, &raw.workload, raw.servers.span(), duration_ns.unwrap_or(0));
    let balancer = resolve_balancer(cx, &raw);
    let servers = resolve_servers(cx, &raw);
    let limits = RunLimits {
        max_events: raw
            .limits
            .as_ref()
            .and_then(|l| l.max_events.as_ref())
            .and_then(|v| cx.positive_count(v, "limits.max_events"))
            .unwrap_or(DEFAULT_MAX_EVENTS),
        max_in_flight: raw
            .limits
            .as_ref()
            .and_then(|l| l.max_in_flight.as_ref())
            .and_then(|v| cx.positive_count(v, "limits.max_in_flight"))
            .unwrap_or(DEFAULT_MAX_IN_FLIGHT),
    };

    let faults = super::validate_faults::resolve_faults(
        cx,
        &raw,
        duration_ns.unwrap_or(0),
        servers.as_ref().map_or(0, |_| super::validate_scaling::pool_max(&raw)),
    );
    // Every scenario is a topology: a file without [[requests]] has one class whose only
    // step is [servers].service_time.
    let topology = super::validate_topology::resolve(cx, &raw, servers.as_ref().and_then(|s| s.service_time.as_ref()));
    let scaling = super::validate_scaling::resolve(cx, &raw, duration_ns.unwrap_or(0));
    let mut topology = topology.map(|t| super::topology::Topology { scaling: scaling.flatten(), ..t });
    if let Some(t) = topology.as_mut() {
        match super::validate_monitoring::resolve(cx, &raw, t) {
            Some(m) => t.monitoring = m,
            None => topology = None,
        }
    }
    if let Some(t) = topology.as_mut() {
        match super::validate_logging::resolve(cx, &raw) {
            Some(l) => t.logging = l,
            None => topology = None,
        }
    }
    if let Some(t) = topology.as_mut() {
        // A run whose duration is wrong has its error already; no deploy is "too late" then.
        match super::validate_delivery::resolve(cx, &raw, t, duration_ns.unwrap_or(u64::MAX)) {
            Some(d) => t.delivery = d,
            None => topology = None,
        }
    }
    let start_time_s = match &meta.start_time {
        Some(v) => match super::monitoring::parse_week_time(v.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                cx.error(v.span(), format!("scenario.start_time: {e}"));
                None
            }
        },
        None => Some(super::monitoring::DEFAULT_START_S),
    };

    let alerts = topology.as_ref().map(super::validate_delivery::alert_names);
    let known =
        super::validate_expect::Known { faults: faults.as_deref(), alerts: alerts.as_ref().map(Option::as_deref) };
    let expectations = super::validate_expect::resolve(cx, &raw.expect, &known);

    let scenario = Scenario {
        name,
        description: meta.description.clone().unwrap_or_default(),
        seed: meta.seed.unwrap_or(DEFAULT_SEED),
        duration_ns: duration_ns?,
        warmup_ns: warmup_ns?,
        report_interval_ns: report_interval_ns?,
        workloads: workloads?,
        balancer: balancer?,
        servers: servers?,
        limits,
        faults: faults?,
        topology: topology?,
        start_time_s: start_time_s?,
        expectations: expectations?,
    };
    if cx.diags.iter().any(|d| d.severity == super::Severity::Error) {
        return None;
    }
    warn_if_unstable(cx, &scenario, raw.servers.span());
    Some(scenario)
}

/// The readable step (1 ms, 10 ms, … 1 s, 10 s, 1 m, 10 m, 1 h, 6 h, 1 d) that gives at most
/// about 2,000 rows for a run of `duration_ns`.
pub fn default_report_interval(duration_ns: u64) -> u64 {
    const MS: u64 = 1_000_000;
    const S: u64 = NS_PER_S;
    const STEPS: [u64; 11] =
        [MS, 10 * MS, 100 * MS, S, 10 * S, 60 * S, 600 * S, 3_600 * S, 6 * 3_600 * S, 86_400 * S, 7 * 86_400 * S];
    STEPS.into_iter().find(|&step| duration_ns.div_ceil(step) <= 2_000).unwrap_or(STEPS[STEPS.len() - 1])
}

fn resolve_report_interval(cx: &mut Ctx<'_>, raw: Option<&Spanned<String>>, duration_ns: u64) -> Option<u64> {
    let Some(raw) = raw else { return Some(default_report_interval(duration_ns)) };
    let step = cx.duration(raw, "scenario.report_interval")?;
    if step == 0 {
        cx.error(raw.span(), "scenario.report_interval must be longer than zero");
        return None;
    }
    if duration_ns.div_ceil(step) > MAX_REPORT_ROWS {
        cx.error(raw.span(), format!("scenario.report_interval gives more than {MAX_REPORT_ROWS} rows for this duration; choose a longer interval"));
        return None;
    }
    Some(step)
}

fn resolve_workloads(
    cx: &mut Ctx<'_>,
    raw: &[RawWorkload],
    servers_span: Range<usize>,
    duration_ns: u64,
) -> Option<Vec<Workload>> {
    if raw.is_empty() {
        cx.error(
            servers_span.start..servers_span.start,
            "a scenario needs at least one [[workload]] with a `rate` (requests per second)",
        );
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, w) in raw.iter().enumerate() {
        if raw[..i].iter().any(|prev| prev.name.get_ref() == w.name.get_ref()) {
            cx.error(
                w.name.span(),
                format!("workload name `{}` is used twice; names must be unique", w.name.get_ref()),
            );
            ok = false;
        }
        match resolve_workload(cx, w, duration_ns) {
            Some(wl) => out.push(wl),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn resolve_workload(cx: &mut Ctx<'_>, w: &RawWorkload, duration_ns: u64) -> Option<Workload> {
    let name = w.name.get_ref();
    if super::validate_clients::is_closed(w) {
        // Its users set the pace (see `validate_clients`); the open stream stays silent.
        let ok = super::validate_clients::check_closed(cx, w);
        let stages = vec![Stage { at: SimTime::ZERO, rate: 0.0 }];
        return ok.then(|| Workload { name: name.clone(), arrivals: w.arrivals, stages });
    }
    let mut stages = Vec::new();
    let mut ok = true;
    if let Some(rate) = &w.rate {
        let r = *rate.get_ref();
        if !r.is_finite() || r <= 0.0 {
            cx.error(
                rate.span(),
                format!("workload `{name}`: rate must be a positive number of requests per second, got {r}"),
            );
            ok = false;
        }
        stages.push(Stage { at: SimTime::ZERO, rate: r });
    }
    let mut last_at: Option<u64> = None;
    for stage in &w.stages {
        let s = stage.get_ref();
        let at = cx.duration(&s.at, "stages.at");
        let r = *s.rate.get_ref();
        if !r.is_finite() || r < 0.0 {
            cx.error(
                s.rate.span(),
                format!(
                    "workload `{name}`: a stage rate must be zero or a positive number of requests per second, got {r}"
                ),
            );
            ok = false;
        }
        let Some(at) = at else {
            ok = false;
            continue;
        };
        if last_at.is_some_and(|prev| at <= prev) {
            cx.error(s.at.span(), format!("workload `{name}`: stages must be in increasing order of `at`"));
            ok = false;
        }
        last_at = Some(at);
        if at == 0 {
            stages.retain(|st: &Stage| st.at != SimTime::ZERO);
        }
        stages.push(Stage { at: SimTime(at), rate: r });
    }
    if stages.first().is_none_or(|s| s.at != SimTime::ZERO) {
        let span = w.stages.first().map_or(w.name.span(), Spanned::span);
        cx.error(
            span,
            format!("workload `{name}` needs a `rate` (requests per second), or `stages` starting at \"0s\""),
        );
        ok = false;
    }
    if let (true, Some(d)) = (ok, &w.diurnal) {
        stages = super::validate_clients::apply_diurnal(cx, d, stages, duration_ns)?;
    }
    ok.then(|| Workload { name: name.clone(), arrivals: w.arrivals, stages })
}

fn resolve_balancer(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<BalancerConfig> {
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
    let mut choices = 2u32.min(count.max(1));
    if let Some(c) = &b.choices {
        choices = *c.get_ref();
        if b.strategy != Strategy::PowerOfTwo {
            cx.error(
                c.span(),
                format!("balancer.choices applies only to strategy \"power_of_two\", not \"{}\"", b.strategy),
            );
            return None;
        }
        if choices == 0 || choices > count {
            cx.error(
                c.span(),
                format!("balancer.choices must be between 1 and servers.count ({count}), got {choices}"),
            );
            return None;
        }
    }
    let weights = match &b.weights {
        None => Vec::new(),
        Some(w) => {
            let list = w.get_ref();
            if b.strategy != Strategy::WeightedRoundRobin {
                cx.error(
                    w.span(),
                    format!(
                        "balancer.weights applies only to strategy \"weighted_round_robin\", not \"{}\"",
                        b.strategy
                    ),
                );
                return None;
            }
            if list.len() != count as usize {
                cx.error(
                    w.span(),
                    format!("balancer.weights needs one weight per app server: {count}, got {}", list.len()),
                );
                return None;
            }
            if list.iter().all(|&x| x == 0) {
                cx.error(w.span(), "balancer.weights: at least one server needs a weight above 0");
                return None;
            }
            list.clone()
        }
    };
    let health_check = match &b.health_check {
        Some(h) => {
            let h = h.get_ref();
            let d = prodsim_parts::HealthCheckConfig::default();
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
            Some(prodsim_parts::HealthCheckConfig {
                interval_ns,
                timeout_ns: d.timeout_ns.min(interval_ns),
                healthy_threshold: h.healthy_threshold.as_ref().map_or(d.healthy_threshold, |v| *v.get_ref()).max(1),
                unhealthy_threshold: h
                    .unhealthy_threshold
                    .as_ref()
                    .map_or(d.unhealthy_threshold, |v| *v.get_ref())
                    .max(1),
            })
        }
        None => None,
    };
    let outlier_detection = match &b.outlier_detection {
        Some(o) => {
            let o = o.get_ref();
            let base_ejection_ns = match &o.base_ejection {
                Some(v) => cx.duration(v, "balancer.outlier_detection.base_ejection")?,
                None => 30 * NS_PER_S,
            };
            let pct = o.max_ejection_percent.as_ref().map_or(50, |v| *v.get_ref());
            if pct > 100 {
                let span = o.max_ejection_percent.as_ref().map_or(0..0, Spanned::span);
                cx.error(span, format!("balancer.outlier_detection.max_ejection_percent must be 0 to 100, got {pct}"));
                return None;
            }
            Some(prodsim_parts::OutlierConfig {
                consecutive_failures: o.consecutive_failures.as_ref().map_or(5, |v| *v.get_ref()).max(1),
                base_ejection_ns,
                max_ejection_percent: pct,
            })
        }
        None => None,
    };
    Some(BalancerConfig { strategy: b.strategy, choices, weights, health_check, outlier_detection })
}

fn resolve_servers(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<ServerPool> {
    let s = raw.servers.get_ref();
    let count = cx.positive_count(&s.count, "servers.count");
    let workers = cx.positive_count(&s.workers, "servers.workers");
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
