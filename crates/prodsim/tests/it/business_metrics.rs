//! The metrics people expect, scraped and exported: database query latency per instance
//! and op (`db_query_duration_seconds`), and the business's orders and revenue
//! (`orders_total`, `revenue_total`), checked against the run's own counts.

use crate::common;

use assert_cmd::cargo::cargo_bin_cmd;

const SHOP: &str = r#"
[scenario]
name = "shop"
seed = 7
duration = "2m"
[[workload]]
name = "w"
rate = 50
[servers]
count = 2
workers = 16
timeout = "5s"
[[requests]]
name = "browse"
weight = 3
steps = [{ cpu = "exp(2ms)" }, { call = "db", op = "read", timeout = "1s" }]
[[requests]]
name = "checkout"
weight = 1
payment = "payment_api"
revenue = 45.0
steps = [{ call = "payment_api", timeout = "2s" }, { call = "db", op = "write", timeout = "1s" }]
[services.payment_api]
kind = "third_party"
latency = "exp(50ms)"
[database]
replicas = 1
read_time = "const(3ms)"
write_time = "const(20ms)"
[monitoring]
scrape_interval = "15s"
"#;

/// The last sample of the series whose line starts with `head` (name and labels).
fn last(om: &str, head: &str) -> f64 {
    let line = om.lines().rfind(|l| l.starts_with(head)).unwrap_or_else(|| panic!("no series {head}"));
    line.split(' ').nth(1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no value in {line}"))
}

#[test]
fn query_latency_orders_and_revenue_are_scraped() {
    let dir = common::temp_dir("business", "shop");
    std::fs::write(dir.join("s.toml"), SHOP).expect("write scenario");
    cargo_bin_cmd!("prodsim")
        .current_dir(&dir)
        .args(["run", "s.toml", "--no-charts", "-q", "--out", "report", "--metrics", "m.om"])
        .assert()
        .success();
    let om = std::fs::read_to_string(dir.join("m.om")).expect("metrics written");
    assert!(om.contains("# TYPE db_query_duration_seconds histogram\n"));
    // Reads go to the replica (db-1), writes to the primary (db-0); the constant query
    // times are the mean of each (no query waits for one of the 100 connections).
    let reads = last(&om, "db_query_duration_seconds_count{instance=\"db-1\",job=\"db\",op=\"read\"}");
    let read_s = last(&om, "db_query_duration_seconds_sum{instance=\"db-1\",job=\"db\",op=\"read\"}");
    let writes = last(&om, "db_query_duration_seconds_count{instance=\"db-0\",job=\"db\",op=\"write\"}");
    let write_s = last(&om, "db_query_duration_seconds_sum{instance=\"db-0\",job=\"db\",op=\"write\"}");
    assert!(reads > 3000.0 && writes > 1000.0, "{reads} reads, {writes} writes");
    assert!((read_s / reads - 0.003).abs() < 1e-6, "{}", read_s / reads);
    assert!((write_s / writes - 0.020).abs() < 1e-6, "{}", write_s / writes);
    let le = last(&om, "db_query_duration_seconds_bucket{instance=\"db-0\",job=\"db\",le=\"0.025\",op=\"write\"}");
    assert_eq!(le, writes, "every write is under 25 ms");
    let below = last(&om, "db_query_duration_seconds_bucket{instance=\"db-0\",job=\"db\",le=\"0.01\",op=\"write\"}");
    assert_eq!(below, 0.0, "no write is under 10 ms");
    // Every checkout is an order earning 45; browsing earns nothing and has no series.
    let orders = last(&om, "orders_total{class=\"checkout\",instance=\"lb\",job=\"lb\"}");
    let revenue = last(&om, "revenue_total{class=\"checkout\",instance=\"lb\",job=\"lb\"}");
    let answered =
        last(&om, "http_requests_total{class=\"checkout\",code=\"200\",instance=\"lb\",job=\"lb\",service=\"lb\"}");
    assert!(orders > 1000.0, "{orders}");
    assert_eq!(orders, answered, "an order is a checkout answered 200");
    assert_eq!(revenue, 45.0 * orders);
    assert!(!om.contains("orders_total{class=\"browse\"") && !om.contains("revenue_total{class=\"browse\""));
}
