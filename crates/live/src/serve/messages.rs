//! The event stream's messages (`GET /events`), one JSON object each with a `type`:
//! `row` (one time-series interval), `notification`, `page`, `action`, `clock`,
//! `finished`. docs/serve.md lists their fields.

use prodsim_model::outcome::Row;
use prodsim_parts::ops::oncall::Page;
use prodsim_parts::ops::routing::{AlertStatus, Notification};
use serde_json::{Value, json};

/// One closed time-series row: throughput, error ratio and latency of the interval.
pub fn row(r: &Row) -> Value {
    let seconds = (r.end_ns.saturating_sub(r.start_ns)) as f64 / 1e9;
    let failed = r.rejections + r.timeouts + r.failures;
    let ended = r.completions + failed;
    json!({
        "type": "row",
        "start_s": r.start_ns as f64 / 1e9,
        "end_s": r.end_ns as f64 / 1e9,
        "throughput_rps": if seconds > 0.0 { r.completions as f64 / seconds } else { 0.0 },
        "error_ratio": (ended > 0).then(|| failed as f64 / ended as f64),
        "latency_mean_ms": r.latency_mean_ms(),
        "latency_p99_ms": r.latency_p99_ns.map(|v| v as f64 / 1e6),
        "utilization": r.utilization,
    })
}

/// One notification sent by a rule set's router.
pub fn notification(set: &str, n: &Notification) -> Value {
    let alerts: Vec<&str> = n.alerts.iter().filter_map(|a| a.labels.get("alertname").map(String::as_str)).collect();
    let summary = n.alerts.first().and_then(|a| a.annotations.get("summary").cloned());
    json!({
        "type": "notification",
        "time_s": n.t_ms as f64 / 1e3,
        "set": set,
        "receiver": n.receiver,
        "status": match n.status() { AlertStatus::Firing => "firing", AlertStatus::Resolved => "resolved" },
        "alerts": alerts,
        "summary": summary,
        "repeat": n.repeat,
    })
}

/// A page, when it opens and when it is acknowledged.
pub fn page(p: &Page) -> Value {
    json!({
        "type": "page",
        "id": p.id,
        "opened_s": p.opened_ns as f64 / 1e9,
        "alerts": p.alerts,
        "acknowledged_s": p.acknowledged.as_ref().map(|a| a.at_ns as f64 / 1e9),
        "acknowledged_by": p.acknowledged.as_ref().map(|a| a.by.clone()),
    })
}
