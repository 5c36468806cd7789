//! The route tree flattened with inherited settings resolved, and alert routing over it.

use super::config::{
    DEFAULT_GROUP_INTERVAL_MS, DEFAULT_GROUP_WAIT_MS, DEFAULT_REPEAT_INTERVAL_MS, GROUP_BY_ALL, Route,
};
use super::matcher::{LabelSet, Matcher, all_match};

/// Which labels split a route's alerts into groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupBy {
    /// Every label: one group per distinct alert.
    All,
    /// These labels (an alert lacking one simply has no value for it).
    Labels(Vec<String>),
}

/// One route with everything inherited filled in.
#[derive(Clone, Debug)]
pub(crate) struct FlatRoute {
    /// Where it is in the tree (`root.routes[1]`), for messages.
    pub path: String,
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    pub group_by: GroupBy,
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
    pub continue_matching: bool,
    /// Indices of the children in the flat list.
    pub children: Vec<usize>,
}

impl FlatRoute {
    /// The labels of `labels` that name this route's group.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => {
                names.iter().filter_map(|n| labels.get_key_value(n)).map(|(k, v)| (k.clone(), v.clone())).collect()
            }
        }
    }
}

/// The tree in pre-order (the root is index 0), children inheriting from parents.
pub(crate) fn flatten(root: &Route) -> Vec<FlatRoute> {
    let top = FlatRoute {
        path: "root".to_string(),
        receiver: String::new(),
        matchers: Vec::new(),
        group_by: GroupBy::Labels(Vec::new()),
        group_wait_ms: DEFAULT_GROUP_WAIT_MS,
        group_interval_ms: DEFAULT_GROUP_INTERVAL_MS,
        repeat_interval_ms: DEFAULT_REPEAT_INTERVAL_MS,
        continue_matching: false,
        children: Vec::new(),
    };
    let mut out = Vec::new();
    push(root, &top, "root".to_string(), &mut out);
    out
}

/// Appends `route` (inheriting from `parent`) and its subtree; returns its index.
fn push(route: &Route, parent: &FlatRoute, path: String, out: &mut Vec<FlatRoute>) -> usize {
    let group_by = match &route.group_by {
        None => parent.group_by.clone(),
        Some(labels) if labels.iter().any(|l| l == GROUP_BY_ALL) => GroupBy::All,
        Some(labels) => GroupBy::Labels(labels.clone()),
    };
    let flat = FlatRoute {
        path: path.clone(),
        receiver: route.receiver.clone().unwrap_or_else(|| parent.receiver.clone()),
        matchers: route.matchers.clone(),
        group_by,
        group_wait_ms: route.group_wait_ms.unwrap_or(parent.group_wait_ms),
        group_interval_ms: route.group_interval_ms.unwrap_or(parent.group_interval_ms),
        repeat_interval_ms: route.repeat_interval_ms.unwrap_or(parent.repeat_interval_ms),
        continue_matching: route.continue_matching,
        children: Vec::new(),
    };
    let index = out.len();
    out.push(flat);
    for (i, child) in route.routes.iter().enumerate() {
        let parent = out[index].clone();
        let child_index = push(child, &parent, format!("{path}.routes[{i}]"), out);
        out[index].children.push(child_index);
    }
    index
}

/// The routes that take an alert with these labels, in tree order (Alertmanager's
/// `Route.Match`): if `route` matches, its children are tried in order, the first match
/// ending the search unless it has `continue`; if no child takes it, `route` does.
pub(crate) fn match_routes(routes: &[FlatRoute], route: usize, labels: &LabelSet, out: &mut Vec<usize>) {
    let node = &routes[route];
    if !all_match(&node.matchers, labels) {
        return;
    }
    let before = out.len();
    for &child in &node.children {
        let len = out.len();
        match_routes(routes, child, labels, out);
        if out.len() > len && !routes[child].continue_matching {
            break;
        }
    }
    if out.len() == before {
        out.push(route);
    }
}
