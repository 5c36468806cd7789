//! `[[expect]] metric` paths are checked when the file is loaded, against the catalog of
//! `summary.json` paths (`prodsim_scenario::summary_paths`). The catalog is data written
//! apart from the report, so this runs every shipped scenario and holds the two together:
//! every leaf of the real `summary.json` is in the catalog with its kind, and every path
//! the catalog says every run writes is in the real file. A key the report adds fails
//! here until the catalog has it. Then the user's side: a typo is an error at its place,
//! with the nearest path.

use std::path::PathBuf;

use prodsim_kernel::units::NS_PER_MIN;
use prodsim_scenario::summary_paths::{Kind, Reason, SummaryPaths};
use prodsim_scenario::{Diagnostic, ScenarioError, Severity};
use serde_json::Value;

use crate::common::repo_path;

/// Longest simulated time a shipped scenario runs here: long enough for their faults,
/// releases and incidents to start, short enough for the whole test to take seconds.
const LONGEST_NS: u64 = 35 * NS_PER_MIN;

fn shipped() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/theory"] {
        let entries = std::fs::read_dir(repo_path(dir)).expect("scenario directory");
        files.extend(entries.map(|e| e.expect("entry").path()).filter(|p| p.extension().is_some_and(|e| e == "toml")));
    }
    files.sort();
    assert!(files.len() >= 20, "shipped scenarios: {files:?}");
    files
}

/// Every leaf of `value` (numbers, strings, booleans, nulls) with its path's segments.
fn leaves<'v>(value: &'v Value, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'v Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(k.clone());
                leaves(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(i.to_string());
                leaves(v, at, out);
                at.pop();
            }
        }
        leaf => out.push((at.clone(), leaf)),
    }
}

fn kind_of(value: &Value) -> Option<Kind> {
    match value {
        Value::Number(_) => Some(Kind::Number),
        Value::String(_) => Some(Kind::Text),
        Value::Bool(_) => Some(Kind::Bool),
        _ => None,
    }
}

/// The value at dotted `path` in `root`, if any.
fn at<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, segment| match v {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Checks the catalog of `name` against its real summary; returns the leaves seen, with
/// list indices written `<n>`.
fn check_summary(name: &str, paths: &SummaryPaths, summary: &Value) -> Vec<String> {
    let mut found = Vec::new();
    leaves(summary, &mut Vec::new(), &mut found);
    let mut seen = Vec::new();
    for (segments, value) in found {
        let path = segments.join(".");
        let checked = paths.check(&path);
        if segments.iter().any(|s| s.contains('.')) {
            // A key with dots (a version "v1.5.0") cannot be read as a dotted path, by the
            // report either; the catalog says so instead of accepting it.
            let reason = checked.err().map(|e| e.reason);
            assert_eq!(reason, Some(Reason::Unreadable), "{name}: `{path}` has a key with dots");
            seen.push(format!("{}.<dotted>", segments[0]));
            continue;
        }
        match (kind_of(value), checked) {
            (Some(kind), Ok(leaf)) => assert_eq!(leaf.kind, kind, "{name}: `{path}` holds {value}"),
            (None, Ok(leaf)) => assert!(leaf.nullable, "{name}: `{path}` is null, and the catalog says it never is"),
            // An object the scenario has no section for is written as null.
            (None, Err(e)) if e.reason == Reason::Absent => continue,
            (_, Err(e)) => panic!("{name}: summary.json has `{path}` = {value}, the catalog refuses it: {e}"),
        }
        let template: Vec<&str> =
            segments.iter().map(|s| if s.parse::<usize>().is_ok() { "<n>" } else { s.as_str() }).collect();
        seen.push(template.join("."));
    }
    for t in paths.templates().into_iter().filter(|t| t.always) {
        let value =
            at(summary, &t.path).unwrap_or_else(|| panic!("{name}: the catalog has `{}`, the summary not", t.path));
        assert!(kind_of(value).is_some() || t.leaf.nullable, "{name}: `{}` is {value}", t.path);
    }
    for list in ["servers", "faults"] {
        let n = summary[list].as_array().map_or(0, Vec::len);
        let beyond = paths.check(&format!("{list}.{n}.start_s")).err().map(|e| e.reason);
        assert_eq!(beyond, Some(Reason::BadIndex), "{name}: `{list}` has {n} elements in the summary");
    }
    seen
}

/// Runs the shipped scenario `file` (cut to [`LONGEST_NS`]) and checks its summary; returns
/// the leaves seen and the catalog's templates.
fn run_and_check(file: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut s = prodsim_scenario::load(file).unwrap_or_else(|e| panic!("{name}: {e}")).scenario;
    if s.duration_ns > LONGEST_NS {
        s.duration_ns = LONGEST_NS;
        s.warmup_ns = s.warmup_ns.min(LONGEST_NS / 10);
    }
    let paths = SummaryPaths::of(&s);
    let outcome = prodsim_model::simulate(&s, s.seed).unwrap_or_else(|e| panic!("{name}: {e}"));
    let summary = serde_json::to_value(prodsim_report::Summary::from_outcome(&outcome)).expect("summary serialises");
    let seen = check_summary(&name, &paths, &summary);
    (seen, paths.templates().into_iter().map(|t| t.path).collect())
}

#[test]
fn every_leaf_of_every_shipped_summary_is_in_the_catalog() {
    let started = std::time::Instant::now();
    let files = shipped();
    // Two threads, each its share of the files (the runs are independent).
    let halves: Vec<Vec<(Vec<String>, Vec<String>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|k| {
                let mine: Vec<&PathBuf> = files.iter().skip(k).step_by(2).collect();
                scope.spawn(move || mine.into_iter().map(|f| run_and_check(f)).collect())
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let (mut seen, mut catalog) = (Vec::new(), Vec::new());
    for (s, c) in halves.into_iter().flatten() {
        seen.extend(s);
        catalog.extend(c);
    }
    // The shipped scenarios between them write every top-level block of the catalog and
    // an element of each list, so none of its parts goes untested.
    seen.sort();
    seen.dedup();
    for top in catalog.iter().map(|p| p.split('.').next().unwrap_or_default()) {
        assert!(seen.iter().any(|s| s.split('.').next() == Some(top)), "no shipped summary has `{top}`");
    }
    for list in ["servers", "faults", "components", "alerts", "incidents", "notifications", "deploys", "actions"] {
        assert!(
            seen.iter().any(|s| s.starts_with(&format!("{list}.<n>."))),
            "no shipped summary has a `{list}` element"
        );
    }
    // Reported, not asserted: a wall-clock bound in a test fails on a loaded machine, not on
    // a slow change (LONGEST_NS keeps each run short).
    println!("every shipped summary checked in {:.1} s", started.elapsed().as_secs_f64());
}

/// The error diagnostics of `text`, which must not load.
fn errors(text: &str) -> Vec<Diagnostic> {
    match prodsim_scenario::load_str(text, std::path::Path::new("t.toml")) {
        Ok(_) => panic!("loads, but should not:\n{text}"),
        Err(ScenarioError::Invalid { diagnostics, .. }) => {
            diagnostics.into_iter().filter(|d| d.severity == Severity::Error).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn an_unknown_metric_is_an_error_at_its_place_with_the_nearest_path() {
    let shop = std::fs::read_to_string(repo_path("scenarios/payment-outage.toml")).expect("reads");
    // (metric, the comparison, column, message part, suggestion)
    let cases: &[(&str, &str, usize, &str, Option<&str>)] = &[
        ("latency_ms.p98", "below = 800", 22, "summary.json has no key `latency_ms.p98`", Some("latency_ms.p99")),
        ("payments.lots", "equals = 0", 20, "summary.json has no key `payments.lots`", Some("payments.lost")),
        (
            "classes.chekout.availability",
            "at_least = 0.99",
            19,
            "no request class `chekout` (classes: browse, search, checkout)",
            Some("classes.checkout.availability"),
        ),
        ("incidents.first.budget_burned", "below = 1", 21, "`incidents` is a list", Some("incidents.0.budget_burned")),
        ("proxy.cache_hits", "above = 0", 11, "`proxy` only with a [proxy]", None),
        ("latency_ms", "below = 800", 11, "`latency_ms` is an object: name one of its keys", None),
    ];
    for &(metric, comparison, column, part, suggestion) in cases {
        let text = format!("{shop}\n\n[[expect]]\nmetric = \"{metric}\"\n{comparison}\n");
        let line = text[..text.rfind("metric = ").unwrap_or(0)].matches('\n').count() + 1;
        let found = errors(&text);
        let [d] = found.as_slice() else { panic!("{metric}: one error expected: {found:?}") };
        assert_eq!((d.line, d.column), (line, column), "{metric}: {d:?}");
        assert!(d.message.starts_with("expect.metric: ") && d.message.contains(part), "{metric}: {}", d.message);
        assert_eq!(d.help.as_deref(), suggestion.map(|s| format!("did you mean `{s}`?")).as_deref(), "{metric}");
    }
}

#[test]
fn a_comparison_must_fit_what_the_path_holds() {
    let shop = std::fs::read_to_string(repo_path("scenarios/payment-outage.toml")).expect("reads");
    for (expect, part) in [
        (
            "metric = \"deploys.0.outcome\"\nabove = 1\n",
            "expect.above compares numbers, but `deploys.0.outcome` is a string",
        ),
        (
            "metric = \"payments.balanced\"\nequals = 1\n",
            "`payments.balanced` is true or false in summary.json, so 1 never",
        ),
        ("metric = \"availability\"\nequals = \"high\"\n", "`availability` is a number in summary.json"),
    ] {
        let found = errors(&format!("{shop}\n\n[[expect]]\n{expect}"));
        assert!(found.iter().any(|d| d.message.contains(part)), "{expect}: {found:?}");
    }
    let fine = format!("{shop}\n\n[[expect]]\nmetric = \"payments.balanced\"\nequals = true\n");
    assert!(prodsim_scenario::load_str(&fine, std::path::Path::new("t.toml")).is_ok());
}
