//! `--shard K/N` and `prodsim merge`: for compare, sweep and check, the merge of N shards
//! writes byte for byte what the unsharded command writes (N = 1, 2, 3, 7) and prints the
//! same; missing, duplicated and foreign shards are clear errors; a shard whose partial
//! exists is skipped; `prodsim jobs` writes a Slurm script and a Kubernetes manifest.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::cargo::cargo_bin_cmd;

/// A small pool: runs take milliseconds.
const TINY: &str = r#"
[scenario]
name = "tiny-shard"
duration = "1m"
warmup = "10s"

[[workload]]
name = "w"
rate = 50

[servers]
count = 4
workers = 1
queue_capacity = 5
service_time = "exp(40ms)"
timeout = "1s"
"#;

/// The robust shop, short and slow enough for quick check cases.
fn short_shop() -> String {
    let text = std::fs::read_to_string(common::repo_path("scenarios/checkout-robust.toml")).expect("shipped");
    text.replace("duration = \"12m\"", "duration = \"3m\"").replace("warmup = \"1m\"", "warmup = \"20s\"").replacen(
        "rate = 100",
        "rate = 20",
        1,
    )
}

/// Runs prodsim in `dir` with `args`.
fn prodsim(dir: &Path, args: &[&str]) -> Output {
    cargo_bin_cmd!("prodsim").current_dir(dir).args(args).output().expect("prodsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and asserts the exit code.
fn expect(dir: &Path, args: &[&str], code: i32) -> Output {
    let out = prodsim(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("readable"));
            }
        }
    }
    out
}

/// A fresh directory holding the scenario as `s.toml`.
fn workdir(test: &str, name: &str, scenario: &str) -> PathBuf {
    let dir = common::temp_dir("shard", &format!("{test}-{name}"));
    std::fs::write(dir.join("s.toml"), scenario).expect("write scenario");
    dir
}

/// Runs `args` (with `--out out`) once unsharded and then in N shards merged, for every N,
/// and checks the merged files and printed output are the unsharded ones, byte for byte.
/// `quiet_output` compares only what `--quiet` prints (check prints wall times otherwise).
fn sharded_equals_unsharded(test: &str, scenario: &str, args: &[&str], code: i32, quiet_output: bool) {
    let with = |extra: &[&str]| -> Vec<String> { args.iter().chain(extra).map(|s| s.to_string()).collect() };
    let quiet: &[&str] = if quiet_output { &["--quiet"] } else { &[] };
    let one = workdir(test, "one", scenario);
    let full_args = with(&[&["--out", "out"], quiet].concat());
    let full = expect(&one, &full_args.iter().map(String::as_str).collect::<Vec<_>>(), code);
    let expected = tree(&one.join("out"));
    // A check that passes writes no file: then its printed verdict and counts are the test.
    assert!(!expected.is_empty() || code == 0 && quiet_output, "the unsharded run wrote nothing");
    for n in [1u32, 2, 3, 7] {
        let dir = workdir(test, &format!("n{n}"), scenario);
        for k in 0..n {
            let shard = format!("{k}/{n}");
            let a = with(&["--out", "parts", "--shard", &shard, "--quiet"]);
            expect(&dir, &a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
        }
        let merge: Vec<&str> = [&["merge", "parts", "--out", "out"][..], quiet].concat();
        let merged = expect(&dir, &merge, code);
        let got = tree(&dir.join("out"));
        assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "N = {n}: other files");
        for (path, bytes) in &expected {
            assert!(got[path] == *bytes, "N = {n}: {} differs from the unsharded run's", path.display());
        }
        assert_eq!(text(&merged.stdout), text(&full.stdout), "N = {n}: printed output differs");
        if quiet_output {
            assert_eq!(text(&merged.stderr), text(&full.stderr), "N = {n}: printed errors differ");
        }
    }
}

const SWEEP: &[&str] = &[
    "sweep",
    "s.toml",
    "--param",
    "workload.rate=30..90:30",
    "--strategies",
    "round_robin,least_connections",
    "-n",
    "3",
];

#[test]
fn shard_sweep_merges_to_the_unsharded_bytes() {
    let with_metric = [SWEEP, &["--metric", "requests.completed"]].concat();
    sharded_equals_unsharded("sweep", TINY, &with_metric, 0, false);
}

#[test]
fn shard_compare_merges_to_the_unsharded_bytes() {
    let args = ["compare", "s.toml", "--strategies", "random,round_robin,least_connections", "-n", "3"];
    sharded_equals_unsharded("compare", TINY, &args, 0, false);
}

#[test]
fn shard_compare_of_any_key_merges_to_the_unsharded_bytes() {
    // With --metric keys: one with a value in every run, one (the fourth server) that only
    // the variant with four servers has, NaN in the other's runs.
    let args = [
        "compare",
        "s.toml",
        "--vary",
        "servers.count=3,4",
        "--set",
        "workload.rate=60",
        "-n",
        "2",
        "--no-charts",
        "--metric",
        "requests.timed_out",
        "--metric",
        "servers.3.served",
    ];
    sharded_equals_unsharded("vary", TINY, &args, 0, false);
}

#[test]
fn shard_check_that_fails_merges_to_the_unsharded_counterexample_and_counts() {
    // The first failure is among the first 64 cases, so the unsharded check stops at 64 of
    // 150 and every shard's later cases must not count.
    let shop = short_shop();
    let args = ["check", "s.toml", "--cases", "150", "--seed", "1", "--recovery-bound", "30s", "--max-faults", "1"];
    let kinds = ["--kinds", "slowdown,added_latency,slow_queries,replication_lag,partition,crash"];
    let all: Vec<&str> = args.iter().chain(&kinds).copied().collect();
    sharded_equals_unsharded("check-fails", &shop, &all, 1, true);
    let dir = workdir("check-fails", "print", &shop);
    let out = expect(&dir, &[&all[..], &["--out", "out"]].concat(), 1);
    assert!(text(&out.stdout).contains("64 cases run"), "{}", text(&out.stdout));
}

#[test]
fn shard_check_that_passes_merges_to_the_unsharded_counts() {
    let args = ["check", "s.toml", "--cases", "70", "--seed", "3", "--recovery-bound", "30s", "--kinds", "slowdown"];
    sharded_equals_unsharded("check-passes", &short_shop(), &args, 0, true);
    // Beyond the quiet verdict, the counts of runs, events and checks are the same.
    let one = workdir("check-passes", "counts", &short_shop());
    let expected = verdict(&expect(&one, &[&args[..], &["--out", "out"]].concat(), 0));
    assert_eq!(expected.len(), 2, "{expected:?}");
    for k in 0..3 {
        let shard = format!("{k}/3");
        expect(&one, &[&args[..], &["--out", "parts", "--shard", &shard]].concat(), 0);
    }
    let merged = expect(&one, &["merge", "parts"], 0);
    assert_eq!(verdict(&merged), expected);
}

/// A passed check's verdict and invariant counts, without the wall time and the rate.
fn verdict(out: &Output) -> Vec<String> {
    let lines = text(&out.stdout);
    let wanted = lines.lines().filter(|l| l.starts_with("passed") || l.starts_with("invariants"));
    wanted
        .map(|l| match l.split_once(" s wall") {
            Some((head, _)) => head.rsplit_once(", ").map_or(head, |(counts, _)| counts).to_string(),
            None => l.to_string(),
        })
        .collect()
}

/// Runs the sweep's shards `ks` of `n` into `dir/parts`.
fn sweep_shards(dir: &Path, n: u32, ks: &[u32], extra: &[&str]) {
    for k in ks {
        let shard = format!("{k}/{n}");
        let args: Vec<&str> = [SWEEP, &["--out", "parts", "--shard", &shard, "--quiet"], extra].concat();
        expect(dir, &args, 0);
    }
}

#[test]
fn shard_merge_names_missing_duplicated_and_foreign_shards() {
    let dir = workdir("errors", "set", TINY);
    sweep_shards(&dir, 4, &[0, 2], &[]);
    let out = expect(&dir, &["merge", "parts"], 1);
    let err = text(&out.stderr);
    assert!(err.contains("2 of 4 shards missing: 1/4, 3/4"), "{err}");
    assert!(err.contains("--shard K/4"), "{err}");

    sweep_shards(&dir, 4, &[1, 3], &[]);
    std::fs::create_dir_all(dir.join("copy")).expect("dir");
    std::fs::copy(dir.join("parts/partial-1-of-4.json"), dir.join("copy/partial-1-of-4.json")).expect("copy");
    let out = expect(&dir, &["merge", "parts", "copy"], 1);
    let err = text(&out.stderr);
    assert!(err.contains("shard 1/4 is present twice") && err.contains("copy/partial-1-of-4.json"), "{err}");

    let foreign = workdir("errors", "foreign", TINY);
    sweep_shards(&foreign, 4, &[3], &["--seed", "99"]);
    let out = expect(
        &dir,
        &["merge", "parts/partial-0-of-4.json", "parts/partial-1-of-4.json", "parts/partial-2-of-4.json"],
        1,
    );
    assert!(text(&out.stderr).contains("1 of 4 shards missing: 3/4"), "{}", text(&out.stderr));
    let f = foreign.join("parts/partial-3-of-4.json");
    let mut args = vec!["merge", "parts/partial-0-of-4.json", "parts/partial-1-of-4.json", "parts/partial-2-of-4.json"];
    let f_text = f.display().to_string();
    args.push(&f_text);
    let err = text(&expect(&dir, &args, 1).stderr);
    assert!(err.contains("partial-3-of-4.json belongs to another experiment: its argv"), "{err}");
    assert!(err.contains("--seed 99"), "{err}");

    std::fs::write(dir.join("copy/partial-1-of-4.json"), "{\"not\": \"a partial\"}").expect("write");
    let err = text(&expect(&dir, &["merge", "copy"], 1).stderr);
    assert!(err.contains("not a prodsim partial"), "{err}");
    let err = text(&expect(&dir, &["merge", "nowhere"], 1).stderr);
    assert!(err.contains("nowhere"), "{err}");
    for bad in ["4/4", "x", "1/0"] {
        let out = prodsim(&dir, &[SWEEP, &["--shard", bad]].concat());
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("--shard"), "{}", text(&out.stderr));
    }
}

#[test]
fn shard_whose_partial_exists_is_skipped_and_a_foreign_one_is_refused() {
    let dir = workdir("resume", "skip", TINY);
    sweep_shards(&dir, 2, &[0], &[]);
    let path = dir.join("parts/partial-0-of-2.json");
    let before = std::fs::read(&path).expect("written");
    // Tamper with a value the header does not cover: a rerun that recomputed would restore
    // it, a skip keeps it.
    let marked = text(&before).replacen("\"values\":[", "\"values\":[1,", 1);
    std::fs::write(&path, &marked).expect("mark");
    let out = expect(&dir, &[SWEEP, &["--out", "parts", "--shard", "0/2"]].concat(), 0);
    assert!(text(&out.stdout).contains("exists and matches this experiment; skipped"), "{}", text(&out.stdout));
    assert_eq!(text(&std::fs::read(&path).expect("kept")), marked);
    std::fs::write(&path, &before).expect("restore");

    let out = expect(&dir, &[SWEEP, &["--out", "parts", "--shard", "0/2", "--seed", "5"]].concat(), 1);
    let err = text(&out.stderr);
    assert!(err.contains("exists but is not shard 0/2 of this experiment") && err.contains("argv"), "{err}");
}

#[test]
fn shard_jobs_write_a_slurm_script_and_a_kubernetes_manifest() {
    let dir = workdir("jobs", "write", TINY);
    let cmd = ["--", "prodsim", "sweep", "s.toml", "--param", "servers.count=2..4:1", "--out", "parts"];
    let out = expect(
        &dir,
        &[&["jobs", "kubernetes", "--shards", "3", "--image", "example/prodsim:0.1"][..], &cmd].concat(),
        0,
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the manifest is JSON");
    assert_eq!(m["items"][1]["spec"]["completionMode"], "Indexed");
    assert_eq!(m["items"][1]["spec"]["completions"], 3);
    let c = &m["items"][1]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "example/prodsim:0.1");
    assert_eq!(c["command"][1], "sweep");
    assert_eq!(c["command"].as_array().expect("array").last().expect("shard"), "$(JOB_COMPLETION_INDEX)/3");

    let out = expect(
        &dir,
        &[&["jobs", "slurm", "--shards", "4", "--partition", "debug", "-o", "job.sh"][..], &cmd].concat(),
        0,
    );
    assert!(out.stdout.is_empty());
    let script = std::fs::read_to_string(dir.join("job.sh")).expect("written");
    assert!(script.contains("--array=0-3 --partition=debug"), "{script}");
    assert!(script.contains("--shard \"${SLURM_ARRAY_TASK_ID}/4\""), "{script}");
    assert!(script.contains("merge parts --out parts/merged"), "{script}");

    for (args, needle) in [
        (
            vec!["jobs", "slurm", "--shards", "2", "--", "sweep", "s.toml", "--param", "servers.count=2,3"],
            "needs --out",
        ),
        (vec!["jobs", "slurm", "--shards", "2", "--", "run", "s.toml", "--out", "x"], "only compare, sweep and check"),
        (
            vec!["jobs", "slurm", "--shards", "2", "--", "check", "s.toml", "--out", "x", "--shard", "0/2"],
            "must not have --shard",
        ),
        (vec!["jobs", "kubernetes", "--shards", "2", "--", "check", "s.toml", "--out", "x"], "needs --image"),
        (
            vec!["jobs", "slurm", "--shards", "2", "--image", "i", "--", "check", "s.toml", "--out", "x"],
            "--image is for kubernetes",
        ),
        (
            vec!["jobs", "slurm", "--shards", "2", "--", "sweep", "s.toml", "--bogus"],
            "not a valid prodsim command line",
        ),
    ] {
        let err = text(&expect(&dir, &args, 1).stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
