//! The values of `--metric` keys (`prodsim compare` and `prodsim sweep`) in one run: the
//! numbers at dotted paths of the run's `summary.json`, read from the very summary `prodsim
//! run` writes, so an experiment's value and the file's always agree.

use serde_json::Value;

use prodsim_lab::SummaryMetric;
use prodsim_model::outcome::Outcome;

/// The number at each key of `keys` in `outcome`'s summary, in order: NaN where the value
/// is `null` (undefined in this run), where a list index is beyond this run's list, or
/// where the key is absent from this run's summary (a variant without the section).
pub fn summary_numbers(outcome: &Outcome, keys: &[SummaryMetric]) -> Vec<f64> {
    if keys.is_empty() {
        return Vec::new();
    }
    let summary = serde_json::to_value(super::Summary::from_outcome(outcome)).unwrap_or(Value::Null);
    keys.iter().map(|k| number_at(&summary, &k.key)).collect()
}

/// The number at dotted `path` in `root`, NaN when there is none.
pub fn number_at(root: &Value, path: &str) -> f64 {
    super::expect::lookup(root, path).ok().and_then(Value::as_f64).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_nulls_and_missing_indices() {
        let root = json!({ "cost": { "total": 12.5 }, "incidents": [{ "budget_burned": 0.25 }], "mttm_s": null });
        assert_eq!(number_at(&root, "cost.total"), 12.5);
        assert_eq!(number_at(&root, "incidents.0.budget_burned"), 0.25);
        assert!(number_at(&root, "incidents.1.budget_burned").is_nan());
        assert!(number_at(&root, "mttm_s").is_nan());
        assert!(number_at(&root, "cost").is_nan());
        assert!(number_at(&root, "nothing.here").is_nan());
    }
}
