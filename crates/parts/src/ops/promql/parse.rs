//! The supported subset: a walk over promql-parser's tree that rejects what the evaluator
//! does not implement, with a message naming the construct and what is supported instead.

use promql_parser::label::Matchers;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr as Ast, Offset, VectorSelector, token};

/// The functions [`super::eval`] implements.
pub const SUPPORTED_FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count_over_time",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_quantile",
    "idelta",
    "increase",
    "irate",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max_over_time",
    "min_over_time",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "time",
    "vector",
];

/// The aggregation operators [`super::eval`] implements.
pub const SUPPORTED_AGGREGATIONS: &[&str] =
    &["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile"];

/// Longest duration written as a plain number of seconds that is checked further (about
/// 31 million years: far above [`MAX_DURATION_MS`], which then rejects it with its reason).
const MAX_NUMBER_DURATION_S: f64 = 1e15;

/// A duration written as a number (`offset 5`, `[300]`, a subquery's `:60`) that is not a
/// finite number of seconds, found before the parser sees it: promql-parser 0.11 panics on
/// `offset nan`, `[inf]` and `[0xffffffffffffffff]`. Strings are skipped.
pub(super) fn bad_number_duration(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let (mut i, mut brackets, mut expect_duration) = (0, 0usize, false);
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b'"' | b'\'' | b'`') {
            i = skip_string(bytes, i);
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'_')) {
                i += 1;
            }
            let word = &text[start..i];
            if expect_duration
                && let Some(v) = number_seconds(word)
                && !(v.is_finite() && v <= MAX_NUMBER_DURATION_S)
            {
                return Some(format!("duration `{word}` is not a finite number of seconds"));
            }
            expect_duration = word.eq_ignore_ascii_case("offset");
            continue;
        }
        match c {
            b'[' => brackets += 1,
            b']' => brackets = brackets.saturating_sub(1),
            _ => {}
        }
        if !c.is_ascii_whitespace() && !matches!(c, b'-' | b'+') {
            expect_duration = c == b'[' || (c == b':' && brackets > 0);
        }
        i += 1;
    }
    None
}

/// The index after the string literal opening at `start` (its quote), escapes skipped.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote {
        i += if bytes[i] == b'\\' && quote != b'`' { 2 } else { 1 };
    }
    i + 1
}

/// `word` as the number of seconds the parser would read it as, when it is a number
/// literal (decimal, exponent, hexadecimal, `nan`, `inf`) rather than a unit duration.
fn number_seconds(word: &str) -> Option<f64> {
    let lower = word.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return u128::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    lower.parse::<f64>().ok()
}

/// Checks the whole tree; the error is a human-readable message.
pub(super) fn check(ast: &Ast) -> Result<(), String> {
    match ast.value_type() {
        ValueType::Vector | ValueType::Scalar => {}
        ValueType::Matrix => {
            return Err(
                "a range vector is not supported as a query result; wrap it in a function such as rate(...) or avg_over_time(...)"
                    .into(),
            );
        }
        ValueType::String => return Err("a string is not supported as a query result".into()),
    }
    walk(ast)
}

fn walk(ast: &Ast) -> Result<(), String> {
    match ast {
        Ast::Aggregate(agg) => {
            let name = agg.op.to_string();
            if !SUPPORTED_AGGREGATIONS.contains(&name.as_str()) {
                return Err(format!(
                    "aggregation `{name}` is not supported; supported aggregations: {}",
                    SUPPORTED_AGGREGATIONS.join(", ")
                ));
            }
            if let Some(param) = &agg.param {
                walk(param)?;
            }
            walk(&agg.expr)
        }
        Ast::Unary(u) => walk(&u.expr),
        Ast::Binary(b) => {
            if b.op.id() == token::T_ATAN2 {
                return Err("operator `atan2` is not supported".into());
            }
            if let Some(m) = &b.modifier
                && (m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
            {
                return Err("`fill`/`fill_left`/`fill_right` modifiers are not supported".into());
            }
            walk(&b.lhs)?;
            walk(&b.rhs)
        }
        Ast::Paren(p) => walk(&p.expr),
        Ast::Subquery(_) => {
            Err("subqueries (`expr[range:step]`) are not supported; use a recording rule and a range selector over it"
                .into())
        }
        Ast::NumberLiteral(_) => Ok(()),
        Ast::StringLiteral(s) => {
            Err(format!("string literal {:?} is not supported (no supported function takes a string)", s.val))
        }
        Ast::VectorSelector(vs) => selector(vs),
        Ast::MatrixSelector(ms) => {
            within_prometheus_range("range", ms.range)?;
            selector(&ms.vs)
        }
        Ast::Call(call) => {
            let name = call.func.name;
            if !SUPPORTED_FUNCTIONS.contains(&name) {
                return Err(format!(
                    "`{name}` is not supported; supported functions: {}",
                    SUPPORTED_FUNCTIONS.join(", ")
                ));
            }
            for arg in &call.args.args {
                walk(arg)?;
            }
            // Range functions take a range selector directly (a subquery was rejected
            // above); parentheses around it are not Prometheus syntax either.
            Ok(())
        }
        Ast::Extension(_) => Err("extension expressions are not supported".into()),
    }
}

/// Longest range or offset Prometheus accepts, in ms: its durations are nanoseconds in
/// an `i64`, so it rejects anything over about 292 years ("duration out of range").
pub const MAX_DURATION_MS: u128 = (i64::MAX / 1_000_000) as u128;

/// `d` (a range or an offset, `what`) when Prometheus would accept it.
fn within_prometheus_range(what: &str, d: std::time::Duration) -> Result<(), String> {
    if d.as_millis() > MAX_DURATION_MS {
        return Err(format!(
            "the {what} {}d is out of range: Prometheus accepts ranges and offsets up to about 292 years",
            d.as_secs() / 86_400
        ));
    }
    Ok(())
}

fn selector(vs: &VectorSelector) -> Result<(), String> {
    match &vs.offset {
        Some(Offset::Pos(d) | Offset::Neg(d)) => within_prometheus_range("offset", *d)?,
        None => {}
    }
    if vs.at.is_some() {
        return Err("the `@` modifier is not supported".into());
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err("`or` inside label matchers is not supported".into());
    }
    Ok(())
}

/// The metric name a selector selects, if it names one exactly.
pub(super) fn selector_name(vs: &VectorSelector) -> Option<&str> {
    vs.name.as_deref().or_else(|| name_matcher(&vs.matchers))
}

fn name_matcher(m: &Matchers) -> Option<&str> {
    m.matchers
        .iter()
        .find(|m| m.name == crate::ops::tsdb::METRIC_NAME && matches!(m.op, promql_parser::label::MatchOp::Equal))
        .map(|m| m.value.as_str())
}

/// Collects the metric names selected anywhere in the tree.
/// How far back from the evaluation time the expression reads, in ms: the longest range
/// plus its selector's offset (a store must keep this much, plus the lookback).
pub(super) fn longest_range_ms(ast: &Ast) -> i64 {
    match ast {
        Ast::Aggregate(agg) => {
            let p = agg.param.as_ref().map_or(0, |p| longest_range_ms(p));
            p.max(longest_range_ms(&agg.expr))
        }
        Ast::Unary(u) => longest_range_ms(&u.expr),
        Ast::Binary(b) => longest_range_ms(&b.lhs).max(longest_range_ms(&b.rhs)),
        Ast::Paren(p) => longest_range_ms(&p.expr),
        Ast::Subquery(s) => longest_range_ms(&s.expr),
        Ast::VectorSelector(vs) => super::eval::offset_ms(vs).max(0),
        Ast::MatrixSelector(ms) => ms.range.as_millis() as i64 + super::eval::offset_ms(&ms.vs).max(0),
        Ast::Call(call) => call.args.args.iter().map(|a| longest_range_ms(a)).max().unwrap_or(0),
        Ast::NumberLiteral(_) | Ast::StringLiteral(_) | Ast::Extension(_) => 0,
    }
}

/// Every selector of `ast` (those inside range selectors too), in a fixed walk order.
pub(super) fn selectors<'a>(ast: &'a Ast, out: &mut Vec<&'a VectorSelector>) {
    match ast {
        Ast::Aggregate(agg) => {
            if let Some(p) = &agg.param {
                selectors(p, out);
            }
            selectors(&agg.expr, out);
        }
        Ast::Unary(u) => selectors(&u.expr, out),
        Ast::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Ast::Paren(p) => selectors(&p.expr, out),
        Ast::Subquery(s) => selectors(&s.expr, out),
        Ast::VectorSelector(vs) => out.push(vs),
        Ast::MatrixSelector(ms) => out.push(&ms.vs),
        Ast::Call(call) => call.args.args.iter().for_each(|a| selectors(a, out)),
        Ast::NumberLiteral(_) | Ast::StringLiteral(_) | Ast::Extension(_) => {}
    }
}

pub(super) fn metric_names(ast: &Ast, out: &mut Vec<String>) {
    match ast {
        Ast::Aggregate(agg) => {
            if let Some(p) = &agg.param {
                metric_names(p, out);
            }
            metric_names(&agg.expr, out);
        }
        Ast::Unary(u) => metric_names(&u.expr, out),
        Ast::Binary(b) => {
            metric_names(&b.lhs, out);
            metric_names(&b.rhs, out);
        }
        Ast::Paren(p) => metric_names(&p.expr, out),
        Ast::Subquery(s) => metric_names(&s.expr, out),
        Ast::VectorSelector(vs) => out.extend(selector_name(vs).map(str::to_string)),
        Ast::MatrixSelector(ms) => out.extend(selector_name(&ms.vs).map(str::to_string)),
        Ast::Call(call) => call.args.args.iter().for_each(|a| metric_names(a, out)),
        Ast::NumberLiteral(_) | Ast::StringLiteral(_) | Ast::Extension(_) => {}
    }
}
