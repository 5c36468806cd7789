//! promtool-style tests of the evaluator: series loaded in `input_series` notation,
//! expressions checked at times with values computed by hand from Prometheus's rules.

use super::testutil::{MIN, check, check_scalar, load};
use super::{EvalError, PromqlError, eval, parse};

const S: i64 = 1000;

#[test]
fn rate_and_increase_handle_a_counter_reset() {
    // 0..100 over 10m, then the process restarts: 0..100 again from 11m.
    let db = load(MIN, &[(r#"http_requests_total{job="api"}"#, "0+10x10 0+10x10")]);
    // (15m, 20m]: 50 60 70 80 90 at 16..20m: +40 over 240s; the first sample is 60s from
    // the start (< 1.1 x 60s) so extrapolate all of it (zero point 300s away is further);
    // factor (240 + 60 + 0) / 240 = 1.25: increase 50, rate 50 / 300s.
    check(&db, "increase(http_requests_total[5m])", 20 * MIN, &[(r#"{job="api"}"#, 50.0)]);
    check(&db, "rate(http_requests_total[5m])", 20 * MIN, &[(r#"{job="api"}"#, 50.0 / 300.0)]);
    // (8m, 13m]: 90 100 | 0 10 20: (20 - 90) + 100 (the reset) = 30, x 1.25 = 37.5.
    check(&db, "increase(http_requests_total[5m])", 13 * MIN, &[(r#"{job="api"}"#, 37.5)]);
    check(&db, "rate(http_requests_total[5m])", 13 * MIN, &[(r#"{job="api"}"#, 0.125)]);
    check(&db, "resets(http_requests_total[5m])", 13 * MIN, &[(r#"{job="api"}"#, 1.0)]);
}

#[test]
fn increase_extrapolation_is_limited() {
    let db = load(MIN, &[("a", "_ _ 10 20 30"), ("b", "_ _ 1 11 21"), ("g", "10 5 8")]);
    // (-1m, 4m]: 10 20 30 at 2..4m: +20 over 120s. The start is 180s away (>= 66s), so
    // extrapolate only half an interval (30s); the zero point (60s back) is further.
    // (120 + 30) / 120 = 1.25 -> 25.
    check(&db, "increase(a[5m])", 4 * MIN, &[("{}", 25.0)]);
    // Same, but the zero point is 120 x 1/20 = 6s back: (120 + 6) / 120 x 20 = 21.
    check(&db, "increase(b[5m])", 4 * MIN, &[("{}", 21.0)]);
    // (0, 5m]: the end is 60s after the last sample (< 66s): extrapolated fully.
    // (120 + 30 + 60) / 120 x 20 = 35.
    check(&db, "increase(a[5m])", 5 * MIN, &[("{}", 35.0)]);
    // delta on a gauge: 8 - 10 = -2, start 180s away -> 30s: x 1.25 = -2.5.
    check(&db, "delta(g[5m])", 2 * MIN, &[("{}", -2.5)]);
    // One sample is not enough for a rate.
    check(&db, "rate(a[5m])", 2 * MIN, &[]);
}

#[test]
fn irate_and_idelta_use_the_last_two_samples() {
    let db = load(MIN, &[("c", "0 10 30 5")]);
    check(&db, "irate(c[5m])", 2 * MIN, &[("{}", 20.0 / 60.0)]);
    // 30 -> 5 is a reset: the increase is 5.
    check(&db, "irate(c[5m])", 3 * MIN, &[("{}", 5.0 / 60.0)]);
    check(&db, "idelta(c[5m])", 3 * MIN, &[("{}", -25.0)]);
}

#[test]
fn over_time_functions() {
    let db = load(MIN, &[(r#"g{job="x"}"#, "1 5 3 7 2")]);
    let t = 4 * MIN;
    check(&db, "avg_over_time(g[5m])", t, &[(r#"{job="x"}"#, 3.6)]);
    check(&db, "min_over_time(g[5m])", t, &[(r#"{job="x"}"#, 1.0)]);
    check(&db, "max_over_time(g[5m])", t, &[(r#"{job="x"}"#, 7.0)]);
    check(&db, "sum_over_time(g[5m])", t, &[(r#"{job="x"}"#, 18.0)]);
    check(&db, "count_over_time(g[5m])", t, &[(r#"{job="x"}"#, 5.0)]);
    // last_over_time keeps the metric name.
    check(&db, "last_over_time(g[5m])", t, &[(r#"g{job="x"}"#, 2.0)]);
    // Sorted 1 2 3 5 7: rank 0.5 x 4 = 2 -> 3; rank 0.9 x 4 = 3.6 -> 5 x 0.4 + 7 x 0.6.
    check(&db, "quantile_over_time(0.5, g[5m])", t, &[(r#"{job="x"}"#, 3.0)]);
    check(&db, "quantile_over_time(0.9, g[5m])", t, &[(r#"{job="x"}"#, 6.2)]);
    // Mean 3.6, squared deviations sum to 23.2: population variance 4.64.
    check(&db, "stdvar_over_time(g[5m])", t, &[(r#"{job="x"}"#, 4.64)]);
    check(&db, "stddev_over_time(g[5m])", t, &[(r#"{job="x"}"#, 4.64f64.sqrt())]);
    check(&db, "changes(g[5m])", t, &[(r#"{job="x"}"#, 4.0)]);
    // (1m, 4m] holds 3 7 2.
    check(&db, "avg_over_time(g[3m])", t, &[(r#"{job="x"}"#, 4.0)]);
    // offset 1m: (0, 3m] holds 5 3 7.
    check(&db, "avg_over_time(g[3m] offset 1m)", t, &[(r#"{job="x"}"#, 5.0)]);
    check(&db, "g offset 1m", t, &[(r#"g{job="x"}"#, 7.0)]);
    // A straight line 60..100 over 6m..10m: 10 per minute; 600s past 10m it reaches 200.
    let line = load(MIN, &[("disk_used", "0+10x10")]);
    check(&line, "deriv(disk_used[5m])", 10 * MIN, &[("{}", 10.0 / 60.0)]);
    check(&line, "predict_linear(disk_used[5m], 600)", 10 * MIN, &[("{}", 200.0)]);
    check(&db, "deriv(g[1m])", t, &[]);
}

fn histogram() -> crate::ops::tsdb::Tsdb {
    load(
        MIN,
        &[
            (r#"req_bucket{job="api", le="0.1"}"#, "0+50x10"),
            (r#"req_bucket{job="api", le="0.5"}"#, "0+80x10"),
            (r#"req_bucket{job="api", le="1"}"#, "0+90x10"),
            (r#"req_bucket{job="api", le="+Inf"}"#, "0+100x10"),
            (r#"nolimit_bucket{le="1"}"#, "0+100x10"),
        ],
    )
}

#[test]
fn histogram_quantile_interpolates_linearly() {
    let db = histogram();
    let t = 10 * MIN; // counts 500 800 900 1000
    // rank 900 falls in (0.5, 1]: 0.5 + 0.5 x (900 - 800) / 100 = 1.
    check(&db, "histogram_quantile(0.9, req_bucket)", t, &[(r#"{job="api"}"#, 1.0)]);
    // rank 500 is the whole first bucket: 0 + 0.1 x 500/500.
    check(&db, "histogram_quantile(0.5, req_bucket)", t, &[(r#"{job="api"}"#, 0.1)]);
    // rank 750: 0.1 + 0.4 x 250 / 300.
    check(&db, "histogram_quantile(0.75, req_bucket)", t, &[(r#"{job="api"}"#, 0.1 + 0.4 * 250.0 / 300.0)]);
    // rank 990 lands in the +Inf bucket: the highest finite bound.
    check(&db, "histogram_quantile(0.99, req_bucket)", t, &[(r#"{job="api"}"#, 1.0)]);
    check(&db, "histogram_quantile(1.5, req_bucket)", t, &[(r#"{job="api"}"#, f64::INFINITY)]);
    // Rates are proportional, so the quantile is the same.
    check(&db, "histogram_quantile(0.9, sum by (job, le) (rate(req_bucket[5m])))", t, &[(r#"{job="api"}"#, 1.0)]);
    // No +Inf bucket: NaN.
    check(&db, "histogram_quantile(0.9, nolimit_bucket)", t, &[("{}", f64::NAN)]);
}

fn requests() -> crate::ops::tsdb::Tsdb {
    load(
        MIN,
        &[
            (r#"http_requests_total{job="api", instance="a", code="200"}"#, "10"),
            (r#"http_requests_total{job="api", instance="b", code="200"}"#, "20"),
            (r#"http_requests_total{job="api", instance="a", code="500"}"#, "1"),
            (r#"http_requests_total{job="db", instance="c", code="200"}"#, "5"),
        ],
    )
}

#[test]
fn aggregations_by_and_without() {
    let db = requests();
    let m = "http_requests_total";
    check(&db, &format!("sum by (job) ({m})"), 0, &[(r#"{job="api"}"#, 31.0), (r#"{job="db"}"#, 5.0)]);
    check(
        &db,
        &format!("sum without (instance) ({m})"),
        0,
        &[
            (r#"{job="api", code="200"}"#, 30.0),
            (r#"{job="api", code="500"}"#, 1.0),
            (r#"{job="db", code="200"}"#, 5.0),
        ],
    );
    check(&db, &format!("sum({m})"), 0, &[("{}", 36.0)]);
    check(&db, &format!("avg by (job) ({m})"), 0, &[(r#"{job="api"}"#, 31.0 / 3.0), (r#"{job="db"}"#, 5.0)]);
    check(&db, &format!("count({m})"), 0, &[("{}", 4.0)]);
    check(&db, &format!("max by (code) ({m})"), 0, &[(r#"{code="200"}"#, 20.0), (r#"{code="500"}"#, 1.0)]);
    check(&db, &format!("min({m})"), 0, &[("{}", 1.0)]);
    // Sorted 1 5 10 20: rank 1.5 -> 7.5.
    check(&db, &format!("quantile(0.5, {m})"), 0, &[("{}", 7.5)]);
    check(
        &db,
        &format!("topk(2, {m})"),
        0,
        &[
            (r#"http_requests_total{job="api", instance="b", code="200"}"#, 20.0),
            (r#"http_requests_total{job="api", instance="a", code="200"}"#, 10.0),
        ],
    );
    check(
        &db,
        &format!("bottomk by (job) (1, {m})"),
        0,
        &[
            (r#"http_requests_total{job="api", instance="a", code="500"}"#, 1.0),
            (r#"http_requests_total{job="db", instance="c", code="200"}"#, 5.0),
        ],
    );
    check(&db, &format!("count by (job) ({m}{{code=~\"5..\"}})"), 0, &[(r#"{job="api"}"#, 1.0)]);
    check(&db, &format!("count({m}{{code!~\"2..\", instance!=\"b\"}})"), 0, &[("{}", 1.0)]);
}

fn ratios() -> crate::ops::tsdb::Tsdb {
    load(
        MIN,
        &[
            (r#"errors{job="api", instance="a"}"#, "2"),
            (r#"errors{job="api", instance="b"}"#, "4"),
            (r#"total{job="api", instance="a"}"#, "10"),
            (r#"total{job="api", instance="b"}"#, "40"),
        ],
    )
}

#[test]
fn vector_matching() {
    let db = ratios();
    let (a, b) = (r#"{job="api", instance="a"}"#, r#"{job="api", instance="b"}"#);
    check(&db, "errors / total", 0, &[(a, 0.2), (b, 0.1)]);
    check(&db, "errors / on(instance) total", 0, &[(r#"{instance="a"}"#, 0.2), (r#"{instance="b"}"#, 0.1)]);
    check(&db, "errors / ignoring(job) total", 0, &[(r#"{instance="a"}"#, 0.2), (r#"{instance="b"}"#, 0.1)]);
    check(&db, "errors / on(job) group_left sum by (job) (total)", 0, &[(a, 0.04), (b, 0.08)]);
    check(&db, "sum by (job) (total) / on(job) group_right errors", 0, &[(a, 25.0), (b, 12.5)]);
    let e = parse("errors / on(job) sum by (job) (total)").unwrap();
    assert!(matches!(eval(&e, &db, 0), Err(EvalError::ManyToOneNotExplicit { .. })));
    let e = parse("sum by (job) (total) / on(job) errors").unwrap();
    assert!(matches!(eval(&e, &db, 0), Err(EvalError::DuplicateMatch { side: "right", .. })));
    check(&db, "-errors", 0, &[(a, -2.0), (b, -4.0)]);
    // group_left(version) copies the label from the "one" side.
    let db2 =
        load(MIN, &[(r#"errors{job="api", instance="a"}"#, "2"), (r#"build_info{job="api", version="1.2"}"#, "1")]);
    check(
        &db2,
        "errors * on(job) group_left(version) build_info",
        0,
        &[(r#"{job="api", instance="a", version="1.2"}"#, 2.0)],
    );
    check(&db, "errors * 2 + 1", 0, &[(a, 5.0), (b, 9.0)]);
    check(&db, "100 / errors", 0, &[(a, 50.0), (b, 25.0)]);
}

#[test]
fn comparisons_filter_or_return_bool() {
    let db = ratios();
    let (a, b) = (r#"{job="api", instance="a"}"#, r#"{job="api", instance="b"}"#);
    check(&db, "errors > 3", 0, &[(r#"errors{job="api", instance="b"}"#, 4.0)]);
    check(&db, "3 < errors", 0, &[(r#"errors{job="api", instance="b"}"#, 4.0)]);
    check(&db, "errors > bool 3", 0, &[(a, 0.0), (b, 1.0)]);
    check(&db, "errors > total", 0, &[]);
    check(
        &db,
        "total > errors",
        0,
        &[(r#"total{job="api", instance="a"}"#, 10.0), (r#"total{job="api", instance="b"}"#, 40.0)],
    );
    check(&db, "total / errors == bool 10", 0, &[(a, 0.0), (b, 1.0)]);
    check_scalar(&db, "1 + 2 * 3", 0, 7.0);
    check_scalar(&db, "2 ^ 3 ^ 2", 0, 512.0);
    check_scalar(&db, "5 % 3", 0, 2.0);
    check_scalar(&db, "1 / 0", 0, f64::INFINITY);
    check_scalar(&db, "-1 / 0", 0, f64::NEG_INFINITY);
    check_scalar(&db, "0 / 0", 0, f64::NAN);
    check_scalar(&db, "1 > bool 2", 0, 0.0);
    check_scalar(&db, "(1 + 1) * -2", 0, -4.0);
}

#[test]
fn set_operators() {
    let db = ratios();
    check(&db, r#"errors and on(instance) total{instance="a"}"#, 0, &[(r#"errors{job="api", instance="a"}"#, 2.0)]);
    check(&db, r#"errors unless on(instance) total{instance="a"}"#, 0, &[(r#"errors{job="api", instance="b"}"#, 4.0)]);
    check(
        &db,
        r#"errors{instance="a"} or total"#,
        0,
        &[(r#"errors{job="api", instance="a"}"#, 2.0), (r#"total{job="api", instance="b"}"#, 40.0)],
    );
    check(&db, "errors and nothing", 0, &[]);
    check(&db, "errors unless ignoring(instance) total", 0, &[]);
    check(
        &db,
        "errors and ignoring(instance) sum by (job) (total)",
        0,
        &[(r#"errors{job="api", instance="a"}"#, 2.0), (r#"errors{job="api", instance="b"}"#, 4.0)],
    );
    check(&db, "nothing or vector(1)", 0, &[("{}", 1.0)]);
}

#[test]
fn absent_and_scalar_functions() {
    let db = ratios();
    check(&db, r#"absent(nothing{job="x", instance=~".+"})"#, 0, &[(r#"{job="x"}"#, 1.0)]);
    check(&db, "absent(errors)", 0, &[]);
    check(&db, "absent(sum(nothing))", 0, &[("{}", 1.0)]);
    check(&db, r#"absent_over_time(nothing{job="x"}[5m])"#, 0, &[(r#"{job="x"}"#, 1.0)]);
    check(&db, "absent_over_time(errors[5m])", 0, &[]);
    check_scalar(&db, "time()", 90 * S, 90.0);
    check_scalar(&db, "scalar(sum(errors))", 0, 6.0);
    check_scalar(&db, "scalar(errors)", 0, f64::NAN);
    check(&db, "vector(1)", 0, &[("{}", 1.0)]);
    let (a, b) = (r#"{job="api", instance="a"}"#, r#"{job="api", instance="b"}"#);
    check(&db, "clamp_max(errors, 3)", 0, &[(a, 2.0), (b, 3.0)]);
    check(&db, "clamp_min(errors, 3)", 0, &[(a, 3.0), (b, 4.0)]);
    check(&db, "abs(-errors)", 0, &[(a, 2.0), (b, 4.0)]);
    check(&db, "sgn(errors - 3)", 0, &[(a, -1.0), (b, 1.0)]);
    check(&db, "round(errors / 3)", 0, &[(a, 1.0), (b, 1.0)]);
    check(&db, "round(errors / 3, 0.5)", 0, &[(a, 0.5), (b, 1.5)]);
}

#[test]
fn staleness_and_lookback() {
    let db = load(MIN, &[(r#"up{job="a"}"#, "1 1 stale"), (r#"up{job="b"}"#, "1 1"), (r#"up{job="c"}"#, "1 stale 3")]);
    let (a, b, c) = (r#"up{job="a"}"#, r#"up{job="b"}"#, r#"up{job="c"}"#);
    check(&db, "up", 90 * S, &[(a, 1.0), (b, 1.0)]);
    // At 2m, a is stale and c is back.
    check(&db, "up", 2 * MIN, &[(b, 1.0), (c, 3.0)]);
    // The lookback window is (t - 5m, t]: b's last sample at 1m is gone at 6m.
    check(&db, "up", 6 * MIN - 1, &[(b, 1.0), (c, 3.0)]);
    check(&db, "up", 6 * MIN, &[(c, 3.0)]);
    // Range selectors skip stale markers.
    check(&db, r#"count_over_time(up{job="a"}[5m])"#, 4 * MIN, &[(r#"{job="a"}"#, 2.0)]);
}

#[test]
fn multiwindow_multi_burn_rate_slo_alert() {
    // 1000 requests a minute; 2% errors for the first hour, then 1 error a minute (0.1%).
    let db = load(MIN, &[("requests_total", "0+1000x120"), ("errors_total", "0+20x60 1201+1x59")]);
    let expr = "(sum(rate(errors_total[1h])) / sum(rate(requests_total[1h])) > 14.4 * 0.001) \
                and (sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 14.4 * 0.001)";
    // Both windows burn at 2% (the extrapolation factors cancel): 0.02 > 0.0144.
    check(&db, expr, 60 * MIN, &[("{}", 0.02)]);
    // At 65m the long window still burns (errors 120 -> 1205 against requests 6000 ->
    // 65000: 1085 / 59000 = 1.8%) but the short one has recovered (4 / 4000): no alert.
    check(&db, "sum(rate(errors_total[1h])) / sum(rate(requests_total[1h]))", 65 * MIN, &[("{}", 1085.0 / 59000.0)]);
    check(&db, expr, 65 * MIN, &[]);
}

#[test]
fn dropping_the_name_must_not_merge_series() {
    let db = load(MIN, &[(r#"x{job="a"}"#, "1 2"), (r#"y{job="a"}"#, "1 2")]);
    let e = parse(r#"rate({__name__=~"x|y"}[5m])"#).unwrap();
    assert!(matches!(eval(&e, &db, MIN), Err(EvalError::DuplicateLabelset { .. })));
    // last_over_time keeps the name, so there is no clash.
    check(&db, r#"last_over_time({__name__=~"x|y"}[5m])"#, MIN, &[(r#"x{job="a"}"#, 2.0), (r#"y{job="a"}"#, 2.0)]);
}

#[test]
fn parse_rejects_unsupported_parts() {
    let unsupported = |text: &str, needle: &str| match parse(text) {
        Err(PromqlError::Unsupported { message, .. }) => {
            assert!(message.contains(needle), "{text}: {message}")
        }
        other => panic!("{text}: {other:?}"),
    };
    unsupported(
        r#"label_replace(up, "a", "$1", "b", "(.*)")"#,
        "`label_replace` is not supported; supported functions: abs, absent",
    );
    unsupported("rate(up[1h:1m])", "subqueries");
    unsupported("up @ 100", "`@` modifier");
    unsupported(r#""hello""#, "string");
    unsupported("up[5m]", "range vector");
    unsupported(r#"count_values("v", up)"#, "aggregation `count_values` is not supported");
    // Prometheus rejects durations over ~292 years; so do we, for ranges and offsets.
    unsupported("rate(x[100000000d])", "range 100000000d is out of range");
    unsupported("x offset 100000000d", "offset 100000000d is out of range");
    assert!(parse("rate(x[100y])").is_ok(), "100 years is a valid Prometheus range");
    // promql-parser panics on these; they are syntax errors here.
    for text in
        ["up == 0 offset nan", "x offset -Inf", "rate(x[inf])", "rate(x[0xffffffffffffffff])", "rate(x[5m:nan])"]
    {
        assert!(matches!(parse(text), Err(PromqlError::Syntax { .. })), "{text}");
    }
    assert!(parse("x offset 300").is_ok(), "a plain number of seconds is a duration");
    assert!(parse(r#"x{a="offset nan"}"#).is_ok(), "strings are not read as durations");
    assert!(matches!(parse("sum(up"), Err(PromqlError::Syntax { .. })));
    assert!(matches!(parse("rate(up)"), Err(PromqlError::Syntax { .. })));
    // Prometheus's own rules: scalar comparisons need `bool`.
    assert!(matches!(parse("1 > 2"), Err(PromqlError::Syntax { .. })));
    unsupported(r#"up{a="b" or c="d"}"#, "`or` inside label matchers");
}

#[test]
fn metric_names_and_text() {
    let e = parse(r#"sum(rate(a[5m])) / sum(rate(b{x="y"}[5m])) > 0 and {__name__="c"} or {job="x"}"#).unwrap();
    assert_eq!(e.metric_names(), ["a", "b", "c"]);
    assert_eq!(parse("up == 0").unwrap().text(), "up == 0");
}

#[test]
fn sums_are_compensated_like_prometheus() {
    // 1e100 + 1 - 1e100 is 0 naively; Kahan-Neumaier keeps the 1.
    let db = load(
        MIN,
        &[(r#"m{i="a"}"#, "1e100"), (r#"m{i="b"}"#, "1"), (r#"m{i="c"}"#, "-1e100"), ("g", "1e100 1 -1e100")],
    );
    check(&db, "sum(m)", 0, &[("{}", 1.0)]);
    check(&db, "sum_over_time(g[5m])", 2 * MIN, &[("{}", 1.0)]);
}
