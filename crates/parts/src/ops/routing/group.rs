//! The router: aggregation groups, their timers, muting and deduplication.

use std::collections::{BTreeMap, BTreeSet};

use super::RoutingError;
use super::config::{InhibitRule, Receiver, ReceiverKind, RoutingConfig, Silence};
use super::direct::{Origin, deliver};
use super::matcher::{LabelSet, all_match};
use super::tree::{FlatRoute, flatten, match_routes};

/// Whether an alert is still firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// The condition stopped holding.
    Resolved,
}

impl AlertStatus {
    /// `firing` or `resolved`, as Alertmanager writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// A firing alert as the rule engine reports it. Its labels are its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertInput {
    /// Identifying labels (`alertname`, `severity`, `service`, ...).
    pub labels: LabelSet,
    /// Descriptive annotations (`summary`, `description`, `runbook_url`, ...).
    pub annotations: LabelSet,
    /// When the alert started firing.
    pub starts_ms: i64,
}

/// One alert in a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifiedAlert {
    /// Its labels.
    pub labels: LabelSet,
    /// Its annotations.
    pub annotations: LabelSet,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// When it started firing.
    pub starts_ms: i64,
    /// When it resolved, if it did.
    pub ends_ms: Option<i64>,
}

/// One message to one receiver about one aggregation group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// When it is sent.
    pub t_ms: i64,
    /// The receiver's name.
    pub receiver: String,
    /// The receiver's channel.
    pub kind: ReceiverKind,
    /// The values of the route's `group_by` labels shared by the group.
    pub group_labels: LabelSet,
    /// The group's alerts that are not muted, sorted by labels: every firing one, and the
    /// resolved ones if the receiver has `send_resolved`.
    pub alerts: Vec<NotifiedAlert>,
    /// Nothing new since this group's previous notification to this receiver: a
    /// `repeat_interval` reminder. (Alerts that resolved without `send_resolved` may be
    /// missing from it.)
    pub repeat: bool,
    /// Whether it reached its channel.
    pub delivery: Delivery,
    /// What sent it: alert routing, or a direct message ([`Router::send_direct`]).
    pub origin: Origin,
}

/// Whether a notification reached its channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// It went out.
    Delivered,
    /// The receiver's channel was down (a `notification_outage`): nobody saw it.
    Failed,
    /// It went out to this receiver because the receiver `from` (the route's own) failed.
    Fallback {
        /// The receiver that failed first.
        from: String,
    },
}

impl Delivery {
    /// Whether someone got it.
    pub fn reached(&self) -> bool {
        match self {
            Delivery::Delivered | Delivery::Fallback { .. } => true,
            Delivery::Failed => false,
        }
    }

    /// `delivered`, `failed` or `fallback`, as reports write it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::Fallback { .. } => "fallback",
        }
    }
}

impl Notification {
    /// How many of its alerts are firing.
    pub fn firing(&self) -> usize {
        self.alerts.iter().filter(|a| a.status == AlertStatus::Firing).count()
    }

    /// How many of its alerts are resolved.
    pub fn resolved(&self) -> usize {
        self.alerts.len() - self.firing()
    }

    /// `Firing` if any alert is firing (Alertmanager's group status), else `Resolved`.
    pub fn status(&self) -> AlertStatus {
        if self.firing() > 0 { AlertStatus::Firing } else { AlertStatus::Resolved }
    }
}

/// Alerts kept out of notifications so far. Each alert is counted once per group it is
/// in and per firing episode, the first time a flush leaves it out; inhibition is checked
/// before silences (as Alertmanager's pipeline does), so an alert both inhibited and
/// silenced counts as inhibited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuppressionCounts {
    /// Alerts muted by a silence.
    pub silenced: u64,
    /// Alerts muted by an inhibit rule.
    pub inhibited: u64,
}

/// A firing alert as the router knows it.
#[derive(Clone, Debug)]
struct Active {
    annotations: LabelSet,
    starts_ms: i64,
}

/// An alert inside one aggregation group.
#[derive(Clone, Debug)]
struct GroupAlert {
    annotations: LabelSet,
    starts_ms: i64,
    /// `Some` once resolved.
    ends_ms: Option<i64>,
    /// Already counted in [`SuppressionCounts`] for this firing episode.
    muted_counted: bool,
}

/// What a group last notified (Alertmanager's notification log entry).
#[derive(Clone, Debug)]
struct LogEntry {
    t_ms: i64,
    firing: BTreeSet<LabelSet>,
    resolved: BTreeSet<LabelSet>,
}

/// An aggregation group.
#[derive(Clone, Debug)]
struct Group {
    alerts: BTreeMap<LabelSet, GroupAlert>,
    next_flush_ms: i64,
    has_flushed: bool,
    log: Option<LogEntry>,
}

/// How long Prometheus keeps re-sending an alert after it resolved (its rule manager's
/// `resolvedRetention`, 15 minutes, not configurable). Alertmanager deletes a resolved
/// alert from its group only at a flush that no re-send has followed, so a resolved alert
/// stays in its group until the first tick this long after it resolved. (Prometheus
/// re-sends once per `resend_delay`, 1 minute: the real deletion can come up to one
/// minute earlier.)
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// Groups are keyed by (route index in tree pre-order, group labels).
type GroupKey = (usize, LabelSet);

/// The notification router: feed it the firing alerts, poll it for notifications.
///
/// ```text
/// rule engine --update(t, firing)--> Router --poll(t)--> [Notification] --render--> text
///                                       \--next_wake()--> when to poll again
/// ```
///
/// ```
/// use prodsim_parts::ops::routing::*;
///
/// let config = RoutingConfig {
///     route: Route {
///         group_by: Some(vec!["alertname".into()]),
///         routes: vec![Route { matchers: Matcher::parse_set(r#"{severity="page"}"#)?, ..Route::to("oncall") }],
///         ..Route::to("chat")
///     },
///     receivers: vec![
///         Receiver::new("chat", ReceiverKind::Slack { channel: "#alerts".into() }, true),
///         Receiver::new("oncall", ReceiverKind::Pager { service: "api".into() }, true),
///     ],
///     inhibit_rules: vec![],
///     silences: vec![],
/// };
/// config.check()?;
/// let mut router = Router::new(config);
/// let labels: LabelSet = [("alertname", "ApiDown"), ("severity", "page")].map(|(k, v)| (k.into(), v.into())).into();
/// let firing = AlertInput { labels, annotations: LabelSet::new(), starts_ms: 60_000 };
/// router.update(60_000, &[firing]);
/// assert_eq!(router.next_wake(), Some(90_000)); // group_wait: 30 s
/// let sent = router.poll(90_000);
/// assert_eq!(render(&sent[0]), "+1m30s PAGE api [page] ApiDown: ApiDown (1 firing)");
/// router.update(120_000, &[]); // resolved
/// let sent = router.poll(router.next_wake().unwrap());
/// assert_eq!(sent[0].t_ms, 90_000 + 300_000); // group_interval: 5 min
/// assert_eq!(title(&sent[0]), "[RESOLVED] ApiDown (page)");
/// # Ok::<(), RoutingError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Router {
    routes: Vec<FlatRoute>,
    /// Indexed like `routes`: the receiver of each route.
    route_receivers: Vec<Receiver>,
    /// Every receiver, for their fallbacks.
    pub(super) receivers: Vec<Receiver>,
    /// The receivers whose channel is down now.
    pub(super) unreachable: BTreeSet<String>,
    inhibit_rules: Vec<InhibitRule>,
    silences: Vec<Silence>,
    active: BTreeMap<LabelSet, Active>,
    groups: BTreeMap<GroupKey, Group>,
    /// Notifications from flushes run by `update`, returned by the next `poll`.
    outbox: Vec<Notification>,
    suppressed: SuppressionCounts,
    last_t_ms: i64,
}

impl Router {
    /// A router for a configuration.
    ///
    /// # Panics
    ///
    /// If `config.check()` fails: check it when loading the scenario, or use
    /// [`Router::try_new`].
    pub fn new(config: RoutingConfig) -> Router {
        match Router::try_new(config) {
            Ok(router) => router,
            Err(e) => panic!("invalid routing configuration (RoutingConfig::check was not called?): {e}"),
        }
    }

    /// A router for a configuration, or why the configuration is invalid.
    pub fn try_new(config: RoutingConfig) -> Result<Router, RoutingError> {
        config.check()?;
        let routes = flatten(&config.route);
        let route_receivers = routes
            .iter()
            .map(|r| {
                config.receivers.iter().find(|x| x.name == r.receiver).cloned().ok_or_else(|| {
                    RoutingError::UnknownReceiver { route: r.path.clone(), receiver: r.receiver.clone() }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Router {
            routes,
            route_receivers,
            receivers: config.receivers,
            unreachable: BTreeSet::new(),
            inhibit_rules: config.inhibit_rules,
            silences: config.silences,
            active: BTreeMap::new(),
            groups: BTreeMap::new(),
            outbox: Vec::new(),
            suppressed: SuppressionCounts::default(),
            last_t_ms: i64::MIN,
        })
    }

    /// Tells the router the complete set of alerts firing at `t_ms`. New ones join their
    /// groups (creating them); ones firing before and missing now resolve at `t_ms`.
    ///
    /// Group flushes due strictly before `t_ms` run first (their notifications come out
    /// of the next [`Router::poll`]); a flush due exactly at `t_ms` runs in `poll` and sees
    /// this update. Calls must come in non-decreasing time order.
    pub fn update(&mut self, t_ms: i64, firing: &[AlertInput]) {
        debug_assert!(t_ms >= self.last_t_ms, "Router::update went back in time");
        self.last_t_ms = self.last_t_ms.max(t_ms);
        self.flush_until(t_ms, false);
        let mut now: BTreeMap<LabelSet, Active> = BTreeMap::new();
        for alert in firing {
            now.insert(
                alert.labels.clone(),
                Active { annotations: alert.annotations.clone(), starts_ms: alert.starts_ms },
            );
        }
        let mut matched = Vec::new();
        for (labels, alert) in &mut now {
            match self.active.get(labels) {
                Some(old) => {
                    alert.starts_ms = old.starts_ms;
                    if old.annotations != alert.annotations {
                        self.each_group_alert(labels, &mut matched, |a| a.annotations = alert.annotations.clone());
                    }
                }
                None => self.insert(t_ms, labels, alert, &mut matched),
            }
        }
        let gone: Vec<LabelSet> = self.active.keys().filter(|l| !now.contains_key(*l)).cloned().collect();
        for labels in &gone {
            self.each_group_alert(labels, &mut matched, |a| a.ends_ms = Some(t_ms));
        }
        self.active = now;
    }

    /// Every notification due at or before `t_ms`, in time order (groups due at the same
    /// time in (route, group labels) order).
    pub fn poll(&mut self, t_ms: i64) -> Vec<Notification> {
        debug_assert!(t_ms >= self.last_t_ms, "Router::poll went back in time");
        self.last_t_ms = self.last_t_ms.max(t_ms);
        self.flush_until(t_ms, true);
        std::mem::take(&mut self.outbox)
    }

    /// When the next group flush is due, if any group exists: poll then.
    pub fn next_wake(&self) -> Option<i64> {
        self.groups.values().map(|g| g.next_flush_ms).min()
    }

    /// Alerts kept out of notifications by silences and inhibitions so far.
    pub fn suppressed(&self) -> SuppressionCounts {
        self.suppressed
    }

    /// How many alerts are firing (as of the last update).
    pub fn firing_alerts(&self) -> usize {
        self.active.len()
    }

    /// How many aggregation groups exist.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Marks a receiver's channel down (`reachable == false`) or back up. Notifications
    /// to a receiver that is down fail and are not logged, so the group's next tick sends
    /// them again (as Alertmanager's notification log records only successes); its
    /// `fallback` gets them at once.
    pub fn set_reachable(&mut self, receiver: &str, reachable: bool) {
        if reachable {
            self.unreachable.remove(receiver);
        } else {
            self.unreachable.insert(receiver.to_string());
        }
    }

    /// Sends one flush's notification to `receiver`, then down its fallbacks while the
    /// channel tried is down; each failure is in the outbox too. Whether anyone got it.
    fn send(
        &mut self,
        t_ms: i64,
        receiver: &Receiver,
        group_labels: &LabelSet,
        alerts: Vec<NotifiedAlert>,
        repeat: bool,
    ) -> bool {
        let first = Notification {
            t_ms,
            receiver: receiver.name.clone(),
            kind: receiver.kind.clone(),
            group_labels: group_labels.clone(),
            alerts,
            repeat,
            delivery: Delivery::Delivered,
            origin: Origin::Alert,
        };
        deliver(&self.receivers, &self.unreachable, receiver, first, &mut self.outbox)
    }

    /// Adds a silence (an operator muting an alert during an incident).
    pub fn add_silence(&mut self, silence: Silence) {
        self.silences.push(silence);
    }

    /// Puts a newly firing alert in each of its routes' groups.
    fn insert(&mut self, t_ms: i64, labels: &LabelSet, alert: &Active, matched: &mut Vec<usize>) {
        matched.clear();
        match_routes(&self.routes, 0, labels, matched);
        for &route in matched.iter() {
            let flat = &self.routes[route];
            let key = (route, flat.group_labels(labels));
            let group = self.groups.entry(key).or_insert_with(|| Group {
                alerts: BTreeMap::new(),
                next_flush_ms: t_ms + flat.group_wait_ms,
                has_flushed: false,
                log: None,
            });
            group.alerts.insert(
                labels.clone(),
                GroupAlert {
                    annotations: alert.annotations.clone(),
                    starts_ms: alert.starts_ms,
                    ends_ms: None,
                    muted_counted: false,
                },
            );
            // Alertmanager flushes a new group at once if an alert already waited out
            // group_wait before reaching it (it started firing long ago).
            if !group.has_flushed && alert.starts_ms + flat.group_wait_ms < t_ms {
                group.next_flush_ms = group.next_flush_ms.min(t_ms);
            }
        }
    }

    /// Applies `f` to the copy of this alert in each of its groups.
    fn each_group_alert(&mut self, labels: &LabelSet, matched: &mut Vec<usize>, mut f: impl FnMut(&mut GroupAlert)) {
        matched.clear();
        match_routes(&self.routes, 0, labels, matched);
        for &route in matched.iter() {
            let key = (route, self.routes[route].group_labels(labels));
            if let Some(a) = self.groups.get_mut(&key).and_then(|g| g.alerts.get_mut(labels)) {
                f(a);
            }
        }
    }

    /// Runs every flush due before `t_ms` (or at it, if `inclusive`), earliest first.
    fn flush_until(&mut self, t_ms: i64, inclusive: bool) {
        loop {
            let due = self
                .groups
                .iter()
                .filter(|(_, g)| g.next_flush_ms < t_ms || (inclusive && g.next_flush_ms == t_ms))
                .min_by_key(|(key, g)| (g.next_flush_ms, *key))
                .map(|(key, _)| key.clone());
            let Some(key) = due else { return };
            self.flush(key);
        }
    }

    /// One tick of a group's timer: mute, deduplicate, maybe notify, drop resolved alerts.
    fn flush(&mut self, key: GroupKey) {
        let Some(mut group) = self.groups.remove(&key) else { return };
        let t_ms = group.next_flush_ms;
        let (repeat_interval_ms, group_interval_ms) =
            (self.routes[key.0].repeat_interval_ms, self.routes[key.0].group_interval_ms);
        let receiver = self.route_receivers[key.0].clone();
        let mut kept = Vec::new();
        for (labels, alert) in &mut group.alerts {
            if self.inhibited(labels) {
                if !alert.muted_counted {
                    self.suppressed.inhibited += 1;
                    alert.muted_counted = true;
                }
            } else if self.silences.iter().any(|s| s.is_active(t_ms) && all_match(&s.matchers, labels)) {
                if !alert.muted_counted {
                    self.suppressed.silenced += 1;
                    alert.muted_counted = true;
                }
            } else {
                kept.push(NotifiedAlert {
                    labels: labels.clone(),
                    annotations: alert.annotations.clone(),
                    status: if alert.ends_ms.is_some() { AlertStatus::Resolved } else { AlertStatus::Firing },
                    starts_ms: alert.starts_ms,
                    ends_ms: alert.ends_ms,
                });
            }
        }
        // Alertmanager's pipeline stops when muting leaves nothing: no log update.
        if !kept.is_empty() {
            let firing: BTreeSet<LabelSet> =
                kept.iter().filter(|a| a.status == AlertStatus::Firing).map(|a| a.labels.clone()).collect();
            let resolved: BTreeSet<LabelSet> =
                kept.iter().filter(|a| a.status == AlertStatus::Resolved).map(|a| a.labels.clone()).collect();
            if let Some(repeat) =
                needs_update(group.log.as_ref(), &firing, &resolved, receiver.send_resolved, t_ms, repeat_interval_ms)
            {
                if !receiver.send_resolved {
                    kept.retain(|a| a.status == AlertStatus::Firing);
                }
                // A notification nobody got is not logged: the next tick sends it again.
                if kept.is_empty() || self.send(t_ms, &receiver, &key.1, kept, repeat) {
                    group.log = Some(LogEntry { t_ms, firing, resolved });
                }
            }
        }
        // Prometheus re-sends a resolved alert until RESOLVED_RETENTION_MS after it
        // resolved, and Alertmanager keeps an alert re-sent since the flush began: it is
        // listed (as resolved) in the group's notifications until then.
        group.alerts.retain(|_, a| a.ends_ms.is_none_or(|end| t_ms < end + RESOLVED_RETENTION_MS));
        group.has_flushed = true;
        group.next_flush_ms = t_ms + group_interval_ms;
        if !group.alerts.is_empty() {
            self.groups.insert(key, group);
        }
    }

    /// Whether a firing alert inhibits the alert with these labels (Alertmanager's
    /// inhibitor: an alert matching both sides is only inhibited by sources that do not
    /// also match the target side, so two such alerts do not mute each other).
    fn inhibited(&self, labels: &LabelSet) -> bool {
        self.inhibit_rules.iter().any(|rule| {
            if !all_match(&rule.target_matchers, labels) {
                return false;
            }
            let two_sided = all_match(&rule.source_matchers, labels);
            self.active.keys().any(|source| {
                source != labels
                    && all_match(&rule.source_matchers, source)
                    && !(two_sided && all_match(&rule.target_matchers, source))
                    && rule.equal.iter().all(|name| {
                        source.get(name).map_or("", String::as_str) == labels.get(name).map_or("", String::as_str)
                    })
            })
        })
    }
}

/// Alertmanager's `DedupStage.needsUpdate`: `None` if the flush sends nothing,
/// `Some(repeat)` if it notifies, `repeat` being true when only the repeat interval
/// called for it. (Alertmanager resends at the first tick *strictly after* the repeat
/// interval, which with real clock jitter is one `group_interval` late; here a tick
/// exactly `repeat_interval` after the last notification resends.)
fn needs_update(
    log: Option<&LogEntry>,
    firing: &BTreeSet<LabelSet>,
    resolved: &BTreeSet<LabelSet>,
    send_resolved: bool,
    t_ms: i64,
    repeat_interval_ms: i64,
) -> Option<bool> {
    let Some(log) = log else {
        return (!firing.is_empty()).then_some(false);
    };
    if !firing.is_subset(&log.firing) {
        return Some(false);
    }
    if firing.is_empty() {
        return (!log.firing.is_empty()).then_some(false);
    }
    if send_resolved && !resolved.is_subset(&log.resolved) {
        return Some(false);
    }
    (t_ms >= log.t_ms + repeat_interval_ms).then_some(true)
}
