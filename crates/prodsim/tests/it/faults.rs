//! Faults have the effect they should, are reported with their windows, and kinds that are
//! not built yet are refused with a clear error (none today).

use std::path::Path;

use prodsim_report::Summary;

fn pool(strategy: &str, fault: &str) -> String {
    format!(
        "[scenario]\nname = \"f\"\nduration = \"2h\"\nwarmup = \"1m\"\n\
         [[workload]]\nname = \"w\"\nrate = 10\n\
         [balancer]\nstrategy = \"{strategy}\"\n\
         [servers]\ncount = 2\nworkers = 4\nservice_time = \"exp(100ms)\"\n{fault}"
    )
}

const SLOW_SERVER_0: &str = "[[faults]]\nkind = \"slowdown\"\ntarget = \"server-0\"\nat = \"0s\"\nfactor = 3\n";

fn run(text: &str) -> prodsim_model::Outcome {
    let loaded = prodsim_scenario::load_str(text, Path::new("f.toml")).expect("valid");
    prodsim_model::simulate(&loaded.scenario, 5).expect("runs")
}

#[test]
fn a_slowdown_multiplies_the_targets_busy_time() {
    let o = run(&pool("round_robin", SLOW_SERVER_0));
    // Round robin sends both servers the same requests; server-0 takes three times as long.
    let ratio = o.servers[0].utilization / o.servers[1].utilization;
    assert!((2.8..3.2).contains(&ratio), "utilization ratio {ratio}");
    let baseline = run(&pool("round_robin", ""));
    assert!(o.latency.mean_ms() > baseline.latency.mean_ms());
}

#[test]
fn least_connections_steers_away_from_the_slow_server() {
    let rr = run(&pool("round_robin", SLOW_SERVER_0));
    let lc = run(&pool("least_connections", SLOW_SERVER_0));
    assert!(lc.servers[0].served < lc.servers[1].served, "{:?}", lc.servers);
    assert!(lc.latency.mean_ms() < rr.latency.mean_ms());
}

#[test]
fn a_window_only_slows_what_starts_inside_it() {
    let windowed =
        "[[faults]]\nkind = \"slowdown\"\ntarget = \"servers\"\nat = \"30m\"\nduration = \"30m\"\nfactor = 4\n";
    let o = run(&pool("round_robin", windowed));
    let mean = |from_s: u64, to_s: u64| {
        let rows: Vec<_> = o
            .rows
            .iter()
            .filter(|r| r.start_ns >= from_s * 1_000_000_000 && r.end_ns <= to_s * 1_000_000_000)
            .collect();
        let sum: u128 = rows.iter().map(|r| r.latency_sum_ns).sum();
        let n: u64 = rows.iter().map(|r| r.completions).sum();
        sum as f64 / n as f64 / 1e6
    };
    let before = mean(60, 1_800);
    let during = mean(1_900, 3_600);
    let after = mean(3_900, 7_200);
    assert!(during > 3.0 * before, "before {before} during {during}");
    assert!(after < 1.3 * before, "before {before} after {after}");
    let summary = Summary::from_outcome(&o);
    assert_eq!(summary.faults.len(), 1);
    assert_eq!(summary.faults[0].kind, "slowdown");
    assert_eq!(summary.faults[0].target, "servers");
    assert_eq!((summary.faults[0].start_s, summary.faults[0].end_s), (1_800.0, 3_600.0));
}

#[test]
fn unbuilt_kinds_and_unknown_targets_are_clear_errors() {
    let cases = [
        ("[[faults]]\nkind = \"partition\"\ntarget = \"server-0\"\nat = \"1m\"\n", "a partition fault needs `from`"),
        (
            "[[faults]]\nkind = \"region_outage\"\ntarget = \"server-0\"\nat = \"1m\"\n",
            "does not fit this kind, which hits a region name",
        ),
        (
            "[[faults]]\nkind = \"slowdwn\"\ntarget = \"server-0\"\nat = \"1m\"\nfactor = 2\n",
            "did you mean `slowdown`?",
        ),
        (
            "[[faults]]\nkind = \"slowdown\"\ntarget = \"server-9\"\nat = \"1m\"\nfactor = 2\n",
            "the pool has 2 servers (`server-0` … `server-1`)",
        ),
        ("[[faults]]\nkind = \"slowdown\"\ntarget = \"server-0\"\nat = \"1m\"\n", "needs `factor`"),
        ("[[faults]]\nkind = \"slowdown\"\ntarget = \"server-0\"\nat = \"1m\"\nfactor = -1\n", "positive number"),
        ("[[faults]]\nkind = \"outage\"\ntarget = \"server-0\"\nat = \"1m\"\n", "a service name, `storage` or `db`"),
        ("[[faults]]\nkind = \"crash\"\ntarget = \"server-0\"\nat = \"1m\"\nduration = \"1m\"\n", "restart_after"),
        ("[[faults]]\nkind = \"error_rate\"\ntarget = \"db\"\nat = \"1m\"\nrate = 0.5\n", "needs a [database]"),
        ("[[faults]]\nkind = \"crash\"\ntarget = \"server-0\"\nat = \"1m\"\nfactor = 2\n", "takes no `factor`"),
    ];
    for (fault, expected) in cases {
        let err = prodsim_scenario::load_str(&pool("random", fault), Path::new("f.toml")).unwrap_err();
        assert!(err.to_string().contains(expected), "{fault}: {err}");
    }
}
