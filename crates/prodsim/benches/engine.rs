//! Engine benchmarks: the M/M/8 model (λ = 7.2/s, μ = 1/s per worker) for one million
//! customers, reported as customers per second (divan's `item/s`) and events per second.
//!
//! Run with `cargo bench --bench engine`. The target is at least 11M customers/s on one core.

use std::path::Path;

use divan::counter::ItemsCount;
use prodsim_kernel::{EventQueue, SimTime};

fn main() {
    divan::main();
}

/// Customers per run: λ × duration.
const CUSTOMERS: u64 = 1_000_000;

fn mm8() -> prodsim_scenario::Scenario {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("scenarios/theory/mm8.toml");
    let mut s = prodsim_scenario::load(&path).expect("mm8 scenario loads").scenario;
    s.warmup_ns = 0;
    // 1M customers at 7.2 per second.
    s.duration_ns = (CUSTOMERS as f64 / 7.2 * 1e9) as u64;
    s
}

/// Whole model: arrivals, balancer, server pool, histograms and time series.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn mm8_one_million_customers(bencher: divan::Bencher) {
    let scenario = mm8();
    bencher.counter(ItemsCount::new(CUSTOMERS)).bench(|| {
        let outcome = prodsim_model::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.requests.completed)
    });
}

/// Same model, counted in events (two per customer) to compare with other simulators.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn mm8_events(bencher: divan::Bencher) {
    let scenario = mm8();
    bencher.counter(ItemsCount::new(2 * CUSTOMERS)).bench(|| {
        let outcome = prodsim_model::simulate(&scenario, 42).expect("runs");
        divan::black_box(outcome.events)
    });
}

/// The bare event queue: schedule and pop 1M events with a small pending set, as in M/M/8.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn event_queue_hold_model(bencher: divan::Bencher) {
    bencher.counter(ItemsCount::new(CUSTOMERS)).bench(|| {
        let mut q: EventQueue<u64> = EventQueue::with_capacity(16);
        for i in 0..9u64 {
            q.schedule(SimTime(i * 1_000), i);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..CUSTOMERS {
            let (t, e) = q.pop().expect("non-empty");
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            q.schedule(t.after(x % 1_000_000), e);
        }
        divan::black_box(q.len())
    });
}
