//! Scale-out speed, through the real binary (`--shard K/N` and `prodsim merge`):
//!
//! - `sweep_one_process`: a sweep of 48 runs (one hour of simulated time each) in one
//!   process with `--jobs 1`;
//! - `sweep_two_shards_side_by_side`: the same sweep as two processes `--shard 0/2` and
//!   `--shard 1/2` (each `--jobs 1`) started together, then `prodsim merge`. The target is at
//!   most 0.55 times `sweep_one_process` on this 2-core machine;
//! - `merge_1000_partials`: `prodsim merge` of 1,000 partial files (a sweep of 1,000 runs
//!   split into 1,000 shards, made once before timing). The target is under 2 s.
//!
//! Run with `cargo bench --bench shard`. Every sample starts from empty directories, so no
//! shard is skipped as already done.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

fn main() {
    divan::main();
}

const PRODSIM: &str = env!("CARGO_BIN_EXE_prodsim");

/// Four app servers of four workers at about 60% load, an hour per run.
const SCENARIO: &str = r#"
[scenario]
name = "bench-shard"
duration = "1h"
warmup = "1m"

[[workload]]
name = "w"
rate = 200

[servers]
count = 4
workers = 4
queue_capacity = 50
service_time = "exp(50ms)"
timeout = "2s"
"#;

const SWEEP: &[&str] = &[
    "sweep",
    "s.toml",
    "--param",
    "workload.rate=150..250:50",
    "--strategies",
    "round_robin,least_connections",
    "-n",
    "8",
    "--no-charts",
    "--quiet",
];

/// A fresh directory with the scenario in it.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prodsim-bench-shard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("s.toml"), SCENARIO).expect("scenario");
    dir
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(PRODSIM).current_dir(dir).args(args).spawn().expect("prodsim starts")
}

fn finish(mut child: Child) {
    let status = child.wait().expect("prodsim runs");
    assert!(status.success(), "prodsim failed: {status}");
}

/// Empties the output directories of `dir` before a sample.
fn clean(dir: &Path) {
    for sub in ["out", "parts"] {
        let _ = std::fs::remove_dir_all(dir.join(sub));
    }
}

/// The sweep in one process on one thread.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sweep_one_process(bencher: divan::Bencher) {
    let dir = workdir("one");
    let args: Vec<&str> = [SWEEP, &["--jobs", "1", "--out", "out"]].concat();
    bencher.with_inputs(|| clean(&dir)).bench_local_values(|()| finish(spawn(&dir, &args)));
}

/// The sweep as two shards side by side, then the merge.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sweep_two_shards_side_by_side(bencher: divan::Bencher) {
    let dir = workdir("two");
    let shard =
        |k: &'static str| -> Vec<&'static str> { [SWEEP, &["--jobs", "1", "--out", "parts", "--shard", k]].concat() };
    let (a, b) = (shard("0/2"), shard("1/2"));
    bencher.with_inputs(|| clean(&dir)).bench_local_values(|()| {
        let (first, second) = (spawn(&dir, &a), spawn(&dir, &b));
        finish(first);
        finish(second);
        finish(spawn(&dir, &["merge", "parts", "--out", "out", "--quiet"]));
    });
}

/// The merge of 1,000 partials of a 1,000-run sweep.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn merge_1000_partials(bencher: divan::Bencher) {
    let dir = workdir("merge");
    let short =
        SCENARIO.replace("duration = \"1h\"", "duration = \"2m\"").replace("warmup = \"1m\"", "warmup = \"10s\"");
    std::fs::write(dir.join("s.toml"), short).expect("scenario");
    let sweep = ["sweep", "s.toml", "--param", "workload.rate=100..199:1", "-n", "10", "--no-charts", "--quiet"];
    // Two shards at a time: this machine's cores.
    for pair in (0..1000).collect::<Vec<u32>>().chunks(2) {
        let children: Vec<Child> = pair
            .iter()
            .map(|k| {
                let shard = format!("{k}/1000");
                spawn(&dir, &[&sweep[..], &["--jobs", "1", "--out", "parts", "--shard", &shard]].concat())
            })
            .collect();
        children.into_iter().for_each(finish);
    }
    bencher
        .with_inputs(|| {
            let _ = std::fs::remove_dir_all(dir.join("out"));
        })
        .bench_local_values(|()| finish(spawn(&dir, &["merge", "parts", "--out", "out", "--quiet"])));
}
