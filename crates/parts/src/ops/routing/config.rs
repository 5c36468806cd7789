//! The routing configuration: receivers, the route tree, inhibit rules and silences,
//! as plain data (the scenario loader fills them in), and its validation.

use std::collections::BTreeSet;

use super::matcher::Matcher;
use super::{MAX_ROUTE_DEPTH, RoutingError};

/// Alertmanager's default `group_wait` at the root: 30 s.
pub const DEFAULT_GROUP_WAIT_MS: i64 = 30_000;
/// Alertmanager's default `group_interval` at the root: 5 min.
pub const DEFAULT_GROUP_INTERVAL_MS: i64 = 300_000;
/// Alertmanager's default `repeat_interval` at the root: 4 h.
pub const DEFAULT_REPEAT_INTERVAL_MS: i64 = 4 * 3_600_000;
/// The `group_by` entry meaning "every label": each distinct alert is its own group.
pub const GROUP_BY_ALL: &str = "...";

/// Where a receiver's notifications go.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReceiverKind {
    /// A chat channel, such as `#production-alerts`.
    Slack {
        /// The channel's name, with its `#`.
        channel: String,
    },
    /// An email address.
    Email {
        /// The recipient.
        to: String,
    },
    /// A text message to a phone.
    Sms {
        /// The phone number.
        to: String,
    },
    /// A paging service (PagerDuty, Opsgenie): wakes the on-call person.
    Pager {
        /// The paging service or escalation policy.
        service: String,
    },
    /// An HTTP endpoint receiving Alertmanager's webhook JSON.
    Webhook {
        /// The endpoint.
        url: String,
    },
}

impl ReceiverKind {
    /// The channel's short name: `slack`, `email`, `sms`, `pager` or `webhook`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReceiverKind::Slack { .. } => "slack",
            ReceiverKind::Email { .. } => "email",
            ReceiverKind::Sms { .. } => "sms",
            ReceiverKind::Pager { .. } => "pager",
            ReceiverKind::Webhook { .. } => "webhook",
        }
    }
}

/// A named destination for notifications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// The name routes refer to.
    pub name: String,
    /// The channel.
    pub kind: ReceiverKind,
    /// Whether to notify when alerts resolve.
    pub send_resolved: bool,
    /// The receiver that gets a notification this one failed to deliver (its channel is
    /// down), at once; it may have a fallback of its own. A prodsim extension: with
    /// Alertmanager one routes to both channels with `continue: true`, which notifies
    /// both every time.
    pub fallback: Option<String>,
}

impl Receiver {
    /// A receiver with no fallback.
    pub fn new(name: impl Into<String>, kind: ReceiverKind, send_resolved: bool) -> Receiver {
        Receiver { name: name.into(), kind, send_resolved, fallback: None }
    }
}

/// A node of the routing tree. Unset fields are inherited from the parent route (the
/// root's unset timings take Alertmanager's defaults); `matchers` and
/// `continue_matching` are never inherited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The receiver of this route's groups; `None` inherits the parent's (the root must set it).
    pub receiver: Option<String>,
    /// Every matcher must match for an alert to take this route.
    pub matchers: Vec<Matcher>,
    /// Labels whose values split alerts into groups; `["..."]` is every label; `Some([])`
    /// is one group for the whole route; `None` inherits (the root's default is `[]`).
    pub group_by: Option<Vec<String>>,
    /// How long a new group waits before its first notification.
    pub group_wait_ms: Option<i64>,
    /// How long a group waits between notifications about changes.
    pub group_interval_ms: Option<i64>,
    /// How long before an unchanged group is notified again.
    pub repeat_interval_ms: Option<i64>,
    /// Whether an alert that matched this route goes on to try its later siblings.
    pub continue_matching: bool,
    /// Child routes, tried in order.
    pub routes: Vec<Route>,
}

impl Route {
    /// A route to `receiver` with everything else unset.
    pub fn to(receiver: &str) -> Route {
        Route { receiver: Some(receiver.to_string()), ..Route::default() }
    }
}

/// Mutes alerts matching `target_matchers` while a firing alert matches
/// `source_matchers` and has the same values for the `equal` labels (a missing label
/// equals only a missing or empty one). An alert never inhibits itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InhibitRule {
    /// What the inhibiting (source) alert must match.
    pub source_matchers: Vec<Matcher>,
    /// What the inhibited (target) alert must match.
    pub target_matchers: Vec<Matcher>,
    /// Labels that must have equal values on source and target.
    pub equal: Vec<String>,
}

/// Mutes alerts matching every matcher while `starts_ms <= t < ends_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    /// What a silenced alert matches (at least one matcher).
    pub matchers: Vec<Matcher>,
    /// When the silence starts (inclusive).
    pub starts_ms: i64,
    /// When it ends (exclusive).
    pub ends_ms: i64,
    /// Why, as its creator wrote.
    pub comment: String,
}

impl Silence {
    /// Whether the silence is in force at `t_ms`.
    pub fn is_active(&self, t_ms: i64) -> bool {
        self.starts_ms <= t_ms && t_ms < self.ends_ms
    }
}

/// Everything the router needs: Alertmanager's `route`, `receivers`, `inhibit_rules`,
/// plus the silences an operator would create through its API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingConfig {
    /// The root of the route tree: it must have a receiver and no matchers.
    pub route: Route,
    /// Every receiver routes may name.
    pub receivers: Vec<Receiver>,
    /// Inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Silences, with their windows.
    pub silences: Vec<Silence>,
}

impl RoutingConfig {
    /// The receivers of the routes an alert with `labels` takes, in tree order (what
    /// `amtool config routes test` prints), without repeats.
    pub fn receivers_for(&self, labels: &super::LabelSet) -> Vec<String> {
        let routes = super::tree::flatten(&self.route);
        let mut matched = Vec::new();
        super::tree::match_routes(&routes, 0, labels, &mut matched);
        let mut names: Vec<String> = Vec::new();
        for i in matched {
            if !names.contains(&routes[i].receiver) {
                names.push(routes[i].receiver.clone());
            }
        }
        names
    }

    /// Checks what Alertmanager checks when loading: the root has a receiver and no
    /// matchers or `continue`; receivers have distinct, non-empty names; every route's
    /// receiver exists; every duration is positive; `...` stands alone in `group_by`;
    /// silences have matchers and end after they start; the tree is at most
    /// [`MAX_ROUTE_DEPTH`] deep.
    pub fn check(&self) -> Result<(), RoutingError> {
        let mut names = BTreeSet::new();
        for receiver in &self.receivers {
            if receiver.name.is_empty() {
                return Err(RoutingError::EmptyReceiverName);
            }
            if !names.insert(receiver.name.as_str()) {
                return Err(RoutingError::DuplicateReceiver(receiver.name.clone()));
            }
        }
        if self.route.receiver.is_none() {
            return Err(RoutingError::RootWithoutReceiver);
        }
        if !self.route.matchers.is_empty() {
            return Err(RoutingError::RootWithMatchers);
        }
        if self.route.continue_matching {
            return Err(RoutingError::RootWithContinue);
        }
        check_route(&self.route, "root", 1, &names)?;
        self.check_fallbacks(&names)?;
        for (index, silence) in self.silences.iter().enumerate() {
            if silence.matchers.is_empty() {
                return Err(RoutingError::SilenceWithoutMatchers { index });
            }
            if silence.ends_ms <= silence.starts_ms {
                return Err(RoutingError::SilenceWindow {
                    index,
                    starts_ms: silence.starts_ms,
                    ends_ms: silence.ends_ms,
                });
            }
        }
        Ok(())
    }
}

impl RoutingConfig {
    /// Every fallback names another receiver, and no chain of fallbacks comes back to
    /// where it started.
    fn check_fallbacks(&self, names: &BTreeSet<&str>) -> Result<(), RoutingError> {
        for receiver in &self.receivers {
            let mut seen = vec![receiver.name.as_str()];
            let mut next = receiver.fallback.as_deref();
            while let Some(name) = next {
                if !names.contains(name) {
                    return Err(RoutingError::UnknownFallback {
                        receiver: receiver.name.clone(),
                        fallback: name.to_string(),
                    });
                }
                if seen.contains(&name) {
                    return Err(RoutingError::FallbackCycle { receiver: receiver.name.clone() });
                }
                seen.push(name);
                next = self.receivers.iter().find(|r| r.name == name).and_then(|r| r.fallback.as_deref());
            }
        }
        Ok(())
    }
}

/// Checks one route and, recursively, its children.
fn check_route(route: &Route, path: &str, depth: usize, receivers: &BTreeSet<&str>) -> Result<(), RoutingError> {
    if depth > MAX_ROUTE_DEPTH {
        return Err(RoutingError::TooDeep);
    }
    if let Some(receiver) = &route.receiver
        && !receivers.contains(receiver.as_str())
    {
        return Err(RoutingError::UnknownReceiver { route: path.to_string(), receiver: receiver.clone() });
    }
    let durations = [
        ("group_wait", route.group_wait_ms),
        ("group_interval", route.group_interval_ms),
        ("repeat_interval", route.repeat_interval_ms),
    ];
    for (field, value) in durations {
        if let Some(value_ms) = value
            && value_ms <= 0
        {
            return Err(RoutingError::NonPositiveDuration { route: path.to_string(), field, value_ms });
        }
    }
    if let Some(group_by) = &route.group_by
        && group_by.len() > 1
        && group_by.iter().any(|l| l == GROUP_BY_ALL)
    {
        return Err(RoutingError::GroupByAllMixed { route: path.to_string() });
    }
    for (i, child) in route.routes.iter().enumerate() {
        check_route(child, &format!("{path}.routes[{i}]"), depth + 1, receivers)?;
    }
    Ok(())
}
