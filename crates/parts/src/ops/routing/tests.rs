//! Unit tests of routing: timings, grouping, the tree, muting, resolution, rendering.

use super::*;

const S: i64 = 1000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn alert(pairs: &[(&str, &str)], starts_ms: i64) -> AlertInput {
    let name = labels(pairs).get("alertname").cloned().unwrap_or_default();
    AlertInput { labels: labels(pairs), annotations: labels(&[("summary", &format!("{name} is bad"))]), starts_ms }
}

fn m(text: &str) -> Matcher {
    Matcher::parse(text).unwrap()
}

fn receiver(name: &str, send_resolved: bool) -> Receiver {
    Receiver::new(name, ReceiverKind::Slack { channel: format!("#{name}") }, send_resolved)
}

fn config(route: Route, receivers: Vec<Receiver>) -> RoutingConfig {
    RoutingConfig { route, receivers, inhibit_rules: Vec::new(), silences: Vec::new() }
}

/// One receiver `team`, grouped by alertname, default timings.
fn simple(send_resolved: bool) -> Router {
    let route = Route { group_by: Some(vec!["alertname".into()]), ..Route::to("team") };
    Router::new(config(route, vec![receiver("team", send_resolved)]))
}

fn names(n: &Notification) -> Vec<String> {
    n.alerts.iter().map(|a| format!("{}:{}", a.labels.get("instance").map_or("", |s| s), a.status.as_str())).collect()
}

#[test]
fn matchers_parse_alertmanager_syntax() {
    let eq = m(r#"severity="page""#);
    assert_eq!((eq.name.as_str(), eq.op, eq.value.as_str()), ("severity", MatchOp::Eq, "page"));
    assert_eq!(m("team != db").op, MatchOp::Ne);
    assert_eq!(m("team!=db").value, "db");
    assert_eq!(m(r#"service!~"a|b""#).op, MatchOp::NotRe);
    assert_eq!(m(r#"x="say \"hi\"""#).value, r#"say "hi""#);
    let re = m(r#"service=~"pay.*""#);
    assert!(re.matches(&labels(&[("service", "payments")])));
    assert!(!re.matches(&labels(&[("service", "prepay")])), "regexes are anchored");
    assert!(m(r#"code=~"5\d\d""#).matches(&labels(&[("code", "503")])));
    // A missing label is the empty string.
    assert!(m(r#"team!="db""#).matches(&labels(&[])));
    assert!(m(r#"team="""#).matches(&labels(&[])));
    assert!(!m(r#"team="""#).matches(&labels(&[("team", "db")])));
    assert_eq!(m(r#"service=~"pay.*""#).to_string(), r#"service=~"pay.*""#);
}

#[test]
fn matcher_sets() {
    let set = Matcher::parse_set(r#"{severity="page", service=~"a,b|c", team!=db,}"#).unwrap();
    let shown: Vec<String> = set.iter().map(ToString::to_string).collect();
    assert_eq!(shown, [r#"severity="page""#, r#"service=~"a,b|c""#, r#"team!="db""#]);
    assert_eq!(Matcher::parse_set("{}").unwrap(), []);
    assert_eq!(Matcher::parse_set(r#"a="x\",y""#).unwrap()[0].value, r#"x",y"#);
    assert!(Matcher::parse_set(r#"{a="b""#).is_err());
    assert!(Matcher::parse_set(r#"a="b",,c="d""#).is_err());
}

#[test]
fn matcher_parse_errors() {
    for bad in ["", "=x", "severity", "severity page", r#"a="open"#, r#"a="x" y"#, "1a=x", r#"a=b"c"#, "a~=b"] {
        assert!(
            matches!(Matcher::parse(bad), Err(RoutingError::InvalidMatcher { .. })),
            "{bad:?} should not parse: {:?}",
            Matcher::parse(bad)
        );
    }
    assert!(matches!(Matcher::parse(r#"a=~"(""#), Err(RoutingError::InvalidRegex { .. })));
}

#[test]
fn config_check() {
    let ok = config(Route::to("team"), vec![receiver("team", false)]);
    assert_eq!(ok.check(), Ok(()));
    let no_root = config(Route::default(), vec![receiver("team", false)]);
    assert_eq!(no_root.check(), Err(RoutingError::RootWithoutReceiver));
    let unknown =
        config(Route { routes: vec![Route::to("nobody")], ..Route::to("team") }, vec![receiver("team", false)]);
    assert!(matches!(unknown.check(), Err(RoutingError::UnknownReceiver { receiver, .. }) if receiver == "nobody"));
    let twice = config(Route::to("team"), vec![receiver("team", false), receiver("team", true)]);
    assert_eq!(twice.check(), Err(RoutingError::DuplicateReceiver("team".into())));
    let zero = config(
        Route { routes: vec![Route { group_wait_ms: Some(0), ..Route::default() }], ..Route::to("team") },
        vec![receiver("team", false)],
    );
    assert!(matches!(zero.check(), Err(RoutingError::NonPositiveDuration { field: "group_wait", .. })));
    let mut silence = ok.clone();
    silence.silences.push(Silence { matchers: vec![m("a=b")], starts_ms: 10, ends_ms: 10, comment: String::new() });
    assert!(matches!(silence.check(), Err(RoutingError::SilenceWindow { .. })));
    let matchers_at_root =
        config(Route { matchers: vec![m("a=b")], ..Route::to("team") }, vec![receiver("team", false)]);
    assert_eq!(matchers_at_root.check(), Err(RoutingError::RootWithMatchers));
    assert!(Router::try_new(no_root).is_err());
}

#[test]
fn group_wait_then_group_interval_then_repeat_interval() {
    let mut r = simple(false);
    r.update(0, &[alert(&[("alertname", "Down"), ("instance", "a")], 0)]);
    assert_eq!(r.next_wake(), Some(30 * S));
    assert!(r.poll(30 * S - 1).is_empty());
    let first = r.poll(30 * S);
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].t_ms, first[0].repeat), (30 * S, false));
    assert_eq!(r.next_wake(), Some(30 * S + 5 * M));

    // A second alert joins at 1 min: notified at the next group_interval tick, not before.
    let both =
        [alert(&[("alertname", "Down"), ("instance", "a")], 0), alert(&[("alertname", "Down"), ("instance", "b")], M)];
    r.update(M, &both);
    assert!(r.poll(30 * S + 5 * M - 1).is_empty());
    let second = r.poll(30 * S + 5 * M);
    assert_eq!(second.len(), 1);
    assert_eq!(names(&second[0]), ["a:firing", "b:firing"]);
    assert!(!second[0].repeat);

    // Nothing changes: silence until repeat_interval (4 h) after the last notification.
    r.update(2 * H, &both);
    let last = 30 * S + 5 * M;
    assert!(r.poll(last + 4 * H - 1).is_empty());
    let reminder = r.poll(last + 4 * H);
    assert_eq!(reminder.len(), 1);
    assert!(reminder[0].repeat);
    assert_eq!(names(&reminder[0]), ["a:firing", "b:firing"]);
}

#[test]
fn alerts_group_by_label_values() {
    let mut r = simple(false);
    r.update(
        0,
        &[
            alert(&[("alertname", "Down"), ("instance", "a")], 0),
            alert(&[("alertname", "Down"), ("instance", "b")], 0),
            alert(&[("alertname", "Slow"), ("instance", "a")], 0),
        ],
    );
    assert_eq!(r.groups(), 2);
    let out = r.poll(30 * S);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].group_labels, labels(&[("alertname", "Down")]));
    assert_eq!(out[0].alerts.len(), 2);
    assert_eq!(out[1].group_labels, labels(&[("alertname", "Slow")]));
}

#[test]
fn group_by_all_and_no_grouping() {
    let every = Route { group_by: Some(vec!["...".into()]), ..Route::to("team") };
    let mut r = Router::new(config(every, vec![receiver("team", false)]));
    let two =
        [alert(&[("alertname", "Down"), ("instance", "a")], 0), alert(&[("alertname", "Down"), ("instance", "b")], 0)];
    r.update(0, &two);
    assert_eq!(r.poll(30 * S).len(), 2);
    let mut one = Router::new(config(Route::to("team"), vec![receiver("team", false)]));
    one.update(0, &two);
    let out = one.poll(30 * S);
    assert_eq!((out.len(), out[0].alerts.len()), (1, 2));
    assert!(out[0].group_labels.is_empty());
}

fn tree(continue_first: bool) -> Router {
    let route = Route {
        routes: vec![
            Route {
                matchers: vec![m("severity=critical")],
                continue_matching: continue_first,
                group_wait_ms: Some(10 * S),
                ..Route::to("pager")
            },
            Route { matchers: vec![m("service=~pay.*")], ..Route::to("payments") },
            // Inherits the receiver `default` and the root's 20 s group_wait.
            Route { matchers: vec![m("service=db")], routes: vec![Route::default()], ..Route::default() },
        ],
        group_wait_ms: Some(20 * S),
        ..Route::to("default")
    };
    let receivers = ["pager", "payments", "default"].iter().map(|n| receiver(n, false)).collect();
    Router::new(config(route, receivers))
}

fn receivers_at(r: &mut Router, t_ms: i64) -> Vec<(i64, String)> {
    r.poll(t_ms).into_iter().map(|n| (n.t_ms, n.receiver)).collect()
}

#[test]
fn first_matching_route_wins_without_continue() {
    let mut r = tree(false);
    r.update(0, &[alert(&[("alertname", "E"), ("severity", "critical"), ("service", "payments")], 0)]);
    assert_eq!(receivers_at(&mut r, H), [(10 * S, "pager".to_string())]);
}

#[test]
fn continue_tries_later_siblings() {
    let mut r = tree(true);
    r.update(0, &[alert(&[("alertname", "E"), ("severity", "critical"), ("service", "payments")], 0)]);
    assert_eq!(receivers_at(&mut r, H), [(10 * S, "pager".to_string()), (20 * S, "payments".to_string())]);
}

#[test]
fn unmatched_alerts_fall_back_to_the_parent_and_children_inherit() {
    let mut r = tree(false);
    r.update(
        0,
        &[alert(&[("alertname", "X"), ("service", "web")], 0), alert(&[("alertname", "Y"), ("service", "db")], 0)],
    );
    // Both reach `default` after the root's 20 s: one via the root, one via the db route's
    // child, which inherited both the receiver and group_wait; they are different groups.
    assert_eq!(receivers_at(&mut r, H), [(20 * S, "default".to_string()), (20 * S, "default".to_string())]);
}

fn inhibiting(equal: &[&str]) -> Router {
    let mut c =
        config(Route { group_by: Some(vec!["...".into()]), ..Route::to("team") }, vec![receiver("team", false)]);
    c.inhibit_rules.push(InhibitRule {
        source_matchers: vec![m("severity=critical")],
        target_matchers: vec![m("severity=warning")],
        equal: equal.iter().map(|s| s.to_string()).collect(),
    });
    Router::new(c)
}

#[test]
fn critical_inhibits_warning_with_the_same_service() {
    let mut r = inhibiting(&["service"]);
    let alerts = [
        alert(&[("alertname", "ErrorsHigh"), ("severity", "critical"), ("service", "api")], 0),
        alert(&[("alertname", "LatencyHigh"), ("severity", "warning"), ("service", "api")], 0),
        alert(&[("alertname", "LatencyHigh"), ("severity", "warning"), ("service", "db")], 0),
    ];
    r.update(0, &alerts);
    let out = r.poll(30 * S);
    let sent: Vec<(&str, &str)> = out
        .iter()
        .map(|n| (n.alerts[0].labels["alertname"].as_str(), n.alerts[0].labels["service"].as_str()))
        .collect();
    assert_eq!(sent, [("ErrorsHigh", "api"), ("LatencyHigh", "db")]);
    assert_eq!(r.suppressed(), SuppressionCounts { silenced: 0, inhibited: 1 });
    // Counted once, not at every tick.
    r.poll(H);
    assert_eq!(r.suppressed().inhibited, 1);

    // The critical resolves: the warning is no longer muted and goes out at its next tick.
    r.update(H + S, &alerts[1..]);
    let out = r.poll(H + 10 * M);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].alerts[0].labels["service"], "api");
    assert!(!out[0].repeat);
}

#[test]
fn an_alert_does_not_inhibit_itself() {
    let mut c = config(Route::to("team"), vec![receiver("team", false)]);
    c.inhibit_rules.push(InhibitRule {
        source_matchers: vec![m("alertname=~.+")],
        target_matchers: vec![m("alertname=~.+")],
        equal: vec![],
    });
    let mut r = Router::new(c);
    r.update(0, &[alert(&[("alertname", "A")], 0)]);
    assert_eq!(r.poll(30 * S).len(), 1);
    // Two alerts matching both sides do not mute each other either.
    let mut r2 = r.clone();
    r2.update(M, &[alert(&[("alertname", "A")], 0), alert(&[("alertname", "B")], M)]);
    assert_eq!(r2.poll(H)[0].alerts.len(), 2);
    assert_eq!(r2.suppressed().inhibited, 0);
}

#[test]
fn silences_mute_only_inside_their_window() {
    let mut c = config(Route::to("team"), vec![receiver("team", false)]);
    c.silences.push(Silence {
        matchers: vec![m("service=api")],
        starts_ms: 0,
        ends_ms: 10 * M,
        comment: "maintenance".into(),
    });
    let mut r = Router::new(c);
    r.update(0, &[alert(&[("alertname", "Down"), ("service", "api")], 0)]);
    assert!(r.poll(30 * S).is_empty());
    assert!(r.poll(5 * M + 30 * S).is_empty());
    assert_eq!(r.suppressed(), SuppressionCounts { silenced: 1, inhibited: 0 });
    // The silence ends at 10 min; the tick at 10m30s notifies, as a first notification.
    let out = r.poll(10 * M + 30 * S);
    assert_eq!(out.len(), 1);
    assert!(!out[0].repeat);
}

#[test]
fn resolved_alerts_are_listed_until_prometheus_stops_resending_them() {
    let mut r = simple(true);
    let a = alert(&[("alertname", "Down"), ("instance", "a")], 0);
    let b = alert(&[("alertname", "Down"), ("instance", "b")], 0);
    r.update(0, &[a.clone(), b.clone()]);
    assert_eq!(r.poll(30 * S).len(), 1);
    r.update(M, std::slice::from_ref(&a));
    let out = r.poll(30 * S + 5 * M);
    assert_eq!(out.len(), 1);
    assert_eq!(names(&out[0]), ["a:firing", "b:resolved"]);
    assert_eq!(out[0].alerts[1].ends_ms, Some(M));
    // Prometheus still re-sends b (resolved 9 min ago), so Alertmanager lists it again
    // beside a's resolution.
    r.update(8 * M, &[]);
    let out = r.poll(30 * S + 10 * M);
    assert_eq!(names(&out[0]), ["a:resolved", "b:resolved"]);
    assert_eq!(out[0].status(), AlertStatus::Resolved);
    // Both stay in the group, quiet, until 15 min after a resolved (8 min + 15 min).
    assert!(r.poll(30 * S + 20 * M).is_empty());
    assert_eq!(r.groups(), 1);
    assert!(r.poll(30 * S + 25 * M).is_empty());
    assert_eq!(r.groups(), 0);
    assert_eq!(r.next_wake(), None);
}

#[test]
fn without_send_resolved_a_shrinking_group_is_quiet() {
    let mut r = simple(false);
    let a = alert(&[("alertname", "Down"), ("instance", "a")], 0);
    let b = alert(&[("alertname", "Down"), ("instance", "b")], 0);
    r.update(0, &[a.clone(), b]);
    r.poll(30 * S);
    r.update(M, std::slice::from_ref(&a));
    assert!(r.poll(30 * S + 5 * M).is_empty(), "b resolved: nothing new to say");
    r.update(6 * M, &[]);
    assert!(r.poll(H).is_empty(), "all resolved: logged, but nothing sent");
    assert_eq!(r.groups(), 0);
    // The same alert firing again later is a first notification again.
    r.update(2 * H, std::slice::from_ref(&a));
    let out = r.poll(2 * H + 30 * S);
    assert_eq!(out.len(), 1);
    assert!(!out[0].repeat);
}

#[test]
fn an_alert_resolved_within_group_wait_is_never_sent() {
    let mut r = simple(true);
    r.update(0, &[alert(&[("alertname", "Blip")], 0)]);
    r.update(10 * S, &[]);
    assert!(r.poll(H).is_empty());
    assert_eq!(r.groups(), 0);
}

#[test]
fn an_old_alert_skips_group_wait() {
    let mut r = simple(false);
    r.update(10 * M, &[alert(&[("alertname", "Old")], 0)]);
    assert_eq!(r.next_wake(), Some(10 * M));
    assert_eq!(r.poll(10 * M).len(), 1);
}

#[test]
fn flushes_due_before_an_update_use_the_state_before_it() {
    let mut r = simple(false);
    r.update(0, &[alert(&[("alertname", "Down"), ("instance", "a")], 0)]);
    // The simulator forgot to poll at 30 s: the flush still happens at 30 s, with `a` only.
    r.update(
        40 * S,
        &[
            alert(&[("alertname", "Down"), ("instance", "a")], 0),
            alert(&[("alertname", "Down"), ("instance", "b")], 40 * S),
        ],
    );
    let out = r.poll(40 * S);
    assert_eq!((out.len(), out[0].t_ms), (1, 30 * S));
    assert_eq!(names(&out[0]), ["a:firing"]);
}

#[test]
fn rendering() {
    assert_eq!(format_offset(3_750_000), "+1h02m30s");
    assert_eq!(format_offset(125_000), "+2m05s");
    assert_eq!(format_offset(45_000), "+45s");
    assert_eq!(format_offset(1_250), "+1.250s");
    assert_eq!(format_offset(0), "+0s");
    assert_eq!(format_offset(-5_000), "-5s");

    let c = config(
        Route { group_by: Some(vec!["alertname".into()]), ..Route::to("team") },
        vec![Receiver::new("team", ReceiverKind::Slack { channel: "#production-alerts".into() }, true)],
    );
    let mut r = Router::new(c);
    let pair = [
        alert(
            &[("alertname", "HighErrorRate"), ("service", "api"), ("severity", "critical"), ("instance", "a")],
            3_720_000,
        ),
        alert(
            &[("alertname", "HighErrorRate"), ("service", "api"), ("severity", "critical"), ("instance", "b")],
            3_720_000,
        ),
    ];
    r.update(3_720_000, &pair);
    let n = &r.poll(4 * H)[0];
    assert_eq!(title(n), "[FIRING:2] HighErrorRate (api critical)");
    let slack = render(n);
    assert!(slack.starts_with("+1h02m30s #production-alerts  [FIRING:2] HighErrorRate (api critical)\n"), "{slack}");
    assert_eq!(slack.lines().count(), 3);
    assert!(slack.contains("\n  • [firing] HighErrorRate is bad — instance=a (since +1h02m00s)"), "{slack}");

    let mut n = n.clone();
    n.kind = ReceiverKind::Sms { to: "+15550100".into() };
    n.alerts[0].annotations.insert("summary".into(), "x".repeat(300));
    let sms = render(&n);
    assert!(sms.chars().count() <= 160 && !sms.contains('\n'), "{sms}");
    n.kind = ReceiverKind::Pager { service: "payments-oncall".into() };
    assert!(render(&n).starts_with("+1h02m30s PAGE payments-oncall [critical] HighErrorRate: "), "{}", render(&n));
    n.kind = ReceiverKind::Email { to: "oncall@example.com".into() };
    assert!(render(&n).contains("Subject: [FIRING:2] HighErrorRate (api critical)"));
    n.kind = ReceiverKind::Webhook { url: "http://hook".into() };
    assert!(render(&n).contains(r#""status":"firing""#));
    for a in &mut n.alerts {
        a.status = AlertStatus::Resolved;
        a.ends_ms = Some(4 * H);
    }
    assert!(title(&n).starts_with("[RESOLVED] HighErrorRate"));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Alert `i` of 8: alertname A/B, instance a/b, severity critical/warning.
    fn nth(i: usize) -> LabelSet {
        labels(&[
            ("alertname", ["A", "B"][i & 1]),
            ("instance", ["a", "b"][(i >> 1) & 1]),
            ("severity", ["critical", "warning"][(i >> 2) & 1]),
        ])
    }

    fn router() -> Router {
        let route = Route {
            group_by: Some(vec!["alertname".into()]),
            routes: vec![
                Route { matchers: vec![m("severity=critical")], continue_matching: true, ..Route::to("pager") },
                Route { matchers: vec![m("instance=a")], group_wait_ms: Some(10 * S), ..Route::default() },
            ],
            group_interval_ms: Some(2 * M),
            repeat_interval_ms: Some(30 * M),
            ..Route::to("team")
        };
        let mut c = config(route, vec![receiver("team", true), receiver("pager", false)]);
        c.inhibit_rules.push(InhibitRule {
            source_matchers: vec![m("severity=critical")],
            target_matchers: vec![m("severity=warning")],
            equal: vec!["alertname".into()],
        });
        c.silences.push(Silence {
            matchers: vec![m("instance=b")],
            starts_ms: 10 * M,
            ends_ms: 20 * M,
            comment: "".into(),
        });
        Router::new(c)
    }

    proptest! {
        #[test]
        fn notifications_respect_time_muting_and_state(steps in proptest::collection::vec((0i64..180_000, 0u8..=255, any::<bool>()), 1..60)) {
            let mut r = router();
            let mut t = 0;
            let mut history: Vec<(i64, Vec<LabelSet>)> = vec![(i64::MIN, vec![])];
            let mut last_poll = i64::MIN;
            let check = |out: Vec<Notification>, history: &[(i64, Vec<LabelSet>)], now: i64, last_poll: &mut i64| -> Result<(), TestCaseError> {
                for n in out {
                    prop_assert!(n.t_ms > *last_poll && n.t_ms <= now);
                    *last_poll = (*last_poll).max(n.t_ms - 1);
                    prop_assert!(!n.alerts.is_empty());
                    let state = &history.iter().rev().find(|(u, _)| *u <= n.t_ms).unwrap().1;
                    for a in &n.alerts {
                        let firing = a.status == AlertStatus::Firing;
                        prop_assert_eq!(firing, state.contains(&a.labels), "{:?} at {}", a, n.t_ms);
                        prop_assert!(!(a.labels["instance"] == "b" && (10 * M..20 * M).contains(&n.t_ms)), "silenced");
                        if a.labels["severity"] == "warning" {
                            let critical = state.iter().any(|s| s["severity"] == "critical" && s["alertname"] == a.labels["alertname"]);
                            prop_assert!(!critical, "inhibited {:?} at {}", a, n.t_ms);
                        }
                        if n.receiver == "pager" {
                            prop_assert!(firing && a.labels["severity"] == "critical");
                        }
                    }
                }
                Ok(())
            };
            for (dt, mask, poll) in steps {
                t += dt;
                let set: Vec<LabelSet> = (0..8).filter(|i| mask >> i & 1 == 1).map(nth).collect();
                let inputs: Vec<AlertInput> = set.iter().map(|l| AlertInput { labels: l.clone(), annotations: LabelSet::new(), starts_ms: t }).collect();
                r.update(t, &inputs);
                history.push((t, set));
                if poll {
                    let out = r.poll(t);
                    check(out, &history, t, &mut last_poll)?;
                    last_poll = t;
                    prop_assert!(r.next_wake().is_none_or(|w| w > t));
                }
            }
            r.update(t, &[]);
            history.push((t, vec![]));
            let out = r.poll(t + 24 * H);
            check(out, &history, t + 24 * H, &mut last_poll)?;
            prop_assert_eq!(r.groups(), 0);
            prop_assert_eq!(r.next_wake(), None);
        }
    }
}

/// Alertmanager's regexes are Go RE2, where `\d`, `\w`, `\s` and `\b` are ASCII-only.
#[test]
fn matcher_regex_classes_are_ascii_as_in_go_re2() {
    let v = |value: &str| labels(&[("x", value)]);
    assert!(!m(r#"x=~"\d""#).matches(&v("٣")), "Arabic-Indic digit three");
    assert!(m(r#"x=~"\d""#).matches(&v("3")));
    assert!(!m(r#"x=~"caf\w""#).matches(&v("café")));
    assert!(m(r#"x=~"caf\w""#).matches(&v("cafe")));
    assert!(m(r#"x=~"\D""#).matches(&v("٣")), "a non-ASCII digit is not \\d");
    assert!(m(r#"x=~"[\d]x""#).matches(&v("1x")));
    assert!(!m(r#"x=~"[\w-]+""#).matches(&v("é-é")));
    assert!(m(r#"x=~"[^\d]""#).matches(&v("٣")));
    assert!(m(r#"x=~"a\sb""#).matches(&v("a b")));
    assert!(!m(r#"x=~"a\sb""#).matches(&v("a\u{a0}b")), "no-break space is not RE2 \\s");
    assert!(m(r#"x=~"\\\\d""#).matches(&v("\\d")), "an escaped backslash stays literal");
    assert!(!m(r#"x=~".*\bé""#).matches(&v("a é")), "no ASCII word boundary between a space and é");
    assert!(m(r#"x=~"a\b.*""#).matches(&v("a é")));
}

/// Alertmanager unescapes only `\n`, `\"` and `\\` in a matcher value; `\t` keeps its
/// backslash.
#[test]
fn matcher_values_unescape_only_newline_quote_and_backslash() {
    assert_eq!(m(r#"x="a\tb""#).value, "a\\tb");
    assert_eq!(m(r#"x="a\nb""#).value, "a\nb");
    assert_eq!(m(r#"x="a\\b\"c""#).value, "a\\b\"c");
}

#[test]
fn runbook_and_dashboard_links_appear_in_every_channel() {
    use super::config::ReceiverKind;
    use super::group::{AlertStatus, Notification, NotifiedAlert};
    use super::render::render;
    let alert = NotifiedAlert {
        labels: [("alertname", "HighErrorRate"), ("severity", "page")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        annotations: [
            ("summary", "Errors above 1%"),
            ("runbook_url", "https://runbooks.example/high-error-rate"),
            ("dashboard_url", "https://grafana.example/d/shop"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        status: AlertStatus::Firing,
        starts_ms: 60_000,
        ends_ms: None,
    };
    let kinds = [
        ReceiverKind::Slack { channel: "#ops".into() },
        ReceiverKind::Email { to: "ops@example.com".into() },
        ReceiverKind::Pager { service: "shop".into() },
        ReceiverKind::Webhook { url: "https://hooks.example/".into() },
    ];
    for kind in kinds {
        let n = Notification {
            t_ms: 120_000,
            receiver: "r".into(),
            kind: kind.clone(),
            group_labels: Default::default(),
            alerts: vec![alert.clone()],
            repeat: false,
            delivery: Delivery::Delivered,
            origin: Origin::Alert,
        };
        let text = render(&n);
        assert!(text.contains("https://runbooks.example/high-error-rate"), "{kind:?}: {text}");
        assert!(text.contains("https://grafana.example/d/shop"), "{kind:?}: {text}");
    }
    let sms = Notification {
        t_ms: 120_000,
        receiver: "r".into(),
        kind: ReceiverKind::Sms { to: "+15550100".into() },
        group_labels: Default::default(),
        alerts: vec![alert],
        repeat: false,
        delivery: Delivery::Delivered,
        origin: Origin::Alert,
    };
    let text = render(&sms);
    assert!(text.contains("https://runbooks.example/high-error-rate") && text.chars().count() <= 160, "{text}");
}

#[test]
fn an_alert_that_resolves_during_a_silence_is_notified_resolved_when_it_ends() {
    let mut r = simple(true);
    let down = alert(&[("alertname", "Down"), ("instance", "a")], 0);
    r.update(0, std::slice::from_ref(&down));
    assert_eq!(r.poll(30 * S).len(), 1, "firing before the silence");
    r.add_silence(Silence {
        matchers: vec![m(r#"alertname="Down""#)],
        starts_ms: M,
        ends_ms: 8 * M,
        comment: String::new(),
    });
    r.update(2 * M, &[]);
    assert!(r.poll(30 * S + 5 * M).is_empty(), "muted while the silence holds");
    let out = r.poll(30 * S + 10 * M);
    assert_eq!(out.len(), 1, "the resolved notice once the silence ended");
    assert_eq!(names(&out[0]), ["a:resolved"]);
    assert_eq!(out[0].alerts[0].ends_ms, Some(2 * M));
    assert!(r.poll(H).is_empty());
    assert_eq!(r.groups(), 0);
}

#[test]
fn a_silence_outlasting_the_resend_window_never_sends_the_resolved_notice() {
    let mut r = simple(true);
    r.update(0, &[alert(&[("alertname", "Down"), ("instance", "a")], 0)]);
    assert_eq!(r.poll(30 * S).len(), 1);
    r.add_silence(Silence {
        matchers: vec![m(r#"alertname="Down""#)],
        starts_ms: M,
        ends_ms: H,
        comment: String::new(),
    });
    r.update(2 * M, &[]);
    assert!(r.poll(2 * H).is_empty(), "Prometheus stopped re-sending it before the silence ended");
    assert_eq!(r.groups(), 0);
}
