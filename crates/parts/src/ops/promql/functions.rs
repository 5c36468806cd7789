//! Functions: the `*_over_time` family and counter rates over range selectors, plus the
//! instant-vector functions (`abs`, `clamp_*`, `absent`, `histogram_quantile`, ...).
//! Semantics and edge cases follow Prometheus's `promql/functions.go`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr as Ast, MatrixSelector};

use super::EvalError;
use super::eval::{El, Evaluator, Val, check_unique, drop_name, offset_ms, without_name};
use crate::ops::tsdb::{CounterSpan, Labels, METRIC_NAME, Sample, SeriesId};

fn arg(args: &[Box<Ast>], i: usize) -> Result<&Ast, EvalError> {
    args.get(i)
        .map(|a| a.as_ref())
        .ok_or_else(|| EvalError::Unsupported(format!("missing function argument {}", i + 1)))
}

/// The range selector a range function takes (parentheses allowed).
fn matrix(ast: &Ast) -> Result<&MatrixSelector, EvalError> {
    match ast {
        Ast::MatrixSelector(ms) => Ok(ms),
        Ast::Paren(p) => matrix(&p.expr),
        other => Err(EvalError::Unsupported(format!("expected a range selector, got {other}"))),
    }
}

/// The non-stale samples of a range.
fn floats(samples: &[Sample]) -> impl Iterator<Item = Sample> + Clone + '_ {
    samples.iter().copied().filter(|s| !s.is_stale())
}

impl<'a> Evaluator<'a> {
    /// Evaluates a function call.
    pub(super) fn call(&self, call: &Call) -> Result<Val<'a>, EvalError> {
        let args = &call.args.args;
        let name = call.func.name;
        let math = |f: fn(f64) -> f64| -> Result<Val<'a>, EvalError> {
            let mut vec = self.eval_vector(arg(args, 0)?)?;
            for e in &mut vec {
                e.v = f(e.v);
                drop_name(&mut e.labels);
            }
            check_unique(&vec)?;
            Ok(Val::Vector(vec))
        };
        match name {
            "time" => Ok(Val::Scalar(self.t_ms as f64 / 1000.0)),
            "vector" => {
                Ok(Val::Vector(vec![El { labels: Cow::Owned(Vec::new()), v: self.eval_scalar(arg(args, 0)?)? }]))
            }
            "scalar" => {
                let vec = self.eval_vector(arg(args, 0)?)?;
                Ok(Val::Scalar(match vec.as_slice() {
                    [one] => one.v,
                    _ => f64::NAN,
                }))
            }
            "abs" => math(f64::abs),
            "ceil" => math(f64::ceil),
            "floor" => math(f64::floor),
            "sqrt" => math(f64::sqrt),
            "exp" => math(f64::exp),
            "ln" => math(f64::ln),
            "log2" => math(f64::log2),
            "log10" => math(f64::log10),
            "sgn" => math(|v| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    v
                }
            }),
            "round" => {
                let to_nearest = match args.get(1) {
                    Some(a) => self.eval_scalar(a)?,
                    None => 1.0,
                };
                let inverse = 1.0 / to_nearest;
                let mut vec = self.eval_vector(arg(args, 0)?)?;
                for e in &mut vec {
                    // Prometheus rounds half up: floor(v / to_nearest + 0.5) * to_nearest.
                    e.v = (e.v * inverse + 0.5).floor() / inverse;
                    drop_name(&mut e.labels);
                }
                check_unique(&vec)?;
                Ok(Val::Vector(vec))
            }
            "clamp_min" | "clamp_max" | "clamp" => self.clamp(name, args),
            "absent" => {
                let vec = self.eval_vector(arg(args, 0)?)?;
                Ok(Val::Vector(absent(vec.is_empty(), arg(args, 0)?)))
            }
            "histogram_quantile" => {
                let q = self.eval_scalar(arg(args, 0)?)?;
                let vec = self.eval_vector(arg(args, 1)?)?;
                let out = histogram_quantile(q, vec);
                check_unique(&out)?;
                Ok(Val::Vector(out))
            }
            _ => self.range_function(name, args),
        }
    }

    fn clamp(&self, name: &str, args: &[Box<Ast>]) -> Result<Val<'a>, EvalError> {
        let mut vec = self.eval_vector(arg(args, 0)?)?;
        let (lo, hi) = match name {
            "clamp_min" => (self.eval_scalar(arg(args, 1)?)?, f64::INFINITY),
            "clamp_max" => (f64::NEG_INFINITY, self.eval_scalar(arg(args, 1)?)?),
            _ => (self.eval_scalar(arg(args, 1)?)?, self.eval_scalar(arg(args, 2)?)?),
        };
        if hi < lo {
            return Ok(Val::Vector(Vec::new()));
        }
        for e in &mut vec {
            // Go's math.Max/Min propagate NaN; Rust's f64::max/min do not.
            if !e.v.is_nan() {
                e.v = e.v.max(lo).min(hi);
            }
            drop_name(&mut e.labels);
        }
        check_unique(&vec)?;
        Ok(Val::Vector(vec))
    }

    /// `rate`, `increase`, `*_over_time`, ...: one value per series from the samples of
    /// its range, with no per-sample allocation (except the scratch buffer of quantiles).
    fn range_function(&self, name: &str, args: &[Box<Ast>]) -> Result<Val<'a>, EvalError> {
        let (values, any) = self.range_values(name, args)?;
        if name == "absent_over_time" {
            return Ok(Val::Vector(absent(!any, arg(args, 0)?)));
        }
        let out: Vec<El<'a>> = values
            .into_iter()
            .map(|(id, v)| {
                let labels = self.db.labels(id);
                let labels =
                    if name == "last_over_time" { Cow::Borrowed(labels) } else { Cow::Owned(without_name(labels)) };
                El { labels, v }
            })
            .collect();
        check_unique(&out)?;
        Ok(Val::Vector(out))
    }

    /// The values of a range function whose result an aggregation reads by value only,
    /// with the series they come from (whose labels still carry `__name__`): `None` when
    /// `ast` is not such a call. The call must drop `__name__` and select one metric by
    /// name, so its results cannot collide once the name is gone (the check
    /// [`Evaluator::range_function`] makes cannot fail) and no result's labels need
    /// copying.
    pub(super) fn range_values_by_name(&self, ast: &Ast) -> Result<Option<Vec<(SeriesId, f64)>>, EvalError> {
        let Ast::Call(call) = ast else { return Ok(None) };
        let name = call.func.name;
        if !NAME_DROPPING_RANGE_FUNCTIONS.contains(&name) {
            return Ok(None);
        }
        let args = &call.args.args;
        let selector = args.get(usize::from(name == "quantile_over_time"));
        if selector.and_then(|a| matrix(a).ok()).is_none_or(|ms| ms.vs.name.is_none()) {
            return Ok(None);
        }
        Ok(Some(self.range_values(name, args)?.0))
    }

    /// One value per series of the range selector of `args` (see
    /// [`Evaluator::range_function`]), and whether any series had a sample in its range.
    fn range_values(&self, name: &str, args: &[Box<Ast>]) -> Result<(Vec<(SeriesId, f64)>, bool), EvalError> {
        let (param, ms) = match name {
            "quantile_over_time" => (self.eval_scalar(arg(args, 0)?)?, matrix(arg(args, 1)?)?),
            "predict_linear" => (self.eval_scalar(arg(args, 1)?)?, matrix(arg(args, 0)?)?),
            _ => (0.0, matrix(arg(args, 0)?)?),
        };
        let end = self.t_ms - offset_ms(&ms.vs);
        let range_ms = ms.range.as_millis() as i64;
        let start = end - range_ms;
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut any = false;
        for id in self.matching(&ms.vs) {
            if let "rate" | "increase" | "delta" = name {
                // From the store's running totals: two searches, whatever the range.
                let Some(span) = self.db.counter_span(id, start, end) else { continue };
                any = true;
                let Some(v) = extrapolated_rate(span, start, end, name != "delta", name == "rate") else { continue };
                out.push((id, v));
                continue;
            }
            let samples = self.db.range(id, start, end);
            let floats = floats(samples);
            if floats.clone().next().is_none() {
                continue;
            }
            any = true;
            let v = match name {
                "irate" => instant_value(floats, true),
                "idelta" => instant_value(floats, false),
                "quantile_over_time" => {
                    scratch.clear();
                    scratch.extend(floats.map(|s| s.v));
                    Some(quantile(param, &mut scratch))
                }
                "deriv" => linear_regression(floats, None).map(|(slope, _)| slope),
                "predict_linear" => {
                    linear_regression(floats, Some(self.t_ms)).map(|(slope, intercept)| slope * param + intercept)
                }
                "absent_over_time" => continue,
                _ => over_time(name, floats),
            };
            let Some(v) = v else { continue };
            out.push((id, v));
        }
        Ok((out, any))
    }
}

/// The range functions whose results lose `__name__` (all but `last_over_time` and
/// `absent_over_time`).
const NAME_DROPPING_RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "quantile_over_time",
    "deriv",
    "predict_linear",
    "sum_over_time",
    "avg_over_time",
    "count_over_time",
    "present_over_time",
    "min_over_time",
    "max_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "changes",
    "resets",
];

/// Prometheus's `extrapolatedRate`: the increase over the samples in the range,
/// counter resets added back, extrapolated towards the range's edges by at most 1.1
/// average intervals (half an interval otherwise) and, for counters, not below zero.
fn extrapolated_rate(
    span: CounterSpan,
    range_start_ms: i64,
    range_end_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let CounterSpan { first, last, count, resets } = span;
    if count < 2 {
        return None;
    }
    let mut result = last.v - first.v;
    if is_counter {
        result += resets;
    }
    let mut duration_to_start = (first.t_ms - range_start_ms) as f64 / 1000.0;
    let mut duration_to_end = (range_end_ms - last.t_ms) as f64 / 1000.0;
    let sampled_interval = (last.t_ms - first.t_ms) as f64 / 1000.0;
    let average_between = sampled_interval / (count - 1) as f64;
    let threshold = average_between * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = average_between / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        // Counters cannot be negative: extrapolate no further back than the zero point.
        let duration_to_zero = sampled_interval * (first.v / result);
        duration_to_start = duration_to_start.min(duration_to_zero);
    }
    if duration_to_end >= threshold {
        duration_to_end = average_between / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= (range_end_ms - range_start_ms) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate`/`idelta`: from the last two samples; a decrease is a counter reset for irate.
fn instant_value(samples: impl Iterator<Item = Sample>, is_rate: bool) -> Option<f64> {
    let (mut prev, mut last) = (None, None);
    for s in samples {
        prev = last;
        last = Some(s);
    }
    let (prev, last) = (prev?, last?);
    let mut v = if is_rate && last.v < prev.v { last.v } else { last.v - prev.v };
    let interval_ms = last.t_ms - prev.t_ms;
    if interval_ms == 0 {
        return None;
    }
    if is_rate {
        v /= interval_ms as f64 / 1000.0;
    }
    Some(v)
}

/// The simple `*_over_time` aggregations, `changes` and `resets`.
fn over_time(name: &str, samples: impl Iterator<Item = Sample> + Clone) -> Option<f64> {
    let values = samples.map(|s| s.v);
    let n = values.clone().count() as f64;
    Some(match name {
        "sum_over_time" => kahan_sum(values),
        "avg_over_time" => kahan_sum(values) / n,
        "count_over_time" => n,
        "present_over_time" => 1.0,
        "last_over_time" => values.last()?,
        "min_over_time" => values.fold(f64::NAN, |m, v| if v < m || m.is_nan() { v } else { m }),
        "max_over_time" => values.fold(f64::NAN, |m, v| if v > m || m.is_nan() { v } else { m }),
        "stddev_over_time" | "stdvar_over_time" => {
            let mean = values.clone().sum::<f64>() / n;
            let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if name == "stddev_over_time" { var.sqrt() } else { var }
        }
        "changes" | "resets" => {
            let mut count = 0.0;
            let mut prev: Option<f64> = None;
            for v in values {
                if let Some(p) = prev {
                    let hit = if name == "changes" { v != p && !(v.is_nan() && p.is_nan()) } else { v < p };
                    if hit {
                        count += 1.0;
                    }
                }
                prev = Some(v);
            }
            count
        }
        _ => return None,
    })
}

/// A sum with Kahan-Neumaier compensation, as Prometheus's `kahanSumInc` (used by
/// `sum`, `avg`, `sum_over_time`, `avg_over_time`).
pub(super) fn kahan_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        if t.is_infinite() {
            c = 0.0;
        } else if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    sum + c
}

/// Prometheus's `linearRegression` (least squares with compensated sums): the slope per
/// second and the intercept at `intercept_ms` (the first sample's time if `None`).
/// `None` with fewer than two samples.
fn linear_regression(samples: impl Iterator<Item = Sample> + Clone, intercept_ms: Option<i64>) -> Option<(f64, f64)> {
    let mut iter = samples.clone();
    let first = iter.next()?;
    iter.next()?;
    if samples.clone().all(|s| s.v == first.v) {
        if first.v.is_infinite() {
            return Some((f64::NAN, f64::NAN));
        }
        return Some((0.0, first.v));
    }
    let origin = intercept_ms.unwrap_or(first.t_ms);
    let x = |s: &Sample| (s.t_ms - origin) as f64 / 1000.0;
    let n = samples.clone().count() as f64;
    let sum_x = kahan_sum(samples.clone().map(|s| x(&s)));
    let sum_y = kahan_sum(samples.clone().map(|s| s.v));
    let sum_xy = kahan_sum(samples.clone().map(|s| x(&s) * s.v));
    let sum_x2 = kahan_sum(samples.map(|s| x(&s) * x(&s)));
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    Some((slope, sum_y / n - slope * sum_x / n))
}

/// Prometheus's `quantile`: linear interpolation between the closest ranks, `-Inf` below
/// 0 and `+Inf` above 1. Sorts `values` in place.
pub(super) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let upper = (lower + 1).min(values.len() - 1);
    let weight = rank - rank.floor();
    values[lower] * (1.0 - weight) + values[upper] * weight
}

/// `absent`/`absent_over_time`: one element with value 1 when the input is empty,
/// labelled with the selector's equality matchers (a label matched twice is dropped).
fn absent(empty: bool, arg: &Ast) -> Vec<El<'static>> {
    if !empty {
        return Vec::new();
    }
    let mut labels: Labels = Vec::new();
    let vs = match arg {
        Ast::VectorSelector(vs) => Some(vs),
        Ast::MatrixSelector(ms) => Some(&ms.vs),
        _ => None,
    };
    if let Some(vs) = vs {
        let mut seen = std::collections::BTreeSet::new();
        for m in &vs.matchers.matchers {
            if m.name == METRIC_NAME || !matches!(m.op, MatchOp::Equal) {
                continue;
            }
            if seen.insert(m.name.clone()) {
                labels.push((m.name.clone(), m.value.clone()));
            } else {
                labels.retain(|(n, _)| n != &m.name);
            }
        }
        labels.sort();
    }
    vec![El { labels: Cow::Owned(labels), v: 1.0 }]
}

/// Parses a bucket's `le` label the way Go's `strconv.ParseFloat` would.
fn parse_le(s: &str) -> Option<f64> {
    match s.trim().to_ascii_lowercase().as_str() {
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// `histogram_quantile` over classic buckets: the input grouped by its labels minus `le`
/// and `__name__`, each group's quantile by Prometheus's `BucketQuantile`.
fn histogram_quantile(q: f64, vec: Vec<El<'_>>) -> Vec<El<'static>> {
    let mut index: BTreeMap<Labels, usize> = BTreeMap::new();
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    for e in vec {
        let Some(le) = crate::ops::tsdb::label_value(&e.labels, "le").and_then(parse_le) else {
            continue; // Prometheus skips (and annotates) buckets without a valid `le`.
        };
        let labels: Labels = e.labels.iter().filter(|(n, _)| n != "le" && n != METRIC_NAME).cloned().collect();
        let i = *index.entry(labels.clone()).or_insert_with(|| {
            groups.push((labels, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push((le, e.v));
    }
    groups
        .into_iter()
        .map(|(labels, mut buckets)| El { labels: Cow::Owned(labels), v: bucket_quantile(q, &mut buckets) })
        .collect()
}

/// Relative difference below which two cumulative bucket counts are taken as equal: the
/// floating-point error of summing the same observations in another order
/// (Prometheus's `smallDeltaTolerance`).
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Prometheus's `ensureMonotonicAndIgnoreSmallDeltas`: a count nearly equal to the one
/// before (either way) takes its value, and a decrease is removed (scrapes of different
/// buckets are not atomic); in both cases the earlier count stays the reference.
fn ensure_monotonic_and_ignore_small_deltas(buckets: &mut [(f64, f64)]) {
    let Some(first) = buckets.first() else { return };
    let mut prev = first.1;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) || curr < prev {
            b.1 = prev;
            continue;
        }
        prev = curr;
    }
}

/// Prometheus's `almost.Equal`: relative difference below `epsilon` (absolute, scaled by
/// the smallest normal number, near zero).
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Prometheus's `BucketQuantile` over `(upper bound, cumulative count)` pairs.
fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce buckets with the same bound, then force the counts monotonic and ignore
    // floating-point noise between them.
    buckets.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            earlier.1 += later.1;
        }
        same
    });
    ensure_monotonic_and_ignore_small_deltas(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let n = buckets.len();
    let observations = buckets[n - 1].1;
    if observations == 0.0 || observations.is_nan() {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets[..n - 1].partition_point(|b| b.1 < rank);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}
