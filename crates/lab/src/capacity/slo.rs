//! The `--slo` spec of `prodsim capacity`: comma-separated objectives `METRIC OP VALUE`,
//! e.g. `p99<300ms,availability>=0.999`.
//!
//! Latency metrics (`p50`, `p90`, `p99`, `p999`, `mean`) take a duration with its unit
//! (`300ms`, `1.5s`, `800us`); `availability` and `rejected_share` take a share from 0 to
//! 1 or a percentage (`99.9%`). Errors name the 1-based column of the spec where the
//! problem is, what was expected there, and the nearest metric name for an unknown one.

use std::fmt;

use prodsim_model::outcome::Outcome;
use prodsim_scenario::diagnostic::nearest;
use thiserror::Error;

/// What an objective is about, measured on one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SloMetric {
    /// Median latency of completed requests.
    P50,
    /// 90th percentile latency.
    P90,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Exact mean latency.
    Mean,
    /// Completed share of the requests whose fate is known.
    Availability,
    /// Rejected share of the requests whose fate is known.
    RejectedShare,
}

impl SloMetric {
    /// Every metric, in the order the help lists them.
    pub const ALL: [SloMetric; 7] = [
        SloMetric::P50,
        SloMetric::P90,
        SloMetric::P99,
        SloMetric::P999,
        SloMetric::Mean,
        SloMetric::Availability,
        SloMetric::RejectedShare,
    ];

    /// The name in a spec.
    pub fn name(self) -> &'static str {
        match self {
            SloMetric::P50 => "p50",
            SloMetric::P90 => "p90",
            SloMetric::P99 => "p99",
            SloMetric::P999 => "p999",
            SloMetric::Mean => "mean",
            SloMetric::Availability => "availability",
            SloMetric::RejectedShare => "rejected_share",
        }
    }

    /// The key in `capacity.json` (with the unit values are given in).
    pub fn key(self) -> &'static str {
        match self {
            SloMetric::P50 => "p50_ms",
            SloMetric::P90 => "p90_ms",
            SloMetric::P99 => "p99_ms",
            SloMetric::P999 => "p999_ms",
            SloMetric::Mean => "mean_ms",
            SloMetric::Availability => "availability",
            SloMetric::RejectedShare => "rejected_share",
        }
    }

    /// Whether values are latencies in milliseconds (else shares from 0 to 1).
    pub fn is_latency(self) -> bool {
        match self {
            SloMetric::P50 | SloMetric::P90 | SloMetric::P99 | SloMetric::P999 | SloMetric::Mean => true,
            SloMetric::Availability | SloMetric::RejectedShare => false,
        }
    }

    /// This metric in one run (ms for latencies); NaN when undefined (nothing completed),
    /// which no objective accepts.
    pub fn of(self, o: &Outcome) -> f64 {
        let nan = f64::NAN;
        let quantile = |q: f64| o.latency.quantile_ms(q).unwrap_or(nan);
        match self {
            SloMetric::P50 => quantile(0.5),
            SloMetric::P90 => quantile(0.9),
            SloMetric::P99 => quantile(0.99),
            SloMetric::P999 => quantile(0.999),
            SloMetric::Mean => o.latency.mean_ms().unwrap_or(nan),
            SloMetric::Availability => o.requests.availability().unwrap_or(nan),
            SloMetric::RejectedShare => match o.requests.finished() {
                0 => nan,
                finished => o.requests.rejected as f64 / finished as f64,
            },
        }
    }

    fn from_name(name: &str) -> Option<SloMetric> {
        SloMetric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// A comparison of an objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Op {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Less => "<",
            Op::LessOrEqual => "<=",
            Op::Greater => ">",
            Op::GreaterOrEqual => ">=",
        }
    }

    /// Whether `value OP threshold` holds; false for NaN.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Less => value < threshold,
            Op::LessOrEqual => value <= threshold,
            Op::Greater => value > threshold,
            Op::GreaterOrEqual => value >= threshold,
        }
    }
}

/// One objective: `metric op threshold`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// What is measured.
    pub metric: SloMetric,
    /// How it is compared.
    pub op: Op,
    /// The limit: milliseconds for latencies, a share from 0 to 1 otherwise.
    pub threshold: f64,
}

impl Objective {
    /// Whether one run's value meets the objective.
    pub fn holds(&self, value: f64) -> bool {
        self.op.holds(value, self.threshold)
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.metric.is_latency() {
            write!(f, "{}{}{}ms", self.metric.name(), self.op.symbol(), self.threshold)
        } else {
            write!(f, "{}{}{}", self.metric.name(), self.op.symbol(), self.threshold)
        }
    }
}

/// A spec that does not parse: where and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("--slo, column {column}: {message}\n  {spec}\n  {caret}^", caret = " ".repeat(column.saturating_sub(1)))]
pub struct SloError {
    /// The spec as given.
    pub spec: String,
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Parses a whole spec: one or more objectives separated by commas.
pub fn parse(spec: &str) -> Result<Vec<Objective>, SloError> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    for part in spec.split(',') {
        out.push(parse_objective(spec, part, offset)?);
        offset += part.len() + 1;
    }
    Ok(out)
}

/// Parses one objective, `part`, which starts at byte `offset` of `spec`.
fn parse_objective(spec: &str, part: &str, offset: usize) -> Result<Objective, SloError> {
    let err = |byte: usize, message: String| SloError {
        spec: spec.to_string(),
        column: spec[..(offset + byte).min(spec.len())].chars().count() + 1,
        message,
    };
    let lead = part.len() - part.trim_start().len();
    let body = part.trim();
    if body.is_empty() {
        return Err(err(lead, "empty objective; expected METRIC OP VALUE, e.g. p99<300ms".into()));
    }
    let name_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
    let name = &body[..name_len];
    let names = || SloMetric::ALL.map(SloMetric::name).join(", ");
    if name.is_empty() {
        return Err(err(lead, format!("expected a metric name ({})", names())));
    }
    let Some(metric) = SloMetric::from_name(name) else {
        let hint = nearest(name, SloMetric::ALL.map(SloMetric::name)).map(|n| format!(" (did you mean `{n}`?)"));
        return Err(err(
            lead,
            format!("unknown metric `{name}`{}; expected one of {}", hint.unwrap_or_default(), names()),
        ));
    };
    let after_name = &body[name_len..];
    let op_at = lead + name_len + (after_name.len() - after_name.trim_start().len());
    let rest = after_name.trim_start();
    let (op, op_len) = if rest.starts_with("<=") {
        (Op::LessOrEqual, 2)
    } else if rest.starts_with(">=") {
        (Op::GreaterOrEqual, 2)
    } else if rest.starts_with('<') {
        (Op::Less, 1)
    } else if rest.starts_with('>') {
        (Op::Greater, 1)
    } else {
        return Err(err(op_at, format!("expected a comparison after `{name}`: <, <=, > or >=")));
    };
    let after_op = &rest[op_len..];
    let value_at = op_at + op_len + (after_op.len() - after_op.trim_start().len());
    let value = after_op.trim();
    let threshold = threshold(metric, value).map_err(|m| err(value_at, m))?;
    Ok(Objective { metric, op, threshold })
}

/// The limit of `metric` from its text: a duration in ms, or a share.
fn threshold(metric: SloMetric, text: &str) -> Result<f64, String> {
    if text.is_empty() {
        let example = if metric.is_latency() { "300ms or 1.5s" } else { "0.999 or 99.9%" };
        return Err(format!("expected a value for `{}`, e.g. {example}", metric.name()));
    }
    if metric.is_latency() {
        let digits = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let scale_ms = match unit {
            "ms" => 1.0,
            "s" => 1000.0,
            "us" | "µs" => 0.001,
            "" => {
                return Err(format!("`{text}` needs a unit: latencies are durations like 300ms or 1.5s (ms, s or us)"));
            }
            other => return Err(format!("unknown unit `{other}` in `{text}`; expected ms, s or us")),
        };
        let v: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration; expected e.g. 300ms or 1.5s"))?;
        return Ok(v * scale_ms);
    }
    let (number, scale) = match text.strip_suffix('%') {
        Some(n) => (n, 0.01),
        None => (text, 1.0),
    };
    let v =
        number.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v * scale).ok_or_else(|| {
            format!("`{text}` is not a share; expected a number from 0 to 1 or a percentage like 99.9%")
        })?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("`{text}` is outside 0..1; `{}` is a share (0.999, or 99.9%)", metric.name()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> Objective {
        let v = parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(v.len(), 1, "{spec}");
        v[0]
    }

    #[test]
    fn objectives_parse_with_units_and_shares() {
        let v = parse("p99<300ms,availability>=0.999").expect("parses");
        assert_eq!(v[0], Objective { metric: SloMetric::P99, op: Op::Less, threshold: 300.0 });
        assert_eq!(v[1], Objective { metric: SloMetric::Availability, op: Op::GreaterOrEqual, threshold: 0.999 });
        assert_eq!(one("p50 <= 1.5s").threshold, 1500.0);
        assert_eq!(one("mean>800us").op, Op::Greater);
        assert!((one("mean>800us").threshold - 0.8).abs() < 1e-12);
        assert!((one("availability > 99.5%").threshold - 0.995).abs() < 1e-12);
        assert_eq!(one("rejected_share<0.01").metric, SloMetric::RejectedShare);
        assert_eq!(one("p999<=2s").metric, SloMetric::P999);
        assert_eq!(one("p90<50ms").to_string(), "p90<50ms");
    }

    #[test]
    fn objectives_hold_strictly_or_not_and_never_on_nan() {
        let lt = one("p99<300ms");
        assert!(lt.holds(299.9) && !lt.holds(300.0) && !lt.holds(f64::NAN));
        let le = one("p99<=300ms");
        assert!(le.holds(300.0) && !le.holds(300.1));
        let ge = one("availability>=0.999");
        assert!(ge.holds(0.999) && !ge.holds(0.9989) && !ge.holds(f64::NAN));
        assert!(!one("availability>0.999").holds(0.999));
    }

    #[test]
    fn errors_point_at_the_column_with_what_was_expected() {
        for (spec, column, needle) in [
            ("p99<300ms,availabilty>=0.999", 11, "unknown metric `availabilty` (did you mean `availability`?)"),
            ("mean_ms<300ms", 1, "did you mean `mean`?"),
            ("p99 300ms", 5, "expected a comparison after `p99`"),
            ("p99=300ms", 4, "expected a comparison"),
            ("p99<300", 5, "needs a unit"),
            ("p99<300min", 5, "unknown unit `min`"),
            ("p99<", 5, "expected a value for `p99`"),
            ("availability>=1.5", 15, "outside 0..1"),
            ("availability>=high", 15, "not a share"),
            ("p99<300ms,", 11, "empty objective"),
            ("<300ms", 1, "expected a metric name"),
        ] {
            let e = parse(spec).unwrap_err();
            assert_eq!(e.column, column, "{spec}: {e}");
            assert!(e.message.contains(needle), "{spec}: {e}");
            let text = e.to_string();
            let caret_line = text.lines().last().expect("caret");
            assert_eq!(caret_line.find('^'), Some(column + 1), "{text}");
        }
    }
}
