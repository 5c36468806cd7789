//! `/metrics`: what one live service exports, in the Prometheus text exposition format
//! (version 0.0.4), under the metric names of `docs/metrics.md`
//! (`prodsim_parts::ops::catalog`). Durations are in scenario seconds (wall seconds divided
//! by the time scale), so rules written for the scenario read the same numbers; `job` and
//! `instance` are left to the scraper, as Prometheus adds them from its target.

use std::fmt::Write;

use prodsim_parts::ops::catalog::{self, DEFAULT_BUCKETS, MetricInfo};

/// The families a live service exports, by name; each must be in the catalog.
pub const EXPORTED: [&str; 6] = [
    "http_requests_total",
    "http_request_duration_seconds",
    "http_requests_in_flight",
    "queue_depth",
    "machine_cpu_cores",
    "process_cpu_seconds_total",
];

/// Answers of one class: by status code, and their latency histogram.
#[derive(Clone, Debug, Default)]
struct ClassCounters {
    ok: u64,
    rejected: u64,
    /// Non-cumulative bucket counts (`DEFAULT_BUCKETS`, then +Inf).
    buckets: [u64; DEFAULT_BUCKETS.len() + 1],
    sum_s: f64,
}

/// The counters behind one service's `/metrics`.
#[derive(Clone, Debug)]
pub struct ServiceMetrics {
    service: String,
    classes: Vec<(String, ClassCounters)>,
}

/// Gauges read when a scrape comes in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Requests being served or waiting.
    pub in_flight: u32,
    /// Requests waiting for a worker.
    pub queued: usize,
    /// Workers (one core each).
    pub cores: u32,
    /// Busy worker-seconds so far (scenario time).
    pub cpu_s: f64,
}

impl ServiceMetrics {
    /// Empty counters for `service` and its `classes`.
    pub fn new(service: &str, classes: &[String]) -> ServiceMetrics {
        ServiceMetrics {
            service: service.to_string(),
            classes: classes.iter().map(|c| (c.clone(), ClassCounters::default())).collect(),
        }
    }

    /// A request of `class` was answered: 200 with `latency_s`, or 503 (rejected).
    pub fn answered(&mut self, class: usize, ok: bool, latency_s: f64) {
        let Some((_, c)) = self.classes.get_mut(class) else { return };
        if !ok {
            c.rejected += 1;
            return;
        }
        c.ok += 1;
        c.sum_s += latency_s;
        let b = DEFAULT_BUCKETS.partition_point(|&le| le < latency_s);
        c.buckets[b] += 1;
    }

    /// The exposition text, with `gauges` read now.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        let svc = &self.service;
        header(&mut out, "http_requests_total");
        for (class, c) in &self.classes {
            for (code, n) in [("200", c.ok), ("503", c.rejected)] {
                let _ = writeln!(out, "http_requests_total{{service=\"{svc}\",class=\"{class}\",code=\"{code}\"}} {n}");
            }
        }
        header(&mut out, "http_request_duration_seconds");
        for (class, c) in &self.classes {
            let labels = format!("service=\"{svc}\",class=\"{class}\"");
            let mut cumulative = 0;
            for (i, le) in DEFAULT_BUCKETS.iter().map(|b| b.to_string()).chain(["+Inf".to_string()]).enumerate() {
                cumulative += c.buckets[i];
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {}", c.sum_s);
            let _ = writeln!(out, "http_request_duration_seconds_count{{{labels}}} {cumulative}");
        }
        header(&mut out, "http_requests_in_flight");
        let _ = writeln!(out, "http_requests_in_flight{{service=\"{svc}\"}} {}", gauges.in_flight);
        header(&mut out, "queue_depth");
        let _ = writeln!(out, "queue_depth{{queue=\"requests\"}} {}", gauges.queued);
        header(&mut out, "machine_cpu_cores");
        let _ = writeln!(out, "machine_cpu_cores {}", gauges.cores);
        header(&mut out, "process_cpu_seconds_total");
        let _ = writeln!(out, "process_cpu_seconds_total {}", gauges.cpu_s);
        out
    }
}

/// The catalog's entry for `name`.
fn info(name: &str) -> Option<&'static MetricInfo> {
    catalog::METRICS.iter().find(|m| m.name == name)
}

fn header(out: &mut String, name: &str) {
    if let Some(m) = info(name) {
        let _ = writeln!(out, "# HELP {name} {}", m.help);
        let _ = writeln!(out, "# TYPE {name} {}", m.kind.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exported_family_is_in_the_catalog() {
        for name in EXPORTED {
            assert!(info(name).is_some(), "{name} is not in docs/metrics.md's catalog");
        }
    }

    #[test]
    fn buckets_are_cumulative_and_counts_match() {
        let mut m = ServiceMetrics::new("app", &["default".to_string()]);
        m.answered(0, true, 0.004);
        m.answered(0, true, 0.3);
        m.answered(0, true, 30.0);
        m.answered(0, false, 0.0);
        let text = m.render(Gauges { in_flight: 2, queued: 1, cores: 8, cpu_s: 1.5 });
        assert!(text.contains("le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("le=\"0.5\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("code=\"503\"} 1\n"), "{text}");
        assert!(text.contains("http_request_duration_seconds_count{service=\"app\",class=\"default\"} 3\n"));
        assert!(text.contains("queue_depth{queue=\"requests\"} 1\n"));
    }
}
