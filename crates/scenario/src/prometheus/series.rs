//! promtool's `input_series` notation (Prometheus's `promql/parser` series descriptions):
//! the series as `name{label="value"}` and its values as space-separated items: `a`,
//! `a+bxn` and `a-bxn` (n+1 values from a, stepping by b), `axn` (a, n+1 times), `_` (no
//! sample), `_xn` (n missing samples), `stale` (a staleness marker). Numbers may be `Inf`,
//! `-Inf` or `NaN`. Native histograms (`{{...}}`) are not supported.

use prodsim_parts::ops::tsdb::{Labels, METRIC_NAME};

/// The most points one series may expand to (promtool tests are short; this bounds memory).
pub const MAX_POINTS: usize = 1_000_000;

/// One expanded item of a series' values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Point {
    /// A sample.
    Value(f64),
    /// No sample at this step.
    Missing,
    /// A staleness marker.
    Stale,
}

/// Parses `name{a="b"}` (or `{__name__="x", a="b"}`) into sorted labels.
pub fn parse_labels(text: &str) -> Result<Labels, String> {
    use promql_parser::label::MatchOp;
    use promql_parser::parser::Expr;
    let bad = || format!("`{text}` is not a series (`name{{label=\"value\", ...}}`)");
    let Ok(Expr::VectorSelector(vs)) = promql_parser::parser::parse(text) else {
        return Err(bad());
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(bad());
    }
    let mut out: Labels = vs.name.iter().map(|n| (METRIC_NAME.to_string(), n.clone())).collect();
    for m in &vs.matchers.matchers {
        if !matches!(m.op, MatchOp::Equal) {
            return Err(bad());
        }
        if m.name != METRIC_NAME || vs.name.is_none() {
            out.push((m.name.clone(), m.value.clone()));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// Expands a series' values.
pub fn expand(values: &str) -> Result<Vec<Point>, String> {
    let mut out = Vec::new();
    for token in values.split_whitespace() {
        if token.starts_with("{{") {
            return Err("native histogram samples (`{{...}}`) are not supported by prodsim".into());
        }
        expand_item(token, &mut out).map_err(|e| format!("`{token}` in `{values}`: {e}"))?;
        if out.len() > MAX_POINTS {
            return Err(format!("more than {MAX_POINTS} points in one series"));
        }
    }
    Ok(out)
}

fn expand_item(token: &str, out: &mut Vec<Point>) -> Result<(), String> {
    if token == "stale" {
        out.push(Point::Stale);
        return Ok(());
    }
    let (head, times) = match token.rsplit_once('x') {
        Some((h, n)) => (h, Some(n.parse::<usize>().map_err(|_| "expected a whole repeat count after `x`")?)),
        None => (token, None),
    };
    if times.is_some_and(|n| n > MAX_POINTS) {
        return Err(format!("more than {MAX_POINTS} points"));
    }
    if head == "_" {
        out.extend(std::iter::repeat_n(Point::Missing, times.unwrap_or(1)));
        return Ok(());
    }
    let Some(n) = times else {
        out.push(Point::Value(number(head)?));
        return Ok(());
    };
    // `a+b` / `a-b`: the sign after the first character (a may be negative).
    let split = head.char_indices().skip(1).find(|&(i, c)| (c == '+' || c == '-') && !head[..i].ends_with(['e', 'E']));
    let (start, step) = match split {
        Some((i, c)) => {
            let step = number(&head[i + 1..])?;
            (number(&head[..i])?, if c == '-' { -step } else { step })
        }
        None => (number(head)?, 0.0),
    };
    out.extend((0..=n).map(|i| Point::Value(start + step * i as f64)));
    Ok(())
}

fn number(text: &str) -> Result<f64, String> {
    match text {
        "Inf" | "+Inf" | "inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("`{text}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<f64> {
        expand(text).unwrap().into_iter().map(|p| if let Point::Value(v) = p { v } else { -99.0 }).collect()
    }

    #[test]
    fn the_expanding_notation() {
        assert_eq!(values("0+10x3"), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(values("-2-1x2"), vec![-2.0, -3.0, -4.0]);
        assert_eq!(values("5x2"), vec![5.0, 5.0, 5.0]);
        assert_eq!(values("1 _x2 3 stale"), vec![1.0, -99.0, -99.0, 3.0, -99.0]);
        assert_eq!(expand("stale").unwrap(), vec![Point::Stale]);
        assert_eq!(values("1e3+1e2x1"), vec![1000.0, 1100.0]);
        assert!(values("Inf")[0].is_infinite());
        assert!(expand("1+ax3").is_err());
        assert!(expand("{{schema:0 sum:1}}").unwrap_err().contains("native histogram"));
        assert!(expand("1x99999999999").is_err());
    }

    #[test]
    fn series_labels() {
        let l = parse_labels("up{job=\"api\", instance=\"a\"}").unwrap();
        assert_eq!(l[0], (METRIC_NAME.to_string(), "up".to_string()));
        assert_eq!(l.len(), 3);
        assert!(parse_labels("up{job=~\"a\"}").is_err());
        assert!(parse_labels("sum(up)").is_err());
    }
}
