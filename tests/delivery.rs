//! Releases and incident response end to end: pipelines, rollouts, rollbacks, hotfixes,
//! pages and post-mortems.

use std::path::Path;

use prodsim::Outcome;
use prodsim::scenario::Scenario;
use prodsim::scenario::delivery::{
    DeliverySpec, DeploySpec, HealthCheckSpec, PipelineSpec, ReleaseStrategy, StageKind, StageSpec, VersionEffects,
};
use prodsim::sim::{Dist, NANOS_PER_SEC};
use prodsim::system::{DeliveryOutcome, ReleaseEnd};

const S: u64 = NANOS_PER_SEC;
const MIN: u64 = 60 * S;

/// A small shop: 200 requests/s over four servers, a database, ready rules and an SLO.
const SHOP: &str = r#"
[scenario]
name = "shop"
seed = 7
duration = "40m"
warmup = "1m"

[[workload]]
name = "users"
rate = 200

[servers]
count = 4
workers = 32
timeout = "5s"

[[requests]]
name = "browse"
weight = 0.8
steps = [{ cpu = "exp(5ms)" }, { call = "db", op = "read", timeout = "1s" }]

[[requests]]
name = "checkout"
weight = 0.2
steps = [{ cpu = "exp(8ms)" }, { call = "db", op = "write", timeout = "1s" }]

[database]
replicas = 1
pool = 20
read_time = "exp(2ms)"
write_time = "exp(4ms)"

[monitoring]
ready_rules = true

[slo]
objective = 0.999
"#;

fn shop(delivery: DeliverySpec) -> Scenario {
    let mut s = prodsim::scenario::load_str(SHOP, Path::new("shop.toml")).expect("the shop loads").scenario;
    s.topology.as_mut().expect("multi-tier").delivery = Some(delivery);
    s
}

fn stage(kind: StageKind, minutes: u64) -> StageSpec {
    StageSpec { kind, duration: Dist::Const { ns: minutes * MIN }, failure: 0.0 }
}

fn pipeline() -> PipelineSpec {
    PipelineSpec {
        stages: vec![stage(StageKind::Build, 3), stage(StageKind::Tests, 5)],
        health_check: Some(HealthCheckSpec {
            window_ns: 5 * MIN,
            interval_ns: 10 * S,
            max_error_ratio: 0.02,
            max_p99_ns: None,
            min_requests: 20,
        }),
        rollback_ns: Some(2 * MIN),
        ..PipelineSpec::default()
    }
}

fn bad(version: &str, at_ns: u64, strategy: ReleaseStrategy) -> DeploySpec {
    DeploySpec {
        version: version.to_string(),
        at_ns,
        strategy,
        effects: VersionEffects { error_rate: 0.2, ..VersionEffects::default() },
        rollback_on: Vec::new(),
    }
}

fn delivery(o: &Outcome) -> &DeliveryOutcome {
    o.system.as_ref().and_then(|s| s.delivery.as_ref()).expect("a delivery outcome")
}

#[test]
fn health_checks_roll_a_bad_release_back_on_every_server() {
    let spec = DeliverySpec {
        pipeline: pipeline(),
        deploys: vec![bad("v2", 5 * MIN, ReleaseStrategy::AllAtOnce)],
        oncall: None,
        playbooks: Vec::new(),
    };
    let s = shop(spec);
    let o = prodsim::simulate(&s, s.seed).expect("runs");
    let d = delivery(&o);
    let r = &d.releases[0];
    assert_eq!(r.outcome, ReleaseEnd::RolledBack, "{r:?}");
    // Pipeline 8 min after the merge at 5 min, 30 s to deploy, then the health check's
    // first interval, then the 2-minute rollback.
    assert_eq!(r.rollout_start_ns, Some(13 * MIN));
    assert_eq!(r.everywhere_ns, Some(13 * MIN + 30 * S));
    assert_eq!(r.end_ns, Some(13 * MIN + 30 * S + 10 * S + 2 * MIN));
    assert!(d.server_versions.iter().all(|v| v == "v1"), "{:?}", d.server_versions);
    eprintln!("{d:#?}");
}
