//! Resolving `[[expect]]`: a `metric` expectation takes exactly one comparison, an `alert`
//! expectation takes `fires_within`/`resolves_within` (from a fault in range) or
//! `never_fires = true` alone, and names an alert the scenario has. A `metric` path must be
//! one the scenario's `summary.json` has ([`SummaryPaths`]), compared as what it holds.
//! Errors name the field and what it accepts.

use toml::Spanned;

use super::ctx::{Ctx, NEEDS_ALERTS};
use crate::expect::{AlertTiming, Check, Comparison, Expectation, Expected, RawExpect, describe_alert};
use crate::summary_paths::{Kind, SummaryPaths};
use prodsim_parts::faults::Fault;

/// The comparison keys, in the order they are read.
const COMPARISONS: [&str; 5] = ["at_least", "at_most", "above", "below", "equals"];
/// The keys only an alert expectation takes.
const ALERT_KEYS: [&str; 4] = ["fault", "fires_within", "resolves_within", "never_fires"];

/// What the rest of the scenario tells the expectations.
pub(super) struct Known<'a> {
    /// The resolved faults in file order; `None` when they had errors (ranges go unchecked).
    pub faults: Option<&'a [Fault]>,
    /// The alert rules' names: `Some(None)` when there are none, `None` when the topology
    /// had errors (names go unchecked).
    pub alerts: Option<Option<&'a [String]>>,
    /// The paths of the scenario's `summary.json`; `None` when the scenario had errors
    /// (paths go unchecked beyond their syntax).
    pub paths: Option<&'a SummaryPaths>,
}

/// Resolves every `[[expect]]`; `None` when one has an error.
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &[Spanned<RawExpect>], known: &Known<'_>) -> Option<Vec<Expectation>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for e in raw {
        let at = e.span().start..e.span().start;
        let r = e.get_ref();
        let check = match (&r.metric, &r.alert) {
            (Some(m), None) => metric(cx, r, m, known.paths),
            (None, Some(a)) => alert(cx, r, a, known),
            (Some(_), Some(a)) => {
                cx.error(a.span(), "expect.alert: an expectation checks either a `metric` or an `alert`, not both");
                None
            }
            (None, None) => {
                cx.error(at, "[[expect]] needs `metric = \"...\"` (a summary.json key) or `alert = \"...\"`");
                None
            }
        };
        let Some(check) = check else {
            ok = false;
            continue;
        };
        let name = match &r.name {
            Some(n) if n.get_ref().trim().is_empty() => {
                cx.error(n.span(), "expect.name must not be empty (omit it for a generated name)");
                ok = false;
                continue;
            }
            Some(n) => n.get_ref().clone(),
            None => generated_name(&check, known.faults),
        };
        out.push(Expectation { name, check });
    }
    ok.then_some(out)
}

fn generated_name(check: &Check, faults: Option<&[Fault]>) -> String {
    match check {
        Check::Metric { path, comparison } => format!("{path} {comparison}"),
        Check::Alert { alert, timing } => {
            let index = match timing {
                AlertTiming::Window { fault, .. } => *fault,
                AlertTiming::NeverFires => 0,
            };
            let fault = match faults.and_then(|f| f.get(index)) {
                Some(f) => format!("{} on {}", f.kind.name(), f.target_name),
                None => format!("fault {index}"),
            };
            describe_alert(alert, timing, &fault)
        }
    }
}

/// The keys of `r` that are set, among `names` (same order as [`COMPARISONS`] or
/// [`ALERT_KEYS`]), with their spans.
fn present(r: &RawExpect, comparisons: bool) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let spans = if comparisons {
        [
            r.at_least.as_ref().map(Spanned::span),
            r.at_most.as_ref().map(Spanned::span),
            r.above.as_ref().map(Spanned::span),
            r.below.as_ref().map(Spanned::span),
            r.equals.as_ref().map(Spanned::span),
        ]
        .to_vec()
    } else {
        [
            r.fault.as_ref().map(Spanned::span),
            r.fires_within.as_ref().map(Spanned::span),
            r.resolves_within.as_ref().map(Spanned::span),
            r.never_fires.as_ref().map(Spanned::span),
        ]
        .to_vec()
    };
    let names: &[&'static str] = if comparisons { &COMPARISONS } else { &ALERT_KEYS };
    names.iter().zip(spans).filter_map(|(n, s)| s.map(|s| (*n, s))).collect()
}

fn metric(cx: &mut Ctx<'_>, r: &RawExpect, m: &Spanned<String>, paths: Option<&SummaryPaths>) -> Option<Check> {
    let mut ok = true;
    let path = m.get_ref().trim();
    let mut kind = None;
    if path.is_empty() || path.split('.').any(str::is_empty) {
        let message = "expect.metric: give a dotted path into summary.json, e.g. \"availability\" or \"latency_ms.p99\" (no empty segments)";
        cx.error(m.span(), message);
        ok = false;
    } else if let Some(paths) = paths {
        kind = check_path(cx, m, path, paths);
        ok &= kind.is_some();
    }
    for (key, span) in present(r, false) {
        cx.error(
            span,
            format!(
                "expect.{key} applies only to an `alert` expectation; a `metric` one takes one of {}",
                COMPARISONS.join(", ")
            ),
        );
        ok = false;
    }
    let given = present(r, true);
    match given.as_slice() {
        [] => {
            cx.error(m.span(), format!("expect.metric needs one comparison: {}", COMPARISONS.join(", ")));
            return None;
        }
        [_] => {}
        [(first, _), rest @ ..] => {
            for (key, span) in rest {
                cx.error(
                    span.clone(),
                    format!(
                        "expect.{key}: an expectation takes exactly one comparison, and this one has `{first}` already"
                    ),
                );
            }
            return None;
        }
    }
    let comparison = comparison(cx, r)?;
    if let (Some(kind), [(key, span)]) = (kind, given.as_slice()) {
        ok &= check_compared(cx, path, kind, key, span.clone(), &comparison);
    }
    ok.then(|| Check::Metric { path: path.to_string(), comparison })
}

/// The kind of value at `path` (the trimmed text of `m`), or an error at the part of the
/// path that is wrong, with the nearest valid path.
fn check_path(cx: &mut Ctx<'_>, m: &Spanned<String>, path: &str, paths: &SummaryPaths) -> Option<Kind> {
    match paths.check(path) {
        Ok(leaf) => Some(leaf.kind),
        Err(e) => {
            let lead = m.get_ref().len() - m.get_ref().trim_start().len();
            let span = cx.span_inside(m, lead + e.span.start, e.span.len());
            let help = e.suggestion.map(|s| format!("did you mean `{s}`?"));
            cx.error_with_help(span, format!("expect.metric: {}", e.message), help);
            None
        }
    }
}

/// A comparison fits what the path holds: `at_least`, `at_most`, `above` and `below`
/// compare numbers, `equals` a value of the same kind.
fn check_compared(
    cx: &mut Ctx<'_>,
    path: &str,
    kind: Kind,
    key: &str,
    span: std::ops::Range<usize>,
    comparison: &Comparison,
) -> bool {
    let given = match comparison {
        Comparison::Equals(Expected::Text(_)) => Kind::Text,
        Comparison::Equals(Expected::Bool(_)) => Kind::Bool,
        _ => Kind::Number,
    };
    if given == kind {
        return true;
    }
    let message = match comparison {
        Comparison::Equals(v) => {
            format!("expect.equals: `{path}` is {kind} in summary.json, so {v} never equals it")
        }
        _ => format!("expect.{key} compares numbers, but `{path}` is {kind} in summary.json; compare it with `equals`"),
    };
    cx.error(span, message);
    false
}

/// The one comparison `r` has (checked by the caller).
fn comparison(cx: &mut Ctx<'_>, r: &RawExpect) -> Option<Comparison> {
    let number = |cx: &mut Ctx<'_>, v: &Spanned<f64>, key: &str| {
        if v.get_ref().is_finite() {
            Some(*v.get_ref())
        } else {
            cx.error(v.span(), format!("expect.{key} must be a finite number"));
            None
        }
    };
    if let Some(v) = &r.at_least {
        return number(cx, v, "at_least").map(Comparison::AtLeast);
    }
    if let Some(v) = &r.at_most {
        return number(cx, v, "at_most").map(Comparison::AtMost);
    }
    if let Some(v) = &r.above {
        return number(cx, v, "above").map(Comparison::Above);
    }
    if let Some(v) = &r.below {
        return number(cx, v, "below").map(Comparison::Below);
    }
    let v = r.equals.as_ref()?;
    let expected = match v.get_ref() {
        toml::Value::Integer(i) => Expected::Number(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Expected::Number(*f),
        toml::Value::String(s) => Expected::Text(s.clone()),
        toml::Value::Boolean(b) => Expected::Bool(*b),
        _ => {
            cx.error(v.span(), "expect.equals takes a finite number, a string or true/false");
            return None;
        }
    };
    Some(Comparison::Equals(expected))
}

fn alert(cx: &mut Ctx<'_>, r: &RawExpect, a: &Spanned<String>, known: &Known<'_>) -> Option<Check> {
    let mut ok = true;
    for (key, span) in present(r, true) {
        cx.error(
            span,
            format!("expect.{key} applies only to a `metric` expectation; an `alert` one takes fires_within, resolves_within or never_fires"),
        );
        ok = false;
    }
    match known.alerts {
        Some(None) => {
            cx.error(a.span(), format!("expect.alert {NEEDS_ALERTS}"));
            ok = false;
        }
        Some(Some(names)) => cx.known_alert(a, "expect.alert", names),
        None => {}
    }
    let never = r.never_fires.as_ref().filter(|n| *n.get_ref());
    if let Some(n) = &r.never_fires {
        if !*n.get_ref() {
            cx.error(n.span(), "expect.never_fires takes only `true` (omit it otherwise)");
            ok = false;
        }
    }
    let fires = r.fires_within.as_ref().map(|v| cx.duration(v, "expect.fires_within"));
    let resolves = r.resolves_within.as_ref().map(|v| cx.duration(v, "expect.resolves_within"));
    if let Some(n) = never {
        let others: Vec<&str> = present(r, false).into_iter().map(|(k, _)| k).filter(|k| *k != "never_fires").collect();
        if !others.is_empty() {
            let message = format!("expect.never_fires stands alone; remove {}", others.join(", "));
            cx.error(n.span(), message);
            return None;
        }
        return ok.then(|| Check::Alert { alert: a.get_ref().clone(), timing: AlertTiming::NeverFires });
    }
    if fires.is_none() && resolves.is_none() {
        if r.never_fires.is_none() {
            cx.error(
                a.span(),
                "expect.alert needs fires_within and/or resolves_within (durations), or never_fires = true",
            );
        }
        return None;
    }
    let fault = fault_index(cx, r, a, known.faults)?;
    let timing =
        AlertTiming::Window { fault, fires_within_ns: fires.flatten(), resolves_within_ns: resolves.flatten() };
    let durations_ok = fires.is_none_or(|f| f.is_some()) && resolves.is_none_or(|r| r.is_some());
    (ok && durations_ok).then(|| Check::Alert { alert: a.get_ref().clone(), timing })
}

/// `fault`, checked against the resolved faults.
fn fault_index(cx: &mut Ctx<'_>, r: &RawExpect, a: &Spanned<String>, faults: Option<&[Fault]>) -> Option<usize> {
    let (index, span) = match &r.fault {
        Some(f) => (*f.get_ref(), f.span()),
        None => (0, a.span()),
    };
    let count = faults.map(<[Fault]>::len);
    match count {
        Some(0) => {
            cx.error(span, "expect.fault: alert timings are measured from a fault, and the scenario has no [[faults]]");
            None
        }
        Some(n) if index < 0 || index >= n as i64 => {
            cx.error(
                span,
                format!(
                    "expect.fault: no fault {index}; the scenario's [[faults]] are numbered 0 to {} in file order",
                    n - 1
                ),
            );
            None
        }
        None if index < 0 => {
            cx.error(span, "expect.fault must be 0 or more (an index into [[faults]])");
            None
        }
        _ => usize::try_from(index).ok(),
    }
}
