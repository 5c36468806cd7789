//! `[[expect]]`: what a scenario states must hold at the end of its run — a bound on a
//! `summary.json` value, or when an alert fires and resolves around a fault. This module
//! owns the raw shape serde reads and the resolved [`Expectation`]; `validate/expect.rs`
//! turns one into the other and `report::expect` evaluates them against an outcome.

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::units::format_duration;

/// `[[expect]]` as written. Which keys may appear together is checked in validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Shown in reports instead of the generated description.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// A dotted path into `summary.json`.
    #[serde(default)]
    pub metric: Option<Spanned<String>>,
    /// The value must be at least this.
    #[serde(default)]
    pub at_least: Option<Spanned<f64>>,
    /// The value must be at most this.
    #[serde(default)]
    pub at_most: Option<Spanned<f64>>,
    /// The value must be greater than this.
    #[serde(default)]
    pub above: Option<Spanned<f64>>,
    /// The value must be less than this.
    #[serde(default)]
    pub below: Option<Spanned<f64>>,
    /// The value must equal this number, string or boolean.
    #[serde(default)]
    pub equals: Option<Spanned<toml::Value>>,
    /// An alert name.
    #[serde(default)]
    pub alert: Option<Spanned<String>>,
    /// 0-based index into `[[faults]]` the alert's timing is measured from (default 0).
    #[serde(default)]
    pub fault: Option<Spanned<i64>>,
    /// Longest time from the fault's start to the alert firing.
    #[serde(default)]
    pub fires_within: Option<Spanned<String>>,
    /// Longest time from the fault's end to that episode resolving.
    #[serde(default)]
    pub resolves_within: Option<Spanned<String>>,
    /// The alert must never fire.
    #[serde(default)]
    pub never_fires: Option<Spanned<bool>>,
}

/// One resolved `[[expect]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// What reports call it: the file's `name`, or a generated description.
    pub name: String,
    /// What is checked.
    pub check: Check,
}

/// What an expectation checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// A `summary.json` value compared with a bound.
    Metric {
        /// Dotted path; numeric segments index arrays.
        path: String,
        /// The comparison.
        comparison: Comparison,
    },
    /// An alert's timing.
    Alert {
        /// The alert's name.
        alert: String,
        /// When it must (not) fire.
        timing: AlertTiming,
    },
}

/// How a metric's value is compared.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    /// `at_least`: value ≥ bound.
    AtLeast(f64),
    /// `at_most`: value ≤ bound.
    AtMost(f64),
    /// `above`: value > bound.
    Above(f64),
    /// `below`: value < bound.
    Below(f64),
    /// `equals`: exact equality.
    Equals(Expected),
}

/// The value of `equals`.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// Compared numerically.
    Number(f64),
    /// Compared exactly.
    Text(String),
    /// Compared exactly.
    Bool(bool),
}

/// When an alert must fire, resolve, or not fire.
#[derive(Clone, Debug, PartialEq)]
pub enum AlertTiming {
    /// Measured from a fault's window.
    Window {
        /// Index into the scenario's faults (file order).
        fault: usize,
        /// Longest time from the fault's start to the first firing at or after it.
        fires_within_ns: Option<u64>,
        /// Longest time from the fault's end to that episode resolving.
        resolves_within_ns: Option<u64>,
    },
    /// The alert never fires during the run.
    NeverFires,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Number(n) => write!(f, "{n}"),
            Expected::Text(s) => write!(f, "{s:?}"),
            Expected::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::AtLeast(n) => write!(f, "≥ {n}"),
            Comparison::AtMost(n) => write!(f, "≤ {n}"),
            Comparison::Above(n) => write!(f, "> {n}"),
            Comparison::Below(n) => write!(f, "< {n}"),
            Comparison::Equals(v) => write!(f, "= {v}"),
        }
    }
}

/// The generated name of an alert expectation; `fault` names the fault it is measured from
/// (e.g. "timeouts on payment_api").
pub fn describe_alert(alert: &str, timing: &AlertTiming, fault: &str) -> String {
    match timing {
        AlertTiming::NeverFires => format!("{alert} never fires"),
        AlertTiming::Window { fires_within_ns: Some(f), resolves_within_ns: Some(r), .. } => format!(
            "{alert} fires within {} of {fault} and resolves within {} of its end",
            format_duration(*f),
            format_duration(*r)
        ),
        AlertTiming::Window { fires_within_ns: Some(f), .. } => {
            format!("{alert} fires within {} of {fault}", format_duration(*f))
        }
        AlertTiming::Window { resolves_within_ns: Some(r), .. } => {
            format!("{alert} resolves within {} of the end of {fault}", format_duration(*r))
        }
        AlertTiming::Window { .. } => format!("{alert} around {fault}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_read_like_the_rule() {
        assert_eq!(format!("availability {}", Comparison::AtLeast(0.999)), "availability ≥ 0.999");
        assert_eq!(format!("{}", Comparison::Equals(Expected::Number(0.0))), "= 0");
        assert_eq!(format!("{}", Comparison::Equals(Expected::Text("ok".into()))), "= \"ok\"");
        let t = AlertTiming::Window { fault: 0, fires_within_ns: Some(180_000_000_000), resolves_within_ns: None };
        assert_eq!(
            describe_alert("HighErrorRate", &t, "timeouts on payment_api"),
            "HighErrorRate fires within 3m of timeouts on payment_api"
        );
        assert_eq!(describe_alert("X", &AlertTiming::NeverFires, ""), "X never fires");
    }
}
