//! Releases and incident response end to end, on the shipped scenarios: the pipeline's
//! timings add up, a failed stage blocks the deploy, a rollback restores the previous
//! version on every server, a canary that fails its analysis never reaches 100%, a missing
//! rollback plan is a finding, and the payment outage plays its whole story — the alert,
//! the page, the hotfix, the drained retry queue and the balanced ledger.

use crate::common;

use crate::common::{from_text, repo_path, run_own_seed, system};

use prodsim_model::Outcome;
use prodsim_model::outcome::Row;
use prodsim_model::outcome::{DeliveryOutcome, IncidentOutcome, ReleaseEnd, ReleaseOutcome};
use prodsim_report::summary::Summary;

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;

fn text(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).expect("reads")
}

/// `rel`'s text with `old` replaced by `new` (which must be there).
fn edited(rel: &str, old: &str, new: &str) -> prodsim_scenario::Scenario {
    let t = text(rel);
    assert!(t.contains(old), "{rel} no longer contains {old:?}");
    from_text(&t.replacen(old, new, 1))
}

/// Every expectation the scenario states about its story is met.
fn story_holds(s: &prodsim_scenario::Scenario, o: &Outcome) {
    let results = prodsim_report::expect::evaluate(&s.expectations, o);
    assert!(!results.is_empty() && results.iter().all(|r| r.met), "{results:?}");
}

fn delivery(o: &Outcome) -> &DeliveryOutcome {
    system(o).delivery.as_ref().expect("a delivery outcome")
}

fn incidents(o: &Outcome) -> &[IncidentOutcome] {
    &system(o).monitoring.as_ref().expect("monitoring").incidents
}

fn release<'a>(d: &'a DeliveryOutcome, version: &str) -> &'a ReleaseOutcome {
    d.releases.iter().find(|r| r.version == version).unwrap_or_else(|| panic!("no release {version}"))
}

/// Failed requests per arrival over the report rows inside `[from_ns, to_ns)`.
fn failure_ratio(rows: &[Row], from_ns: u64, to_ns: u64) -> f64 {
    let inside: Vec<&Row> = rows.iter().filter(|r| r.start_ns >= from_ns && r.end_ns <= to_ns).collect();
    assert!(!inside.is_empty(), "no rows in [{from_ns}, {to_ns})");
    let failures: u64 = inside.iter().map(|r| r.failures).sum();
    let arrivals: u64 = inside.iter().map(|r| r.arrivals).sum();
    failures as f64 / arrivals as f64
}

#[test]
fn the_pipelines_lead_time_is_the_sum_of_its_stages_and_health_checks_roll_back_everywhere() {
    let s = common::scenario("scenarios/bad-deploy-rollback.toml");
    let o = run_own_seed(&s);
    story_holds(&s, &o);
    let d = delivery(&o);
    let r = release(d, "v2.4.0");
    let stages: Vec<&str> = r.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(stages, ["build", "tests", "checks", "staging_deploy", "staging_verify"]);
    let sum: u64 = r.stages.iter().map(|s| s.end_ns - s.start_ns).sum();
    assert_eq!(sum, 22 * MINUTE);
    assert_eq!(r.stages[0].start_ns, r.merged_ns);
    assert!(r.stages.windows(2).all(|w| w[0].end_ns == w[1].start_ns));
    assert_eq!(r.rollout_start_ns, Some(r.merged_ns + sum), "production starts when the last stage ends");

    // The first batch fails the health check: rolled back, every server on v2.3.0 again.
    assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{r:?}");
    assert!(r.reason.as_deref().is_some_and(|w| w.contains("health check")), "{r:?}");
    assert_eq!(r.everywhere_ns, None, "stopped after the first batch");
    assert!((r.peak_share - 2.0 / 6.0).abs() < 1e-9, "{}", r.peak_share);
    assert!(d.server_versions.iter().all(|v| v == "v2.3.0"), "{:?}", d.server_versions);
    // The rollback is the incident's mitigation.
    let inc = &incidents(&o)[0];
    assert_eq!(inc.deploys, ["v2.4.0"]);
    assert_eq!(inc.mitigated_ms, r.end_ns.map(|e| (e / 1_000_000) as i64));
    // Errors stop with the rollback.
    let end = r.end_ns.expect("ended");
    assert!(failure_ratio(&o.rows, end + MINUTE, s.duration_ns) < 0.001);
}

#[test]
fn a_failed_stage_blocks_the_deploy() {
    let s = edited(
        "scenarios/bad-deploy-rollback.toml",
        r#"{ stage = "tests", duration = "8m", failure = 0.02 }"#,
        r#"{ stage = "tests", duration = "8m", failure = 0.9999 }"#,
    );
    let o = run_own_seed(&s);
    let d = delivery(&o);
    let r = release(d, "v2.4.0");
    assert_eq!(r.outcome, ReleaseEnd::Failed);
    assert_eq!(r.stages.len(), 2, "the release stops at the failed stage");
    assert!(r.reason.as_deref().is_some_and(|w| w.contains("tests")), "{r:?}");
    assert_eq!((r.rollout_start_ns, r.peak_share), (None, 0.0));
    assert!(d.server_versions.iter().all(|v| v == "v2.3.0"));
    assert!(incidents(&o).is_empty(), "nobody was hurt");
}

#[test]
fn a_release_without_a_rollback_plan_stays_and_the_post_mortem_says_so() {
    let s = edited("scenarios/bad-deploy-rollback.toml", "rollback = \"3m\"\n", "");
    let o = run_own_seed(&s);
    let d = delivery(&o);
    let r = release(d, "v2.4.0");
    assert_eq!(r.outcome, ReleaseEnd::Failed);
    assert!(r.reason.as_deref().is_some_and(|w| w.contains("no rollback plan")), "{r:?}");
    // Stopped after the first batch: those two servers keep the bad version.
    assert_eq!(d.server_versions.iter().filter(|v| *v == "v2.4.0").count(), 2, "{:?}", d.server_versions);
    // HighErrorRate does not fire (a third of the servers fail 6% of requests: 2%), so
    // the incident goes on to the end of the run.
    let inc = &incidents(&o)[0];
    assert!(inc.incident.end_ms >= (s.duration_ns / 1_000_000) as i64 - 60_000, "{inc:?}");
    let post = prodsim_report::postmortem::render_all(&o, &s.name).expect("a post-mortem");
    assert!(post.contains("No rollback plan for `v2.4.0`"), "{post}");
}

#[test]
fn a_canary_that_fails_its_analysis_never_reaches_full_traffic() {
    let s = common::scenario("scenarios/canary-catches-regression.toml");
    let o = run_own_seed(&s);
    story_holds(&s, &o);
    let d = delivery(&o);
    let r = release(d, "v3.1.0");
    assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{r:?}");
    assert!(r.reason.as_deref().is_some_and(|w| w.contains("canary analysis failed") && w.contains("p99")), "{r:?}");
    assert_eq!(r.peak_share, 0.05);
    assert_eq!(r.everywhere_ns, None);
    assert!(d.server_versions.iter().all(|v| v == "v3.0.0"), "{:?}", d.server_versions);

    // All at once, the same release slows every request down and stays.
    let canary = "strategy = \"canary\"\nsteps = [0.05, 0.25, 0.5, 1.0]\nbake = \"5m\"\n\
                  analysis = { max_error_increase = 0.01, max_latency_ratio = 1.5, min_requests = 200 }\n";
    let all = edited("scenarios/canary-catches-regression.toml", canary, "strategy = \"all_at_once\"\n");
    let o_all = run_own_seed(&all);
    let r_all = release(delivery(&o_all), "v3.1.0");
    assert_eq!(r_all.outcome, ReleaseEnd::Completed);
    let bad = |o: &Outcome| incidents(o).iter().map(|i| i.incident.bad).sum::<u64>();
    assert!(bad(&o_all) > 10 * bad(&o), "{} vs {}", bad(&o_all), bad(&o));
}

#[test]
fn rolling_back_restores_service_sooner_than_a_hotfix() {
    let rollback = common::scenario("scenarios/hotfix-vs-rollback.toml");
    let hotfix = edited("scenarios/hotfix-vs-rollback.toml", "rollback = \"4m\"", "rollback = \"none\"");
    let (a, b) = (run_own_seed(&rollback), run_own_seed(&hotfix));
    story_holds(&rollback, &a);
    story_holds(&hotfix, &b);
    let (da, db) = (delivery(&a), delivery(&b));
    assert_eq!(release(da, "v5.2.0").outcome, ReleaseEnd::RolledBack);
    assert_eq!(release(db, "v5.2.0").outcome, ReleaseEnd::Completed);
    let fix = release(db, "v5.2.1");
    assert!(fix.hotfix && fix.outcome == ReleaseEnd::Completed, "{fix:?}");
    let stages: Vec<&str> = fix.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(stages, ["build", "tests"], "the hotfix path");
    assert!(db.server_versions.iter().all(|v| v == "v5.2.1"));
    let (ia, ib) = (&incidents(&a)[0], &incidents(&b)[0]);
    let ttr = |i: &IncidentOutcome| i.incident.end_ms - i.incident.start_ms;
    assert!(ttr(ia) + 15 * 60_000 < ttr(ib), "rollback {} ms, hotfix {} ms", ttr(ia), ttr(ib));
    assert!(ia.lost_revenue < ib.lost_revenue);
    // Both were acknowledged and mitigated by the on-call's action.
    for (i, d) in [(ia, da), (ib, db)] {
        let ack = i.acknowledged_ms.expect("acknowledged");
        let mitigated = i.mitigated_ms.expect("mitigated");
        assert!(i.detected_ms.is_some_and(|t| t <= ack) && ack < mitigated, "{i:?}");
        assert_eq!(d.actions.len(), 1);
        assert!(d.actions[0].succeeded);
    }
    assert_eq!(da.actions[0].action, "rollback");
    assert_eq!(db.actions[0].action, "hotfix v5.2.1", "no rollback plan: the playbook's next action");
}

#[test]
fn the_payment_outage_story_plays_from_the_alert_to_the_balanced_ledger() {
    let s = common::scenario("scenarios/payment-outage.toml");
    let (start, end) = (s.faults[0].start_ns, s.faults[0].end_ns);
    assert_eq!((start, end), (20 * MINUTE, 60 * MINUTE));
    let o = run_own_seed(&s);
    let sys = system(&o);
    let m = sys.monitoring.as_ref().expect("monitoring");

    // HighErrorRate (5% of requests failing over 5m, `for` 5m) fires within its `for`
    // window after the 5-minute error ratio crosses 5%, give or take an evaluation.
    let rows = &o.rows;
    let crossed = rows
        .iter()
        .filter(|r| r.end_ns >= 5 * MINUTE)
        .find(|r| failure_ratio(rows, r.end_ns - 5 * MINUTE, r.end_ns) > 0.05)
        .map(|r| r.end_ns)
        .expect("the error ratio crosses 5%");
    let fired = m.episodes.iter().find(|e| e.alert == "HighErrorRate").and_then(|e| e.firing_ms).expect("fires");
    let fired_ns = fired as u64 * 1_000_000;
    assert!(
        (crossed + 5 * MINUTE - 30 * SECOND..=crossed + 5 * MINUTE + 45 * SECOND).contains(&fired_ns),
        "crossed at {crossed}, fired at {fired_ns}"
    );

    // The page reaches alice (business hours), who acknowledges and ships the hotfix.
    let d = delivery(&o);
    let page = &d.pages[0];
    assert!(page.alerts.iter().any(|a| a == "PaymentServiceDown"));
    assert_eq!(page.acknowledged.as_ref().map(|a| a.by.as_str()), Some("alice"));
    let fix = release(d, "v1.0.1");
    assert!(fix.hotfix && fix.by == "alice" && fix.outcome == ReleaseEnd::Completed, "{fix:?}");
    let fixed_at = fix.everywhere_ns.expect("reaches every server");
    assert!(fixed_at < end - 5 * MINUTE, "the hotfix lands before the provider recovers: {fixed_at}");

    // The hotfix lowers the error rate while the provider is still down.
    let broken = failure_ratio(rows, start + 2 * MINUTE, fixed_at);
    let degraded = failure_ratio(rows, fixed_at + MINUTE, end);
    assert!((0.10..0.20).contains(&broken), "before the hotfix: {broken}");
    assert!(degraded < 0.002, "after the hotfix: {degraded}");
    assert!(failure_ratio(rows, end + 2 * MINUTE, s.duration_ns) < 0.001);

    // The retry queue drains to zero; every payment is completed exactly once.
    let q = sys.retry_queue.expect("a retry queue");
    assert!(q.enqueued > 50_000, "{q:?}");
    assert_eq!((q.remaining, q.dropped), (0, 0), "{q:?}");
    assert_eq!(q.drained, q.enqueued);
    let p = sys.payments;
    assert_eq!((p.lost, p.duplicated, p.queued), (0, 0, 0), "{p:?}");
    assert_eq!(p.attempted, p.completed + p.failed + p.in_flight, "{p:?}");
    let checkout = sys.classes.iter().find(|c| c.name == "checkout").expect("checkout");
    assert_eq!(checkout.deferred, q.enqueued, "every deferred checkout's payment was queued");

    // One incident, detected, acknowledged, mitigated by the hotfix, with its cost.
    let inc = &incidents(&o)[0];
    let ms = |ns: u64| (ns / 1_000_000) as i64;
    assert_eq!(inc.mitigated_ms, Some(ms(fixed_at)));
    assert!(inc.detected_ms.is_some() && inc.acknowledged_ms.is_some());
    assert!(inc.lost_revenue > 0.0 && inc.affected_users > 0);
    let post = prodsim_report::postmortem::render_all(&o, &s.name).expect("a post-mortem");
    for part in ["# Incident 1", "## Timeline", "PaymentServiceDown", "alice", "v1.0.1", "timeouts on payment_api"] {
        assert!(post.contains(part), "no {part:?} in\n{post}");
    }
}

#[test]
fn the_same_seed_gives_the_same_summary_and_post_mortem() {
    let s = common::scenario("scenarios/hotfix-vs-rollback.toml");
    let a = run_own_seed(&s);
    let b = run_own_seed(&s);
    assert_eq!(Summary::from_outcome(&a).to_json(), Summary::from_outcome(&b).to_json());
    let pa = prodsim_report::postmortem::render_all(&a, &s.name);
    assert_eq!(pa, prodsim_report::postmortem::render_all(&b, &s.name));
    let json = Summary::from_outcome(&a).to_json();
    for key in ["\"mttd_s\"", "\"mtta_s\"", "\"mttr_s\"", "\"acknowledged_s\"", "\"mitigated_s\"", "\"deploys\""] {
        assert!(json.contains(key), "no {key}");
    }
}

#[test]
fn prodsim_run_writes_the_post_mortem_and_the_release_keys() {
    use assert_cmd::cargo::cargo_bin_cmd;
    let dir = common::temp_dir("delivery", "cli");
    let out = cargo_bin_cmd!("prodsim")
        .arg("run")
        .arg(repo_path("scenarios/canary-catches-regression.toml"))
        .args(["--no-charts", "--out"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("releases      v3.1.0 (canary)") && stdout.contains("postmortem.md"), "{stdout}");
    let post = std::fs::read_to_string(dir.join("postmortem.md")).expect("postmortem.md");
    assert!(post.starts_with("# Incident 1: release v3.1.0 (canary)"), "{post}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary")).expect("JSON");
    let d = &summary["deploys"][0];
    assert_eq!(
        (d["version"].as_str(), d["strategy"].as_str(), d["outcome"].as_str()),
        (Some("v3.1.0"), Some("canary"), Some("rolled_back"))
    );
    assert!(d["start_s"].is_number() && d["end_s"].is_number());
    assert!(summary["incidents"][0]["mitigated_s"].is_number());
    assert!(summary["mttr_s"].is_number() && summary["mttd_s"].is_null());
    assert_eq!(summary["versions"]["v3.0.0"], 8);

    // A run without incidents leaves no post-mortem behind (not even an old one).
    let text = std::fs::read_to_string(repo_path("scenarios/canary-catches-regression.toml")).expect("reads");
    // Without the regression (and without the expectations about it).
    let story = text.find("\n[[expect]]").unwrap_or(text.len());
    let quiet = text[..story].replace("latency = \"lognormal(300ms, 900ms)\"", "error_rate = 0.0");
    let file = dir.join("quiet.toml");
    std::fs::write(&file, quiet).expect("writes");
    cargo_bin_cmd!("prodsim").arg("run").arg(&file).args(["--no-charts", "-q", "--out"]).arg(&dir).assert().success();
    assert!(!dir.join("postmortem.md").exists());
}
