//! No input can take the machine down: every count, size and rate has a documented cap
//! (docs/limits.md), a run whose estimate is over `[limits]` is refused before it starts,
//! and files are read with a bound. Each case reproduces a file that once validated and
//! then aborted, ran for minutes or filled memory.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;

use crate::common;
use prodsim_model::estimate::estimate;

const BASE: &str = r#"
[scenario]
name = "tiny"
duration = "6m"

[[workload]]
name = "w"
rate = 5

[servers]
count = 2
workers = 2
service_time = "exp(100ms)"
"#;

/// A scenario with a call graph, a database and monitoring, for caps in those sections.
const ARCH: &str = r#"
[scenario]
name = "arch"
duration = "6m"

[[workload]]
name = "w"
rate = 5

[servers]
count = 2
workers = 2

[[requests]]
name = "page"
weight = 1.0
steps = [{ cpu = "exp(10ms)" }, { call = "api" }, { call = "db", op = "read" }]

[services.api]
instances = 2
latency = "exp(5ms)"

[database]
replicas = 1
read_time = "exp(2ms)"
write_time = "exp(4ms)"

[monitoring]
scrape_interval = "15s"

[[alerts]]
alert = "Errors"
expr = "sum(rate(http_requests_total{code=\"500\"}[5m])) > 1"
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p
}

/// `prodsim validate` on `text`: exit code and stdout + stderr.
fn validate(case: &str, text: &str) -> (Option<i32>, String) {
    let dir = common::temp_dir("limits", case);
    let file = write(&dir, "s.toml", text);
    validate_file(&file)
}

fn validate_file(file: &Path) -> (Option<i32>, String) {
    let out = cargo_bin_cmd!("prodsim").arg("validate").arg(file).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} not in the base scenario");
    text.replacen(from, to, 1)
}

#[test]
fn base_scenarios_validate() {
    for (case, text) in [("base", BASE), ("arch", ARCH)] {
        let (code, out) = validate(case, text);
        assert_eq!(code, Some(0), "{out}");
    }
}

#[test]
fn counts_that_would_exhaust_memory_are_refused_at_their_line() {
    let cases = [
        ("servers", replaced(BASE, "count = 2", "count = 4000000000"), "servers.count must be 1 to 1000"),
        ("workers", replaced(BASE, "workers = 2", "workers = 4000000000"), "servers.workers must be 1 to 100000"),
        (
            "instances",
            replaced(ARCH, "instances = 2", "instances = 4000000000"),
            "services.api.instances must be 1 to 1000",
        ),
        ("replicas", replaced(ARCH, "replicas = 1", "replicas = 4000000000"), "database.replicas must be 0 to 100"),
        ("proxy", format!("{BASE}\n[proxy]\ninstances = 4000000000\n"), "proxy.instances must be 1 to 1000"),
        (
            "slo-resolution",
            format!("{ARCH}\n[slo]\nobjective = 0.999\nresolution = \"1ns\"\n"),
            "slo.resolution must be at least 1s",
        ),
        (
            "retry-queue",
            format!("{ARCH}\n[retry_queue]\ncapacity = 4294967295\n"),
            "retry_queue.capacity must be 1 to 10000000",
        ),
    ];
    for (case, text, expected) in cases {
        let (code, out) = validate(case, &text);
        assert_eq!(code, Some(1), "{case}: {out}");
        assert!(out.contains(expected), "{case}: {out}");
        assert!(out.contains("s.toml:"), "{case} names the file and line: {out}");
    }
}

#[test]
fn rates_the_clock_cannot_resolve_are_refused() {
    let (code, out) = validate("rate", &replaced(BASE, "rate = 5", "rate = 1e12"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("up to 1e8, got 1000000000000"), "{out}");
    let staged = replaced(BASE, "rate = 5", "rate = 5\nstages = [{ at = \"1m\", rate = 1e12 }]");
    let (code, out) = validate("stage", &staged);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("a stage rate must be"), "{out}");
}

#[test]
fn a_run_over_its_event_budget_is_refused_before_it_starts() {
    // Under the rate cap, but 30 days at 1e7 requests a second is 2.6e13 arrivals.
    let text = replaced(&replaced(BASE, "rate = 5", "rate = 1e7"), "duration = \"6m\"", "duration = \"30d\"");
    let (code, out) = validate("budget", &text);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("needs at least 2.592e13 events"), "{out}");
    assert!(out.contains("limits.max_events = 2000000000"), "{out}");
    // `run` refuses it too, before simulating anything (no report folder is made).
    let dir = common::temp_dir("limits", "budget-run");
    let file = write(&dir, "s.toml", &text);
    let out = cargo_bin_cmd!("prodsim").arg("run").arg(&file).arg("--out").arg(dir.join("o")).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("limits.max_events"), "{stderr}");
    assert!(!dir.join("o").join("summary.json").exists());
    // Raising the limit is the documented way through (validate only: not run here).
    let raised = format!("{text}\n[limits]\nmax_events = 100000000000000\n");
    let (code, out) = validate("budget-raised", &raised);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_run_over_its_memory_budget_is_refused() {
    let text = replaced(ARCH, "duration = \"6m\"", "duration = \"30d\"")
        .replace("scrape_interval = \"15s\"", "scrape_interval = \"1s\"\nretention = \"30d\"")
        + "\n[limits]\nmax_memory_mb = 64\n";
    let (code, out) = validate("memory", &text);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("more than limits.max_memory_mb = 64"), "{out}");
}

#[test]
fn label_counts_and_sizes_are_capped() {
    let many: String = (0..50_000).map(|i| format!("l{i} = \"v\"\n")).collect();
    let text = format!("{ARCH}[alerts.labels]\n{many}");
    let (code, out) = validate("labels", &text);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("alert `Errors` has 50000 labels; at most 64"), "{out}");
    let long = format!("{ARCH}[alerts.annotations]\nsummary = \"{}\"\n", "x".repeat(20_000));
    let (code, out) = validate("annotation", &long);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("annotations `summary` is 20000 bytes long"), "{out}");
}

#[test]
fn promql_ranges_longer_than_prometheus_accepts_are_refused() {
    let text = ARCH.replace("[5m]", "[100000000d]");
    let (code, out) = validate("range", &text);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("range 100000000d is out of range"), "{out}");
}

#[test]
fn files_are_read_with_a_bound_and_their_encoding_is_named() {
    let (code, out) = validate_file(Path::new("/dev/zero"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("/dev/zero is larger than 16 MiB"), "{out}");
    let dir = common::temp_dir("limits", "utf16");
    let utf16: Vec<u8> = BASE.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let file = dir.join("s.toml");
    std::fs::write(&file, utf16).expect("write");
    let (code, out) = validate_file(&file);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is not UTF-8 text: it is UTF-16 (little endian); save it as UTF-8"), "{out}");
}

#[test]
fn the_event_estimate_holds_on_shipped_scenarios() {
    // Quick scenarios of each kind: a single pool, a call graph with timeouts, a bounded
    // queue that rejects, an attack filtered at the proxy.
    for rel in ["scenarios/quickstart.toml", "scenarios/checkout-fragile.toml", "scenarios/theory/mmck.toml"] {
        let s = common::scenario(rel);
        let e = estimate(&s);
        let o = common::run_own_seed(&s);
        let events = o.events as f64;
        assert!(e.events_floor <= events, "{rel}: floor {} above the {events} events counted", e.events_floor);
        let ratio = events / e.events;
        assert!((0.75..=1.25).contains(&ratio), "{rel}: estimate {} vs {events} counted", e.events);
    }
}

#[test]
fn draws_of_centuries_do_not_overflow_the_run() {
    // Found by the fuzzer (tests/it/fuzz.rs): a mean of 136 years overflowed the CPU
    // counters that sum the draws.
    let text = replaced(ARCH, "{ cpu = \"exp(10ms)\" }", "{ cpu = \"exp(8m4294967296s)\" }");
    let text = replaced(&text, "workers = 2", "workers = 64");
    let s = common::from_text(&text);
    let o = common::run_own_seed(&s);
    assert!(o.requests.arrived > 0);
}
