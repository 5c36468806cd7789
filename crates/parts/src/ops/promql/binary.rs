//! Binary operators: arithmetic, comparisons (filtering or `bool`) and set operators
//! between scalars and vectors, with Prometheus's vector matching (`on`, `ignoring`,
//! `group_left`, `group_right`), following `VectorBinop`/`resultMetric` in engine.go.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use promql_parser::parser::token::{self, TokenId};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::eval::{El, Evaluator, Val, drop_name, without_name};
use super::{EvalError, format_labels};
use crate::ops::tsdb::{Labels, METRIC_NAME};

fn is_comparison(op: TokenId) -> bool {
    matches!(op, token::T_EQLC | token::T_NEQ | token::T_GTR | token::T_LSS | token::T_GTE | token::T_LTE)
}

/// One operation on two values: the result and whether a comparison holds (arithmetic
/// always "holds"). Comparisons return the left value, as Prometheus does.
fn elem_op(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        token::T_ADD => (l + r, true),
        token::T_SUB => (l - r, true),
        token::T_MUL => (l * r, true),
        token::T_DIV => (l / r, true),
        token::T_MOD => (l % r, true),
        token::T_POW => (l.powf(r), true),
        token::T_EQLC => (l, l == r),
        token::T_NEQ => (l, l != r),
        token::T_GTR => (l, l > r),
        token::T_LSS => (l, l < r),
        token::T_GTE => (l, l >= r),
        token::T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// The labels two series are matched on: the `on` labels, or every label but `__name__`
/// and the `ignoring` ones.
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => labels.iter().filter(|(n, _)| on.labels.contains(n)).cloned().collect(),
        Some(LabelModifier::Exclude(ign)) => {
            labels.iter().filter(|(n, _)| n != METRIC_NAME && !ign.labels.contains(n)).cloned().collect()
        }
        None => labels.iter().filter(|(n, _)| n != METRIC_NAME).cloned().collect(),
    }
}

impl<'a> Evaluator<'a> {
    /// Evaluates a binary expression.
    pub(super) fn binary(&self, b: &BinaryExpr) -> Result<Val<'a>, EvalError> {
        let op = b.op.id();
        let return_bool = b.return_bool();
        let lhs = self.eval(&b.lhs)?;
        if op == token::T_LAND && matches!(&lhs, Val::Vector(v) if v.is_empty()) {
            return Ok(lhs);
        }
        let rhs = self.eval(&b.rhs)?;
        let matching = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => {
                let (v, keep) = elem_op(op, l, r);
                let v = if is_comparison(op) { f64::from(u8::from(keep)) } else { v };
                Ok(Val::Scalar(v))
            }
            (Val::Vector(v), Val::Scalar(s)) => Ok(Val::Vector(vector_scalar(op, v, s, false, return_bool))),
            (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(vector_scalar(op, v, s, true, return_bool))),
            (Val::Vector(l), Val::Vector(r)) => Ok(Val::Vector(match op {
                token::T_LAND | token::T_LUNLESS => {
                    let rhs: BTreeSet<Labels> = r.iter().map(|e| signature(&e.labels, matching)).collect();
                    let keep_if_found = op == token::T_LAND;
                    l.into_iter().filter(|e| rhs.contains(&signature(&e.labels, matching)) == keep_if_found).collect()
                }
                token::T_LOR => {
                    let lhs: BTreeSet<Labels> = l.iter().map(|e| signature(&e.labels, matching)).collect();
                    let mut out = l;
                    out.extend(r.into_iter().filter(|e| !lhs.contains(&signature(&e.labels, matching))));
                    out
                }
                _ => {
                    let card = b.modifier.as_ref().map_or(&VectorMatchCardinality::OneToOne, |m| &m.card);
                    vector_vector(op, l, r, matching, card, return_bool)?
                }
            })),
        }
    }
}

fn vector_scalar(op: TokenId, vec: Vec<El<'_>>, s: f64, swap: bool, return_bool: bool) -> Vec<El<'_>> {
    let comparison = is_comparison(op);
    let mut out = Vec::with_capacity(vec.len());
    for mut e in vec {
        let (l, r) = if swap { (s, e.v) } else { (e.v, s) };
        let (mut v, mut keep) = elem_op(op, l, r);
        if comparison && swap {
            // The vector's value is kept even when it is on the right.
            v = r;
        }
        if return_bool {
            v = f64::from(u8::from(keep));
            keep = true;
        }
        if !keep {
            continue;
        }
        if !comparison || return_bool {
            drop_name(&mut e.labels);
        }
        e.v = v;
        out.push(e);
    }
    out
}

fn vector_vector<'a>(
    op: TokenId,
    lhs: Vec<El<'a>>,
    rhs: Vec<El<'a>>,
    matching: Option<&LabelModifier>,
    card: &VectorMatchCardinality,
    return_bool: bool,
) -> Result<Vec<El<'a>>, EvalError> {
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_sigs: BTreeMap<Labels, usize> = BTreeMap::new();
    for (i, e) in one.iter().enumerate() {
        let sig = signature(&e.labels, matching);
        if one_sigs.contains_key(&sig) {
            return Err(EvalError::DuplicateMatch {
                group: format_labels(&sig),
                side: if one_to_many { "left" } else { "right" },
            });
        }
        one_sigs.insert(sig, i);
    }
    let include = card.labels().map(|ls| ls.labels.as_slice());
    let mut matched: BTreeMap<Labels, BTreeSet<Labels>> = BTreeMap::new();
    let mut out = Vec::new();
    for m in &many {
        let sig = signature(&m.labels, matching);
        let Some(&oi) = one_sigs.get(&sig) else {
            continue;
        };
        let o = &one[oi];
        let (l, r) = if one_to_many { (o.v, m.v) } else { (m.v, o.v) };
        let (mut v, mut keep) = elem_op(op, l, r);
        if return_bool {
            v = f64::from(u8::from(keep));
            keep = true;
        }
        if !keep {
            continue;
        }
        let labels = result_labels(&m.labels, &o.labels, op, matching, include, return_bool);
        match include {
            None => {
                if matched.insert(sig.clone(), BTreeSet::new()).is_some() {
                    return Err(EvalError::ManyToOneNotExplicit { group: format_labels(&sig) });
                }
            }
            Some(_) => {
                if !matched.entry(sig).or_default().insert(labels.clone()) {
                    return Err(EvalError::GroupingNotUnique { group: format_labels(&labels) });
                }
            }
        }
        out.push(El { labels: Cow::Owned(labels), v });
    }
    Ok(out)
}

/// Prometheus's `resultMetric`: the "many" side's labels, without `__name__` for
/// arithmetic and `bool`, reduced to the `on` labels (or without the `ignoring` ones) for
/// one-to-one matching, plus the `group_x(...)` labels copied from the "one" side.
fn result_labels(
    many: &Labels,
    one: &Labels,
    op: TokenId,
    matching: Option<&LabelModifier>,
    include: Option<&[String]>,
    return_bool: bool,
) -> Labels {
    let mut labels = if !is_comparison(op) || return_bool { without_name(many) } else { many.clone() };
    match include {
        None => match matching {
            Some(LabelModifier::Include(on)) => labels.retain(|(n, _)| on.labels.contains(n)),
            Some(LabelModifier::Exclude(ign)) => labels.retain(|(n, _)| !ign.labels.contains(n)),
            None => {}
        },
        Some(extra) => {
            for name in extra {
                labels.retain(|(n, _)| n != name);
                if let Some(v) = crate::ops::tsdb::label_value(one, name) {
                    labels.push((name.clone(), v.to_string()));
                }
            }
            labels.sort();
        }
    }
    labels
}
