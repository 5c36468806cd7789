//! The raw shape of `[monitoring]`, `[[alerts]]`, `[[rules]]`, `[slo]`, `[routing]` and
//! `[logging]`, as serde reads them. Field names follow Prometheus and Alertmanager
//! (`alert`, `expr`, `for`, `keep_firing_for`, `group_by`, `group_wait`, ...). See
//! `docs/alerting.md`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// `[monitoring]`: the Prometheus server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitoring {
    /// How often every instance is scraped (default 15s).
    #[serde(default)]
    pub scrape_interval: Option<Spanned<String>>,
    /// How often rules are evaluated (default 15s).
    #[serde(default)]
    pub evaluation_interval: Option<Spanned<String>>,
    /// Samples older than this are dropped (default: the longest range a rule reads plus
    /// 5 minutes; `--metrics` keeps everything).
    #[serde(default)]
    pub retention: Option<Spanned<String>>,
    /// Ship the ready rules (error rate, CPU, pool, payment service, server down).
    #[serde(default)]
    pub ready_rules: Option<bool>,
    /// Extra `http_request_duration_seconds` bucket bounds, in seconds.
    #[serde(default)]
    pub buckets: Option<Spanned<Vec<f64>>>,
    /// Working hours, for "pages out of hours": `"mon-fri 09:00-17:00"`.
    #[serde(default)]
    pub business_hours: Option<Spanned<String>>,
    /// Prometheus rule files loaded as they are, relative to the scenario file
    /// (docs/prometheus.md).
    #[serde(default)]
    pub rule_files: Vec<Spanned<String>>,
}

/// `[[alerts]]`: one alerting rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    /// The alert's name (`alertname`).
    pub alert: Spanned<String>,
    /// PromQL; every series it returns is an alert.
    pub expr: Spanned<String>,
    /// How long the condition must hold before the alert fires (default 0s).
    #[serde(default, rename = "for")]
    pub for_: Option<Spanned<String>>,
    /// How long a firing alert keeps firing after its condition clears (default 0s).
    #[serde(default)]
    pub keep_firing_for: Option<Spanned<String>>,
    /// Labels added to the alert, e.g. `severity`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook`, ...; may use `{{ $labels.x }}` and `{{ $value }}`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The rule set it belongs to (default `"default"`); sets are scored apart.
    #[serde(default)]
    pub set: Option<Spanned<String>>,
}

/// `[[rules]]`: one recording rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecordingRule {
    /// The name of the series it records.
    pub record: Spanned<String>,
    /// PromQL.
    pub expr: Spanned<String>,
    /// Labels added to the recorded series.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `[slo]`: the service level objective users are promised.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    /// Share of good requests, e.g. 0.999.
    pub objective: Spanned<f64>,
    /// A request slower than this is bad too (optional).
    #[serde(default)]
    pub latency: Option<Spanned<String>>,
    /// The error budget's period (default 30d).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// Generate the SRE Workbook's multi-window, multi-burn-rate alerts (default true).
    #[serde(default)]
    pub alerts: Option<bool>,
    /// The rule set the generated alerts belong to (default `"default"`).
    #[serde(default)]
    pub set: Option<Spanned<String>>,
    /// Width of the ground truth's buckets (default 1m).
    #[serde(default)]
    pub resolution: Option<Spanned<String>>,
    /// A bucket is part of an incident when it burns budget at least this fast (default 1).
    #[serde(default)]
    pub incident_burn_rate: Option<Spanned<f64>>,
    /// Significance level of the one-sided binomial test that calls a bucket bad
    /// (default 0.001).
    #[serde(default)]
    pub incident_significance: Option<Spanned<f64>>,
    /// Fewest bad requests in a bad bucket (default 10).
    #[serde(default)]
    pub incident_min_bad: Option<Spanned<u64>>,
    /// Shortest incident (default 0s: every statistically bad bucket counts).
    #[serde(default)]
    pub min_incident: Option<Spanned<String>>,
    /// Incidents closer than this merge into one (default 5m).
    #[serde(default)]
    pub merge_gap: Option<Spanned<String>>,
}

/// `[routing]`: Alertmanager's root route, receivers, inhibition and silences.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    /// An Alertmanager configuration file (relative to the scenario file) that gives the
    /// route tree, receivers and inhibit rules; only `silences` may be added beside it.
    #[serde(default)]
    pub config: Option<Spanned<String>>,
    /// The root route's receiver (required without `config`).
    #[serde(default)]
    pub receiver: Option<Spanned<String>>,
    /// Labels to group alerts by (`["..."]`: every label).
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Wait before a new group's first notification (default 30s).
    #[serde(default)]
    pub group_wait: Option<Spanned<String>>,
    /// Wait between notifications of a changed group (default 5m).
    #[serde(default)]
    pub group_interval: Option<Spanned<String>>,
    /// Resend an unchanged group's notification after this (default 4h).
    #[serde(default)]
    pub repeat_interval: Option<Spanned<String>>,
    /// Child routes, tried in order.
    #[serde(default)]
    pub routes: Vec<Spanned<RawRoute>>,
    /// `[[routing.receivers]]`.
    #[serde(default)]
    pub receivers: Vec<Spanned<RawReceiver>>,
    /// `[[routing.inhibit_rules]]`.
    #[serde(default)]
    pub inhibit_rules: Vec<Spanned<RawInhibitRule>>,
    /// `[[routing.silences]]`.
    #[serde(default)]
    pub silences: Vec<Spanned<RawSilence>>,
}

/// A child route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Receiver (default: the parent's).
    #[serde(default)]
    pub receiver: Option<Spanned<String>>,
    /// Alertmanager matchers, e.g. `severity="page"`, `service=~"pay.*"`.
    #[serde(default)]
    pub matchers: Vec<Spanned<String>>,
    /// Labels to group by (default: the parent's).
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Default: the parent's.
    #[serde(default)]
    pub group_wait: Option<Spanned<String>>,
    /// Default: the parent's.
    #[serde(default)]
    pub group_interval: Option<Spanned<String>>,
    /// Default: the parent's.
    #[serde(default)]
    pub repeat_interval: Option<Spanned<String>>,
    /// Keep matching later siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_: bool,
    /// Child routes.
    #[serde(default)]
    pub routes: Vec<Spanned<RawRoute>>,
}

/// A receiver: exactly one of `slack`, `email`, `sms`, `pager`, `webhook`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    /// Its name, used by routes.
    pub name: Spanned<String>,
    /// A Slack channel, e.g. `#production-alerts`.
    #[serde(default)]
    pub slack: Option<String>,
    /// An email address.
    #[serde(default)]
    pub email: Option<String>,
    /// A phone number for SMS.
    #[serde(default)]
    pub sms: Option<String>,
    /// A paging service (push notification and phone call).
    #[serde(default)]
    pub pager: Option<String>,
    /// A webhook URL.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Also notify when alerts resolve (default true; false for SMS and pager).
    #[serde(default)]
    pub send_resolved: Option<bool>,
    /// The receiver that gets what this one fails to deliver (its channel is down).
    #[serde(default)]
    pub fallback: Option<Spanned<String>>,
}

/// An inhibition rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInhibitRule {
    /// Firing alerts that mute others.
    pub source_matchers: Vec<Spanned<String>>,
    /// Alerts that are muted.
    pub target_matchers: Vec<Spanned<String>>,
    /// Labels whose values must be equal in source and target.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A silence over a window of simulated time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSilence {
    /// Alerts it mutes.
    pub matchers: Vec<Spanned<String>>,
    /// Start, a duration from the start of the run.
    pub starts: Spanned<String>,
    /// End, a duration from the start of the run.
    pub ends: Spanned<String>,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

/// `[logging]`: structured logs and their shipping to a log store.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    /// Lowest level emitted: `debug`, `info`, `warn`, `error` (default `info`).
    #[serde(default)]
    pub level: Option<Spanned<String>>,
    /// Share of `info` access-log lines written (default 1).
    #[serde(default)]
    pub sampling: Option<Spanned<f64>>,
    /// Entries an instance buffers before dropping (default 10000).
    #[serde(default)]
    pub buffer: Option<Spanned<u32>>,
    /// How often an instance ships its buffer (default 5s).
    #[serde(default)]
    pub batch_interval: Option<Spanned<String>>,
    /// Most entries per shipment (default 5000).
    #[serde(default)]
    pub batch_size: Option<Spanned<u32>>,
    /// Delay until shipped entries are searchable (default 2s).
    #[serde(default)]
    pub ingestion_latency: Option<Spanned<String>>,
    /// Entries of each level kept for `--logs` (default 250).
    #[serde(default)]
    pub exemplars: Option<Spanned<u32>>,
}
