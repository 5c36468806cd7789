//! Evaluating `[[expect]]` against an outcome (a pure function) and rendering the results
//! for the text summary. Metric paths walk `summary.json` as JSON, so every documented key
//! can be checked; alert timings read the monitoring episodes and the faults' windows.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use prodsim_kernel::units::{NS_PER_MS, format_duration, ms_to_ns, ns_to_ms_floor};
use prodsim_model::outcome::Outcome;
use prodsim_scenario::expect::{AlertTiming, Check, Comparison, Expectation, Expected};

/// One expectation's verdict; an element of `summary.json`'s `expectations`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ExpectationResult {
    /// The expectation's name (the file's, or a generated description).
    pub name: String,
    /// Whether it held.
    pub met: bool,
    /// What was found, e.g. `0.9987`, `null`, `fired 4m10s after the fault's start`.
    pub actual: String,
}

/// Evaluates each expectation against `outcome`, in order.
pub fn evaluate(expectations: &[Expectation], outcome: &Outcome) -> Vec<ExpectationResult> {
    let needs_summary = expectations.iter().any(|e| matches!(e.check, Check::Metric { .. }));
    let summary = if needs_summary {
        serde_json::to_value(super::Summary::from_outcome(outcome)).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    expectations
        .iter()
        .map(|e| {
            let (met, actual) = match &e.check {
                Check::Metric { path, comparison } => metric(&summary, path, comparison),
                Check::Alert { alert: name, timing } => alert(outcome, name, timing),
            };
            ExpectationResult { name: e.name.clone(), met, actual }
        })
        .collect()
}

/// The key of `keys` nearest to `word` (as the loader's did-you-mean); among equally near
/// keys, the one sharing the longest prefix with `word`, then the last in order (`p98` →
/// `p99`, not `p90`).
fn nearest<'a>(word: &str, keys: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let prefix = |k: &str| k.chars().zip(word.chars()).take_while(|(a, b)| a == b).count();
    let near: Vec<&str> = keys.collect();
    let best = prodsim_scenario::diagnostic::nearest(word, near.iter().copied())?;
    let distance = strsim::damerau_levenshtein(word, best);
    near.into_iter().filter(|k| strsim::damerau_levenshtein(word, k) == distance).max_by_key(|k| (prefix(k), *k))
}

/// The value at dotted `path` in `root`, or why there is none.
pub(crate) fn lookup<'a>(root: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut here = root;
    let mut walked = String::new();
    for segment in path.split('.') {
        let next = match here {
            Value::Object(map) => map.get(segment).ok_or_else(|| {
                let full = if walked.is_empty() { segment.to_string() } else { format!("{walked}.{segment}") };
                match nearest(segment, map.keys().map(String::as_str)) {
                    Some(n) if walked.is_empty() => format!("no key `{full}` (did you mean `{n}`?)"),
                    Some(n) => format!("no key `{full}` (did you mean `{walked}.{n}`?)"),
                    None => format!("no key `{full}`"),
                }
            })?,
            Value::Array(items) => {
                let index = segment
                    .parse::<usize>()
                    .map_err(|_| format!("`{walked}` is a list: index it with a number (0 to {})", items.len()))?;
                items.get(index).ok_or_else(|| format!("no element {index} in `{walked}` (it has {})", items.len()))?
            }
            _ => return Err(format!("`{walked}` is a value, not an object: no key `{segment}`")),
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(segment);
        here = next;
    }
    Ok(here)
}

fn metric(summary: &Value, path: &str, comparison: &Comparison) -> (bool, String) {
    let value = match lookup(summary, path) {
        Ok(v) => v,
        Err(why) => return (false, why),
    };
    let shown = match value {
        Value::Object(_) => return (false, format!("`{path}` is an object; name one of its keys")),
        Value::Array(items) => return (false, format!("`{path}` is a list of {}; index an element", items.len())),
        Value::Number(n) => format!("{n}{}", unit_of(path)),
        other => other.to_string(),
    };
    let number = value.as_f64();
    let met = match (comparison, number) {
        (Comparison::AtLeast(b), Some(x)) => x >= *b,
        (Comparison::AtMost(b), Some(x)) => x <= *b,
        (Comparison::Above(b), Some(x)) => x > *b,
        (Comparison::Below(b), Some(x)) => x < *b,
        (Comparison::Equals(Expected::Number(b)), Some(x)) => x == *b,
        (Comparison::Equals(Expected::Text(t)), _) => value.as_str() == Some(t.as_str()),
        (Comparison::Equals(Expected::Bool(b)), _) => value.as_bool() == Some(*b),
        _ => false,
    };
    (met, shown)
}

/// The unit a `summary.json` path's value is in, from its name (units are last in names:
/// `mttm_s`, `latency_ms.p99`, `pages_per_week`), with a leading space; empty for counts
/// and shares.
fn unit_of(path: &str) -> &'static str {
    let segments: Vec<&str> = path.split('.').collect();
    let named =
        |suffix: &str| segments.iter().rev().find(|s| s.parse::<usize>().is_err()).is_some_and(|s| s.ends_with(suffix));
    if named("_s") {
        " s"
    } else if named("_ms") || segments.iter().any(|s| s.ends_with("_ms")) {
        " ms"
    } else if named("_per_week") {
        " per week"
    } else {
        ""
    }
}

fn ms_to_text(ms: i64) -> String {
    format_duration(ms.unsigned_abs() * NS_PER_MS)
}

fn alert(outcome: &Outcome, name: &str, timing: &AlertTiming) -> (bool, String) {
    let Some(m) = outcome.system.monitoring.as_deref() else {
        return (false, "no monitoring in this run".to_string());
    };
    let firings =
        move || m.episodes.iter().filter(move |e| e.alert == name).filter_map(|e| Some((e.firing_ms?, e.resolved_ms)));
    let (fault, fires_within_ns, resolves_within_ns) = match timing {
        AlertTiming::NeverFires => {
            return match firings().map(|(f, _)| f).min() {
                None => (true, "never fired".to_string()),
                Some(first) => (false, format!("fired at {} ({} times)", ms_to_text(first), firings().count())),
            };
        }
        AlertTiming::Window { fault, fires_within_ns, resolves_within_ns } => {
            (fault, fires_within_ns, resolves_within_ns)
        }
    };
    let Some(f) = outcome.faults.get(*fault) else {
        return (false, format!("no fault {fault} in this run"));
    };
    let start_ms = ns_to_ms_floor(f.start_ns);
    let end_ms = ns_to_ms_floor(f.end_ns.min(outcome.simulated_ns));
    let Some((firing_ms, resolved_ms)) = firings().filter(|(f, _)| *f >= start_ms).min_by_key(|(f, _)| *f) else {
        let said = if firings().next().is_some() { "did not fire after the fault's start" } else { "never fired" };
        return (false, said.to_string());
    };
    let after = firing_ms - start_ms;
    let mut met = fires_within_ns.is_none_or(|w| ms_to_ns(after) <= w);
    let mut actual = format!("fired {} after the fault's start", ms_to_text(after));
    if let Some(w) = resolves_within_ns {
        match resolved_ms {
            Some(r) => {
                let side = if r >= end_ms { "after" } else { "before" };
                let _ = write!(actual, ", resolved {} {side} its end", ms_to_text(r - end_ms));
                met &= r <= end_ms.saturating_add(ns_to_ms_floor(*w));
            }
            None => {
                actual.push_str(", still firing at the end of the run");
                met = false;
            }
        }
    }
    (met, actual)
}

/// The `expectations` block of the text summary: one line per expectation and a count.
pub fn render(results: &[ExpectationResult]) -> String {
    let mut s = String::new();
    if results.is_empty() {
        return s;
    }
    for (i, r) in results.iter().enumerate() {
        let label = if i == 0 { "expectations" } else { "" };
        let verdict = if r.met { "met    " } else { "NOT MET" };
        let _ = writeln!(s, "{label:<13} {verdict}  {} — {}", r.name, r.actual);
    }
    let met = results.iter().filter(|r| r.met).count();
    let _ = writeln!(s, "{:<13} {met} of {} met", "", results.len());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: &Value, path: &str, c: Comparison) -> (bool, String) {
        metric(value, path, &c)
    }

    #[test]
    fn metrics_compare_numbers_strings_and_bools() {
        let v = json!({"availability": 0.9987, "payments": {"lost": 0}, "deploys": [{"outcome": "rolled_back", "ok": true}], "latency_ms": {"p99": null}});
        assert_eq!(check(&v, "availability", Comparison::AtLeast(0.999)), (false, "0.9987".into()));
        assert!(check(&v, "availability", Comparison::AtMost(0.999)).0);
        assert!(check(&v, "availability", Comparison::Above(0.99)).0);
        assert!(!check(&v, "availability", Comparison::Below(0.99)).0);
        assert!(check(&v, "payments.lost", Comparison::Equals(Expected::Number(0.0))).0);
        assert!(check(&v, "deploys.0.outcome", Comparison::Equals(Expected::Text("rolled_back".into()))).0);
        assert!(!check(&v, "deploys.0.outcome", Comparison::Equals(Expected::Text("done".into()))).0);
        assert!(check(&v, "deploys.0.ok", Comparison::Equals(Expected::Bool(true))).0);
        assert_eq!(check(&v, "latency_ms.p99", Comparison::Below(800.0)), (false, "null".into()));
    }

    #[test]
    fn values_print_with_their_units() {
        // "mttm_s ≤ 1800 — 1796.0" left the reader to guess seconds.
        let v = json!({"mttm_s": 1796.0, "latency_ms": {"p99": 250.5}, "incidents": [{"paged_s": 60.0}],
            "alert_quality": {"pages_per_week": 2.5}, "availability": 0.99});
        assert_eq!(check(&v, "mttm_s", Comparison::AtMost(1800.0)), (true, "1796.0 s".into()));
        assert_eq!(check(&v, "latency_ms.p99", Comparison::AtMost(300.0)).1, "250.5 ms");
        assert_eq!(check(&v, "incidents.0.paged_s", Comparison::AtMost(300.0)).1, "60.0 s");
        assert_eq!(check(&v, "alert_quality.pages_per_week", Comparison::AtMost(3.0)).1, "2.5 per week");
        assert_eq!(check(&v, "availability", Comparison::AtMost(1.0)).1, "0.99");
    }

    #[test]
    fn missing_keys_say_what_is_there() {
        let v = json!({"latency_ms": {"p99": 1.0, "p50": 0.5}, "deploys": [{"outcome": "done"}]});
        let (met, actual) = check(&v, "latency_ms.p98", Comparison::Below(1.0));
        assert!(!met);
        assert_eq!(actual, "no key `latency_ms.p98` (did you mean `latency_ms.p99`?)");
        assert_eq!(check(&v, "latncy_ms", Comparison::Below(1.0)).1, "no key `latncy_ms` (did you mean `latency_ms`?)");
        assert_eq!(check(&v, "deploys.3.outcome", Comparison::Below(1.0)).1, "no element 3 in `deploys` (it has 1)");
        assert!(check(&v, "deploys.x", Comparison::Below(1.0)).1.contains("is a list"));
        assert!(check(&v, "latency_ms", Comparison::Below(1.0)).1.contains("is an object"));
        assert!(check(&v, "latency_ms.p99.x", Comparison::Below(1.0)).1.contains("not an object"));
    }

    #[test]
    fn alerts_in_a_run_without_monitoring_are_not_met() {
        let text = "[scenario]\nname = \"t\"\nduration = \"1m\"\n[[workload]]\nname = \"w\"\nrate = 5\n[servers]\ncount = 1\nworkers = 1\nservice_time = \"exp(10ms)\"\n";
        let s = prodsim_scenario::load_str(text, std::path::Path::new("t.toml")).expect("loads").scenario;
        let o = prodsim_model::simulate(&s, 1).expect("runs");
        let e = [
            Expectation {
                name: "X never fires".into(),
                check: Check::Alert { alert: "X".into(), timing: AlertTiming::NeverFires },
            },
            Expectation {
                name: "arrived".into(),
                check: Check::Metric { path: "requests.arrived".into(), comparison: Comparison::Above(0.0) },
            },
        ];
        let r = evaluate(&e, &o);
        assert_eq!(
            r[0],
            ExpectationResult { name: "X never fires".into(), met: false, actual: "no monitoring in this run".into() }
        );
        assert!(r[1].met, "{r:?}");
    }

    #[test]
    fn the_text_block_counts() {
        let r = vec![
            ExpectationResult { name: "a ≥ 1".into(), met: true, actual: "2".into() },
            ExpectationResult { name: "b < 1".into(), met: false, actual: "3".into() },
        ];
        let text = render(&r);
        assert!(text.starts_with("expectations  met      a ≥ 1 — 2\n"), "{text}");
        assert!(text.contains("NOT MET  b < 1 — 3"), "{text}");
        assert!(text.ends_with("1 of 2 met\n"), "{text}");
        assert_eq!(render(&[]), "");
    }
}
