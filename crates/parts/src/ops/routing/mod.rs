//! Alertmanager-style notification routing, sans-IO.
//!
//! Firing alerts from the rule engine go in ([`Router::update`]), notifications to people
//! come out ([`Router::poll`]). In between, the same steps as Alertmanager's `dispatch.go`
//! and notify pipeline:
//!
//! 1. **Routing.** Each alert walks the [`Route`] tree from the root: the first matching
//!    child takes it (and its own children are tried in turn), unless that child has
//!    `continue`, in which case later siblings are tried too. A route none of whose
//!    children match takes the alert itself. Children inherit the receiver, `group_by` and
//!    timings they leave unset.
//! 2. **Aggregation groups.** Within a route, alerts with the same values of the
//!    `group_by` labels share a group. A new group waits `group_wait` (to collect
//!    its siblings) before its first flush, then ticks every `group_interval`.
//! 3. **Muting.** At each flush, alerts that are inhibited ([`InhibitRule`]) or silenced
//!    ([`Silence`]) are left out; they are counted in [`SuppressionCounts`].
//! 4. **Deduplication.** A flush notifies only if something changed since the group's last
//!    notification (a new firing alert, a new resolved alert when the receiver wants
//!    resolved notices, or everything resolved), or else if `repeat_interval` has passed
//!    since it (a reminder, [`Notification::repeat`]).
//! 5. **Delivery.** A notification to a receiver whose channel is down
//!    ([`Router::set_reachable`], a `notification_outage` fault) fails
//!    ([`Delivery::Failed`]) and is not logged, so the next tick sends it again; the
//!    receiver's `fallback`, if any, gets it at once ([`Delivery::Fallback`]).
//! 6. **Resolved alerts** stay in their group, listed as resolved in its notifications
//!    (if the receiver has `send_resolved`), until the first tick
//!    [`RESOLVED_RETENTION_MS`] (15 min) after they resolved: Prometheus re-sends a
//!    resolved alert that long, and Alertmanager keeps an alert re-sent since the last
//!    flush. So an alert that resolves during a silence gets its resolved notice when the
//!    silence ends, if that is within those 15 minutes. A group left empty is deleted.
//!
//! 7. **Direct messages** ([`Router::send_direct`]) skip routing, grouping, muting and
//!    deduplication: one notification to one named receiver at once, as a CI system tells
//!    the committer of a failed release. Its channel and fallbacks are tried as in step 5,
//!    but a failed direct message is not retried.
//!
//! The caller updates before it polls at the same instant: a group's tick at the time of
//! a rule evaluation sees that evaluation's alerts (an alert joining or resolving then is
//! in that tick's notification).
//!
//! [`render`] turns a notification into the text a channel would show.
//!
//! Where this differs from Alertmanager, on purpose:
//!
//! - A reminder goes out at the first tick at or after `repeat_interval` since the last
//!   notification; Alertmanager's strict comparison plus clock jitter makes it one
//!   `group_interval` later in practice.
//! - The notification log lives with its group and goes when the group is deleted
//!   (Alertmanager keeps it for days); this only matters for a group deleted while every
//!   alert in it was muted, which here notifies afresh if the alert returns.
//! - Alerts resolve only by leaving the firing set given to [`Router::update`] (no
//!   `resolve_timeout`); there are no time intervals, group limits or receiver retries.
//! - A resolved alert leaves its group at the first tick 15 min after it resolved;
//!   Prometheus's last re-send (every `resend_delay`, 1 min) can make Alertmanager drop
//!   it up to a minute earlier.
//! - The time `starts_ms` of an alert should be when it started *firing* (after its
//!   `for` duration), as Prometheus sends it: an alert older than `group_wait` makes a new
//!   group flush at once.
//!
//! Time is `i64` milliseconds of simulated time throughout. Everything is deterministic:
//! groups live in a `BTreeMap` keyed by (route, group labels) and alerts are sorted by
//! their labels.

mod config;
mod direct;
mod group;
mod matcher;
mod render;
mod tree;

#[cfg(test)]
mod delivery_tests;
#[cfg(test)]
mod tests;

pub use config::{
    DEFAULT_GROUP_INTERVAL_MS, DEFAULT_GROUP_WAIT_MS, DEFAULT_REPEAT_INTERVAL_MS, GROUP_BY_ALL, InhibitRule, Receiver,
    ReceiverKind, Route, RoutingConfig, Silence,
};
pub use direct::{DirectMessage, Origin, PIPELINE_ALERTNAME};
pub use group::{
    AlertInput, AlertStatus, Delivery, Notification, NotifiedAlert, RESOLVED_RETENTION_MS, Router, SuppressionCounts,
};
pub use matcher::{LabelSet, MatchOp, Matcher};
pub use render::{format_offset, render, title};

/// Why a matcher or a routing configuration is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// A matcher's text does not follow `name="value"` (operators `=`, `!=`, `=~`, `!~`).
    #[error("invalid matcher `{text}`: {reason}")]
    InvalidMatcher {
        /// The matcher as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `=~` or `!~` matcher's value is not a valid regular expression.
    #[error("invalid regular expression in matcher `{name}`: {reason}")]
    InvalidRegex {
        /// The label name of the matcher.
        name: String,
        /// The regex engine's message.
        reason: String,
    },
    /// The root route must name a receiver: it is the fallback for every alert.
    #[error("the root route must have a receiver")]
    RootWithoutReceiver,
    /// The root route takes every alert, so matchers on it make no sense.
    #[error("the root route must not have matchers")]
    RootWithMatchers,
    /// The root route has no siblings to continue to.
    #[error("the root route cannot have `continue`")]
    RootWithContinue,
    /// A route names a receiver that is not defined.
    #[error("route {route} uses receiver `{receiver}`, which is not defined")]
    UnknownReceiver {
        /// Where the route is in the tree, such as `root.routes[1].routes[0]`.
        route: String,
        /// The missing receiver's name.
        receiver: String,
    },
    /// A receiver's `fallback` names a receiver that is not defined.
    #[error("receiver `{receiver}` falls back to `{fallback}`, which is not defined")]
    UnknownFallback {
        /// The receiver with the fallback.
        receiver: String,
        /// The missing receiver's name.
        fallback: String,
    },
    /// Following fallbacks from a receiver comes back to a receiver already on the way.
    #[error("the fallbacks of receiver `{receiver}` go round in a circle")]
    FallbackCycle {
        /// The receiver whose chain loops.
        receiver: String,
    },
    /// Two receivers share a name.
    #[error("receiver `{0}` is defined twice")]
    DuplicateReceiver(String),
    /// A receiver has an empty name.
    #[error("a receiver has an empty name")]
    EmptyReceiverName,
    /// A `group_wait`, `group_interval` or `repeat_interval` is zero or negative.
    #[error("{field} of route {route} must be positive, not {value_ms} ms")]
    NonPositiveDuration {
        /// Where the route is in the tree.
        route: String,
        /// The field's name.
        field: &'static str,
        /// The value given.
        value_ms: i64,
    },
    /// `group_by` mixes `...` (every label) with label names.
    #[error("group_by of route {route} mixes `...` with label names")]
    GroupByAllMixed {
        /// Where the route is in the tree.
        route: String,
    },
    /// A silence must have at least one matcher, or it would mute everything.
    #[error("silence {index} has no matchers")]
    SilenceWithoutMatchers {
        /// The silence's index in the configuration.
        index: usize,
    },
    /// A silence must end after it starts.
    #[error("silence {index} ends ({ends_ms} ms) before or when it starts ({starts_ms} ms)")]
    SilenceWindow {
        /// The silence's index in the configuration.
        index: usize,
        /// Its start.
        starts_ms: i64,
        /// Its end.
        ends_ms: i64,
    },
    /// The route tree is deeper than [`MAX_ROUTE_DEPTH`].
    #[error("the route tree is deeper than {MAX_ROUTE_DEPTH} levels")]
    TooDeep,
}

/// The deepest route tree accepted: a limit on the recursion that walks it.
pub const MAX_ROUTE_DEPTH: usize = 32;
