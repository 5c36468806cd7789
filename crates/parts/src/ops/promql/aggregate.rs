//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`,
//! `stdvar`, `topk`, `bottomk`, `quantile`) with `by`/`without`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use promql_parser::parser::token::{self, TokenId};
use promql_parser::parser::{AggregateExpr, LabelModifier};

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

/// The items with their group keys, grouped, groups in order of first appearance.
fn in_groups<'l, T>(items: impl Iterator<Item = (GroupKey<'l>, T)>) -> Vec<(GroupKey<'l>, Vec<T>)> {
    let mut index: BTreeMap<GroupKey<'l>, usize> = BTreeMap::new();
    let mut groups: Vec<(GroupKey<'l>, Vec<T>)> = Vec::new();
    for (key, item) in items {
        let g = match index.get(&key) {
            Some(&g) => g,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, Vec::new()));
                groups.len() - 1
            }
        };
        groups[g].1.push(item);
    }
    groups
}

impl<'a> Evaluator<'a> {
    /// Evaluates an aggregation; groups come out in order of first appearance.
    pub(super) fn aggregate(&self, agg: &AggregateExpr) -> Result<Val<'a>, EvalError> {
        let param = match &agg.param {
            Some(p) => self.eval_scalar(p)?,
            None => 0.0,
        };
        let op = agg.op.id();
        if let Some(out) = self.aggregate_range_values(agg, op, param)? {
            return Ok(Val::Vector(out));
        }
        let input = self.eval_vector(&agg.expr)?;
        let groups = in_groups(input.iter().enumerate().map(|(i, e)| (group_key(&e.labels, agg.modifier.as_ref()), i)));
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for (key, members) in groups {
            if let token::T_TOPK | token::T_BOTTOMK = op {
                out.extend(top_k(&input, members, param, op == token::T_TOPK));
                continue;
            }
            let v = aggregate_values(op, members.iter().map(|&i| input[i].v), param, &mut scratch)
                .ok_or_else(|| EvalError::Unsupported(format!("aggregation `{}`", agg.op)))?;
            out.push(El { labels: Cow::Owned(key.into_iter().cloned().collect()), v });
        }
        Ok(Val::Vector(out))
    }
}

impl<'a> Evaluator<'a> {
    /// An aggregation by value of a range function's results straight from the store's
    /// series (see [`Evaluator::range_values_by_name`]): the same groups, in the same
    /// order, with the same values as [`Evaluator::aggregate`] computes from the
    /// function's vector, without copying every series' labels to drop `__name__` from
    /// them. `None` when the aggregation or its argument is not of that kind.
    fn aggregate_range_values(
        &self,
        agg: &AggregateExpr,
        op: TokenId,
        param: f64,
    ) -> Result<Option<Vec<El<'a>>>, EvalError> {
        if let token::T_TOPK | token::T_BOTTOMK = op {
            return Ok(None); // These return the elements themselves, labels and all.
        }
        if let Some(LabelModifier::Include(ls)) = &agg.modifier {
            if ls.labels.iter().any(|l| l == METRIC_NAME) {
                return Ok(None); // Grouping by a name the function dropped.
            }
        }
        let Some(input) = self.range_values_by_name(&agg.expr)? else { return Ok(None) };
        // The group keys from labels with `__name__` are those from labels without it:
        // no clause keys nothing, `by` lists no `__name__`, `without` drops it anyway.
        let groups = in_groups(input.iter().map(|&(id, v)| (group_key(self.db.labels(id), agg.modifier.as_ref()), v)));
        let mut scratch = Vec::new();
        let mut out = Vec::with_capacity(groups.len());
        for (key, values) in groups {
            let v = aggregate_values(op, values.iter().copied(), param, &mut scratch)
                .ok_or_else(|| EvalError::Unsupported(format!("aggregation `{}`", agg.op)))?;
            out.push(El { labels: Cow::Owned(key.into_iter().cloned().collect()), v });
        }
        Ok(Some(out))
    }
}

/// One group's value for every aggregation but `topk`/`bottomk` (`None` for those and
/// unknown operators).
fn aggregate_values(
    op: TokenId,
    values: impl Iterator<Item = f64> + Clone,
    param: f64,
    scratch: &mut Vec<f64>,
) -> Option<f64> {
    let n = values.clone().count() as f64;
    Some(match op {
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
            quantile(param, scratch)
        }
        _ => return None,
    })
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
