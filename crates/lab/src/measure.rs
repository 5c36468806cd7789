//! What an experiment measures: the six built-in [`Metric`]s, and any numeric key of a
//! run's `summary.json` asked for with `--metric KEY` ([`SummaryMetric`]).
//!
//! The lab cannot build a run's summary (the report crate does, and sits above it), so the
//! values of the extra metrics come from an [`Extractor`] the caller hands in with
//! [`Measures`]: one number per extra metric for each run, NaN where the run has none (a
//! `null`, or a list index the run does not reach). The keys are checked before anything
//! runs ([`resolve`]), against the catalog of the summary's paths
//! ([`prodsim_scenario::summary_paths`]).
//!
//! "Best" is the lowest mean, or the highest for keys whose last name is one of
//! [`HIGHER_IS_BETTER`]; `KEY:higher` or `KEY:lower` says it explicitly.

use thiserror::Error;

use super::{Metric, Variant};
use prodsim_model::outcome::Outcome;
use prodsim_scenario::summary_paths::{Kind, SummaryPaths};

/// Most `--metric` keys one experiment takes.
pub const MAX_EXTRA_METRICS: usize = 32;

/// Last names of keys for which a larger value is better, unless the key says `:lower`.
pub const HIGHER_IS_BETTER: [&str; 12] = [
    "availability",
    "precision",
    "recall",
    "completed",
    "served",
    "succeeded",
    "charged",
    "reconciled",
    "true_positives",
    "cache_hit_ratio",
    "bytes_saved",
    "revenue",
];

/// A numeric `summary.json` key an experiment estimates besides the six built-in metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SummaryMetric {
    /// The dotted path, e.g. `cost.total` or `incidents.0.budget_burned`.
    pub key: String,
    /// Whether a larger mean is better.
    pub higher_is_better: bool,
}

impl SummaryMetric {
    /// The file name (without extension) of this metric's chart: `metric-` and the key
    /// with every character other than a letter, a digit, `_` or `-` as `-`
    /// (`metric-cost-total`).
    pub fn chart_stem(&self) -> String {
        let slug: String =
            self.key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' }).collect();
        format!("metric-{slug}")
    }
}

/// One metric of an experiment: built in, or a `summary.json` key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    /// One of the six that every experiment estimates.
    Builtin(Metric),
    /// A key asked for with `--metric`.
    Summary(SummaryMetric),
}

impl Measure {
    /// The six built-in metrics, then `extra`, in report order.
    pub fn list(extra: &[SummaryMetric]) -> Vec<Measure> {
        Metric::ALL.into_iter().map(Measure::Builtin).chain(extra.iter().cloned().map(Measure::Summary)).collect()
    }

    /// Name in CSV and JSON: the built-in key, or the summary path.
    pub fn key(&self) -> &str {
        match self {
            Measure::Builtin(m) => m.key(),
            Measure::Summary(s) => &s.key,
        }
    }

    /// Human label: the built-in label with its unit, or the summary path.
    pub fn label(&self) -> &str {
        match self {
            Measure::Builtin(m) => m.label(),
            Measure::Summary(s) => &s.key,
        }
    }

    /// Whether a larger mean is better.
    pub fn higher_is_better(&self) -> bool {
        match self {
            Measure::Builtin(m) => m.higher_is_better(),
            Measure::Summary(s) => s.higher_is_better,
        }
    }

    /// The built-in metric, if this is one.
    pub fn builtin(&self) -> Option<Metric> {
        match self {
            Measure::Builtin(m) => Some(*m),
            Measure::Summary(_) => None,
        }
    }
}

impl PartialEq<Metric> for Measure {
    fn eq(&self, other: &Metric) -> bool {
        self.builtin() == Some(*other)
    }
}

/// The values of the extra metrics in one run, in the order of [`Measures::extra`]; NaN
/// where the run has no value.
pub type Extractor<'a> = dyn Fn(&Outcome) -> Vec<f64> + Sync + 'a;

/// The extra metrics of an experiment and how each run's values are read.
#[derive(Clone, Copy)]
pub struct Measures<'a> {
    /// The `--metric` keys, checked by [`resolve`].
    pub extra: &'a [SummaryMetric],
    /// Reads their values from one run.
    pub extract: &'a Extractor<'a>,
}

fn nothing(_: &Outcome) -> Vec<f64> {
    Vec::new()
}

impl Measures<'_> {
    /// The six built-in metrics only.
    pub const BUILTIN: Measures<'static> = Measures { extra: &[], extract: &nothing };

    /// The values of every metric of one run: the six, then the extra ones (NaN for any
    /// value the extractor did not give).
    pub fn values_of(&self, o: &Outcome) -> Vec<f64> {
        let mut out = Metric::all_of(o).to_vec();
        if !self.extra.is_empty() {
            let mut extra = (self.extract)(o);
            extra.resize(self.extra.len(), f64::NAN);
            out.extend(extra);
        }
        out
    }
}

/// Why a `--metric` argument is refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MetricError {
    /// The key is not one of the scenario's `summary.json` paths.
    #[error("--metric {key}: {message}{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    Unknown {
        /// The key as given.
        key: String,
        /// What is wrong.
        message: String,
        /// The nearest valid path.
        suggestion: Option<String>,
    },
    /// The key holds a string or a boolean.
    #[error("--metric {key}: `{key}` is {kind}, not a number; compare and sweep estimate numbers only")]
    NotANumber {
        /// The key.
        key: String,
        /// What it holds.
        kind: String,
    },
    /// A bad direction suffix, an empty key, a repeated or built-in key, or too many keys.
    #[error("--metric {argument}: {message}")]
    Argument {
        /// The argument as given.
        argument: String,
        /// What is wrong.
        message: String,
    },
}

/// Whether a larger value of `key` is better when the key does not say: its last name
/// that is not a list index is one of [`HIGHER_IS_BETTER`].
pub fn default_higher_is_better(key: &str) -> bool {
    key.rsplit('.').find(|s| s.parse::<usize>().is_err()).is_some_and(|last| HIGHER_IS_BETTER.contains(&last))
}

/// Parses one `--metric KEY[:higher|:lower]` without checking the key.
pub fn parse(argument: &str) -> Result<SummaryMetric, MetricError> {
    let bad = |message: String| MetricError::Argument { argument: argument.to_string(), message };
    let (key, direction) = match argument.rsplit_once(':') {
        Some((key, "higher")) => (key, Some(true)),
        Some((key, "lower")) => (key, Some(false)),
        Some((_, other)) => {
            return Err(bad(format!("unknown direction `{other}`; expected KEY, KEY:higher or KEY:lower")));
        }
        None => (argument, None),
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad("expected a dotted summary.json key such as cost.total".to_string()));
    }
    if let Some(m) = Metric::ALL.iter().find(|m| m.key() == key) {
        return Err(bad(format!("`{}` is one of the six metrics every experiment already estimates", m.key())));
    }
    Ok(SummaryMetric {
        key: key.to_string(),
        higher_is_better: direction.unwrap_or_else(|| default_higher_is_better(key)),
    })
}

/// Parses and checks every `--metric` argument against the variants' `summary.json`
/// paths, before anything runs. A key must be a number leaf in at least one variant (in
/// the others it is NaN); when it is in none, the error is the first variant's, with the
/// nearest valid path.
pub fn resolve(arguments: &[String], variants: &[Variant]) -> Result<Vec<SummaryMetric>, MetricError> {
    if arguments.len() > MAX_EXTRA_METRICS {
        return Err(MetricError::Argument {
            argument: arguments[MAX_EXTRA_METRICS].clone(),
            message: format!("at most {MAX_EXTRA_METRICS} --metric keys are allowed"),
        });
    }
    let catalogs: Vec<SummaryPaths> = variants.iter().map(|v| SummaryPaths::of(&v.scenario)).collect();
    let mut out: Vec<SummaryMetric> = Vec::new();
    for argument in arguments {
        let metric = parse(argument)?;
        if out.iter().any(|m| m.key == metric.key) {
            return Err(MetricError::Argument {
                argument: argument.clone(),
                message: format!("`{}` is given twice", metric.key),
            });
        }
        if let Some(other) = out.iter().find(|m| m.chart_stem() == metric.chart_stem()) {
            return Err(MetricError::Argument {
                argument: argument.clone(),
                message: format!(
                    "its chart would overwrite `{}`'s ({}.png); give only one of them",
                    other.key,
                    other.chart_stem()
                ),
            });
        }
        check(&metric.key, &catalogs)?;
        out.push(metric);
    }
    Ok(out)
}

/// Checks one key against every variant's catalog.
fn check(key: &str, catalogs: &[SummaryPaths]) -> Result<(), MetricError> {
    let mut first_error = None;
    let mut found = false;
    for catalog in catalogs {
        match catalog.check(key) {
            Ok(leaf) => match leaf.kind {
                Kind::Number => found = true,
                Kind::Text | Kind::Bool => {
                    return Err(MetricError::NotANumber { key: key.to_string(), kind: leaf.kind.to_string() });
                }
            },
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (found, first_error) {
        (true, _) | (false, None) => Ok(()),
        (false, Some(e)) => {
            Err(MetricError::Unknown { key: key.to_string(), message: e.message, suggestion: e.suggestion })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dimension, variants};

    const FILE: &str = "[scenario]\nname = \"t\"\nduration = \"2s\"\n[[workload]]\nname = \"w\"\nrate = 20\n\
                        [servers]\ncount = 2\nworkers = 2\nservice_time = \"exp(5ms)\"\n";

    fn build() -> Vec<Variant> {
        let dims = [Dimension::values("servers.count", &[toml::Value::Integer(2), toml::Value::Integer(3)])];
        variants(FILE, std::path::Path::new("t.toml"), &[], &dims, 2).expect("valid")
    }

    #[test]
    fn direction_follows_the_last_name_unless_the_key_says() {
        assert!(!parse("cost.total").expect("parses").higher_is_better);
        assert!(parse("classes.checkout.availability").expect("parses").higher_is_better);
        assert!(parse("alert_quality.sets.tuned.recall").expect("parses").higher_is_better);
        assert!(parse("payments.charged").expect("parses").higher_is_better);
        assert!(!parse("payments.charged:lower").expect("parses").higher_is_better);
        assert!(parse("payments.lost:higher").expect("parses").higher_is_better);
        assert!(!parse("incidents.0.budget_burned").expect("parses").higher_is_better);
        assert!(default_higher_is_better("servers.1.served"));
        assert_eq!(
            parse("classes.check-out.availability").expect("parses").chart_stem(),
            "metric-classes-check-out-availability"
        );
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        for (arg, needle) in [
            ("cost.total:best", "unknown direction `best`"),
            ("", "dotted summary.json key"),
            ("cost..total", "dotted summary.json key"),
            ("availability", "already estimates"),
        ] {
            let e = parse(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }

    #[test]
    fn keys_are_checked_against_the_catalog_with_the_nearest_valid_path() {
        let v = build();
        let ok = resolve(&["requests.completed".into(), "servers.2.served".into()], &v).expect("valid");
        assert_eq!(ok.len(), 2);
        assert!(ok[0].higher_is_better);
        let e = resolve(&["requests.complted".into()], &v).unwrap_err().to_string();
        assert!(e.contains("--metric requests.complted") && e.contains("did you mean `requests.completed`"), "{e}");
        let e = resolve(&["scenario".into()], &v).unwrap_err().to_string();
        assert!(e.contains("is a string, not a number"), "{e}");
        let e = resolve(&["servers.5.served".into()], &v).unwrap_err().to_string();
        assert!(e.contains("--metric servers.5.served"), "{e}");
        let e = resolve(&["events".into(), "events:higher".into()], &v).unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
    }
}
