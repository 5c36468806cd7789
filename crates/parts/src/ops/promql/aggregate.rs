//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`,
//! `stdvar`, `topk`, `bottomk`, `quantile`) with `by`/`without`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use promql_parser::parser::{AggregateExpr, LabelModifier, token};

use super::EvalError;
use super::eval::{El, Evaluator, Val};
use super::functions::{kahan_sum, quantile};
use crate::ops::tsdb::{Labels, METRIC_NAME};

/// The labels an element is grouped by: `by` keeps the listed labels, `without` drops
/// them and `__name__`, no clause groups everything together.
/// A group's labels, borrowed from its elements.
type GroupKey<'l> = Vec<&'l (String, String)>;

/// Borrowed, so that only each group's first element allocates its labels.
fn group_key<'l>(labels: &'l Labels, modifier: Option<&LabelModifier>) -> GroupKey<'l> {
    match modifier {
        None => Vec::new(),
        Some(LabelModifier::Include(ls)) => labels.iter().filter(|(n, _)| ls.labels.contains(n)).collect(),
        Some(LabelModifier::Exclude(ls)) => {
            labels.iter().filter(|(n, _)| n != METRIC_NAME && !ls.labels.contains(n)).collect()
        }
    }
}

impl<'a> Evaluator<'a> {
    /// Evaluates an aggregation; groups come out in order of first appearance.
    pub(super) fn aggregate(&self, agg: &AggregateExpr) -> Result<Val<'a>, EvalError> {
        let param = match &agg.param {
            Some(p) => self.eval_scalar(p)?,
            None => 0.0,
        };
        let input = self.eval_vector(&agg.expr)?;
        let mut index: BTreeMap<GroupKey, usize> = BTreeMap::new();
        let mut groups: Vec<(GroupKey, Vec<usize>)> = Vec::new();
        for (i, e) in input.iter().enumerate() {
            let key = group_key(&e.labels, agg.modifier.as_ref());
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(i);
        }
        let op = agg.op.id();
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for (key, members) in groups {
            let values = members.iter().map(|&i| input[i].v);
            let n = members.len() as f64;
            let v = match op {
                token::T_SUM => kahan_sum(values),
                token::T_AVG => kahan_sum(values) / n,
                token::T_COUNT => n,
                token::T_GROUP => 1.0,
                token::T_MIN => values.fold(f64::NAN, |m, v| if v < m || m.is_nan() { v } else { m }),
                token::T_MAX => values.fold(f64::NAN, |m, v| if v > m || m.is_nan() { v } else { m }),
                token::T_STDDEV | token::T_STDVAR => {
                    let mean = values.clone().sum::<f64>() / n;
                    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                    if op == token::T_STDDEV { var.sqrt() } else { var }
                }
                token::T_QUANTILE => {
                    scratch.clear();
                    scratch.extend(values);
                    quantile(param, &mut scratch)
                }
                token::T_TOPK | token::T_BOTTOMK => {
                    out.extend(top_k(&input, members, param, op == token::T_TOPK));
                    continue;
                }
                _ => {
                    return Err(EvalError::Unsupported(format!("aggregation `{}`", agg.op)));
                }
            };
            out.push(El { labels: Cow::Owned(key.into_iter().cloned().collect()), v });
        }
        Ok(Val::Vector(out))
    }
}

/// `topk`/`bottomk`: the k largest (smallest) elements of a group with their own labels,
/// best first; NaN sorts last either way.
fn top_k<'a>(input: &[El<'a>], mut members: Vec<usize>, k: f64, top: bool) -> Vec<El<'a>> {
    if k.is_nan() || k < 1.0 {
        return Vec::new();
    }
    members.sort_by(|&a, &b| {
        let (x, y) = (input[a].v, input[b].v);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if top => y.total_cmp(&x),
            _ => x.total_cmp(&y),
        }
    });
    let k = (k as usize).min(members.len());
    members[..k].iter().map(|&i| input[i].clone()).collect()
}
