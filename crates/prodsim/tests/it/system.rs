//! The engine tells the stories its scenarios promise (the payment outage's
//! whole story is in `delivery.rs`): retries without idempotency keys charge twice,
//! an outage or a slow dependency hurts the classes it should (and, without a timeout,
//! every class), a primary crash fails writes until the failover, a crashed server fails
//! requests until it restarts. Runs are deterministic, and the new sections' validation
//! errors are clear.

use crate::common;

use crate::common::{from_text, system};

use std::path::Path;

use crate::common::scenario;
use prodsim_model::outcome::Row;
use prodsim_model::outcome::{ClassOutcome, ComponentOutcome, SystemOutcome};
use prodsim_parts::resilience::LedgerTotals;
use prodsim_report::summary::Summary;
use prodsim_scenario::Scenario;

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;

fn run(s: &Scenario, seed: u64) -> prodsim_model::Outcome {
    prodsim_model::simulate(s, seed).expect("runs")
}

fn class<'a>(s: &'a SystemOutcome, name: &str) -> &'a ClassOutcome {
    s.classes.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no class {name}"))
}

fn component<'a>(s: &'a SystemOutcome, name: &str) -> &'a ComponentOutcome {
    s.components.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no component {name}"))
}

/// Rows that lie wholly inside `[from_ns, to_ns)`.
fn rows_between(rows: &[Row], from_ns: u64, to_ns: u64) -> Vec<Row> {
    rows.iter().copied().filter(|r| r.start_ns >= from_ns && r.end_ns <= to_ns).collect()
}

/// Failed requests per arrival over the rows inside `[from_ns, to_ns)`.
fn failure_ratio(rows: &[Row], from_ns: u64, to_ns: u64) -> f64 {
    let rows = rows_between(rows, from_ns, to_ns);
    assert!(!rows.is_empty(), "no rows in [{from_ns}, {to_ns})");
    let failures: u64 = rows.iter().map(|r| r.failures).sum();
    let arrivals: u64 = rows.iter().map(|r| r.arrivals).sum();
    failures as f64 / arrivals as f64
}

/// Requests that did not complete (rejected, timed out or failed) per finished request.
fn error_ratio(c: &ClassOutcome) -> f64 {
    c.requests.error_ratio().expect("finished requests")
}

/// Whether every payment is accounted for and none was lost or charged twice.
fn balanced(p: &LedgerTotals) -> bool {
    p.attempted == p.completed + p.queued + p.failed + p.lost + p.in_flight && p.lost == 0 && p.duplicated == 0
}

/// The payment call made tighter (a 500 ms timeout, two retries), so that a share of the
/// calls time out while the provider still charges them, with the retry queue behind it
/// (the hotfix's degradation from the start).
fn tight_payment_call(idempotent: bool) -> Scenario {
    let text = std::fs::read_to_string(common::repo_path("scenarios/payment-outage.toml")).expect("read");
    let old = r#"{ call = "payment_api", timeout = "2s", retries = 1, backoff = "200ms", idempotent = true"#;
    assert!(text.contains(old), "the payment call changed in payment-outage.toml");
    let new = format!(
        r#"{{ call = "payment_api", timeout = "500ms", retries = 2, backoff = "200ms", idempotent = {idempotent}, on_failure = "retry_queue""#
    );
    let mut s = from_text(&text.replace(old, &new));
    // Five minutes into the `timeouts` fault are enough.
    s.duration_ns = 25 * MINUTE;
    s
}

#[test]
fn retries_without_idempotency_keys_charge_twice_and_the_ledger_says_so() {
    let careless = run(&tight_payment_call(false), 42);
    let p = system(&careless).payments;
    assert!(p.duplicated > 0 || p.lost > 0, "{p:?}");
    assert!(!balanced(&p), "{p:?}");
    let summary = Summary::from_outcome(&careless);
    assert!(!summary.system.payments.balanced);

    // The same calls with idempotency keys: a retried charge is never taken twice.
    let careful = run(&tight_payment_call(true), 42);
    let p = system(&careful).payments;
    assert!(balanced(&p), "{p:?}");
}

const SHOP: &str = r#"
[scenario]
name = "shop"
duration = "10m"
warmup = "30s"
report_interval = "10s"

[[workload]]
name = "w"
rate = 200

[servers]
count = 2
workers = 32

[[requests]]
name = "pay"
weight = 0.3
steps = [{ cpu = "exp(5ms)" }, { call = "payments", timeout = "1s" }]

[[requests]]
name = "look"
weight = 0.3
steps = [{ cpu = "exp(5ms)" }, { call = "catalog", timeout = "1s" }]

[[requests]]
name = "home"
weight = 0.4
steps = [{ cpu = "exp(5ms)" }]

[services.payments]
instances = 2
latency = "exp(20ms)"

[services.catalog]
instances = 2
latency = "exp(10ms)"
"#;

#[test]
fn an_outage_fails_only_the_classes_that_call_the_service() {
    let fault = "\n[[faults]]\nkind = \"outage\"\ntarget = \"payments\"\nat = \"3m\"\nduration = \"2m\"\n";
    let calm = run(&from_text(SHOP), 1);
    let o = run(&from_text(&(SHOP.to_string() + fault)), 1);
    let (calm_sys, sys) = (system(&calm), system(&o));
    assert_eq!(component(calm_sys, "payments").errors, 0);
    let errors = component(sys, "payments").errors;
    let pay = class(sys, "pay");
    // Two minutes of 60 req/s: every call refused, every such request failed.
    assert!(errors > 5_000, "payments errors {errors}");
    assert_eq!(pay.requests.failed, errors);
    assert_eq!(component(sys, "catalog").errors, 0);
    assert_eq!(class(sys, "look").requests.failed, 0);
    assert_eq!(class(sys, "home").requests.failed, 0);
    assert!(failure_ratio(&o.rows, 3 * MINUTE, 5 * MINUTE) > 0.25);
    assert_eq!(failure_ratio(&o.rows, 5 * MINUTE, 10 * MINUTE), 0.0);
}

#[test]
fn a_slow_dependency_without_a_timeout_exhausts_every_worker() {
    let path = "scenarios/slow-dependency-exhausts-workers.toml";
    let mut slow = scenario(path);
    slow.duration_ns = 21 * MINUTE;
    let text = std::fs::read_to_string(common::repo_path(path)).expect("read");
    let fixed_text = text.replace(
        r#"{ call = "recommendations" }"#,
        r#"{ call = "recommendations", timeout = "300ms", on_failure = "degrade" }"#,
    );
    assert_ne!(text, fixed_text, "the recommendations call changed in {path}");
    let mut fixed = from_text(&fixed_text);
    fixed.duration_ns = 21 * MINUTE;

    let o = run(&slow, slow.seed);
    let sys = system(&o);
    // Classes that never call recommendations lose a large share of their requests too.
    for name in ["browse", "checkout"] {
        let c = class(sys, name);
        assert!(error_ratio(c) > 0.2, "{name}: {:?}", c.requests);
        assert!(c.latency.quantile_ms(0.99).expect("p99") > 300.0, "{name}");
    }
    assert!(o.requests.rejected > 0 && o.requests.timed_out > 0, "{:?}", o.requests);
    // Recommendations itself reports nothing: slow, not failing, and nobody times it.
    let recs = component(sys, "recommendations");
    assert_eq!((recs.errors, recs.timeouts), (0, 0));

    let o = run(&fixed, fixed.seed);
    let sys = system(&o);
    for name in ["browse", "checkout", "product"] {
        assert_eq!(error_ratio(class(sys, name)), 0.0, "{name}: {:?}", class(sys, name).requests);
    }
    assert!(class(sys, "browse").latency.quantile_ms(0.99).expect("p99") < 100.0);
    assert!(class(sys, "product").degraded > 50_000, "{}", class(sys, "product").degraded);
    assert!(component(sys, "recommendations").timeouts > 0);
}

#[test]
fn a_primary_crash_fails_writes_until_the_failover() {
    let mut s = scenario("scenarios/db-primary-failure.toml");
    let with_lag = run(&s, s.seed);
    s.faults.retain(|f| f.kind.name() != "replication_lag");
    assert_eq!(s.faults.len(), 1);
    let crash = s.faults[0].start_ns;
    let failover = crash + 30 * SECOND;
    s.duration_ns = crash + 5 * MINUTE;
    let o = run(&s, s.seed);
    let sys = system(&o);
    assert_eq!(sys.database.expect("a database").failovers, 1);

    assert_eq!(failure_ratio(&o.rows, s.warmup_ns, crash), 0.0);
    // Every write fails: update_profile and checkout are 30% of the traffic.
    let during = failure_ratio(&o.rows, crash, failover);
    assert!((0.25..0.35).contains(&during), "{during}");
    assert_eq!(failure_ratio(&o.rows, failover + 10 * SECOND, s.duration_ns), 0.0);
    // Reads never needed the primary.
    assert_eq!(class(sys, "browse").requests.failed, 0);
    assert!(class(sys, "update_profile").requests.failed > 1_000);
    assert!(class(sys, "checkout").requests.failed > 500);

    // Stale reads: a 10 s lag for five minutes makes far more of them than the usual 100 ms.
    let lagged = system(&with_lag).database.expect("a database");
    let mut calm = scenario("scenarios/db-primary-failure.toml");
    calm.faults.retain(|f| f.kind.name() != "replication_lag");
    let calm = system(&run(&calm, calm.seed)).database.expect("a database");
    assert!(calm.stale_reads > 0, "{calm:?}");
    assert!(lagged.stale_reads > 10 * calm.stale_reads, "{lagged:?} vs {calm:?}");
}

fn four_servers(balancer_extra: &str) -> String {
    format!(
        "[scenario]\nname = \"crash\"\nduration = \"10m\"\nreport_interval = \"10s\"\n\
         [[workload]]\nname = \"w\"\nrate = 200\n\
         [balancer]\nstrategy = \"round_robin\"\n{balancer_extra}\n\
         [servers]\ncount = 4\nworkers = 8\nservice_time = \"exp(10ms)\"\nrestart_after = \"1m\"\n\
         [[faults]]\nkind = \"crash\"\ntarget = \"server-0\"\nat = \"5m\"\n"
    )
}

#[test]
fn a_crashed_server_fails_its_requests_until_it_restarts() {
    let o = run(&from_text(&four_servers("")), 3);
    assert_eq!(system(&o).crashes, 1);
    assert_eq!(failure_ratio(&o.rows, 0, 5 * MINUTE), 0.0);
    // Nothing takes it out of rotation: round robin sends it a quarter of the requests.
    let down = failure_ratio(&o.rows, 5 * MINUTE, 6 * MINUTE);
    assert!((0.2..0.3).contains(&down), "{down}");
    assert_eq!(failure_ratio(&o.rows, 6 * MINUTE + 10 * SECOND, 10 * MINUTE), 0.0);
    // It serves again after the restart: over the run it served a minute's share less.
    let (s0, s1) = (o.servers[0].served as f64, o.servers[1].served as f64);
    assert!(s0 > 0.85 * s1 && s0 < 0.95 * s1, "served {s0} vs {s1}");
    assert!(o.servers[0].rejected > 2_000, "{:?}", o.servers[0]);

    // Health checks take it out of rotation within a few probes.
    let checked = run(&from_text(&four_servers("health_check = { interval = \"1s\", unhealthy_threshold = 2 }")), 3);
    assert!(checked.requests.failed * 5 < o.requests.failed, "{} vs {}", checked.requests.failed, o.requests.failed);
}

#[test]
fn the_same_seed_gives_the_same_summary() {
    let mut s = scenario("scenarios/payment-outage.toml");
    // Two minutes into the payment outage: the breaker, retries and the retry queue.
    s.duration_ns = 22 * MINUTE;
    let json = |seed| Summary::from_outcome(&run(&s, seed)).to_json();
    let first = json(7);
    assert!(first.contains("\"payments\""), "the architecture's keys");
    assert_eq!(first, json(7));
    assert_ne!(first, json(8));
}

fn invalid(text: &str) -> String {
    match prodsim_scenario::load_str(text, Path::new("t.toml")) {
        Ok(_) => panic!("should not load:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A minimal file with `steps` for its one class and `extra` sections.
fn one_class(steps: &str, extra: &str) -> String {
    format!(
        "[scenario]\nname = \"v\"\nduration = \"1m\"\n[[workload]]\nname = \"w\"\nrate = 10\n\
         [servers]\ncount = 1\nworkers = 4\n\
         [[requests]]\nname = \"a\"\nweight = 1\nsteps = [\n{steps}\n]\n\
         [services.search]\nlatency = \"exp(5ms)\"\n\
         [services.payments]\nkind = \"third_party\"\nlatency = \"exp(50ms)\"\n\
         [database]\nread_time = \"exp(1ms)\"\nwrite_time = \"exp(2ms)\"\n{extra}"
    )
}

#[test]
fn the_new_sections_fail_validation_clearly() {
    let cases = [
        // Line 14 is the first step.
        (
            one_class(r#"{ call = "serch", timeout = "1s" },"#, ""),
            vec!["t.toml:14:", "unknown service `serch`; defined: payments, search", "did you mean `search`?"],
        ),
        (one_class(r#"{ call = "db" },"#, ""), vec!["t.toml:14:", r#"a call to `db` needs op = "read" or "write""#]),
        (one_class(r#"{ call = "db", op = "update" },"#, ""), vec![r#"needs op = "read" or "write""#]),
        (
            one_class(r#"{ call = "payments", on_failure = "retry_queue" },"#, ""),
            vec!["t.toml:14:", r#"on_failure = "retry_queue" or "accept_and_queue" needs a [retry_queue] section"#],
        ),
        (
            one_class(r#"{ cpu = "exp(5ms)", timeout = "1s" },"#, ""),
            vec!["t.toml:14:", "a `cpu` step takes no `timeout`"],
        ),
        (
            one_class(r#"{ call = "search", on_failure = "degrad" },"#, ""),
            vec!["on_failure must be one of fail, degrade, retry_queue, accept_and_queue", "did you mean `degrade`?"],
        ),
        (
            one_class(r#"{ call = "search" },"#, "[services.db]\nlatency = \"exp(1ms)\"\n"),
            vec!["`db` is a reserved name"],
        ),
        (
            one_class(
                r#"{ call = "auth" },"#,
                "[services.auth]\nlatency = \"exp(1ms)\"\nsteps = [{ call = \"users\" }]\n\
                 [services.users]\nlatency = \"exp(1ms)\"\nsteps = [{ call = \"tokens\" }]\n\
                 [services.tokens]\nlatency = \"exp(1ms)\"\nsteps = [{ call = \"auth\", async = true }]\n",
            ),
            vec!["the services call each other in a cycle (auth → users → tokens → auth)"],
        ),
    ];
    for (text, expected) in cases {
        let err = invalid(&text);
        for e in expected {
            assert!(err.contains(e), "expected {e:?} in:\n{err}");
        }
    }
    // The retry queue makes the same step valid.
    let ok = one_class(r#"{ call = "payments", on_failure = "retry_queue" },"#, "[retry_queue]\n");
    prodsim_scenario::load_str(&ok, Path::new("t.toml")).expect("valid with a [retry_queue]");
}

/// A step takes only the settings of its kind; anything else is refused rather than
/// silently ignored.
#[test]

fn settings_a_step_does_not_use_are_refused() {
    for step in [
        r#"{ cpu = "exp(5ms)", on_failure = "degrade" },"#,
        r#"{ cpu = "exp(5ms)", backoff = "1s", idempotent = true },"#,
        r#"{ parallel = [{ call = "search" }], timeout = "1s", retries = 2 },"#,
        r#"{ call = "search", async = true, timeout = "1s", retries = 3 },"#,
    ] {
        let text = one_class(step, "");
        assert!(prodsim_scenario::load_str(&text, Path::new("t.toml")).is_err(), "accepted: {step}");
    }
}

/// A checkout that waited in the queue past its client's deadline never ran and was never
/// charged: the user saw a timeout, so the payment failed visibly. It is not a lost payment.
#[test]

fn a_checkout_dropped_from_the_queue_after_its_deadline_is_not_a_lost_payment() {
    let text = r#"
[scenario]
name = "overloaded-checkout"
duration = "2m"

[[workload]]
name = "w"
rate = 100

[servers]
count = 1
workers = 1
timeout = "1s"

[[requests]]
name = "checkout"
weight = 1
payment = "pay"
steps = [{ cpu = "const(5ms)" }, { call = "pay", timeout = "2s", idempotent = true }]

[services.pay]
kind = "third_party"
latency = "const(20ms)"
"#;
    let o = run(&from_text(text), 1);
    // One worker serves 40 checkouts a second out of 100: most wait past the deadline.
    assert!(o.requests.timed_out > 5_000, "{:?}", o.requests);
    let p = system(&o).payments;
    assert_eq!(p.lost, 0, "{p:?}");
    assert!(balanced(&p), "{p:?}");
}

/// A service's own steps may call `db` only when there is a database, like a class's.
#[test]

fn a_service_calling_db_needs_a_database() {
    let text = r#"
[scenario]
name = "service-db"
duration = "1m"

[[workload]]
name = "w"
rate = 10

[servers]
count = 1
workers = 4

[[requests]]
name = "a"
weight = 1
steps = [{ cpu = "const(1ms)" }, { call = "svc", timeout = "1s" }]

[services.svc]
latency = "const(1ms)"
steps = [{ call = "db", op = "read", timeout = "1s" }]
"#;
    let err = invalid(text);
    assert!(err.contains("needs a [database] section"), "{err}");
}

/// A call the open circuit breaker refuses never reaches the provider, so it costs nothing.
#[test]
fn calls_refused_by_the_open_breaker_are_not_billed() {
    let text = SHOP.replace(
        "[services.payments]\ninstances = 2\nlatency = \"exp(20ms)\"\n",
        "[services.payments]\nkind = \"third_party\"\nlatency = \"exp(20ms)\"\nprice_per_call = 0.01\n\
         circuit_breaker = { failure_ratio = 0.5, min_calls = 20, window = \"10s\", open_for = \"30s\" }\n",
    ) + "\n[[faults]]\nkind = \"error_rate\"\ntarget = \"payments\"\nat = \"3m\"\nduration = \"2m\"\nrate = 1.0\n";
    let o = run(&from_text(&text), 1);
    let sys = system(&o);
    let pay = component(sys, "payments");
    assert!(pay.breaker_rejections > 1_000, "{pay:?}");
    let reached = (pay.calls - pay.breaker_rejections) as f64;
    assert!(sys.cost.calls <= 0.01 * reached + 1e-6, "billed {} for {reached} calls that reached it", sys.cost.calls);
}
