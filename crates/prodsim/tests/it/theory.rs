//! The simulator reproduces queueing theory: closed forms must lie inside 99.9% batch-means
//! confidence intervals computed from the run, and the intervals must be narrow enough
//! (a few percent) for the comparison to mean something.

use crate::common::{Estimate, batch_means, blocking, mean_latency_s, scenario, wait_probability};
use prodsim_parts::Strategy;

const BATCHES: usize = 30;

fn factorial(n: u32) -> f64 {
    (1..=n).map(f64::from).product()
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load `a` Erlangs.
fn erlang_c(c: u32, a: f64) -> f64 {
    let top = a.powi(c as i32) / factorial(c) * (f64::from(c) / (f64::from(c) - a));
    let bottom: f64 = (0..c).map(|k| a.powi(k as i32) / factorial(k)).sum::<f64>() + top;
    top / bottom
}

/// Blocking probability of M/M/c/K.
fn mmck_blocking(c: u32, k: u32, a: f64) -> f64 {
    let p = |n: u32| {
        if n <= c {
            a.powi(n as i32) / factorial(n)
        } else {
            a.powi(c as i32) / factorial(c) * (a / f64::from(c)).powi((n - c) as i32)
        }
    };
    p(k) / (0..=k).map(p).sum::<f64>()
}

fn check(name: &str, what: &str, est: Estimate, theory: f64, max_relative_width: f64) {
    eprintln!("{name} {what}: theory {theory:.5}, simulated {:.5} ± {:.5}", est.mean, est.half_width);
    assert!(
        est.contains(theory),
        "{name} {what}: theory {theory} outside the 99.9% interval [{}, {}]",
        est.lo(),
        est.hi()
    );
    assert!(
        est.half_width <= max_relative_width * theory,
        "{name} {what}: interval ±{} too wide to test against {theory}",
        est.half_width
    );
}

#[test]
fn mm1_mean_sojourn_and_wait_probability() {
    let s = scenario("scenarios/theory/mm1.toml");
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let (lambda, mu) = (8.0, 10.0);
    check(
        "M/M/1",
        "mean sojourn (s)",
        batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s),
        1.0 / (mu - lambda),
        0.05,
    );
    check("M/M/1", "P(wait)", batch_means(&o.rows, s.warmup_ns, BATCHES, wait_probability), lambda / mu, 0.02);
    assert!((o.servers[0].utilization - 0.8).abs() < 0.01, "utilization {}", o.servers[0].utilization);
}

#[test]
fn mm8_matches_erlang_c() {
    let mut s = scenario("scenarios/theory/mm8.toml");
    // Four times the shipped 40 h (about 4M customers) for a narrow interval at ρ = 0.9.
    s.duration_ns *= 4;
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let (lambda, mu, c) = (7.2, 1.0, 8);
    let pw = erlang_c(c, lambda / mu);
    let w = pw / (f64::from(c) * mu - lambda) + 1.0 / mu;
    check("M/M/8", "P(wait)", batch_means(&o.rows, s.warmup_ns, BATCHES, wait_probability), pw, 0.03);
    check("M/M/8", "mean sojourn (s)", batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s), w, 0.05);
}

#[test]
fn md1_matches_pollaczek_khinchine() {
    let s = scenario("scenarios/theory/md1.toml");
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let (lambda, service) = (8.0, 0.1);
    let rho: f64 = lambda * service;
    let w = rho / (2.0 * (1.0 / service) * (1.0 - rho)) + service;
    check("M/D/1", "mean sojourn (s)", batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s), w, 0.04);
}

#[test]
fn mg1_matches_pollaczek_khinchine_with_the_distributions_moments() {
    let s = scenario("scenarios/theory/mg1.toml");
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let lambda = 7.0;
    let es = s.servers.service_time.as_ref().and_then(|d| d.mean_ns()).expect("finite mean") / 1e9;
    let es2 = s.servers.service_time.as_ref().and_then(|d| d.second_moment_ns2()).expect("finite second moment") / 1e18;
    let rho = lambda * es;
    let w = lambda * es2 / (2.0 * (1.0 - rho)) + es;
    check("M/G/1", "mean sojourn (s)", batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s), w, 0.05);
}

#[test]
fn mmck_blocking_probability() {
    let s = scenario("scenarios/theory/mmck.toml");
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let pk = mmck_blocking(4, 10, 4.0);
    check("M/M/4/10", "blocking", batch_means(&o.rows, s.warmup_ns, BATCHES, blocking), pk, 0.05);
}

#[test]
fn random_dispatch_is_n_independent_mm1_and_least_connections_beats_it() {
    let mut s = scenario("scenarios/theory/dispatch10.toml");
    s.balancer.strategy = Strategy::Random;
    let random = prodsim_model::simulate(&s, s.seed).expect("runs");
    // Each server sees Poisson arrivals at λ/n = 0.9/s: M/M/1 with W = 1/(1 − 0.9) = 10 s.
    let random_w = batch_means(&random.rows, s.warmup_ns, BATCHES, mean_latency_s);
    check("random over 10 M/M/1", "mean sojourn (s)", random_w, 10.0, 0.15);

    s.balancer.strategy = Strategy::LeastConnections;
    let lc = prodsim_model::simulate(&s, s.seed).expect("runs");
    let lc_w = batch_means(&lc.rows, s.warmup_ns, BATCHES, mean_latency_s);
    eprintln!("least connections: {:.3} ± {:.3} s", lc_w.mean, lc_w.half_width);
    assert!(lc_w.hi() < random_w.lo(), "least connections {lc_w:?} not below random {random_w:?}");
    // Joining the shortest queue cannot beat a single pooled M/M/10 queue.
    let pooled_w = erlang_c(10, 9.0) / (10.0 - 9.0) + 1.0;
    assert!(lc_w.lo() > pooled_w * 0.98, "least connections {lc_w:?} below the M/M/10 bound {pooled_w}");
}
