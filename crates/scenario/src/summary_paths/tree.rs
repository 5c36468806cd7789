//! The tree of `summary.json` as data, key for key the report's `Summary`
//! (`crates/report/src/summary*.rs`): objects of fixed keys (a key with `None` flattens an
//! object into its parent, as serde's `flatten` does), objects keyed by the scenario's
//! names, lists, and the section each block needs.

use super::{Kind, Leaf};

/// A section a key needs in the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Needs {
    Always,
    Regions,
    Database,
    RetryQueue,
    Proxy,
    Malicious,
    Scaling,
    Monitoring,
    Logging,
    Delivery,
    Fallback,
    Reconciliation,
    Backups,
    /// Never readable by an expectation (`expectations`).
    Never,
}

impl Needs {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Needs::Always | Needs::Never => "",
            Needs::Regions => "[[regions]]",
            Needs::Database => "a [database]",
            Needs::RetryQueue => "a [retry_queue]",
            Needs::Proxy => "a [proxy]",
            Needs::Malicious => "malicious traffic (a workload's `malicious` share or a ddos fault)",
            Needs::Scaling => "[autoscaling] or [[actions]]",
            Needs::Monitoring => "monitoring ([monitoring], [[alerts]] or [slo])",
            Needs::Logging => "[logging]",
            Needs::Delivery => "[pipeline], [[deploys]], [oncall] or [[playbooks]]",
            Needs::Fallback => "a call with a `fallback`",
            Needs::Reconciliation => "[reconciliation]",
            Needs::Backups => "[backups]",
        }
    }
}

/// Names a scenario gives to the keys of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Names {
    Classes,
    Regions,
    AlertRules,
    RuleSets,
    LogLevels,
    Versions,
    /// Any label name of a firing alert (its rule's labels and its series').
    Labels,
}

impl Names {
    /// What one is called, and what several are.
    pub(super) fn what(self) -> (&'static str, &'static str) {
        match self {
            Names::Classes => ("request class", "classes"),
            Names::Regions => ("region", "regions"),
            Names::AlertRules => ("alert rule", "alert rules"),
            Names::RuleSets => ("rule set", "rule sets"),
            Names::LogLevels => ("log level", "levels"),
            Names::Versions => ("version", "versions"),
            Names::Labels => ("label", "labels"),
        }
    }
}

/// How long a list may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Length {
    /// One element per app server the pool may have.
    Servers,
    /// One element per `[[faults]]`.
    Faults,
    /// Known only after the run.
    Any,
}

/// A node of the tree.
pub(super) enum Node {
    Leaf(Leaf),
    Object(&'static [Field]),
    Named(Names, &'static Node),
    List(Length, &'static Node),
}

/// A key of an object; `key: None` flattens the fields of `node` into the object, as
/// serde's `flatten` does in the report.
pub(super) struct Field {
    pub(super) key: Option<&'static str>,
    pub(super) node: Node,
    pub(super) needs: Needs,
}

pub(super) const NUMBER: Node = Node::Leaf(Leaf { kind: Kind::Number, nullable: false });
pub(super) const NUMBER_OR_NULL: Node = Node::Leaf(Leaf { kind: Kind::Number, nullable: true });
pub(super) const TEXT: Node = Node::Leaf(Leaf { kind: Kind::Text, nullable: false });
pub(super) const TEXT_OR_NULL: Node = Node::Leaf(Leaf { kind: Kind::Text, nullable: true });
pub(super) const BOOL: Node = Node::Leaf(Leaf { kind: Kind::Bool, nullable: false });

pub(super) const fn key(key: &'static str, node: Node) -> Field {
    Field { key: Some(key), node, needs: Needs::Always }
}
pub(super) const fn with(needs: Needs, key: &'static str, node: Node) -> Field {
    Field { key: Some(key), node, needs }
}
pub(super) const fn num(k: &'static str) -> Field {
    key(k, NUMBER)
}
pub(super) const fn num_or_null(k: &'static str) -> Field {
    key(k, NUMBER_OR_NULL)
}
pub(super) const fn text(k: &'static str) -> Field {
    key(k, TEXT)
}
pub(super) const fn text_or_null(k: &'static str) -> Field {
    key(k, TEXT_OR_NULL)
}
pub(super) const fn boolean(k: &'static str) -> Field {
    key(k, BOOL)
}

pub(super) const REQUESTS: &[Field] =
    &[num("arrived"), num("completed"), num("rejected"), num("timed_out"), num("failed"), num("in_flight")];
pub(super) const LATENCY_MS: &[Field] = &[
    num_or_null("mean"),
    num_or_null("p50"),
    num_or_null("p90"),
    num_or_null("p99"),
    num_or_null("p999"),
    num_or_null("max"),
];
pub(super) const CLASS: Node = Node::Object(&[
    key("requests", Node::Object(REQUESTS)),
    num_or_null("availability"),
    key("latency_ms", Node::Object(LATENCY_MS)),
    num("degraded"),
    num("deferred"),
]);
pub(super) const SERVER: Node =
    Node::Object(&[text("name"), num("utilization"), num("mean_queue_length"), num("served"), num("rejected")]);
pub(super) const FAULT: Node = Node::Object(&[text("kind"), text("target"), num("start_s"), num("end_s")]);
pub(super) const PAYMENTS: &[Field] = &[
    num("attempted"),
    num("completed"),
    num("queued"),
    num("failed"),
    num("lost"),
    num("duplicated"),
    num("in_flight"),
    boolean("balanced"),
];
pub(super) const COMPONENT: Node = Node::Object(&[
    text("name"),
    text("kind"),
    num("instances"),
    num_or_null("utilization"),
    num("mean_queue_length"),
    num("peak_queue"),
    num("calls"),
    num("first_attempts"),
    num("retries"),
    num("hedges"),
    num_or_null("amplification"),
    num("errors"),
    num("timeouts"),
    num("breaker_rejections"),
    num("breaker_opened"),
    num("budget_denied"),
]);
pub(super) const DATABASE: &[Field] = &[
    num("replica_reads"),
    num("stale_reads"),
    num_or_null("stale_ratio"),
    num("pool_timeouts"),
    num("failovers"),
    num("max_replication_lag_ms"),
    num("data_bytes"),
    num("disk_bytes"),
    num("disk_full_writes"),
    num("slow_queries"),
];
pub(super) const RETRY_QUEUE: &[Field] =
    &[num("enqueued"), num("drained"), num("remaining"), num("peak"), num("dropped")];
pub(super) const FALLBACK: &[Field] = &[num("calls"), num("answered"), num("payments"), num("in_doubt_kept")];
pub(super) const RECONCILIATION: &[Field] =
    &[num("runs"), num("reconciled"), num("charged"), num("corrected"), num("in_doubt")];
pub(super) const BACKUPS: &[Field] = &[
    num("completed"),
    num("cost"),
    num("data_losses"),
    num("restores"),
    num("writes_lost"),
    num_or_null("rpo_s"),
    num_or_null("rto_s"),
];
pub(super) const COST: &[Field] =
    &[num("infrastructure"), num("calls"), num("total"), num_or_null("per_million_requests")];
pub(super) const PROXY: &[Field] = &[
    num("instances"),
    num("requests"),
    num("tls_handshakes"),
    num("rate_limited"),
    num("filtered"),
    num("false_positives"),
    num("cache_hits"),
    num("cache_misses"),
    num_or_null("cache_hit_ratio"),
    num("forwarded"),
    num("bytes_sent"),
    num("bytes_saved"),
    num("utilization"),
    num("mean_queue_length"),
    num("peak_queue"),
];
pub(super) const MALICIOUS: &[Field] =
    &[num("arrived"), num("filtered"), num("rate_limited"), num("served"), num("failed")];
pub(super) const AUTOSCALING: &[Field] = &[
    num("scale_outs"),
    num("scale_ins"),
    num("min_instances"),
    num("max_instances"),
    num("instance_hours"),
    num("drain_timeouts"),
];
pub(super) const MONITORING: &[Field] =
    &[num("scrapes"), num("evaluations"), num("series"), num("samples"), num("pending_only"), num("rule_errors")];
pub(super) const QUALITY: &[Field] = &[
    num_or_null("precision"),
    num_or_null("recall"),
    num_or_null("detection_time_s"),
    num_or_null("reset_time_s"),
    num("pages_per_week"),
    num("notifications"),
    num("pages"),
    num("paging_notifications"),
    num("pages_out_of_hours"),
    num("episodes"),
    num("true_positives"),
    num("flapping"),
    num("duplicates"),
];
pub(super) const ALERT_QUALITY: &[Field] = &[
    Field { key: None, node: Node::Object(QUALITY), needs: Needs::Always },
    key("rules", Node::Named(Names::AlertRules, &Node::Object(QUALITY))),
    key("sets", Node::Named(Names::RuleSets, &Node::Object(QUALITY))),
];
pub(super) const ALERT: Node = Node::Object(&[
    text("alert"),
    text("set"),
    text("severity"),
    key("labels", Node::Named(Names::Labels, &TEXT)),
    num("pending_s"),
    num("firing_s"),
    num_or_null("resolved_s"),
    boolean("true_positive"),
]);
pub(super) const INCIDENT: Node = Node::Object(&[
    num("start_s"),
    num_or_null("detected_s"),
    num_or_null("paged_s"),
    num_or_null("acknowledged_s"),
    num_or_null("mitigated_s"),
    num("resolved_s"),
    num("requests"),
    num("failed_requests"),
    num("budget_burned"),
    num("affected_users"),
    num("lost_revenue"),
    key("faults", Node::List(Length::Any, &TEXT)),
    key("deploys", Node::List(Length::Any, &TEXT)),
]);
pub(super) const NOTIFICATION: Node = Node::Object(&[
    num("time_s"),
    text("kind"),
    text_or_null("set"),
    text_or_null("author"),
    text("receiver"),
    text("channel"),
    text("to"),
    text("status"),
    key("alerts", Node::List(Length::Any, &TEXT)),
    text("severity"),
    text("summary"),
    boolean("repeat"),
    text_or_null("runbook_url"),
    text_or_null("dashboard_url"),
    text("delivery"),
    text_or_null("fallback_for"),
]);
pub(super) const ALERTING: &[Field] = &[
    key("monitoring", Node::Object(MONITORING)),
    key("alert_quality", Node::Object(ALERT_QUALITY)),
    key("alerts", Node::List(Length::Any, &ALERT)),
    key("incidents", Node::List(Length::Any, &INCIDENT)),
    num_or_null("mttd_s"),
    num_or_null("mtta_s"),
    num_or_null("mttm_s"),
    num_or_null("mttr_s"),
    key("notifications", Node::List(Length::Any, &NOTIFICATION)),
];
pub(super) const LOG_COUNTS: &[Field] =
    &[num("emitted"), num("shipped"), num("dropped"), num("lost"), num("backlog"), num("in_transit")];
pub(super) const LOGS: &[Field] = &[
    Field { key: None, node: Node::Object(LOG_COUNTS), needs: Needs::Always },
    key("levels", Node::Named(Names::LogLevels, &Node::Object(LOG_COUNTS))),
    num("max_backlog"),
    num("max_ingestion_delay_s"),
    num("kept"),
];
pub(super) const CLIENT_ERROR: Node =
    Node::Object(&[text("fingerprint"), num("count"), num("first_seen_s"), num("last_seen_s")]);
pub(super) const STAGE: Node = Node::Object(&[text("stage"), num("start_s"), num("end_s"), text("result")]);
pub(super) const DEPLOY: Node = Node::Object(&[
    text("version"),
    text("strategy"),
    num("start_s"),
    num_or_null("end_s"),
    text("outcome"),
    text_or_null("reason"),
    boolean("hotfix"),
    text("by"),
    boolean("harmful"),
    num_or_null("lead_time_s"),
    num_or_null("rollout_start_s"),
    num("peak_share"),
    text_or_null("rolled_back_by"),
    text_or_null("author"),
    num_or_null("notified_s"),
    key("stages", Node::List(Length::Any, &STAGE)),
]);
pub(super) const PAGED: Node =
    Node::Object(&[text("responder"), num("time_s"), boolean("missed"), num("recent_pages")]);
pub(super) const PAGE: Node = Node::Object(&[
    num("opened_s"),
    key("alerts", Node::List(Length::Any, &TEXT)),
    key("paged", Node::List(Length::Any, &PAGED)),
    num_or_null("acknowledged_s"),
    text_or_null("acknowledged_by"),
    num_or_null("closed_s"),
]);
pub(super) const ACTION: Node = Node::Object(&[
    text("alert"),
    text("action"),
    text("by"),
    num("start_s"),
    num_or_null("end_s"),
    num("attempts"),
    boolean("succeeded"),
    text_or_null("note"),
]);
pub(super) const DELIVERY: &[Field] = &[
    key("deploys", Node::List(Length::Any, &DEPLOY)),
    key("pages", Node::List(Length::Any, &PAGE)),
    key("actions", Node::List(Length::Any, &ACTION)),
    key("versions", Node::Named(Names::Versions, &NUMBER)),
];
/// The architecture's keys every scenario's summary has, and the blocks its sections add.
pub(super) const SYSTEM: &[Field] = &[
    key("classes", Node::Named(Names::Classes, &CLASS)),
    with(Needs::Regions, "regions", Node::Named(Names::Regions, &CLASS)),
    num("degraded"),
    num("deferred"),
    key("payments", Node::Object(PAYMENTS)),
    key("components", Node::List(Length::Any, &COMPONENT)),
    with(Needs::Database, "database", Node::Object(DATABASE)),
    with(Needs::RetryQueue, "retry_queue", Node::Object(RETRY_QUEUE)),
    num("crashes"),
    num("oom_kills"),
    key("cost", Node::Object(COST)),
    with(Needs::Proxy, "proxy", Node::Object(PROXY)),
    with(Needs::Malicious, "malicious", Node::Object(MALICIOUS)),
    with(Needs::Scaling, "autoscaling", Node::Object(AUTOSCALING)),
    Field { key: None, node: Node::Object(ALERTING), needs: Needs::Monitoring },
    with(Needs::Fallback, "fallback", Node::Object(FALLBACK)),
    with(Needs::Reconciliation, "reconciliation", Node::Object(RECONCILIATION)),
    with(Needs::Backups, "backups", Node::Object(BACKUPS)),
    with(Needs::Logging, "logs", Node::Object(LOGS)),
    with(Needs::Logging, "client_errors", Node::List(Length::Any, &CLIENT_ERROR)),
    Field { key: None, node: Node::Object(DELIVERY), needs: Needs::Delivery },
];
/// `summary.json`.
pub(super) const SUMMARY: Node = Node::Object(&[
    num("summary_version"),
    text("scenario"),
    num("seed"),
    num("simulated_seconds"),
    num("warmup_seconds"),
    num("events"),
    key("requests", Node::Object(REQUESTS)),
    num_or_null("availability"),
    key("latency_ms", Node::Object(LATENCY_MS)),
    key("wait", Node::Object(&[num_or_null("probability"), num_or_null("mean_ms")])),
    key("servers", Node::List(Length::Servers, &SERVER)),
    key("faults", Node::List(Length::Faults, &FAULT)),
    Field { key: None, node: Node::Object(SYSTEM), needs: Needs::Always },
    with(Needs::Never, "expectations", NUMBER),
]);
