//! PromQL: parse a supported subset of the language and evaluate instant queries over a
//! [`Tsdb`].
//!
//! Parsing is `promql-parser`'s (the same grammar as Prometheus); [`parse`] then walks
//! the tree and rejects, with a message naming it, everything the evaluator does not
//! implement, so a scenario file can report an unsupported rule at load time rather than
//! mid-run. Evaluation ([`eval`]) follows Prometheus 3's engine (`promql/engine.go`,
//! `promql/functions.go`, `promql/quantile.go`):
//!
//! - instant selectors look back 5 minutes (`(t - 5m, t]`) and respect staleness markers;
//!   range selectors select `(t - range, t]` and skip staleness markers; matchers `=`,
//!   `!=`, `=~`, `!~` (regexes fully anchored); `offset` works;
//! - `rate`/`increase`/`delta` use Prometheus's extrapolated rate (counter resets,
//!   extrapolation limited to 1.1 average intervals, never below zero for counters);
//!   the functions are listed in [`SUPPORTED_FUNCTIONS`];
//! - the aggregations in [`SUPPORTED_AGGREGATIONS`] with `by`/`without`; binary
//!   operators with one-to-one and `group_left`/`group_right` matching (`on`,
//!   `ignoring`), comparisons filtering or with `bool`, set operators `and`/`or`/`unless`.
//!
//! Not supported (rejected by [`parse`]): subqueries, the `@` modifier, string literals
//! (so `label_replace`, `label_join`, `count_values`), `limitk`/`limit_ratio`, `atan2`,
//! `fill` modifiers, `or` inside braces, native histograms, a range vector as the
//! result, and every function not in [`SUPPORTED_FUNCTIONS`] (`timestamp`, `sort`,
//! trigonometry, date functions, `holt_winters`, ...).
//!
//! Values are Prometheus's: seconds for `time()` and rates per second.

mod aggregate;
mod binary;
mod eval;
mod functions;
mod parse;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

use crate::ops::tsdb::{Labels, Tsdb};
pub use parse::{SUPPORTED_AGGREGATIONS, SUPPORTED_FUNCTIONS};

/// The lookback window of instant vector selectors (Prometheus's default, 5 minutes).
pub const LOOKBACK_DELTA_MS: i64 = 5 * 60 * 1000;

/// A parsed PromQL expression, already checked against the supported subset.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    ast: promql_parser::parser::Expr,
    text: String,
    /// The text of each selector, in [`parse::selectors`] order: the store's cache of
    /// matched series is keyed by it, and rendering it at every evaluation cost more than
    /// the rest of the selector.
    keys: Vec<String>,
}

/// Why an expression could not be parsed or is outside the supported subset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromqlError {
    /// The text is not valid PromQL; the message is promql-parser's.
    #[error("invalid PromQL `{text}`: {message}")]
    Syntax {
        /// The expression text.
        text: String,
        /// promql-parser's message.
        message: String,
    },
    /// Valid PromQL that uses something the evaluator does not implement.
    #[error("in `{text}`: {message}")]
    Unsupported {
        /// The expression text.
        text: String,
        /// What is unsupported, and what is supported instead.
        message: String,
    },
}

/// Why an evaluation failed (Prometheus reports the same conditions as query errors).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// One-to-one or many-to-one matching found several series on the "one" side.
    #[error(
        "found duplicate series for the match group {group} on the {side} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side"
    )]
    DuplicateMatch {
        /// The matching labels, rendered `{a="b", ...}`.
        group: String,
        /// `left` or `right`.
        side: &'static str,
    },
    /// One-to-one matching found several series on the "many" side.
    #[error("multiple matches for labels {group}: many-to-one matching must be explicit (group_left/group_right)")]
    ManyToOneNotExplicit {
        /// The matching labels, rendered `{a="b", ...}`.
        group: String,
    },
    /// group_left/group_right produced two results with the same labels.
    #[error("multiple matches for labels {group}: grouping labels must ensure unique matches")]
    GroupingNotUnique {
        /// The result labels, rendered `{a="b", ...}`.
        group: String,
    },
    /// A result would contain two series with the same labels (e.g. after a function
    /// dropped `__name__` from series that differed only by name).
    #[error("vector cannot contain metrics with the same labelset {labels}")]
    DuplicateLabelset {
        /// The labels, rendered `{a="b", ...}`.
        labels: String,
    },
    /// A rule's result would contain two series with the same labels after the rule's
    /// labels were applied.
    #[error("vector contains metrics with the same labelset after applying rule labels: {labels}")]
    DuplicateRuleLabelset {
        /// The labels, rendered `{a="b", ...}`.
        labels: String,
    },
    /// An expression node the evaluator does not handle (parse should have rejected it).
    #[error("unsupported expression at evaluation: {0}")]
    Unsupported(String),
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The series' labels, sorted by name (with `__name__` unless an operation dropped it).
    pub labels: Labels,
    /// The value.
    pub v: f64,
}

/// The result of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar.
    Scalar(f64),
    /// An instant vector.
    Vector(Vec<Element>),
}

impl Value {
    /// The result as an instant vector, the way Prometheus rules see it: a scalar becomes
    /// one element with no labels.
    pub fn into_vector(self) -> Vec<Element> {
        match self {
            Value::Scalar(v) => vec![Element { labels: Vec::new(), v }],
            Value::Vector(v) => v,
        }
    }
}

/// Parses `text` and checks it against the supported subset.
pub fn parse(text: &str) -> Result<Expr, PromqlError> {
    if let Some(message) = parse::bad_number_duration(text) {
        return Err(PromqlError::Syntax { text: text.to_string(), message });
    }
    let ast = promql_parser::parser::parse(text)
        .map_err(|message| PromqlError::Syntax { text: text.to_string(), message })?;
    parse::check(&ast).map_err(|message| PromqlError::Unsupported { text: text.to_string(), message })?;
    let mut selectors = Vec::new();
    parse::selectors(&ast, &mut selectors);
    let keys = selectors.iter().map(|vs| vs.to_string()).collect();
    Ok(Expr { ast, text: text.to_string(), keys })
}

impl Expr {
    /// The metric names the expression selects, sorted and deduplicated (selectors
    /// without a name, e.g. `{job="api"}`, contribute nothing).
    pub fn metric_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        parse::metric_names(&self.ast, &mut names);
        names.sort();
        names.dedup();
        names
    }

    /// How far back the expression reads from its evaluation time, in ms (the longest
    /// range selector plus its offset).
    pub fn longest_range_ms(&self) -> i64 {
        parse::longest_range_ms(&self.ast)
    }

    /// The text the expression was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The promql-parser syntax tree.
    pub fn ast(&self) -> &promql_parser::parser::Expr {
        &self.ast
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Evaluates `expr` as an instant query at `t_ms`.
pub fn eval(expr: &Expr, db: &Tsdb, t_ms: i64) -> Result<Value, EvalError> {
    let mut selectors = Vec::with_capacity(expr.keys.len());
    parse::selectors(&expr.ast, &mut selectors);
    let selectors =
        selectors.iter().map(|vs| std::ptr::from_ref(*vs)).zip(expr.keys.iter().map(String::as_str)).collect();
    Ok(eval::Evaluator { db, t_ms, selectors }.eval(&expr.ast)?.into_value())
}

/// Renders labels the way Prometheus prints them: `{a="b", c="d"}`.
pub fn format_labels(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}
