//! `[[expect]]` end to end: metric bounds on summary.json keys (met, not met, a list element
//! the run did not write), alert timings around a fault (met, too tight, never fires), the
//! exit status and `expectations[]` of `prodsim run`, and the loader's errors. Paths the
//! summary can never have are refused at load time (`expect_paths.rs`).

use crate::common;

use crate::common::{from_text, load_errors, repo_path, run_own_seed};
use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_report::expect::{ExpectationResult, evaluate};
use prodsim_scenario::{Diagnostic, ScenarioError, Severity};

/// One app tier calling one service that fails every call from 5m to 12m; `extra` is
/// appended (the expectations).
fn outage(extra: &str) -> String {
    format!(
        r#"
[scenario]
name = "expect-outage"
seed = 3
duration = "25m"
report_interval = "1m"

[[workload]]
name = "users"
rate = 50

[servers]
count = 2
workers = 16

[[requests]]
name = "api"
weight = 1
steps = [{{ cpu = "exp(2ms)" }}, {{ call = "backend", timeout = "1s" }}]

[services.backend]
instances = 2
workers = 16
latency = "exp(5ms)"

[[faults]]
kind = "error_rate"
target = "backend"
at = "5m"
duration = "7m"
rate = 1.0

[monitoring]
ready_rules = true
{extra}
"#
    )
}

/// The verdicts of `expectations` (TOML) on `run`, a run of the payment outage.
fn on_payment_outage(run: &prodsim_model::Outcome, expectations: &str) -> Vec<ExpectationResult> {
    let text = std::fs::read_to_string(repo_path("scenarios/payment-outage.toml")).expect("reads");
    let s = from_text(&format!("{text}\n{expectations}"));
    // Only the ones added here, after the scenario's own.
    let own = common::scenario("scenarios/payment-outage.toml").expectations.len();
    evaluate(&s.expectations[own..], run)
}

#[test]
fn expectations_on_the_payment_outage() {
    // One run (an outcome is not `Sync`, so it cannot be shared between tests).
    let scenario = common::scenario("scenarios/payment-outage.toml");
    let run = run_own_seed(&scenario);
    // The scenario's own story holds.
    let own = evaluate(&scenario.expectations, &run);
    assert!(!own.is_empty() && own.iter().all(|r| r.met), "{own:?}");
    metric_expectations_are_met_missed_or_missing(&run);
    alert_expectations_time_the_first_firing_after_the_fault(&run);
}

fn metric_expectations_are_met_missed_or_missing(run: &prodsim_model::Outcome) {
    let r = on_payment_outage(
        run,
        r#"
[[expect]]
metric = "requests.arrived"
above = 0

[[expect]]
metric = "availability"
at_least = 1.0

[[expect]]
metric = "incidents.9.budget_burned"
below = 1

[[expect]]
name = "first fault is timeouts"
metric = "faults.0.kind"
equals = "timeouts"
"#,
    );
    assert_eq!(r[0].name, "requests.arrived > 0");
    assert!(r[0].met, "{r:?}");
    assert_eq!(r[1].name, "availability ≥ 1");
    assert!(!r[1].met, "{r:?}");
    assert!(r[1].actual.starts_with("0."), "{r:?}");
    assert!(!r[2].met);
    assert!(r[2].actual.starts_with("no element 9 in `incidents` (it has "), "{r:?}");
    assert_eq!(r[3].name, "first fault is timeouts");
    assert!(r[3].met, "{r:?}");
}

fn alert_expectations_time_the_first_firing_after_the_fault(run: &prodsim_model::Outcome) {
    let r = on_payment_outage(
        run,
        r#"
[[expect]]
alert = "PaymentServiceDown"
fires_within = "10m"

[[expect]]
alert = "PaymentServiceDown"
fires_within = "1m"

[[expect]]
alert = "DbPoolExhausted"
never_fires = true

[[expect]]
alert = "PaymentServiceDown"
never_fires = true
"#,
    );
    assert_eq!(r[0].name, "PaymentServiceDown fires within 10m of timeouts on payment_api");
    assert!(r[0].met, "{r:?}");
    assert!(r[0].actual.starts_with("fired ") && r[0].actual.ends_with(" after the fault's start"), "{r:?}");
    assert!(!r[1].met, "{r:?}");
    assert_eq!(r[1].actual, r[0].actual);
    assert!(r[2].met, "{r:?}");
    assert_eq!(r[2].actual, "never fired");
    assert!(!r[3].met, "{r:?}");
    assert!(r[3].actual.starts_with("fired at "), "{r:?}");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    common::temp_dir("expectations", name)
}

#[test]
fn run_exits_1_when_an_expectation_fails_and_still_writes_the_report() {
    let dir = temp_dir("failing");
    let file = dir.join("s.toml");
    let expect = "[[expect]]\nmetric = \"availability\"\nat_least = 0.9999\n\n[[expect]]\nmetric = \"requests.arrived\"\nabove = 0\n";
    std::fs::write(&file, outage(expect)).expect("write");
    let out = dir.join("out");
    let assert = cargo_bin_cmd!("prodsim").arg("run").arg(&file).arg("--out").arg(&out).arg("--no-charts").assert();
    let output = assert.code(1).get_output().clone();
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.contains("NOT MET  availability ≥ 0.9999"), "{stdout}");
    assert!(stdout.contains("1 of 2 met"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary")).expect("json");
    let e = json["expectations"].as_array().expect("expectations[]");
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["name"], "availability ≥ 0.9999");
    assert_eq!(e[0]["met"], false);
    assert_eq!(e[1]["met"], true);
    assert!(e[0]["actual"].is_string());
}

#[test]
fn run_exits_0_when_every_expectation_is_met() {
    let dir = temp_dir("met");
    let file = dir.join("s.toml");
    let expect = r#"
[[expect]]
alert = "HighErrorRate"
fires_within = "10m"
resolves_within = "10m"

[[expect]]
alert = "InstanceDown"
never_fires = true

[[expect]]
metric = "faults.0.kind"
equals = "error_rate"
"#;
    std::fs::write(&file, outage(expect)).expect("write");
    let out = dir.join("out");
    let assert = cargo_bin_cmd!("prodsim").arg("run").arg(&file).arg("--out").arg(&out).arg("--no-charts").assert();
    let stdout = String::from_utf8(assert.success().get_output().stdout.clone()).expect("utf-8");
    assert!(stdout.contains("3 of 3 met"), "{stdout}");
    assert!(
        stdout.contains("HighErrorRate fires within 10m of error_rate on backend and resolves within 10m of its end"),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(summary.contains("\"expectations\""), "{summary}");
}

#[test]
fn a_run_without_expectations_writes_no_expectations_key() {
    let s = from_text(&outage(""));
    assert!(s.expectations.is_empty());
    let dir = temp_dir("none");
    let o = run_own_seed(&s);
    prodsim_report::write_run(&o, &dir).expect("writes");
    let summary = std::fs::read_to_string(dir.join("summary.json")).expect("summary");
    assert!(!summary.contains("\"expectations\""));
}

/// The 1-based line of `needle`'s first occurrence in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    text[..at].matches('\n').count() + 1
}

/// Every diagnostic of `text`, which must not load.
fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match prodsim_scenario::load_str(text, std::path::Path::new("t.toml")) {
        Ok(_) => panic!("loads, but should not:\n{text}"),
        Err(ScenarioError::Invalid { diagnostics, .. }) => diagnostics,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn bad_expectations_are_errors_at_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        ("[[expect]]\nname = \"x\"\n", "[[expect]]", "[[expect]] needs `metric"),
        (
            "[[expect]]\nmetric = \"availability\"\nalert = \"HighErrorRate\"\n",
            "alert =",
            "expect.alert: an expectation checks either",
        ),
        (
            "[[expect]]\nmetric = \"availability\"\n",
            "metric =",
            "expect.metric needs one comparison: at_least, at_most, above, below, equals",
        ),
        (
            "[[expect]]\nmetric = \"availability\"\nat_least = 0.9\nbelow = 1\n",
            "below =",
            "expect.below: an expectation takes exactly one comparison, and this one has `at_least` already",
        ),
        ("[[expect]]\nmetric = \"\"\nat_least = 1\n", "metric =", "expect.metric: give a dotted path"),
        (
            "[[expect]]\nmetric = \"availability\"\nat_least = 1\nfires_within = \"3m\"\n",
            "fires_within =",
            "expect.fires_within applies only to an `alert` expectation",
        ),
        (
            "[[expect]]\nalert = \"HighErrorRate\"\nfires_within = \"3m\"\nbelow = 3\n",
            "below =",
            "expect.below applies only to a `metric` expectation",
        ),
        (
            "[[expect]]\nalert = \"HighErrorRate\"\nfires_within = \"3m\"\nfault = 1\n",
            "fault =",
            "expect.fault: no fault 1; the scenario's [[faults]] are numbered 0 to 0",
        ),
        (
            "[[expect]]\nalert = \"HighErrorRate\"\n",
            "alert =",
            "expect.alert needs fires_within and/or resolves_within",
        ),
        (
            "[[expect]]\nalert = \"HighErrorRate\"\nnever_fires = true\nfault = 0\n",
            "never_fires =",
            "expect.never_fires stands alone; remove fault",
        ),
        (
            "[[expect]]\nalert = \"HighErrorRate\"\nfires_within = \"3 minutes\"\n",
            "fires_within =",
            "expect.fires_within:",
        ),
    ];
    for (extra, at, message) in cases {
        let text = outage(extra);
        let line = line_of(&text, extra) + extra[..extra.find(at).expect("anchor")].matches('\n').count();
        let d = diagnostics(&text);
        assert!(
            d.iter().any(|d| d.severity == Severity::Error && d.message.contains(message) && d.line == line),
            "{extra}: expected {message:?} at line {line}: {d:?}"
        );
    }
}

#[test]
fn alert_expectations_need_alert_rules_and_warn_on_unknown_names() {
    let text = outage("").replace("[monitoring]\nready_rules = true\n", "");
    let errors = load_errors(&format!("{text}\n[[expect]]\nalert = \"HighErrorRate\"\nnever_fires = true\n"));
    assert!(
        errors.contains("expect.alert needs alerts: add [monitoring] with ready_rules, [[alerts]] or [slo]"),
        "{errors}"
    );
    let text = outage("[[expect]]\nalert = \"HighErorRate\"\nnever_fires = true\n");
    let loaded = prodsim_scenario::load_str(&text, std::path::Path::new("t.toml")).expect("loads with a warning");
    let w: Vec<String> = loaded.warnings.iter().map(|d| format!("{d:?}")).collect();
    assert!(w.iter().any(|w| w.contains("expect.alert: no alert named `HighErorRate`; known alerts: ")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("did you mean `HighErrorRate`?")), "{w:?}");
}

#[test]
fn an_unknown_key_names_the_allowed_ones() {
    let errors = load_errors(&outage("[[expect]]\nmetric = \"availability\"\nat_leat = 1\n"));
    assert!(errors.contains("unknown field `at_leat`"), "{errors}");
    assert!(errors.contains("did you mean `at_least`?"), "{errors}");
}
