//! The invariant checkers pass on real runs and name what broke when a run's numbers are
//! wrong: each is shown a real outcome, then a copy with one number corrupted.

use crate::common;

use prodsim_kernel::{EventLog, Observer, SimError, SimTime};
use prodsim_lab::chaos::checkers::{Invariant, conservation, deploys, determinism, engine, ledger, recovery};
use prodsim_model::RunError;
use prodsim_model::outcome::Outcome;
use prodsim_model::outcome::ReleaseEnd;

/// bad-deploy-rollback: a release rolled back by its health check, payments, monitoring.
fn rolled_back() -> (prodsim_scenario::Scenario, Outcome, EventLog) {
    let scenario = common::scenario("scenarios/bad-deploy-rollback.toml");
    let (result, log) = prodsim_model::simulate_logged(&scenario, scenario.seed);
    let outcome = result.expect("runs");
    (scenario, outcome, log)
}

fn invariants(v: &[prodsim_lab::chaos::checkers::Violation]) -> Vec<Invariant> {
    v.iter().map(|v| v.invariant).collect()
}

#[test]
fn checkers_pass_on_a_real_run_and_catch_corrupted_numbers() {
    let (scenario, outcome, log) = rolled_back();
    let d = outcome.system.delivery.as_ref().expect("releases");
    assert_eq!(d.releases[0].outcome, ReleaseEnd::RolledBack, "the story: a rollback");
    assert!(conservation::check(&outcome).is_empty(), "{:?}", conservation::check(&outcome));
    assert!(ledger::check(&outcome).is_empty(), "{:?}", ledger::check(&outcome));
    assert!(deploys::check(&outcome).is_empty(), "{:?}", deploys::check(&outcome));
    assert!(engine::check(&scenario, &Ok(outcome.clone()), &log).is_empty());

    // A request counted nowhere.
    let mut lost = outcome.clone();
    lost.requests.completed -= 1;
    let v = conservation::check(&lost);
    assert!(v.iter().any(|v| v.message.contains("1 counted nowhere")), "{v:?}");
    assert!(v.iter().any(|v| v.message.contains("do not add up to the totals")), "{v:?}");

    // A payment lost and one charged twice.
    let mut paid = outcome.clone();
    let system = &mut *paid.system;
    system.payments.lost += 1;
    system.payments.duplicated += 1;
    let v = ledger::check(&paid);
    assert_eq!(invariants(&v), vec![Invariant::Ledger; 3], "{v:?}");

    // A server left on the rolled-back version, and one with none.
    let mut stuck = outcome.clone();
    let d = stuck.system.delivery.as_mut().expect("releases");
    let bad = d.releases[0].version.clone();
    d.server_versions[1] = bad.clone();
    d.server_versions[2] = String::new();
    let v = deploys::check(&stuck);
    assert!(v.iter().any(|v| v.message == "server-2 runs no version at the end"), "{v:?}");
    assert!(
        v.iter()
            .any(|v| v.message.contains("should have restored") && v.message.contains(&format!("server-1 runs {bad}"))),
        "{v:?}"
    );

    // The engine: a run that stopped on a limit, a run that counted events it did not process.
    let stopped: Result<Outcome, RunError> =
        Err(RunError::Sim(SimError::TooManyInFlight { limit: 10, at: SimTime(5) }));
    let v = engine::check(&scenario, &stopped, &log);
    assert!(v[0].message.contains("max_in_flight"), "{v:?}");
    let mut short = log;
    short.on_event(SimTime(0), &0u8);
    let v = engine::check(&scenario, &Ok(outcome.clone()), &short);
    assert!(v.iter().any(|v| v.message.contains("time went backwards")), "{v:?}");
    assert!(v.iter().any(|v| v.message.contains("events but processed")), "{v:?}");
    assert_eq!(determinism::check(&log, &short).len(), 1);
}

#[test]
fn recovery_compares_with_the_baseline_over_the_window() {
    let (scenario, outcome, _) = rolled_back();
    // The release is the trouble; judged from +35m the run is back to its own normal.
    let window = recovery::Window::after(&scenario, 33 * 60 * 1_000_000_000, 2 * 60 * 1_000_000_000);
    let tol = recovery::Tolerance::default();
    assert!(recovery::check(&outcome, &outcome, &window, &tol).is_empty());

    // The same run judged against a baseline that never erred and answered in 1 ms, with
    // an alert left firing.
    let mut perfect = outcome.clone();
    for r in &mut perfect.rows {
        r.completions += r.failures + r.timeouts + r.rejections;
        r.failures = 0;
        r.timeouts = 0;
        r.rejections = 0;
        r.latency_p99_ns = r.latency_p99_ns.map(|_| 1_000_000);
    }
    let mut hot = outcome.clone();
    for r in hot.rows.iter_mut().filter(|r| r.start_ns >= window.from_ns) {
        r.failures += r.completions / 10;
    }
    let v = recovery::check(&hot, &perfect, &window, &tol);
    assert!(v.iter().any(|v| v.message.starts_with("error ratio")), "{v:?}");
    assert!(v.iter().any(|v| v.message.starts_with("p99 latency")), "{v:?}");

    // Alerts: one left firing must resolve, unless its expression reads further back than
    // the run goes on.
    let mut firing = outcome.clone();
    let m = firing.system.monitoring.as_deref_mut().expect("monitoring");
    let mut e = m.episodes.iter().find(|e| e.firing_ms.is_some()).expect("an alert fired").clone();
    let alert = "NeverResolves".to_string();
    e.alert = alert.clone();
    e.resolved_ms = None;
    m.episodes.push(e);
    let mut strict = window.clone();
    strict.alert_resets.clear();
    let v = recovery::check(&firing, &outcome, &strict, &tol);
    assert!(v.iter().any(|v| v.message.starts_with(&format!("alert {alert} fired"))), "{v:?}");
    let mut long = window.clone();
    long.alert_resets = vec![recovery::AlertReset { alert, reset_ns: 24 * 3_600 * 1_000_000_000 }];
    assert!(recovery::check(&firing, &outcome, &long, &tol).is_empty(), "a day-long lookback cannot clear");
}
