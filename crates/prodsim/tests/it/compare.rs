//! `prodsim compare`: the known ordering of dispatch policies holds with significance,
//! variants share their traffic, output does not depend on `--jobs`, the charts are valid
//! PNG and SVG files naming every variant, and bad input is a clear error.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::repo_path;
use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_lab::overrides::Assignment;
use prodsim_lab::{self as experiment, Dimension, Metric, compare, stats};
use prodsim_parts::Strategy;

fn temp_dir(name: &str) -> std::path::PathBuf {
    common::temp_dir("compare", name)
}

/// Four single-worker servers at 80% load with a small queue and a deadline, so every
/// metric (rejections and timeouts included) has something to show.
const TINY: &str = r#"
[scenario]
name = "tiny-compare"
duration = "5m"
warmup = "30s"
report_interval = "10s"

[[workload]]
name = "w"
rate = 80

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

/// On ten single-worker servers at 90% load with exponential service
/// (`scenarios/theory/dispatch10.toml`), mean latency orders least connections < power of
/// two < round robin < random, and each adjacent difference is significant in a paired
/// t-test over replications that share seeds.
#[test]
fn dispatch_policies_order_with_significance() {
    let path = repo_path("scenarios/theory/dispatch10.toml");
    let text = std::fs::read_to_string(&path).expect("read dispatch10");
    let order = [Strategy::LeastConnections, Strategy::PowerOfTwo, Strategy::RoundRobin, Strategy::Random];
    let dims = [Dimension::strategies(&order)];
    let base = [Assignment::set("scenario.duration", toml::Value::String("4h".into()))];
    let replications = 8;
    let variants = experiment::variants(&text, &path, &base, &dims, replications).expect("valid variants");
    let opts = compare::Options { replications, base_seed: 1, jobs: 2 };
    let c = compare::run(&variants, opts, &experiment::Measures::BUILTIN, &|| {}).expect("runs");

    let means: Vec<Vec<f64>> = c.variants.iter().map(|v| v.metric_values(Metric::MeanMs)).collect();
    let mut table = String::from("strategy            mean latency (ms)  95% CI\n");
    for (v, m) in c.variants.iter().zip(&means) {
        let e = stats::estimate(m);
        table += &format!("{:<18}  {:>17.0}  [{:.0}, {:.0}]\n", v.label, e.mean, e.ci_low, e.ci_high);
    }
    println!("{table}");
    for pair in 0..order.len() - 1 {
        let t = stats::paired(&means[pair + 1], &means[pair]);
        println!(
            "{} - {}: {:+.0} ms [{:.0}, {:.0}], p = {:.2e}",
            order[pair + 1],
            order[pair],
            t.mean_diff,
            t.ci_low,
            t.ci_high,
            t.p_value
        );
        assert!(
            t.mean_diff > 0.0 && t.significant(),
            "{} should beat {}: {t:?}\n{table}",
            order[pair],
            order[pair + 1]
        );
    }
    // The best is least connections, and the table marks the others as significantly worse.
    let mean = c.metrics.iter().find(|m| m.metric == Metric::MeanMs).expect("mean summarised");
    assert_eq!(mean.best, Some(0));
    assert!(mean.vs_best.iter().skip(1).all(|t| t.is_some_and(|t| t.significant())));
}

/// Common random numbers: with the same seed, every strategy sees the same requests.
#[test]
fn every_strategy_sees_the_same_traffic() {
    let path = repo_path("scenarios/compare-balancers.toml");
    let text = std::fs::read_to_string(&path).expect("read scenario");
    let dims = [Dimension::strategies(&Strategy::ALL)];
    let base = [Assignment::set("scenario.duration", toml::Value::String("4m".into()))];
    let variants = experiment::variants(&text, &path, &base, &dims, 2).expect("valid variants");
    for r in 0..2 {
        let seed = experiment::replication_seed(11, r);
        let arrived: Vec<u64> = variants
            .iter()
            .map(|v| prodsim_model::simulate(&v.scenario, seed).expect("runs").requests.arrived)
            .collect();
        assert!(arrived.iter().all(|a| *a == arrived[0]), "seed {seed}: {arrived:?}");
    }
}

fn compare_cmd(file: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("prodsim")
        .arg("compare")
        .arg(file)
        .args(["--strategies", "round_robin,least_connections,power_of_two", "--replications", "4", "--out"])
        .arg(out)
        .args(extra)
        .assert()
}

#[test]
fn output_is_identical_whatever_the_number_of_jobs() {
    let dir = temp_dir("jobs");
    let file = tiny_file(&dir);
    for jobs in ["1", "2"] {
        compare_cmd(&file, &dir.join(jobs), &["--jobs", jobs, "--no-charts", "--quiet"]).success().stdout("");
    }
    for f in ["compare.csv", "compare.json", "report.html"] {
        let a = std::fs::read(dir.join("1").join(f)).expect("read --jobs 1");
        let b = std::fs::read(dir.join("2").join(f)).expect("read --jobs 2");
        assert!(a == b, "{f} differs between --jobs 1 and --jobs 2");
    }
    let csv = std::fs::read_to_string(dir.join("1/compare.csv")).expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "variant,metric,mean,ci_low,ci_high,n,best,diff_vs_best,diff_ci_low,diff_ci_high,p_value,significant_vs_best"
        )
    );
    assert_eq!(lines.count(), 3 * Metric::ALL.len(), "one row per variant and metric");
    for m in Metric::ALL {
        let best = csv.lines().filter(|l| l.contains(&format!(",{},", m.key())) && l.contains(",true,")).count();
        assert!(best >= 1, "{m:?} has no best in\n{csv}");
    }
}

/// Checks a PNG's signature and header; returns (width, height).
fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let reader = decoder.read_info().unwrap_or_else(|e| panic!("{} is not a valid PNG: {e}", path.display()));
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn charts_are_valid_png_and_svg_naming_every_variant() {
    let dir = temp_dir("charts");
    let file = tiny_file(&dir);
    let out = dir.join("out");
    let assert = compare_cmd(&file, &out, &[]).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for needle in ["p99 latency (ms)", "least_connections", "95% CI", "vs best", "compare.csv"] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    for chart in ["latency_cdf", "p99_over_time", "server_load", "metrics", "availability"] {
        let (w, h) = png_size(&out.join(format!("{chart}.png")));
        assert!(w >= 1000 && h >= 700, "{chart}.png is {w}x{h}");
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).expect("svg");
        assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{chart}.svg");
        for name in ["round_robin", "least_connections", "power_of_two"] {
            assert!(svg.contains(name), "{chart}.svg does not name {name}");
        }
    }
    let svg = std::fs::read_to_string(out.join("metrics.svg")).expect("svg");
    for label in ["p50", "p99", "latency (ms)"] {
        assert!(svg.contains(label), "metrics.svg lacks {label:?}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("compare.json")).expect("json")).expect("valid json");
    assert_eq!(json["variants"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["variants"][0]["metrics"]["p99_ms"]["replications"].as_array().map(Vec::len), Some(4));
}

#[test]
fn vary_compares_any_key() {
    let dir = temp_dir("vary");
    let file = tiny_file(&dir);
    let out = dir.join("out");
    cargo_bin_cmd!("prodsim")
        .arg("compare")
        .arg(&file)
        .args(["--vary", "servers.count=4,6", "--replications", "3", "--no-charts", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(out.join("compare.csv")).expect("csv");
    let p99: Vec<&str> = csv.lines().filter(|l| l.contains(",p99_ms,")).collect();
    assert_eq!(p99.len(), 2, "{csv}");
    assert!(p99[0].starts_with("servers.count=4,") && p99[1].starts_with("servers.count=6,"), "{csv}");
    // Six servers carry the same traffic with a lower p99.
    assert!(p99[1].contains(",true,"), "six servers should be best: {csv}");
}

/// Bad input: exit status 1 (or 2 for clap), a message naming the problem, never a panic.
#[test]
fn bad_input_is_a_clear_error() {
    let dir = temp_dir("bad");
    let file = tiny_file(&dir);
    let cases: &[(&[&str], i32, &[&str])] = &[
        (&["--vary", "servers.cout=4,6"], 1, &["servers.cout=4", "unknown field `cout`", "did you mean `count`?"]),
        (&["--vary", "servers.count=0,4"], 1, &["servers.count=0", "must be 1 to 1000, got 0"]),
        (&["--vary", "balancer.strategy=fastest,random"], 1, &["fastest", "round_robin", "least_connections"]),
        (&["--vary", "servers.count="], 1, &["no empty value"]),
        (&["--vary", "servers.count"], 1, &["KEY=VALUE"]),
        (
            &["--strategies", "round_robin,least_conections"],
            1,
            &["unknown strategy", "did you mean `least_connections`?"],
        ),
        (&["--strategies", "random,random"], 1, &["listed twice"]),
        (&["--strategies", "random"], 1, &["nothing to compare"]),
        (&["--strategies", "random,round_robin", "--replications", "6000"], 1, &["limit", "10000"]),
        (&["--replications", "1"], 2, &["--replications"]),
        (&["--jobs", "0"], 2, &["--jobs"]),
        (&["--set", "servers.workers=0"], 1, &["servers.workers=0", "must be 1 to 100000, got 0"]),
        (&["--duration", "ten"], 1, &["scenario.duration"]),
    ];
    let many = format!("servers.count={}", (1..=65).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let more: &[(&[&str], i32, &[&str])] = &[
        (&["--vary", &many, "--replications", "2"], 1, &["compare takes 1 to 64 variants", "sweep"]),
        (
            &["--strategies", "random,round_robin", "--vary", "balancer.strategy=random,round_robin"],
            1,
            &["varied twice"],
        ),
    ];
    for (args, code, needles) in cases.iter().chain(more) {
        let out = cargo_bin_cmd!("prodsim")
            .arg("compare")
            .arg(&file)
            .args(*args)
            .args(["--quiet", "--no-charts", "--out"])
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

/// `scenarios/compare-balancers.toml` shows what its comments say: while server-0 is slow,
/// least connections and power of two keep p99 and availability far better than round
/// robin, and the p99-over-time chart shades the slowdown.
#[test]
fn the_shipped_comparison_shows_its_point() {
    let dir = temp_dir("shipped");
    let out = dir.join("out");
    cargo_bin_cmd!("prodsim")
        .arg("compare")
        .arg(repo_path("scenarios/compare-balancers.toml"))
        .args(["--strategies", "round_robin,least_connections,power_of_two", "--duration", "10m"])
        .args(["--replications", "3", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("compare.json")).expect("json")).expect("valid json");
    let metric = |v: usize, key: &str| json["variants"][v]["metrics"][key].clone();
    let mean = |v: usize, key: &str| metric(v, key)["estimate"]["mean"].as_f64().expect("a number");
    // Round robin is not the best, and differs significantly from the best.
    assert_eq!(metric(0, "p99_ms")["vs_best"]["significant"], true, "{json}");
    for good in [1, 2] {
        assert!(mean(good, "p99_ms") < 0.5 * mean(0, "p99_ms"), "{json}");
        assert!(mean(good, "availability") > mean(0, "availability") + 0.01, "{json}");
    }
    let svg = std::fs::read_to_string(out.join("p99_over_time.svg")).expect("svg");
    assert!(svg.contains("slowdown server-0") && svg.contains("fault window"), "the slowdown is not shaded");
}

#[test]
fn a_run_that_hits_a_limit_names_the_variant_and_the_seed_once() {
    let dir = temp_dir("limit");
    let file = dir.join("over.toml");
    let text = TINY.replace("rate = 80", "rate = 500").replace("queue_capacity = 5\n", "")
        + "\n[limits]\nmax_in_flight = 100\n";
    std::fs::write(&file, text).expect("write");
    let out = cargo_bin_cmd!("prodsim")
        .arg("compare")
        .arg(&file)
        .args(["--strategies", "random,round_robin", "--replications", "2", "--quiet", "--out"])
        .arg(dir.join("out"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("run of variant random with seed"), "{stderr}");
    assert!(stderr.contains("reproduce with --seed"), "{stderr}");
    assert_eq!(stderr.matches("max_in_flight = 100").count(), 1, "{stderr}");
}
