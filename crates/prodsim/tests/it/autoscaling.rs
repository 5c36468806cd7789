//! The app server pool changes at run time: a spike makes the autoscaler add servers, which
//! lowers the spike's errors and p99 against a fixed pool; the servers it retires after
//! the spike drain without failing a request; a longer cold start delays the capacity; the
//! cost counts provisioned server-hours; an operator's drain loses no request; actions are
//! validated with clear errors; runs are deterministic; `components.csv` has one row per
//! interval and component.

use crate::common;

use crate::common::{from_text as load, load_errors as errors, run_own_seed as run, system};

use prodsim_model::outcome::Row;
use prodsim_model::outcome::SystemOutcome;
use prodsim_report::{Summary, components};

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;

/// One class of 20 ms of CPU at 200 requests/s: two servers of four workers are half busy;
/// the spike (×4 from 10m to 20m) needs eight.
const BASE: &str = r#"
[scenario]
name = "t"
seed = 3
duration = "40m"
report_interval = "30s"

[[workload]]
name = "w"
rate = 200

[servers]
count = 2
workers = 4
timeout = "2s"
price_per_hour = 1.0

[[requests]]
name = "page"
weight = 1
steps = [{ cpu = "exp(20ms)" }]

[[faults]]
kind = "traffic_spike"
target = "workload"
at = "10m"
duration = "10m"
factor = 4
"#;

fn autoscaled(cold_start: &str) -> String {
    format!(
        "{BASE}\n[autoscaling]\nmin = 2\nmax = 10\ntarget_utilization = 0.6\ncold_start = \"{cold_start}\"\ncooldown = \"1m\"\ninterval = \"15s\"\n"
    )
}

fn rows_between(rows: &[Row], from_ns: u64, to_ns: u64) -> Vec<Row> {
    rows.iter().copied().filter(|r| r.start_ns >= from_ns && r.end_ns <= to_ns).collect()
}

/// Requests that did not complete per arrival over the rows inside `[from_ns, to_ns)`.
fn error_ratio(rows: &[Row], from_ns: u64, to_ns: u64) -> f64 {
    let rows = rows_between(rows, from_ns, to_ns);
    let bad: u64 = rows.iter().map(|r| r.rejections + r.timeouts + r.failures).sum();
    let arrivals: u64 = rows.iter().map(|r| r.arrivals).sum();
    bad as f64 / arrivals.max(1) as f64
}

/// The worst per-interval p99 over the rows inside `[from_ns, to_ns)`, in ms.
fn worst_p99_ms(rows: &[Row], from_ns: u64, to_ns: u64) -> f64 {
    rows_between(rows, from_ns, to_ns).iter().filter_map(|r| r.latency_p99_ns).max().unwrap_or(0) as f64 / 1e6
}

/// The app servers' component rows (provisioned, running) per interval.
fn app_instances(s: &SystemOutcome) -> Vec<(u64, u32, u32)> {
    s.series.iter().filter(|r| r.component == 0).map(|r| (r.start_ns, r.instances, r.ready)).collect()
}

#[test]
fn a_spike_makes_the_autoscaler_add_servers_and_lowers_p99() {
    let fixed = run(&load(BASE));
    let scaled = run(&load(&autoscaled("30s")));
    // The second half of the spike: the added servers are serving by then.
    let (from, to) = (15 * MINUTE, 20 * MINUTE);
    let (fixed_p99, scaled_p99) = (worst_p99_ms(&fixed.rows, from, to), worst_p99_ms(&scaled.rows, from, to));
    assert!(fixed_p99 > 1500.0 && scaled_p99 < 200.0, "p99 fixed {fixed_p99} ms, autoscaled {scaled_p99} ms");
    let (fixed_err, scaled_err) = (error_ratio(&fixed.rows, from, to), error_ratio(&scaled.rows, from, to));
    assert!(fixed_err > 0.3 && scaled_err < 0.001, "errors fixed {fixed_err}, autoscaled {scaled_err}");
    let a = system(&scaled).scaling.expect("scaling outcome");
    assert!(a.scale_outs >= 1 && a.max_instances >= 7, "{a:?}");
    assert!(system(&fixed).scaling.is_none());
}

#[test]
fn scale_in_after_the_spike_drains_without_failing_requests() {
    let o = run(&load(&autoscaled("30s")));
    let sys = system(&o);
    let a = sys.scaling.expect("scaling outcome");
    assert!(a.scale_ins >= 1, "{a:?}");
    assert_eq!(a.drain_timeouts, 0);
    assert_eq!(o.requests.failed, 0, "{:?}", o.requests);
    assert_eq!(error_ratio(&o.rows, 22 * MINUTE, 40 * MINUTE), 0.0);
    let series = app_instances(sys);
    let (_, last, _) = *series.last().expect("rows");
    assert!(last <= 3 && a.max_instances > last, "back down after the spike: {series:?}");
}

#[test]
fn a_longer_cold_start_delays_the_capacity() {
    let first_growth = |s: &SystemOutcome| {
        app_instances(s).into_iter().find(|&(_, _, ready)| ready > 2).map(|(start, _, _)| start).expect("grows")
    };
    let quick = run(&load(&autoscaled("30s")));
    let slow = run(&load(&autoscaled("4m")));
    let (q, s) = (first_growth(system(&quick)), first_growth(system(&slow)));
    // Decided within an interval of the spike; serving a cold start later.
    assert!(q < 11 * MINUTE && s >= 14 * MINUTE, "ready from {q} ns and {s} ns");
    // Provisioned (billed) before they serve.
    let billed_early = app_instances(system(&slow)).iter().any(|&(_, inst, ready)| inst > ready);
    assert!(billed_early);
    let (from, to) = (10 * MINUTE, 20 * MINUTE);
    assert!(error_ratio(&slow.rows, from, to) > 2.0 * error_ratio(&quick.rows, from, to));
}

#[test]
fn the_cost_counts_provisioned_server_hours() {
    // Two servers for an hour, two more from 30m to 45m: 2 + 2 × 0.25 = 2.5 server-hours,
    // plus at most a second of draining each.
    let text = BASE
        .replace("duration = \"40m\"", "duration = \"1h\"")
        .replace("price_per_hour = 1.0", "price_per_hour = 1.0\nmax_count = 4")
        + "\n[[actions]]\nat = \"30m\"\nkind = \"scale_out\"\ncount = 2\n\n[[actions]]\nat = \"45m\"\nkind = \"scale_in\"\ncount = 2\n";
    let o = run(&load(&text));
    let sys = system(&o);
    let a = sys.scaling.expect("scaling outcome");
    assert!((2.5..2.5 + 2.0 / 3600.0).contains(&a.instance_hours), "{a:?}");
    assert!((sys.cost.infrastructure - a.instance_hours).abs() < 1e-9, "{:?}", sys.cost);
    assert_eq!((a.scale_outs, a.scale_ins, a.min_instances, a.max_instances), (1, 1, 2, 4));
    let summary = Summary::from_outcome(&o).to_json();
    assert!(summary.contains("\"autoscaling\"") && summary.contains("\"instance_hours\""), "{summary}");
    // A fixed pool is billed for every server all the time, and has no `autoscaling` key.
    let fixed = run(&load(BASE));
    assert!((system(&fixed).cost.infrastructure - 2.0 * 40.0 / 60.0).abs() < 1e-9);
    assert!(!Summary::from_outcome(&fixed).to_json().contains("\"autoscaling\""));
}

#[test]
fn draining_a_server_loses_no_request() {
    let text = BASE.replace("factor = 4", "factor = 1.5").replace("count = 2\n", "count = 3\n")
        + "\n[[actions]]\nat = \"5m\"\nkind = \"drain\"\ntarget = \"server-0\"\n\n[[actions]]\nat = \"30m\"\nkind = \"undrain\"\ntarget = \"server-0\"\n";
    let o = run(&load(&text));
    let r = o.requests;
    assert_eq!((r.failed, r.rejected, r.timed_out), (0, 0, 0), "{r:?}");
    // Out of rotation for 25 of 40 minutes: far fewer requests than its neighbours.
    let served: Vec<u64> = o.servers.iter().map(|s| s.served).collect();
    assert!(served[0] * 2 < served[1], "{served:?}");
    // It stays provisioned (and billed) while drained.
    assert!(app_instances(system(&o)).iter().all(|&(_, inst, ready)| inst == 3 && ready == 3));
}

#[test]
fn actions_and_autoscaling_are_validated_with_clear_errors() {
    let action = |body: &str| format!("{BASE}\n[[actions]]\nat = \"1m\"\n{body}\n");
    let cases: Vec<(String, &str)> = vec![
        (
            action("kind = \"scale_up\"\ncount = 1"),
            "unknown action kind `scale_up`, expected one of scale_out, scale_in, drain, undrain",
        ),
        (action("kind = \"scale_up\"\ncount = 1"), "did you mean `scale_out`?"),
        (action("kind = \"scale_out\""), "a scale_out action needs `count` (servers to add)"),
        (action("kind = \"scale_in\"\ncount = 1\ntarget = \"server-0\""), "a scale_in action takes no `target`"),
        (action("kind = \"drain\""), "a drain action needs `target`"),
        (
            action("kind = \"drain\"\ntarget = \"server-7\""),
            "action target `server-7` is not a server of this pool; expected server-0 … server-1",
        ),
        (action("kind = \"drain\"\ntarget = \"server-0\"\ncount = 1"), "a drain action takes no `count`"),
        (
            action("kind = \"scale_out\"\ncount = 1"),
            "this action takes the pool to 3 servers, above servers.max_count (2); raise servers.max_count",
        ),
        (action("kind = \"scale_in\"\ncount = 2"), "this action takes the pool to 0 servers, below 1"),
        (action("kind = \"scale_out\"\ncount = 0"), "actions.count must be at least 1"),
        (action("kind = \"scale_out\"\ncount = 1\nsize = 2"), "unknown field `size`"),
        (
            autoscaled("30s").replace("min = 2", "min = 3"),
            "servers.count (2) is the number of servers at the start and must be between autoscaling.min (3) and autoscaling.max (10)",
        ),
        (
            autoscaled("30s").replace("target_utilization = 0.6", "target_utilization = 1.5"),
            "autoscaling.target_utilization must be above 0 and at most 1",
        ),
        (
            autoscaled("30s").replace("max = 10", "max = 1"),
            "autoscaling.max must be between autoscaling.min (2) and 1000, got 1",
        ),
        (
            autoscaled("30s").replace("interval = \"15s\"", "interval = \"0s\""),
            "autoscaling.interval must be longer than zero",
        ),
        (
            autoscaled("30s").replace("price_per_hour = 1.0", "price_per_hour = 1.0\nmax_count = 5"),
            "servers.max_count conflicts with [autoscaling]",
        ),
        (autoscaled("30s").replace("cooldown = \"1m\"", "cooldown = \"1 minute\""), "autoscaling.cooldown"),
    ];
    for (text, want) in cases {
        let got = errors(&text);
        assert!(got.contains(want), "want {want:?} in:\n{got}");
    }
    // Fault targets reach every server the pool may have.
    let crash = autoscaled("30s") + "\n[[faults]]\nkind = \"crash\"\ntarget = \"server-9\"\nat = \"12m\"\n";
    assert_eq!(load(&crash).faults.len(), 2);
}

#[test]
fn same_seed_same_reports() {
    let s = load(&autoscaled("30s"));
    let (a, b) = (run(&s), run(&s));
    assert_eq!(Summary::from_outcome(&a).to_json(), Summary::from_outcome(&b).to_json());
    assert_eq!(components::to_csv(&a), components::to_csv(&b));
    let other = prodsim_model::simulate(&s, 4).expect("runs");
    assert_ne!(components::to_csv(&a), components::to_csv(&other));
}

#[test]
fn components_csv_has_a_row_per_interval_and_component() {
    let s = common::scenario("scenarios/payment-outage.toml");
    let mut s = s;
    s.duration_ns = 10 * MINUTE + 7 * SECOND;
    let o = run(&s);
    let csv = components::to_csv(&o);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(components::columns().names().join(",").as_str()));
    let comps = system(&o).components.len();
    assert_eq!(lines.count(), o.rows.len() * comps);
    assert_eq!(system(&o).series.len(), o.rows.len() * comps);
    // The app servers come first in each interval, with CPU and memory.
    let first = csv.lines().nth(1).expect("a row");
    assert!(first.starts_with("0,") && first.contains(",servers,app,8,8,"), "{first}");
    let cells: Vec<&str> = first.split(',').collect();
    assert!(!cells[7].is_empty() && cells[13] == "512" && cells[14] == "512", "{first}");
    // The last row is shorter: it ends with the run.
    assert!(csv.lines().last().expect("rows").starts_with("600,607,"), "{csv}");
    // A pool of app servers alone has one component, every interval.
    let single = run(&common::scenario("scenarios/theory/mm1.toml"));
    let csv = components::to_csv(&single);
    assert!(csv.lines().skip(1).all(|l| l.contains(",servers,app,")), "{csv}");
    assert_eq!(csv.lines().count(), 1 + single.rows.len());
}

#[test]
fn the_shipped_autoscaling_scenario_tells_its_story() {
    let s = common::scenario("scenarios/autoscaling.toml");
    let o = run(&s);
    let sys = system(&o);
    let a = sys.scaling.expect("scaling outcome");
    assert!(a.scale_outs >= 2 && a.scale_ins >= 1 && a.max_instances >= 8, "{a:?}");
    assert_eq!(a.drain_timeouts, 0);
    // Late in the spike the added servers keep up.
    assert!(error_ratio(&o.rows, 19 * MINUTE, 25 * MINUTE) < 0.001);
    assert!(worst_p99_ms(&o.rows, 19 * MINUTE, 25 * MINUTE) < 200.0);
}

#[test]
fn a_crashed_server_that_is_retired_is_not_restarted() {
    // Every server crashes at 10m; at the same instant a scale-in retires one of them (a
    // crashed one goes first). The supervisor restarts the other two only, so the second
    // crash of every server, at 20m, finds two processes to kill.
    let text = BASE.replace("factor = 4", "factor = 1").replace("count = 2\n", "count = 3\n")
        + "\n[balancer]\nstrategy = \"round_robin\"\nhealth_check = { interval = \"1s\" }\n\n[[faults]]\nkind = \"crash\"\ntarget = \"servers\"\nat = \"10m\"\n\n[[faults]]\nkind = \"crash\"\ntarget = \"servers\"\nat = \"20m\"\n\n[[actions]]\nat = \"10m\"\nkind = \"scale_in\"\ncount = 1\n";
    let o = run(&load(&text));
    let sys = system(&o);
    assert_eq!(sys.crashes, 3 + 2);
    let a = sys.scaling.expect("scaling outcome");
    assert_eq!((a.scale_ins, a.min_instances, a.drain_timeouts), (1, 2, 0));
    let series = app_instances(sys);
    assert!(
        series
            .iter()
            .filter(|&&(start, _, _)| (11 * MINUTE..20 * MINUTE).contains(&start))
            .all(|&(_, inst, ready)| inst == 2 && ready == 2),
        "{series:?}"
    );
    // After the restart, every request completes.
    assert_eq!(error_ratio(&o.rows, 11 * MINUTE, 20 * MINUTE), 0.0);
    assert_eq!(sys.components[0].instances, 2);
}
