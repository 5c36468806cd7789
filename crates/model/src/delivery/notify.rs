//! A failed pipeline tells the committer, as CI does: when a release's stage fails, or the
//! pipeline itself rolls it back (canary analysis, health check, a `rollback_on` alert) or
//! stops it without a way back, its author gets a direct message through the
//! `[pipeline] notify` receiver at that instant. The message skips alert routing (no group,
//! no page), but its channel can be down (a `notification_outage`), in which case the
//! receiver's fallbacks are tried at once; it is not retried.

use prodsim_kernel::SimTime;
use prodsim_parts::ops::routing::{DirectMessage, Notification, Origin, Router, RoutingConfig};

use crate::engine::Engine;

/// The router that carries pipeline messages (every receiver, their channels' state) and
/// what it sent.
pub(crate) struct Committers {
    pub(crate) router: Router,
    /// Every attempt, in time order (failed ones included).
    pub(crate) sent: Vec<Notification>,
}

impl Committers {
    /// Pipeline messages over `routing`'s receivers.
    pub(crate) fn new(routing: &RoutingConfig) -> Committers {
        Committers { router: Router::new(routing.clone()), sent: Vec::new() }
    }
}

impl Engine {
    /// Release `r`'s pipeline `what` (`failed`, `rolled back`, `stopped`; its reason says
    /// why): its author is told now, if `[pipeline] notify` names a receiver and the
    /// release has an author. Records when the message reached someone.
    pub(crate) fn notify_committer(&mut self, now: SimTime, r: usize, what: &str) {
        let (Some(d), Some(m)) = (self.delivery.as_mut(), self.monitor.as_mut()) else { return };
        let Some(receiver) = d.spec.pipeline.notify.as_deref() else { return };
        let rel = &mut d.releases[r];
        let Some(author) = rel.author.clone() else { return };
        let version = d.versions[rel.version as usize].name.clone();
        let why = rel.reason.as_deref().unwrap_or("no reason recorded");
        let message = DirectMessage {
            summary: format!("{version} by {author} {what}: {why}"),
            origin: Origin::Pipeline { author, version },
        };
        let t_ms = (now.as_nanos() / 1_000_000) as i64;
        let sent = m.committers.router.send_direct(t_ms, receiver, &message);
        if sent.iter().any(|n| n.delivery.reached()) {
            rel.notified_ns = Some(now.as_nanos());
        }
        m.committers.sent.extend(sent);
    }
}
