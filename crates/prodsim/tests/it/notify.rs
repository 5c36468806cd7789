//! Notification channels that fail: a `notification_outage` on a receiver, Alertmanager's
//! retry at the next group tick, a receiver's `fallback`, and the loader's errors for both.

use prodsim_parts::ops::routing::Delivery;

use super::common::{from_text, load_errors, repo_path, run_own_seed, system};

const SCENARIO: &str = "scenarios/notification-outage.toml";

fn shipped() -> String {
    std::fs::read_to_string(repo_path(SCENARIO)).expect("read the scenario")
}

/// When the first page of the first incident went out, and what its revenue loss was.
fn first_page(text: &str) -> (Option<i64>, f64, Vec<Delivery>) {
    let o = run_own_seed(&from_text(text));
    let m = system(&o).monitoring.as_deref().expect("monitoring");
    let i = m.incidents.first().expect("the payment outage is an incident");
    let deliveries = m.sets.iter().flat_map(|s| &s.notifications).map(|n| n.delivery.clone()).collect();
    (i.paged_ms, i.lost_revenue, deliveries)
}

#[test]
fn the_fallback_pages_the_on_call_while_the_paging_service_is_down() {
    let (paged_ms, lost, deliveries) = first_page(&shipped());
    let paged_ms = paged_ms.expect("paged");
    assert!((20 * 60_000..25 * 60_000).contains(&paged_ms), "paged at {paged_ms} ms");
    assert!(deliveries.contains(&Delivery::Failed), "the pager's notifications fail");
    assert!(deliveries.contains(&Delivery::Fallback { from: "pager".into() }), "{deliveries:?}");

    let without = shipped().replace("fallback = \"sms\"", "");
    let (late_ms, late_lost, late) = first_page(&without);
    let late_ms = late_ms.expect("paged once the paging service is back");
    // The paging service is down from 10m to 70m: the retries fail until then.
    assert!(late_ms >= 70 * 60_000, "paged at {late_ms} ms although the channel was down");
    assert!(!late.iter().any(|d| matches!(d, Delivery::Fallback { .. })));
    assert!(late_lost > lost * 1.2, "the late page costs revenue: {late_lost} vs {lost}");
}

#[test]
fn an_outage_of_a_channel_nobody_pages_from_changes_no_page() {
    let text = shipped().replace("target = \"pager\"", "target = \"slack\"");
    let (paged_ms, _, deliveries) = first_page(&text);
    assert!(paged_ms.is_some_and(|p| p < 25 * 60_000), "{paged_ms:?}");
    assert!(deliveries.contains(&Delivery::Failed), "slack's notifications fail");
}

#[test]
fn receivers_and_fallbacks_are_checked_when_loading() {
    let e = load_errors(&shipped().replace("target = \"pager\"", "target = \"pagr\""));
    assert!(e.contains("fault target `pagr` is not a receiver") && e.contains("pager"), "{e}");
    let e = load_errors(&shipped().replace("fallback = \"sms\"", "fallback = \"smss\""));
    assert!(e.contains("no receiver `smss`") && e.contains("did you mean `sms`"), "{e}");
    let cycle = shipped().replace("sms = \"+15550100\"", "sms = \"+15550100\"\nfallback = \"pager\"");
    assert!(load_errors(&cycle).contains("go round in a circle"), "{}", load_errors(&cycle));
    let e = load_errors(
        &shipped().replace("target = \"pager\"\nat = \"10m\"", "target = \"pager\"\nat = \"10m\"\nfactor = 2.0"),
    );
    assert!(e.contains("a notification_outage fault takes no `factor`"), "{e}");
}
