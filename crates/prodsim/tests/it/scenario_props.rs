//! Property tests: the loader never panics on any input, and the engine keeps its
//! invariants (time never goes backwards, every request is accounted for exactly once) on
//! random valid scenarios.

use crate::common;

use std::path::Path;

use proptest::prelude::*;

fn shipped() -> Vec<String> {
    ["scenarios/theory/mm1.toml", "scenarios/theory/mmck.toml", "scenarios/theory/dispatch10.toml"]
        .iter()
        .map(|p| std::fs::read_to_string(common::repo_path(p)).expect("read"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_loader(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = prodsim_scenario::load_str(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn mutated_scenarios_never_panic_the_loader(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..6, "[a-z0-9=\"\\[\\]().,:_ -]{0,6}"), 1..6),
    ) {
        let mut text = shipped()[which].clone();
        for (at, delete, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            let mut j = (i + delete).min(text.len());
            while !text.is_char_boundary(j) { j -= 1; }
            text.replace_range(i..j, &insert);
        }
        match prodsim_scenario::load_str(&text, Path::new("mutated.toml")) {
            Ok(_) => {}
            Err(e) => {
                // Every error points inside the file.
                if let prodsim_scenario::ScenarioError::Invalid { diagnostics, .. } = &e {
                    for d in diagnostics {
                        prop_assert!(d.span.end <= text.len());
                        prop_assert!(d.line >= 1 && d.column >= 1);
                    }
                }
            }
        }
    }
}

fn scenario_text(
    rate: f64,
    count: u32,
    workers: u32,
    capacity: Option<u32>,
    service: &str,
    timeout: Option<u32>,
    strategy: &str,
) -> String {
    let cap = capacity.map_or("\"unbounded\"".to_string(), |k| k.to_string());
    let timeout = timeout.map_or(String::new(), |t| format!("timeout = \"{t}ms\""));
    format!(
        "[scenario]\nname = \"p\"\nduration = \"30s\"\nwarmup = \"1s\"\nreport_interval = \"1s\"\n\
         [[workload]]\nname = \"w\"\nrate = {rate}\nstages = [{{ at = \"10s\", rate = {} }}]\n\
         [balancer]\nstrategy = \"{strategy}\"\n\
         [servers]\ncount = {count}\nworkers = {workers}\nqueue_capacity = {cap}\nservice_time = \"{service}\"\n{timeout}\n\
         [limits]\nmax_in_flight = 100000\n",
        rate * 2.0
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_request_is_accounted_for_and_time_moves_forward(
        rate in 1.0f64..400.0,
        count in 1u32..6,
        workers in 1u32..4,
        capacity in proptest::option::of(0u32..20),
        service in prop::sample::select(vec!["exp(20ms)", "const(5ms)", "uniform(1ms, 30ms)", "lognormal(median=5ms, p99=80ms)", "mix(0.9: const(1ms), 0.1: exp(100ms))", "pareto(scale=1ms, shape=1.5)"]),
        timeout in proptest::option::of(1u32..200),
        strategy in prop::sample::select(vec!["round_robin", "random", "least_connections", "power_of_two"]),
        seed in any::<u64>(),
    ) {
        let text = scenario_text(rate, count, workers, capacity, service, timeout, strategy);
        let loaded = prodsim_scenario::load_str(&text, Path::new("p.toml")).expect("valid by construction");
        let o = prodsim_model::simulate(&loaded.scenario, seed).expect("bounded by construction");
        let r = o.requests;
        prop_assert_eq!(r.arrived, r.completed + r.rejected + r.timed_out + r.in_flight);
        if capacity.is_none() { prop_assert_eq!(r.rejected, 0); }
        if timeout.is_none() { prop_assert_eq!(r.timed_out, 0); }
        // Rows tile the run in order: time never goes backwards.
        let mut t = 0;
        for row in &o.rows {
            prop_assert_eq!(row.start_ns, t);
            prop_assert!(row.end_ns > row.start_ns);
            t = row.end_ns;
        }
        prop_assert_eq!(t, o.simulated_ns);
        // All requests (warmup included) are accounted for in the rows.
        let arrivals: u64 = o.rows.iter().map(|r| r.arrivals).sum();
        let done: u64 = o.rows.iter().map(|r| r.completions + r.rejections + r.timeouts).sum();
        prop_assert_eq!(arrivals, done + o.rows.last().map_or(0, |r| r.in_flight));
        for s in &o.servers {
            prop_assert!((0.0..=1.0 + 1e-9).contains(&s.utilization));
        }
    }
}
