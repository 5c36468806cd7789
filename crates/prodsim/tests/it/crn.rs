//! Common random numbers, as the engine guarantees them (`crates/model/src/streams.rs`):
//! every draw about a request (its class, the work of each step, its error coins, a
//! retry's jitter, a hedged copy's work) comes from a stream keyed by purpose and by the
//! request, call or attempt, never from a stream consumed in event order. So:
//!
//! - variants of a loaded multi-tier scenario run by `compare` on the same seed see the
//!   same traffic, and their per-seed mean latencies move together: the paired
//!   difference varies far less than either variant does;
//! - a fault on service A (an error coin, retries, hedges, added latency) leaves service
//!   B's work call for call unchanged, and A's own first attempts' work too;
//! - the balancer strategy and the number of app servers leave every service's total work
//!   unchanged, though they reorder the calls.
//!
//! Work totals are read from a component's utilisation: busy worker-time over the whole
//! run (the same horizon in every variant), exact as long as every call has finished by
//! the end, which the scenarios ensure by stopping arrivals well before it.

use prodsim_lab::{self as experiment, Dimension, Metric, compare, stats};
use prodsim_model::Outcome;
use prodsim_model::outcome::{ClassOutcome, ComponentOutcome};
use prodsim_parts::Strategy;

use crate::common::{from_text, run_own_seed};

/// A shop whose app servers and services all run at 60–75% utilisation: browse reads the
/// catalog, search queries the search service and the catalog in parallel, checkout
/// writes to the database and charges a payment provider that sometimes fails and is
/// retried.
const SHOP: &str = r#"
[scenario]
name = "crn-shop"
duration = "3m"
warmup = "20s"
report_interval = "10s"

[[workload]]
name = "shoppers"
rate = 700

[balancer]
strategy = "round_robin"

[servers]
count = 6
workers = 8
timeout = "5s"

[[requests]]
name = "browse"
weight = 0.6
steps = [{ cpu = "exp(6ms)" }, { call = "catalog", timeout = "1s" }]

[[requests]]
name = "search"
weight = 0.3
steps = [
  { cpu = "exp(10ms)" },
  { parallel = [{ call = "search", timeout = "1s" }, { call = "catalog", timeout = "1s" }] },
]

[[requests]]
name = "checkout"
weight = 0.1
steps = [
  { cpu = "exp(8ms)" },
  { call = "db", op = "write", timeout = "1s" },
  { call = "payments", timeout = "2s", retries = 1, backoff = "50ms" },
]

[services.catalog]
instances = 2
workers = 10
latency = "exp(20ms)"

[services.search]
instances = 2
workers = 6
latency = "lognormal(median=30ms, p99=200ms)"

[services.payments]
kind = "third_party"
latency = "lognormal(median=100ms, p99=400ms)"
error_rate = 0.02

[database]
read_time = "exp(3ms)"
write_time = "exp(5ms)"
"#;

/// Sample variance (n − 1 in the denominator).
fn variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
}

/// A component of an outcome by name.
fn component<'o>(o: &'o Outcome, name: &str) -> &'o ComponentOutcome {
    o.system.components.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no component {name}"))
}

/// A class of an outcome by name.
fn class<'o>(o: &'o Outcome, name: &str) -> &'o ClassOutcome {
    o.system.classes.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no class {name}"))
}

/// `prodsim compare` of least connections against power of two choices on ten seeds: the
/// variance of the paired difference of mean latency is below a tenth of the sum of the two
/// variances. As a control, pairing each replication of one strategy with the *next*
/// replication of the other (independent traffic) gives about the sum itself (a ratio
/// near 1), so the statistic does tell shared traffic from independent traffic.
#[test]
fn compare_pairs_strategies_on_shared_traffic() {
    // The premise: the tiers are loaded, so the strategies' queues differ.
    let o = run_own_seed(&from_text(SHOP));
    for name in ["servers", "catalog", "search"] {
        let u = component(&o, name).utilization.expect("limited workers");
        eprintln!("crn-shop {name}: utilisation {u:.3}");
        assert!((0.6..0.85).contains(&u), "{name} utilisation {u}");
    }
    let path = std::path::Path::new("crn-shop.toml");
    let strategies = [Strategy::LeastConnections, Strategy::PowerOfTwo];
    let replications = 10;
    let variants = experiment::variants(SHOP, path, &[], &[Dimension::strategies(&strategies)], replications)
        .expect("valid variants");
    let opts = compare::Options { replications, base_seed: 5, jobs: 2 };
    let c = compare::run(&variants, opts, &experiment::Measures::BUILTIN, &|| {}).expect("runs");

    let lc = c.variants[0].metric_values(Metric::MeanMs);
    let p2 = c.variants[1].metric_values(Metric::MeanMs);
    let diffs: Vec<f64> = lc.iter().zip(&p2).map(|(a, b)| a - b).collect();
    let shifted: Vec<f64> = lc.iter().zip(p2.iter().cycle().skip(1)).map(|(a, b)| a - b).collect();
    let sum = variance(&lc) + variance(&p2);
    let (paired, unpaired) = (variance(&diffs) / sum, variance(&shifted) / sum);
    let t = stats::paired(&lc, &p2);
    eprintln!(
        "crn-shop mean latency (ms): least connections {:.2} (var {:.4}), power of two {:.2} (var {:.4}); \
         var(paired diff) / sum = {paired:.4}, var(unpaired diff) / sum = {unpaired:.3}; \
         paired diff {:+.3} ms [{:.3}, {:.3}], p = {:.1e}",
        stats::estimate(&lc).mean,
        variance(&lc),
        stats::estimate(&p2).mean,
        variance(&p2),
        t.mean_diff,
        t.ci_low,
        t.ci_high,
        t.p_value
    );
    assert!(paired < 0.1, "paired-difference variance is {paired:.3} of the sum of the variances");
    assert!(unpaired > 0.3, "control: unpaired differences vary only {unpaired:.3} of the sum");
}

/// Two services behind the app: `via_a` requests call A, then B (so anything that delays
/// A's answers reorders B's calls), `direct` requests call only B. Arrivals stop at 4m and
/// nothing has a timeout, so every call has finished by the end at 5m. `WORKERS` and
/// `COUNT` size the app servers, `A_CALL` completes the call to A (it goes on without A's
/// answer when it fails for good, so B is always called) and `FAULTS` is appended.
const TWO_SERVICES: &str = r#"
[scenario]
name = "crn-two-services"
duration = "5m"
report_interval = "10s"

[[workload]]
name = "w"
stages = [{ at = "0s", rate = 300 }, { at = "4m", rate = 0 }]

[balancer]
strategy = "round_robin"

[servers]
count = COUNT
workers = WORKERS

[[requests]]
name = "via_a"
weight = 0.5
steps = [{ cpu = "exp(2ms)" }, { call = "a", on_failure = "degrade"A_CALL }, { call = "b" }]

[[requests]]
name = "direct"
weight = 0.5
steps = [{ cpu = "exp(2ms)" }, { call = "b" }]

[services.a]
instances = 2
workers = 100
latency = "exp(20ms)"

[services.b]
instances = 2
workers = 100
latency = "lognormal(median=8ms, p99=60ms)"

FAULTS
"#;

/// An `error_rate` fault on A from 1m to 3m.
const A_ERRORS: &str = r#"
[[faults]]
kind = "error_rate"
target = "a"
at = "1m"
duration = "2m"
rate = 0.3
"#;

/// An `error_rate` fault on A over the whole run. (A window's edges are points in time: a
/// call that a strategy makes a little later may fall on the other side of one.)
const A_ERRORS_ALWAYS: &str = r#"
[[faults]]
kind = "error_rate"
target = "a"
at = "0s"
rate = 0.3
"#;

/// An `added_latency` fault on A from 1m to 3m.
const A_SLOW: &str = r#"
[[faults]]
kind = "added_latency"
target = "a"
at = "1m"
duration = "2m"
latency = "exp(50ms)"
"#;

/// Runs [`TWO_SERVICES`] with the balancer `strategy`, app servers `count` × `workers`,
/// `a_call` and `faults`, and checks the premise of every comparison: every request has
/// finished by the end.
fn two_services(strategy: &str, count: u32, workers: u32, a_call: &str, faults: &str) -> Outcome {
    let text = TWO_SERVICES
        .replace("round_robin", strategy)
        .replace("COUNT", &count.to_string())
        .replace("WORKERS", &workers.to_string())
        .replace("A_CALL", a_call)
        .replace("FAULTS", faults);
    let o = run_own_seed(&from_text(&text));
    assert_eq!(o.requests.in_flight, 0, "requests still in flight at the end: {:?}", o.requests);
    assert!(o.requests.arrived > 60_000, "{:?}", o.requests);
    o
}

/// Whether two runs put exactly the same work on `name`: the same calls, and the same
/// busy worker-time over the same horizon.
fn same_work(a: &Outcome, b: &Outcome, name: &str) -> bool {
    let (x, y) = (component(a, name), component(b, name));
    x.calls == y.calls && x.utilization == y.utilization
}

/// Asserts that `direct` requests, which only call B, fared identically in both runs:
/// the same number, and the same latency histogram, sum and maximum. With workers to
/// spare everywhere nothing queues, so a direct request's latency is its own CPU draw
/// plus its call's draw on B: equal histograms mean B's per-call work is unchanged.
fn assert_same_direct_latencies(a: &Outcome, b: &Outcome, what: &str) {
    for o in [a, b] {
        for name in ["servers", "b"] {
            assert_eq!(component(o, name).peak_queue, 0, "{what}: a call queued on {name}");
        }
    }
    let (x, y) = (class(a, "direct"), class(b, "direct"));
    assert_eq!(x.requests, y.requests, "{what}: direct requests");
    assert_eq!(x.latency.count, y.latency.count, "{what}: direct completions");
    assert_eq!(x.latency.sum_ns, y.latency.sum_ns, "{what}: direct latency sum");
    assert_eq!(x.latency.max_ns, y.latency.max_ns, "{what}: direct latency max");
    assert!(x.latency.histogram == y.latency.histogram, "{what}: direct latency histograms differ");
}

/// An `error_rate` fault on A draws its coin from its own stream: A's calls do exactly the
/// work they did without the fault (the coin is tossed after the work, and no retry is
/// made), and so does B. The fault did bite: a share of A's calls failed and their
/// requests went on degraded.
#[test]
fn an_error_rate_fault_on_a_leaves_the_work_of_a_and_b_unchanged() {
    let base = two_services("round_robin", 4, 200, "", "");
    let faulted = two_services("round_robin", 4, 200, "", A_ERRORS);
    let (a0, a1) = (component(&base, "a"), component(&faulted, "a"));
    eprintln!(
        "A: {} calls, {} → {} errors, utilisation {:?} → {:?}; B utilisation {:?} → {:?}",
        a0.calls,
        a0.errors,
        a1.errors,
        a0.utilization,
        a1.utilization,
        component(&base, "b").utilization,
        component(&faulted, "b").utilization
    );
    assert_eq!(a0.errors, 0);
    assert!(a1.errors > 5_000, "the fault failed only {} calls", a1.errors);
    assert_eq!(class(&faulted, "via_a").degraded, a1.errors, "every failed call to A degrades its request");
    assert!(same_work(&base, &faulted, "a"), "A's work changed: {a0:?} → {a1:?}");
    assert!(same_work(&base, &faulted, "b"), "B's work changed");
    assert_same_direct_latencies(&base, &faulted, "error_rate on A");
}

/// Retries with jitter and hedged copies of A's calls, an `error_rate` fault that sets the
/// retries off, and an `added_latency` fault: each changes A's work and delays the `via_a`
/// requests' calls to B, so B sees its calls in another order. B's work is unchanged all
/// the same, call for call.
#[test]
fn retries_hedges_and_faults_on_a_leave_the_work_of_b_unchanged() {
    let a_call = r#", retries = 2, backoff = "100ms", hedge_after = "40ms""#;
    let base = two_services("round_robin", 4, 200, a_call, "");
    for (what, faults) in [("error_rate on A", A_ERRORS), ("added_latency on A", A_SLOW)] {
        let faulted = two_services("round_robin", 4, 200, a_call, faults);
        let (a0, a1) = (component(&base, "a"), component(&faulted, "a"));
        eprintln!(
            "{what}: A {} → {} calls ({} → {} retries, {} → {} hedges), via_a mean latency {:.1} → {:.1} ms",
            a0.calls,
            a1.calls,
            a0.retries,
            a1.retries,
            a0.hedges,
            a1.hedges,
            class(&base, "via_a").latency.mean_ms().unwrap_or(f64::NAN),
            class(&faulted, "via_a").latency.mean_ms().unwrap_or(f64::NAN)
        );
        assert!(a1.calls > a0.calls + 1_000, "{what}: the fault changed little on A");
        assert!(same_work(&base, &faulted, "b"), "{what}: B's work changed");
        assert_same_direct_latencies(&base, &faulted, what);
    }
}

/// With loaded app servers (3 × 4 workers at about 70%), the balancer strategy and the
/// number of servers change where requests queue and so the order of every service's
/// calls; they change neither service's work. A's calls include retries set off by an
/// `error_rate` fault, whose coins and jitter are keyed too.
#[test]
fn strategy_and_server_count_leave_every_service_s_work_unchanged() {
    let a_call = r#", retries = 2, backoff = "10ms""#;
    let base = two_services("round_robin", 3, 4, a_call, A_ERRORS_ALWAYS);
    let u = component(&base, "servers").utilization.expect("limited workers");
    // Busy over the whole 5m, the last minute without arrivals: about 70% while they last.
    assert!(u > 0.55, "app servers at only {u}");
    assert!(component(&base, "servers").peak_queue > 0, "nothing queued on the app servers");
    let mut variants: Vec<(String, Outcome)> = Vec::new();
    for strategy in ["least_connections", "random", "power_of_two"] {
        variants.push((strategy.to_string(), two_services(strategy, 3, 4, a_call, A_ERRORS_ALWAYS)));
    }
    variants.push(("5 app servers".to_string(), two_services("round_robin", 5, 4, a_call, A_ERRORS_ALWAYS)));
    eprintln!(
        "round robin on 3 servers: app utilisation {u:.3}, mean latency {:.1} ms",
        base.latency.mean_ms().unwrap_or(f64::NAN)
    );
    for (what, o) in &variants {
        eprintln!(
            "{what}: app utilisation {:.3}, mean latency {:.1} ms",
            component(o, "servers").utilization.unwrap_or(f64::NAN),
            o.latency.mean_ms().unwrap_or(f64::NAN)
        );
        assert!(o.latency.sum_ns != base.latency.sum_ns, "{what}: latencies did not change at all");
        assert!(same_work(&base, o, "a"), "{what}: A's work changed");
        assert!(same_work(&base, o, "b"), "{what}: B's work changed");
    }
}
