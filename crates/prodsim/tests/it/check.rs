//! `prodsim check`: random fault schedules, invariants, shrinking and reproduction, on the
//! shipped fragile/robust pair of scenarios.

use crate::common;

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_lab::chaos::checkers::Invariant;
use prodsim_lab::chaos::{Mode, counterexample};
use prodsim_lab::check::{self, CheckOptions, CheckReport};
use prodsim_scenario::load_str;

const FRAGILE: &str = "scenarios/checkout-fragile.toml";
const ROBUST: &str = "scenarios/checkout-robust.toml";

/// The fault kinds the robust shop claims to survive: every kind but `crash` and
/// `memory_leak` (an OOM kill is a crash; see the scenario's comment).
const SURVIVABLE: &str = "slowdown,added_latency,error_rate,timeouts,slow_queries,replication_lag,traffic_spike,outage,connection_leak,partition,primary_crash";

fn options(seed: u64, cases: u32, jobs: usize) -> CheckOptions {
    let mut o = CheckOptions::new(seed);
    o.cases = cases;
    o.jobs = jobs;
    o
}

fn run(rel: &str, o: &CheckOptions) -> CheckReport {
    let scenario = common::scenario(rel);
    match check::check(&scenario, o, &|_| {}) {
        Ok(r) => r,
        Err(e) => panic!("check of {rel} could not run: {e}"),
    }
}

#[test]
fn the_fragile_shop_is_caught_and_its_counterexample_shrinks_and_reproduces() {
    let report = run(FRAGILE, &options(7, 64, 2));
    let cx = report.counterexample.as_ref().expect("the fragile shop breaks an invariant");
    let broken: Vec<Invariant> = cx.shrunk.violations.iter().map(|v| v.invariant).collect();
    assert!(
        broken.iter().any(|i| matches!(i, Invariant::Ledger | Invariant::Recovery | Invariant::Engine)),
        "payments lost or no recovery: {:?}",
        cx.shrunk.violations
    );
    assert!(cx.shrunk.schedule.faults.len() <= 2, "shrunk to at most two faults: {:?}", cx.shrunk.schedule.lines());
    assert!(cx.shrunk.schedule.faults.len() <= cx.found.faults.len());
    assert!(cx.reproduced, "the shrunk case reproduces identically");

    // The written scenario reproduces it from its seed: same faults, same violations.
    let path = common::repo_path(FRAGILE);
    let source = std::fs::read_to_string(&path).expect("reads");
    let text = counterexample::scenario_text(&source, &path, cx.seed, &cx.shrunk.schedule, "# test\n")
        .expect("a faithful counterexample file");
    let loaded = load_str(&text, Path::new("counterexample.toml")).expect("the counterexample loads").scenario;
    assert_eq!(loaded.seed, cx.seed);
    assert_eq!(loaded.faults, cx.shrunk.schedule.faults);
    let again = check::replay(&loaded, &options(0, 1, 1), loaded.seed);
    assert_eq!(again.violations, cx.shrunk.violations, "the replay breaks the same invariants, in the same numbers");
    assert_eq!(again.log, cx.shrunk.log, "the replay processes the same events");
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let one = run(FRAGILE, &options(11, 24, 1));
    let two = run(FRAGILE, &options(11, 24, 2));
    assert_eq!(one.cases_run, two.cases_run);
    assert_eq!(one.checks, two.checks);
    assert_eq!(one.events, two.events);
    let (a, b) = (one.counterexample.expect("fails"), two.counterexample.expect("fails"));
    assert_eq!((a.case, a.seed), (b.case, b.seed));
    assert_eq!(a.shrunk.schedule, b.shrunk.schedule);
    assert_eq!(a.shrunk.violations, b.shrunk.violations);
}

#[test]
fn the_robust_shop_passes_500_cases_in_recovery_mode() {
    let mut o = options(2026, 500, 2);
    o.kinds = SURVIVABLE.split(',').map(str::to_string).collect();
    let report = run(ROBUST, &o);
    if let Some(cx) = &report.counterexample {
        panic!(
            "case {} (seed {}) broke {:?} with {:?}",
            cx.case,
            cx.seed,
            cx.shrunk.violations,
            cx.shrunk.schedule.lines()
        );
    }
    assert_eq!(report.cases_run, 500);
    let checked = |inv| report.checks.iter().find(|c| c.invariant == inv).map_or(0, |c| c.checked);
    for inv in [Invariant::Conservation, Invariant::Ledger, Invariant::Recovery, Invariant::Engine] {
        assert_eq!(checked(inv), 500, "{inv} checked on every case");
    }
    assert_eq!(checked(Invariant::Determinism), 500 / u64::from(check::DETERMINISM_EVERY) + 1);
}

#[test]
fn safety_mode_checks_no_liveness() {
    let mut o = options(3, 8, 2);
    o.mode = Mode::Safety;
    o.kinds = vec!["timeouts".to_string(), "error_rate".to_string()];
    let report = run(ROBUST, &o);
    let recovery = report.checks.iter().find(|c| c.invariant == Invariant::Recovery).map_or(0, |c| c.checked);
    assert_eq!(recovery, 0, "faults never stop: recovery is not checked");
    assert!(report.counterexample.is_none(), "{:?}", report.counterexample.map(|c| c.shrunk.violations));
}

#[test]
fn bad_options_get_clear_errors() {
    let scenario = common::scenario(ROBUST);
    let mut o = options(1, 4, 1);
    o.kinds = vec!["timeout".to_string()];
    let e = check::check(&scenario, &o, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("unknown fault kind `timeout`") && e.contains("did you mean `timeouts`?"), "{e}");
    o.kinds = vec!["region_outage".to_string()];
    let e = check::check(&scenario, &o, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("no component of scenario checkout-robust can suffer a `region_outage` fault"), "{e}");
    let mut o = options(1, 4, 1);
    o.recovery_bound_ns = 11 * 60 * 1_000_000_000;
    let e = check::check(&scenario, &o, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("too short for recovery mode") && e.contains("--recovery-bound"), "{e}");
}

#[test]
fn the_cli_writes_a_counterexample_and_prints_the_command_that_reproduces_it() {
    let dir = common::temp_dir("check", "cli");
    let assert = cargo_bin_cmd!("prodsim")
        .args(["check", FRAGILE, "--cases", "32", "--seed", "7", "--jobs", "2", "--out"])
        .arg(&dir)
        .current_dir(common::repo_path(""))
        .assert();
    let out = assert.failure().code(1).get_output().clone();
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert!(stdout.contains("FAILED"), "{stdout}");
    let written = dir.join("counterexample.toml");
    assert!(written.exists(), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("reproduce")).expect("a reproduce line");
    let command = line.trim_start_matches("reproduce").trim();
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..2], ["prodsim", "check"], "{command}");
    assert!(words.contains(&"--replay") && words.contains(&"--seed"), "{command}");
    let replay = cargo_bin_cmd!("prodsim").args(&words[1..]).current_dir(common::repo_path("")).assert();
    let replayed = String::from_utf8(replay.failure().code(1).get_output().stdout.clone()).expect("utf-8");
    let violations: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("violations"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert!(!violations.is_empty(), "{stdout}");
    for v in violations {
        assert!(replayed.contains(v.trim()), "replay shows {v:?}:\n{replayed}");
    }
}

#[test]
fn run_checks_determinism_on_request() {
    let assert = cargo_bin_cmd!("prodsim")
        .args(["run", ROBUST, "--no-charts", "--check-determinism", "--duration", "3m", "--out"])
        .arg(common::temp_dir("check", "determinism"))
        .current_dir(common::repo_path(""))
        .assert();
    let stdout = String::from_utf8(assert.success().get_output().stdout.clone()).expect("utf-8");
    assert!(stdout.contains("determinism   2 runs") && stdout.contains(": identical"), "{stdout}");
}
