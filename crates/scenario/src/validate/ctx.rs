//! The validation context: the diagnostics collected while resolving a file, and every
//! reusable check of one field (durations, distributions, counts, numbers in a range, names
//! from a list with the nearest one suggested).
//!
//! Section validators call the checks as methods (`cx.probability(..)`,
//! `cx.positive_duration(..)`, `cx.pick(..)`). A check reports its own error at the value's
//! span, naming the field, and returns `None` when the value is wrong, so a validator can
//! collect every error of a section before giving up on it. This module depends on the
//! diagnostics and the units only: every section validator depends on it, none on another
//! validator's helpers.

use std::fmt::Display;
use std::ops::{Range, RangeInclusive};

use toml::Spanned;

use crate::diagnostic::{Diagnostic, Severity, nearest};
use crate::prometheus::imports::Imports;
use crate::units;
use prodsim_kernel::{Dist, dist};

/// The end of the error for a section that needs alerting rules and has none.
pub(crate) const NEEDS_ALERTS: &str = "needs alerts: add [monitoring] with ready_rules, [[alerts]] or [slo]";

/// What a number must be, as a test and the words an error message uses for it
/// ("`field` must be *a probability between 0 and 1*, got 1.5").
#[derive(Clone, Copy)]
pub(crate) struct Allowed {
    /// The values accepted.
    pub(crate) test: fn(f64) -> bool,
    /// What they are, completing "must be ...".
    pub(crate) says: &'static str,
}

/// Finite and above zero.
pub(crate) const POSITIVE: Allowed = Allowed { test: |x| x.is_finite() && x > 0.0, says: "a positive number" };
/// Finite and zero or more.
pub(crate) const NON_NEGATIVE: Allowed =
    Allowed { test: |x| x.is_finite() && x >= 0.0, says: "zero or a positive number" };
/// From 0 to 1, both included, said as a probability (an error rate, a fault's rate).
pub(crate) const PROBABILITY: Allowed =
    Allowed { test: |x| (0.0..=1.0).contains(&x), says: "a probability between 0 and 1" };
/// From 0 to 1, both included, said as a share of something (users, log entries).
pub(crate) const SHARE: Allowed = Allowed { test: |x| (0.0..=1.0).contains(&x), says: "a share between 0 and 1" };
/// From 0 to 1, both included.
pub(crate) const FRACTION: Allowed = Allowed { test: |x| (0.0..=1.0).contains(&x), says: "a number between 0 and 1" };
/// From 0 up to 1, not included: a probability that cannot be certain (a failure, a miss).
pub(crate) const FRACTION_BELOW_ONE: Allowed =
    Allowed { test: |x| (0.0..1.0).contains(&x), says: "a number from 0 up to, but not including, 1" };
/// Above 0, and at most 1.
pub(crate) const FRACTION_ABOVE_ZERO: Allowed =
    Allowed { test: |x| x > 0.0 && x <= 1.0, says: "a number above 0 and at most 1" };

/// Above 0 and below 1: a significance level.
pub(crate) const FRACTION_ABOVE_ZERO_BELOW_ONE: Allowed =
    Allowed { test: |x| x > 0.0 && x < 1.0, says: "a number above 0 and below 1" };

/// Collects diagnostics while resolving, and checks fields.
pub(crate) struct Ctx<'a> {
    /// The file's text, for locating spans.
    text: &'a str,
    /// Every error and warning so far, in the order found.
    diags: Vec<Diagnostic>,
    /// The rule files and Alertmanager configuration the file names, already read.
    pub(crate) imports: Option<&'a Imports>,
}

impl<'a> Ctx<'a> {
    /// A context for the file `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Ctx { text, diags: Vec::new(), imports: None }
    }

    /// Every diagnostic found.
    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// Whether an error (not a warning) was found.
    pub(crate) fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == Severity::Error)
    }

    /// Reports an error about `span`.
    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(self.text, span, message));
    }

    /// Reports an error about `span` with a suggestion.
    pub(crate) fn error_with_help(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<String>) {
        let d = Diagnostic::error(self.text, span, message);
        self.diags.push(match help {
            Some(help) => d.with_help(help),
            None => d,
        });
    }

    /// Reports a warning about `span`.
    pub(crate) fn warning(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(self.text, span, message));
    }

    /// Reports `message` about the unknown name `word` at `span`, suggesting the nearest of
    /// `candidates` as help ("did you mean `x`?").
    pub(crate) fn unknown<'c>(
        &mut self,
        severity: Severity,
        span: Range<usize>,
        message: impl Into<String>,
        word: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) {
        let d = Diagnostic::new(severity, self.text, span, message);
        self.diags.push(match nearest(word, candidates) {
            Some(n) if n != word => d.with_help(format!("did you mean `{n}`?")),
            _ => d,
        });
    }

    /// Reports an error about the unknown name `v`, suggesting the nearest of `candidates`.
    pub(crate) fn unknown_name<'c>(
        &mut self,
        v: &Spanned<String>,
        message: impl Into<String>,
        candidates: impl IntoIterator<Item = &'c str>,
    ) {
        self.unknown(Severity::Error, v.span(), message, v.get_ref(), candidates);
    }

    /// The position of `v` in `names`; otherwise the error "`field`: unknown `what` ...;
    /// `label` a, b, c" with the nearest name.
    pub(crate) fn pick(
        &mut self,
        v: &Spanned<String>,
        field: &str,
        what: &str,
        label: &str,
        names: &[&str],
    ) -> Option<usize> {
        if let Some(i) = names.iter().position(|n| *n == v.get_ref().as_str()) {
            return Some(i);
        }
        let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        self.unknown_name(
            v,
            format!("{field}: unknown {what} `{}`; {label} {known}", v.get_ref()),
            names.iter().copied(),
        );
        None
    }

    /// Warns when no alert rule is called `a`: the reference never triggers.
    pub(crate) fn known_alert(&mut self, a: &Spanned<String>, field: &str, known: &[String]) {
        if known.contains(a.get_ref()) {
            return;
        }
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        let message = format!("{field}: no alert named `{}`; known alerts: {}", a.get_ref(), names.join(", "));
        self.unknown(Severity::Warning, a.span(), message, a.get_ref(), names);
    }

    /// Where the contents of a quoted string value start.
    fn inner_start(&self, span: &Range<usize>) -> usize {
        match self.text.as_bytes().get(span.start) {
            Some(b'"' | b'\'') => span.start + 1,
            _ => span.start,
        }
    }

    /// The span of bytes `offset..offset + len` inside the string `value` (at least one
    /// byte, within the value).
    pub(crate) fn span_inside(&self, value: &Spanned<String>, offset: usize, len: usize) -> Range<usize> {
        let start = self.inner_start(&value.span()) + offset;
        let end = (start + len.max(1)).min(value.span().end.max(start + 1));
        start..end
    }

    /// Reports a problem at byte `offset` (length `len`) inside the string `value`.
    pub(crate) fn inside(&mut self, value: &Spanned<String>, field: &str, offset: usize, len: usize, message: &str) {
        let span = self.span_inside(value, offset, len);
        self.error(span, format!("{field}: {message}"));
    }

    /// A duration (`"30s"`, `"1h30m"`) in nanoseconds.
    pub(crate) fn duration(&mut self, value: &Spanned<String>, field: &str) -> Option<u64> {
        match units::parse_duration(value.get_ref()) {
            Ok(ns) => Some(ns),
            Err(e) => {
                self.inside(value, field, e.offset, e.len, &e.message);
                None
            }
        }
    }

    /// `v` as a duration, or `default_ns` when absent.
    pub(crate) fn duration_or(&mut self, v: Option<&Spanned<String>>, field: &str, default_ns: u64) -> Option<u64> {
        match v {
            Some(v) => self.duration(v, field),
            None => Some(default_ns),
        }
    }

    /// A duration that must be longer than zero.
    pub(crate) fn positive_duration(&mut self, v: &Spanned<String>, field: &str) -> Option<u64> {
        match self.duration(v, field)? {
            0 => {
                self.error(v.span(), format!("{field} must be longer than zero"));
                None
            }
            ns => Some(ns),
        }
    }

    /// `v` as a duration longer than zero, or `default_ns` when absent.
    pub(crate) fn positive_duration_or(
        &mut self,
        v: Option<&Spanned<String>>,
        field: &str,
        default_ns: u64,
    ) -> Option<u64> {
        match v {
            Some(v) => self.positive_duration(v, field),
            None => Some(default_ns),
        }
    }

    /// A distribution (`"exp(10ms)"`).
    pub(crate) fn dist(&mut self, value: &Spanned<String>, field: &str) -> Option<Dist> {
        match dist::parse(value.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.inside(value, field, e.offset, e.len, &e.message);
                None
            }
        }
    }

    /// A distribution, or a plain duration for a fixed time (`"4m"` is `const(4m)`): the
    /// delivery sections mostly take times people estimate, where a fixed value is common.
    pub(crate) fn dist_or_fixed(&mut self, v: &Spanned<String>, field: &str) -> Option<Dist> {
        match units::parse_duration(v.get_ref()) {
            Ok(ns) => Some(Dist::constant(ns)),
            Err(_) => self.dist(v, field),
        }
    }

    /// `v` as in [`Ctx::dist_or_fixed`], or `default` (a constant text that parses) when
    /// absent.
    pub(crate) fn dist_or(&mut self, v: Option<&Spanned<String>>, field: &str, default: &str) -> Option<Dist> {
        match v {
            Some(v) => self.dist_or_fixed(v, field),
            None => Some(
                units::parse_duration(default)
                    .map(Dist::constant)
                    .ok()
                    .or_else(|| dist::parse(default).ok())
                    .unwrap_or(Dist::constant(0)),
            ),
        }
    }

    /// A count of at least 1.
    pub(crate) fn positive_count<T: Copy + Into<u64>>(&mut self, value: &Spanned<T>, field: &str) -> Option<T> {
        if (*value.get_ref()).into() == 0 {
            self.error(value.span(), format!("{field} must be at least 1"));
            return None;
        }
        Some(*value.get_ref())
    }

    /// `v` as a count of at least 1, or `default` when absent.
    pub(crate) fn positive_count_or<T: Copy + Into<u64>>(
        &mut self,
        v: Option<&Spanned<T>>,
        field: &str,
        default: T,
    ) -> Option<T> {
        match v {
            Some(v) => self.positive_count(v, field),
            None => Some(default),
        }
    }

    /// A count within `range` ("`field` must be 1 to 100, got 0").
    pub(crate) fn count_in<T: Copy + PartialOrd + Display>(
        &mut self,
        v: &Spanned<T>,
        field: &str,
        range: RangeInclusive<T>,
    ) -> Option<T> {
        let x = *v.get_ref();
        if !range.contains(&x) {
            self.error(v.span(), format!("{field} must be {} to {}, got {x}", range.start(), range.end()));
            return None;
        }
        Some(x)
    }

    /// `v` as a count within `range`, or `default` when absent.
    pub(crate) fn count_in_or<T: Copy + PartialOrd + Display>(
        &mut self,
        v: Option<&Spanned<T>>,
        field: &str,
        range: RangeInclusive<T>,
        default: T,
    ) -> Option<T> {
        match v {
            Some(v) => self.count_in(v, field, range),
            None => Some(default),
        }
    }

    /// A number that `allowed` accepts ("`field` must be `allowed.says`, got x").
    pub(crate) fn number(&mut self, v: &Spanned<f64>, field: &str, allowed: Allowed) -> Option<f64> {
        let x = *v.get_ref();
        if !(allowed.test)(x) {
            self.error(v.span(), format!("{field} must be {}, got {x}", allowed.says));
            return None;
        }
        Some(x)
    }

    /// `v` as in [`Ctx::number`], or `default` when absent.
    pub(crate) fn number_or(
        &mut self,
        v: Option<&Spanned<f64>>,
        field: &str,
        default: f64,
        allowed: Allowed,
    ) -> Option<f64> {
        match v {
            Some(v) => self.number(v, field, allowed),
            None => Some(default),
        }
    }

    /// A number above zero.
    pub(crate) fn positive(&mut self, v: &Spanned<f64>, field: &str) -> Option<f64> {
        self.number(v, field, POSITIVE)
    }

    /// `v` as zero or a positive number, or `default` when absent.
    pub(crate) fn non_negative(&mut self, v: Option<&Spanned<f64>>, field: &str, default: f64) -> Option<f64> {
        self.number_or(v, field, default, NON_NEGATIVE)
    }

    /// `v` as a probability, or 0 when absent.
    pub(crate) fn probability(&mut self, v: Option<&Spanned<f64>>, field: &str) -> Option<f64> {
        self.number_or(v, field, 0.0, PROBABILITY)
    }

    /// A rule's `labels` or `annotations` (`what`), within the documented caps on their
    /// number and sizes; an error names the rule (`field`) at `span`.
    pub(crate) fn label_map(
        &mut self,
        span: Range<usize>,
        field: &str,
        what: &str,
        map: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        use crate::limits::{MAX_LABEL_NAME_BYTES, MAX_LABEL_VALUE_BYTES, MAX_LABELS};
        let problem = if map.len() > MAX_LABELS {
            Some(format!("has {} {what}; at most {MAX_LABELS} are allowed", map.len()))
        } else if let Some(k) = map.keys().find(|k| k.len() > MAX_LABEL_NAME_BYTES) {
            let start: String = k.chars().take(20).collect();
            Some(format!("has a {what} name of {} bytes (`{start}…`); at most {MAX_LABEL_NAME_BYTES}", k.len()))
        } else if let Some((k, v)) = map.iter().find(|(_, v)| v.len() > MAX_LABEL_VALUE_BYTES) {
            Some(format!("{what} `{k}` is {} bytes long; at most {MAX_LABEL_VALUE_BYTES}", v.len()))
        } else {
            None
        };
        match problem {
            Some(p) => {
                self.error(span, format!("{field} {p} (docs/limits.md)"));
                false
            }
            None => true,
        }
    }
}
