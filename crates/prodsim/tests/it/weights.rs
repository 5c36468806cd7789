//! `[balancer] weights`: weighted round robin sends each server its weight's share, in both
//! models, and bad weights are refused with the field named.

use std::path::Path;

fn load(balancer: &str, extra: &str) -> Result<prodsim_scenario::Scenario, String> {
    let text = format!(
        r#"
[scenario]
name = "w"
duration = "1m"
[[workload]]
name = "w"
rate = 400
[balancer]
{balancer}
[servers]
count = 3
workers = 8
service_time = "exp(5ms)"
{extra}
"#
    );
    prodsim_scenario::load_str(&text, Path::new("t.toml")).map(|l| l.scenario).map_err(|e| e.to_string())
}

fn shares(s: &prodsim_scenario::Scenario) -> Vec<f64> {
    let o = prodsim_model::simulate(s, 1).expect("runs");
    let total: u64 = o.servers.iter().map(|x| x.served).sum();
    o.servers.iter().map(|x| x.served as f64 / total as f64).collect()
}

#[test]
fn weighted_round_robin_follows_the_weights() {
    let strategy = "strategy = \"weighted_round_robin\"\nweights = [3, 1, 0]";
    let plain = load(strategy, "").expect("loads");
    // Health checks take nobody out of rotation here: the shares stay the weights'.
    let checked = load(&format!("{strategy}\nhealth_check = {{ interval = \"5s\" }}"), "").expect("loads");
    for s in [plain, checked] {
        let got = shares(&s);
        assert!((got[0] - 0.75).abs() < 0.001 && (got[1] - 0.25).abs() < 0.001 && got[2] == 0.0, "{got:?}");
    }
}

#[test]
fn bad_weights_name_the_field() {
    let e = load("strategy = \"round_robin\"\nweights = [1, 1, 1]", "").unwrap_err();
    assert!(e.contains("balancer.weights applies only to strategy \"weighted_round_robin\""), "{e}");
    let e = load("strategy = \"weighted_round_robin\"\nweights = [1, 1]", "").unwrap_err();
    assert!(e.contains("one weight per app server: 3, got 2"), "{e}");
    let e = load("strategy = \"weighted_round_robin\"\nweights = [0, 0, 0]", "").unwrap_err();
    assert!(e.contains("at least one server"), "{e}");
}
