//! Prometheus rule evaluation: recording rules that write new series into the [`Tsdb`],
//! and alerting rules with Prometheus's alert states (`rules/alerting.go`).
//!
//! Every call to [`RuleEngine::evaluate`] evaluates all rules in order at one instant, like
//! one evaluation of a Prometheus rule group: a recording rule's result is appended at that
//! instant so the rules after it see it. An alert instance (one label set of one rule)
//! becomes pending when the expression first returns it, fires once it has been active
//! for the rule's `for` (immediately when `for` is 0), and when the expression stops
//! returning it a pending alert is dropped and a firing one resolves, unless
//! `keep_firing_for` keeps it firing that long after the condition last held. Each
//! pending-to-gone lifetime is an [`Episode`]. Like Prometheus, the engine writes
//! `ALERTS{alertname, alertstate, ...}` series and stale-marks every series a rule wrote
//! at its previous evaluation but not at this one.
//!
//! Unlike Prometheus, resolved alerts are not kept around for 15 minutes: they leave
//! [`RuleEngine::active`] at once and live on in [`RuleEngine::episodes`].

mod template;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use template::expand as expand_template;

use crate::ops::promql::{Element, EvalError, Expr, eval, format_labels};
use crate::ops::tsdb::{Labels, METRIC_NAME, SeriesId, Tsdb};

/// The label that names an alert.
pub const ALERT_NAME: &str = "alertname";
/// The label of the `ALERTS` series that says `pending` or `firing`.
pub const ALERT_STATE: &str = "alertstate";
/// The metric name of the series Prometheus writes for active alerts.
pub const ALERTS_METRIC: &str = "ALERTS";

/// An alerting rule (`alert:` in a Prometheus rule file).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The alert's name (`alertname`).
    pub name: String,
    /// The condition: every series it returns is an alert instance.
    pub expr: Expr,
    /// How long an instance must stay active before it fires (`for`).
    pub for_ms: i64,
    /// How long a firing instance keeps firing after the condition stops holding.
    pub keep_firing_for_ms: i64,
    /// Labels added to every instance (templated like annotations).
    pub labels: BTreeMap<String, String>,
    /// Annotations, templated with `{{ $labels.x }}` and `{{ $value }}`.
    pub annotations: BTreeMap<String, String>,
}

/// A recording rule (`record:` in a Prometheus rule file).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingRule {
    /// The metric name of the recorded series.
    pub record: String,
    /// The expression whose result is recorded.
    pub expr: Expr,
    /// Labels added to (or overriding those of) every recorded series.
    pub labels: BTreeMap<String, String>,
}

/// One rule of the group.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// An alerting rule.
    Alert(AlertRule),
    /// A recording rule.
    Record(RecordingRule),
}

impl Rule {
    /// The rule's expression.
    pub fn expr(&self) -> &Expr {
        match self {
            Rule::Alert(a) => &a.expr,
            Rule::Record(r) => &r.expr,
        }
    }
}

/// The state of an active alert instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    /// Active for less than the rule's `for`.
    Pending,
    /// Active for at least `for` (or kept firing by `keep_firing_for`).
    Firing,
}

impl AlertState {
    /// `pending` or `firing`, as in the `alertstate` label.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One pending or firing alert instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    /// The rule's index in [`RuleEngine::rules`].
    pub rule: usize,
    /// The series' labels minus `__name__`, plus the rule's labels, plus `alertname`.
    pub labels: BTreeMap<String, String>,
    /// The rule's annotations, templated with the latest value.
    pub annotations: BTreeMap<String, String>,
    /// Pending or firing.
    pub state: AlertState,
    /// When the instance became pending.
    pub active_at_ms: i64,
    /// When it started firing.
    pub fired_at_ms: Option<i64>,
    /// The expression's value at the last evaluation that returned the instance.
    pub value: f64,
}

/// One lifetime of one alert instance: pending, perhaps firing, then gone.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The rule's index in [`RuleEngine::rules`].
    pub rule: usize,
    /// The instance's labels (as in [`ActiveAlert::labels`]).
    pub labels: BTreeMap<String, String>,
    /// When it became pending.
    pub pending_ms: i64,
    /// When it started firing; `None` for an alert that went away while pending.
    pub firing_ms: Option<i64>,
    /// The first evaluation at which it was no longer active (resolved if it fired,
    /// dropped if it was pending); `None` while it is active.
    pub resolved_ms: Option<i64>,
}

/// One alert instance's bookkeeping.
#[derive(Debug, Clone)]
struct Instance {
    alert: ActiveAlert,
    episode: usize,
    keep_firing_since_ms: Option<i64>,
}

/// Per-rule state.
#[derive(Debug, Clone, Default)]
struct RuleState {
    instances: BTreeMap<BTreeMap<String, String>, Instance>,
    written: BTreeSet<SeriesId>,
    errors: u64,
    last_error: Option<EvalError>,
}

/// Evaluates a group of rules over a [`Tsdb`] and tracks alert states.
#[derive(Debug, Clone)]
pub struct RuleEngine {
    rules: Vec<Rule>,
    states: Vec<RuleState>,
    active: Vec<ActiveAlert>,
    episodes: Vec<Episode>,
}

impl RuleEngine {
    /// An engine for these rules, evaluated in this order.
    pub fn new(rules: Vec<Rule>) -> RuleEngine {
        let states = vec![RuleState::default(); rules.len()];
        RuleEngine { rules, states, active: Vec::new(), episodes: Vec::new() }
    }

    /// Evaluates every rule in order at `t_ms`. A rule whose evaluation fails keeps its
    /// previous alert states and series (as in Prometheus, which logs and goes on) and the
    /// other rules are still evaluated; the failure is counted ([`RuleEngine::errors`])
    /// and the first one is returned once every rule has run, so callers may log it and
    /// continue.
    pub fn evaluate(&mut self, t_ms: i64, db: &mut Tsdb) -> Result<(), EvalError> {
        let mut first_error = None;
        for i in 0..self.rules.len() {
            let result = match &self.rules[i] {
                Rule::Record(rule) => record(rule, &mut self.states[i], t_ms, db),
                Rule::Alert(_) => self.alert(i, t_ms, db),
            };
            let state = &mut self.states[i];
            match result {
                Ok(()) => state.last_error = None,
                Err(e) => {
                    state.errors += 1;
                    state.last_error = Some(e.clone());
                    first_error.get_or_insert(e);
                }
            }
        }
        self.active = self.states.iter().flat_map(|s| s.instances.values().map(|i| i.alert.clone())).collect();
        first_error.map_or(Ok(()), Err)
    }

    /// The pending and firing alerts after the last evaluation, by rule then labels.
    pub fn active(&self) -> &[ActiveAlert] {
        &self.active
    }

    /// Every episode so far, in order of first pending; ongoing ones have
    /// `resolved_ms: None`.
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many evaluations of rule `rule` failed so far (0 for an unknown index).
    pub fn errors(&self, rule: usize) -> u64 {
        self.states.get(rule).map_or(0, |s| s.errors)
    }

    /// The error of rule `rule`'s last evaluation, if it failed.
    pub fn last_error(&self, rule: usize) -> Option<&EvalError> {
        self.states.get(rule).and_then(|s| s.last_error.as_ref())
    }

    /// Evaluates alerting rule `i` at `t_ms` (Prometheus's `AlertingRule.Eval`).
    fn alert(&mut self, i: usize, t_ms: i64, db: &mut Tsdb) -> Result<(), EvalError> {
        let Rule::Alert(rule) = &self.rules[i] else {
            return Ok(());
        };
        let result = eval(&rule.expr, db, t_ms)?.into_vector();
        let current = alert_instances(rule, result)?;
        let state = &mut self.states[i];
        for (labels, (annotations, value)) in &current {
            if let Some(inst) = state.instances.get_mut(labels) {
                inst.alert.value = *value;
                inst.alert.annotations = annotations.clone();
                inst.keep_firing_since_ms = None;
                continue;
            }
            self.episodes.push(Episode {
                rule: i,
                labels: labels.clone(),
                pending_ms: t_ms,
                firing_ms: None,
                resolved_ms: None,
            });
            let alert = ActiveAlert {
                rule: i,
                labels: labels.clone(),
                annotations: annotations.clone(),
                state: AlertState::Pending,
                active_at_ms: t_ms,
                fired_at_ms: None,
                value: *value,
            };
            let episode = self.episodes.len() - 1;
            state.instances.insert(labels.clone(), Instance { alert, episode, keep_firing_since_ms: None });
        }
        let episodes = &mut self.episodes;
        state.instances.retain(|labels, inst| {
            if current.contains_key(labels) {
                return true;
            }
            if inst.alert.state == AlertState::Firing && rule.keep_firing_for_ms > 0 {
                let since = *inst.keep_firing_since_ms.get_or_insert(t_ms);
                if t_ms - since < rule.keep_firing_for_ms {
                    return true;
                }
            }
            episodes[inst.episode].resolved_ms = Some(t_ms);
            false
        });
        let mut written = BTreeSet::new();
        for inst in state.instances.values_mut() {
            let a = &mut inst.alert;
            if a.state == AlertState::Pending && t_ms - a.active_at_ms >= rule.for_ms {
                a.state = AlertState::Firing;
                a.fired_at_ms = Some(t_ms);
                episodes[inst.episode].firing_ms = Some(t_ms);
            }
            let mut labels: Labels = a.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            labels.push((METRIC_NAME.into(), ALERTS_METRIC.into()));
            labels.push((ALERT_STATE.into(), a.state.as_str().into()));
            let id = db.series_id(labels);
            db.append(id, t_ms, 1.0);
            written.insert(id);
        }
        replace_written(&mut state.written, written, t_ms, db);
        Ok(())
    }
}

/// The instances an alerting rule's result defines: labels (series labels minus
/// `__name__`, plus the templated rule labels, plus `alertname`) to templated
/// annotations and value.
type Instances = BTreeMap<BTreeMap<String, String>, (BTreeMap<String, String>, f64)>;

fn alert_instances(rule: &AlertRule, result: Vec<Element>) -> Result<Instances, EvalError> {
    let mut out = Instances::new();
    for e in result {
        let data: BTreeMap<String, String> = e.labels.into_iter().collect();
        let mut labels = data.clone();
        labels.remove(METRIC_NAME);
        for (k, v) in &rule.labels {
            let v = template::expand(v, &data, e.v);
            if v.is_empty() {
                labels.remove(k);
            } else {
                labels.insert(k.clone(), v);
            }
        }
        labels.insert(ALERT_NAME.into(), rule.name.clone());
        let annotations = rule.annotations.iter().map(|(k, v)| (k.clone(), template::expand(v, &data, e.v))).collect();
        if out.contains_key(&labels) {
            let labels: Labels = labels.into_iter().collect();
            return Err(EvalError::DuplicateRuleLabelset { labels: format_labels(&labels) });
        }
        out.insert(labels, (annotations, e.v));
    }
    Ok(out)
}

/// Evaluates a recording rule at `t_ms` and appends its result to `db`.
fn record(rule: &RecordingRule, state: &mut RuleState, t_ms: i64, db: &mut Tsdb) -> Result<(), EvalError> {
    let result = eval(&rule.expr, db, t_ms)?.into_vector();
    let mut series: BTreeMap<Labels, f64> = BTreeMap::new();
    for e in result {
        let mut labels: BTreeMap<String, String> = e.labels.into_iter().collect();
        labels.insert(METRIC_NAME.into(), rule.record.clone());
        for (k, v) in &rule.labels {
            if v.is_empty() {
                labels.remove(k);
            } else {
                labels.insert(k.clone(), v.clone());
            }
        }
        let labels: Labels = labels.into_iter().collect();
        if series.contains_key(&labels) {
            return Err(EvalError::DuplicateRuleLabelset { labels: format_labels(&labels) });
        }
        series.insert(labels, e.v);
    }
    let mut written = BTreeSet::new();
    for (labels, v) in series {
        let id = db.series_id(labels);
        db.append(id, t_ms, v);
        written.insert(id);
    }
    replace_written(&mut state.written, written, t_ms, db);
    Ok(())
}

/// Stale-marks the series written last time but not this time, and remembers this time's.
fn replace_written(prev: &mut BTreeSet<SeriesId>, now: BTreeSet<SeriesId>, t_ms: i64, db: &mut Tsdb) {
    for id in prev.difference(&now) {
        db.mark_stale(*id, t_ms);
    }
    *prev = now;
}
