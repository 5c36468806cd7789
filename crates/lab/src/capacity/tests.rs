use std::path::Path;

use super::slo::parse;
use super::*;

/// Erlang's loss system M/M/c/c: 5 Erlangs offered to `servers.count` single-worker
/// servers with no queue, each priced at 0.10 an hour.
const LOSS: &str = r#"
[scenario]
name = "loss"
seed = 3
duration = "20m"
warmup = "1m"

[[workload]]
name = "clients"
rate = 5

[balancer]
strategy = "least_connections"

[servers]
count = 4
workers = 1
queue_capacity = 0
service_time = "exp(1s)"
price_per_hour = 0.10
"#;

fn problem<'a>(base: &'a [Assignment], vary: &[&str], spec: &str) -> Problem<'a> {
    Problem {
        source_text: LOSS,
        path: Path::new("loss.toml"),
        base,
        dims: vary.iter().map(|v| parse_vary(v).expect("vary")).collect(),
        objectives: parse(spec).expect("slo"),
    }
}

fn opts(replications: u32, jobs: usize) -> Options {
    Options { replications, base_seed: 11, jobs, confidence: 0.95 }
}

#[test]
fn vary_takes_integer_ranges_stepped_ranges_and_lists() {
    let texts =
        |arg: &str| -> Vec<String> { parse_vary(arg).expect("parses").levels.into_iter().map(|l| l.text).collect() };
    assert_eq!(texts("servers.count=2..5"), ["2", "3", "4", "5"]);
    assert_eq!(texts("servers.count=2..8:3"), ["2", "5", "8"]);
    assert_eq!(texts("servers.workers=8,4"), ["8", "4"]);
    let e = parse_vary("servers.count=9..2").unwrap_err().to_string();
    assert!(e.contains("--vary KEY=A..B") && e.contains("must not be less than START"), "{e}");
}

#[test]
fn required_replications_round_the_confidence_up() {
    let o = |n, c| Options { replications: n, base_seed: 0, jobs: 1, confidence: c }.required();
    assert_eq!(o(20, 0.95), 19);
    assert_eq!(o(10, 0.95), 10);
    assert_eq!(o(10, 0.9), 9);
    assert_eq!(o(3, 0.5), 2);
    assert_eq!(o(5, 1.0), 5);
}

#[test]
fn the_bisected_dimension_is_sorted_and_the_cheapest_is_the_smallest_that_meets() {
    let base = [];
    let p = problem(&base, &["servers.count=14,2,6,3,4,5,7,8,9,10,11,12,13"], "availability>=0.9");
    let c = run(&p, &opts(3, 2), &|| {}).expect("runs");
    assert_eq!(c.bisected, Some(0));
    let values: Vec<&str> = c.dims[0].levels.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(values[..3], ["2", "3", "4"], "sorted ascending");
    assert!(c.evaluations.len() <= Line::planned(13), "{} evaluations", c.evaluations.len());
    let chosen = c.chosen().expect("one meets");
    assert!(chosen.meets && c.cheapest.is_some());
    // Erlang B with 5 Erlangs: 8 servers lose 7.0%, 9 lose 3.8%: the answer is near there.
    let count: f64 = c.dims[0].levels[chosen.levels[0]].number.expect("number");
    assert!((7.0..=10.0).contains(&count), "{}", chosen.label);
    // A month of `count` servers at 0.10 an hour.
    assert!((chosen.cost_per_month.mean - count * 0.10 * 720.0).abs() < 1e-6, "{:?}", chosen.cost_per_month);
    assert!(c.priced && !c.not_monotone());
    // Every smaller value evaluated fails; the answer's neighbour below was evaluated.
    let below = c.evaluations.iter().find(|e| e.levels[0] + 1 == chosen.levels[0]).expect("neighbour evaluated");
    assert!(!below.meets);
}

#[test]
fn results_do_not_depend_on_threads_and_too_large_searches_are_refused() {
    let base = [];
    let p = problem(&base, &["servers.count=3..9", "servers.workers=1,2"], "availability>=0.95,p99<3s");
    let one = run(&p, &opts(2, 1), &|| {}).expect("runs");
    let three = run(&p, &opts(2, 3), &|| {}).expect("runs");
    assert_eq!(one, three);
    assert_eq!(one.lines.len(), 2, "one line per workers value");
    assert_eq!(one.configurations, 14);
    let big = problem(&base, &["servers.count=1..1000", "servers.workers=1..100"], "p99<1s");
    let e = run(&big, &opts(10, 1), &|| {}).unwrap_err().to_string();
    assert!(e.contains("exceed") || e.contains("at most 10000 runs"), "{e}");
    let twice = problem(&base, &["servers.count=1..3", "servers.count=4,5"], "p99<1s");
    assert!(run(&twice, &opts(2, 1), &|| {}).unwrap_err().to_string().contains("varied twice"));
}
