//! Live-mode capacity: the largest load this machine sustains through the whole live path
//! (load generator -> proxy -> app server -> back, real HTTP over loopback) with a p99
//! under 10 ms, for a trivial service (`const(0ms)` work, 64 workers).
//!
//! Run with `cargo bench -p prodsim-live --bench live`. Before divan's table it prints the
//! search: each rate runs for 3 s of wall time and its p99 is measured by the load
//! generator from each request's intended start (coordinated-omission corrected); the
//! answer is the highest rate whose p99 stays under 10 ms. divan then times one second of
//! live load at 500 requests/s (`item/s` counts requests).

use divan::counter::ItemsCount;
use prodsim_live::{Options, plan};

fn main() {
    let rates = [250.0, 500.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0, 6_000.0, 8_000.0];
    let mut best = None;
    for rate in rates {
        let p99 = p99_ms(rate, 3.0);
        println!("live load {rate:>6.0} req/s: p99 {p99:.3} ms");
        if p99 < 10.0 {
            best = Some(rate);
        } else {
            break;
        }
    }
    match best {
        Some(rate) => println!("largest live load at p99 < 10 ms: {rate:.0} requests/s"),
        None => println!("largest live load at p99 < 10 ms: below {:.0} requests/s", rates[0]),
    }
    divan::main();
}

/// A trivial service at `rate` requests per second for `seconds` of wall time.
fn scenario(rate: f64, seconds: f64) -> prodsim_scenario::Scenario {
    let text = format!(
        "[scenario]\nname = \"bench\"\nduration = \"{}ms\"\nwarmup = \"500ms\"\n\n[[workload]]\nname = \"w\"\narrivals = \"constant\"\nrate = {rate}\n\n[servers]\ncount = 1\nworkers = 64\nservice_time = \"const(0ms)\"\n",
        (seconds * 1000.0) as u64
    );
    prodsim_scenario::load_str(&text, std::path::Path::new("bench.toml")).expect("bench scenario loads").scenario
}

/// The p99 in ms of a live run at `rate` (infinite when nothing completed).
fn p99_ms(rate: f64, seconds: f64) -> f64 {
    let options = Options { time_scale: 1.0, max_wall_rps: rate.max(plan::MAX_WALL_RPS) };
    match prodsim_live::run(&scenario(rate, seconds), options) {
        Ok(o) => o.measure.all.latency.quantile_ms(0.99).unwrap_or(f64::INFINITY),
        Err(e) => panic!("live run at {rate}/s: {e}"),
    }
}

/// One second of live load at 500 requests/s.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn one_second_at_500_per_s(bencher: divan::Bencher) {
    bencher.counter(ItemsCount::new(500usize)).bench(|| p99_ms(500.0, 1.0));
}
