//! Reports are atomic as a set: a run killed at any point leaves its folder either as the
//! last complete set (its manifest matching every file) or with no manifest, never a
//! manifest beside files of another run; the next run removes the temporary files a killed
//! writer left behind.

use std::process::Command;
use std::time::Instant;

use crate::common::{self, repo_path};
use prodsim_report::manifest::{self, Untrusted};

fn run(dir: &std::path::Path, seed: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prodsim"));
    c.arg("run").arg(repo_path("scenarios/quickstart.toml")).arg("--out").arg(dir);
    c.args(["--seed", &seed.to_string(), "--quiet"]);
    c
}

fn temporaries(dir: &std::path::Path) -> Vec<String> {
    let names =
        std::fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned());
    names.filter(|n| n.ends_with(".tmp")).collect()
}

fn seed_of(dir: &std::path::Path) -> u64 {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary")).expect("json");
    summary["seed"].as_u64().expect("seed")
}

#[test]
fn a_run_killed_at_any_point_never_leaves_a_mixed_set() {
    let dir = common::temp_dir("report-set", "kill");
    assert!(run(&dir, 1).status().expect("runs").success());
    let first = manifest::verify(&dir).expect("a complete run verifies");
    assert!(first.files.iter().any(|f| f.path == "timeline.png"), "{first:?}");
    let started = Instant::now();
    assert!(run(&dir, 2).status().expect("runs").success());
    let wall = started.elapsed();
    let (mut intact, mut incomplete) = (0, 0);
    for k in 0..12u32 {
        let mut child = run(&dir, 10 + u64::from(k)).spawn().expect("spawn");
        std::thread::sleep(wall.mul_f64(0.4 + 0.6 * f64::from(k) / 12.0));
        let _ = child.kill();
        let _ = child.wait();
        match manifest::verify(&dir) {
            Ok(_) => intact += 1,
            Err(Untrusted::NoManifest) => incomplete += 1,
            Err(e) => panic!("kill {k} after {wall:?}: {e}: a manifest beside another run's files"),
        }
    }
    println!("12 kills: {intact} left a complete set, {incomplete} an incomplete one (no manifest)");
    assert!(run(&dir, 99).status().expect("runs").success());
    manifest::verify(&dir).expect("the next complete run verifies");
    assert_eq!(seed_of(&dir), 99);
    assert_eq!(temporaries(&dir), Vec::<String>::new(), "stale temporary files are removed");
}
