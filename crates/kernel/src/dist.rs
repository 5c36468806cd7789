//! Probability distributions over non-negative durations: the service times, think times,
//! network delays and other random waits of a scenario.
//!
//! This module owns a distribution's text form in scenario files, its validation ([`parse`]),
//! its canonical printing (`Display` on [`Dist`], which [`parse`] reads back to an equal value),
//! sampling in the simulator's hot path ([`Dist::sample_ns`]) and the closed-form moments that
//! queueing checks such as Pollaczek–Khinchine need ([`Dist::mean_ns`],
//! [`Dist::second_moment_ns2`]).
//!
//! # Syntax
//!
//! | form | meaning |
//! | --- | --- |
//! | `const(5ms)` | always 5 ms |
//! | `exp(20ms)` | exponential with mean 20 ms |
//! | `uniform(1ms, 9ms)` | uniform on [low, high) |
//! | `normal(50ms, 5ms)` | normal with mean and standard deviation; negative draws become 0 |
//! | `lognormal(median=20ms, p99=200ms)` | lognormal fitted to a median and a 99th percentile |
//! | `lognormal(mean=20ms, sd=30ms)` | lognormal fitted to a mean and a standard deviation |
//! | `erlang(4, 10ms)` | `k` exponential phases with **total** mean 10 ms (SCV 1/k) |
//! | `gamma(shape=2.5, mean=10ms)` | gamma with the given shape and mean |
//! | `pareto(scale=1ms, shape=1.5)` | Pareto (type I): minimum `scale`, tail index `shape` |
//! | `weibull(scale=10ms, shape=1.5)` | Weibull with scale and shape |
//! | `mix(0.99: const(1ms), 0.01: const(1s))` | with probability 0.99 the first, else the second |
//!
//! Names are lowercase. Parameters go by position in the order shown or by keyword
//! (`pareto(shape=1.5, scale=1ms)`), positional ones first; the keywords are `value` (const),
//! `mean` (exp), `low`/`high`, `mean`/`sd` (normal), `median`/`p99` or `mean`/`sd` (lognormal),
//! `k`/`mean` (erlang), `shape`/`mean` (gamma), `scale`/`shape` (pareto, weibull). A positional
//! lognormal is `lognormal(median, p99)`. Durations use
//! [`parse_duration`](crate::units::parse_duration) syntax; shapes, `k` and mix
//! weights are plain numbers. Mix weights must be > 0 and sum to 1 within
//! [`MIX_WEIGHT_TOLERANCE`]; mixes nest up to [`MAX_MIX_DEPTH`] levels. Whitespace may appear
//! between any two tokens.
//!
//! # Sampling
//!
//! [`parse`] validates everything and builds the `rand_distr` samplers once, so
//! [`Dist::sample_ns`] neither allocates nor validates. Draws are rounded to the nearest
//! nanosecond and clamped to `[0, MAX_SAMPLE_NS]`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal, Pareto, Uniform, Weibull};
use statrs::distribution::{ContinuousCDF, Normal as StdNormal};
use statrs::function::{erf::erfc, gamma::gamma as gamma_fn};

use crate::units::format_duration;

/// The largest value [`Dist::sample_ns`] returns (`u64::MAX / 4`, about 146 years), so that
/// adding a few samples to a simulation clock cannot overflow.
pub const MAX_SAMPLE_NS: u64 = u64::MAX / 4;

/// How far the weights of a `mix` may sum away from 1.
pub const MIX_WEIGHT_TOLERANCE: f64 = 1e-9;

/// How many `mix` levels may nest inside one another.
pub const MAX_MIX_DEPTH: usize = 16;

/// The distribution names [`parse`] knows, as written in scenario files.
pub const NAMES: &[&str] =
    &["const", "exp", "uniform", "normal", "lognormal", "erlang", "gamma", "pareto", "weibull", "mix"];

/// Why a distribution string was rejected, and where.
///
/// `offset` is the byte offset into the string given to [`parse`] where the problem starts and
/// `len` the byte length of the offending part (0 only when the input ended too early).
/// `message` names the distribution and parameter and says what was expected, e.g.
/// "pareto: shape must be > 0, got `0`".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct DistError {
    /// Byte offset into the input where the problem starts.
    pub offset: usize,
    /// Byte length of the offending part; 0 only when the input ended too early.
    pub len: usize,
    /// What was wrong and what was expected instead.
    pub message: String,
}

impl DistError {
    fn new(offset: usize, len: usize, message: impl Into<String>) -> Self {
        DistError { offset, len, message: message.into() }
    }
}

/// A sampler built and validated when its [`Dist`] was built.
///
/// Its contents are private so that a `Dist` can only come from [`parse`] or the constructors,
/// and its samplers always match its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampler<T>(T);

/// How a lognormal was specified; printing keeps the same form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogNormalParams {
    /// `lognormal(median=.., p99=..)`: mu = ln(median), sigma = (ln(p99) − mu) / z₀.₉₉.
    MedianP99 {
        /// The median, in nanoseconds.
        median_ns: u64,
        /// The 99th percentile, in nanoseconds.
        p99_ns: u64,
    },
    /// `lognormal(mean=.., sd=..)`: sigma² = ln(1 + sd²/mean²), mu = ln(mean) − sigma²/2.
    MeanSd {
        /// The mean, in nanoseconds.
        mean_ns: u64,
        /// The standard deviation, in nanoseconds.
        sd_ns: u64,
    },
}

/// A probability distribution over non-negative durations, in nanoseconds.
///
/// Build one with [`parse`], [`Dist::constant`] or [`Dist::exponential`]; the fields are public
/// for reading, and every variant that samples holds a [`Sampler`] built at that time.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// `const(5ms)`: always `ns`.
    Const {
        /// The value, in nanoseconds.
        ns: u64,
    },
    /// `exp(20ms)`: exponential with mean `mean_ns` (> 0).
    Exp {
        /// The mean, in nanoseconds.
        mean_ns: u64,
        /// Exp with rate 1/mean.
        sampler: Sampler<Exp<f64>>,
    },
    /// `uniform(1ms, 9ms)`: uniform on `[low_ns, high_ns)`, `low_ns < high_ns`.
    Uniform {
        /// Lower bound, inclusive, in nanoseconds.
        low_ns: u64,
        /// Upper bound, exclusive, in nanoseconds.
        high_ns: u64,
        /// Uniform on [low, high).
        sampler: Sampler<Uniform<f64>>,
    },
    /// `normal(50ms, 5ms)`: normal with mean `mean_ns` and standard deviation `sd_ns` (> 0).
    /// Draws below zero are clamped to 0, so the moments returned by [`Dist::mean_ns`] and
    /// [`Dist::second_moment_ns2`] are those of `max(X, 0)`, not of the untruncated normal.
    Normal {
        /// Mean of the untruncated normal, in nanoseconds.
        mean_ns: u64,
        /// Standard deviation of the untruncated normal, in nanoseconds.
        sd_ns: u64,
        /// The untruncated normal.
        sampler: Sampler<Normal<f64>>,
    },
    /// `lognormal(median=20ms, p99=200ms)` or `lognormal(mean=20ms, sd=30ms)`: `exp(N(mu, sigma²))`.
    LogNormal {
        /// The parameters as written.
        params: LogNormalParams,
        /// Mean of the log of the value in nanoseconds.
        mu: f64,
        /// Standard deviation of the log of the value in nanoseconds (> 0).
        sigma: f64,
        /// LogNormal(mu, sigma).
        sampler: Sampler<LogNormal<f64>>,
    },
    /// `erlang(4, 10ms)`: the sum of `k` exponential phases whose **total** mean is `mean_ns`
    /// (each phase has mean `mean_ns / k`), so the mean is `mean_ns` and the squared
    /// coefficient of variation is `1/k`. `erlang(1, m)` is `exp(m)`.
    Erlang {
        /// Number of phases, ≥ 1.
        k: u32,
        /// Total mean, in nanoseconds.
        mean_ns: u64,
        /// Gamma(shape k, scale mean/k).
        sampler: Sampler<Gamma<f64>>,
    },
    /// `gamma(shape=2.5, mean=10ms)`: gamma with the given shape and mean (scale = mean/shape);
    /// its squared coefficient of variation is `1/shape`.
    Gamma {
        /// Shape, > 0.
        shape: f64,
        /// Mean, in nanoseconds.
        mean_ns: u64,
        /// Gamma(shape, scale mean/shape).
        sampler: Sampler<Gamma<f64>>,
    },
    /// `pareto(scale=1ms, shape=1.5)`: Pareto type I, never below `scale_ns`, with
    /// `P(X > x) = (scale/x)^shape`. The mean is infinite for `shape ≤ 1` and the second moment
    /// for `shape ≤ 2` (draws are still capped at [`MAX_SAMPLE_NS`]).
    Pareto {
        /// Minimum value, in nanoseconds, > 0.
        scale_ns: u64,
        /// Tail index, > 0.
        shape: f64,
        /// Pareto(scale, shape).
        sampler: Sampler<Pareto<f64>>,
    },
    /// `weibull(scale=10ms, shape=1.5)`: Weibull with `P(X > x) = exp(-(x/scale)^shape)`.
    Weibull {
        /// Scale, in nanoseconds, > 0.
        scale_ns: u64,
        /// Shape, > 0.
        shape: f64,
        /// Weibull(scale, shape).
        sampler: Sampler<Weibull<f64>>,
    },
    /// `mix(0.99: const(1ms), 0.01: const(1s))`: draws from `parts[i]` with probability
    /// `weights[i]`. Weights are > 0 and sum to 1 within [`MIX_WEIGHT_TOLERANCE`]; they are
    /// normalised by their sum when sampling and computing moments.
    Mix {
        /// The weights as written.
        weights: Vec<f64>,
        /// The components, as many as `weights`.
        parts: Vec<Dist>,
        /// Normalised cumulative weights, for sampling.
        cumulative: Sampler<Vec<f64>>,
    },
}

/// A parameter problem found while building: the parameter to blame (an index into the
/// form's parameter list), or `None` for the whole call.
struct Invalid {
    param: Option<usize>,
    message: String,
}

type Built = Result<Dist, Invalid>;

fn invalid(param: Option<usize>, message: String) -> Invalid {
    Invalid { param, message }
}

fn fmt_ns(ns: u64) -> String {
    format_duration(ns)
}

fn build_exp(mean_ns: u64) -> Built {
    if mean_ns == 0 {
        return Err(invalid(Some(0), "exp: mean must be > 0 (write `const(0s)` for no delay)".into()));
    }
    let sampler = Exp::new(1.0 / mean_ns as f64).map_err(|e| invalid(Some(0), format!("exp: mean: {e}")))?;
    Ok(Dist::Exp { mean_ns, sampler: Sampler(sampler) })
}

fn build_uniform(low_ns: u64, high_ns: u64) -> Built {
    if low_ns >= high_ns {
        return Err(invalid(
            Some(0),
            format!("uniform: low ({}) must be below high ({})", fmt_ns(low_ns), fmt_ns(high_ns)),
        ));
    }
    let sampler = Uniform::new(low_ns as f64, high_ns as f64)
        .map_err(|e| invalid(Some(0), format!("uniform: low and high: {e}")))?;
    Ok(Dist::Uniform { low_ns, high_ns, sampler: Sampler(sampler) })
}

fn build_normal(mean_ns: u64, sd_ns: u64) -> Built {
    if sd_ns == 0 {
        return Err(invalid(Some(1), "normal: sd must be > 0 (write `const(..)` for a fixed value)".into()));
    }
    let sampler =
        Normal::new(mean_ns as f64, sd_ns as f64).map_err(|e| invalid(Some(1), format!("normal: sd: {e}")))?;
    Ok(Dist::Normal { mean_ns, sd_ns, sampler: Sampler(sampler) })
}

/// The standard normal quantile z₀.₉₉ ≈ 2.3263.
fn z99() -> f64 {
    StdNormal::standard().inverse_cdf(0.99)
}

fn build_lognormal(params: LogNormalParams) -> Built {
    let (mu, sigma) = match params {
        LogNormalParams::MedianP99 { median_ns, p99_ns } => {
            if median_ns == 0 {
                return Err(invalid(Some(0), "lognormal: median must be > 0".into()));
            }
            if p99_ns <= median_ns {
                return Err(invalid(
                    Some(1),
                    format!("lognormal: p99 ({}) must be above median ({})", fmt_ns(p99_ns), fmt_ns(median_ns)),
                ));
            }
            let mu = (median_ns as f64).ln();
            (mu, ((p99_ns as f64).ln() - mu) / z99())
        }
        LogNormalParams::MeanSd { mean_ns, sd_ns } => {
            if mean_ns == 0 {
                return Err(invalid(Some(2), "lognormal: mean must be > 0".into()));
            }
            if sd_ns == 0 {
                return Err(invalid(Some(3), "lognormal: sd must be > 0".into()));
            }
            let cv = sd_ns as f64 / mean_ns as f64;
            let sigma2 = (cv * cv).ln_1p();
            ((mean_ns as f64).ln() - sigma2 / 2.0, sigma2.sqrt())
        }
    };
    let sampler = LogNormal::new(mu, sigma).map_err(|e| invalid(None, format!("lognormal: {e}")))?;
    Ok(Dist::LogNormal { params, mu, sigma, sampler: Sampler(sampler) })
}

fn build_erlang(k: u32, mean_ns: u64) -> Built {
    if k == 0 {
        return Err(invalid(Some(0), "erlang: k must be a positive integer, got `0`".into()));
    }
    if mean_ns == 0 {
        return Err(invalid(Some(1), "erlang: mean must be > 0".into()));
    }
    let sampler =
        Gamma::new(f64::from(k), mean_ns as f64 / f64::from(k)).map_err(|e| invalid(None, format!("erlang: {e}")))?;
    Ok(Dist::Erlang { k, mean_ns, sampler: Sampler(sampler) })
}

fn build_gamma(shape: f64, mean_ns: u64) -> Built {
    if !(shape > 0.0 && shape.is_finite()) {
        return Err(invalid(Some(0), format!("gamma: shape must be > 0, got {shape}")));
    }
    if mean_ns == 0 {
        return Err(invalid(Some(1), "gamma: mean must be > 0".into()));
    }
    let sampler = Gamma::new(shape, mean_ns as f64 / shape)
        .map_err(|e| invalid(Some(0), format!("gamma: shape {shape} with this mean: {e}")))?;
    Ok(Dist::Gamma { shape, mean_ns, sampler: Sampler(sampler) })
}

fn build_pareto(scale_ns: u64, shape: f64) -> Built {
    if scale_ns == 0 {
        return Err(invalid(Some(0), "pareto: scale must be > 0".into()));
    }
    if !(shape > 0.0 && shape.is_finite()) {
        return Err(invalid(Some(1), format!("pareto: shape must be > 0, got {shape}")));
    }
    let sampler = Pareto::new(scale_ns as f64, shape).map_err(|e| invalid(Some(1), format!("pareto: shape: {e}")))?;
    Ok(Dist::Pareto { scale_ns, shape, sampler: Sampler(sampler) })
}

fn build_weibull(scale_ns: u64, shape: f64) -> Built {
    if scale_ns == 0 {
        return Err(invalid(Some(0), "weibull: scale must be > 0".into()));
    }
    if !(shape > 0.0 && shape.is_finite()) {
        return Err(invalid(Some(1), format!("weibull: shape must be > 0, got {shape}")));
    }
    let sampler = Weibull::new(scale_ns as f64, shape).map_err(|e| invalid(Some(1), format!("weibull: shape: {e}")))?;
    Ok(Dist::Weibull { scale_ns, shape, sampler: Sampler(sampler) })
}

/// Blames weight `i` (param `Some(i)`) or the whole call (`None`, for the sum).
fn build_mix(weights: Vec<f64>, parts: Vec<Dist>) -> Built {
    if weights.is_empty() || weights.len() != parts.len() {
        return Err(invalid(None, "mix: expected at least one `weight: distribution` component".into()));
    }
    if let Some(i) = weights.iter().position(|w| !(*w > 0.0 && w.is_finite())) {
        return Err(invalid(Some(i), format!("mix: weight must be > 0, got {}", weights[i])));
    }
    let total: f64 = weights.iter().sum();
    if (total - 1.0).abs() > MIX_WEIGHT_TOLERANCE {
        return Err(invalid(None, format!("mix: weights must sum to 1, got {total}")));
    }
    let mut running = 0.0;
    let cumulative = weights
        .iter()
        .map(|w| {
            running += w;
            running / total
        })
        .collect();
    Ok(Dist::Mix { weights, parts, cumulative: Sampler(cumulative) })
}

/// Rounds a draw to the nearest nanosecond and clamps it to `[0, MAX_SAMPLE_NS]`; NaN gives
/// `MAX_SAMPLE_NS` (it fails the `x < CAP` test).
#[inline]
fn to_ns(x: f64) -> u64 {
    const CAP: f64 = MAX_SAMPLE_NS as f64;
    // Below CAP the sum cannot exceed MAX_SAMPLE_NS, so it fits an i64: converting to i64
    // and clamping negatives to 0 gives exactly what `as u64` gives, in about half the
    // instructions (x86-64 has no float-to-u64 conversion; `as u64` needs two conversions
    // and a fix-up).
    if x < CAP { ((x + 0.5) as i64).max(0) as u64 } else { MAX_SAMPLE_NS }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Dist {
    /// A distribution that always yields `ns` nanoseconds (`const(..)`).
    pub fn constant(ns: u64) -> Dist {
        Dist::Const { ns }
    }

    /// An exponential distribution with mean `mean_ns` nanoseconds (`exp(..)`), the mean
    /// rounded to the nearest nanosecond and at least 1 ns.
    ///
    /// # Panics
    ///
    /// If `mean_ns` is NaN, infinite, zero or negative: that is a bug in the caller, unlike a
    /// bad scenario file, which [`parse`] reports as an error.
    pub fn exponential(mean_ns: f64) -> Dist {
        assert!(mean_ns.is_finite() && mean_ns > 0.0, "Dist::exponential: mean must be finite and > 0, got {mean_ns}");
        let mean = (mean_ns.round() as u64).max(1);
        match build_exp(mean) {
            Ok(d) => d,
            Err(e) => panic!("{}", e.message),
        }
    }

    /// Draws one duration in nanoseconds: rounded to the nearest nanosecond and clamped to
    /// `[0, MAX_SAMPLE_NS]`. Never allocates and never fails.
    // Always inlined: called once per request, and as a call it cost a few percent of the
    // M/M/8 run in register saves and argument moves.
    #[inline(always)]
    pub fn sample_ns<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x = match self {
            Dist::Const { ns } => return (*ns).min(MAX_SAMPLE_NS),
            Dist::Exp { sampler, .. } => sampler.0.sample(rng),
            Dist::Uniform { sampler, .. } => sampler.0.sample(rng),
            Dist::Normal { sampler, .. } => sampler.0.sample(rng),
            Dist::LogNormal { sampler, .. } => sampler.0.sample(rng),
            Dist::Erlang { sampler, .. } | Dist::Gamma { sampler, .. } => sampler.0.sample(rng),
            Dist::Pareto { sampler, .. } => sampler.0.sample(rng),
            Dist::Weibull { sampler, .. } => sampler.0.sample(rng),
            Dist::Mix { parts, cumulative, .. } => {
                let u: f64 = rng.random();
                let i = cumulative.0.partition_point(|&c| c <= u);
                return match parts.get(i).or(parts.last()) {
                    Some(part) => part.sample_ns(rng),
                    None => 0,
                };
            }
        };
        to_ns(x)
    }

    /// The mean E\[S\] in nanoseconds, or `None` when it is infinite (`pareto` with
    /// `shape ≤ 1`, or a mix containing one).
    ///
    /// These are the moments of the distribution as written, before draws are rounded to whole
    /// nanoseconds and capped at [`MAX_SAMPLE_NS`]; for `normal` they are those of the
    /// clamped `max(X, 0)`.
    pub fn mean_ns(&self) -> Option<f64> {
        match self {
            Dist::Const { ns } => Some(*ns as f64),
            Dist::Exp { mean_ns, .. } | Dist::Erlang { mean_ns, .. } => Some(*mean_ns as f64),
            Dist::Gamma { mean_ns, .. } => Some(*mean_ns as f64),
            Dist::Uniform { low_ns, high_ns, .. } => Some((*low_ns as f64 + *high_ns as f64) / 2.0),
            Dist::Normal { mean_ns, sd_ns, .. } => Some(clamped_normal_moments(*mean_ns as f64, *sd_ns as f64).0),
            Dist::LogNormal { mu, sigma, .. } => finite((mu + sigma * sigma / 2.0).exp()),
            Dist::Pareto { scale_ns, shape, .. } => (*shape > 1.0).then(|| shape * *scale_ns as f64 / (shape - 1.0)),
            Dist::Weibull { scale_ns, shape, .. } => finite(*scale_ns as f64 * gamma_fn(1.0 + 1.0 / shape)),
            Dist::Mix { weights, parts, .. } => mix_moment(weights, parts, Dist::mean_ns),
        }
    }

    /// The second moment E\[S²\] in nanoseconds², or `None` when it is infinite (`pareto` with
    /// `shape ≤ 2`, or a mix containing one). The variance is
    /// `second_moment_ns2 − mean_ns²`. Same caveats as [`Dist::mean_ns`].
    pub fn second_moment_ns2(&self) -> Option<f64> {
        match self {
            Dist::Const { ns } => Some((*ns as f64).powi(2)),
            Dist::Exp { mean_ns, .. } => Some(2.0 * (*mean_ns as f64).powi(2)),
            Dist::Uniform { low_ns, high_ns, .. } => {
                let (a, b) = (*low_ns as f64, *high_ns as f64);
                Some((a * a + a * b + b * b) / 3.0)
            }
            Dist::Normal { mean_ns, sd_ns, .. } => Some(clamped_normal_moments(*mean_ns as f64, *sd_ns as f64).1),
            Dist::LogNormal { mu, sigma, .. } => finite((2.0 * mu + 2.0 * sigma * sigma).exp()),
            Dist::Erlang { k, mean_ns, .. } => Some((*mean_ns as f64).powi(2) * (1.0 + 1.0 / f64::from(*k))),
            Dist::Gamma { shape, mean_ns, .. } => finite((*mean_ns as f64).powi(2) * (1.0 + 1.0 / shape)),
            Dist::Pareto { scale_ns, shape, .. } => {
                (*shape > 2.0).then(|| shape * (*scale_ns as f64).powi(2) / (shape - 2.0))
            }
            Dist::Weibull { scale_ns, shape, .. } => finite((*scale_ns as f64).powi(2) * gamma_fn(1.0 + 2.0 / shape)),
            Dist::Mix { weights, parts, .. } => mix_moment(weights, parts, Dist::second_moment_ns2),
        }
    }
}

/// E\[max(X,0)\] and E\[max(X,0)²\] for X ~ N(m, s²).
fn clamped_normal_moments(m: f64, s: f64) -> (f64, f64) {
    let a = m / s;
    let cdf = 0.5 * erfc(-a / std::f64::consts::SQRT_2);
    let pdf = (-0.5 * a * a).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (m * cdf + s * pdf, (m * m + s * s) * cdf + m * s * pdf)
}

fn mix_moment(weights: &[f64], parts: &[Dist], moment: fn(&Dist) -> Option<f64>) -> Option<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (w, part) in weights.iter().zip(parts) {
        acc += w / total * moment(part)?;
    }
    finite(acc)
}

mod text;
pub use text::parse;

#[cfg(test)]
mod tests;
