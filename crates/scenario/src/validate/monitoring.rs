//! Resolving `[monitoring]`, `[[alerts]]`, `[[rules]]` and `[slo]` (`[routing]` is in
//! `routing.rs`): PromQL is parsed here, so an expression outside the supported subset is
//! an error at its place in the file; metric names prodsim does not export are warnings;
//! durations are checked. The rules prodsim generates (the ready rules, the SLO's
//! burn-rate alerts) come from `generated.rs` and join the sets here.

use toml::Spanned;

use super::ctx::{Ctx, FRACTION_ABOVE_ZERO_BELOW_ONE, POSITIVE};
use crate::diagnostic::nearest;
use crate::monitoring::{AlertSet, BusinessHours, MonitoringSpec, SloSpec, parse_business_hours};
use crate::monitoring_schema::{RawAlert, RawMonitoring, RawSlo};
use crate::schema::RawScenario;
use crate::topology::Topology;
use crate::units::{NS_PER_D, NS_PER_MIN, NS_PER_S, ms_to_ns, ns_to_ms_floor, ns_to_s};
use prodsim_parts::ops::catalog;
use prodsim_parts::ops::promql;
use prodsim_parts::ops::rules::{AlertRule, RecordingRule};

/// The rule set of alerts that name none.
pub(super) const DEFAULT_SET: &str = "default";
/// Shortest scrape or evaluation period.
const MIN_INTERVAL_NS: u64 = NS_PER_S;
/// Scrape and evaluation period when absent.
const DEFAULT_INTERVAL_NS: u64 = 15 * NS_PER_S;

/// The rules of the monitoring stack as they are resolved: recording rules (with the names
/// they record, which expressions may read) and the alerting rule sets.
#[derive(Default)]
struct Rules {
    recorded: Vec<String>,
    recording: Vec<RecordingRule>,
    sets: Vec<AlertSet>,
}

impl Rules {
    fn record(&mut self, rule: RecordingRule) {
        self.recorded.push(rule.record.clone());
        self.recording.push(rule);
    }

    fn alert(&mut self, set: &str, rule: AlertRule) {
        match self.sets.iter_mut().find(|s| s.name == set) {
            Some(s) => s.rules.push(rule),
            None => self.sets.push(AlertSet { name: set.to_string(), rules: vec![rule] }),
        }
    }

    /// The longest range any rule reads, ns.
    fn longest_range_ns(&self) -> u64 {
        let alerts = self.sets.iter().flat_map(|s| s.rules.iter().map(|r| &r.expr));
        alerts.chain(self.recording.iter().map(|r| &r.expr)).map(|e| ms_to_ns(e.longest_range_ms())).max().unwrap_or(0)
    }
}

/// Resolves the monitoring sections; `Some(None)` when the file has none of them, `None`
/// when something is wrong (the diagnostics say what).
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario, topology: &Topology) -> Option<Option<MonitoringSpec>> {
    if !raw.uses_monitoring() {
        return Some(None);
    }
    let empty = RawMonitoring::default();
    let m = raw.monitoring.as_ref().map_or(&empty, |m| m.get_ref());
    let scrape_interval_ns = period(cx, m.scrape_interval.as_ref(), "monitoring.scrape_interval");
    let evaluation_interval_ns = period(cx, m.evaluation_interval.as_ref(), "monitoring.evaluation_interval");
    let slo = match &raw.slo {
        Some(s) => resolve_slo(cx, s),
        None => Some(None),
    };
    let buckets = resolve_buckets(cx, m, slo.as_ref().and_then(|s| s.as_ref()).and_then(|s| s.latency_ns));
    let business_hours = business_hours(cx, m);
    let mut rules = Rules::default();
    let mut ok = recording_rules(cx, raw, &mut rules);
    let imports = cx.imports;
    let imported = imports.map(|i| &i.rules);
    imported.iter().flat_map(|i| i.recording.iter()).for_each(|r| rules.record(r.clone()));
    if let Some(Some(slo)) = &slo {
        slo_rules(cx, raw, slo, &mut rules)?;
    }
    ok &= ready_rules(cx, raw, m, topology, &mut rules);
    ok &= alert_rules(cx, raw, &mut rules);
    imported.iter().flat_map(|i| i.alerts.iter()).for_each(|(set, a)| rules.alert(set, a.clone()));
    let routing = match &raw.routing {
        Some(r) => super::routing::resolve(cx, r, imports.and_then(|i| i.routing.as_ref())),
        None => Some(super::routing::default_routing()),
    };
    let retention_ns = cx.duration_or(
        m.retention.as_ref(),
        "monitoring.retention",
        rules.longest_range_ns() + 5 * NS_PER_MIN + evaluation_interval_ns.unwrap_or(DEFAULT_INTERVAL_NS),
    )?;
    if !ok {
        return None;
    }
    Some(Some(MonitoringSpec {
        scrape_interval_ns: scrape_interval_ns?,
        evaluation_interval_ns: evaluation_interval_ns?,
        retention_ns,
        buckets: buckets?,
        recording: rules.recording,
        sets: rules.sets,
        routing: routing?,
        slo: slo?,
        business_hours: business_hours?,
    }))
}

/// A scrape or evaluation period: at least 1s (default 15s).
fn period(cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str) -> Option<u64> {
    let ns = cx.duration_or(v, field, DEFAULT_INTERVAL_NS)?;
    if ns < MIN_INTERVAL_NS {
        cx.error(v.map_or(0..0, Spanned::span), format!("{field} must be at least 1s"));
        return None;
    }
    Some(ns)
}

/// `monitoring.business_hours`, for pages out of hours.
fn business_hours(cx: &mut Ctx<'_>, m: &RawMonitoring) -> Option<BusinessHours> {
    let Some(b) = &m.business_hours else { return Some(BusinessHours::default()) };
    match parse_business_hours(b.get_ref()) {
        Ok(h) => Some(h),
        Err(e) => {
            cx.error(b.span(), format!("monitoring.business_hours: {e}"));
            None
        }
    }
}

/// `[[rules]]`, in file order: each may read the series the ones before it record.
fn recording_rules(cx: &mut Ctx<'_>, raw: &RawScenario, rules: &mut Rules) -> bool {
    let mut ok = true;
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
        if !cx.label_map(r.record.span(), &format!("rule `{}`", r.record.get_ref()), "labels", &r.labels) {
            ok = false;
            continue;
        }
        let Some(expr) = parse_expr(cx, &r.expr, &field, &rules.recorded) else {
            ok = false;
            continue;
        };
        rules.record(RecordingRule { record: r.record.get_ref().clone(), expr, labels: r.labels.clone() });
    }
    ok
}

/// The SLO's burn-rate rules, unless `[slo] alerts = false`; `None` when they do not parse
/// (a bug in the generator, reported at `[slo]`).
fn slo_rules(cx: &mut Ctx<'_>, raw: &RawScenario, slo: &SloSpec, rules: &mut Rules) -> Option<()> {
    let Some(raw_slo) = raw.slo.as_ref().filter(|s| s.get_ref().alerts.unwrap_or(true)) else { return Some(()) };
    let set = raw_slo.get_ref().set.as_ref().map_or(DEFAULT_SET, |s| s.get_ref());
    let (recording, alerts) = match super::generated::burn_rate_rules(slo) {
        Ok(generated) => generated,
        Err(e) => {
            let at = raw_slo.span().start;
            cx.error(at..at, format!("slo: the generated burn-rate rules do not parse: {e}"));
            return None;
        }
    };
    recording.into_iter().for_each(|r| rules.record(r));
    alerts.into_iter().for_each(|a| rules.alert(set, a));
    Some(())
}

/// The ready rules, with `[monitoring] ready_rules = true`, in the default set.
fn ready_rules(cx: &mut Ctx<'_>, raw: &RawScenario, m: &RawMonitoring, t: &Topology, rules: &mut Rules) -> bool {
    if !m.ready_rules.unwrap_or(false) {
        return true;
    }
    match super::generated::ready_rules(t) {
        Ok(ready) => {
            ready.into_iter().for_each(|a| rules.alert(DEFAULT_SET, a));
            true
        }
        Err(e) => {
            let at = raw.monitoring.as_ref().map_or(0, |m| m.span().start);
            cx.error(at..at, format!("monitoring.ready_rules: a ready rule does not parse: {e}"));
            false
        }
    }
}

/// `[[alerts]]`, each in its `set`.
fn alert_rules(cx: &mut Ctx<'_>, raw: &RawScenario, rules: &mut Rules) -> bool {
    let mut ok = true;
    for a in &raw.alerts {
        match resolve_alert(cx, a.get_ref(), &rules.recorded) {
            Some(rule) => rules.alert(a.get_ref().set.as_ref().map_or(DEFAULT_SET, |s| s.get_ref()), rule),
            None => ok = false,
        }
    }
    ok
}

/// Parses a PromQL expression; errors point at the expression, unknown metric names warn.
fn parse_expr(cx: &mut Ctx<'_>, text: &Spanned<String>, field: &str, recorded: &[String]) -> Option<promql::Expr> {
    match promql::parse(text.get_ref()) {
        Ok(expr) => {
            for name in expr.metric_names() {
                if !catalog::exported(&name) && !recorded.contains(&name) && name != "ALERTS" {
                    let hint = nearest(&name, catalog::series_names())
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

/// One `[[alerts]]` rule, its expression parsed and its durations in milliseconds.
fn resolve_alert(cx: &mut Ctx<'_>, a: &RawAlert, recorded: &[String]) -> Option<AlertRule> {
    let name = a.alert.get_ref();
    if !catalog::valid_label_value_name(name) {
        cx.error(a.alert.span(), format!("alert: `{name}` must be a name (letters, digits and `_`)"));
        return None;
    }
    let rule = format!("alert `{name}`");
    let labels_ok = cx.label_map(a.alert.span(), &rule, "labels", &a.labels);
    if !(labels_ok && cx.label_map(a.alert.span(), &rule, "annotations", &a.annotations)) {
        return None;
    }
    let expr = parse_expr(cx, &a.expr, &format!("alert `{name}`: expr"), recorded);
    let for_ns = a.for_.as_ref().map_or(Some(0), |v| cx.duration(v, &format!("alert `{name}`: for")));
    let keep =
        a.keep_firing_for.as_ref().map_or(Some(0), |v| cx.duration(v, &format!("alert `{name}`: keep_firing_for")));
    Some(AlertRule {
        name: name.clone(),
        expr: expr?,
        for_ms: ns_to_ms_floor(for_ns?),
        keep_firing_for_ms: ns_to_ms_floor(keep?),
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
    })
}

/// The `http_request_duration_seconds` bucket bounds: the defaults, the file's, and the
/// SLO's latency threshold.
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
        buckets.push(ns_to_s(l));
    }
    buckets.sort_by(f64::total_cmp);
    buckets.dedup();
    Some(buckets)
}

/// `[slo]`: the objective, its latency threshold, and how the ground truth finds incidents.
fn resolve_slo(cx: &mut Ctx<'_>, raw: &Spanned<RawSlo>) -> Option<Option<SloSpec>> {
    let s = raw.get_ref();
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
    let latency_ns = s.latency.as_ref().map(|v| duration(cx, Some(v), "slo.latency", NS_PER_S));
    let window_ns = duration(cx, s.window.as_ref(), "slo.window", 30 * NS_PER_D);
    let resolution_ns = duration(cx, s.resolution.as_ref(), "slo.resolution", NS_PER_MIN);
    let min_incident_ns = duration(cx, s.min_incident.as_ref(), "slo.min_incident", 0);
    let merge_gap_ns = duration(cx, s.merge_gap.as_ref(), "slo.merge_gap", 5 * NS_PER_MIN);
    if resolution_ns < NS_PER_S {
        // Found by the fuzzer: a 1 ns resolution made a bucket per nanosecond (5 GB).
        let span = s.resolution.as_ref().map_or(raw.span(), Spanned::span);
        cx.error(span, "slo.resolution must be at least 1s (the ground truth counts requests in buckets this wide)");
        ok = false;
    }
    let incident_burn_rate = cx.number_or(s.incident_burn_rate.as_ref(), "slo.incident_burn_rate", 1.0, POSITIVE);
    let significance = s.incident_significance.as_ref();
    let incident_significance =
        cx.number_or(significance, "slo.incident_significance", 0.001, FRACTION_ABOVE_ZERO_BELOW_ONE);
    let incident_min_bad = cx.count_in_or(s.incident_min_bad.as_ref(), "slo.incident_min_bad", 1..=1_000_000_000, 10);
    let incident_burn_rate = incident_burn_rate.filter(|_| ok)?;
    let (incident_significance, incident_min_bad) = (incident_significance?, incident_min_bad?);
    Some(Some(SloSpec {
        objective,
        latency_ns,
        window_ns,
        resolution_ns,
        incident_burn_rate,
        incident_significance,
        incident_min_bad,
        min_incident_ns,
        merge_gap_ns,
    }))
}
