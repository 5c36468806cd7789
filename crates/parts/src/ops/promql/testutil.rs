//! Test helpers in promtool's notation: `input_series` loading (`"0+10x30"`, `"1 2 _ 4"`,
//! `stale`) and `promql_expr_test`-style checks of instant query results.

use super::{Element, Value, eval, parse};
use crate::ops::tsdb::{Labels, Tsdb};

/// One minute in milliseconds, promtool's default interval.
pub(crate) const MIN: i64 = 60_000;

/// The labels of a series written as `name{a="b"}` or `{a="b"}`, sorted.
pub(crate) fn labels(text: &str) -> Labels {
    if text == "{}" {
        return Vec::new();
    }
    let ast = promql_parser::parser::parse(text).expect("series notation");
    let promql_parser::parser::Expr::VectorSelector(vs) = ast else {
        panic!("not a series: {text}");
    };
    let mut out: Labels = vs.name.iter().map(|n| ("__name__".to_string(), n.clone())).collect();
    for m in &vs.matchers.matchers {
        if m.name != "__name__" || vs.name.is_none() {
            out.push((m.name.clone(), m.value.clone()));
        }
    }
    out.sort();
    out
}

/// One expanded value of promtool's series notation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Point {
    /// A sample.
    Value(f64),
    /// No sample at this step (`_`).
    Missing,
    /// A staleness marker (`stale`).
    Stale,
}

/// Expands promtool's `values` notation: `a`, `a+bxn`, `a-bxn`, `axn`, `_`, `_xn`,
/// `stale`, separated by spaces. `a+bxn` is n+1 points.
pub(crate) fn expand(values: &str) -> Vec<Point> {
    let mut out = Vec::new();
    for token in values.split_whitespace() {
        if token == "stale" {
            out.push(Point::Stale);
            continue;
        }
        let (head, times) = match token.rsplit_once('x') {
            Some((h, n)) => (h, Some(n.parse::<usize>().expect("repeat count"))),
            None => (token, None),
        };
        if head == "_" {
            out.extend(std::iter::repeat_n(Point::Missing, times.unwrap_or(1)));
            continue;
        }
        // Split `a+b` / `a-b` at the sign after the first character (a may be negative).
        let split = head[1..].find(['+', '-']).map(|i| i + 1);
        let (start, step) = match (split, times) {
            (Some(i), Some(_)) => {
                let sign = if &head[i..=i] == "-" { -1.0 } else { 1.0 };
                (head[..i].parse::<f64>().expect("start"), sign * head[i + 1..].parse::<f64>().expect("step"))
            }
            _ => (head.parse::<f64>().expect("value"), 0.0),
        };
        match times {
            None => out.push(Point::Value(start)),
            Some(n) => {
                let (n, step) = if split.is_some() { (n + 1, step) } else { (n, 0.0) };
                out.extend((0..n).map(|i| Point::Value(start + step * i as f64)));
            }
        }
    }
    out
}

/// Loads series into `db`, one point every `interval_ms` from time 0.
pub(crate) fn load_into(db: &mut Tsdb, interval_ms: i64, series: &[(&str, &str)]) {
    for (name, values) in series {
        let id = db.series_id(labels(name));
        for (i, p) in expand(values).into_iter().enumerate() {
            let t = i as i64 * interval_ms;
            match p {
                Point::Value(v) => db.append(id, t, v),
                Point::Missing => {}
                Point::Stale => db.mark_stale(id, t),
            }
        }
    }
}

/// A new store with `series` loaded at `interval_ms`.
pub(crate) fn load(interval_ms: i64, series: &[(&str, &str)]) -> Tsdb {
    let mut db = Tsdb::new();
    load_into(&mut db, interval_ms, series);
    db
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Checks an instant query's vector result against `(series, value)` pairs, in any
/// order, like promtool's `exp_samples`.
#[track_caller]
pub(crate) fn check(db: &Tsdb, expr: &str, t_ms: i64, expected: &[(&str, f64)]) {
    let e = parse(expr).unwrap_or_else(|err| panic!("{err}"));
    let got = match eval(&e, db, t_ms).unwrap_or_else(|err| panic!("{expr}: {err}")) {
        Value::Vector(v) => v,
        Value::Scalar(s) => panic!("{expr}: expected a vector, got scalar {s}"),
    };
    let mut got: Vec<Element> = got;
    got.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut want: Vec<Element> = expected.iter().map(|(l, v)| Element { labels: labels(l), v: *v }).collect();
    want.sort_by(|a, b| a.labels.cmp(&b.labels));
    let ok = got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.labels == w.labels && close(g.v, w.v));
    assert!(ok, "{expr} at {t_ms}ms:\n got  {got:?}\n want {want:?}");
}

/// Checks an instant query's scalar result.
#[track_caller]
pub(crate) fn check_scalar(db: &Tsdb, expr: &str, t_ms: i64, expected: f64) {
    let e = parse(expr).unwrap_or_else(|err| panic!("{err}"));
    match eval(&e, db, t_ms).unwrap_or_else(|err| panic!("{expr}: {err}")) {
        Value::Scalar(s) => assert!(close(s, expected), "{expr}: got {s}, want {expected}"),
        Value::Vector(v) => panic!("{expr}: expected a scalar, got {v:?}"),
    }
}
