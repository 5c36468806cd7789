//! `prodsim run --narrate`: the narration of payment-outage and bad-deploy-rollback as insta
//! snapshots (a change in wording or numbers shows up as a diff), its time order, its
//! determinism, and the flag through the CLI.

use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_report::narrate;

use crate::common::{repo_path, run_own_seed, scenario, temp_dir};

/// The narration's lines never go back in time.
fn assert_time_ordered(lines: &[narrate::Line]) {
    assert!(lines.windows(2).all(|w| w[0].t_ns <= w[1].t_ns), "{lines:?}");
}

#[test]
fn payment_outage_is_told_in_order_with_its_numbers() {
    let s = scenario("scenarios/payment-outage.toml");
    let o = run_own_seed(&s);
    let text = narrate::narrate(&o, &s);
    assert_time_ordered(&narrate::lines(&o, &s));
    for words in [
        "stops answering",
        "errors climb to",
        "pages alice through #production-alerts",
        "reaches every server; errors fall to",
    ] {
        assert!(text.contains(words), "{words:?} missing in\n{text}");
    }
    insta::assert_snapshot!("payment-outage-narration", text);
}

#[test]
fn bad_deploy_rollback_is_told_and_told_the_same_way_twice() {
    let s = scenario("scenarios/bad-deploy-rollback.toml");
    let first = narrate::narrate(&run_own_seed(&s), &s);
    let second = narrate::narrate(&run_own_seed(&s), &s);
    assert_eq!(first, second, "the same seed must narrate byte for byte the same");
    assert!(first.contains("is rolled back to v2.3.0 by pipeline"), "{first}");
    insta::assert_snapshot!("bad-deploy-rollback-narration", first);
}

#[test]
fn run_narrate_prints_the_story_before_the_summary() {
    let dir = temp_dir("narrate", "cli");
    let out = cargo_bin_cmd!("prodsim")
        .arg("run")
        .arg(repo_path("scenarios/quickstart.toml"))
        .args(["--narrate", "--no-html", "--no-charts", "--out"])
        .arg(dir.join("o"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let story = stdout.find("narration     quickstart").expect("a narration");
    let summary = stdout.find("scenario      quickstart").expect("a summary");
    assert!(story < summary, "{stdout}");
    assert!(stdout.contains("the run ends:"), "{stdout}");
}
