//! Unit tests of delivery: receivers that are down, retries at the next tick, fallbacks.

use super::*;

const S: i64 = 1000;
const M: i64 = 60 * S;

fn slack_with_fallback(fallback: Option<&str>) -> RoutingConfig {
    let mut slack = Receiver::new("slack", ReceiverKind::Slack { channel: "#alerts".into() }, true);
    slack.fallback = fallback.map(str::to_string);
    RoutingConfig {
        route: Route { group_by: Some(vec!["alertname".into()]), ..Route::to("slack") },
        receivers: vec![slack, Receiver::new("sms", ReceiverKind::Sms { to: "+15550100".into() }, true)],
        inhibit_rules: Vec::new(),
        silences: Vec::new(),
    }
}

fn down_alert() -> AlertInput {
    let labels: LabelSet = [("alertname", "ApiDown")].map(|(k, v)| (k.to_string(), v.to_string())).into();
    AlertInput { labels, annotations: LabelSet::new(), starts_ms: 0 }
}

fn sent(n: &[Notification]) -> Vec<(i64, &str, &str)> {
    n.iter().map(|n| (n.t_ms, n.receiver.as_str(), n.delivery.as_str())).collect()
}

#[test]
fn a_failed_notification_is_sent_again_at_the_next_tick() {
    let mut r = Router::new(slack_with_fallback(None));
    r.set_reachable("slack", false);
    r.update(0, &[down_alert()]);
    assert_eq!(sent(&r.poll(30 * S)), [(30 * S, "slack", "failed")]);
    // Not logged, so the next tick (group_interval later) tries again.
    assert_eq!(sent(&r.poll(30 * S + 5 * M)), [(30 * S + 5 * M, "slack", "failed")]);
    r.set_reachable("slack", true);
    let back = r.poll(30 * S + 10 * M);
    assert_eq!(sent(&back), [(30 * S + 10 * M, "slack", "delivered")]);
    assert!(!back[0].repeat, "the first notification that got through is not a reminder");
    // Logged now: nothing new at the next tick.
    assert!(r.poll(30 * S + 15 * M).is_empty());
    assert!(render(&Notification { delivery: Delivery::Failed, ..back[0].clone() }).contains("NOT DELIVERED"));
}

#[test]
fn a_fallback_gets_what_its_receiver_could_not_deliver() {
    let mut r = Router::new(slack_with_fallback(Some("sms")));
    r.update(0, &[down_alert()]);
    assert_eq!(sent(&r.poll(30 * S)), [(30 * S, "slack", "delivered")], "slack up: no fallback");
    r.set_reachable("slack", false);
    r.update(M, &[]);
    let resolved = r.poll(30 * S + 5 * M);
    assert_eq!(sent(&resolved), [(30 * S + 5 * M, "slack", "failed"), (30 * S + 5 * M, "sms", "fallback")]);
    assert_eq!(resolved[1].delivery, Delivery::Fallback { from: "slack".into() });
    assert!(render(&resolved[1]).contains("fallback: `slack` is down"), "{}", render(&resolved[1]));
    assert!(r.poll(30 * S + 10 * M).is_empty(), "the fallback's success is logged");
}

#[test]
fn when_every_fallback_is_down_nobody_gets_it() {
    let mut r = Router::new(slack_with_fallback(Some("sms")));
    r.set_reachable("slack", false);
    r.set_reachable("sms", false);
    r.update(0, &[down_alert()]);
    assert_eq!(sent(&r.poll(30 * S)), [(30 * S, "slack", "failed"), (30 * S, "sms", "failed")]);
}

#[test]
fn fallbacks_must_exist_and_not_loop() {
    let unknown = slack_with_fallback(Some("pager"));
    assert!(matches!(unknown.check(), Err(RoutingError::UnknownFallback { fallback, .. }) if fallback == "pager"));
    let mut cycle = slack_with_fallback(Some("sms"));
    cycle.receivers[1].fallback = Some("slack".into());
    assert!(matches!(cycle.check(), Err(RoutingError::FallbackCycle { .. })));
    let mut own = slack_with_fallback(Some("slack"));
    own.receivers[1].fallback = None;
    assert!(matches!(own.check(), Err(RoutingError::FallbackCycle { .. })));
    assert!(slack_with_fallback(Some("sms")).check().is_ok());
}

fn pipeline_message() -> DirectMessage {
    DirectMessage {
        origin: Origin::Pipeline { author: "alice".into(), version: "v2".into() },
        summary: "the tests stage failed".into(),
    }
}

#[test]
fn a_direct_message_goes_out_at_once_without_a_group() {
    let r = Router::new(slack_with_fallback(Some("sms")));
    let out = r.send_direct(90 * S, "slack", &pipeline_message());
    assert_eq!(sent(&out), [(90 * S, "slack", "delivered")]);
    assert_eq!(out[0].origin.as_str(), "pipeline");
    assert_eq!(out[0].alerts[0].labels.get("author").map(String::as_str), Some("alice"));
    assert_eq!(render(&out[0]), "+1m30s #alerts  @alice [PIPELINE] the tests stage failed");
    assert_eq!((r.groups(), r.next_wake()), (0, None), "nothing left to tick");
    assert!(r.send_direct(0, "nobody", &pipeline_message()).is_empty());
}

#[test]
fn a_direct_message_to_a_channel_that_is_down_falls_back_or_reaches_nobody() {
    let mut r = Router::new(slack_with_fallback(Some("sms")));
    r.set_reachable("slack", false);
    let out = r.send_direct(M, "slack", &pipeline_message());
    assert_eq!(sent(&out), [(M, "slack", "failed"), (M, "sms", "fallback")]);
    assert!(render(&out[0]).contains("NOT DELIVERED"));
    assert!(
        render(&out[1]).starts_with("+1m00s SMS +15550100: [PIPELINE] @alice (fallback: `slack` is down): the tests")
    );

    let mut alone = Router::new(slack_with_fallback(None));
    alone.set_reachable("slack", false);
    let out = alone.send_direct(M, "slack", &pipeline_message());
    assert_eq!(sent(&out), [(M, "slack", "failed")]);
    assert!(!out.iter().any(|n| n.delivery.reached()));
    assert!(alone.poll(10 * M).is_empty(), "a direct message is not retried");
}
