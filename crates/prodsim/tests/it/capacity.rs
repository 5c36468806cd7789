//! `prodsim capacity`: on Erlang's loss system the answer is the smallest pool Erlang B
//! says keeps the blocking under the objective, found in a logarithmic number of
//! configurations, priced per month, and identical whatever `--jobs`; a range in which
//! nothing meets exits with 1 and names the closest; a bad `--slo` points at its column.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

use crate::common;

/// M/M/c/c: 5 Erlangs (λ = 5/s, mean service 1 s) on single-worker servers with no queue,
/// so an arrival that finds every server busy is turned away; $0.10 per server-hour.
const LOSS: &str = r#"
[scenario]
name = "erlang-loss"
seed = 5
duration = "1h"
warmup = "2m"

[[workload]]
name = "clients"
rate = 5

[balancer]
strategy = "least_connections"

[servers]
count = 4
workers = 1
queue_capacity = 0
service_time = "exp(1s)"
price_per_hour = 0.10
"#;

/// Erlang B: the share of arrivals blocked with `c` servers and `a` Erlangs offered.
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

fn scenario_file(dir: &Path) -> PathBuf {
    let path = dir.join("erlang-loss.toml");
    std::fs::write(&path, LOSS).expect("scenario");
    path
}

/// Runs `prodsim capacity` and returns its exit code, stdout and stderr.
fn capacity(file: &Path, out: &Path, args: &[&str]) -> (i32, String, String) {
    let o =
        cargo_bin_cmd!("prodsim").arg("capacity").arg(file).args(args).arg("--out").arg(out).output().expect("runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

fn json(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("capacity.json")).expect("capacity.json");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn the_answer_is_erlang_b_by_bisection_priced_per_month_and_jobs_do_not_matter() {
    let root = common::temp_dir("capacity", "erlang");
    let file = scenario_file(&root);
    // Theory: the smallest pool of 2..40 whose blocking keeps availability at 98.5% or more.
    let expected = (2..=40).find(|&c| 1.0 - erlang_b(c, 5.0) >= 0.985).expect("a pool meets");
    assert_eq!(expected, 11, "B(10, 5) = 1.8%, B(11, 5) = 0.8%");
    let args = ["--slo", "availability>=0.985", "--vary", "servers.count=2..40", "-n", "5"];
    let (one, two) = (root.join("one"), root.join("two"));
    let (code, stdout, stderr) = capacity(&file, &one, &[&args[..], &["--jobs", "1"]].concat());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let answer = format!("cheapest: servers.count={expected}, $792/month; met in 5/5 replications");
    assert!(stdout.contains(&answer), "{stdout}");
    assert!(stdout.contains("at least 5 of 5 replications (confidence 95%) met every objective"), "{stdout}");
    let c = json(&one);
    assert_eq!(c["cheapest"]["values"][0][1], Value::from(expected.to_string()));
    assert_eq!(c["cheapest"]["cost_per_month"].as_f64(), Some(f64::from(expected) * 0.10 * 720.0));
    assert_eq!(c["configurations"], 39);
    let evaluated = c["evaluated"].as_u64().expect("evaluated");
    assert!(evaluated <= 8, "bisection: 2 + ⌈log₂ 38⌉ = 8 of 39, got {evaluated}");
    assert_eq!(c["monotone"], true);
    // Every configuration below the answer that was evaluated fails, every one above meets.
    for e in c["evaluations"].as_array().expect("evaluations") {
        let count: u32 = e["values"][0][1].as_str().and_then(|v| v.parse().ok()).expect("count");
        assert_eq!(e["meets"], count >= expected, "{e}");
    }
    for f in ["capacity.png", "capacity.svg", "capacity-availability.png", "report.html"] {
        assert!(one.join(f).is_file(), "{f}");
    }
    let (code, _, stderr) = capacity(&file, &two, &[&args[..], &["--jobs", "2"]].concat());
    assert_eq!(code, 0, "{stderr}");
    for f in ["capacity.json", "capacity.svg", "report.html"] {
        let read = |d: &Path| std::fs::read(d.join(f)).expect("file");
        assert!(read(&one) == read(&two), "{f} differs between --jobs 1 and 2");
    }
}

#[test]
fn a_range_where_nothing_meets_exits_with_one_and_names_the_closest() {
    let root = common::temp_dir("capacity", "none");
    let file = scenario_file(&root);
    let (code, stdout, stderr) = capacity(
        &file,
        &root.join("out"),
        &["--slo", "availability>=0.985,p99<5s", "--vary", "servers.count=2..6", "-n", "3", "--duration", "20m"],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("no configuration in the range meets the SLO; closest: servers.count=6"), "{stdout}");
    let c = json(&root.join("out"));
    assert_eq!(c["cheapest"], Value::Null);
    assert_eq!(c["closest"]["configuration"], "servers.count=6");
    assert_eq!(c["evaluated"], 2, "the largest and the smallest fail: nothing between can meet");
    // Without prices the varied values rank the configurations, and the output says so.
    let search = ["--slo", "availability>=0.9", "--vary", "servers.count=2..12", "-n", "2", "--duration", "20m"];
    let (code, priced, _) = capacity(&file, &root.join("priced"), &search);
    assert_eq!(code, 0, "{priced}");
    let free = [&search[..], &["--set", "servers.price_per_hour=0"]].concat();
    let (code, unpriced, _) = capacity(&file, &root.join("free"), &free);
    assert_eq!(code, 0, "{unpriced}");
    assert!(unpriced.contains("no prices: ranked by the varied values (smaller is cheaper)"), "{unpriced}");
    let pick = |s: &str| {
        s.lines().find(|l| l.starts_with("cheapest:")).and_then(|l| l.split([',', ';']).next()).map(String::from)
    };
    assert!(pick(&priced).is_some(), "{priced}");
    assert_eq!(pick(&priced), pick(&unpriced), "{priced}\n{unpriced}");
}

#[test]
fn a_dimension_where_more_is_worse_is_reported_not_monotone_and_scanned() {
    let root = common::temp_dir("capacity", "monotone");
    let file = scenario_file(&root);
    // More traffic on ten servers: 2 and 4 Erlangs lose almost nothing, 6 and 8 lose 4% and 12%.
    let args = ["--slo", "availability>=0.985", "--vary", "workload.rate=2,4,6,8", "--set", "servers.count=10"];
    let (code, stdout, stderr) =
        capacity(&file, &root.join("out"), &[&args[..], &["-n", "2", "--duration", "20m"]].concat());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("not monotone: workload.rate=2 met but workload.rate=8 failed; scanned"), "{stdout}");
    let c = json(&root.join("out"));
    assert_eq!((c["monotone"].clone(), c["evaluated"].clone()), (Value::from(false), Value::from(4)));
    let meets: Vec<bool> = c["evaluations"].as_array().expect("list").iter().map(|e| e["meets"] == true).collect();
    assert_eq!(meets, [true, true, false, false]);
    assert_eq!(c["cheapest"]["configuration"], "workload.rate=2", "equal cost: the smaller value");
}

#[test]
fn slo_errors_point_at_the_column_and_suggest_the_metric() {
    let root = common::temp_dir("capacity", "slo");
    let file = scenario_file(&root);
    let vary = ["--vary", "servers.count=2..4"];
    let (code, _, stderr) =
        capacity(&file, &root.join("a"), &[&["--slo", "p99<300ms,availabilty>=0.999"], &vary[..]].concat());
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown metric `availabilty` (did you mean `availability`?)"), "{stderr}");
    assert!(stderr.contains("--slo, column 11: unknown metric"), "{stderr}");
    assert!(stderr.contains("p99<300ms,availabilty>=0.999\n            ^"), "{stderr}");
    let (code, _, stderr) = capacity(&file, &root.join("b"), &[&["--slo", "p99<300"], &vary[..]].concat());
    assert_eq!(code, 1);
    assert!(stderr.contains("needs a unit") && stderr.contains("column 5:"), "{stderr}");
    // 100 lines of 1000 values: 100 × 12 configurations planned × 10 replications.
    let big = ["--slo", "p99<1s", "--vary", "servers.count=1..1000", "--vary", "servers.workers=1..100"];
    let (code, _, stderr) = capacity(&file, &root.join("c"), &big);
    assert_eq!(code, 1);
    assert!(stderr.contains("at most 10000 runs"), "refused before starting: {stderr}");
    assert!(!root.join("c").join("capacity.json").exists());
}
