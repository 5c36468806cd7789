//! The checks that stop a bad release: the post-deploy health check (the new version's
//! error ratio and p99 over the last interval, against fixed limits) and the canary
//! analysis (the canary against the baseline over a bake, as Kayenta or Argo Rollouts'
//! analysis compare them). Both read [`WindowStats`], which the simulator fills with
//! every user request of the version and resets at each verdict.

use hdrhistogram::Histogram;

use crate::delivery::{CanaryAnalysis, HealthCheckSpec};

/// Requests, errors and latencies of one version over a window.
#[derive(Clone, Debug)]
pub struct WindowStats {
    /// Requests answered.
    pub requests: u64,
    /// Of those, errors (failed, rejected or timed out).
    pub errors: u64,
    latency: Histogram<u32>,
}

impl Default for WindowStats {
    fn default() -> Self {
        WindowStats::new()
    }
}

/// Bounds of the latency histogram: 1 µs to 1 hour, 2 significant digits.
const LOWEST_NS: u64 = 1_000;
const HIGHEST_NS: u64 = 3_600_000_000_000;

impl WindowStats {
    /// An empty window.
    pub fn new() -> WindowStats {
        // The bounds are constants that hdrhistogram accepts.
        let latency = Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, 2).expect("valid histogram bounds");
        WindowStats { requests: 0, errors: 0, latency }
    }

    /// One request answered after `latency_ns`, successfully or not. Allocates nothing.
    #[inline]
    pub fn record(&mut self, latency_ns: u64, ok: bool) {
        self.requests += 1;
        if !ok {
            self.errors += 1;
        }
        self.latency.saturating_record(latency_ns.clamp(LOWEST_NS, HIGHEST_NS));
    }

    /// Errors over requests (0 without requests).
    pub fn error_ratio(&self) -> f64 {
        if self.requests == 0 { 0.0 } else { self.errors as f64 / self.requests as f64 }
    }

    /// The 99th percentile latency, ns (0 without requests).
    pub fn p99_ns(&self) -> u64 {
        if self.requests == 0 { 0 } else { self.latency.value_at_quantile(0.99) }
    }

    /// Empties the window.
    pub fn reset(&mut self) {
        self.requests = 0;
        self.errors = 0;
        self.latency.reset();
    }
}

/// What a check concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The version is healthy.
    Pass,
    /// The version is not: why, in one sentence with the numbers.
    Fail(String),
    /// Too few requests to judge.
    Inconclusive,
}

fn ms(ns: u64) -> String {
    format!("{:.0}ms", ns as f64 / 1e6)
}

/// The health check of the new version over its last interval.
pub fn health_verdict(new: &WindowStats, spec: &HealthCheckSpec) -> Verdict {
    if new.requests < spec.min_requests.max(1) {
        return Verdict::Inconclusive;
    }
    let ratio = new.error_ratio();
    if ratio > spec.max_error_ratio {
        return Verdict::Fail(format!(
            "error ratio {:.2}% over {} requests is above the health check's {:.2}%",
            ratio * 100.0,
            new.requests,
            spec.max_error_ratio * 100.0
        ));
    }
    if let Some(max) = spec.max_p99_ns {
        let p99 = new.p99_ns();
        if p99 > max {
            return Verdict::Fail(format!("p99 {} is above the health check's {}", ms(p99), ms(max)));
        }
    }
    Verdict::Pass
}

/// The canary analysis of one step: the canary against the baseline over the bake.
pub fn canary_verdict(canary: &WindowStats, baseline: &WindowStats, analysis: &CanaryAnalysis) -> Verdict {
    if canary.requests < analysis.min_requests.max(1) || baseline.requests == 0 {
        return Verdict::Inconclusive;
    }
    let (c, b) = (canary.error_ratio(), baseline.error_ratio());
    if c > b + analysis.max_error_increase {
        return Verdict::Fail(format!(
            "canary error ratio {:.2}% against the baseline's {:.2}% (allowed +{:.2} points)",
            c * 100.0,
            b * 100.0,
            analysis.max_error_increase * 100.0
        ));
    }
    let (cp, bp) = (canary.p99_ns(), baseline.p99_ns());
    if cp as f64 > bp as f64 * analysis.max_latency_ratio {
        return Verdict::Fail(format!(
            "canary p99 {} against the baseline's {} (allowed ×{})",
            ms(cp),
            ms(bp),
            analysis.max_latency_ratio
        ));
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn stats(n: u64, errors: u64, latency_ms: u64) -> WindowStats {
        let mut s = WindowStats::new();
        for i in 0..n {
            s.record(latency_ms * MS, i >= errors);
        }
        s
    }

    #[test]
    fn window_stats_count_and_reset() {
        let mut s = stats(200, 10, 40);
        assert_eq!((s.requests, s.errors), (200, 10));
        assert!((s.error_ratio() - 0.05).abs() < 1e-12);
        let p99 = s.p99_ns();
        assert!(p99.abs_diff(40 * MS) <= 40 * MS / 100, "{p99}");
        s.reset();
        assert_eq!((s.requests, s.errors, s.p99_ns()), (0, 0, 0));
    }

    #[test]
    fn health_check_judges_error_ratio_and_p99() {
        let spec = HealthCheckSpec {
            window_ns: 0,
            interval_ns: 0,
            max_error_ratio: 0.05,
            max_p99_ns: Some(500 * MS),
            min_requests: 20,
        };
        assert_eq!(health_verdict(&stats(10, 10, 1), &spec), Verdict::Inconclusive);
        assert_eq!(health_verdict(&stats(100, 2, 100), &spec), Verdict::Pass);
        assert!(matches!(health_verdict(&stats(100, 10, 100), &spec), Verdict::Fail(m) if m.contains("10.00%")));
        assert!(matches!(health_verdict(&stats(100, 0, 900), &spec), Verdict::Fail(m) if m.contains("p99")));
    }

    #[test]
    fn canary_analysis_compares_against_the_baseline() {
        let a = CanaryAnalysis::default();
        let base = stats(1000, 10, 100);
        assert_eq!(canary_verdict(&stats(40, 0, 100), &base, &a), Verdict::Inconclusive);
        assert_eq!(canary_verdict(&stats(100, 1, 110), &base, &a), Verdict::Pass);
        assert!(
            matches!(canary_verdict(&stats(100, 5, 100), &base, &a), Verdict::Fail(m) if m.contains("error ratio"))
        );
        assert!(matches!(canary_verdict(&stats(100, 0, 300), &base, &a), Verdict::Fail(m) if m.contains("p99")));
    }
}
