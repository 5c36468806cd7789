//! The event stream's messages (`GET /events`), one JSON object each with a `type`:
//! `row` (one time-series interval), `notification`, `page`, `action`, `fault` (a fault
//! starts, the scenario's or one the instructor injected), `logs` (the newest log
//! entries), `components` (what is down or degraded), `clock`, `finished`. docs/serve.md lists their fields.

use prodsim_model::Session;
use prodsim_model::outcome::Row;
use prodsim_parts::faults::Fault;
use prodsim_parts::ops::logs::LogEntry;
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

/// A fault, when it starts: fault `index` of the run (the scenario's in file order, then
/// those injected), `injected` by the instructor or not.
pub fn fault(index: usize, f: &Fault, injected: bool) -> Value {
    json!({
        "type": "fault",
        "index": index,
        "kind": f.kind.name(),
        "target": f.target_name,
        "describe": f.kind.describe(),
        "start_s": f.start_ns as f64 / 1e9,
        "end_s": (f.end_ns > f.start_ns).then(|| f.end_ns as f64 / 1e9),
        "injected": injected,
    })
}

/// Log entries (the newest the scenario's `[logging]` wrote), with how many newer than
/// the last message were `skipped`.
pub fn logs<'a>(lines: impl Iterator<Item = &'a LogEntry>, skipped: u64) -> Value {
    let lines: Vec<Value> = lines
        .map(|e| {
            json!({
                "t_s": e.t_ms as f64 / 1e3,
                "level": e.level.as_str(),
                "component": e.component,
                "instance": e.instance,
                "message": e.message,
                "request_id": e.request_id,
            })
        })
        .collect();
    json!({ "type": "logs", "lines": lines, "skipped": skipped })
}

/// What is down or degraded now: the faults in force with a window, and each station's
/// instances up (`servers`, the services, `storage`, `db`).
pub fn components(session: &Session) -> Value {
    let faults: Vec<Value> = session
        .faults_in_force()
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind.name(),
                "target": f.target_name,
                "describe": f.kind.describe(),
                "end_s": f.end_ns as f64 / 1e9,
            })
        })
        .collect();
    let stations: Vec<Value> =
        session.stations().iter().map(|(name, up, of)| json!({ "name": name, "up": up, "of": of })).collect();
    json!({ "type": "components", "faults": faults, "stations": stations })
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
