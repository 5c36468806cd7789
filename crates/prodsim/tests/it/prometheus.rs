//! Prometheus and Alertmanager, both ways: every shipped scenario with monitoring exports a
//! rules file `promtool check rules` accepts and an Alertmanager configuration
//! `amtool check-config` accepts, and `amtool config routes test` picks the receivers
//! prodsim picked for every alert the run fired. promtool and amtool come from Debian's
//! `prometheus` and `prometheus-alertmanager`; without them these tests say so and pass,
//! unless `PRODSIM_REQUIRE_PROMTOOL=1` (set by `.ci/run`) makes that a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_scenario::Scenario;

use crate::common::{self, repo_path, temp_dir};

/// The path of `tool` if it is installed; `None` (with a message) when it is not, a panic
/// when `PRODSIM_REQUIRE_PROMTOOL=1`.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        let required = std::env::var("PRODSIM_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{name} is not installed and PRODSIM_REQUIRE_PROMTOOL=1 (apt-get install prometheus prometheus-alertmanager)"
        );
        eprintln!("skipped: {name} is not installed (apt-get install prometheus prometheus-alertmanager)");
    }
    found
}

/// Every shipped scenario with monitoring, by file name.
pub fn monitored_scenarios() -> Vec<(String, Scenario)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let out: Vec<(String, Scenario)> = files
        .iter()
        .filter_map(|f| {
            let rel = format!("scenarios/{}", f.file_name()?.to_str()?);
            let s = common::scenario(&rel);
            s.topology.monitoring.is_some().then_some((rel, s))
        })
        .collect();
    assert!(out.len() >= 5, "expected the shipped scenarios with monitoring, found {}", out.len());
    out
}

/// Runs `prodsim export WHAT SCENARIO OUT` and returns OUT.
fn export(what: &str, scenario: &str, dir: &Path) -> PathBuf {
    let stem = Path::new(scenario).file_stem().and_then(|s| s.to_str()).expect("name");
    let out = dir.join(format!("{stem}.{what}.yml"));
    cargo_bin_cmd!("prodsim").arg("export").arg(what).arg(repo_path(scenario)).arg(&out).assert().success();
    out
}

/// Runs a tool, panicking with its output when it fails; returns its stdout.
fn run_ok(cmd: &mut Command, what: &str) -> String {
    let output = cmd.output().expect("the tool runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what} failed:\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn exported_rules_pass_promtool_check_rules() {
    let Some(promtool) = tool("promtool") else { return };
    let dir = temp_dir("prometheus", "rules");
    for (rel, s) in monitored_scenarios() {
        let file = export("rules", &rel, &dir);
        let out = run_ok(Command::new(&promtool).arg("check").arg("rules").arg(&file), &format!("promtool on {rel}"));
        let spec = s.topology.monitoring.as_ref().expect("monitoring");
        let rules = spec.recording.len() + spec.sets.iter().map(|s| s.rules.len()).sum::<usize>();
        assert!(out.contains(&format!("SUCCESS: {rules} rules found")), "{rel}: {out}");
        let text = std::fs::read_to_string(&file).expect("reads");
        for set in &spec.sets {
            assert!(text.contains(&format!("\"set\": \"{}\"", set.name)), "{rel}: no set label for {}", set.name);
        }
    }
}

#[test]
fn exported_routing_passes_amtool_check_config() {
    let Some(amtool) = tool("amtool") else { return };
    let dir = temp_dir("prometheus", "am");
    for (rel, s) in monitored_scenarios() {
        let file = export("alertmanager", &rel, &dir);
        let out = run_ok(Command::new(&amtool).arg("check-config").arg(&file), &format!("amtool on {rel}"));
        let receivers = s.topology.monitoring.as_ref().expect("monitoring").routing.receivers.len();
        assert!(out.contains(&format!(" - {receivers} receivers")), "{rel}: {out}");
    }
}

/// Every receiver kind and routing feature, through `amtool check-config`.
#[test]
fn every_receiver_kind_and_route_feature_passes_amtool() {
    let Some(amtool) = tool("amtool") else { return };
    let dir = temp_dir("prometheus", "kinds");
    let scenario = dir.join("kinds.toml");
    std::fs::write(&scenario, ROUTING_KINDS).expect("writes");
    let out = dir.join("am.yml");
    cargo_bin_cmd!("prodsim").arg("export").arg("alertmanager").arg(&scenario).arg(&out).assert().success();
    let text = run_ok(Command::new(&amtool).arg("check-config").arg(&out), "amtool check-config");
    assert!(text.contains(" - 5 receivers"), "{text}");
    let routes = |labels: &[&str]| {
        let mut cmd = Command::new(&amtool);
        cmd.args(["config", "routes", "test", "--config.file"]).arg(&out).args(labels);
        run_ok(&mut cmd, "amtool config routes test").trim().to_string()
    };
    assert_eq!(routes(&["severity=page", "team=db"]), "pager,mail");
    assert_eq!(routes(&["severity=page", "team=web"]), "pager,hook");
    assert_eq!(routes(&["severity=ticket", "service=\"a\\\\b\""]), "sms");
    assert_eq!(routes(&["severity=ticket", "service=b"]), "chat");
    assert_eq!(routes(&["severity=info"]), "chat");
}

const ROUTING_KINDS: &str = r##"
[scenario]
name = "kinds"
duration = "1m"
[[workload]]
name = "w"
rate = 10
[servers]
count = 1
workers = 1
service_time = "exp(10ms)"
[[alerts]]
alert = "A"
expr = "up == 0"
[routing]
receiver = "chat"
group_by = ["..."]
group_wait = "10s"
[[routing.routes]]
matchers = ['severity="page"']
receiver = "pager"
continue = true
repeat_interval = "1h30m"
[[routing.routes]]
matchers = ['severity="page"']
receiver = "hook"
group_by = ["alertname", "team"]
[[routing.routes.routes]]
matchers = ['team=~"d.*"']
receiver = "mail"
[[routing.routes]]
matchers = ['service="a\\b"', 'severity!="page"']
receiver = "sms"
[[routing.receivers]]
name = "chat"
slack = "#alerts"
[[routing.receivers]]
name = "pager"
pager = "oncall"
[[routing.receivers]]
name = "hook"
webhook = "http://localhost:9000/hook"
[[routing.receivers]]
name = "mail"
email = "db@example.com"
[[routing.receivers]]
name = "sms"
sms = "+15550100"
[[routing.inhibit_rules]]
source_matchers = ['severity="page"']
target_matchers = ['severity="ticket"']
equal = ["service"]
[[routing.silences]]
matchers = ['alertname="A"']
starts = "10s"
ends = "20s"
"##;

/// An Alertmanager matcher argument for amtool: `name="value"` with `\\`, `\"`, `\n`.
fn label_arg(name: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("{name}=\"{escaped}\"")
}

#[test]
fn amtool_routes_every_fired_alert_to_the_receivers_prodsim_notified() {
    let Some(amtool) = tool("amtool") else { return };
    let dir = temp_dir("prometheus", "routes");
    for (rel, s) in monitored_scenarios() {
        let file = export("alertmanager", &rel, &dir);
        let outcome = common::run_own_seed(&s);
        let mon = outcome.system.monitoring.as_ref().expect("monitoring outcome");
        let routing = &s.topology.monitoring.as_ref().expect("monitoring").routing;
        // What prodsim's router did: every receiver each alert was notified to.
        let mut notified: BTreeMap<&BTreeMap<String, String>, Vec<&str>> = BTreeMap::new();
        // A fallback is a prodsim extension that Alertmanager's routing does not have.
        let routed = |n: &&prodsim_parts::ops::routing::Notification| {
            !matches!(n.delivery, prodsim_parts::ops::routing::Delivery::Fallback { .. })
        };
        for n in mon.sets.iter().flat_map(|set| &set.notifications).filter(routed) {
            for a in &n.alerts {
                notified.entry(&a.labels).or_default().push(&n.receiver);
            }
        }
        let mut fired: Vec<&BTreeMap<String, String>> =
            mon.episodes.iter().filter(|e| e.firing_ms.is_some()).map(|e| &e.labels).collect();
        fired.sort();
        fired.dedup();
        assert!(!fired.is_empty(), "{rel}: no alert fired");
        for labels in fired {
            let prodsim = routing.receivers_for(labels);
            for r in notified.get(labels).into_iter().flatten() {
                assert!(prodsim.iter().any(|p| p == r), "{rel}: {labels:?} notified to {r}, not routed there");
            }
            let mut cmd = Command::new(&amtool);
            cmd.args(["config", "routes", "test", "--config.file"]).arg(&file);
            cmd.args(labels.iter().map(|(k, v)| label_arg(k, v)));
            let picked = run_ok(&mut cmd, "amtool config routes test");
            assert_eq!(picked.trim(), prodsim.join(","), "{rel}: receivers for {labels:?}");
        }
    }
}

/// `text` without its own rules or routing: rule_files and `[routing] config` name
/// `rules.yml` and `am.yml` instead (silences stay: they are not Alertmanager config).
fn without_own_rules(text: &str) -> String {
    let mut t: toml::Table = toml::from_str(text).expect("TOML");
    t.remove("alerts");
    t.remove("rules");
    let monitoring = t.entry("monitoring").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let m = monitoring.as_table_mut().expect("[monitoring]");
    m.insert("ready_rules".into(), toml::Value::Boolean(false));
    m.insert("rule_files".into(), toml::Value::Array(vec![toml::Value::String("rules.yml".into())]));
    if let Some(slo) = t.get_mut("slo").and_then(|s| s.as_table_mut()) {
        slo.insert("alerts".into(), toml::Value::Boolean(false));
        slo.remove("set");
    }
    let mut routing = toml::Table::new();
    routing.insert("config".into(), toml::Value::String("am.yml".into()));
    if let Some(silences) = t.get("routing").and_then(|r| r.get("silences")) {
        routing.insert("silences".into(), silences.clone());
    }
    t.insert("routing".into(), toml::Value::Table(routing));
    toml::to_string(&t).expect("serialises")
}

#[test]
fn exported_rules_and_routing_imported_into_a_bare_copy_give_the_same_alerts_and_notifications() {
    for rel in ["scenarios/alert-fatigue.toml", "scenarios/payment-outage.toml"] {
        let dir = temp_dir("prometheus", Path::new(rel).file_stem().and_then(|s| s.to_str()).expect("name"));
        let rules = dir.join("rules.yml");
        let am = dir.join("am.yml");
        cargo_bin_cmd!("prodsim").arg("export").arg("rules").arg(repo_path(rel)).arg(&rules).assert().success();
        cargo_bin_cmd!("prodsim").arg("export").arg("alertmanager").arg(repo_path(rel)).arg(&am).assert().success();
        let text = std::fs::read_to_string(repo_path(rel)).expect("reads");
        let copy = dir.join("copy.toml");
        let bare = without_own_rules(&text);
        assert!(!bare.contains("[[alerts]]") && bare.contains("rule_files"), "{bare}");
        std::fs::write(&copy, &bare).expect("writes");
        let original = common::scenario(rel);
        let imported = match prodsim_scenario::load(&copy) {
            Ok(l) => l.scenario,
            Err(e) => panic!("{rel}: the bare copy does not load: {e}"),
        };
        let (a, b) = (original.topology.monitoring.as_ref(), imported.topology.monitoring.as_ref());
        let (a, b) = (a.expect("monitoring"), b.expect("monitoring"));
        assert_eq!(a.recording, b.recording, "{rel}: recording rules");
        assert_eq!(a.sets, b.sets, "{rel}: alerting rule sets");
        assert_eq!(a.routing, b.routing, "{rel}: routing");
        let (x, y) = (common::run_own_seed(&original), common::run_own_seed(&imported));
        let (x, y) = (x.system.monitoring.expect("outcome"), y.system.monitoring.expect("outcome"));
        assert!(!x.episodes.is_empty(), "{rel}: no alerts to compare");
        assert_eq!(x.episodes, y.episodes, "{rel}: alerts");
        for (s, t) in x.sets.iter().zip(&y.sets) {
            assert!(!s.notifications.is_empty() || s.name != "default", "{rel}: no notifications");
            assert_eq!(s.notifications, t.notifications, "{rel}: notifications of set {}", s.name);
        }
    }
}

#[test]
fn an_unsupported_part_of_an_imported_file_is_an_error_at_its_line() {
    let dir = temp_dir("prometheus", "bad-import");
    let scenario = dir.join("s.toml");
    let body = ROUTING_KINDS.split("[[alerts]]").next().expect("head");
    std::fs::write(&scenario, format!("{body}[monitoring]\nrule_files = [\"rules.yml\"]\n")).expect("writes");
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 1m\n      - alert: B\n        expr: sort(up)\n";
    std::fs::write(dir.join("rules.yml"), rules).expect("writes");
    let out = cargo_bin_cmd!("prodsim").arg("validate").arg(&scenario).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("rules.yml:8:15") && stderr.contains("`sort` is not supported"), "{stderr}");
    std::fs::write(dir.join("rules.yml"), rules.replace("sort(up)", "up")).expect("writes");
    cargo_bin_cmd!("prodsim").arg("validate").arg(&scenario).assert().success();
    std::fs::remove_file(dir.join("rules.yml")).expect("removes");
    let out = cargo_bin_cmd!("prodsim").arg("validate").arg(&scenario).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s.toml:") && stderr.contains("monitoring.rule_files: cannot read"), "{stderr}");
}

/// `prodsim test rules` (or promtool with `promtool = true`) on a file of
/// tests/it/promtool/: exit status and output.
fn test_rules(file: &str, promtool: Option<&Path>) -> (i32, String) {
    let path = repo_path("crates/prodsim/tests/it/promtool").join(file);
    let out = match promtool {
        Some(tool) => Command::new(tool).args(["test", "rules"]).arg(&path).output().expect("promtool runs"),
        None => cargo_bin_cmd!("prodsim").args(["test", "rules"]).arg(&path).output().expect("prodsim runs"),
    };
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn promtool_unit_test_files_pass_and_fail_as_meant() {
    let (code, out) = test_rules("pass.yml", None);
    assert_eq!((code, out.contains("  SUCCESS")), (0, true), "{out}");
    let (code, out) = test_rules("fail.yml", None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("name: wrong value,") && out.contains("got: [{__name__=\"gauge\"} 1]"), "{out}");
    assert!(out.contains("alertname: TargetDown, time: 2m,"), "{out}");
    // The same files mean the same to promtool itself.
    if let Some(promtool) = tool("promtool") {
        assert_eq!(test_rules("pass.yml", Some(&promtool)).0, 0);
        assert_eq!(test_rules("fail.yml", Some(&promtool)).0, 1);
        assert_eq!(test_rules("unsupported.yml", Some(&promtool)).0, 0, "valid for promtool");
        assert_eq!(test_rules("bad-series.yml", Some(&promtool)).0, 1);
    }
}

#[test]
fn promtool_unit_test_files_outside_the_subset_are_refused_with_the_part_named() {
    let (code, out) = test_rules("unsupported.yml", None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unsupported.yml:11:15:") && out.contains("`timestamp` is not supported"), "{out}");
    let (code, out) = test_rules("bad-series.yml", None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bad-series.yml:8:17:") && out.contains("`1+x3`"), "{out}");
}

/// Prometheus sends an alert with `for` to Alertmanager with `StartsAt` = when it *fired*,
/// so a new group waits its whole `group_wait` after the alert fires (not after it became
/// pending, which would flush the group at once).
#[test]
fn an_alert_with_for_is_routed_with_its_firing_time_so_group_wait_holds() {
    let body = ROUTING_KINDS.split("[[alerts]]").next().expect("head");
    let text = format!(
        "{body}[monitoring]\nevaluation_interval = \"15s\"\n[[alerts]]\nalert = \"Always\"\nexpr = \"vector(1)\"\nfor = \"2m\"\n[routing]\nreceiver = \"chat\"\ngroup_wait = \"30s\"\n[[routing.receivers]]\nname = \"chat\"\nslack = \"#alerts\"\n"
    )
    .replace("duration = \"1m\"", "duration = \"10m\"");
    let s = common::from_text(&text);
    let outcome = common::run_own_seed(&s);
    let mon = outcome.system.monitoring.as_ref().expect("monitoring");
    let episode = &mon.episodes[0];
    let fired_ms = episode.firing_ms.expect("fires");
    assert_eq!(fired_ms - episode.pending_ms, 120_000);
    let first = mon.sets[0].notifications.first().expect("a notification");
    assert_eq!(first.t_ms, fired_ms + 30_000, "group_wait after firing");
    assert_eq!(first.alerts[0].starts_ms, fired_ms);
}

/// A scenario whose only alerts are `alerts` (TOML `[[alerts]]` tables), evaluated every
/// 15 s and routed to one chat receiver with `group_wait = 30s`, one group for all.
fn tick_scenario(alerts: &str) -> prodsim_scenario::Scenario {
    let body = ROUTING_KINDS.split("[[alerts]]").next().expect("head");
    let text = format!(
        "{body}[monitoring]\nevaluation_interval = \"15s\"\n{alerts}[routing]\nreceiver = \"chat\"\ngroup_by = []\ngroup_wait = \"30s\"\ngroup_interval = \"5m\"\n[[routing.receivers]]\nname = \"chat\"\nslack = \"#alerts\"\n"
    )
    .replace("duration = \"1m\"", "duration = \"10m\"");
    common::from_text(&text)
}

/// A group tick at the instant of a rule evaluation sees that evaluation (Prometheus
/// evaluates, then Alertmanager's tick flushes): a 30 s blip that resolves exactly when
/// its group's `group_wait` ends is never notified.
#[test]
fn a_blip_that_resolves_on_its_groups_first_tick_is_not_notified() {
    let s = tick_scenario("[[alerts]]\nalert = \"Blip\"\nexpr = \"vector(time()) >= 60 < 90\"\n");
    let outcome = common::run_own_seed(&s);
    let mon = outcome.system.monitoring.as_ref().expect("monitoring");
    let episode = &mon.episodes[0];
    assert_eq!((episode.firing_ms, episode.resolved_ms), (Some(60_000), Some(90_000)), "{episode:?}");
    assert!(mon.sets[0].notifications.is_empty(), "{:?}", mon.sets[0].notifications);
}

/// An alert that joins a group at the instant of the group's tick is in that tick's
/// notification, not one `group_interval` later.
#[test]
fn an_alert_that_joins_on_a_tick_is_in_that_ticks_notification() {
    let s = tick_scenario(
        "[[alerts]]\nalert = \"First\"\nexpr = \"vector(time()) >= 60\"\n[[alerts]]\nalert = \"Joins\"\nexpr = \"vector(time()) >= 90\"\n",
    );
    let outcome = common::run_own_seed(&s);
    let mon = outcome.system.monitoring.as_ref().expect("monitoring");
    let first = mon.sets[0].notifications.first().expect("a notification");
    assert_eq!(first.t_ms, 90_000);
    let names: Vec<&str> = first.alerts.iter().filter_map(|a| a.labels.get("alertname")).map(String::as_str).collect();
    assert_eq!(names, ["First", "Joins"]);
}
