//! Messages a person understands: serde's and TOML's terse errors said in plain words, an
//! out-of-range server named with the pool's size, OS errors printed once, a file where a
//! folder should be, and a negative seed.

use assert_cmd::cargo::cargo_bin_cmd;

use crate::common::{self, repo_path};

/// `prodsim validate` on quickstart with `from` replaced by `to`: its first stderr line.
fn first_error(case: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(repo_path("scenarios/quickstart.toml")).expect("quickstart");
    assert!(text.contains(from));
    let dir = common::temp_dir("messages", case);
    let file = dir.join("s.toml");
    std::fs::write(&file, text.replacen(from, to, 1)).expect("write");
    let out = cargo_bin_cmd!("prodsim").arg("validate").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{case} validates");
    String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default().to_string()
}

#[test]
fn type_errors_are_said_in_plain_words() {
    let cases = [
        (
            "negative",
            "count = 4",
            "count = -4",
            "s.toml:34:9: error: expected a whole number ≥ 0 (at most 4294967295), got -4",
        ),
        ("fraction", "count = 4", "count = 2.5", "expected a whole number ≥ 0 (at most 4294967295), got 2.5"),
        ("text", "count = 4", "count = \"four\"", "got the text \"four\""),
    ];
    for (case, from, to, expected) in cases {
        let line = first_error(case, from, to);
        assert!(line.ends_with(expected), "{case}: {line}");
    }
}

#[test]
fn a_duplicate_table_is_named_on_the_first_line() {
    let line = first_error("dup-table", "[servers]", "[balancer]\nstrategy = \"random\"\n\n[servers]");
    assert!(line.contains("table `[balancer]` is defined twice; the first is on line 30"), "{line}");
    let line = first_error("dup-key", "count = 4", "count = 4\ncount = 5");
    assert!(line.contains("key `count` is given twice in this table"), "{line}");
}

#[test]
fn an_out_of_range_server_says_how_many_the_pool_has() {
    let fault = "[[faults]]\nkind = \"crash\"\ntarget = \"server-4\"\nat = \"1m\"\nduration = \"1m\"\n\n[servers]";
    let line = first_error("server", "[servers]", fault);
    assert!(line.contains("the pool has 4 servers (`server-0` … `server-3`)"), "{line}");
}

#[test]
fn os_errors_are_printed_once_and_a_file_is_not_a_folder() {
    let out = cargo_bin_cmd!("prodsim").args(["run", "/nonexistent/x.toml"]).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    let dir = common::temp_dir("messages", "out-file");
    let blocker = dir.join("afile");
    std::fs::write(&blocker, "").expect("write");
    let out = cargo_bin_cmd!("prodsim")
        .arg("run")
        .arg(repo_path("scenarios/theory/mm1.toml"))
        .args(["--duration", "10m", "--out"])
        .arg(&blocker)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("afile is a file, not a directory"), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 0, "{stderr}");
}

#[test]
fn a_negative_seed_says_what_seeds_are() {
    for command in ["run", "compare", "check"] {
        let out = cargo_bin_cmd!("prodsim")
            .arg(command)
            .arg(repo_path("scenarios/theory/mm1.toml"))
            .args(["--seed", "-1"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("seeds are whole numbers from 0 to 2⁶⁴−1 (18446744073709551615), got `-1`"),
            "{command}: {stderr}"
        );
    }
}
