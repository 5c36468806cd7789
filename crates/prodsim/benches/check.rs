//! `prodsim check` speed: cases per minute on a small topology, the shipped
//! `scenarios/checkout-robust.toml` (three app servers, a payment API, a database with a
//! replica, a retry queue; 12 simulated minutes at 100 requests/s).
//!
//! Each case generates a fault schedule, runs it and its fault-free baseline (two runs of
//! about 70,000 requests each), and checks every invariant; every sixteenth case runs a
//! third time for determinism. Run with `cargo bench --bench check`; divan's `item/s` is
//! cases per second (times 60 for cases per minute). The target is at least 1,000 cases
//! per minute on this 2-core machine, i.e. 16.7 item/s on the two-thread bench.

use std::path::Path;

use divan::counter::ItemsCount;
use prodsim_lab::check::{self, CheckOptions};

fn main() {
    divan::main();
}

const CASES: u32 = 64;

fn robust() -> prodsim_scenario::Scenario {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("scenarios/checkout-robust.toml");
    prodsim_scenario::load(&path).expect("checkout-robust loads").scenario
}

fn bench_check(bencher: divan::Bencher, jobs: usize) {
    let scenario = robust();
    let mut options = CheckOptions::new(1);
    options.cases = CASES;
    options.jobs = jobs;
    // Every kind the robust shop survives (a crash or an OOM kill mid-charge loses a payment).
    options.kinds = prodsim_lab::chaos::FaultSpace::of(&scenario)
        .kinds()
        .into_iter()
        .filter(|k| !matches!(*k, "crash" | "memory_leak"))
        .map(str::to_string)
        .collect();
    bencher.counter(ItemsCount::new(CASES)).bench(|| {
        let report = check::check(&scenario, &options, &|_| {}).expect("checks");
        assert!(report.counterexample.is_none(), "the robust shop passes");
        report.cases_run
    });
}

/// 64 cases on one thread.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn check_cases_one_thread(bencher: divan::Bencher) {
    bench_check(bencher, 1);
}

/// 64 cases on two threads (this machine's cores).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn check_cases_two_threads(bencher: divan::Bencher) {
    bench_check(bencher, 2);
}
