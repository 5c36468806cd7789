//! Clients and regions: geographic routing keeps users at home, a region outage moves
//! them (with health checks) or fails them (without), a partition cuts one region off a
//! dependency, packet loss costs retransmission timeouts, closed workloads obey Little's
//! law, diurnal and weekly cycles swing the offered load, and an autoscaler following the daily
//! cycle costs less than a pool sized for the peak.

use crate::common;

use crate::common::{from_text, run_own_seed as run, system};

use crate::common::scenario;
use prodsim_model::outcome::Row;
use prodsim_model::outcome::{ClassOutcome, SystemOutcome};
use prodsim_scenario::Scenario;

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;

fn region<'a>(s: &'a SystemOutcome, name: &str) -> &'a ClassOutcome {
    s.regions.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no region {name}"))
}

fn failures_between(rows: &[Row], from_ns: u64, to_ns: u64) -> u64 {
    rows.iter().filter(|r| r.start_ns >= from_ns && r.end_ns <= to_ns).map(|r| r.failures).sum()
}

/// The region-outage scenario with `edit` applied to its text.
fn region_outage(edit: impl Fn(String) -> String) -> Scenario {
    let text = std::fs::read_to_string(common::repo_path("scenarios/region-outage.toml")).expect("reads");
    from_text(&edit(text))
}

#[test]
fn geographic_routing_keeps_users_in_their_region() {
    let quiet = |t: String| t.replace("at = \"5m\"", "at = \"1h\"");
    let geo = run(&region_outage(quiet));
    let spread = run(&region_outage(|t| quiet(t).replace("\"geographic\"", "\"least_connections\"")));
    // At home a US user pays ~20 ms; spread over both regions, 40-60% of requests cross.
    let p50 = |o: &prodsim_model::Outcome, r: &str| region(system(o), r).latency.quantile_ms(0.5).expect("completions");
    assert!(
        p50(&spread, "us-east") > p50(&geo, "us-east") + 25.0,
        "{} vs {}",
        p50(&spread, "us-east"),
        p50(&geo, "us-east")
    );
    assert!(p50(&spread, "eu-west") > p50(&geo, "eu-west") + 25.0);
    assert_eq!(geo.requests.failed, 0);
}

#[test]
fn a_region_outage_moves_users_with_health_checks_and_fails_them_without() {
    let with = run(&scenario("scenarios/region-outage.toml"));
    let s = system(&with);
    assert_eq!(s.crashes, 6, "every us-east server dies once");
    // Only the seconds before the health checks notice fail.
    let during = failures_between(&with.rows, 5 * MINUTE, 10 * MINUTE);
    let after_detection = failures_between(&with.rows, 5 * MINUTE + 10 * SECOND, 10 * MINUTE);
    assert!(during > 100, "requests to the dead servers fail until detection: {during}");
    assert_eq!(after_detection, 0, "then every user is served from eu-west");
    assert_eq!(region(s, "eu-west").requests.failed, 0);
    assert_eq!(failures_between(&with.rows, 10 * MINUTE, 15 * MINUTE), 0, "the region comes back cleanly");
    // US users pay the crossing while their region is down.
    let us_p99 = region(s, "us-east").latency.quantile_ms(0.99).expect("completions");
    let eu_p99 = region(s, "eu-west").latency.quantile_ms(0.99).expect("completions");
    assert!(us_p99 > eu_p99 + 30.0, "{us_p99} vs {eu_p99}");

    let without = run(&region_outage(|t| t.replace("health_check = {", "# health_check = {")));
    let failed = failures_between(&without.rows, 5 * MINUTE + 10 * SECOND, 10 * MINUTE);
    let arrived: u64 = without
        .rows
        .iter()
        .filter(|r| r.start_ns >= 5 * MINUTE + 10 * SECOND && r.end_ns <= 10 * MINUTE)
        .map(|r| r.arrivals)
        .sum();
    let share = failed as f64 / arrived as f64;
    // The balancer keeps sending US users (60%) to their dead region.
    assert!((0.5..0.7).contains(&share), "{share}");
}

#[test]
fn a_partition_cuts_one_region_off_the_database() {
    let s = region_outage(|t| {
        t.replace(
            "kind = \"region_outage\"\ntarget = \"us-east\"",
            "kind = \"partition\"\ntarget = \"db\"\nfrom = \"eu-west\"",
        )
    });
    let o = run(&s);
    let sys = system(&o);
    // eu-west's servers cannot reach the database for 5 minutes: each of their requests
    // holds a worker for the 1 s call timeout and fails, the workers run out, and the
    // rest wait in the queue until their deadline. The servers are up, so the health
    // checks keep them in rotation. us-east does not notice.
    let eu = region(sys, "eu-west");
    let us = region(sys, "us-east");
    assert_eq!(us.requests.finished(), us.requests.completed);
    let lost = eu.requests.finished() - eu.requests.completed;
    let share = lost as f64 / eu.requests.arrived as f64;
    assert!((share - 5.0 / 14.5).abs() < 0.03, "{share}");
    assert!(eu.requests.failed > 3000 && eu.requests.timed_out > 30_000, "{:?}", eu.requests);
    assert_eq!(sys.crashes, 0);
}

#[test]
fn packet_loss_costs_retransmission_timeouts() {
    let base = |loss: &str| {
        from_text(&format!(
            r#"
[scenario]
name = "loss"
duration = "2m"
[[workload]]
name = "w"
rate = 200
[[regions]]
name = "here"
servers = 2
rtt = "const(10ms)"
loss = {loss}
[servers]
count = 2
workers = 8
service_time = "const(5ms)"
"#
        ))
    };
    let clean = run(&base("0.0"));
    let lossy = run(&base("0.02"));
    let r = |o: &prodsim_model::Outcome| region(system(o), "here").latency.clone();
    assert!((r(&clean).quantile_ms(0.99).unwrap() - 15.0).abs() < 0.2);
    // 2% of exchanges wait a 200 ms retransmission timeout.
    let p99 = r(&lossy).quantile_ms(0.99).unwrap();
    assert!((210.0..225.0).contains(&p99), "{p99}");
    assert!((r(&lossy).quantile_ms(0.95).unwrap() - 15.0).abs() < 0.2);
}

/// 200 users thinking `exp(2s)` between requests to `count` servers of `workers` workers.
fn closed_loop(count: u32, workers: u32, service_time: &str) -> prodsim_model::Outcome {
    run(&from_text(&format!(
        "[scenario]\nname = \"closed\"\nduration = \"10m\"\nwarmup = \"1m\"\n\
         [[workload]]\nname = \"shoppers\"\nusers = 200\nthink_time = \"exp(2s)\"\n\
         [servers]\ncount = {count}\nworkers = {workers}\nservice_time = \"{service_time}\"\n"
    )))
}

#[test]
fn a_closed_workload_obeys_littles_law() {
    // N users, think time Z, response time R: throughput X = N / (Z + R).
    let o = closed_loop(2, 4, "exp(10ms)");
    let measured_s = 9.0 * 60.0;
    let x = o.requests.completed as f64 / measured_s;
    let r = o.latency.mean_ms().unwrap() / 1000.0;
    let expected = 200.0 / (2.0 + r);
    assert!((x - expected).abs() / expected < 0.02, "throughput {x} vs {expected}");
    // Each user has at most one request in flight.
    assert!(o.rows.iter().all(|row| row.in_flight <= 200), "in flight");
    assert_eq!(o.requests.failed + o.requests.rejected + o.requests.timed_out, 0);

    // A closed loop slows down with the system instead of piling up: with one slow
    // worker (50 requests/s at most) the same users wait in its queue, and at most 200
    // requests are ever in flight.
    let slow = closed_loop(1, 1, "exp(20ms)");
    let x_slow = slow.requests.completed as f64 / measured_s;
    assert!(x_slow < 51.0 && x_slow > 45.0, "saturated at the service rate: {x_slow}");
    assert!(slow.rows.iter().all(|row| row.in_flight <= 200), "in flight");
    assert!(slow.rows.iter().any(|row| row.in_flight > 100), "most users wait in the queue");
}

#[test]
fn a_diurnal_cycle_swings_the_arrivals() {
    let s = from_text(
        r#"
[scenario]
name = "day"
duration = "10m"
report_interval = "10s"
[[workload]]
name = "w"
rate = 400
diurnal = { amplitude = 0.5, period = "10m", peak = "2m30s" }
[servers]
count = 4
workers = 8
service_time = "exp(10ms)"
"#,
    );
    // The cycle is only a rate over time.
    let o = run(&s);
    let at = |t_s: u64| o.rows.iter().find(|r| r.start_ns == t_s * SECOND).map(|r| r.arrivals as f64 / 10.0).unwrap();
    let peak = (140..160).step_by(10).map(at).sum::<f64>() / 2.0;
    let trough = (440..460).step_by(10).map(at).sum::<f64>() / 2.0;
    assert!((peak - 600.0).abs() < 50.0, "{peak}");
    assert!((trough - 200.0).abs() < 30.0, "{trough}");
    let total = o.requests.arrived as f64 / 600.0;
    assert!((total - 400.0).abs() < 10.0, "{total}");
}

#[test]
fn a_weekly_cycle_lowers_the_weekend_arrivals_by_its_factor() {
    // A week from Monday 09:00 (the default start): Saturday 00:00 is 4 days 15 hours in,
    // Monday 00:00 two days later.
    let s = from_text(
        r#"
[scenario]
name = "week"
duration = "7d"
report_interval = "1h"
[[workload]]
name = "w"
rate = 0.1
weekly = { weekend_factor = 0.4 }
[servers]
count = 1
workers = 4
service_time = "exp(10ms)"
"#,
    );
    let o = run(&s);
    let hour_ns = 3600 * SECOND;
    let (sat_ns, mon_ns) = ((4 * 24 + 15) * hour_ns, (6 * 24 + 15) * hour_ns);
    let per_s = |keep: &dyn Fn(u64) -> bool| {
        let rows: Vec<&Row> = o.rows.iter().filter(|r| keep(r.start_ns)).collect();
        rows.iter().map(|r| r.arrivals).sum::<u64>() as f64 / (rows.len() as f64 * 3600.0)
    };
    let weekend = per_s(&|t| (sat_ns..mon_ns).contains(&t));
    let weekday = per_s(&|t| !(sat_ns..mon_ns).contains(&t));
    assert!((weekday - 0.1).abs() < 0.003, "{weekday}");
    assert!((weekend / weekday - 0.4).abs() < 0.02, "{weekend} / {weekday}");
}

#[test]
fn same_seed_same_regions() {
    let a = run(&scenario("scenarios/region-outage.toml"));
    let b = run(&scenario("scenarios/region-outage.toml"));
    let s =
        |o: &prodsim_model::Outcome| serde_json::to_string(&prodsim_report::summary::Summary::from_outcome(o)).unwrap();
    assert_eq!(s(&a), s(&b));
}

#[test]
fn an_autoscaler_following_the_daily_cycle_costs_less_than_a_pool_sized_for_the_peak() {
    let text = std::fs::read_to_string(common::repo_path("scenarios/daily-cycle.toml")).expect("reads");
    let scaled = run(&from_text(&text));
    let at = text.find("\n[autoscaling]").expect("the scenario autoscales");
    let fixed = run(&from_text(&text[..at].replace("count = 2", "count = 3")));
    let cost = |o: &prodsim_model::Outcome| system(o).cost.total();
    // Both serve everyone; the autoscaled pool pays for the trough's single server.
    assert_eq!(scaled.requests.completed, scaled.requests.finished());
    assert_eq!(fixed.requests.completed, fixed.requests.finished());
    assert!(cost(&scaled) < 0.7 * cost(&fixed), "{} vs {}", cost(&scaled), cost(&fixed));
    let s = system(&scaled).scaling.expect("a scaling outcome");
    assert_eq!((s.min_instances, s.max_instances), (1, 3));
}
