//! Security: a login class and `auth_attempts_total`, the `credential_stuffing` fault and
//! the `HighLoginFailureRate` ready rule, the audit log and the `compromise` fault.

use crate::common;

use assert_cmd::cargo::cargo_bin_cmd;

/// A shop with a login class (5% of legitimate logins fail) next to a browse class.
const LOGIN: &str = r#"
[scenario]
name = "login"
seed = 11
duration = "10m"
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
steps = [{ cpu = "exp(2ms)" }]
[[requests]]
name = "login"
weight = 1
login = true
login_failure_ratio = 0.05
steps = [{ cpu = "exp(5ms)" }]
[monitoring]
scrape_interval = "15s"
"#;

/// The sum over series of the last sample of every series whose line starts with `head`
/// and carries every one of `labels`.
pub(crate) fn last_sum(om: &str, head: &str, labels: &[&str]) -> f64 {
    let mut by_series = std::collections::BTreeMap::new();
    for line in om.lines().filter(|l| l.starts_with(head) && labels.iter().all(|x| l.contains(x))) {
        let (series, rest) = line.split_once(' ').unwrap_or_else(|| panic!("no value in {line}"));
        let v: f64 = rest.split(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        by_series.insert(series.to_string(), v);
    }
    assert!(!by_series.is_empty(), "no series {head} with {labels:?}");
    by_series.values().sum()
}

/// Runs `toml` in `dir`: its summary.json (parsed and raw) and its OpenMetrics export.
pub(crate) fn run(dir: &std::path::Path, toml: &str) -> (serde_json::Value, String, String) {
    std::fs::write(dir.join("s.toml"), toml).expect("write scenario");
    cargo_bin_cmd!("prodsim")
        .current_dir(dir)
        .args(["run", "s.toml", "--no-charts", "--no-html", "-q", "--out", "report", "--metrics", "m.om"])
        .assert()
        .success();
    let raw = std::fs::read_to_string(dir.join("report/summary.json")).expect("summary written");
    let om = std::fs::read_to_string(dir.join("m.om")).expect("metrics written");
    (serde_json::from_str(&raw).expect("summary is JSON"), raw, om)
}

#[test]
fn auth_counters_split_the_served_logins_by_outcome() {
    let dir = common::temp_dir("security", "login");
    let (s, _, om) = run(&dir, LOGIN);
    let ok = last_sum(&om, "auth_attempts_total{", &["class=\"login\"", "outcome=\"success\""]);
    let failed = last_sum(&om, "auth_attempts_total{", &["class=\"login\"", "outcome=\"failure\""]);
    // Same instant, same place: the app servers' 200s of the login class.
    let served = last_sum(&om, "http_requests_total{", &["class=\"login\"", "code=\"200\"", "instance=\"server-"]);
    assert_eq!(ok + failed, served, "{ok} + {failed}");
    let ratio = failed / served;
    assert!((0.035..0.065).contains(&ratio), "failure ratio {ratio} of {served}");
    // Only login classes have the series.
    assert!(!om.contains("auth_attempts_total{class=\"browse\""));
    // A failed login is served: nothing failed, availability stays whole.
    assert_eq!(s["requests"]["failed"].as_u64(), Some(0));
    assert_eq!(s["classes"]["login"]["availability"], 1.0);
}

/// `LOGIN` with ready rules and a credential stuffing attack from 5m to 15m of a 20m run.
fn stuffing() -> String {
    LOGIN.replace("duration = \"10m\"", "duration = \"20m\"").replace(
        "[monitoring]\nscrape_interval = \"15s\"",
        "[monitoring]\nscrape_interval = \"15s\"\nready_rules = true\n\
         [[faults]]\nkind = \"credential_stuffing\"\ntarget = \"workload\"\nat = \"5m\"\nduration = \"10m\"\n\
         rate = 40\nclients = 5000\n",
    )
}

#[test]
fn credential_stuffing_raises_failures_and_pages_within_its_window() {
    let dir = common::temp_dir("security", "stuffing");
    let (s, _, om) = run(&dir, &stuffing());
    let failed = last_sum(&om, "auth_attempts_total{", &["outcome=\"failure\""]);
    let ok = last_sum(&om, "auth_attempts_total{", &["outcome=\"success\""]);
    // 40/s for 600 s, 98% failing, next to ~12.5 legitimate logins/s at 5%.
    assert!(failed > 22_000.0 && failed < 26_000.0, "{failed} failures, {ok} successes");
    // The attack is malicious traffic: counted apart, the users stay whole.
    let m = &s["malicious"];
    let arrived = m["arrived"].as_u64().expect("malicious.arrived");
    assert!((23_000..25_000).contains(&arrived), "{arrived}");
    assert_eq!(s["requests"]["failed"].as_u64(), Some(0));
    // The rule fires inside the window (the 5m ratio passes 0.5 about 90 s in, then
    // `for = 5m`), never before.
    let fired: Vec<f64> = s["alerts"]
        .as_array()
        .expect("alerts[]")
        .iter()
        .filter(|a| a["alert"] == "HighLoginFailureRate")
        .map(|a| a["firing_s"].as_f64().expect("firing_s"))
        .collect();
    assert!(!fired.is_empty(), "HighLoginFailureRate did not fire: {}", s["alerts"]);
    assert!(fired.iter().all(|&t| (600.0..=900.0).contains(&t)), "{fired:?}");
}

#[test]
fn the_same_seed_writes_the_same_summary() {
    let a = run(&common::temp_dir("security", "det-a"), &stuffing()).1;
    let b = run(&common::temp_dir("security", "det-b"), &stuffing()).1;
    assert_eq!(a, b);
}
