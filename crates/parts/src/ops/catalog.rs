//! The metrics prodsim exports, by name: what each one counts, its type and its labels.
//! Names follow the conventions of Prometheus client libraries and exporters, so rules
//! written for real systems read naturally. `docs/metrics.md` documents the same list;
//! a test keeps the two in step.

/// A metric's type in the Prometheus data model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// Only goes up (resets to 0 when its process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Cumulative `_bucket{le}` counters plus `_sum` and `_count`.
    Histogram,
}

impl MetricType {
    /// The OpenMetrics `# TYPE` word.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// One exported metric family.
#[derive(Clone, Copy, Debug)]
pub struct MetricInfo {
    /// Family name (counters include `_total`).
    pub name: &'static str,
    /// Its type.
    pub kind: MetricType,
    /// Labels besides `job` and `instance`.
    pub labels: &'static [&'static str],
    /// What it measures (the `# HELP` line).
    pub help: &'static str,
}

/// Every metric family prodsim exports. Every series also carries `job` and `instance`.
pub const METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: "up",
        kind: MetricType::Gauge,
        labels: &[],
        help: "1 if the last scrape of the instance succeeded, 0 if it was down or unreachable.",
    },
    MetricInfo {
        name: "http_requests_total",
        kind: MetricType::Counter,
        labels: &["service", "class", "code"],
        help: "Requests answered, by request class and HTTP status code (200, 403, 429, 500, 503, 504).",
    },
    MetricInfo {
        name: "http_request_duration_seconds",
        kind: MetricType::Histogram,
        labels: &["service", "class"],
        help: "Time from a request's arrival to its answer, in seconds.",
    },
    MetricInfo {
        name: "http_requests_in_flight",
        kind: MetricType::Gauge,
        labels: &["service"],
        help: "Requests being worked on or waiting on the instance.",
    },
    MetricInfo {
        name: "process_cpu_seconds_total",
        kind: MetricType::Counter,
        labels: &[],
        help: "CPU time the process used, in seconds (one busy worker on CPU work uses one core).",
    },
    MetricInfo {
        name: "machine_cpu_cores",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Cores of the instance's machine (one per worker).",
    },
    MetricInfo {
        name: "process_resident_memory_bytes",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Resident memory of the process, in bytes.",
    },
    MetricInfo {
        name: "db_connections_in_use",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Database connections of the app server's pool in use (leaked ones included).",
    },
    MetricInfo {
        name: "db_connections_max",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Size of the app server's database connection pool.",
    },
    MetricInfo {
        name: "db_query_duration_seconds",
        kind: MetricType::Histogram,
        labels: &["op"],
        help: "Time from a query's arrival at the database instance to its answer (waiting for a connection included), in seconds, by op (read, write).",
    },
    MetricInfo {
        name: "db_replication_lag_seconds",
        kind: MetricType::Gauge,
        labels: &[],
        help: "How far the replicas are behind the primary, in seconds.",
    },
    MetricInfo {
        name: "dependency_requests_total",
        kind: MetricType::Counter,
        labels: &["dependency", "outcome"],
        help: "Calls to a dependency by their outcome: success, error, timeout, rejected (circuit open).",
    },
    MetricInfo {
        name: "queue_depth",
        kind: MetricType::Gauge,
        labels: &["queue"],
        help: "Items waiting: `requests` on an instance, `retry` on the retry queue.",
    },
    MetricInfo {
        name: "payments_total",
        kind: MetricType::Counter,
        labels: &["outcome"],
        help: "Payments by outcome, from the ledger: attempted, completed, failed, lost (charged without an order, or the reverse).",
    },
    MetricInfo {
        name: "orders_total",
        kind: MetricType::Counter,
        labels: &["class"],
        help: "Orders confirmed to users: requests of a payment class answered with success (a payment accepted for later included).",
    },
    MetricInfo {
        name: "revenue_total",
        kind: MetricType::Counter,
        labels: &["class"],
        help: "Revenue of the requests answered with success, in the scenario's currency units (each class's `revenue`); a payment accepted for later counts nothing.",
    },
    MetricInfo {
        name: "signups_total",
        kind: MetricType::Counter,
        labels: &["class"],
        help: "Signups: requests of a class with `signup = true` answered with success.",
    },
    MetricInfo {
        name: "auth_attempts_total",
        kind: MetricType::Counter,
        labels: &["class", "outcome"],
        help: "Login attempts: requests of a class with `login = true` the app servers served, by outcome (`success`, or `failure`: a wrong password, HTTP 401, counted served for availability).",
    },
    MetricInfo {
        name: "node_network_receive_bytes_total",
        kind: MetricType::Counter,
        labels: &["device"],
        help: "Bytes the app server's host received from users: each answered request's `request_bytes` (the host's counter: a process crash does not reset it).",
    },
    MetricInfo {
        name: "node_network_transmit_bytes_total",
        kind: MetricType::Counter,
        labels: &["device"],
        help: "Bytes the app server's host sent to users: `response_bytes` per success, 300 per error answer.",
    },
    MetricInfo {
        name: "node_filesystem_size_bytes",
        kind: MetricType::Gauge,
        labels: &["mountpoint"],
        help: "Size of the database instance's data volume (`[database] disk_bytes`).",
    },
    MetricInfo {
        name: "node_filesystem_avail_bytes",
        kind: MetricType::Gauge,
        labels: &["mountpoint"],
        help: "Free bytes on the database instance's data volume: disk_bytes - data_bytes - bytes_per_write x committed writes (replicas mirror the primary).",
    },
];

/// Default histogram bucket bounds, in seconds (the Prometheus client libraries' own).
pub const DEFAULT_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The series of every histogram family: `_bucket`, `_sum`, `_count`, in [`METRICS`] order.
const HISTOGRAM_SERIES: &[[&str; 3]] = &[
    [
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
    ],
    ["db_query_duration_seconds_bucket", "db_query_duration_seconds_sum", "db_query_duration_seconds_count"],
];

/// The series names a family exposes (a histogram's `_bucket`, `_sum`, `_count`).
pub fn series_names() -> impl Iterator<Item = &'static str> {
    METRICS.iter().flat_map(|m| -> Vec<&'static str> {
        match m.kind {
            MetricType::Histogram => HISTOGRAM_SERIES
                .iter()
                .find(|s| s[0].strip_suffix("_bucket") == Some(m.name))
                .map_or_else(Vec::new, |s| s.to_vec()),
            MetricType::Counter | MetricType::Gauge => vec![m.name],
        }
    })
}

/// Whether prodsim exports a series called `name` (the `ALERTS` series of the rule engine
/// included).
pub fn exported(name: &str) -> bool {
    name == "ALERTS" || name == "ALERTS_FOR_STATE" || series_names().any(|n| n == name)
}

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` is a valid label name or alert name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_value_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A bucket bound as the `le` label writes it (`0.5`, `1`, `2.5`, `+Inf`).
pub fn format_le(bound: f64) -> String {
    if bound.is_infinite() {
        return "+Inf".into();
    }
    let s = format!("{bound}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bounds() {
        assert!(exported("http_request_duration_seconds_bucket"));
        assert!(exported("up"));
        assert!(exported("db_query_duration_seconds_count"));
        assert!(!exported("db_query_duration_seconds"));
        assert_eq!(series_names().filter(|n| n.ends_with("_bucket")).count(), 2, "every histogram has its series");
        assert!(!exported("http_request_duration_seconds"));
        assert!(!exported("node_cpu_seconds_total"));
        assert!(valid_metric_name("slo:sli_error:ratio_rate5m"));
        assert!(!valid_metric_name("5xx"));
        assert_eq!(format_le(1.0), "1");
        assert_eq!(format_le(0.25), "0.25");
        assert_eq!(format_le(f64::INFINITY), "+Inf");
    }

    #[test]
    fn every_metric_is_documented() {
        let doc = include_str!("../../../../docs/metrics.md");
        for m in METRICS {
            assert!(doc.contains(&format!("`{}`", m.name)), "docs/metrics.md does not document {}", m.name);
        }
    }
}
