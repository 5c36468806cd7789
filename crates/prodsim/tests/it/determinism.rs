//! Same scenario and seed give byte-identical reports; another seed gives other numbers.

use crate::common;

use crate::common::scenario;
use prodsim_report::{Summary, timeseries};

fn reports(seed: u64) -> (String, String) {
    let s = scenario("scenarios/theory/dispatch10.toml");
    let mut s = s;
    s.duration_ns /= 8;
    let o = prodsim_model::simulate(&s, seed).expect("runs");
    (Summary::from_outcome(&o).to_json(), timeseries::to_csv(&o))
}

#[test]
fn same_seed_same_bytes() {
    let a = reports(42);
    let b = reports(42);
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
}

#[test]
fn different_seed_different_numbers() {
    let a = reports(42);
    let b = reports(43);
    assert_ne!(a.0, b.0);
    assert_ne!(a.1, b.1);
}

#[test]
fn same_seed_same_bytes_through_the_cli() {
    use assert_cmd::cargo::cargo_bin_cmd;
    let base = std::env::temp_dir().join(format!("prodsim-det-{}", std::process::id()));
    let file = common::repo_path("scenarios/theory/mm1.toml");
    for run in ["a", "b"] {
        cargo_bin_cmd!("prodsim")
            .arg("run")
            .arg(&file)
            .args(["--quiet", "--duration", "1h", "--out"])
            .arg(base.join(run))
            .assert()
            .success();
    }
    for f in ["summary.json", "timeseries.csv", "timeline.png", "timeline.svg", "report.html"] {
        let a = std::fs::read(base.join("a").join(f)).expect("read a");
        let b = std::fs::read(base.join("b").join(f)).expect("read b");
        assert!(a == b, "{f} differs between identical runs");
    }
}
