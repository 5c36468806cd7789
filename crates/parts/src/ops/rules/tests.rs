//! promtool-style `alert_rule_test`s: series in `input_series` notation, rules evaluated
//! every interval, alert states checked at times.

use std::collections::BTreeMap;

use super::*;
use crate::ops::promql::parse;
use crate::ops::promql::testutil::{MIN, check, labels as series, load};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn alert(name: &str, expr: &str, for_ms: i64, keep_firing_for_ms: i64) -> AlertRule {
    AlertRule {
        name: name.into(),
        expr: parse(expr).unwrap(),
        for_ms,
        keep_firing_for_ms,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

/// Evaluates every minute from `*next` up to `t_ms` included.
fn run_to(engine: &mut RuleEngine, db: &mut Tsdb, next: &mut i64, t_ms: i64) {
    while *next <= t_ms {
        engine.evaluate(*next, db).unwrap();
        *next += MIN;
    }
}

/// The active alerts as (labels in series notation, state).
#[track_caller]
fn expect(engine: &RuleEngine, want: &[(&str, AlertState)]) {
    let got: Vec<(BTreeMap<String, String>, AlertState)> =
        engine.active().iter().map(|a| (a.labels.clone(), a.state)).collect();
    let mut want: Vec<(BTreeMap<String, String>, AlertState)> =
        want.iter().map(|(l, s)| (series(l).into_iter().collect(), *s)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
}

#[test]
fn pending_firing_resolved_and_a_pending_that_goes_away() {
    let mut db = load(MIN, &[(r#"up{job="api", instance="a"}"#, "1 1 0 0 0 0 1 1 0 1")]);
    let mut rule = alert("InstanceDown", "up == 0", 2 * MIN, 0);
    rule.labels = map(&[("severity", "page")]);
    rule.annotations = map(&[("summary", "{{ $labels.instance }} of {{ $labels.job }} is down ({{ $value }})")]);
    let mut engine = RuleEngine::new(vec![Rule::Alert(rule)]);
    let labels = r#"{alertname="InstanceDown", instance="a", job="api", severity="page"}"#;
    let mut next = 0;
    run_to(&mut engine, &mut db, &mut next, MIN);
    expect(&engine, &[]);
    run_to(&mut engine, &mut db, &mut next, 2 * MIN);
    expect(&engine, &[(labels, AlertState::Pending)]);
    let pending = r#"ALERTS{alertname="InstanceDown", alertstate="pending", instance="a", job="api", severity="page"}"#;
    check(&db, "ALERTS", 2 * MIN, &[(pending, 1.0)]);
    run_to(&mut engine, &mut db, &mut next, 3 * MIN);
    expect(&engine, &[(labels, AlertState::Pending)]);
    run_to(&mut engine, &mut db, &mut next, 4 * MIN);
    expect(&engine, &[(labels, AlertState::Firing)]);
    let a = &engine.active()[0];
    assert_eq!((a.active_at_ms, a.fired_at_ms, a.value), (2 * MIN, Some(4 * MIN), 0.0));
    assert_eq!(a.annotations["summary"], "a of api is down (0)");
    // The ALERTS series follows the state; the pending one went stale at 4m.
    let alerts = r#"ALERTS{alertname="InstanceDown", alertstate="firing", instance="a", job="api", severity="page"}"#;
    check(&db, "ALERTS", 4 * MIN, &[(alerts, 1.0)]);
    run_to(&mut engine, &mut db, &mut next, 6 * MIN);
    expect(&engine, &[]);
    check(&db, "ALERTS", 6 * MIN, &[]);
    run_to(&mut engine, &mut db, &mut next, 8 * MIN);
    expect(&engine, &[(labels, AlertState::Pending)]);
    run_to(&mut engine, &mut db, &mut next, 9 * MIN);
    expect(&engine, &[]);
    let l = series(labels).into_iter().collect::<BTreeMap<_, _>>();
    assert_eq!(
        engine.episodes(),
        &[
            Episode {
                rule: 0,
                labels: l.clone(),
                pending_ms: 2 * MIN,
                firing_ms: Some(4 * MIN),
                resolved_ms: Some(6 * MIN)
            },
            Episode { rule: 0, labels: l, pending_ms: 8 * MIN, firing_ms: None, resolved_ms: Some(9 * MIN) },
        ]
    );
}

#[test]
fn keep_firing_for_holds_a_resolved_alert() {
    // Down at 2-3m, up at 4m, down again at 5m, up from 6m.
    let mut db = load(MIN, &[(r#"up{instance="a"}"#, "1 1 0 0 1 0 1 1 1 1")]);
    let rule = alert("Down", "up == 0", 0, 2 * MIN);
    let mut engine = RuleEngine::new(vec![Rule::Alert(rule)]);
    let labels = r#"{alertname="Down", instance="a"}"#;
    let mut next = 0;
    // `for: 0` fires at the first evaluation.
    run_to(&mut engine, &mut db, &mut next, 2 * MIN);
    expect(&engine, &[(labels, AlertState::Firing)]);
    // Up at 4m: kept firing; down again at 5m resets the clock; up from 6m: kept at 6m
    // and 7m (less than 2m), resolved at 8m.
    for t in 3..=7 {
        run_to(&mut engine, &mut db, &mut next, t * MIN);
        expect(&engine, &[(labels, AlertState::Firing)]);
    }
    run_to(&mut engine, &mut db, &mut next, 8 * MIN);
    expect(&engine, &[]);
    let e = engine.episodes();
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].pending_ms, e[0].firing_ms, e[0].resolved_ms), (2 * MIN, Some(2 * MIN), Some(8 * MIN)));
}

#[test]
fn recording_rule_feeds_an_alert_and_goes_stale() {
    let mut db = load(
        MIN,
        &[
            (r#"errors_total{job="api"}"#, "0+20x30"),
            (r#"requests_total{job="api"}"#, "0+1000x30"),
            (r#"src{job="x"}"#, "1 1 1"),
        ],
    );
    let record = |name: &str, expr: &str| {
        Rule::Record(RecordingRule { record: name.into(), expr: parse(expr).unwrap(), labels: map(&[("team", "web")]) })
    };
    let mut high = alert("HighErrorRatio", "job:error_ratio:rate5m > 0.01", 0, 0);
    high.annotations = map(&[("summary", "{{ $labels.job }} errors at {{ $value | humanizePercentage }}")]);
    let mut engine = RuleEngine::new(vec![
        record(
            "job:error_ratio:rate5m",
            "sum by (job) (rate(errors_total[5m])) / sum by (job) (rate(requests_total[5m]))",
        ),
        record("copy", "src"),
        Rule::Alert(high),
    ]);
    let mut next = 0;
    // At 0 a rate needs two samples: nothing recorded, nothing active.
    run_to(&mut engine, &mut db, &mut next, 0);
    expect(&engine, &[]);
    // At 1m: 20 / 1000 errors (the zero point stops extrapolation on both): 2%, and the
    // alert (evaluated after the rule, in the same round) fires at once.
    run_to(&mut engine, &mut db, &mut next, MIN);
    let labels = r#"{alertname="HighErrorRatio", job="api", team="web"}"#;
    expect(&engine, &[(labels, AlertState::Firing)]);
    run_to(&mut engine, &mut db, &mut next, 10 * MIN);
    let a = &engine.active()[0];
    assert_eq!((a.fired_at_ms, a.annotations["summary"].as_str()), (Some(MIN), "api errors at 2%"));
    check(&db, "job:error_ratio:rate5m", 10 * MIN, &[(r#"job:error_ratio:rate5m{job="api", team="web"}"#, 0.02)]);
    // src's last sample (2m) leaves the lookback at 7m: the recorded copy is marked stale
    // then, though its own last sample (6m) is recent.
    check(&db, "copy", 6 * MIN, &[(r#"copy{job="x", team="web"}"#, 1.0)]);
    check(&db, "copy", 7 * MIN, &[]);
}

#[test]
fn multiwindow_burn_rate_alert() {
    let mut db = load(MIN, &[("requests_total", "0+1000x120"), ("errors_total", "0+20x60 1201+1x59")]);
    let expr = "(sum(rate(errors_total[1h])) / sum(rate(requests_total[1h])) > 14.4 * 0.001) \
                and (sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 14.4 * 0.001)";
    let mut rule = alert("ErrorBudgetBurn", expr, 2 * MIN, 0);
    rule.labels = map(&[("severity", "page"), ("window", "1h")]);
    let mut engine = RuleEngine::new(vec![Rule::Alert(rule)]);
    let mut next = 0;
    run_to(&mut engine, &mut db, &mut next, 61 * MIN);
    // At 61m the 5m window still holds 57m..61m: 61 errors in 4000 requests (1.525%).
    let labels = r#"{alertname="ErrorBudgetBurn", severity="page", window="1h"}"#;
    expect(&engine, &[(labels, AlertState::Firing)]);
    // At 62m: 42 in 4000 (1.05%): resolved although the 1h window still burns.
    run_to(&mut engine, &mut db, &mut next, 62 * MIN);
    expect(&engine, &[]);
    let e = engine.episodes();
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].pending_ms, e[0].firing_ms, e[0].resolved_ms), (MIN, Some(3 * MIN), Some(62 * MIN)));
}

#[test]
fn a_failing_rule_does_not_stop_the_others() {
    let mut db = load(MIN, &[(r#"a{job="x"}"#, "1"), (r#"b{job="x"}"#, "1")]);
    let mut engine = RuleEngine::new(vec![
        Rule::Alert(alert("Dup", r#"{__name__=~"a|b"}"#, 0, 0)),
        Rule::Alert(alert("Fine", "a", 0, 0)),
    ]);
    let err = engine.evaluate(0, &mut db).unwrap_err();
    assert!(matches!(err, EvalError::DuplicateRuleLabelset { .. }), "{err}");
    assert_eq!((engine.errors(0), engine.errors(1)), (1, 0));
    assert!(engine.last_error(0).is_some());
    expect(&engine, &[(r#"{alertname="Fine", job="x"}"#, AlertState::Firing)]);
}

#[test]
fn a_scalar_recording_rule_records_one_series() {
    let mut db = Tsdb::new();
    let rule = RecordingRule {
        record: "sim_time_seconds".into(),
        expr: parse("time() * 2").unwrap(),
        labels: map(&[("source", "sim")]),
    };
    let mut engine = RuleEngine::new(vec![Rule::Record(rule)]);
    engine.evaluate(MIN, &mut db).unwrap();
    engine.evaluate(2 * MIN, &mut db).unwrap();
    check(&db, "sim_time_seconds", 2 * MIN, &[(r#"sim_time_seconds{source="sim"}"#, 240.0)]);
    check(&db, "count_over_time(sim_time_seconds[5m])", 2 * MIN, &[(r#"{source="sim"}"#, 2.0)]);
    assert_eq!(engine.rules()[0].expr().text(), "time() * 2");
}

/// Prometheus expands rule templates with `missingkey=zero`: a missing label is "", so a
/// label templated from it is dropped and an annotation gets nothing (not `<no value>`).
#[test]
fn a_missing_label_in_a_template_renders_empty_and_drops_the_label() {
    let mut db = load(MIN, &[(r#"up{job="api", instance="a"}"#, "0")]);
    let mut rule = alert("Down", "up == 0", 0, 0);
    rule.labels = map(&[("team", "{{ $labels.team }}"), ("owner", "x{{ $labels.owner }}")]);
    rule.annotations = map(&[("summary", "team [{{ $labels.team }}]")]);
    let mut engine = RuleEngine::new(vec![Rule::Alert(rule)]);
    engine.evaluate(0, &mut db).unwrap();
    expect(&engine, &[(r#"{alertname="Down", instance="a", job="api", owner="x"}"#, AlertState::Firing)]);
    assert_eq!(engine.active()[0].annotations.get("summary").map(String::as_str), Some("team []"));
}
