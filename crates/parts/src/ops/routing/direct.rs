//! Direct messages: a notification to one receiver that skips the route tree, grouping,
//! muting and deduplication, as a CI system messages the person whose commit broke the
//! pipeline. It still goes through the receiver's channel, so a channel that is down
//! (a `notification_outage`) fails it and its `fallback` chain is tried at once, exactly
//! as for a group's notification. A direct message is not retried: a failed one with no
//! fallback that is up reaches nobody.

use std::collections::BTreeSet;

use super::config::Receiver;
use super::group::{AlertStatus, Delivery, Notification, NotifiedAlert, Router};
use super::matcher::LabelSet;

/// The alert name a pipeline failure's message carries (in `alerts[]` of the summary).
pub const PIPELINE_ALERTNAME: &str = "PipelineFailed";

/// What sent a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Alert routing: an aggregation group's flush.
    Alert,
    /// A failed release's pipeline telling its committer ([`Router::send_direct`]).
    Pipeline {
        /// Who committed the release.
        author: String,
        /// The release's version.
        version: String,
    },
}

impl Origin {
    /// `alert` or `pipeline`, as `summary.json` writes it (`notifications[].kind`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Alert => "alert",
            Origin::Pipeline { .. } => "pipeline",
        }
    }
}

/// A direct message: who it is about and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectMessage {
    /// What sends it (never [`Origin::Alert`] in practice: alerts go through groups).
    pub origin: Origin,
    /// One line: what happened and why.
    pub summary: String,
}

/// Pushes `first` (to `receiver`) into `out`, then a copy to each fallback in turn while
/// the channel tried is down (`unreachable`); whether anyone got it. `first.delivery` is
/// ignored: each copy gets the delivery it had.
pub(super) fn deliver(
    receivers: &[Receiver],
    unreachable: &BTreeSet<String>,
    receiver: &Receiver,
    first: Notification,
    out: &mut Vec<Notification>,
) -> bool {
    let mut to = receiver;
    let mut delivery = Delivery::Delivered;
    loop {
        let down = unreachable.contains(&to.name);
        out.push(Notification {
            receiver: to.name.clone(),
            kind: to.kind.clone(),
            delivery: if down { Delivery::Failed } else { delivery },
            ..first.clone()
        });
        if !down {
            return true;
        }
        // `check` ruled out unknown fallbacks and cycles.
        let Some(next) = to.fallback.as_deref().and_then(|f| receivers.iter().find(|r| r.name == f)) else {
            return false;
        };
        to = next;
        delivery = Delivery::Fallback { from: receiver.name.clone() };
    }
}

impl Router {
    /// Sends `message` to the receiver named `receiver` at `t_ms`, now, with no grouping:
    /// the attempts in order (a failed one per receiver that is down, then the one that
    /// got through, if any). Empty when no receiver has that name.
    ///
    /// ```
    /// use prodsim_parts::ops::routing::*;
    ///
    /// let mut slack = Receiver::new("deploys", ReceiverKind::Slack { channel: "#deploys".into() }, false);
    /// slack.fallback = Some("mail".into());
    /// let mail = Receiver::new("mail", ReceiverKind::Email { to: "dev@example.com".into() }, false);
    /// let config = RoutingConfig {
    ///     route: Route::to("deploys"),
    ///     receivers: vec![slack, mail],
    ///     inhibit_rules: vec![],
    ///     silences: vec![],
    /// };
    /// let mut router = Router::new(config);
    /// let origin = Origin::Pipeline { author: "alice".into(), version: "v2".into() };
    /// let message = DirectMessage { origin, summary: "the tests stage failed".into() };
    /// router.set_reachable("deploys", false);
    /// let sent = router.send_direct(60_000, "deploys", &message);
    /// assert_eq!(sent.len(), 2);
    /// assert_eq!(sent[0].delivery, Delivery::Failed);
    /// assert_eq!(sent[1].delivery, Delivery::Fallback { from: "deploys".into() });
    /// assert!(render(&sent[1]).starts_with("+1m00s email to dev@example.com"));
    /// assert_eq!(router.groups(), 0, "no group is created");
    /// ```
    pub fn send_direct(&self, t_ms: i64, receiver: &str, message: &DirectMessage) -> Vec<Notification> {
        let mut out = Vec::new();
        let Some(to) = self.receivers.iter().find(|r| r.name == receiver) else { return out };
        let mut labels = LabelSet::new();
        labels.insert("alertname".to_string(), PIPELINE_ALERTNAME.to_string());
        if let Origin::Pipeline { author, version } = &message.origin {
            labels.insert("author".to_string(), author.clone());
            labels.insert("version".to_string(), version.clone());
        }
        let mut annotations = LabelSet::new();
        annotations.insert("summary".to_string(), message.summary.clone());
        let first = Notification {
            t_ms,
            receiver: to.name.clone(),
            kind: to.kind.clone(),
            group_labels: LabelSet::new(),
            alerts: vec![NotifiedAlert {
                labels,
                annotations,
                status: AlertStatus::Firing,
                starts_ms: t_ms,
                ends_ms: None,
            }],
            repeat: false,
            delivery: Delivery::Delivered,
            origin: message.origin.clone(),
        };
        deliver(&self.receivers, &self.unreachable, to, first, &mut out);
        out
    }
}
