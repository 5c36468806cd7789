//! Pipeline failures notify the committer (issue 18): `[[deploys]] author` and
//! `[pipeline] notify`, the router's direct path (no group, no page), a receiver's outage
//! and its fallback, `deploys[].notified_s` and `notifications[].kind` in summary.json.

use std::path::Path;

use prodsim_kernel::NS_PER_S;
use prodsim_parts::ops::routing::{Delivery, Origin};

use super::common::{from_text, load_errors, repo_path, run_own_seed, system};

const SCENARIO: &str = "scenarios/pipeline-notifies-committer.toml";

fn shipped() -> String {
    std::fs::read_to_string(repo_path(SCENARIO)).expect("read the scenario")
}

/// Each release's (version, author, notified_ns), and the pipeline's messages as
/// (time ms, author, receiver, delivery).
type Told = (Vec<(String, Option<String>, Option<u64>)>, Vec<(i64, String, String, Delivery)>);

fn told(text: &str) -> Told {
    let o = run_own_seed(&from_text(text));
    let d = system(&o).delivery.as_ref().expect("delivery");
    let releases = d.releases.iter().map(|r| (r.version.clone(), r.author.clone(), r.notified_ns)).collect();
    let m = system(&o).monitoring.as_deref().expect("monitoring");
    for n in m.sets.iter().flat_map(|s| &s.notifications) {
        assert_eq!(n.origin, Origin::Alert, "alert routing carries no pipeline message");
        assert!(n.alerts.iter().all(|a| a.labels.get("alertname").is_none_or(|a| a != "PipelineFailed")));
    }
    let messages = m
        .pipeline_notifications
        .iter()
        .map(|n| {
            let Origin::Pipeline { author, .. } = &n.origin else { panic!("an alert among the pipeline's: {n:?}") };
            (n.t_ms, author.clone(), n.receiver.clone(), n.delivery.clone())
        })
        .collect();
    (releases, messages)
}

const MIN_MS: i64 = 60_000;

#[test]
fn the_author_is_told_when_the_pipeline_gives_up_and_slack_falls_back_to_email() {
    let o = run_own_seed(&from_text(&shipped()));
    let d = system(&o).delivery.as_ref().expect("delivery");
    let (alice, bob, carol) = (&d.releases[0], &d.releases[1], &d.releases[2]);
    // alice's canary: the analysis fails at the end of the first bake and rolls back (2m).
    assert_eq!(alice.rolled_back_by.as_deref(), Some("pipeline"));
    let decided = alice.end_ns.expect("rolled back") - 120 * NS_PER_S;
    assert_eq!(alice.notified_ns, Some(decided), "told when the analysis failed, not when the rollback ended");
    assert_eq!(decided, 1230 * NS_PER_S);
    // bob's tests fail: told the instant the stage ends.
    let tests = bob.stages.last().expect("stages");
    assert_eq!(bob.notified_ns, Some(tests.end_ns));
    assert_eq!(tests.end_ns, 2100 * NS_PER_S);
    assert_eq!(carol.notified_ns, None, "a release that completes tells nobody");

    let (_, messages) = told(&shipped());
    let expected = [
        (1230 * 1000, "alice", "deploys", Delivery::Delivered),
        (35 * MIN_MS, "bob", "deploys", Delivery::Failed),
        (35 * MIN_MS, "bob", "dev-email", Delivery::Fallback { from: "deploys".into() }),
    ];
    let got: Vec<(i64, &str, &str, Delivery)> =
        messages.iter().map(|(t, a, r, d)| (*t, a.as_str(), r.as_str(), d.clone())).collect();
    assert_eq!(got, expected);
    // A direct message pages nobody: no [oncall] here, and no alert notification for it.
    assert!(d.pages.is_empty());
}

#[test]
fn an_outage_of_the_receiver_without_a_fallback_leaves_the_author_untold() {
    let text = shipped().replace("fallback = \"dev-email\"", "");
    let (releases, messages) = told(&text);
    assert_eq!(releases[0].2, Some(1230 * NS_PER_S), "alice's message went out before the outage");
    assert_eq!(releases[1].2, None, "bob's failed on Slack and is not retried");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].3, Delivery::Failed);

    let up = shipped().replace(
        "kind = \"notification_outage\"\ntarget = \"deploys\"\nat = \"24m\"",
        "kind = \"notification_outage\"\ntarget = \"alerts\"\nat = \"24m\"",
    );
    let (releases, messages) = told(&up);
    assert_eq!(releases[1].2, Some(2100 * NS_PER_S));
    assert_eq!(messages[1], (35 * MIN_MS, "bob".to_string(), "deploys".to_string(), Delivery::Delivered));
}

#[test]
fn without_notify_nobody_is_told_and_the_loader_says_so() {
    let text = shipped().replace("notify = \"deploys\"", "");
    let loaded = prodsim_scenario::load_str(&text, Path::new("t.toml")).expect("loads");
    let warnings: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(warnings.iter().any(|w| w.contains("has no `notify` receiver")), "{warnings:?}");
    let (releases, messages) = told(&text);
    assert!(releases.iter().all(|r| r.2.is_none()) && messages.is_empty(), "{releases:?} {messages:?}");
}

#[test]
fn notify_and_author_are_checked_when_loading() {
    let e = load_errors(&shipped().replace("notify = \"deploys\"", "notify = \"deploy\""));
    assert!(e.contains("pipeline.notify: unknown receiver `deploy`") && e.contains("did you mean `deploys`"), "{e}");
    let e = load_errors(&shipped().replace("author = \"bob\"", "author = \" \""));
    assert!(e.contains("deploys.author must be a person's name"), "{e}");
    let without_monitoring = "[scenario]\nname = \"n\"\nduration = \"1h\"\n[[workload]]\nname = \"w\"\nrate = 1\n[servers]\ncount = 1\nservice_time = \"const(10ms)\"\n[pipeline]\nnotify = \"slack\"\n[[deploys]]\nversion = \"v2\"\nat = \"1m\"\nauthor = \"alice\"\n";
    let e = load_errors(without_monitoring);
    assert!(e.contains("pipeline.notify names a receiver, which needs monitoring"), "{e}");
    // A free name is fine; one a typo away from a responder's gets a did-you-mean warning.
    let oncall = "\n[oncall]\n[[oncall.responders]]\nname = \"alice\"\nhours = \"always\"\nack = \"1m\"\n";
    let typo = format!("{}{oncall}", shipped().replace("author = \"alice\"", "author = \"alcie\""));
    let loaded = prodsim_scenario::load_str(&typo, Path::new("t.toml")).expect("loads");
    let w = loaded.warnings.iter().find(|w| w.message.contains("deploys.author `alcie`")).expect("a warning");
    assert_eq!(w.help.as_deref(), Some("did you mean `alice`?"));
}

#[test]
fn summary_json_marks_pipeline_messages_and_the_time_each_author_was_told() {
    let o = run_own_seed(&from_text(&shipped()));
    let s = serde_json::to_value(prodsim_report::summary::Summary::from_outcome(&o)).expect("serializes");
    let deploys = s["deploys"].as_array().expect("deploys");
    let told: Vec<(&str, Option<f64>)> =
        deploys.iter().map(|d| (d["author"].as_str().unwrap_or("?"), d["notified_s"].as_f64())).collect();
    assert_eq!(told, [("alice", Some(1230.0)), ("bob", Some(2100.0)), ("carol", None)]);
    let notes = s["notifications"].as_array().expect("notifications");
    assert!(notes.iter().all(|n| matches!(n["kind"].as_str(), Some("alert" | "pipeline"))), "{notes:?}");
    let pipeline: Vec<&serde_json::Value> = notes.iter().filter(|n| n["kind"] == "pipeline").collect();
    assert_eq!(pipeline.len(), 3);
    assert!(pipeline.iter().all(|n| n["set"].is_null() && n["alerts"][0] == "PipelineFailed"));
    assert_eq!(pipeline[2]["author"], "bob");
    assert_eq!(pipeline[2]["delivery"], "fallback");
    assert_eq!(pipeline[2]["summary"], "v3.1.1 by bob failed: the tests stage failed");
    assert!(notes.iter().filter(|n| n["kind"] == "alert").all(|n| n["set"].is_string() && n.get("author").is_none()));
}

#[test]
fn report_html_shows_the_messages_and_their_lane() {
    let o = run_own_seed(&from_text(&shipped()));
    let m = system(&o).monitoring.as_deref().expect("monitoring");
    let html = prodsim_report::html::ops::notifications(m);
    assert!(html.contains("Notifications (4)"), "one alert notification and three pipeline attempts");
    assert!(html.contains("CI in #deploys") && html.contains("@alice [PIPELINE] v3.1.0 by alice rolled back"));
    assert!(html.contains("To: dev-team@example.com") && html.contains("set pipeline"));
    let lanes = prodsim_report::html::run_events::lanes(&o).expect("lanes");
    let text = format!("{lanes:?}");
    assert!(
        text.contains("pipeline → committers") && text.contains("@bob: v3.1.1 failed → dev-email (fallback)"),
        "{text}"
    );
}
