//! promtool's rule unit tests (`promtool test rules`), run on prodsim's evaluator.
//!
//! A test file names `rule_files` (relative to it), an `evaluation_interval` (default 1m),
//! a `group_eval_order` and `tests`, each with an `interval` (default: the evaluation
//! interval), `input_series` in the expanding notation ([`super::series`]),
//! `alert_rule_test` (`eval_time`, `alertname`, `exp_alerts` with `exp_labels` and
//! `exp_annotations`), `promql_expr_test` (`expr`, `eval_time`, `exp_samples` with `labels`
//! and `value`), `external_labels` and `name`. As promtool does, every rule group is
//! evaluated from time 0 every `evaluation_interval` (a group only at multiples of its own
//! `interval`), in `group_eval_order` then file order; an alert test is checked after the
//! evaluation at the last step at or before its `eval_time`; only firing alerts count.
//! Anything else (`external_url`, `fuzzy_compare`, templates reading `$externalLabels`,
//! native histograms) is refused with the part named. Parsing is here; reading files is the
//! caller's ([`parse`] returns the rule file names to read).

use std::collections::BTreeMap;

use prodsim_parts::ops::promql::{self, Expr};
use prodsim_parts::ops::rules::{ALERT_NAME, AlertState, Rule, RuleEngine};
use prodsim_parts::ops::tsdb::{Labels, Tsdb};

use super::rule_file::{GroupRule, RuleGroup};
use super::series::{self, Point};
use super::yaml::{Doc, Node, YamlError};

/// promtool's default evaluation interval: 1 minute.
pub const DEFAULT_INTERVAL_MS: i64 = 60_000;
/// The latest `eval_time` accepted (a bound on the evaluation loop): 30 days.
pub const MAX_EVAL_TIME_MS: i64 = 30 * 86_400_000;

/// A parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Rule files, as written (relative to the test file).
    pub rule_files: Vec<String>,
    /// The evaluation interval, ms.
    pub evaluation_interval_ms: i64,
    /// Group names evaluated first, in this order.
    pub group_eval_order: Vec<String>,
    /// The tests.
    pub tests: Vec<TestGroup>,
}

/// One element of `tests`.
#[derive(Debug, Clone)]
pub struct TestGroup {
    /// `name`, or `""`.
    pub name: String,
    /// The input series' sample interval, ms.
    pub interval_ms: i64,
    /// The input series.
    pub input: Vec<(Labels, Vec<Point>)>,
    /// `alert_rule_test`.
    pub alerts: Vec<AlertTest>,
    /// `promql_expr_test`.
    pub exprs: Vec<ExprTest>,
    /// `external_labels` (accepted; prodsim's templates do not read them).
    pub external_labels: BTreeMap<String, String>,
}

/// One `alert_rule_test`.
#[derive(Debug, Clone)]
pub struct AlertTest {
    /// When, ms.
    pub eval_time_ms: i64,
    /// The alert's name.
    pub alertname: String,
    /// Expected firing alerts: labels (with `alertname`) and annotations.
    pub exp: Vec<(BTreeMap<String, String>, BTreeMap<String, String>)>,
}

/// One `promql_expr_test`.
#[derive(Debug, Clone)]
pub struct ExprTest {
    /// The expression.
    pub expr: Expr,
    /// When, ms.
    pub eval_time_ms: i64,
    /// Expected samples.
    pub exp: Vec<(Labels, f64)>,
}

/// Parses a test file.
pub fn parse(text: &str) -> Result<TestFile, YamlError> {
    let (doc, root) = Doc::parse(text)?;
    let Some(root) = root else { return Err(YamlError::new(0..0, "the test file is empty")) };
    let allowed = ["rule_files", "evaluation_interval", "group_eval_order", "tests"];
    let top = doc.map(&root, "test file", &allowed, &["fuzzy_compare"])?;
    let rule_files = top.get("rule_files").map(|n| doc.strings(n, "rule_files")).transpose()?.unwrap_or_default();
    let evaluation_interval_ms = top
        .get("evaluation_interval")
        .map(|n| positive(&doc, n, "evaluation_interval"))
        .transpose()?
        .unwrap_or(DEFAULT_INTERVAL_MS);
    let group_eval_order =
        top.get("group_eval_order").map(|n| doc.strings(n, "group_eval_order")).transpose()?.unwrap_or_default();
    let mut tests = Vec::new();
    if let Some(list) = top.get("tests") {
        for t in doc.seq(list, "tests")? {
            tests.push(test_group(&doc, t, evaluation_interval_ms)?);
        }
    }
    Ok(TestFile { rule_files, evaluation_interval_ms, group_eval_order, tests })
}

fn positive(doc: &Doc<'_>, node: &Node<'_>, what: &str) -> Result<i64, YamlError> {
    let ms = doc.duration_ms(node, what)?;
    if ms <= 0 {
        return Err(doc.err(node, format!("{what} must be longer than 0s")));
    }
    Ok(ms)
}

fn eval_time(doc: &Doc<'_>, node: Option<&Node<'_>>, parent: &Node<'_>) -> Result<i64, YamlError> {
    let ms = node.map(|n| doc.duration_ms(n, "eval_time")).transpose()?.unwrap_or(0);
    if ms > MAX_EVAL_TIME_MS {
        return Err(doc.err(node.unwrap_or(parent), "eval_time: at most 30d"));
    }
    Ok(ms)
}

fn test_group(doc: &Doc<'_>, node: &Node<'_>, default_interval_ms: i64) -> Result<TestGroup, YamlError> {
    let allowed = ["name", "interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels"];
    let t = doc.map(node, "test", &allowed, &["external_url", "fuzzy_compare", "start_timestamp"])?;
    let name = t.get("name").map(|n| doc.str(n, "name")).transpose()?.unwrap_or_default();
    let interval_ms =
        t.get("interval").map(|n| positive(doc, n, "interval")).transpose()?.unwrap_or(default_interval_ms);
    let mut input = Vec::new();
    for s in t.get("input_series").map(|n| doc.seq(n, "input_series")).transpose()?.unwrap_or_default() {
        let f = doc.map(s, "input series", &["series", "values"], &[])?;
        let name_node = f.get("series").ok_or_else(|| doc.err(s, "input series: `series` is required"))?;
        let labels = series::parse_labels(&doc.str(name_node, "series")?).map_err(|e| doc.err(name_node, e))?;
        let values = match f.get("values") {
            Some(v) => series::expand(&doc.str(v, "values")?).map_err(|e| doc.err(v, e))?,
            None => Vec::new(),
        };
        input.push((labels, values));
    }
    let mut alerts = Vec::new();
    for a in t.get("alert_rule_test").map(|n| doc.seq(n, "alert_rule_test")).transpose()?.unwrap_or_default() {
        alerts.push(alert_test(doc, a)?);
    }
    let mut exprs = Vec::new();
    for e in t.get("promql_expr_test").map(|n| doc.seq(n, "promql_expr_test")).transpose()?.unwrap_or_default() {
        exprs.push(expr_test(doc, e)?);
    }
    let external_labels =
        t.get("external_labels").map(|n| doc.string_map(n, "external_labels")).transpose()?.unwrap_or_default();
    Ok(TestGroup { name, interval_ms, input, alerts, exprs, external_labels })
}

fn alert_test(doc: &Doc<'_>, node: &Node<'_>) -> Result<AlertTest, YamlError> {
    let a = doc.map(node, "alert_rule_test", &["eval_time", "alertname", "exp_alerts"], &[])?;
    let eval_time_ms = eval_time(doc, a.get("eval_time"), node)?;
    let alertname = match a.get("alertname") {
        Some(n) => doc.str(n, "alertname")?,
        None => return Err(doc.err(node, "alert_rule_test: `alertname` is required")),
    };
    let mut exp = Vec::new();
    for e in a.get("exp_alerts").map(|n| doc.seq(n, "exp_alerts")).transpose()?.unwrap_or_default() {
        let f = doc.map(e, "exp_alerts", &["exp_labels", "exp_annotations"], &[])?;
        let mut labels = f.get("exp_labels").map(|n| doc.string_map(n, "exp_labels")).transpose()?.unwrap_or_default();
        labels.insert(ALERT_NAME.into(), alertname.clone());
        let annotations =
            f.get("exp_annotations").map(|n| doc.string_map(n, "exp_annotations")).transpose()?.unwrap_or_default();
        exp.push((labels, annotations));
    }
    Ok(AlertTest { eval_time_ms, alertname, exp })
}

fn expr_test(doc: &Doc<'_>, node: &Node<'_>) -> Result<ExprTest, YamlError> {
    let e = doc.map(node, "promql_expr_test", &["expr", "eval_time", "exp_samples"], &[])?;
    let expr_node = e.get("expr").ok_or_else(|| doc.err(node, "promql_expr_test: `expr` is required"))?;
    let expr = promql::parse(&doc.str(expr_node, "expr")?).map_err(|err| doc.err(expr_node, err.to_string()))?;
    let eval_time_ms = eval_time(doc, e.get("eval_time"), node)?;
    let mut exp = Vec::new();
    for s in e.get("exp_samples").map(|n| doc.seq(n, "exp_samples")).transpose()?.unwrap_or_default() {
        let f = doc.map(s, "exp_samples", &["labels", "value"], &["histogram"])?;
        let labels = match f.get("labels") {
            Some(n) => series::parse_labels(&doc.str(n, "labels")?).map_err(|err| doc.err(n, err))?,
            None => Vec::new(),
        };
        let value_node = f.get("value").ok_or_else(|| doc.err(s, "exp_samples: `value` is required"))?;
        let text = doc.str(value_node, "value")?;
        let value = match text.as_str() {
            "Inf" | "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            _ => text.parse().map_err(|_| doc.err(value_node, format!("value: `{text}` is not a number")))?,
        };
        exp.push((labels, value));
    }
    Ok(ExprTest { expr, eval_time_ms, exp })
}

/// Checks what the test file asks of the rules that prodsim cannot do: `group_eval_order`
/// naming no group, `external_labels` read by a template.
pub fn check_supported(file: &TestFile, groups: &[RuleGroup]) -> Result<(), String> {
    for name in &file.group_eval_order {
        if !groups.iter().any(|g| &g.name == name) {
            return Err(format!("group_eval_order: no rule group is named `{name}`"));
        }
    }
    let reads_external = groups.iter().flat_map(|g| &g.rules).any(|r| match r {
        GroupRule::Alert(_, a) => a
            .labels
            .values()
            .chain(a.annotations.values())
            .any(|t| t.contains("$externalLabels") || t.contains("$externalURL")),
        GroupRule::Record(_) => false,
    });
    if reads_external {
        return Err("templates reading `$externalLabels` or `$externalURL` are not supported by prodsim".into());
    }
    Ok(())
}

/// Runs one test group over the rule groups; returns its failures, promtool-style.
pub fn run(file: &TestFile, groups: &[RuleGroup], test: &TestGroup) -> Vec<String> {
    let mut db = Tsdb::new();
    for (labels, points) in &test.input {
        let id = db.series_id(labels.clone());
        for (i, p) in points.iter().enumerate() {
            let t_ms = i as i64 * test.interval_ms;
            match p {
                Point::Value(v) => db.append(id, t_ms, *v),
                Point::Missing => {}
                Point::Stale => db.mark_stale(id, t_ms),
            }
        }
    }
    let mut order: Vec<&RuleGroup> =
        file.group_eval_order.iter().filter_map(|n| groups.iter().find(|g| &g.name == n)).collect();
    order.extend(groups.iter().filter(|g| !file.group_eval_order.contains(&g.name)));
    let mut engines: Vec<(i64, RuleEngine)> = order
        .iter()
        .map(|g| {
            let rules = g.rules.iter().map(|r| match r {
                GroupRule::Record(r) => Rule::Record(r.clone()),
                GroupRule::Alert(_, a) => Rule::Alert(a.clone()),
            });
            (g.interval_ms.unwrap_or(file.evaluation_interval_ms), RuleEngine::new(rules.collect()))
        })
        .collect();
    let mut alert_tests: Vec<&AlertTest> = test.alerts.iter().collect();
    alert_tests.sort_by_key(|a| a.eval_time_ms);
    // As promtool: evaluate from 0 to the latest eval_time (at least once, at 0).
    let max_ms =
        test.alerts.iter().map(|a| a.eval_time_ms).chain(test.exprs.iter().map(|e| e.eval_time_ms)).max().unwrap_or(0);
    let step = file.evaluation_interval_ms;
    let mut failures = Vec::new();
    let (mut t_ms, mut next) = (0i64, 0usize);
    while t_ms <= max_ms {
        let mut eval_errors = Vec::new();
        for (interval_ms, engine) in &mut engines {
            if t_ms % *interval_ms == 0 {
                let _ = engine.evaluate(t_ms, &mut db);
                eval_errors.extend(rule_errors(engine, t_ms));
            }
        }
        // promtool ends the test group at the first evaluation where a rule failed.
        if !eval_errors.is_empty() {
            failures.extend(eval_errors);
            return failures;
        }
        while next < alert_tests.len() && alert_tests[next].eval_time_ms < t_ms + step {
            failures.extend(check_alerts(&engines, alert_tests[next]));
            next += 1;
        }
        t_ms += step;
    }
    for e in &test.exprs {
        failures.extend(check_expr(&db, e));
    }
    failures
}

/// promtool's line for each rule of `engine` whose evaluation at `t_ms` failed.
fn rule_errors(engine: &RuleEngine, t_ms: i64) -> Vec<String> {
    (0..engine.rules().len())
        .filter_map(|i| {
            let e = engine.last_error(i)?;
            let name = match &engine.rules()[i] {
                Rule::Alert(a) => &a.name,
                Rule::Record(r) => &r.record,
            };
            Some(format!("    rule: {name}, time: {}, err: {e}", super::format_prom_duration(t_ms)))
        })
        .collect()
}

type AlertSet = Vec<(BTreeMap<String, String>, BTreeMap<String, String>)>;

fn check_alerts(engines: &[(i64, RuleEngine)], test: &AlertTest) -> Option<String> {
    let mut got: AlertSet = engines
        .iter()
        .flat_map(|(_, e)| e.active().iter().filter(|a| a.state == AlertState::Firing).map(move |a| (e, a)))
        .filter(|(e, a)| matches!(&e.rules()[a.rule], Rule::Alert(r) if r.name == test.alertname))
        .map(|(_, a)| (a.labels.clone(), a.annotations.clone()))
        .collect();
    let mut exp = test.exp.clone();
    got.sort();
    exp.sort();
    (got != exp).then(|| {
        format!(
            "    alertname: {}, time: {},\n        exp:{},\n        got:{}",
            test.alertname,
            super::format_prom_duration(test.eval_time_ms),
            show_alerts(&exp),
            show_alerts(&got)
        )
    })
}

fn show_alerts(alerts: &AlertSet) -> String {
    let items: Vec<String> = alerts
        .iter()
        .enumerate()
        .map(|(i, (l, a))| {
            format!(
                "\n            {i}:\n              Labels:{}\n              Annotations:{}",
                show_map(l),
                show_map(a)
            )
        })
        .collect();
    format!("[{}\n            ]", items.concat())
}

fn show_map(m: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn check_expr(db: &Tsdb, test: &ExprTest) -> Option<String> {
    let time = super::format_prom_duration(test.eval_time_ms);
    let mut got = match promql::eval(&test.expr, db, test.eval_time_ms) {
        Ok(v) => v.into_vector().into_iter().map(|e| (e.labels, e.v)).collect::<Vec<_>>(),
        Err(e) => return Some(format!("    expr: {:?}, time: {time}, err: {e}", test.expr.text())),
    };
    let mut exp = test.exp.clone();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == exp.len() && got.iter().zip(&exp).all(|(g, e)| g.0 == e.0 && close(g.1, e.1));
    (!same).then(|| {
        format!(
            "    expr: {:?}, time: {time},\n        exp: {}\n        got: {}",
            test.expr.text(),
            show(&exp),
            show(&got)
        )
    })
}

fn show(samples: &[(Labels, f64)]) -> String {
    let items: Vec<String> = samples.iter().map(|(l, v)| format!("{} {v}", promql::format_labels(l))).collect();
    format!("[{}]", items.join(", "))
}

/// Equal, both NaN, or within a relative 1e-9 (float sums in another order).
fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n      - alert: InstanceDown\n        expr: up == 0\n        for: 2m\n        labels:\n          severity: page\n        annotations:\n          summary: \"{{ $labels.instance }} down\"\n";

    fn test_file(eval: &str) -> String {
        format!(
            "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'up{{job=\"api\", instance=\"a\"}}'\n        values: '1 1 0 0 0 0'\n{eval}"
        )
    }

    fn run_text(text: &str) -> Vec<String> {
        let file = parse(text).unwrap();
        let groups = super::super::rule_file::rule_groups(RULES).unwrap();
        check_supported(&file, &groups).unwrap();
        file.tests.iter().flat_map(|t| run(&file, &groups, t)).collect()
    }

    #[test]
    fn alerts_fire_after_for_and_expressions_read_recorded_series() {
        let pass = test_file(
            "    alert_rule_test:\n      - eval_time: 3m\n        alertname: InstanceDown\n      - eval_time: 4m\n        alertname: InstanceDown\n        exp_alerts:\n          - exp_labels: {severity: page, job: api, instance: a}\n            exp_annotations: {summary: a down}\n    promql_expr_test:\n      - expr: job:up:sum\n        eval_time: 1m\n        exp_samples:\n          - labels: 'job:up:sum{job=\"api\"}'\n            value: 1\n",
        );
        assert_eq!(run_text(&pass), Vec::<String>::new());
        let fail = pass.replace("eval_time: 3m", "eval_time: 5m").replace("value: 1\n", "value: 2\n");
        let failures = run_text(&fail);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("alertname: InstanceDown, time: 5m"), "{}", failures[0]);
        assert!(failures[1].contains("expr: \"job:up:sum\", time: 1m"), "{}", failures[1]);
    }

    #[test]
    fn a_rule_that_fails_to_evaluate_fails_the_test_group_as_in_promtool() {
        let rules = "groups:\n  - name: g\n    rules:\n      - record: joined\n        expr: join_1 + on(a) join_2\n";
        let file = parse("rule_files: [r.yml]\ntests:\n  - input_series:\n      - series: 'join_1{a=\"1\",b=\"2\"}'\n        values: 1\n      - series: 'join_2{a=\"1\",b=\"3\"}'\n        values: 2\n      - series: 'join_2{a=\"1\",b=\"4\"}'\n        values: 3\n").expect("parses");
        let groups = super::super::rule_file::rule_groups(rules).expect("rules parse");
        let failures = run(&file, &groups, &file.tests[0]);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].starts_with("    rule: joined, time: 0s, err: found duplicate series"), "{}", failures[0]);
    }

    #[test]
    fn outside_the_subset_is_refused_with_the_part_named() {
        let e = parse(&test_file("    external_url: http://x\n")).unwrap_err();
        assert!(e.message.contains("`external_url` is not supported"), "{}", e.message);
        let file = parse(&test_file("")).unwrap();
        let groups = super::super::rule_file::rule_groups(
            &RULES.replace("{{ $labels.instance }}", "{{ $externalLabels.region }}"),
        )
        .unwrap();
        assert!(check_supported(&file, &groups).unwrap_err().contains("$externalLabels"));
    }
}
