//! Release strategies and version effects, each on a variant of
//! `scenarios/bad-deploy-rollback.toml`: staging's fidelity, blue-green and feature-flag
//! rollbacks, a rollback on a named alert, crash loops and memory leaks, and a playbook
//! that switches on graceful degradation instead of writing a hotfix.

use crate::common::{from_text, repo_path, run_own_seed, system};

use prodsim_model::Outcome;
use prodsim_model::outcome::{DeliveryOutcome, ReleaseEnd, ReleaseOutcome};

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;

/// The bad release's deploy block in `bad-deploy-rollback.toml`.
const ROLLING: &str = "strategy = \"rolling\"\nbatch = 2\npause = \"1m\"\n";
/// Its effects.
const EFFECTS: &str = "error_rate = 0.3\nclasses = [\"checkout\"]\n";
/// Its health check.
const HEALTH: &str = "[pipeline.health_check]\nwindow = \"10m\"\ninterval = \"10s\"\nmax_error_ratio = 0.02\n";

/// `bad-deploy-rollback.toml` with each `(old, new)` replacement made (each must apply).
fn variant(edits: &[(&str, &str)]) -> prodsim_scenario::Scenario {
    let mut text = std::fs::read_to_string(repo_path("scenarios/bad-deploy-rollback.toml")).expect("reads");
    for (old, new) in edits {
        assert!(text.contains(old), "bad-deploy-rollback.toml no longer contains {old:?}");
        text = text.replacen(old, new, 1);
    }
    from_text(&text)
}

fn delivery(o: &Outcome) -> &DeliveryOutcome {
    system(o).delivery.as_ref().expect("a delivery outcome")
}

fn release(o: &Outcome) -> &ReleaseOutcome {
    &delivery(o).releases[0]
}

#[test]
fn staging_that_mirrors_production_catches_the_bad_release() {
    let o = run_own_seed(&variant(&[("\nstaging_fidelity = 0.2\n", "\nstaging_fidelity = 1.0\n")]));
    let r = release(&o);
    assert_eq!(r.outcome, ReleaseEnd::Failed);
    assert!(r.reason.as_deref().is_some_and(|w| w.contains("staging verification caught")), "{r:?}");
    assert_eq!(r.stages.last().map(|s| s.result.as_str()), Some("caught_regression"));
    assert!(system(&o).monitoring.as_ref().expect("monitoring").incidents.is_empty());
}

#[test]
fn blue_green_and_feature_flags_roll_back_in_seconds_without_a_rollback_plan() {
    for (strategy, share) in
        [("strategy = \"blue_green\"\n", 1.0), ("strategy = \"feature_flag\"\nsteps = [0.1, 1.0]\n", 0.1)]
    {
        let o = run_own_seed(&variant(&[(ROLLING, strategy), ("rollback = \"3m\"\n", "")]));
        let r = release(&o);
        assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{strategy}: {r:?}");
        assert_eq!(r.peak_share, share, "{strategy}");
        // The check fails at a 10-second interval boundary; switching back takes 10 s.
        let rollout = r.rollout_start_ns.expect("rolled out");
        let end = r.end_ns.expect("ended");
        assert_eq!((end - rollout) % (10 * SECOND), 0, "{strategy}: {rollout} → {end}");
        assert!(end - rollout <= 2 * MINUTE, "{strategy}: {rollout} → {end}");
        assert!(delivery(&o).server_versions.iter().all(|v| v == "v2.3.0"), "{strategy}");
    }
}

#[test]
fn a_named_alert_rolls_the_release_back() {
    // No health check; every server at once, so HighErrorRate (5% over 5m) fires.
    let o = run_own_seed(&variant(&[
        (HEALTH, ""),
        (ROLLING, "strategy = \"all_at_once\"\nrollback_on = [\"HighErrorRate\"]\n"),
    ]));
    let r = release(&o);
    assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{r:?}");
    assert_eq!(r.reason.as_deref(), Some("alert HighErrorRate fired"));
    assert_eq!(r.rolled_back_by.as_deref(), Some("pipeline"));
    let everywhere = r.everywhere_ns.expect("everywhere");
    let end = r.end_ns.expect("ended");
    // 5 minutes of `for` plus the time for the 5-minute ratio to cross 5%, then 3 minutes.
    assert!((everywhere + 8 * MINUTE..everywhere + 14 * MINUTE).contains(&end), "{everywhere} → {end}");
}

#[test]
fn a_crash_looping_version_crashes_its_servers_until_it_is_rolled_back() {
    let o = run_own_seed(&variant(&[
        (EFFECTS, "crash_after = \"45s\"\n"),
        (ROLLING, "strategy = \"all_at_once\"\n"),
        ("max_error_ratio = 0.02", "max_error_ratio = 0.01"),
    ]));
    let r = release(&o);
    assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{r:?}");
    let crashes = system(&o).crashes;
    // Six servers crash every 45 s (plus the restart) from the rollout until the health
    // check's first failing interval and the 3-minute rollback.
    assert!((6..=60).contains(&crashes), "{crashes}");
    // After the rollback nothing crashes: the same run cut at the rollback has them all.
    let mut cut = variant(&[
        (EFFECTS, "crash_after = \"45s\"\n"),
        (ROLLING, "strategy = \"all_at_once\"\n"),
        ("max_error_ratio = 0.02", "max_error_ratio = 0.01"),
    ]);
    cut.duration_ns = r.end_ns.expect("ended") + SECOND;
    assert_eq!(system(&run_own_seed(&cut)).crashes, crashes);
}

#[test]
fn a_leaking_version_is_killed_by_the_out_of_memory_killer_until_rolled_back() {
    let s = variant(&[(EFFECTS, "memory_leak = 20.0\n"), (ROLLING, "strategy = \"all_at_once\"\n"), (HEALTH, "")]);
    let o = run_own_seed(&s);
    let r = release(&o);
    // The kills fail requests; HighErrorRate pages and the on-call's playbook rolls back.
    assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{r:?}");
    assert_eq!(r.rolled_back_by.as_deref(), Some("alice"));
    // Each of six servers fills its headroom at 20 MiB/s, is killed and restarts, over and
    // over while the version runs.
    let t = &s.topology;
    let cycle_s = (t.memory.limit_mb - t.memory.base_mb) / 20.0 + t.restart_ns as f64 / 1e9;
    let live_s = (r.end_ns.expect("ended") - r.everywhere_ns.expect("everywhere")) as f64 / 1e9;
    let expected = 6.0 * live_s / cycle_s;
    let kills = system(&o).oom_kills as f64;
    assert!((expected * 0.75..=expected * 1.1).contains(&kills), "{kills} kills, expected ~{expected:.0}");
}

#[test]
fn graceful_degradation_switched_on_by_a_playbook_beats_the_hotfix() {
    let text = std::fs::read_to_string(repo_path("scenarios/payment-outage.toml")).expect("reads");
    let hotfix = "action = \"hotfix\"\nduration = \"lognormal(10m, 18m)\"\nversion = \"v1.0.1\"\n\
                  strategy = \"all_at_once\"\n[playbooks.effects]\ndegrade = [\"payment_api\"]\n";
    assert!(text.contains(hotfix), "payment-outage.toml's playbook changed");
    let switch = text.replacen(hotfix, "action = \"degrade\"\nduration = \"2m\"\ndependency = \"payment_api\"\n", 1);
    let (a, b) = (run_own_seed(&from_text(&text)), run_own_seed(&from_text(&switch)));
    let mitigated = |o: &Outcome| {
        let m = system(o).monitoring.as_ref().expect("monitoring");
        m.incidents[0].mitigated_ms.expect("mitigated")
    };
    assert!(mitigated(&b) + 10 * 60_000 < mitigated(&a), "switch {} vs hotfix {}", mitigated(&b), mitigated(&a));
    let d = delivery(&b);
    assert_eq!(d.actions[0].action, "degrade");
    assert!(d.releases.is_empty(), "no release needed");
    assert_eq!(system(&b).payments.lost, 0);
}

#[test]
fn a_crash_looping_hotfix_the_health_check_rolls_back_is_not_the_mitigation() {
    // `hotfix-vs-rollback.toml` answered by a hotfix only, and the hotfix crash-loops: the
    // health check rolls it back, and v5.2.0 keeps failing requests. The hotfix reaching
    // every server used to be credited as the incident's mitigation.
    let text = std::fs::read_to_string(repo_path("scenarios/hotfix-vs-rollback.toml")).expect("read");
    let text = text
        .replace("[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"rollback\"\nduration = \"1m\"\n", "")
        .replace("version = \"v5.2.1\"\n", "version = \"v5.2.1\"\n[playbooks.effects]\ncrash_after = \"5s\"\n")
        .replace(
            "rollback = \"4m\"\n",
            "rollback = \"4m\"\n[pipeline.health_check]\ninterval = \"30s\"\nwindow = \"5m\"\nmax_error_ratio = 0.15\n",
        );
    let s = from_text(&text);
    let o = run_own_seed(&s);
    let d = delivery(&o);
    let hotfix = d.releases.iter().find(|r| r.hotfix).unwrap_or_else(|| panic!("a hotfix shipped: {:?}", d.releases));
    assert_eq!(hotfix.outcome, ReleaseEnd::RolledBack, "{hotfix:?}");
    let everywhere_ms = hotfix.everywhere_ns.expect("it reached every server") / 1_000_000;
    let m = system(&o).monitoring.as_deref().expect("monitoring");
    // The hotfix landed during an incident, as that incident's first change to production:
    // the old rule (the first change during it) credited it.
    let during =
        m.incidents.iter().find(|i| (i.incident.start_ms..=i.incident.end_ms).contains(&(everywhere_ms as i64)));
    let during = during.unwrap_or_else(|| panic!("the hotfix lands during an incident: {:?}", m.incidents));
    let first = d.mitigations.iter().find(|c| (c.t_ns / 1_000_000) as i64 >= during.incident.start_ms);
    assert_eq!(first.map(|c| c.t_ns / 1_000_000), Some(everywhere_ms), "{:?}", d.mitigations);
    for i in &m.incidents {
        assert_ne!(i.mitigated_ms, Some(everywhere_ms as i64), "the crash-looping hotfix is not the mitigation: {i:?}");
    }
}
