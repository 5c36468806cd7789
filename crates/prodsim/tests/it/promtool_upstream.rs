//! `prodsim test rules` held against the Prometheus project's own promtool unit-test files
//! (`cmd/promtool/testdata` of Prometheus 2.42.0, Apache-2.0), which `.ci/prometheus-testdata`
//! fetches from Debian's archive (checked by SHA-256) into the folder named by
//! `PRODSIM_PROMETHEUS_TESTDATA`. They are not redistributed with prodsim. Without that
//! folder the test is skipped, unless `PRODSIM_REQUIRE_PROMETHEUS_TESTDATA=1` (set by
//! `.ci/run`) makes that a failure.
//!
//! Every unit-test file there is in [`EXPECTED`]: within prodsim's subset it must pass
//! where Prometheus's own test (`cmd/promtool/unittest_test.go`, with the features
//! the promtool command enables) wants it to pass and fail where it is meant to fail, for
//! the reason promtool gives; outside the subset it must be refused with the unsupported
//! part named. promtool itself, when installed, must agree with the expected status.

use crate::prometheus::tool;
use assert_cmd::cargo::cargo_bin_cmd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a file is meant to do.
enum Meant {
    /// Within the subset: exit 0.
    Pass,
    /// Within the subset: exit 1, with this text in the output (promtool's reason).
    Fail(&'static str),
    /// Outside the subset: refused (exit 1) with this part named; promtool exits `status`.
    Refused { part: &'static str, promtool_status: i32 },
}

/// Every promtool unit-test file of Prometheus 2.42.0's testdata (a file with `tests:`).
const EXPECTED: &[(&str, Meant)] = &[
    ("unittest.yml", Meant::Refused { part: "`timestamp` is not supported", promtool_status: 0 }),
    ("long-period.yml", Meant::Refused { part: "`timestamp` is not supported", promtool_status: 0 }),
    ("failing.yml", Meant::Refused { part: "subqueries (`expr[range:step]`) are not supported", promtool_status: 1 }),
    ("at-modifier-test.yml", Meant::Refused { part: "the `@` modifier is not supported", promtool_status: 0 }),
    ("bad-input-series.yml", Meant::Fail("bad-input-series.yml:3:17:")),
    ("bad-promql.yml", Meant::Fail("expr: \"join_1 + on(a) join_2\", time: 0s, err: found duplicate series")),
    ("bad-rules-syntax-test.yml", Meant::Fail("bad-rules-syntax.yml:7:15:")),
    ("bad-rules-error-test.yml", Meant::Fail("rule: joined, time: 0s, err: found duplicate series")),
    ("negative-offset-test.yml", Meant::Pass),
];

/// The fetched testdata folder, or `None` (the test is skipped) when it is absent.
fn testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("PRODSIM_PROMETHEUS_TESTDATA").map(PathBuf::from);
    let found = dir.filter(|d| d.join("unittest.yml").is_file());
    let required = std::env::var("PRODSIM_REQUIRE_PROMETHEUS_TESTDATA").is_ok_and(|v| v == "1");
    assert!(
        found.is_some() || !required,
        "PRODSIM_PROMETHEUS_TESTDATA names no Prometheus testdata and PRODSIM_REQUIRE_PROMETHEUS_TESTDATA=1 (run .ci/prometheus-testdata)"
    );
    if found.is_none() {
        eprintln!("skipped: no Prometheus testdata (run .ci/prometheus-testdata and set PRODSIM_PROMETHEUS_TESTDATA)");
    }
    found
}

/// Exit status and stdout of `prodsim test rules FILE` run in `dir` (as promtool's own
/// test runs it, so the files' relative `rule_files` resolve).
fn prodsim_test_rules(dir: &Path, file: &str) -> (i32, String) {
    let out = cargo_bin_cmd!("prodsim").current_dir(dir).args(["test", "rules", file]).output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn prometheus_own_promtool_test_files_pass_fail_or_are_refused_as_meant() {
    let Some(dir) = testdata() else { return };
    let mut unit_tests: Vec<String> = std::fs::read_dir(&dir)
        .expect("reads testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.starts_with("tests:") || t.contains("\ntests:")))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    unit_tests.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(unit_tests, listed, "every promtool unit-test file of the testdata is in EXPECTED");
    let promtool = tool("promtool");
    for (file, meant) in EXPECTED {
        let (code, out) = prodsim_test_rules(&dir, file);
        let promtool_meant = match meant {
            Meant::Pass => {
                assert_eq!(code, 0, "{file} passes:\n{out}");
                0
            }
            Meant::Fail(reason) => {
                assert_eq!(code, 1, "{file} fails:\n{out}");
                assert!(out.contains(reason), "{file} fails for `{reason}`:\n{out}");
                1
            }
            Meant::Refused { part, promtool_status } => {
                assert_eq!(code, 1, "{file} is refused:\n{out}");
                assert!(out.contains(&format!("{file}:")) || out.contains(".yml:"), "{file}: the place named:\n{out}");
                assert!(out.contains(part), "{file}: `{part}` named:\n{out}");
                *promtool_status
            }
        };
        if let Some(promtool) = &promtool {
            let out = Command::new(promtool).current_dir(&dir).args(["test", "rules", file]).output().expect("runs");
            assert_eq!(out.status.code(), Some(promtool_meant), "promtool on {file}");
        }
    }
}
