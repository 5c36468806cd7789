//! Axes that survive odd data: ranges, "nice" ticks and tick labels, on
//! linear and log10 scales, plus the number formatting charts share.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

/// Values larger than this in magnitude are treated like NaN: they cannot be
/// placed on a sensible axis.
const MAX_MAGNITUDE: f64 = 1e300;

pub(crate) fn usable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_MAGNITUDE
}

/// Formats `v` with about `sig` significant digits, with k/M/G suffixes for
/// large values and scientific notation for extreme ones.
pub(crate) fn fmt_sig(v: f64, sig: usize) -> String {
    fmt_sig_impl(v, sig, true)
}

/// Like [`fmt_sig`] but keeps trailing zeros (`1.00`, `0.700`), so values
/// written side by side read alike.
pub(crate) fn fmt_sig_fixed(v: f64, sig: usize) -> String {
    fmt_sig_impl(v, sig, false)
}

fn fmt_sig_impl(v: f64, sig: usize, trim: bool) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-4..1e12).contains(&a) {
        return trim_exp(&format!("{:.*e}", sig.saturating_sub(1), v));
    }
    let (div, suffix) = si_scale(a);
    let x = v / div;
    let int_digits = x.abs().log10().floor() as i64 + 1;
    let decimals = (sig as i64 - int_digits).clamp(0, 12) as usize;
    let digits = format!("{:.*}", decimals, x);
    let digits = if trim { trim_zeros(&digits) } else { trim_neg_zero(digits) };
    format!("{digits}{suffix}")
}

fn si_scale(a: f64) -> (f64, &'static str) {
    if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" { "0".to_string() } else { t.to_string() }
    } else if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn trim_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => format!("{}e{}", trim_zeros(m), e),
        None => s.to_string(),
    }
}

/// Number of decimals needed to print multiples of `step` exactly.
fn decimals_for(step: f64) -> usize {
    for d in 0..=12 {
        let scaled = step * 10f64.powi(d);
        if (scaled - scaled.round()).abs() <= 1e-6 * scaled.abs().max(1.0) {
            return d as usize;
        }
    }
    12
}

/// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about
/// `target` intervals over `span`.
fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm < 1.5 {
        1.0
    } else if norm < 2.25 {
        2.0
    } else if norm < 3.5 {
        2.5
    } else if norm < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

// ---------------------------------------------------------------- axes

/// How a linear axis is fitted to its data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinearFit {
    /// Extend the range to include zero (for quantities that start at zero).
    pub anchor_zero: bool,
    /// Fraction of the span added on each side (not on an anchored zero).
    pub pad: f64,
    /// Round the ends out to whole ticks.
    pub nice_bounds: bool,
    /// About how many tick intervals to aim for.
    pub ticks: usize,
}

/// One axis, in plotted space (log10 of the value on log axes), with its
/// tick positions. Always finite with `lo < hi`.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub ticks: Vec<f64>,
    pub minor: Vec<f64>,
    /// Linear axes: tick step and the SI divisor used for every label.
    step: f64,
    div: f64,
    suffix: &'static str,
}

impl Axis {
    /// A linear axis over the usable values of `values` (NaN, infinities and
    /// absurd magnitudes are ignored; no usable value gives 0..1).
    pub(crate) fn linear(values: impl IntoIterator<Item = f64>, fit: LinearFit) -> Axis {
        let (min, max) = min_max(values.into_iter().filter(|v| usable(*v)));
        let (mut lo, mut hi) = match (min, max) {
            (Some(a), Some(b)) => (a, b),
            _ => return Axis::linear_range(0.0, 1.0, fit.nice_bounds, fit.ticks),
        };
        if fit.anchor_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        let scale = lo.abs().max(hi.abs());
        let span = hi - lo;
        if span <= scale * 1e-9 {
            // All values equal (or nothing): centre them in a small range.
            if scale == 0.0 {
                lo = if fit.anchor_zero { 0.0 } else { -0.5 };
                hi = if fit.anchor_zero { 1.0 } else { 0.5 };
            } else {
                let d = scale * 0.1;
                lo -= d;
                hi += d;
            }
        } else {
            let p = span * fit.pad.max(0.0);
            if !(fit.anchor_zero && lo == 0.0) {
                lo -= p;
            }
            if !(fit.anchor_zero && hi == 0.0) {
                hi += p;
            }
        }
        Axis::linear_range(lo, hi, fit.nice_bounds, fit.ticks)
    }

    /// A linear axis over exactly `lo..hi` (rounded out to ticks if `nice`).
    pub(crate) fn linear_range(mut lo: f64, mut hi: f64, nice: bool, target: usize) -> Axis {
        if !(usable(lo) && usable(hi)) || hi <= lo {
            lo = 0.0;
            hi = 1.0;
        }
        let step = nice_step(hi - lo, target);
        if nice {
            let nlo = (lo / step).floor() * step;
            let nhi = (hi / step).ceil() * step;
            if nlo.is_finite() && nhi.is_finite() && nhi > nlo {
                lo = nlo;
                hi = nhi;
            }
        }
        let first = (lo / step - 1e-9).ceil();
        let last = (hi / step + 1e-9).floor();
        let mut ticks = Vec::new();
        if last >= first && last - first <= 60.0 {
            let mut k = first;
            while k <= last {
                let v = k * step;
                ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
                k += 1.0;
            }
        }
        ticks.dedup();
        let (div, suffix) = si_scale(lo.abs().max(hi.abs()));
        Axis { lo, hi, log: false, ticks, minor: Vec::new(), step, div, suffix }
    }

    /// A log10 axis over the positive usable values, with ends on 1-2-5
    /// boundaries. No positive value gives 1..10.
    pub(crate) fn log(values: impl IntoIterator<Item = f64>) -> Axis {
        let (min, max) = min_max(values.into_iter().filter(|v| usable(*v) && *v > 0.0));
        let (min, max) = match (min, max) {
            (Some(a), Some(b)) => (a, b),
            _ => (1.0, 10.0),
        };
        let mut lo = floor125(min);
        let mut hi = ceil125(max);
        if hi <= lo * (1.0 + 1e-9) {
            lo = floor125(lo * 0.99);
            hi = ceil125(hi * 1.01);
        }
        let (llo, lhi) = (lo.log10(), hi.log10());
        let decades = lhi - llo;
        let mut ticks = Vec::new();
        let mut minor = Vec::new();
        let e0 = llo.floor() as i64;
        let e1 = lhi.ceil() as i64;
        let every = ((decades / 8.0).ceil() as i64).max(1);
        for e in e0..=e1 {
            for m in 1..=9 {
                let p = (m as f64 * 10f64.powi(e as i32)).log10();
                if p < llo - 1e-9 || p > lhi + 1e-9 {
                    continue;
                }
                let major = if decades <= 3.0 { matches!(m, 1 | 2 | 5) } else { m == 1 && e.rem_euclid(every) == 0 };
                if major {
                    ticks.push(p);
                } else if decades <= 6.0 {
                    minor.push(p);
                }
            }
        }
        Axis { lo: llo, hi: lhi, log: true, ticks, minor, step: 1.0, div: 1.0, suffix: "" }
    }

    /// Maps a data value into plotted space; `None` if it cannot be drawn.
    pub(crate) fn map(&self, v: f64) -> Option<f64> {
        if !usable(v) {
            None
        } else if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }

    /// Like [`Axis::map`], but clamps to the axis range.
    pub(crate) fn map_clamped(&self, v: f64) -> Option<f64> {
        self.map(v).map(|p| p.clamp(self.lo, self.hi))
    }

    /// The label of a tick at plotted position `p`.
    pub(crate) fn label(&self, p: f64) -> String {
        if self.log {
            fmt_sig(10f64.powf(p), 3)
        } else if self.div == 1.0 && self.step < 1e-4 {
            fmt_sig(p, 3)
        } else {
            let d = decimals_for(self.step / self.div);
            let s = trim_neg_zero(format!("{:.*}", d, p / self.div));
            // "0", not "0k".
            let suffix = if p == 0.0 { "" } else { self.suffix };
            format!("{s}{suffix}")
        }
    }

    /// The plotters coordinate for this axis.
    pub(crate) fn coord(&self) -> AxisCoord {
        AxisCoord { lo: self.lo, hi: self.hi, ticks: self.ticks.clone(), minor: self.minor.clone() }
    }
}

/// A linear plotters coordinate with our own tick positions (plotters'
/// `WithKeyPoints<RangedCoordf64>` cannot take a label formatter).
#[derive(Clone, Debug)]
pub(crate) struct AxisCoord {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl Ranged for AxisCoord {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let f = (*v - self.lo) / (self.hi - self.lo);
        // Far-off or NaN values are pinned near the plot instead of
        // overflowing pixel coordinates.
        let f = if f.is_nan() { 0.0 } else { f.clamp(-4.0, 5.0) };
        limit.0 + ((limit.1 - limit.0) as f64 * f).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.minor.clone() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The chart context type every chart here uses.
pub(crate) type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<AxisCoord, AxisCoord>>;

fn trim_neg_zero(s: String) -> String {
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') { s[1..].to_string() } else { s }
}

fn min_max(values: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    values.fold((None, None), |(lo, hi), v| {
        (Some(lo.map_or(v, |l: f64| l.min(v))), Some(hi.map_or(v, |h: f64| h.max(v))))
    })
}

fn split_decade(v: f64) -> (f64, f64) {
    let mut e = v.log10().floor();
    let mut m = v / 10f64.powf(e);
    if m >= 10.0 - 1e-9 {
        e += 1.0;
        m /= 10.0;
    }
    (m, 10f64.powf(e))
}

fn floor125(v: f64) -> f64 {
    let (m, p) = split_decade(v);
    let f = [5.0, 2.0, 1.0].into_iter().find(|c| m >= c - 1e-9).unwrap_or(1.0);
    f * p
}

fn ceil125(v: f64) -> f64 {
    let (m, p) = split_decade(v);
    let c = [1.0, 2.0, 5.0, 10.0].into_iter().find(|c| m <= c + 1e-9).unwrap_or(10.0);
    c * p
}

/// Splits `(x, y)` pairs into runs of drawable points (a NaN, an infinity or
/// a value the axis cannot show ends a run).
pub(crate) fn runs(points: impl IntoIterator<Item = (f64, f64)>, x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (a, b) in points {
        match (x.map(a), y.map(b)) {
            (Some(px), Some(py)) => cur.push((px, py)),
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_sig_is_compact() {
        assert_eq!(fmt_sig(0.0, 3), "0");
        assert_eq!(fmt_sig(1000.0000000001, 3), "1000");
        assert_eq!(fmt_sig(12_500.0, 3), "12.5k");
        assert_eq!(fmt_sig(0.0123, 3), "0.0123");
        assert_eq!(fmt_sig(2.0, 3), "2");
        assert_eq!(fmt_sig(f64::NAN, 3), "n/a");
        assert_eq!(fmt_sig(1e-7, 3), "1e-7");
    }

    #[test]
    fn linear_axes_are_sane_on_odd_data() {
        let fit = LinearFit { anchor_zero: true, pad: 0.05, nice_bounds: true, ticks: 5 };
        for vals in [
            vec![],
            vec![f64::NAN],
            vec![0.0, 0.0],
            vec![5.0, 5.0],
            vec![-3.0],
            vec![1e300, -1e300],
            vec![f64::INFINITY, 1.0],
            vec![1e15, 1e15 + 1.0],
            vec![1e-12, 2e-12],
        ] {
            let a = Axis::linear(vals.clone(), fit);
            assert!(a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi, "{vals:?}: {a:?}");
            assert!(a.ticks.len() <= 61);
            for t in &a.ticks {
                let _ = a.label(*t);
            }
        }
        let a = Axis::linear([0.0, 103.0], fit);
        assert_eq!((a.lo, a.hi), (0.0, 120.0));
        assert_eq!(a.label(20.0), "20");
    }

    #[test]
    fn log_axes_land_on_125() {
        let a = Axis::log([5.0, 2000.0]);
        assert!((10f64.powf(a.lo) - 5.0).abs() < 1e-9);
        assert!((10f64.powf(a.hi) - 2000.0).abs() < 1e-6);
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(labels, ["5", "10", "20", "50", "100", "200", "500", "1000", "2000"]);
        for vals in [vec![], vec![0.0, -1.0], vec![100.0], vec![1e-300, 1e300]] {
            let a = Axis::log(vals.clone());
            assert!(a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi, "{vals:?}");
        }
    }
}
