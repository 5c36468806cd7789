//! Statistics over replications: means with Student-t confidence intervals, and the paired
//! t-test that common random numbers call for.
//!
//! Every variant of an experiment sees the same seeds, so replication `r` of variant A and
//! replication `r` of variant B share their traffic. Their difference then has far less
//! noise than either value, and the right test is on the per-replication differences (a
//! paired t-test), not on two independent samples.
//!
//! Values that are not finite (a percentile of a run in which nothing completed) are left
//! out; a pair is used only when both of its values are finite.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval and test: 95%.
pub const CONFIDENCE: f64 = 0.95;

/// A mean and its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Mean of the finite values; NaN when there are none.
    pub mean: f64,
    /// Lower end of the 95% interval; NaN with fewer than two values.
    pub ci_low: f64,
    /// Upper end of the 95% interval; NaN with fewer than two values.
    pub ci_high: f64,
    /// How many finite values went in.
    pub n: usize,
}

impl Estimate {
    /// No value at all (a metric a point does not have): NaN mean and interval, `n` 0.
    pub const EMPTY: Estimate = Estimate { mean: f64::NAN, ci_low: f64::NAN, ci_high: f64::NAN, n: 0 };

    /// Half the width of the interval (NaN when there is none).
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }
}

/// The 95% Student-t interval for the mean of the finite `values`.
pub fn estimate(values: &[f64]) -> Estimate {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    if n == 0 {
        return Estimate::EMPTY;
    }
    let (mean, sd) = mean_sd(&finite);
    let half = t_quantile(n) * sd / (n as f64).sqrt();
    Estimate { mean, ci_low: mean - half, ci_high: mean + half, n }
}

/// The outcome of a paired t-test of `a` against `b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedTest {
    /// Mean of `a[i] - b[i]`.
    pub mean_diff: f64,
    /// Lower end of the 95% interval of the mean difference.
    pub ci_low: f64,
    /// Upper end of the 95% interval of the mean difference.
    pub ci_high: f64,
    /// Pairs used (both values finite).
    pub n: usize,
    /// Two-sided p-value of "the mean difference is zero"; NaN with fewer than two pairs.
    pub p_value: f64,
}

impl PairedTest {
    /// True when the difference is significant at the 95% level: the interval of the mean
    /// difference excludes zero.
    pub fn significant(&self) -> bool {
        self.p_value < 1.0 - CONFIDENCE
    }
}

/// Paired t-test of `a` against `b`, pairing `a[i]` with `b[i]` (replication `i` of two
/// variants run on the same seed). Extra values of the longer slice are ignored.
pub fn paired(a: &[f64], b: &[f64]) -> PairedTest {
    let diffs: Vec<f64> = a.iter().zip(b).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| x - y).collect();
    let n = diffs.len();
    if n < 2 {
        let mean_diff = diffs.first().copied().unwrap_or(f64::NAN);
        return PairedTest { mean_diff, ci_low: f64::NAN, ci_high: f64::NAN, n, p_value: f64::NAN };
    }
    let (mean, sd) = mean_sd(&diffs);
    let se = sd / (n as f64).sqrt();
    let half = t_quantile(n) * se;
    let p_value = if se > 0.0 {
        let t = (mean / se).abs();
        2.0 * (1.0 - students_t(n).cdf(t))
    } else if mean == 0.0 {
        // Identical in every replication: no evidence of a difference.
        1.0
    } else {
        // The same non-zero difference in every replication.
        0.0
    };
    PairedTest { mean_diff: mean, ci_low: mean - half, ci_high: mean + half, n, p_value }
}

/// Mean and sample standard deviation (n - 1 in the denominator; 0 for one value).
fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Student t with `n - 1` degrees of freedom.
fn students_t(n: usize) -> StudentsT {
    // n >= 2 at every call site, so the degrees of freedom are positive and finite.
    StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("positive degrees of freedom")
}

/// The two-sided 95% quantile of Student t for a sample of `n`; NaN when `n < 2`.
fn t_quantile(n: usize) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    students_t(n).inverse_cdf(0.5 + CONFIDENCE / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn interval_matches_the_textbook() {
        // n = 5, mean 3, sd = sqrt(2.5); t(0.975, 4) = 2.776445105.
        let e = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        let half = 2.776_445_105_197_793 * 2.5f64.sqrt() / 5f64.sqrt();
        assert_eq!(e.n, 5);
        assert!(close(e.mean, 3.0));
        assert!(close(e.ci_low, 3.0 - half), "{e:?}");
        assert!(close(e.ci_high, 3.0 + half), "{e:?}");
    }

    #[test]
    fn non_finite_values_are_left_out_and_small_samples_have_no_interval() {
        let e = estimate(&[f64::NAN, 2.0, f64::INFINITY]);
        assert_eq!(e.n, 1);
        assert_eq!(e.mean, 2.0);
        assert!(e.ci_low.is_nan() && e.ci_high.is_nan());
        let empty = estimate(&[]);
        assert_eq!(empty.n, 0);
        assert!(empty.mean.is_nan());
    }

    #[test]
    fn paired_test_sees_through_shared_noise() {
        // Huge noise shared by both, a small constant-ish difference: significant when paired.
        let noise = [100.0, -50.0, 300.0, 7.0, -120.0, 42.0];
        let a: Vec<f64> = noise.iter().enumerate().map(|(i, n)| n + 1.0 + 0.01 * i as f64).collect();
        let b: Vec<f64> = noise.to_vec();
        let t = paired(&a, &b);
        assert!(t.significant(), "{t:?}");
        assert!(t.ci_low > 0.0 && t.ci_high > t.ci_low);
        let same = paired(&b, &b);
        assert_eq!(same.p_value, 1.0);
        assert!(!same.significant());
    }

    #[test]
    fn paired_p_value_matches_the_t_distribution() {
        // diffs 1, 2, 3: mean 2, sd 1, se 1/sqrt(3), t = 3.4641, df 2: p = 0.07418.
        let t = paired(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]);
        assert!((t.p_value - 0.074_180_9).abs() < 1e-6, "{t:?}");
        assert!(!t.significant());
    }

    #[test]
    fn constant_non_zero_difference_is_significant_and_short_input_is_not() {
        assert!(paired(&[2.0, 3.0, 4.0], &[1.0, 2.0, 3.0]).significant());
        let one = paired(&[2.0], &[1.0]);
        assert_eq!(one.n, 1);
        assert!(!one.significant());
        let unpaired = paired(&[1.0, f64::NAN, 3.0], &[f64::NAN, 2.0, 1.0]);
        assert_eq!(unpaired.n, 1);
    }
}
