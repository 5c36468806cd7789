//! `prodsim blast-radius`: the database every request needs is the single point of
//! failure and ranks first, every suspect runs on the baseline's traffic, the report does
//! not depend on `--jobs`, the page draws in a real browser, and a kind no component can
//! suffer is a clear error that names the nearest one.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::{Value, json};

use crate::common::{self, repo_path};
use crate::webdriver::driver_or_skip;

/// A small shop (checkout-robust) shortened to 6 minutes: the database serves every
/// request, payments queue when the provider fails, servers restart after a crash.
fn run_blast(dir: &Path, jobs: &str) -> Value {
    let out = cargo_bin_cmd!("prodsim")
        .args(["blast-radius"])
        .arg(repo_path("scenarios/checkout-robust.toml"))
        .args(["--replications", "3", "--duration", "6m", "--jobs", jobs, "--out"])
        .arg(dir)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "blast-radius failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("single points of failure"), "{stdout}");
    let text = std::fs::read_to_string(dir.join("blast-radius.json")).expect("blast-radius.json");
    serde_json::from_str(&text).expect("JSON")
}

fn bytes(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_database_is_the_single_point_of_failure_and_jobs_do_not_matter() {
    let root = common::temp_dir("blast", "spof");
    let (one, two) = (root.join("one"), root.join("two"));
    let b = run_blast(&one, "1");
    let suspects = b["suspects"].as_array().expect("suspects");
    let labels: Vec<&str> = suspects.iter().filter_map(|s| s["suspect"].as_str()).collect();
    for expected in
        ["outage on db", "outage on payment_api", "crash on server-0", "crash on servers", "primary_crash on db"]
    {
        assert!(labels.contains(&expected), "{expected} among {labels:?}");
    }
    assert!(labels.iter().all(|l| !l.ends_with("server-1")), "one server stands for the pool: {labels:?}");
    assert!(labels[..2].contains(&"outage on db"), "losing the database hurts most: {labels:?}");
    let spofs: Vec<&str> =
        b["single_points_of_failure"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    assert!(spofs.contains(&"outage on db"), "{spofs:?}");
    assert!(!spofs.contains(&"outage on payment_api"), "queued payments keep checkout up: {spofs:?}");
    let lost: Vec<f64> =
        suspects.iter().map(|s| s["availability_lost_pp"]["mean"].as_f64().unwrap_or(f64::MIN)).collect();
    assert!(lost.windows(2).all(|w| w[0] >= w[1]), "ranked by availability lost: {lost:?}");
    let db = &suspects[labels.iter().position(|l| *l == "outage on db").expect("db")];
    assert!(db["failed_requests"]["ci_low"].as_f64().is_some_and(|v| v > 1000.0), "{db}");
    assert_eq!(db["failed_per_class"].as_array().map(Vec::len), Some(2), "browse and checkout");
    assert!(db["revenue_lost"]["mean"].as_f64().is_some_and(|v| v > 0.0), "failed checkouts cost revenue: {db}");
    let baseline = b["baseline_availability"]["mean"].as_f64().expect("baseline");
    assert!(baseline > 0.999, "the fault-free baseline is healthy: {baseline}");
    let quiet = cargo_bin_cmd!("prodsim")
        .args(["blast-radius"])
        .arg(repo_path("scenarios/checkout-robust.toml"))
        .args(["--replications", "3", "--duration", "6m", "--jobs", "2", "--quiet", "--out"])
        .arg(&two)
        .output()
        .expect("runs");
    assert!(quiet.status.success() && quiet.stdout.is_empty(), "--quiet prints nothing");
    for f in ["blast-radius.json", "report.html", "blast-radius.svg"] {
        assert_eq!(bytes(one.join(f)), bytes(two.join(f)), "{f} does not depend on --jobs");
    }
    let page = std::fs::read_to_string(one.join("report.html")).expect("report.html");
    for l in &labels {
        assert!(page.contains(&format!("data-suspect=\"{l}\"")), "{l} on the page");
    }
    let Some(d) = driver_or_skip("the_database_is_the_single_point_of_failure_and_jobs_do_not_matter") else {
        return;
    };
    d.window(1300, 1000);
    d.open(&one.join("report.html"));
    let rows = d.js("return document.querySelectorAll('tr.suspect').length;", json!([]));
    assert_eq!(rows, json!(labels.len()), "one row per suspect");
    let spof = d.js("return document.getElementById('spof-list').textContent;", json!([]));
    assert!(spof.as_str().is_some_and(|t| t.contains("outage on db")), "{spof}");
    let errors: Vec<Value> = d.console().into_iter().filter(|m| m["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[test]
fn a_kind_no_component_suffers_is_an_error_with_the_nearest_kind() {
    let out = cargo_bin_cmd!("prodsim")
        .args(["blast-radius"])
        .arg(repo_path("scenarios/checkout-robust.toml"))
        .args(["--kinds", "outgae", "--out"])
        .arg(common::temp_dir("blast", "kinds"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`outgae`") && stderr.contains("did you mean `outage`"), "{stderr}");
    let sharded = cargo_bin_cmd!("prodsim")
        .args(["blast-radius"])
        .arg(repo_path("scenarios/checkout-robust.toml"))
        .args(["--shard", "0/2"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&sharded.stderr).contains("not yet"), "sharding says not yet");
}
