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
fn payment_outage() -> prodsim::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/payment-outage.toml");
    let mut s = prodsim::load(&path).expect("payment-outage loads").scenario;
    s.duration_ns = 40 * 60 * 1_000_000_000;
    s
}

/// Requests the run simulates, warmup included (the same every sample: same seed).
fn arrivals(s: &prodsim::Scenario) -> u64 {
    prodsim::simulate(s, 42).expect("runs").rows.iter().map(|r| r.arrivals).sum()
}

/// Simulated requests per wall-clock second, whole model.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn payment_outage_requests(bencher: divan::Bencher) {
    let scenario = payment_outage();
    let requests = arrivals(&scenario);
    bencher.counter(ItemsCount::new(requests)).bench(|| {
        let outcome = prodsim::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.requests.completed)
    });
}

/// The same run counted in events.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn payment_outage_events(bencher: divan::Bencher) {
    let scenario = payment_outage();
    let events = prodsim::simulate(&scenario, 42).expect("runs").events;
    bencher.counter(ItemsCount::new(events)).bench(|| {
        let outcome = prodsim::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.events)
    });
}
