//! Putting things right, end to end: a backup payment processor behind the primary's
//! breaker, the reconciliation job that settles charges whose answer was lost, and the
//! loader's errors for both; database backups and the restore after a `data_loss`.

use prodsim_kernel::NS_PER_S;

use super::common::{from_text, load_errors, repo_path, run_own_seed, system};

const BACKUP_PROCESSOR: &str = "scenarios/backup-processor.toml";

fn shipped() -> String {
    std::fs::read_to_string(repo_path(BACKUP_PROCESSOR)).expect("read the scenario")
}

/// The scenario's text without its `[[expect]]` blocks (some need sections a variant drops).
fn without_expectations(text: &str) -> String {
    text.split("[[expect]]").next().expect("text").to_string()
}

#[test]
fn the_backup_processor_takes_over_and_reconciliation_balances_the_ledger() {
    let o = run_own_seed(&from_text(&shipped()));
    let s = system(&o);
    let fallback = s.recovery.fallback.expect("a call names a fallback");
    let rec = s.recovery.reconciliation.expect("[reconciliation]");
    assert!(fallback.payments > 10_000, "{fallback:?}");
    assert!(fallback.answered <= fallback.calls);
    assert!(fallback.in_doubt_kept > 0, "timed-out charges never fall back: {fallback:?}");
    assert!(rec.corrected > 100 && rec.charged >= rec.corrected, "{rec:?}");
    assert_eq!(rec.in_doubt, 0, "{rec:?}");
    assert_eq!((s.payments.lost, s.payments.duplicated), (0, 0), "{:?}", s.payments);
    assert!(s.payments.balanced());
    // The backup processor is billed at its own price.
    let backup = s.components.iter().find(|c| c.name == "backup_payments").expect("component");
    assert!(backup.calls >= fallback.calls);
}

#[test]
fn without_reconciliation_the_charges_whose_answer_was_lost_are_lost() {
    let with = run_own_seed(&from_text(&without_expectations(&shipped())));
    let text = without_expectations(&shipped()).replace("[reconciliation]\ninterval = \"5m\"\n", "");
    assert!(!text.contains("\n[reconciliation]\n"));
    let without = run_own_seed(&from_text(&text));
    let (a, b) = (system(&with), system(&without));
    assert!(b.recovery.reconciliation.is_none());
    let corrected = a.recovery.reconciliation.expect("job").corrected;
    assert!(b.payments.lost > 100, "money taken, no order: {:?}", b.payments);
    assert_eq!(b.payments.lost, corrected, "each lost payment is one the job put right");
    assert_eq!(b.payments.duplicated, 0, "the fallback never charges a payment the primary may have taken");
}

#[test]
fn without_the_fallback_checkouts_fail_while_the_breaker_is_open() {
    let text = without_expectations(&shipped()).replace(", fallback = \"backup_payments\"", "");
    let o = run_own_seed(&from_text(&text));
    let s = system(&o);
    assert!(s.recovery.fallback.is_none());
    let checkout = s.classes.iter().find(|c| c.name == "checkout").expect("class");
    assert!(checkout.requests.availability().is_some_and(|a| a < 0.8), "{:?}", checkout.requests);
    assert_eq!(s.payments.duplicated, 0);
}

#[test]
fn a_bad_fallback_or_reconciliation_is_an_error_at_its_place() {
    let base = without_expectations(&shipped());
    let to_self = base.replace("fallback = \"backup_payments\"", "fallback = \"payment_api\"");
    assert!(load_errors(&to_self).contains("is the call's own target"), "{}", load_errors(&to_self));
    let unknown = base.replace("fallback = \"backup_payments\"", "fallback = \"backup_paymnts\"");
    let e = load_errors(&unknown);
    assert!(e.contains("unknown service `backup_paymnts`") && e.contains("backup_payments"), "{e}");
    let on_db = base.replace(
        "{ call = \"db\", op = \"write\", timeout = \"1s\" }",
        "{ call = \"db\", op = \"write\", timeout = \"1s\", fallback = \"backup_payments\" }",
    );
    assert!(load_errors(&on_db).contains("only a call to a service can fall back"), "{}", load_errors(&on_db));
    let no_payment = base.replace("payment = \"payment_api\"\n", "");
    assert!(load_errors(&no_payment).contains("no request class is one"), "{}", load_errors(&no_payment));
    let bad_interval = base.replace("interval = \"5m\"", "interval = \"0s\"");
    assert!(load_errors(&bad_interval).contains("reconciliation.interval"), "{}", load_errors(&bad_interval));
}

const BACKUP_RESTORE: &str = "scenarios/backup-restore.toml";

#[test]
fn a_data_loss_restores_the_last_finished_backup() {
    let text = std::fs::read_to_string(repo_path(BACKUP_RESTORE)).expect("read");
    let o = run_own_seed(&from_text(&text));
    let s = system(&o);
    let b = s.recovery.backups.expect("[backups]");
    assert_eq!((b.data_losses, b.restores, b.completed), (1, 1, 3), "{b:?}");
    // Lost at 2h25m, restored from the 2h backup: 25 minutes of writes, 20 minutes down.
    assert_eq!(b.rpo_ns, Some(25 * 60 * NS_PER_S));
    assert_eq!(b.rto_ns, Some(20 * 60 * NS_PER_S));
    assert!((8_000..10_000).contains(&b.writes_lost), "{b:?}");
    assert!((b.cost - 1.2).abs() < 1e-9 && s.cost.infrastructure >= b.cost);
    // Requests that need the database fail while it is restored.
    let down = o.rows.iter().filter(|r| (146..164).contains(&(r.start_ns / (60 * NS_PER_S))));
    assert!(down.clone().all(|r| r.failures > 0), "every minute of the restore has failures");
    // A loss while the 3h backup still runs goes back to 2h.
    let late = run_own_seed(&from_text(&without_expectations(&text).replace("at = \"2h25m\"", "at = \"3h5m\"")));
    let b = system(&late).recovery.backups.expect("[backups]");
    assert_eq!(b.rpo_ns, Some(65 * 60 * NS_PER_S));
}

#[test]
fn a_data_loss_needs_backups_and_takes_no_duration() {
    let text = without_expectations(&std::fs::read_to_string(repo_path(BACKUP_RESTORE)).expect("read"));
    let no_backups = text.replace("[backups]\n", "[backups_gone]\n");
    let cut: String = no_backups.split("[backups_gone]").next().expect("text").to_string()
        + "[[faults]]\nkind = \"data_loss\"\ntarget = \"db\"\nat = \"1h\"\n";
    assert!(load_errors(&cut).contains("needs a [backups] section"), "{}", load_errors(&cut));
    let with_duration = text.replace("at = \"2h25m\"", "at = \"2h25m\"\nduration = \"5m\"");
    assert!(load_errors(&with_duration).contains("[backups].restore"), "{}", load_errors(&with_duration));
    let overlapping = text.replace("duration = \"10m\"", "duration = \"2h\"");
    assert!(load_errors(&overlapping).contains("shorter than backups.interval"), "{}", load_errors(&overlapping));
}

#[test]
fn the_fault_space_offers_data_loss_only_with_backups() {
    use prodsim_lab::chaos::space::FaultSpace;
    let text = std::fs::read_to_string(repo_path(BACKUP_RESTORE)).expect("read");
    let has = |s: &prodsim_scenario::Scenario| FaultSpace::of(s).choices.iter().any(|c| c.kind == "data_loss");
    assert!(has(&from_text(&text)));
    assert!(!has(&super::common::scenario("scenarios/checkout-robust.toml")));
}

/// A shop whose payment API goes down, watched by one alert with a runbook and a dashboard
/// link, routed to Slack and to a pager.
const LINKED_ALERT: &str = r##"
[scenario]
name = "links"
seed = 3
duration = "15m"
[[workload]]
name = "w"
rate = 50
[servers]
count = 2
workers = 16
[[requests]]
name = "r"
weight = 1
steps = [{ cpu = "exp(2ms)" }, { call = "api", timeout = "1s" }]
[services.api]
kind = "third_party"
latency = "exp(20ms)"
[[faults]]
kind = "outage"
target = "api"
at = "5m"
duration = "5m"
[monitoring]
scrape_interval = "15s"
[[alerts]]
alert = "Errors"
expr = 'sum(rate(http_requests_total{service="lb",code=~"5.."}[1m])) > 1'
labels = { severity = "page" }
annotations = { summary = "Requests fail", runbook_url = "https://runbooks.example/errors", dashboard_url = "https://grafana.example/d/shop" }
[routing]
receiver = "slack"
[[routing.routes]]
matchers = ['severity="page"']
receiver = "oncall"
continue = true
[[routing.receivers]]
name = "slack"
slack = "#alerts"
[[routing.receivers]]
name = "oncall"
pager = "shop"
"##;

#[test]
fn runbook_and_dashboard_links_reach_the_notifications_and_the_summary() {
    let o = run_own_seed(&from_text(LINKED_ALERT));
    let m = system(&o).monitoring.as_deref().expect("monitoring");
    let text = prodsim_report::text_alerting::notifications(m);
    assert!(text.contains("runbook: https://runbooks.example/errors"), "{text}");
    assert!(text.contains("dashboard: https://grafana.example/d/shop"), "{text}");
    let summary = prodsim_report::summary::Summary::from_outcome(&o).to_json();
    assert!(summary.contains("\"runbook_url\": \"https://runbooks.example/errors\""), "{summary}");
    assert!(summary.contains("\"dashboard_url\": \"https://grafana.example/d/shop\""), "{summary}");
}
