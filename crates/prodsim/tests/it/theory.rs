//! The simulator reproduces queueing theory: closed forms must lie inside 99.9% batch-means
//! confidence intervals computed from the run, and the intervals must be narrow enough
//! (a few percent) for the comparison to mean something. Where theory gives no closed form
//! for a finite pool (join the shortest queue, power of d choices at n = 50), the interval
//! must lie between known bounds, or within a justified band above the mean-field limit.

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

/// Stationary distribution p_0..=p_K of the M/M/c/K birth–death chain with offered load
/// `a` Erlangs: p_n ∝ aⁿ/n! up to c busy workers, then × (a/c) per waiting request.
fn mmck_stationary(c: u32, k: u32, a: f64) -> Vec<f64> {
    let weight = |n: u32| {
        if n <= c {
            a.powi(n as i32) / factorial(n)
        } else {
            a.powi(c as i32) / factorial(c) * (a / f64::from(c)).powi((n - c) as i32)
        }
    };
    let weights: Vec<f64> = (0..=k).map(weight).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
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

/// M/M/4/10 (`scenarios/theory/mmck.toml`) against its birth–death chain: the blocking
/// probability p_K, the mean sojourn of admitted requests by Little's law (W = L / λ(1 − p_K),
/// L the chain's mean number in the system) and the share of admitted requests that wait
/// (an arrival waits when it sees c to K − 1 in the system, PASTA).
#[test]
fn mmck_blocking_sojourn_and_wait_match_the_birth_death_chain() {
    let s = scenario("scenarios/theory/mmck.toml");
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let (c, k, lambda, mu) = (4, 10, 4.0, 1.0);
    let p = mmck_stationary(c, k, lambda / mu);
    let pk = p[k as usize];
    let l: f64 = p.iter().enumerate().map(|(n, pn)| n as f64 * pn).sum();
    let w = l / (lambda * (1.0 - pk));
    let wait = p[c as usize..k as usize].iter().sum::<f64>() / (1.0 - pk);
    check("M/M/4/10", "blocking", batch_means(&o.rows, s.warmup_ns, BATCHES, blocking), pk, 0.05);
    check("M/M/4/10", "mean sojourn (s)", batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s), w, 0.03);
    check("M/M/4/10", "P(wait | admitted)", batch_means(&o.rows, s.warmup_ns, BATCHES, wait_probability), wait, 0.02);
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

/// Mean sojourn (μ = 1) of the supermarket model, power of `d` choices at per-server load
/// `lambda` as n → ∞: Σ_{i≥1} λ^((dⁱ − d)/(d − 1)).
fn supermarket_sojourn(d: u32, lambda: f64) -> f64 {
    let d = f64::from(d);
    let terms = (1..).map(|i| lambda.powf((d.powi(i) - d) / (d - 1.0)));
    terms.take_while(|t| *t > 1e-12).sum()
}

/// Join the shortest queue on fifty M/M/1 servers at 90% load
/// (`scenarios/theory/dispatch50.toml` with `least_connections`, which counts the requests
/// in service and waiting on each server): it must be slower than one pooled M/M/50 queue
/// (a request waits for its own server, while another may fall idle) and faster than the
/// power of two choices' mean-field value, which power of two itself only approaches from
/// above (JSQ sees every queue, d = 2 sees two).
#[test]
fn join_the_shortest_queue_at_n_50_lies_between_pooled_mmn_and_power_of_two() {
    let mut s = scenario("scenarios/theory/dispatch50.toml");
    s.balancer.strategy = Strategy::LeastConnections;
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    let w = batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s);
    let pooled = erlang_c(50, 45.0) / (50.0 - 45.0) + 1.0;
    let power_of_two = supermarket_sojourn(2, 0.9);
    let random = 1.0 / (1.0 - 0.9);
    eprintln!(
        "JSQ n=50 mean sojourn (s): simulated {:.4} ± {:.4}; pooled M/M/50 {pooled:.4}, power of two (mean field) \
         {power_of_two:.4}, random {random:.1}",
        w.mean, w.half_width
    );
    assert!(w.half_width <= 0.02 * w.mean, "JSQ interval ±{} too wide", w.half_width);
    assert!(w.lo() > pooled, "JSQ {w:?} not above the pooled M/M/50 bound {pooled}");
    assert!(w.hi() < power_of_two, "JSQ {w:?} not below power of two's {power_of_two} (random: {random})");
}

/// Power of d choices on fifty M/M/1 servers at 90% load (`scenarios/theory/dispatch50.toml`)
/// against the supermarket model's mean-field sojourn T_d(0.9): 2.614 s for d = 2,
/// 2.028 s for d = 3.
///
/// The tolerance: the mean field is the n → ∞ limit, and a finite pool sits slightly
/// above it. The error of a mean-field expectation is of order 1/n
/// (Gast, 2017), so a few percent at n = 50: this engine measures about +2.5% for d = 2
/// and +3.4% for d = 3 (each ±1.2%). The simulated interval must therefore meet
/// [T_d, 1.08 T_d] and be at most ±2% wide. Random dispatch (10 s), least connections (about
/// 1.17 s here) or the other d each miss that band by far: the bands of d = 2 and d = 3 do
/// not overlap.
#[test]
fn power_of_d_at_n_50_sits_just_above_the_supermarket_mean_field() {
    let mut s = scenario("scenarios/theory/dispatch50.toml");
    s.balancer.strategy = Strategy::PowerOfTwo;
    for d in [2, 3] {
        s.balancer.choices = d;
        let o = prodsim_model::simulate(&s, s.seed).expect("runs");
        let w = batch_means(&o.rows, s.warmup_ns, BATCHES, mean_latency_s);
        let mean_field = supermarket_sojourn(d, 0.9);
        eprintln!(
            "power of {d} n=50 mean sojourn (s): mean field {mean_field:.4}, simulated {:.4} ± {:.4} ({:+.2}%)",
            w.mean,
            w.half_width,
            100.0 * (w.mean / mean_field - 1.0)
        );
        assert!(w.half_width <= 0.02 * mean_field, "d = {d}: interval ±{} too wide", w.half_width);
        assert!(
            w.hi() >= mean_field && w.lo() <= 1.08 * mean_field,
            "d = {d}: simulated {w:?} outside [T_d, 1.08 T_d] = [{mean_field}, {}]",
            1.08 * mean_field
        );
    }
}
