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
