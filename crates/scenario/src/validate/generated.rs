//! The rules prodsim writes for the user, as plain rules a user could have written: the
//! SLO's multi-window, multi-burn-rate alerts with their recording rules (`[slo]`), and the
//! ready rules every production team starts with (`[monitoring] ready_rules = true`).

use std::collections::BTreeMap;

use crate::monitoring::SloSpec;
use crate::topology::Topology;
use crate::units::{self, ns_to_h, ns_to_ms_floor, ns_to_s};
use prodsim_parts::ops::catalog;
use prodsim_parts::ops::promql;
use prodsim_parts::ops::rules::{AlertRule, RecordingRule};

/// The SRE Workbook's multi-window, multi-burn-rate alerts for `slo` (chapter 5, table
/// 5-8): recording rules for the error ratio (and the slow ratio with a latency target)
/// over 5m, 30m, 1h, 6h and 3d of the balancer's requests, and three alerts per ratio:
/// 14.4× over 1h and 5m (page), 6× over 6h and 30m (page), 1× over 3d and 6h (ticket).
pub(super) fn burn_rate_rules(slo: &SloSpec) -> Result<(Vec<RecordingRule>, Vec<AlertRule>), promql::PromqlError> {
    let budget = slo.budget();
    let windows = ["5m", "30m", "1h", "6h", "3d"];
    let mut sources = vec![(
        "error",
        "Error",
        "sum(rate(http_requests_total{service=\"lb\",code=~\"5..\"}[W])) / sum(rate(http_requests_total{service=\"lb\"}[W]))"
            .to_string(),
    )];
    if let Some(l) = slo.latency_ns {
        let le = catalog::format_le(ns_to_s(l));
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
    let hours = ns_to_h(window_ns) / factor;
    if hours >= 48.0 { format!("{:.0} days", hours / 24.0) } else { format!("{hours:.0} hours") }
}

/// A ready rule's name, expression, `for`, severity, summary and description.
type ReadyRule = (&'static str, String, &'static str, &'static str, &'static str, &'static str);

/// `HighLoginFailureRate`, for a scenario with a login class: most login attempts fail,
/// the mark of credential stuffing (legitimate users fail a few percent of the time).
fn login_rule() -> ReadyRule {
    (
        "HighLoginFailureRate",
        "sum(rate(auth_attempts_total{outcome=\"failure\"}[5m])) / sum(rate(auth_attempts_total[5m])) > 0.5"
            .to_string(),
        "5m",
        "page",
        "More than half of login attempts fail",
        "{{ $value | humanizePercentage }} of login attempts failed over the last 5 minutes: credential stuffing?",
    )
}

/// The ready rules (`[monitoring] ready_rules = true`): the five alerts every production
/// team starts with, written against prodsim's metrics.
pub(super) fn ready_rules(topology: &Topology) -> Result<Vec<AlertRule>, promql::PromqlError> {
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
    if topology.classes.iter().any(|c| c.login.is_some()) {
        rules.push(login_rule());
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
                for_ms: units::parse_duration(for_).map_or(0, ns_to_ms_floor),
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
