//! The evaluator's core: walking the tree, selectors, and dispatch to functions,
//! aggregations and binary operators.

use std::borrow::Cow;

use promql_parser::label::Matcher;
use promql_parser::parser::{Expr as Ast, Offset, VectorSelector};

use super::{Element, EvalError, LOOKBACK_DELTA_MS, Value, parse};

/// An element during evaluation: labels borrowed from the store until an operation
/// changes them, so selectors feeding aggregations and comparisons clone nothing.
#[derive(Debug, Clone)]
pub(super) struct El<'a> {
    pub(super) labels: Cow<'a, Labels>,
    pub(super) v: f64,
}

/// A value during evaluation (see [`El`]).
pub(super) enum Val<'a> {
    Scalar(f64),
    Vector(Vec<El<'a>>),
}

impl Val<'_> {
    /// The public, owned value.
    pub(super) fn into_value(self) -> Value {
        match self {
            Val::Scalar(v) => Value::Scalar(v),
            Val::Vector(vec) => {
                Value::Vector(vec.into_iter().map(|e| Element { labels: e.labels.into_owned(), v: e.v }).collect())
            }
        }
    }
}
use crate::ops::tsdb::{Labels, METRIC_NAME, SeriesId, Tsdb, label_value};

/// One instant query: the store and the evaluation time.
pub(super) struct Evaluator<'a> {
    pub(super) db: &'a Tsdb,
    pub(super) t_ms: i64,
    /// The expression's selectors (by address, compared only) with their text, the key
    /// of the store's cache of matched series.
    pub(super) selectors: Vec<(*const VectorSelector, &'a str)>,
}

impl<'a> Evaluator<'a> {
    /// Evaluates one node.
    pub(super) fn eval(&self, ast: &Ast) -> Result<Val<'a>, EvalError> {
        match ast {
            Ast::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Ast::Paren(p) => self.eval(&p.expr),
            Ast::Unary(u) => Ok(match self.eval(&u.expr)? {
                Val::Scalar(v) => Val::Scalar(-v),
                Val::Vector(mut vec) => {
                    for e in &mut vec {
                        e.v = -e.v;
                        drop_name(&mut e.labels);
                    }
                    Val::Vector(vec)
                }
            }),
            Ast::VectorSelector(vs) => Ok(Val::Vector(self.instant(vs))),
            Ast::Aggregate(agg) => self.aggregate(agg),
            Ast::Binary(b) => self.binary(b),
            Ast::Call(call) => self.call(call),
            Ast::MatrixSelector(_) => Err(EvalError::Unsupported("range vector outside a function".into())),
            other => Err(EvalError::Unsupported(other.to_string())),
        }
    }

    /// Evaluates a node that must yield an instant vector (a scalar is an error).
    pub(super) fn eval_vector(&self, ast: &Ast) -> Result<Vec<El<'a>>, EvalError> {
        match self.eval(ast)? {
            Val::Vector(v) => Ok(v),
            Val::Scalar(_) => Err(EvalError::Unsupported(format!("expected an instant vector, got a scalar: {ast}"))),
        }
    }

    /// Evaluates a node that must yield a scalar (e.g. a function's parameter).
    pub(super) fn eval_scalar(&self, ast: &Ast) -> Result<f64, EvalError> {
        match self.eval(ast)? {
            Val::Scalar(v) => Ok(v),
            Val::Vector(_) => Err(EvalError::Unsupported(format!("expected a scalar, got an instant vector: {ast}"))),
        }
    }

    /// The series a selector matches, in id order. A named selector only looks at that
    /// metric's series.
    pub(super) fn matching(&self, vs: &VectorSelector) -> Vec<SeriesId> {
        let matchers = &vs.matchers.matchers;
        let ok = |id: &SeriesId| {
            let labels = self.db.labels(*id);
            vs.name.as_deref().is_none_or(|n| label_value(labels, METRIC_NAME) == Some(n))
                && matchers.iter().all(|m| matches(m, labels))
        };
        let key = match self.selectors.iter().find(|(p, _)| std::ptr::eq(*p, vs)) {
            Some((_, key)) => Cow::Borrowed(*key),
            None => Cow::Owned(vs.to_string()),
        };
        self.db.matched(&key, || match parse::selector_name(vs) {
            Some(name) => self.db.series_of(name).iter().copied().filter(ok).collect(),
            None => self.db.series().map(|(id, _, _)| id).filter(ok).collect(),
        })
    }

    /// An instant selector at the evaluation time: the latest sample of each series in
    /// `(t - 5m, t]`, unless it is a staleness marker.
    fn instant(&self, vs: &VectorSelector) -> Vec<El<'a>> {
        let t = self.t_ms - offset_ms(vs);
        let mut out = Vec::new();
        for id in self.matching(vs) {
            let samples = self.db.samples_of(id);
            let end = crate::ops::tsdb::after(samples, t);
            let Some(last) = end.checked_sub(1).map(|i| samples[i]) else {
                continue;
            };
            if last.t_ms > t - LOOKBACK_DELTA_MS && !last.is_stale() {
                out.push(El { labels: Cow::Borrowed(self.db.labels(id)), v: last.v });
            }
        }
        out
    }
}

/// Whether a matcher matches a label set (a missing label matches as the empty string).
fn matches(m: &Matcher, labels: &Labels) -> bool {
    m.is_match(label_value(labels, &m.name).unwrap_or(""))
}

/// A selector's `offset` in milliseconds (negative offsets look forward).
pub(super) fn offset_ms(vs: &VectorSelector) -> i64 {
    match &vs.offset {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

/// Removes `__name__` from a label set (cloning borrowed labels only if it is there).
pub(super) fn drop_name(labels: &mut Cow<'_, Labels>) {
    if let Ok(i) = labels.binary_search_by(|(n, _)| n.as_str().cmp(METRIC_NAME)) {
        labels.to_mut().remove(i);
    }
}

/// A label set without `__name__`, built in one allocation.
pub(super) fn without_name(labels: &Labels) -> Labels {
    labels.iter().filter(|(n, _)| n != METRIC_NAME).cloned().collect()
}

/// Errors if two elements share a label set (Prometheus checks this after functions
/// that drop `__name__`).
pub(super) fn check_unique(vec: &[El<'_>]) -> Result<(), EvalError> {
    if vec.len() < 2 {
        return Ok(());
    }
    let mut seen: Vec<&Labels> = vec.iter().map(|e| e.labels.as_ref()).collect();
    seen.sort();
    match seen.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(EvalError::DuplicateLabelset { labels: super::format_labels(w[0]) }),
        None => Ok(()),
    }
}
