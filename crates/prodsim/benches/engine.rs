//! Engine benchmarks: the M/M/8 model (λ = 7.2/s, μ = 1/s per worker) for one million
//! customers, through prodsim's one engine and through a minimal hand-written loop, side by
//! side, reported as customers per second (divan's `item/s`); and the bare event queue.
//!
//! Run with `cargo bench --bench engine`. The target: prodsim's whole engine at least 0.8×
//! the hand loop's customers per second.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::Path;

use divan::counter::ItemsCount;
use prodsim_kernel::{EventQueue, SimTime};
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};

fn main() {
    divan::main();
}

/// Customers per run: λ × duration.
const CUSTOMERS: u64 = 1_000_000;

fn mm8() -> prodsim_scenario::Scenario {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/theory/mm8.toml"));
    let mut s = prodsim_scenario::load(path).expect("mm8 scenario loads").scenario;
    s.warmup_ns = 0;
    // 1M customers at 7.2 per second.
    s.duration_ns = (CUSTOMERS as f64 / 7.2 * 1e9) as u64;
    s
}

/// The whole engine: arrivals, balancer, server pool, keyed draws, histograms and time
/// series, on the scenario file.
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

/// An event of the hand loop: (time ns, sequence, arrival time of a departing customer or
/// `u64::MAX` for an arrival). Ordered by time, then scheduling order.
type HandEvent = Reverse<(u64, u64, u64)>;

/// A minimal M/M/8 loop on `std::collections::BinaryHeap`: Poisson arrivals, exponential
/// service, eight workers and one FIFO queue, the mean sojourn summed; the same generator
/// family and samplers as prodsim, no histograms, no time series, no limits.
fn hand_loop(customers: u64) -> f64 {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(42);
    let arrival = Exp::new(7.2e-9).expect("rate");
    let service = Exp::new(1e-9).expect("rate");
    let mut heap: BinaryHeap<HandEvent> = BinaryHeap::with_capacity(16);
    let mut waiting: VecDeque<u64> = VecDeque::with_capacity(1024);
    let (mut seq, mut busy, mut sum_ns, mut done) = (0u64, 0u32, 0u128, 0u64);
    heap.push(Reverse((arrival.sample(&mut rng) as u64, 0, u64::MAX)));
    while let Some(Reverse((now, _, arrived))) = heap.pop() {
        seq += 1;
        if arrived == u64::MAX {
            heap.push(Reverse((now + arrival.sample(&mut rng) as u64, seq, u64::MAX)));
            seq += 1;
            if busy < 8 {
                busy += 1;
                heap.push(Reverse((now + service.sample(&mut rng) as u64, seq, now)));
            } else {
                waiting.push_back(now);
            }
            continue;
        }
        sum_ns += u128::from(now - arrived);
        done += 1;
        if done == customers {
            break;
        }
        match waiting.pop_front() {
            Some(next) => heap.push(Reverse((now + service.sample(&mut rng) as u64, seq, next))),
            None => busy -= 1,
        }
    }
    sum_ns as f64 / done as f64 / 1e9
}

/// The hand-written loop, for the same million customers.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn mm8_hand_loop(bencher: divan::Bencher) {
    bencher.counter(ItemsCount::new(CUSTOMERS)).bench(|| divan::black_box(hand_loop(CUSTOMERS)));
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_hand_loop_is_an_mm8_queue() {
        // Erlang C at λ = 7.2, μ = 1, c = 8: W ≈ 1.8769 s.
        let w = super::hand_loop(200_000);
        assert!((w - 1.89).abs() < 0.1, "{w}");
    }
}
