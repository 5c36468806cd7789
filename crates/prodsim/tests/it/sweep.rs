//! `prodsim sweep`: one CSV row per grid point with confidence intervals, identical whatever
//! `--jobs`, one chart per metric naming every line, and clear errors for bad ranges.

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;

fn temp_dir(name: &str) -> std::path::PathBuf {
    common::temp_dir("sweep", name)
}

/// Four single-worker servers (capacity 100 req/s) with a small queue and a deadline.
const TINY: &str = r#"
[scenario]
name = "tiny-sweep"
duration = "5m"
warmup = "30s"

[[workload]]
name = "w"
rate = 50

[servers]
count = 4
workers = 1
queue_capacity = 5
service_time = "exp(40ms)"
timeout = "1s"
"#;

fn tiny_file(dir: &Path) -> PathBuf {
    let p = dir.join("tiny.toml");
    std::fs::write(&p, TINY).expect("write scenario");
    p
}

fn sweep(file: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("prodsim")
        .arg("sweep")
        .arg(file)
        .args(["--param", "workload.rate=30..90:20", "--strategies", "round_robin,least_connections"])
        .args(["--replications", "3", "--out"])
        .arg(out)
        .args(extra)
        .assert()
}

fn column(header: &str, name: &str) -> usize {
    header.split(',').position(|c| c == name).unwrap_or_else(|| panic!("no column {name} in {header}"))
}

#[test]
fn csv_has_every_point_with_intervals_and_ignores_jobs() {
    let dir = temp_dir("jobs");
    let file = tiny_file(&dir);
    for jobs in ["1", "2"] {
        sweep(&file, &dir.join(jobs), &["--jobs", jobs, "--no-charts", "--quiet"]).success().stdout("");
    }
    let a = std::fs::read(dir.join("1/sweep.csv")).expect("read --jobs 1");
    let b = std::fs::read(dir.join("2/sweep.csv")).expect("read --jobs 2");
    assert!(a == b, "sweep.csv differs between --jobs 1 and --jobs 2");

    let csv = String::from_utf8(a).expect("utf-8");
    let lines: Vec<&str> = csv.lines().collect();
    let header = lines[0];
    assert!(
        header.starts_with("workload.rate,balancer.strategy,n,mean_ms_mean,mean_ms_ci_low,mean_ms_ci_high"),
        "{header}"
    );
    assert_eq!(lines.len(), 1 + 4 * 2, "4 rates × 2 strategies:\n{csv}");
    let rates: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().expect("rate")).collect();
    assert_eq!(rates, ["30", "30", "50", "50", "70", "70", "90", "90"]);
    let (mean, lo, hi) =
        (column(header, "p99_ms_mean"), column(header, "p99_ms_ci_low"), column(header, "p99_ms_ci_high"));
    let mut rr_mean_latency = Vec::new();
    for l in &lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f[column(header, "n")], "3", "{l}");
        let (m, a, b): (f64, f64, f64) =
            (f[mean].parse().expect("mean"), f[lo].parse().expect("lo"), f[hi].parse().expect("hi"));
        assert!(a <= m && m <= b, "interval does not hold its mean: {l}");
        if f[1] == "round_robin" {
            rr_mean_latency.push(f[column(header, "mean_ms_mean")].parse::<f64>().expect("mean latency"));
        }
    }
    // From 30% to 90% load, latency rises.
    assert!(rr_mean_latency[3] > 2.0 * rr_mean_latency[0], "{rr_mean_latency:?}");
}

#[test]
fn one_chart_per_metric_naming_every_line() {
    let dir = temp_dir("charts");
    let file = tiny_file(&dir);
    let out = dir.join("out");
    let assert = sweep(&file, &out, &[]).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for needle in ["p99 (ms)", "workload.rate=30 round_robin", "sweep.csv"] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    for chart in ["mean_latency", "p50", "p99", "p999", "unavailable", "rejected"] {
        let png = std::fs::read(out.join(format!("{chart}.png"))).expect("png");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{chart}.png is not a PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        assert!(decoder.read_info().is_ok(), "{chart}.png does not decode");
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).expect("svg");
        assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{chart}.svg");
        for name in ["round_robin", "least_connections", "workload.rate"] {
            assert!(svg.contains(name), "{chart}.svg does not name {name}");
        }
    }
}

#[test]
fn a_list_parameter_without_numbers_writes_csv_and_says_why_there_is_no_chart() {
    let dir = temp_dir("list");
    let file = tiny_file(&dir);
    let out = dir.join("out");
    let assert = cargo_bin_cmd!("prodsim")
        .arg("sweep")
        .arg(&file)
        .args(["--param", "servers.service_time=exp(40ms),const(40ms)", "--replications", "2", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("no chart"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("sweep.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.lines().nth(2).expect("row").starts_with("const(40ms),"), "{csv}");
}

#[test]
fn bad_ranges_are_clear_errors() {
    let dir = temp_dir("bad");
    let file = tiny_file(&dir);
    let cases: &[(&[&str], i32, &[&str])] = &[
        (&["--param", "workload.rate=10..50:0"], 1, &["STEP must be greater than zero"]),
        (&["--param", "workload.rate=10..50:-5"], 1, &["STEP must be greater than zero"]),
        (&["--param", "workload.rate=50..10:5"], 1, &["END (10) must not be less than START (50)"]),
        (&["--param", "workload.rate=1..100000:1"], 1, &["exceed the limit"]),
        (
            &["--param", "workload.rate=1..100:1", "--param", "servers.count=1..200:1"],
            1,
            &["exceed the limit of 10000"],
        ),
        (&["--param", "workload.rate=10..50"], 1, &["START..END:STEP"]),
        (&["--param", "servers.cont=1..3:1"], 1, &["unknown field `cont`", "did you mean `count`?"]),
        (&["--param", "servers.count=0..2:1"], 1, &["servers.count=0", "must be 1 to 1000, got 0"]),
        (&["--param", "workload.rate=10..20:5", "--param", "workload.rate=1,2"], 1, &["varied twice"]),
        (&[], 2, &["--param"]),
    ];
    for (args, code, needles) in cases {
        let out = cargo_bin_cmd!("prodsim")
            .arg("sweep")
            .arg(&file)
            .args(*args)
            .args(["--quiet", "--no-charts", "--replications", "2", "--out"])
            .arg(dir.join("out"))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}\n{stderr}");
        for n in *needles {
            assert!(stderr.contains(n), "{args:?}: expected {n:?} in\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{args:?} panicked\n{stderr}");
    }
}
