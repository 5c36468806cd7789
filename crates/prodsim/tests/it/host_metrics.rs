//! The host metrics and database volume: network bytes per app server
//! (`node_network_*_bytes_total`), the database's volume (`node_filesystem_*_bytes`) filling
//! with writes until a full disk refuses them, slow-query warnings in the logs, and
//! `signups_total`, checked against the run's own counts.

use crate::common;

use assert_cmd::cargo::cargo_bin_cmd;

const SHOP: &str = r#"
[scenario]
name = "shop"
seed = 3
duration = "10m"
[[workload]]
name = "w"
rate = 40
[servers]
count = 2
workers = 16
timeout = "5s"
[[requests]]
name = "browse"
weight = 3
request_bytes = 500
response_bytes = 40000
steps = [{ cpu = "exp(2ms)" }, { call = "db", op = "read", timeout = "1s" }]
[[requests]]
name = "signup"
weight = 1
signup = true
request_bytes = 2000
response_bytes = 4000
steps = [{ cpu = "exp(2ms)" }, { call = "db", op = "write", timeout = "1s" }]
[database]
read_time = "const(3ms)"
write_time = "const(30ms)"
disk_bytes = 10_000_000
data_bytes = 9_000_000
bytes_per_write = 1000
slow_query = "25ms"
[logging]
level = "info"
[monitoring]
scrape_interval = "15s"
"#;

/// The sum over instances of the last sample of every series whose line starts with `head`
/// and carries `labels`.
fn last_sum(om: &str, head: &str, labels: &str) -> f64 {
    let mut by_series = std::collections::BTreeMap::new();
    for line in om.lines().filter(|l| l.starts_with(head) && l.contains(labels)) {
        let (series, rest) = line.split_once(' ').unwrap_or_else(|| panic!("no value in {line}"));
        let v: f64 = rest.split(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        by_series.insert(series.to_string(), v);
    }
    assert!(!by_series.is_empty(), "no series {head} with {labels}");
    by_series.values().sum()
}

fn run_shop(dir: &std::path::Path) -> (serde_json::Value, String) {
    std::fs::write(dir.join("s.toml"), SHOP).expect("write scenario");
    cargo_bin_cmd!("prodsim")
        .current_dir(dir)
        .args(["run", "s.toml", "--no-charts", "--no-html", "-q", "--out", "report", "--metrics", "m.om"])
        .assert()
        .success();
    let summary = std::fs::read_to_string(dir.join("report/summary.json")).expect("summary written");
    let om = std::fs::read_to_string(dir.join("m.om")).expect("metrics written");
    (serde_json::from_str(&summary).expect("summary is JSON"), om)
}

#[test]
fn a_full_disk_refuses_writes_and_the_hosts_count_their_bytes() {
    let dir = common::temp_dir("host-metrics", "shop");
    let (s, om) = run_shop(&dir);
    let db = &s["database"];
    // 1 MB free at 1000 bytes a write: the 1000th write fills the disk, every later one
    // fails, and only writes fail (reads never touch the volume's free space).
    assert_eq!(db["data_bytes"], 10_000_000);
    assert_eq!(db["disk_bytes"], 10_000_000);
    let refused = db["disk_full_writes"].as_u64().expect("disk_full_writes");
    assert!(refused > 1000, "{refused}");
    assert_eq!(s["requests"]["failed"].as_u64(), Some(refused), "every failure is a refused write");
    assert_eq!(s["classes"]["browse"]["availability"], 1.0);
    // Constant 30 ms writes are all slow (> 25 ms), 3 ms reads never; refused writes are
    // not queries that ran, so they are not slow ones.
    let signups_ok = s["classes"]["signup"]["requests"]["completed"].as_u64().expect("completed");
    assert_eq!(signups_ok, 1000);
    assert_eq!(db["slow_queries"].as_u64(), Some(1000));
    // The volume's gauges end full; the signups counter counts the successful ones.
    assert_eq!(last_sum(&om, "node_filesystem_avail_bytes{", "db-0"), 0.0);
    assert_eq!(last_sum(&om, "node_filesystem_size_bytes{", "db-0"), 10_000_000.0);
    assert_eq!(last_sum(&om, "signups_total{", "class=\"signup\""), 1000.0);
    // Bytes in: every answered request's size; out: its response, or 300 for an error.
    let browse = s["classes"]["browse"]["requests"]["completed"].as_u64().expect("browse") as f64;
    let failed = refused as f64;
    let rx = last_sum(&om, "node_network_receive_bytes_total{", "job=\"app\"");
    let tx = last_sum(&om, "node_network_transmit_bytes_total{", "job=\"app\"");
    // The last scrape is at 9m45s: compare with the same instant's request counters.
    let answered = |class: &str, code: &str| {
        last_sum(&om, "http_requests_total{", &format!("class=\"{class}\",code=\"{code}\",instance=\"server-"))
    };
    let (b, s_ok, s_err) = (answered("browse", "200"), answered("signup", "200"), answered("signup", "500"));
    assert!(b > 0.9 * browse && s_err > 0.9 * failed, "{b} {browse} {s_err} {failed}");
    assert_eq!(rx, 500.0 * b + 2000.0 * (s_ok + s_err));
    assert_eq!(tx, 40_000.0 * b + 4000.0 * s_ok + 300.0 * s_err);
}

#[test]
fn a_bad_volume_is_a_located_error() {
    let dir = common::temp_dir("host-metrics", "bad");
    let bad = SHOP.replace("data_bytes = 9_000_000", "data_bytes = 11_000_000");
    std::fs::write(dir.join("s.toml"), bad).expect("write scenario");
    let out = cargo_bin_cmd!("prodsim")
        .current_dir(&dir)
        .args(["run", "s.toml", "-q", "--no-charts", "--no-html"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("database.data_bytes (11000000) is more than database.disk_bytes (10000000)"), "{err}");
    assert!(err.contains("s.toml"), "{err}");
}
