//! Resolving `[monitoring]`, `[[alerts]]`, `[[rules]]` and `[slo]` (`[routing]` is in
//! `validate_routing.rs`): PromQL is parsed here, so an expression outside the supported
//! subset is an error at its place in the file; metric names prodsim does not export are
//! warnings; durations are checked. The ready rules and the SLO's burn-rate alerts are
//! generated here too, as plain rules a user could have written.

use std::collections::BTreeMap;

use toml::Spanned;

use super::monitoring::{AlertSet, BusinessHours, MonitoringSpec, SloSpec, parse_business_hours};
use super::monitoring_schema::{RawAlert, RawMonitoring, RawSlo};
use super::schema::RawScenario;
use super::topology::Topology;
use super::validate::Ctx;
use prodsim_kernel::NS_PER_S;
use prodsim_parts::ops::catalog;
use prodsim_parts::ops::promql;
use prodsim_parts::ops::rules::{AlertRule, RecordingRule};

const SECOND: u64 = NS_PER_S;
const MINUTE: u64 = 60 * SECOND;
/// The rule set of alerts that name none.
pub const DEFAULT_SET: &str = "default";
/// Shortest scrape or evaluation period.
const MIN_INTERVAL: u64 = SECOND;

/// Whether the file uses any monitoring section (which needs the multi-tier model).
pub fn uses_monitoring(raw: &RawScenario) -> bool {
    raw.monitoring.is_some()
        || !raw.alerts.is_empty()
        || !raw.rules.is_empty()
        || raw.slo.is_some()
        || raw.routing.is_some()
}

/// Resolves the monitoring sections; `Some(None)` when the file has none of them, `None`
/// when something is wrong (the diagnostics say what).
pub fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario, topology: &Topology) -> Option<Option<MonitoringSpec>> {
    if !uses_monitoring(raw) {
        return Some(None);
    }
    let empty = RawMonitoring::default();
    let m = raw.monitoring.as_ref().map_or(&empty, |m| m.get_ref());
    let mut ok = true;
    let mut interval = |cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str| -> u64 {
        let Some(v) = v else { return 15 * SECOND };
        match cx.duration(v, field) {
            Some(ns) if ns >= MIN_INTERVAL => ns,
            Some(_) => {
                cx.error(v.span(), format!("{field} must be at least 1s"));
                ok = false;
                15 * SECOND
            }
            None => {
                ok = false;
                15 * SECOND
            }
        }
    };
    let scrape_interval_ns = interval(cx, m.scrape_interval.as_ref(), "monitoring.scrape_interval");
    let evaluation_interval_ns = interval(cx, m.evaluation_interval.as_ref(), "monitoring.evaluation_interval");
    let slo = match &raw.slo {
        Some(s) => resolve_slo(cx, s),
        None => Some(None),
    };
    let buckets = resolve_buckets(cx, m, slo.as_ref().and_then(|s| s.as_ref()).and_then(|s| s.latency_ns));
    let business_hours = match &m.business_hours {
        Some(b) => match parse_business_hours(b.get_ref()) {
            Ok(h) => Some(h),
            Err(e) => {
                cx.error(b.span(), format!("monitoring.business_hours: {e}"));
                None
            }
        },
        None => Some(BusinessHours::default()),
    };

    let mut recorded: Vec<String> = Vec::new();
    let mut recording = Vec::new();
    for r in &raw.rules {
        let r = r.get_ref();
        let field = format!("rules `{}`: expr", r.record.get_ref());
        if !catalog::valid_metric_name(r.record.get_ref()) {
            cx.error(
                r.record.span(),
                format!(
                    "record: `{}` is not a metric name (letters, digits, `_` and `:`, not starting with a digit)",
                    r.record.get_ref()
                ),
            );
            ok = false;
            continue;
        }
        let Some(expr) = parse_expr(cx, &r.expr, &field, &recorded) else {
            ok = false;
            continue;
        };
        recorded.push(r.record.get_ref().clone());
        recording.push(RecordingRule { record: r.record.get_ref().clone(), expr, labels: r.labels.clone() });
    }
    let mut sets: Vec<AlertSet> = Vec::new();
    let add = |sets: &mut Vec<AlertSet>, set: &str, rule: AlertRule| match sets.iter_mut().find(|s| s.name == set) {
        Some(s) => s.rules.push(rule),
        None => sets.push(AlertSet { name: set.to_string(), rules: vec![rule] }),
    };
    if let Some(Some(slo)) = &slo {
        if raw.slo.as_ref().is_some_and(|s| s.get_ref().alerts.unwrap_or(true)) {
            let set = raw.slo.as_ref().and_then(|s| s.get_ref().set.as_ref()).map_or(DEFAULT_SET, |s| s.get_ref());
            let span = raw.slo.as_ref().map(Spanned::span)?;
            let (rec, alerts) = match burn_rate_rules(slo) {
                Ok(rules) => rules,
                Err(e) => {
                    cx.error(span.start..span.start, format!("slo: the generated burn-rate rules do not parse: {e}"));
                    return None;
                }
            };
            for r in rec {
                recorded.push(r.record.clone());
                recording.push(r);
            }
            for a in alerts {
                add(&mut sets, set, a);
            }
        }
    }
    if m.ready_rules.unwrap_or(false) {
        match ready_rules(topology) {
            Ok(rules) => rules.into_iter().for_each(|a| add(&mut sets, DEFAULT_SET, a)),
            Err(e) => {
                let span = raw.monitoring.as_ref().map_or(0..0, Spanned::span);
                cx.error(span.start..span.start, format!("monitoring.ready_rules: a ready rule does not parse: {e}"));
                ok = false;
            }
        }
    }
    for a in &raw.alerts {
        match resolve_alert(cx, a.get_ref(), &recorded) {
            Some(rule) => {
                let set = a.get_ref().set.as_ref().map_or(DEFAULT_SET, |s| s.get_ref());
                add(&mut sets, set, rule);
            }
            None => ok = false,
        }
    }
    let routing = match &raw.routing {
        Some(r) => super::validate_routing::resolve(cx, r),
        None => Some(super::validate_routing::default_routing()),
    };
    let longest = sets
        .iter()
        .flat_map(|s| s.rules.iter().map(|r| &r.expr))
        .chain(recording.iter().map(|r| &r.expr))
        .map(|e| e.longest_range_ms().max(0) as u64 * 1_000_000)
        .max()
        .unwrap_or(0);
    let retention_ns = match &m.retention {
        Some(v) => cx.duration(v, "monitoring.retention")?,
        None => longest + 5 * MINUTE + evaluation_interval_ns,
    };
    if !ok {
        return None;
    }
    Some(Some(MonitoringSpec {
        scrape_interval_ns,
        evaluation_interval_ns,
        retention_ns,
        buckets: buckets?,
        recording,
        sets,
        routing: routing?,
        slo: slo?,
        business_hours: business_hours?,
    }))
}

/// Parses a PromQL expression; errors point at the expression, unknown metric names warn.
fn parse_expr(cx: &mut Ctx<'_>, text: &Spanned<String>, field: &str, recorded: &[String]) -> Option<promql::Expr> {
    match promql::parse(text.get_ref()) {
        Ok(expr) => {
            for name in expr.metric_names() {
                if !catalog::exported(&name) && !recorded.contains(&name) && name != "ALERTS" {
                    let hint = super::diagnostic::nearest(&name, catalog::series_names())
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default();
                    cx.warning(
                        text.span(),
                        format!("{field}: prodsim exports no metric `{name}` and no rule records it{hint}; see docs/metrics.md"),
                    );
                }
            }
            Some(expr)
        }
        Err(e) => {
            cx.error(text.span(), format!("{field}: {e}"));
            None
        }
    }
}

fn resolve_alert(cx: &mut Ctx<'_>, a: &RawAlert, recorded: &[String]) -> Option<AlertRule> {
    let name = a.alert.get_ref();
    if !catalog::valid_label_value_name(name) {
        cx.error(a.alert.span(), format!("alert: `{name}` must be a name (letters, digits and `_`)"));
        return None;
    }
    let expr = parse_expr(cx, &a.expr, &format!("alert `{name}`: expr"), recorded);
    let for_ns = a.for_.as_ref().map_or(Some(0), |v| cx.duration(v, &format!("alert `{name}`: for")));
    let keep =
        a.keep_firing_for.as_ref().map_or(Some(0), |v| cx.duration(v, &format!("alert `{name}`: keep_firing_for")));
    Some(AlertRule {
        name: name.clone(),
        expr: expr?,
        for_ms: (for_ns? / 1_000_000) as i64,
        keep_firing_for_ms: (keep? / 1_000_000) as i64,
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
    })
}

fn resolve_buckets(cx: &mut Ctx<'_>, m: &RawMonitoring, slo_latency_ns: Option<u64>) -> Option<Vec<f64>> {
    let mut buckets: Vec<f64> = catalog::DEFAULT_BUCKETS.to_vec();
    if let Some(b) = &m.buckets {
        for &x in b.get_ref() {
            if !(x.is_finite() && x > 0.0) {
                cx.error(b.span(), format!("monitoring.buckets: bounds must be positive seconds, got {x}"));
                return None;
            }
        }
        buckets.extend(b.get_ref());
    }
    // The SLO's latency threshold is a bucket bound, so burn-rate rules can count slow
    // requests exactly.
    if let Some(l) = slo_latency_ns {
        buckets.push(l as f64 / 1e9);
    }
    buckets.sort_by(f64::total_cmp);
    buckets.dedup();
    Some(buckets)
}

fn resolve_slo(cx: &mut Ctx<'_>, s: &Spanned<RawSlo>) -> Option<Option<SloSpec>> {
    let s = s.get_ref();
    let objective = *s.objective.get_ref();
    let mut ok = true;
    if !(objective > 0.0 && objective < 1.0) {
        cx.error(s.objective.span(), format!("slo.objective must be between 0 and 1 (e.g. 0.999), got {objective}"));
        ok = false;
    }
    let mut duration = |cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str, default: u64| -> u64 {
        match v.map(|v| (v, cx.duration(v, field))) {
            None => default,
            Some((_, Some(ns))) if ns > 0 => ns,
            Some((v, Some(_))) => {
                cx.error(v.span(), format!("{field} must be longer than 0s"));
                ok = false;
                default
            }
            Some((_, None)) => {
                ok = false;
                default
            }
        }
    };
    let latency_ns = s.latency.as_ref().map(|v| duration(cx, Some(v), "slo.latency", SECOND));
    let window_ns = duration(cx, s.window.as_ref(), "slo.window", 30 * 24 * 60 * MINUTE);
    let resolution_ns = duration(cx, s.resolution.as_ref(), "slo.resolution", MINUTE);
    let min_incident_ns = duration(cx, s.min_incident.as_ref(), "slo.min_incident", 2 * MINUTE);
    let merge_gap_ns = duration(cx, s.merge_gap.as_ref(), "slo.merge_gap", 5 * MINUTE);
    let incident_burn_rate = match &s.incident_burn_rate {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
            cx.error(v.span(), format!("slo.incident_burn_rate must be a positive number, got {}", v.get_ref()));
            ok = false;
            1.0
        }
        Some(v) => *v.get_ref(),
        None => 1.0,
    };
    ok.then_some(Some(SloSpec {
        objective,
        latency_ns,
        window_ns,
        resolution_ns,
        incident_burn_rate,
        min_incident_ns,
        merge_gap_ns,
    }))
}

/// The SRE Workbook's multi-window, multi-burn-rate alerts for `slo` (chapter 5, table
/// 5-8): recording rules for the error ratio (and the slow ratio with a latency target)
/// over 5m, 30m, 1h, 6h and 3d of the balancer's requests, and three alerts per ratio:
/// 14.4× over 1h and 5m (page), 6× over 6h and 30m (page), 1× over 3d and 6h (ticket).
pub fn burn_rate_rules(slo: &SloSpec) -> Result<(Vec<RecordingRule>, Vec<AlertRule>), promql::PromqlError> {
    let budget = slo.budget();
    let windows = ["5m", "30m", "1h", "6h", "3d"];
    let mut sources = vec![(
        "error",
        "Error",
        "sum(rate(http_requests_total{service=\"lb\",code=~\"5..\"}[W])) / sum(rate(http_requests_total{service=\"lb\"}[W]))"
            .to_string(),
    )];
    if let Some(l) = slo.latency_ns {
        let le = catalog::format_le(l as f64 / 1e9);
        sources.push((
            "latency",
            "Latency",
            format!(
                "1 - sum(rate(http_request_duration_seconds_bucket{{service=\"lb\",le=\"{le}\"}}[W])) / sum(rate(http_request_duration_seconds_count{{service=\"lb\"}}[W]))"
            ),
        ));
    }
    let mut recording = Vec::new();
    let mut alerts = Vec::new();
    for (sli, title, template) in sources {
        for w in windows {
            let text = template.replace("[W]", &format!("[{w}]"));
            let expr = promql::parse(&text)?;
            recording.push(RecordingRule {
                record: format!("slo:sli_{sli}:ratio_rate{w}"),
                expr,
                labels: BTreeMap::new(),
            });
        }
        for (speed, factor, long, short, severity) in [
            ("Fast", 14.4, "1h", "5m", "page"),
            ("Medium", 6.0, "6h", "30m", "page"),
            ("Slow", 1.0, "3d", "6h", "ticket"),
        ] {
            let threshold = factor * budget;
            let text = format!(
                "slo:sli_{sli}:ratio_rate{long} > {threshold} and slo:sli_{sli}:ratio_rate{short} > {threshold}"
            );
            let expr = promql::parse(&text)?;
            let labels =
                BTreeMap::from([("severity".to_string(), severity.to_string()), ("slo".to_string(), sli.to_string())]);
            let annotations = BTreeMap::from([
                ("summary".to_string(), format!("{title} budget burning {factor}x too fast over {long} and {short}")),
                (
                    "description".to_string(),
                    format!(
                        "The {sli} ratio is {{{{ $value | humanizePercentage }}}}; at {factor}x the {} budget lasts {}.",
                        budget_text(budget),
                        lasts(slo.window_ns, factor)
                    ),
                ),
            ]);
            alerts.push(AlertRule {
                name: format!("SLO{title}BurnRate{speed}"),
                expr,
                for_ms: 0,
                keep_firing_for_ms: 0,
                labels,
                annotations,
            });
        }
    }
    Ok((recording, alerts))
}

fn budget_text(budget: f64) -> String {
    format!("{}%", (budget * 1e5).round() / 1e3)
}

fn lasts(window_ns: u64, factor: f64) -> String {
    let hours = window_ns as f64 / 3.6e12 / factor;
    if hours >= 48.0 { format!("{:.0} days", hours / 24.0) } else { format!("{hours:.0} hours") }
}

/// The ready rules (`[monitoring] ready_rules = true`): the five alerts every production
/// team starts with, written against prodsim's metrics.
pub fn ready_rules(topology: &Topology) -> Result<Vec<AlertRule>, promql::PromqlError> {
    let mut rules = vec![
        (
            "HighErrorRate",
            "sum(rate(http_requests_total{service=\"lb\",code=~\"5..\"}[5m])) / sum(rate(http_requests_total{service=\"lb\"}[5m])) > 0.05".to_string(),
            "5m",
            "page",
            "More than 5% of requests fail",
            "{{ $value | humanizePercentage }} of requests failed over the last 5 minutes.",
        ),
        (
            "HighCpu",
            "rate(process_cpu_seconds_total[5m]) / machine_cpu_cores > 0.9".to_string(),
            "10m",
            "ticket",
            "CPU above 90% on {{ $labels.instance }}",
            "{{ $labels.instance }} has used {{ $value | humanizePercentage }} of its CPU for 10 minutes.",
        ),
        (
            "InstanceDown",
            "up{job=\"app\"} == 0".to_string(),
            "1m",
            "page",
            "{{ $labels.instance }} is unreachable",
            "Prometheus could not scrape {{ $labels.instance }} for a minute.",
        ),
    ];
    if topology.database.is_some() {
        rules.push((
            "DbPoolExhausted",
            "db_connections_in_use >= db_connections_max".to_string(),
            "1m",
            "page",
            "Database connection pool exhausted on {{ $labels.instance }}",
            "Every connection of {{ $labels.instance }}'s pool has been in use for a minute; requests wait for one.",
        ));
    }
    let mut payment_services: Vec<&str> = topology
        .classes
        .iter()
        .filter_map(|c| c.payment)
        .map(|s| topology.services[s as usize].name.as_str())
        .collect();
    payment_services.sort_unstable();
    payment_services.dedup();
    for s in payment_services {
        // A service name is the user's: escape it inside the PromQL string.
        let s = s.replace('\\', "\\\\").replace('"', "\\\"");
        rules.push((
            "PaymentServiceDown",
            format!(
                "sum(rate(dependency_requests_total{{dependency=\"{s}\",outcome=\"success\"}}[2m])) == 0 and sum(rate(dependency_requests_total{{dependency=\"{s}\"}}[2m])) > 0"
            ),
            "2m",
            "page",
            "The payment service is not responding",
            "No call to {{ $labels.dependency }} has succeeded for 2 minutes.",
        ));
    }
    rules
        .into_iter()
        .map(|(name, text, for_, severity, summary, description)| {
            Ok(AlertRule {
                name: name.to_string(),
                expr: promql::parse(&text)?,
                // The durations are written above, and parse.
                for_ms: super::units::parse_duration(for_).map_or(0, |ns| (ns / 1_000_000) as i64),
                keep_firing_for_ms: 0,
                labels: BTreeMap::from([("severity".to_string(), severity.to_string())]),
                annotations: BTreeMap::from([
                    ("summary".to_string(), summary.to_string()),
                    ("description".to_string(), description.to_string()),
                    ("runbook".to_string(), format!("docs/runbooks.md#{}", name.to_ascii_lowercase())),
                ]),
            })
        })
        .collect()
}
