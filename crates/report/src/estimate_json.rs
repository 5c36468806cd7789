//! An estimate as the experiments' JSON files write it: the mean and its 95% interval,
//! `null` where undefined (`blast-radius.json`, `capacity.json`).

use serde::Serialize;

use prodsim_lab::stats::Estimate;

/// An estimate as JSON: the mean and its 95% interval (null when undefined).
#[derive(Serialize)]
pub(crate) struct Interval {
    mean: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
}

/// `e` as JSON.
pub(crate) fn interval(e: &Estimate) -> Interval {
    let f = |v: f64| v.is_finite().then_some(v);
    Interval { mean: f(e.mean), ci_low: f(e.ci_low), ci_high: f(e.ci_high) }
}
