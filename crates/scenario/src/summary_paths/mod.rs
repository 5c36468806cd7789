//! The paths of `summary.json` a scenario's run writes, so that `[[expect]] metric` is
//! checked when the file is loaded: an unknown path is an error at its place, with the
//! nearest valid path, instead of a "no key" verdict after a long run.
//!
//! The catalog is data: a tree that mirrors the report's `Summary`
//! (`crates/report/src/summary*.rs`, documented in `docs/summary-json.md`) with objects of
//! fixed keys, objects keyed by the scenario's own names (request classes, regions, alert
//! rules, rule sets, log levels, versions, alert labels) and lists indexed from 0. Which
//! blocks a summary has follows from the scenario (`database` with a `[database]`, the
//! monitoring keys with alerting rules, ...). A list's length is known before the run only
//! for `servers` and `faults`; any other index is accepted as long as it is a number.
//!
//! `expectations` is deliberately absent: expectations are evaluated before their own
//! verdicts exist. The integration test `expect_paths` runs every shipped scenario and
//! checks that every leaf of its real `summary.json` is in this catalog with its kind, so
//! the report and the catalog cannot drift apart silently: a key the report adds must be
//! added here.

use std::fmt;
use std::ops::Range;

use thiserror::Error;

#[cfg(test)]
mod tests;
mod tree;
mod walk;

use tree::{Field, Length, Names, Needs, Node, SUMMARY};

use crate::Scenario;
use prodsim_parts::delivery::PlaybookAction;
use prodsim_parts::faults::FaultKind;
use prodsim_parts::ops::logs::Level;

/// What a leaf of `summary.json` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A JSON number (counts, shares, seconds, money).
    Number,
    /// A JSON string.
    Text,
    /// `true` or `false`.
    Bool,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Number => "a number",
            Kind::Text => "a string",
            Kind::Bool => "true or false",
        })
    }
}

/// One leaf: what it holds, and whether it may be `null` (undefined in a run, such as a
/// latency when nothing completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// What it holds when it is not `null`.
    pub kind: Kind,
    /// Whether it may be `null`.
    pub nullable: bool,
}

/// Why a path is not one of the scenario's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// An object has no such key.
    UnknownKey,
    /// The scenario has no class, region, alert rule, ... of that name.
    UnknownName,
    /// The key exists only with a section the scenario does not have.
    Absent,
    /// A list index is not a number, or beyond the list's known length.
    BadIndex,
    /// The path goes on below a number, string or boolean.
    BelowLeaf,
    /// The path ends at an object or a list, not at a value.
    NotALeaf,
    /// The path names something that cannot be read as a dotted path (the verdicts of
    /// the expectations themselves, a version name with dots).
    Unreadable,
}

/// A path that is not in the catalog: where in the path, why, and the nearest valid path.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct PathError {
    /// Byte range of the offending part of the path.
    pub span: Range<usize>,
    /// The kind of problem.
    pub reason: Reason,
    /// What is wrong, with what there is instead.
    pub message: String,
    /// The nearest valid path, if one is close.
    pub suggestion: Option<String>,
}

/// One leaf path of the catalog, as [`SummaryPaths::templates`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The dotted path; list indices are written `<n>` and alert label names `<label>`.
    pub path: String,
    /// What it holds.
    pub leaf: Leaf,
    /// Whether every run of the scenario writes it: no list index or label on the way,
    /// and not under `versions` (which lists only the versions servers run at the end).
    pub always: bool,
}

/// The paths of one scenario's `summary.json`.
#[derive(Clone, Debug)]
pub struct SummaryPaths {
    present: Vec<Needs>,
    classes: Vec<String>,
    regions: Vec<String>,
    alert_rules: Vec<String>,
    rule_sets: Vec<String>,
    versions: Vec<String>,
    servers: usize,
    faults: usize,
}

/// A field found in an object.
enum Found<'n> {
    /// Present in this scenario's summary.
    Present(&'n Node),
    /// A key of the summary, but only with a section this scenario lacks.
    Absent(Needs),
    /// No such key.
    Missing,
}

impl SummaryPaths {
    /// The catalog of `s`'s summary.
    pub fn of(s: &Scenario) -> SummaryPaths {
        let t = &s.topology;
        let malicious = t.edge.clients.iter().any(|c| c.malicious > 0.0)
            || s.faults.iter().any(|f| matches!(f.kind, FaultKind::Ddos { .. } | FaultKind::CredentialStuffing { .. }));
        let present = [
            (Needs::Always, true),
            (Needs::Regions, t.network.is_some()),
            (Needs::Database, t.database.is_some()),
            (Needs::RetryQueue, t.retry_queue.is_some()),
            (Needs::Proxy, t.edge.proxy.is_some()),
            (Needs::Malicious, malicious),
            (Needs::Scaling, t.scaling.is_some()),
            (Needs::Monitoring, t.monitoring.is_some()),
            (Needs::Logging, t.logging.is_some()),
            (Needs::Delivery, t.delivery.is_some()),
            (Needs::Fallback, t.has_fallback()),
            (Needs::Reconciliation, t.reconciliation.is_some()),
            (Needs::Backups, t.backups.is_some()),
        ];
        let mut versions = Vec::new();
        if let Some(d) = &t.delivery {
            versions.push(d.pipeline.initial_version.clone());
            versions.extend(d.deploys.iter().map(|d| d.version.clone()));
            versions.extend(d.playbooks.iter().filter_map(|p| match &p.action {
                PlaybookAction::Hotfix { version, .. } => Some(version.clone()),
                _ => None,
            }));
        }
        SummaryPaths {
            present: present.into_iter().filter_map(|(n, on)| on.then_some(n)).collect(),
            classes: t.classes.iter().map(|c| c.name.clone()).collect(),
            regions: t.network.iter().flat_map(|n| n.regions.iter().map(|r| r.name.clone())).collect(),
            alert_rules: t.monitoring.as_ref().map(|m| m.alert_names()).unwrap_or_default(),
            rule_sets: t.monitoring.iter().flat_map(|m| m.sets.iter().map(|s| s.name.clone())).collect(),
            versions,
            servers: t.scaling.as_ref().map_or(s.servers.count, |sc| sc.max) as usize,
            faults: s.faults.len(),
        }
    }

    /// The leaf at dotted `path`, or why there is none.
    pub fn check(&self, path: &str) -> Result<Leaf, PathError> {
        self.walk(path).map_err(|mut e| {
            if e.suggestion.is_none() && matches!(e.reason, Reason::UnknownKey | Reason::UnknownName | Reason::BadIndex)
            {
                e.suggestion = self.suggest(path);
            }
            e
        })
    }

    /// Every leaf path of the catalog for this scenario, in the report's key order.
    pub fn templates(&self) -> Vec<Template> {
        let mut out = Vec::new();
        self.collect(&SUMMARY, &mut Vec::new(), true, &mut out);
        out
    }

    fn collect(&self, node: &Node, at: &mut Vec<String>, always: bool, out: &mut Vec<Template>) {
        match node {
            Node::Leaf(leaf) => out.push(Template { path: at.join("."), leaf: *leaf, always }),
            Node::Object(fields) => {
                for (key, child) in self.keys(fields) {
                    at.push(key.to_string());
                    self.collect(child, at, always, out);
                    at.pop();
                }
            }
            Node::Named(names, child) => {
                let always = always && *names != Names::Versions && *names != Names::Labels;
                let keys = if *names == Names::Labels { vec!["<label>".to_string()] } else { self.names(*names) };
                for key in keys {
                    at.push(key);
                    self.collect(child, at, always, out);
                    at.pop();
                }
            }
            Node::List(_, child) => {
                at.push("<n>".to_string());
                self.collect(child, at, false, out);
                at.pop();
            }
        }
    }

    /// The present keys of an object, flattened fields included, with their nodes.
    fn keys<'n>(&self, fields: &'n [Field]) -> Vec<(&'static str, &'n Node)> {
        let mut out = Vec::new();
        for f in fields.iter().filter(|f| self.present.contains(&f.needs)) {
            match (f.key, &f.node) {
                (Some(k), node) => out.push((k, node)),
                (None, Node::Object(inner)) => out.extend(self.keys(inner)),
                (None, _) => {}
            }
        }
        out
    }

    /// The field `key` of an object.
    fn find<'n>(&self, fields: &'n [Field], key: &str) -> Found<'n> {
        for f in fields {
            let found = match (f.key, &f.node) {
                (Some(k), node) if k == key => Found::Present(node),
                (None, Node::Object(inner)) => self.find(inner, key),
                _ => Found::Missing,
            };
            match found {
                Found::Present(_) if !self.present.contains(&f.needs) => return Found::Absent(f.needs),
                Found::Missing => {}
                other => return other,
            }
        }
        Found::Missing
    }

    /// The scenario's names of a family (none for labels, which any name may be).
    fn names(&self, names: Names) -> Vec<String> {
        match names {
            Names::Classes => self.classes.clone(),
            Names::Regions => self.regions.clone(),
            Names::AlertRules => self.alert_rules.clone(),
            Names::RuleSets => self.rule_sets.clone(),
            Names::LogLevels => Level::ALL.iter().map(|l| l.as_str().to_string()).collect(),
            Names::Versions => self.versions.clone(),
            Names::Labels => Vec::new(),
        }
    }

    /// The length of a list, when it is known before the run.
    fn length(&self, length: Length) -> Option<(usize, &'static str)> {
        match length {
            Length::Servers => Some((self.servers, "app servers")),
            Length::Faults => Some((self.faults, "[[faults]]")),
            Length::Any => None,
        }
    }
}
