//! The catalog on small scenarios: paths it takes, paths it refuses with the reason and the
//! nearest valid path, and the blocks that follow from the scenario's sections.

use super::{Kind, Reason, SummaryPaths};
use crate::load_str;

const SHOP: &str = r#"
[scenario]
name = "shop"
duration = "10m"
[[workload]]
name = "w"
rate = 10
[servers]
count = 3
[[requests]]
name = "browse"
weight = 0.9
steps = [{ cpu = "exp(5ms)" }]
[[requests]]
name = "checkout"
weight = 0.1
steps = [{ cpu = "exp(5ms)" }]
[[faults]]
kind = "crash"
target = "server-0"
at = "1m"
"#;

fn paths(extra: &str) -> SummaryPaths {
    let loaded = load_str(&format!("{SHOP}{extra}"), std::path::Path::new("t.toml"));
    SummaryPaths::of(&loaded.unwrap_or_else(|e| panic!("{e}")).scenario)
}

#[test]
fn paths_of_every_kind_resolve_to_their_leaf() {
    let p = paths("");
    for (path, kind, nullable) in [
        ("availability", Kind::Number, true),
        ("latency_ms.p99", Kind::Number, true),
        ("requests.failed", Kind::Number, false),
        ("classes.checkout.availability", Kind::Number, true),
        ("classes.browse.requests.arrived", Kind::Number, false),
        ("servers.2.utilization", Kind::Number, false),
        ("faults.0.kind", Kind::Text, false),
        ("payments.balanced", Kind::Bool, false),
        ("components.7.errors", Kind::Number, false),
        ("cost.total", Kind::Number, false),
    ] {
        let leaf = p.check(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!((leaf.kind, leaf.nullable), (kind, nullable), "{path}");
    }
}

/// `(path, reason, message part, suggestion)` for paths the shop's summary does not have.
const REFUSED: &[(&str, Reason, &str, Option<&str>)] = &[
    ("availabilty", Reason::UnknownKey, "summary.json has no key `availabilty`", Some("availability")),
    ("latency_ms.p98", Reason::UnknownKey, "no key `latency_ms.p98`", Some("latency_ms.p99")),
    ("latncy_ms.p99", Reason::UnknownKey, "no key `latncy_ms`", Some("latency_ms.p99")),
    ("p99", Reason::UnknownKey, "no key `p99`", Some("latency_ms.p99")),
    ("lost", Reason::UnknownKey, "no key `lost`", Some("payments.lost")),
    (
        "classes.chekout.availability",
        Reason::UnknownName,
        "no request class `chekout` (classes: browse, checkout)",
        Some("classes.checkout.availability"),
    ),
    (
        "servers.3.served",
        Reason::BadIndex,
        "no element 3 in `servers`: this scenario has 3 app servers",
        Some("servers.2.served"),
    ),
    ("faults.first.kind", Reason::BadIndex, "`faults` is a list: index it with a number", Some("faults.0.kind")),
    ("servers.served", Reason::BadIndex, "`servers` is a list", Some("servers.0.served")),
    ("deploys.0.outcome", Reason::Absent, "only with [pipeline], [[deploys]], [oncall] or [[playbooks]]", None),
    ("database.stale_reads", Reason::Absent, "`database` only with a [database]", None),
    ("mttd_s", Reason::Absent, "only with monitoring", None),
    ("availability.x", Reason::BelowLeaf, "`availability` is a value, not an object", None),
    ("latency_ms", Reason::NotALeaf, "name one of its keys (mean, p50, p90, p99, p999, max)", None),
    ("classes", Reason::NotALeaf, "name one of its classes (browse, checkout)", None),
    ("expectations.0.met", Reason::Unreadable, "an expectation cannot check another", None),
];

#[test]
fn unknown_paths_say_why_and_suggest_the_nearest() {
    let p = paths("");
    for &(path, reason, part, suggestion) in REFUSED {
        let e = p.check(path).err().unwrap_or_else(|| panic!("{path} is accepted"));
        assert_eq!(e.reason, reason, "{path}: {e}");
        assert!(e.message.contains(part), "{path}: `{part}` not in: {}", e.message);
        assert_eq!(e.suggestion.as_deref(), suggestion, "{path}");
    }
    let e = p.check("classes.chekout.availability").err().map(|e| e.span);
    assert_eq!(e, Some(8..15), "the span is the wrong segment");
}

#[test]
fn sections_add_their_blocks_and_names() {
    let p = paths(
        "[database]\nread_time = \"exp(1ms)\"\nwrite_time = \"exp(1ms)\"\n[monitoring]\nready_rules = true\n[[alerts]]\nalert = \"Slow\"\nexpr = \"vector(1)\"\nset = \"team\"\n[logging]\n[[deploys]]\nversion = \"v2\"\nat = \"5m\"\n[[deploys]]\nversion = \"v2.1\"\nat = \"6m\"\n",
    );
    for path in [
        "database.stale_reads",
        "mttd_s",
        "incidents.0.budget_burned",
        "alert_quality.recall",
        "alert_quality.rules.HighErrorRate.pages",
        "alert_quality.sets.team.precision",
        "alerts.0.labels.severity",
        "logs.levels.warn.dropped",
        "deploys.0.stages.1.result",
        "versions.v2",
    ] {
        assert!(p.check(path).is_ok(), "{path}: {:?}", p.check(path));
    }
    let e = p.check("alert_quality.rules.Slo.pages").err().map(|e| e.suggestion);
    assert_eq!(e, Some(Some("alert_quality.rules.Slow.pages".to_string())));
    let e = p.check("versions.v2.1").err().map(|e| e.reason);
    assert_eq!(e, Some(Reason::Unreadable), "a version with dots cannot be named in a dotted path");
}

#[test]
fn templates_list_every_leaf_and_which_every_run_writes() {
    let p = paths("");
    let t = p.templates();
    let find = |path: &str| t.iter().find(|t| t.path == path).unwrap_or_else(|| panic!("no {path}"));
    assert!(find("classes.browse.latency_ms.p99").always);
    assert!(!find("servers.<n>.served").always);
    assert!(t.iter().all(|t| p.check(&t.path.replace("<n>", "0")).is_ok() || t.path.contains("<n>")));
    assert!(!t.iter().any(|t| t.path.starts_with("database") || t.path.starts_with("expectations")));
}
