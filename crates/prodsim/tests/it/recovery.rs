//! Putting things right, end to end: a backup payment processor behind the primary's
//! breaker, the reconciliation job that settles charges whose answer was lost, and the
//! loader's errors for both.

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
