//! Reading a Prometheus rule file (`[monitoring] rule_files`): `groups` with `name`,
//! `interval` and `rules`; recording rules (`record`, `expr`, `labels`) and alerting rules
//! (`alert`, `expr`, `for`, `keep_firing_for`, `labels`, `annotations`). Expressions are
//! parsed and checked against prodsim's PromQL subset here, so an unsupported one is an
//! error at its line in the rule file. An alerting rule's `set` label names the prodsim rule
//! set it joins (default `"default"`) and is not kept as a label.

use prodsim_parts::ops::catalog;
use prodsim_parts::ops::promql;
use prodsim_parts::ops::rules::{AlertRule, RecordingRule};

use super::SET_LABEL;
use super::yaml::{Doc, Node, YamlError};

/// The set of alerts whose rule has no `set` label.
const DEFAULT_SET: &str = "default";

/// The rules of one or more rule files, in file and group order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportedRules {
    /// Recording rules.
    pub recording: Vec<RecordingRule>,
    /// Alerting rules with the name of the set each joins.
    pub alerts: Vec<(String, AlertRule)>,
}

/// One group of a rule file.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleGroup {
    /// Its name.
    pub name: String,
    /// Its `interval`, ms (`None`: the global evaluation interval).
    pub interval_ms: Option<i64>,
    /// Its rules, in order.
    pub rules: Vec<GroupRule>,
}

/// One rule of a group.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupRule {
    /// A recording rule.
    Record(RecordingRule),
    /// An alerting rule, with the set its `set` label names.
    Alert(String, AlertRule),
}

/// Parses a rule file. `evaluation_interval_ms`, when given, is the interval every group
/// must be evaluated at (prodsim evaluates all rules on one clock): a group with another
/// `interval` is refused.
pub fn parse(text: &str, evaluation_interval_ms: Option<i64>) -> Result<ImportedRules, YamlError> {
    let mut out = ImportedRules::default();
    let (doc, groups) = parse_groups(text, true)?;
    for (group, node) in groups {
        if let (Some(want), Some(got)) = (evaluation_interval_ms, group.interval_ms)
            && want != got
        {
            return Err(doc.err(
                &node,
                format!(
                    "group `{}`: interval {} differs from [monitoring] evaluation_interval {}; prodsim evaluates every rule on one clock (not yet supported)",
                    group.name,
                    super::format_prom_duration(got),
                    super::format_prom_duration(want)
                ),
            ));
        }
        for rule in group.rules {
            match rule {
                GroupRule::Record(r) => out.recording.push(r),
                GroupRule::Alert(set, a) => out.alerts.push((set, a)),
            }
        }
    }
    Ok(out)
}

/// Parses a rule file into its groups, as Prometheus reads it: every label kept (the
/// `set` label too), for promtool's rule unit tests.
pub fn rule_groups(text: &str) -> Result<Vec<RuleGroup>, YamlError> {
    Ok(parse_groups(text, false)?.1.into_iter().map(|(g, _)| g).collect())
}

/// Parses a rule file into its groups, each with the node it was read from; with `sets`,
/// an alerting rule's `set` label names its rule set and is removed.
fn parse_groups(text: &str, sets: bool) -> Result<(Doc<'_>, Vec<(RuleGroup, Node<'_>)>), YamlError> {
    let (doc, root) = Doc::parse(text)?;
    let Some(root) = root else { return Ok((doc, Vec::new())) };
    let top = doc.map(&root, "rule file", &["groups"], &[])?;
    let mut groups = Vec::new();
    let mut names: Vec<String> = Vec::new();
    if let Some(list) = top.get("groups") {
        for node in doc.seq(list, "groups")? {
            let group = parse_group(&doc, node, sets)?;
            if names.contains(&group.name) {
                return Err(doc.err(node, format!("group `{}` is defined twice", group.name)));
            }
            names.push(group.name.clone());
            groups.push((group, node.clone()));
        }
    }
    Ok((doc, groups))
}

fn parse_group(doc: &Doc<'_>, node: &Node<'_>, sets: bool) -> Result<RuleGroup, YamlError> {
    let known = ["limit", "query_offset", "labels", "partial_response_strategy", "source_tenants"];
    let g = doc.map(node, "group", &["name", "interval", "rules"], &known)?;
    let name = match g.get("name") {
        Some(n) => doc.str(n, "group name")?,
        None => return Err(doc.err(node, "group: `name` is required")),
    };
    if name.is_empty() {
        return Err(doc.err(node, "group: `name` must not be empty"));
    }
    let what = format!("group `{name}`");
    let interval_ms = g.get("interval").map(|n| doc.duration_ms(n, &format!("{what}: interval"))).transpose()?;
    if interval_ms == Some(0) {
        return Err(doc.err(node, format!("{what}: interval must be longer than 0s")));
    }
    let mut rules = Vec::new();
    if let Some(list) = g.get("rules") {
        for r in doc.seq(list, &format!("{what}: rules"))? {
            rules.push(parse_rule(doc, r, &what, sets)?);
        }
    }
    Ok(RuleGroup { name, interval_ms, rules })
}

fn parse_rule(doc: &Doc<'_>, node: &Node<'_>, group: &str, sets: bool) -> Result<GroupRule, YamlError> {
    let fields = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"];
    let r = doc.map(node, &format!("{group}: rule"), &fields, &[])?;
    let Some(expr_node) = r.get("expr") else {
        return Err(doc.err(node, format!("{group}: a rule needs `expr`")));
    };
    let expr_text = doc.str(expr_node, "expr")?;
    let expr = promql::parse(&expr_text).map_err(|e| doc.err(expr_node, format!("{group}: expr: {e}")))?;
    let mut labels = r.get("labels").map(|n| doc.string_map(n, "labels")).transpose()?.unwrap_or_default();
    if let Some(n) = r.get("labels")
        && let Some(bad) = labels.keys().find(|k| !is_label_name(k))
    {
        return Err(doc.err(n, format!("labels: `{bad}` is not a label name (letters, digits and `_`)")));
    }
    match (r.get("record"), r.get("alert")) {
        (Some(rec), None) => {
            let record = doc.str(rec, "record")?;
            if !catalog::valid_metric_name(&record) {
                return Err(doc.err(rec, format!("record: `{record}` is not a metric name")));
            }
            for key in ["for", "keep_firing_for", "annotations"] {
                if let Some(n) = r.get(key) {
                    return Err(doc.err(n, format!("recording rule `{record}`: `{key}` is only for alerting rules")));
                }
            }
            Ok(GroupRule::Record(RecordingRule { record, expr, labels }))
        }
        (None, Some(a)) => {
            let name = doc.str(a, "alert")?;
            if !catalog::valid_label_value_name(&name) {
                return Err(doc.err(a, format!("alert: `{name}` must be a name (letters, digits and `_`)")));
            }
            let what = format!("alert `{name}`");
            let for_ms = r.get("for").map(|n| doc.duration_ms(n, &format!("{what}: for"))).transpose()?;
            let keep = r
                .get("keep_firing_for")
                .map(|n| doc.duration_ms(n, &format!("{what}: keep_firing_for")))
                .transpose()?;
            let annotations = r.get("annotations").map(|n| doc.string_map(n, "annotations")).transpose()?;
            let set = if sets { labels.remove(SET_LABEL) } else { None };
            let set = set.unwrap_or_else(|| DEFAULT_SET.to_string());
            let rule = AlertRule {
                name,
                expr,
                for_ms: for_ms.unwrap_or(0),
                keep_firing_for_ms: keep.unwrap_or(0),
                labels,
                annotations: annotations.unwrap_or_default(),
            };
            Ok(GroupRule::Alert(set, rule))
        }
        _ => Err(doc.err(node, format!("{group}: a rule needs exactly one of `record` and `alert`"))),
    }
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::line_column;

    const FILE: &str = "groups:\n  - name: g\n    interval: 30s\n    rules:\n      - record: job:up:sum\n        expr: sum(up)\n      - alert: Down\n        expr: up == 0\n        for: 1m\n        keep_firing_for: 2m\n        labels:\n          severity: page\n          set: noisy\n        annotations:\n          summary: \"{{ $labels.instance }} is down\"\n      - alert: Other\n        expr: up > 1\n";

    #[test]
    fn groups_rules_and_sets_are_read() {
        let rules = parse(FILE, Some(30_000)).unwrap();
        assert_eq!(rules.recording.len(), 1);
        assert_eq!(rules.recording[0].record, "job:up:sum");
        let (set, down) = &rules.alerts[0];
        assert_eq!(
            (set.as_str(), down.name.as_str(), down.for_ms, down.keep_firing_for_ms),
            ("noisy", "Down", 60_000, 120_000)
        );
        assert_eq!(down.labels.get("severity").map(String::as_str), Some("page"));
        assert!(!down.labels.contains_key("set"));
        assert_eq!(rules.alerts[1].0, "default");
    }

    #[test]
    fn what_is_outside_the_subset_is_an_error_at_its_line() {
        let e = parse(FILE, Some(15_000)).unwrap_err();
        assert!(e.message.contains("interval 30s differs"), "{}", e.message);
        let bad = FILE.replace("expr: up == 0", "expr: label_replace(up, \"a\", \"b\", \"c\", \"d\")");
        let e = parse(&bad, None).unwrap_err();
        assert!(e.message.contains("`label_replace` is not supported"), "{}", e.message);
        assert_eq!(line_column(&bad, e.span.start).0, 8);
        let e = parse(&FILE.replace("interval: 30s", "limit: 10"), None).unwrap_err();
        assert!(e.message.contains("`limit` is not supported"), "{}", e.message);
        assert_eq!(line_column(FILE, e.span.start).0, 3);
        let e = parse(&FILE.replace("for: 1m", "for: 1 minute"), None).unwrap_err();
        assert!(e.message.contains("not a Prometheus duration"), "{}", e.message);
        let e = parse(&FILE.replace("      - alert: Other\n", "      - alert: Other\n        record: x\n"), None)
            .unwrap_err();
        assert!(e.message.contains("exactly one of"), "{}", e.message);
    }
}
