//! The command line as a user meets it: exit codes, report files, and error messages that
//! name the file, line, column and what was expected.

use crate::common;

use crate::common::repo_path;
use assert_cmd::cargo::cargo_bin_cmd;

fn temp_dir(name: &str) -> std::path::PathBuf {
    common::temp_dir("cli", name)
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p
}

const VALID: &str = r#"
[scenario]
name = "tiny"
duration = "10m"

[[workload]]
name = "w"
rate = 5

[servers]
count = 2
workers = 2
service_time = "exp(100ms)"
"#;

#[test]
fn run_prints_a_summary_and_writes_the_report() {
    let dir = temp_dir("run");
    let file = write(&dir, "tiny.toml", VALID);
    let out = dir.join("out");
    let assert = cargo_bin_cmd!("prodsim").arg("run").arg(&file).arg("--out").arg(&out).arg("--seed").arg("7").assert();
    let stdout = String::from_utf8(assert.success().get_output().stdout.clone()).expect("utf-8");
    for needle in ["scenario      tiny", "seed          7", "events", "availability", "latency (ms)", "server-1"] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    for file in ["summary.json", "timeseries.csv", "timeline.png", "timeline.svg", "report.html"] {
        assert!(out.join(file).is_file(), "{file} not written");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("read")).expect("json");
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["scenario"], "tiny");
    assert_eq!(summary["simulated_seconds"], 600.0);
    for key in ["arrived", "completed", "rejected", "timed_out"] {
        assert!(summary["requests"][key].is_u64(), "requests.{key}");
    }
    for key in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(summary["latency_ms"][key].is_f64(), "latency_ms.{key}");
    }
    assert_eq!(summary["servers"].as_array().map(Vec::len), Some(2));
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn duration_override_and_quiet() {
    let dir = temp_dir("quiet");
    let file = write(&dir, "tiny.toml", VALID);
    let out = dir.join("out");
    cargo_bin_cmd!("prodsim")
        .args(["run", "--quiet", "--no-charts", "--duration", "1m", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout("");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("read")).expect("json");
    assert_eq!(summary["simulated_seconds"], 60.0);
    assert!(!out.join("timeline.png").exists());
}

/// Runs `prodsim validate` on `text` and returns (exit code, stderr).
fn validate(name: &str, text: &str) -> (i32, String) {
    let dir = temp_dir(name);
    let file = write(&dir, "s.toml", text);
    let output = cargo_bin_cmd!("prodsim").arg("validate").arg(&file).output().expect("runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Data-driven error cases: (case, file text, expected `line:column`, expected fragments).
#[test]
fn bad_input_gets_file_line_column_and_what_was_expected() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("syntax", "[scenario\nname = 1", "1:10", &["expected"]),
        (
            "unknown-key",
            &VALID.replace("workers = 2", "worker = 2"),
            "12:1",
            &["unknown field `worker`", "did you mean `workers`?"],
        ),
        (
            "unknown-strategy",
            &VALID.replace("[servers]", "[balancer]\nstrategy = \"round_robbin\"\n\n[servers]"),
            "11:12",
            &["round_robin", "least_connections", "power_of_two", "did you mean `round_robin`?"],
        ),
        ("negative-rate", &VALID.replace("rate = 5", "rate = -5"), "8:8", &["rate must be a positive number"]),
        (
            "zero-workers",
            &VALID.replace("workers = 2", "workers = 0"),
            "12:11",
            &["servers.workers must be 1 to 100000, got 0"],
        ),
        (
            "warmup",
            &VALID.replace("duration = \"10m\"", "duration = \"10m\"\nwarmup = \"1h\""),
            "5:10",
            &["warmup (1h) must be shorter than scenario.duration (10m)"],
        ),
        (
            "unknown-distribution",
            &VALID.replace("exp(100ms)", "expo(100ms)"),
            "13:17",
            &["unknown distribution `expo`", "did you mean `exp`?"],
        ),
        ("bad-unit", &VALID.replace("exp(100ms)", "exp(100 msec)"), "13:25", &["unknown unit `msec`"]),
        (
            "negative-seed",
            &VALID.replace("duration", "seed = -1\nduration"),
            "4:8",
            &["expected a whole number ≥ 0, got -1"],
        ),
        (
            "expect-metric",
            &format!("{VALID}\n[[expect]]\nmetric = \"latency_ms.p98\"\nbelow = 800\n"),
            "16:22",
            &["expect.metric: summary.json has no key `latency_ms.p98`", "help: did you mean `latency_ms.p99`?"],
        ),
        (
            "queue-capacity",
            &VALID.replace("workers = 2", "workers = 2\nqueue_capacity = \"lots\""),
            "13:18",
            &["a non-negative integer or \"unbounded\""],
        ),
    ];
    for (name, text, at, fragments) in cases {
        let (code, stderr) = validate(name, text);
        assert_eq!(code, 1, "{name}: exit code\n{stderr}");
        let location = format!("s.toml:{at}: error:");
        assert!(stderr.contains(&location), "{name}: expected {location} in\n{stderr}");
        for f in *fragments {
            assert!(stderr.contains(f), "{name}: expected {f:?} in\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{name}: panicked\n{stderr}");
    }
}

#[test]
fn unstable_model_gets_a_warning_but_validates() {
    let (code, stderr) = validate("unstable", &VALID.replace("rate = 5", "rate = 50"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: offered load is 1.250 of capacity"), "{stderr}");
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files = vec![];
    for dir in ["scenarios", "scenarios/theory"] {
        for entry in std::fs::read_dir(repo_path(dir)).expect("scenarios dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    cargo_bin_cmd!("prodsim").arg("validate").args(&files).assert().success();
}

#[test]
fn missing_file_and_bad_flags_fail_cleanly() {
    cargo_bin_cmd!("prodsim").args(["run", "/nonexistent/x.toml"]).assert().code(1);
    cargo_bin_cmd!("prodsim").args(["run"]).assert().code(2);
    let dir = temp_dir("flags");
    let file = write(&dir, "tiny.toml", VALID);
    let out = cargo_bin_cmd!("prodsim").arg("run").arg(&file).args(["--duration", "ten"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--duration"));
}

#[test]
fn run_limits_end_in_a_clear_error() {
    let dir = temp_dir("limits");
    let text = VALID.replace("rate = 5", "rate = 500") + "\n[limits]\nmax_in_flight = 1000\n";
    let file = write(&dir, "s.toml", &text);
    let out = cargo_bin_cmd!("prodsim").arg("run").arg(&file).arg("--out").arg(dir.join("o")).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("max_in_flight = 1000"), "{stderr}");
    assert!(stderr.contains("reproduce with --seed 1"), "{stderr}");
}

/// `prodsim ... | head`: the reader leaves early; the command stops with the status of a
/// process killed by SIGPIPE, and no panic is printed.
#[test]
fn a_reader_that_leaves_early_gets_no_panic() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_prodsim"))
        .args(["workshop", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Closing the read end before the command writes: its first line meets a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
