//! Whole-architecture benchmark: `scenarios/payment-outage.toml` with every component on
//! (eight app servers, four services, a third-party payment API with breaker, retry budget
//! and idempotency keys, storage, a database with replicas and pools, the retry queue and
//! the ledger), over a window that includes the outage, so timeouts, breaker trips,
//! deferrals and the queue drain are all on the measured path.
//!
//! Run with `cargo bench --bench system`. The target is at least 1M simulated requests per
//! wall-clock second on one core (divan's `item/s`).

use std::path::Path;

use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

/// 40 simulated minutes from 5 minutes before the outage: about 2.4M requests at 1,000/s.
fn payment_outage() -> prodsim_scenario::Scenario {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("scenarios/payment-outage.toml");
    let text = degraded(&std::fs::read_to_string(&path).expect("payment-outage reads"));
    let mut s = prodsim_scenario::load_str(&text, &path).expect("payment-outage loads").scenario;
    s.duration_ns = 40 * 60 * 1_000_000_000;
    unwatched(&mut s);
    s
}

/// The scenario's text with its hotfix's graceful degradation in the code from the start
/// (failed charges go on the retry queue), so deferrals and the queue drain are measured
/// without the on-call.
fn degraded(text: &str) -> String {
    let charge = "idempotent = true }";
    assert!(text.contains(charge), "the payment call changed in payment-outage.toml");
    text.replacen(charge, "idempotent = true, on_failure = \"retry_queue\" }", 1)
}

/// Without monitoring, releases or responders: the request path alone.
fn unwatched(s: &mut prodsim_scenario::Scenario) {
    s.topology.monitoring = None;
    s.topology.delivery = None;
}

/// The same run with the rest of the architecture on too: a reverse proxy (TLS, a cache
/// for `browse`, compression, a per-client rate limit and a filter against a 1% malicious
/// share), users in two regions behind a geographic balancer with health checks, and an
/// autoscaler over the app servers.
fn payment_outage_full() -> prodsim_scenario::Scenario {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("scenarios/payment-outage.toml");
    let text = degraded(&std::fs::read_to_string(&path).expect("payment-outage reads"));
    let text = text.replacen("rate = 1000\n", "rate = 1000\nmalicious = 0.01\n", 1).replacen(
        "strategy = \"least_connections\"\n",
        "strategy = \"geographic\"\nhealth_check = { interval = \"5s\" }\n",
        1,
    );
    let text = format!(
        "{text}\n\
         [[regions]]\nname = \"us\"\nshare = 0.6\nservers = 4\nrtt = \"lognormal(median=20ms, p99=60ms)\"\n\
         loss = 0.001\nrtt_to = {{ eu = \"80ms\" }}\n\
         [[regions]]\nname = \"eu\"\nshare = 0.4\nservers = 4\nrtt = \"lognormal(median=25ms, p99=70ms)\"\n\
         [proxy]\ninstances = 2\nworkers = 8\ntls_handshake = \"exp(400us)\"\ntls_resumption = 0.8\n\
         [proxy.cache]\ncapacity = 5000\nttl = \"60s\"\nclasses = [\"browse\"]\n\
         [proxy.compression]\ncpu = \"exp(100us)\"\nratio = 0.3\n\
         [proxy.rate_limit]\nper_client = 10\nburst = 20\n\
         [proxy.filter]\ndetection = 0.9\nfalse_positives = 0.0001\n\
         [autoscaling]\nmin = 8\nmax = 12\ntarget_utilization = 0.7\n"
    );
    let mut s = prodsim_scenario::load_str(&text, &path).expect("the full payment-outage loads").scenario;
    s.duration_ns = 40 * 60 * 1_000_000_000;
    unwatched(&mut s);
    s
}

/// The shipped run as written, watched: scraped every 15 s, the ready rules and the SLO's
/// burn-rate rules evaluated every 15 s, notifications routed and paging the on-call —
/// plus every request logged (access lines, errors, dependency calls) through per-instance
/// buffers to a log store.
fn payment_outage_observed() -> prodsim_scenario::Scenario {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("scenarios/payment-outage.toml");
    let text = std::fs::read_to_string(&path).expect("payment-outage reads");
    let text = format!("{text}\n[logging]\nlevel = \"debug\"\n");
    let mut s = prodsim_scenario::load_str(&text, &path).expect("the observed payment-outage loads").scenario;
    s.duration_ns = 40 * 60 * 1_000_000_000;
    s
}

/// Requests the run simulates, warmup included (the same every sample: same seed).
fn arrivals(s: &prodsim_scenario::Scenario) -> u64 {
    prodsim_model::simulate(s, 42).expect("runs").rows.iter().map(|r| r.arrivals).sum()
}

/// Simulated requests per wall-clock second, whole model.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn payment_outage_requests(bencher: divan::Bencher) {
    let scenario = payment_outage();
    let requests = arrivals(&scenario);
    bencher.counter(ItemsCount::new(requests)).bench(|| {
        let outcome = prodsim_model::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.requests.completed)
    });
}

/// Simulated requests per wall-clock second with the proxy, regions and autoscaling on too.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn payment_outage_full_requests(bencher: divan::Bencher) {
    let scenario = payment_outage_full();
    let requests = arrivals(&scenario);
    bencher.counter(ItemsCount::new(requests)).bench(|| {
        let outcome = prodsim_model::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.requests.completed)
    });
}

/// The same run counted in events.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn payment_outage_events(bencher: divan::Bencher) {
    let scenario = payment_outage();
    let events = prodsim_model::simulate(&scenario, 42).expect("runs").events;
    bencher.counter(ItemsCount::new(events)).bench(|| {
        let outcome = prodsim_model::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.events)
    });
}

/// Simulated requests per wall-clock second with monitoring, alerting and logging on.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn payment_outage_observed_requests(bencher: divan::Bencher) {
    let scenario = payment_outage_observed();
    let requests = arrivals(&scenario);
    bencher.counter(ItemsCount::new(requests)).bench(|| {
        let outcome = prodsim_model::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.requests.completed)
    });
}
