//! Logging in the reports: the `logs` and `client_errors` keys of `summary.json`, and
//! `--logs FILE`, the kept entries as JSON lines for `jq` and `grep`.

use std::collections::BTreeMap;

use serde::Serialize;

use prodsim_model::outcome::LoggingOutcome;
use prodsim_parts::ops::logs::{Level, LogCounts, LogEntry};

/// `logs`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LogsSummary {
    /// Every level together.
    #[serde(flatten)]
    pub total: LogCountsSummary,
    /// `levels.<level>`: the same counts per level.
    pub levels: BTreeMap<String, LogCountsSummary>,
    /// Most entries waiting in buffers at once.
    pub max_backlog: u64,
    /// Longest emission-to-searchable delay, seconds.
    pub max_ingestion_delay_s: f64,
    /// Entries kept for `--logs`.
    pub kept: usize,
}

/// Entry counts by what became of them.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct LogCountsSummary {
    /// Written by the components.
    pub emitted: u64,
    /// Accepted by the log store.
    pub shipped: u64,
    /// Dropped on a full buffer.
    pub dropped: u64,
    /// In a buffer when its instance crashed.
    pub lost: u64,
    /// Still buffered at the end.
    pub backlog: u64,
    /// Shipped at the end but not yet searchable (within the ingestion latency).
    pub in_transit: u64,
}

impl From<&LogCounts> for LogCountsSummary {
    fn from(c: &LogCounts) -> Self {
        LogCountsSummary {
            emitted: c.emitted,
            shipped: c.shipped,
            dropped: c.dropped,
            lost: c.lost,
            backlog: c.backlog,
            in_transit: c.in_transit,
        }
    }
}

/// One element of `client_errors`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClientErrorSummary {
    /// What a browser error tracker groups by: the error and the page.
    pub fingerprint: String,
    /// Occurrences.
    pub count: u64,
    /// First seen, seconds.
    pub first_seen_s: f64,
    /// Last seen, seconds.
    pub last_seen_s: f64,
}

impl LogsSummary {
    /// The summary of `l`.
    pub fn from_outcome(l: &LoggingOutcome) -> LogsSummary {
        LogsSummary {
            total: (&l.counts.total).into(),
            levels: Level::ALL
                .iter()
                .map(|&level| (level.as_str().to_string(), (&l.counts.level(level)).into()))
                .collect(),
            max_backlog: l.max_backlog,
            max_ingestion_delay_s: l.max_ingestion_delay_ms as f64 / 1000.0,
            kept: l.entries.len(),
        }
    }
}

/// `client_errors`, most frequent first.
pub fn client_errors(l: &LoggingOutcome) -> Vec<ClientErrorSummary> {
    l.client_errors
        .top(usize::MAX)
        .into_iter()
        .map(|(fingerprint, e)| ClientErrorSummary {
            fingerprint: fingerprint.to_string(),
            count: e.count,
            first_seen_s: e.first_seen_ms as f64 / 1000.0,
            last_seen_s: e.last_seen_ms as f64 / 1000.0,
        })
        .collect()
}

#[derive(Serialize)]
struct Line<'a> {
    time_s: f64,
    level: &'a str,
    component: &'a str,
    instance: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<u64>,
}

fn line(e: &LogEntry) -> String {
    serde_json::to_string(&Line {
        time_s: e.t_ms as f64 / 1000.0,
        level: e.level.as_str(),
        component: &e.component,
        instance: &e.instance,
        message: &e.message,
        request_id: e.request_id,
    })
    .unwrap_or_default()
}

/// The kept entries as JSON lines, in time order.
pub fn json_lines(l: &LoggingOutcome) -> String {
    let mut out = String::new();
    for e in &l.entries {
        out.push_str(&line(e));
        out.push('\n');
    }
    out
}
