//! A fuzz harness on stable Rust: a seeded mutation loop over every input a user writes —
//! scenario files (arbitrary byte edits and structure-aware edits of every shipped
//! scenario), distributions, PromQL expressions, the CLI overrides (`--set`, `--vary`,
//! `--param`), and the Prometheus YAML a scenario imports or `prodsim test rules` reads
//! (rule files, Alertmanager configurations, promtool test files: byte edits of what
//! `prodsim export` writes for every shipped scenario and of the promtool fixtures). A case passes when it neither panics nor takes a second; a scenario that
//! loads is also estimated and, when small, simulated for a few seconds, so a file that
//! validates cannot then crash the engine.
//!
//! CI runs a small fixed budget. A campaign runs with more cases (docs/limits.md):
//! `PRODSIM_FUZZ_CASES=1000000 cargo test --release -p prodsim --test it fuzz -- --nocapture`.
//! Inputs are drawn from a fixed seed (`PRODSIM_FUZZ_SEED` changes it), so a failure
//! reproduces; the failing input is printed whole, and `PRODSIM_FUZZ_LAST=FILE` keeps the
//! running case's input in FILE for a case that aborts the process. Run campaigns under a
//! memory limit (`ulimit -v`), so a case that allocates without bound aborts instead of
//! bringing the machine's out-of-memory killer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use toml::{Table, Value};

use crate::common::repo_path;
use prodsim_lab::overrides::{self, Assignment};
use prodsim_parts::ops::promql;
use prodsim_scenario::prometheus::{am_config, export, rule_file, unit_test};

/// Cases per target in CI.
const CI_CASES: u64 = 400;
/// The slowest a case may be.
const CASE_LIMIT: Duration = Duration::from_secs(1);

/// Values that sit on the edges of what a field accepts.
const EDGES: &[&str] = &[
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "\"\"",
    "\"0s\"",
    "\"1ns\"",
    "\"100000000d\"",
    "\"-5m\"",
    "\"server-99999\"",
    "\"servers\"",
    "\"db\"",
    "true",
    "[]",
    "{}",
    "[1, 2]",
    "\"lognormal(median=0ms, p99=0ms)\"",
    "\"exp(0s)\"",
    "\"x\"",
];

/// Fragments that break structure: brackets, tables, keys, control characters.
const SHARDS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "=",
    "\"",
    "'",
    ",",
    "\n",
    "\n[servers]\n",
    "\n[[faults]]\nkind = \"crash\"\n",
    "\n[[workload]]\n",
    "\n[monitoring]\n",
    "\0",
    "\u{feff}",
    "é",
    "٣",
    "#",
    "\\",
    ".",
    "..",
    "${",
    "{{",
];

/// The run's campaign size, from the environment or the CI budget.
fn cases() -> u64 {
    std::env::var("PRODSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CI_CASES)
}

fn rng(target: u64) -> Pcg64 {
    let seed = std::env::var("PRODSIM_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20261202u64);
    Pcg64::seed_from_u64(prodsim_kernel::derive_seed(seed, target))
}

/// The shipped scenarios' texts.
fn corpus() -> Vec<String> {
    let mut files: Vec<_> = ["scenarios", "scenarios/theory"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo_path(d)).expect("scenarios").map(|e| e.expect("entry").path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read_to_string(p).expect("read")).collect()
}

/// A case slower than this is timed again (three times, the fastest kept).
const SLOW_RECHECK: Duration = Duration::from_millis(100);

fn time(f: impl FnOnce() -> bool) -> Duration {
    let started = Instant::now();
    let _ = f();
    started.elapsed()
}

/// Runs `case` on every input `next` draws, catching panics and timing each case; `case`
/// says whether the input was accepted (so a campaign that only meets errors shows it).
fn campaign(name: &str, target: u64, mut next: impl FnMut(&mut Pcg64) -> String, case: impl Fn(&str) -> bool) {
    let mut r = rng(target);
    let (mut slowest, mut slowest_input, mut accepted) = (Duration::ZERO, String::new(), 0u64);
    let n = cases();
    // A campaign can name a file that holds each case's input while it runs, so a case
    // that aborts the process (out of memory) is on disk afterwards.
    let last = std::env::var_os("PRODSIM_FUZZ_LAST");
    for i in 0..n {
        let input = next(&mut r);
        if let Some(path) = &last {
            std::fs::write(path, &input).expect("PRODSIM_FUZZ_LAST is writable");
        }
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| case(&input)));
        let mut took = started.elapsed();
        match outcome {
            Ok(ok) => accepted += u64::from(ok),
            Err(_) => panic!("{name}: case {i} panicked on this input:\n{input}"),
        }
        if took > SLOW_RECHECK {
            // A loaded machine can stall any case; a slow input is one that stays slow.
            took = (0..3).map(|_| time(|| case(&input))).min().unwrap_or(took);
        }
        if took > slowest {
            (slowest, slowest_input) = (took, input);
        }
    }
    let shown: String = slowest_input.chars().take(160).collect();
    println!(
        "fuzz {name}: {n} cases, {accepted} accepted, no panic, slowest {:.1} ms: {shown:?}",
        slowest.as_secs_f64() * 1e3
    );
    assert!(accepted > 0 && accepted < n, "{name}: {accepted} of {n} accepted: the mutations miss");
    assert!(slowest < CASE_LIMIT, "{name}: a case took {slowest:?}:\n{slowest_input}");
}

/// One byte-level edit of `text`: a byte changed, an edge value or a shard inserted, a range
/// deleted, a line repeated, or a line of `other` spliced in.
fn byte_edit(r: &mut Pcg64, text: &str, other: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = r.random_range(0..=bytes.len());
    match r.random_range(0..6) {
        0 if !bytes.is_empty() => {
            let i = at.min(bytes.len() - 1);
            bytes[i] = r.random();
        }
        1 => bytes.splice(at..at, EDGES[r.random_range(0..EDGES.len())].bytes()).for_each(drop),
        2 => bytes.splice(at..at, SHARDS[r.random_range(0..SHARDS.len())].bytes()).for_each(drop),
        3 => {
            let end = (at + r.random_range(0..64)).min(bytes.len());
            bytes.drain(at..end);
        }
        4 => {
            let lines: Vec<&str> = other.lines().collect();
            let line = lines.get(r.random_range(0..lines.len().max(1))).copied().unwrap_or("");
            bytes.splice(at..at, format!("\n{line}\n").into_bytes()).for_each(drop);
        }
        _ => {
            let lines: Vec<&str> = text.lines().collect();
            let line = lines.get(r.random_range(0..lines.len().max(1))).copied().unwrap_or("");
            bytes.extend(format!("\n{line}\n").into_bytes());
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every leaf of `table` as a path of keys and array indices.
fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                path.push(k.clone());
                leaves(v, path, out);
                path.pop();
            }
        }
        Value::Array(a) if a.iter().any(|v| v.is_table() || v.is_array()) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn leaf_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, k| match v {
        Value::Table(t) => t.get_mut(k),
        Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// One structure-aware edit: a leaf replaced by an edge value or by another leaf's value,
/// or removed; the file is then written back as TOML.
fn structure_edit(r: &mut Pcg64, text: &str) -> String {
    let Ok(table) = text.parse::<Table>() else { return text.to_string() };
    let mut root = Value::Table(table);
    let mut paths = Vec::new();
    leaves(&root, &mut Vec::new(), &mut paths);
    for _ in 0..r.random_range(1..4) {
        let Some(path) = paths.get(r.random_range(0..paths.len().max(1))).cloned() else { break };
        let donor = paths.get(r.random_range(0..paths.len())).and_then(|p| leaf_mut(&mut root, p).cloned());
        let edge: Value = format!("x = {}", EDGES[r.random_range(0..EDGES.len())])
            .parse::<Table>()
            .ok()
            .and_then(|t| t.get("x").cloned())
            .unwrap_or(Value::Integer(0));
        let choice = r.random_range(0..3);
        if choice == 2 {
            if let Some((last, parent)) = path.split_last()
                && let Some(Value::Table(t)) = leaf_mut(&mut root, parent)
            {
                t.remove(last);
            }
        } else if let Some(leaf) = leaf_mut(&mut root, &path) {
            *leaf = if choice == 0 { edge } else { donor.unwrap_or(edge) };
        }
    }
    toml::to_string(&root).unwrap_or_else(|_| text.to_string())
}

/// Loads `text`; when it loads, estimates it and, when the estimate is within its limits,
/// simulates a few seconds of it. Accepted: it was simulated.
fn load_and_run(text: &str) -> bool {
    let Ok(loaded) = prodsim_scenario::load_str(text, Path::new("fuzz.toml")) else { return false };
    let mut s = loaded.scenario;
    let estimate = prodsim_model::estimate::estimate(&s);
    if estimate.check(&s.limits).is_err() {
        return false;
    }
    s.duration_ns = s.duration_ns.min(5 * prodsim_kernel::NS_PER_S);
    s.warmup_ns = 0;
    s.limits.max_events = s.limits.max_events.min(20_000);
    let _ = prodsim_model::simulate(&s, s.seed);
    true
}

#[test]
fn fuzz_scenario_bytes() {
    let files = corpus();
    campaign(
        "scenario bytes",
        1,
        |r| {
            let text = &files[r.random_range(0..files.len())];
            let other = &files[r.random_range(0..files.len())];
            let edits = r.random_range(1..4);
            (0..edits).fold(text.clone(), |t, _| byte_edit(r, &t, other))
        },
        load_and_run,
    );
}

#[test]
fn fuzz_scenario_structure() {
    let files = corpus();
    campaign(
        "scenario structure",
        2,
        |r| {
            let i = r.random_range(0..files.len());
            structure_edit(r, &files[i])
        },
        load_and_run,
    );
}

/// The distributions and PromQL expressions the shipped scenarios use.
fn quoted_after(files: &[String], keys: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = files
        .iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let quote = v.chars().next().filter(|&c| c == '"' || c == '\'')?;
            let inner = v[1..].split(quote).next()?;
            keys.contains(&k.trim()).then(|| inner.replace("\\\"", "\""))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One to three edits of a seed: byte edits, or a word or number swapped for another seed's
/// word or an edge number (edits that keep the grammar, so parsers get past the first token).
fn text_edit(r: &mut Pcg64, seeds: &[String]) -> String {
    let base = seeds[r.random_range(0..seeds.len())].clone();
    let other = seeds[r.random_range(0..seeds.len())].clone();
    (0..r.random_range(1..4)).fold(base, |t, _| {
        if r.random_bool(0.5) { token_edit(r, &t, &other) } else { byte_edit(r, &t, &other).replace('\n', " ") }
    })
}

fn words(text: &str) -> Vec<(usize, &str)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (start, is_word(c)) {
            (None, true) => start = Some(i),
            (Some(s0), false) => {
                out.push((s0, &text[s0..i]));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn token_edit(r: &mut Pcg64, text: &str, other: &str) -> String {
    const NUMBERS: &[&str] = &["0", "-1", "1e308", "999999999999999999999", "0.0001", "nan", "1", "3"];
    let ours = words(text);
    let theirs = words(other);
    let Some(&(at, word)) = ours.get(r.random_range(0..ours.len().max(1))) else { return text.to_string() };
    let new = if word.starts_with(|c: char| c.is_ascii_digit()) || theirs.is_empty() {
        NUMBERS[r.random_range(0..NUMBERS.len())]
    } else {
        theirs[r.random_range(0..theirs.len())].1
    };
    format!("{}{new}{}", &text[..at], &text[at + word.len()..])
}

#[test]
fn fuzz_distributions() {
    let mut seeds = quoted_after(&corpus(), &["service_time", "latency", "read_time", "write_time", "think_time"]);
    seeds
        .extend(["mix(0.9: exp(1ms), 0.1: const(1s))", "erlang(k=3, mean=10ms)", "pareto(1ms, 1.5)"].map(String::from));
    campaign(
        "distributions",
        3,
        |r| text_edit(r, &seeds),
        |text| {
            let Ok(d) = prodsim_kernel::dist::parse(text) else { return false };
            let mut rng = prodsim_kernel::rng::stream(1, "fuzz");
            for _ in 0..64 {
                let _ = d.sample_ns(&mut rng);
            }
            let _ = d.mean_ns();
            true
        },
    );
}

#[test]
fn fuzz_promql() {
    let mut seeds = quoted_after(&corpus(), &["expr"]);
    seeds.extend(
        [
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            "sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) > 0.01",
            "up == 0 offset 5m",
            "topk(3, avg_over_time(x[1h])) and on(job) y",
        ]
        .map(String::from),
    );
    let db = prodsim_parts::ops::tsdb::Tsdb::new();
    campaign(
        "promql",
        4,
        |r| text_edit(r, &seeds),
        |text| {
            let Ok(e) = promql::parse(text) else { return false };
            let _ = promql::eval(&e, &db, 3_600_000);
            let _ = e.longest_range_ms();
            true
        },
    );
}

#[test]
fn fuzz_overrides() {
    let seeds: Vec<String> = [
        "servers.count=8",
        "servers.count=1..8:1",
        "balancer.strategy=round_robin,least_connections",
        "workload.0.rate=100",
        "workload.rate=1e3",
        "servers.service_time=\"exp(10ms)\"",
        "faults.0.at=\"1m\"",
        "limits.max_events=1000",
    ]
    .map(String::from)
    .to_vec();
    let quickstart = std::fs::read_to_string(repo_path("scenarios/quickstart.toml")).expect("quickstart");
    campaign(
        "overrides",
        5,
        |r| text_edit(r, &seeds),
        |argument| {
            let _ = prodsim_lab::sweep::parse_param(argument);
            let Ok(list) = overrides::parse_list(argument, "--vary") else { return false };
            let a = match list.values.into_iter().next() {
                Some(v) => Assignment::set(list.key, v),
                None => Assignment::remove(list.key),
            };
            let Ok(loaded) = overrides::apply(&quickstart, Path::new("quickstart.toml"), &[a]) else { return false };
            let _ = prodsim_model::estimate::estimate(&loaded.scenario);
            true
        },
    );
}

/// The YAML a user brings: the rule files and Alertmanager configurations `prodsim export`
/// writes for every shipped scenario with monitoring, and the promtool test files.
fn yaml_corpus() -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut rules, mut routing) = (Vec::new(), Vec::new());
    for text in corpus() {
        let Ok(loaded) = prodsim_scenario::load_str(&text, Path::new("corpus.toml")) else { continue };
        if let Some(spec) = &loaded.scenario.topology.monitoring {
            rules.push(export::rules_yaml(spec, "corpus.toml"));
            routing.push(export::alertmanager_yaml(&spec.routing, "corpus.toml"));
        }
    }
    let dir = repo_path("crates/prodsim/tests/it/promtool");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("promtool fixture");
    rules.push(read("rules.yml"));
    let tests = ["pass.yml", "fail.yml", "bad-series.yml", "unsupported.yml"].map(read).to_vec();
    (rules, routing, tests)
}

/// One to three byte edits of a file of `files`, spliced with lines of another.
fn yaml_edit(r: &mut Pcg64, files: &[String]) -> String {
    let text = &files[r.random_range(0..files.len())];
    let other = &files[r.random_range(0..files.len())];
    let edits = r.random_range(1..4);
    (0..edits).fold(text.clone(), |t, _| byte_edit(r, &t, other))
}

#[test]
fn fuzz_rule_files() {
    let (rules, _, _) = yaml_corpus();
    campaign("rule files", 6, |r| yaml_edit(r, &rules), |text| rule_file::parse(text, Some(15_000)).is_ok());
}

#[test]
fn fuzz_alertmanager_configs() {
    let (_, routing, _) = yaml_corpus();
    assert!(!routing.is_empty(), "the shipped scenarios route notifications");
    campaign("alertmanager configs", 7, |r| yaml_edit(r, &routing), |text| am_config::parse(text).is_ok());
}

#[test]
fn fuzz_rule_tests() {
    let (_, _, tests) = yaml_corpus();
    let rules = std::fs::read_to_string(repo_path("crates/prodsim/tests/it/promtool/rules.yml")).expect("rules.yml");
    let groups = rule_file::rule_groups(&rules).expect("the fixture's rules parse");
    campaign(
        "rule unit tests",
        8,
        |r| yaml_edit(r, &tests),
        |text| {
            let Ok(file) = unit_test::parse(text) else { return false };
            if unit_test::check_supported(&file, &groups).is_ok() {
                file.tests.iter().for_each(|t| drop(unit_test::run(&file, &groups, t)));
            }
            true
        },
    );
}
