//! Incident response at run time: notifications page the on-call rotation
//! (`prodsim_parts::ops::oncall` decides who acknowledges when), the responder investigates,
//! then runs the playbooks of the paged alerts — roll back, ship a hotfix through the
//! pipeline, scale out, fail the database over, turn a feature flag off, switch on
//! graceful degradation. Actions take simulated time and can fail; a failed attempt is
//! tried again, up to three attempts.

use rand::RngExt;

use prodsim_kernel::{Dist, EventQueue, Purpose, SimRng, SimTime, Streams};
use prodsim_parts::ops::oncall::OnCall;
use prodsim_parts::ops::routing::AlertStatus;
use prodsim_scenario::Scenario;
use prodsim_scenario::delivery::{DeliverySpec, PlaybookAction, PlaybookSpec, ServiceId};

use crate::engine::Engine;
use crate::event::{Event, ResponseEvent};

/// Most attempts at one action.
const MAX_ATTEMPTS: u32 = 3;

/// A person's time, rounded up to whole seconds (people act on a clock of seconds, and
/// reports read better for it).
fn human(ns: u64) -> u64 {
    ns.div_ceil(prodsim_kernel::NS_PER_S) * prodsim_kernel::NS_PER_S
}

/// One playbook action, as it went.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    /// The alert whose playbook it is.
    pub alert: String,
    /// `rollback`, `hotfix v1.0.1`, `scale_out 4`, ...
    pub action: String,
    /// The responder who ran it.
    pub by: String,
    /// The page it answered.
    pub page: u32,
    /// When the first attempt started, ns.
    pub started_ns: u64,
    /// When the last attempt ended, ns (`None` while under way at the end of the run).
    pub finished_ns: Option<u64>,
    /// Attempts made.
    pub attempts: u32,
    /// Whether it did what it was meant to.
    pub succeeded: bool,
    /// Why it failed, or what it led to.
    pub note: Option<String>,
    /// The playbook it came from; `None` for a player's action in a game day.
    playbook: Option<usize>,
}

impl ActionRecord {
    /// Playbook `k`'s action started by `by` at `now` for `alert` on page `page`, its
    /// first attempt under way.
    fn under_way(alert: String, action: String, by: String, page: u32, now: SimTime, k: usize) -> ActionRecord {
        ActionRecord {
            alert,
            action,
            by,
            page,
            started_ns: now.as_nanos(),
            finished_ns: None,
            attempts: 1,
            succeeded: false,
            note: None,
            playbook: Some(k),
        }
    }
}

/// What happened to one page beyond `ops::oncall`'s record.
#[derive(Clone, Debug, Default)]
struct PageWork {
    responded: bool,
    /// Playbooks started for it.
    started: Vec<usize>,
}

/// The on-call rotation, the playbooks and what they did.
pub(crate) struct Response {
    pub(crate) oncall: Option<OnCall>,
    receivers: Vec<String>,
    investigate: Option<Dist>,
    playbooks: Vec<PlaybookSpec>,
    rng: SimRng,
    work: Vec<PageWork>,
    pub(crate) actions: Vec<ActionRecord>,
    /// Per rule set: notifications already seen.
    seen: Vec<usize>,
    /// A person is the on-call (a game day): pages open, but nobody simulated
    /// acknowledges them or runs a playbook.
    player: bool,
}

impl Response {
    /// No on-call, no playbooks, nothing seen or done yet.
    fn idle(streams: &Streams) -> Response {
        Response {
            oncall: None,
            receivers: Vec::new(),
            investigate: None,
            playbooks: Vec::new(),
            rng: streams.rng(Purpose::Playbooks, ""),
            work: Vec::new(),
            actions: Vec::new(),
            seen: Vec::new(),
            player: false,
        }
    }
}

/// Who a player is in the records (pages acknowledged, actions run).
pub const PLAYER: &str = "player";

impl Engine {
    /// Sets up the on-call rotation and the playbooks.
    pub(crate) fn build_response(&mut self, spec: &DeliverySpec, scenario: &Scenario, streams: &Streams) {
        if spec.oncall.is_none() && spec.playbooks.is_empty() {
            return;
        }
        let business = scenario.topology.monitoring.as_ref().map(|m| m.business_hours).unwrap_or_default();
        let oncall = spec
            .oncall
            .as_ref()
            .map(|o| OnCall::new(o, business, scenario.start_time_s, streams.rng(Purpose::OnCall, "")));
        self.response = Some(Box::new(Response {
            oncall,
            receivers: spec.oncall.as_ref().map_or_else(Vec::new, |o| o.receivers.clone()),
            investigate: spec.oncall.as_ref().map(|o| o.investigate.clone()),
            playbooks: spec.playbooks.clone(),
            ..Response::idle(streams)
        }));
    }

    /// Notifications sent since the last look: the firing ones to the on-call's receivers
    /// page the rotation (or join the page already open).
    pub(crate) fn page_new_notifications(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let (Some(m), Some(resp)) = (self.monitor.as_ref(), self.response.as_mut()) else { return };
        resp.seen.resize(m.sets.len(), 0);
        let mut alerts: Vec<String> = Vec::new();
        for (k, set) in m.sets.iter().enumerate() {
            for n in set.notifications[resp.seen[k]..].iter().filter(|n| n.delivery.reached()) {
                // With `receivers`, what reaches them pages; without, what carries a
                // paging alert (severity `page` or `critical`) does.
                let firing = || n.alerts.iter().filter(|a| a.status == AlertStatus::Firing);
                let pages = if resp.receivers.is_empty() {
                    firing()
                        .any(|a| a.labels.get("severity").is_some_and(|s| prodsim_parts::ops::quality::is_paging(s)))
                } else {
                    n.firing() > 0 && resp.receivers.contains(&n.receiver)
                };
                if !pages {
                    continue;
                }
                for a in firing() {
                    if let Some(name) = a.labels.get("alertname") {
                        if !alerts.contains(name) {
                            alerts.push(name.clone());
                        }
                    }
                }
            }
            resp.seen[k] = set.notifications.len();
        }
        if alerts.is_empty() {
            return;
        }
        let Some(oncall) = resp.oncall.as_mut() else { return };
        match oncall.notify(now.as_nanos(), &alerts) {
            Some(id) => {
                resp.work.resize(id as usize + 1, PageWork::default());
                if resp.player {
                    oncall.drop_planned_acknowledgement();
                    return;
                }
                if let Some(ack) = &oncall.pages()[id as usize].acknowledged {
                    queue.schedule(SimTime(ack.at_ns), Event::Response(ResponseEvent::Acknowledge { page: id }));
                }
            }
            None => {
                // New alerts joined the open page: a responder already at work acts on them.
                if let Some(p) = oncall.open_page() {
                    let id = p.id;
                    if resp.work.get(id as usize).is_some_and(|w| w.responded) {
                        queue.schedule(now, Event::Response(ResponseEvent::Respond { page: id }));
                    }
                }
            }
        }
    }

    /// The alerts firing now (every set): the open page closes when none of its alerts is
    /// among them.
    pub(crate) fn close_quiet_page(&mut self, now: SimTime, firing: &[String]) {
        let Some(oncall) = self.response.as_mut().and_then(|r| r.oncall.as_mut()) else { return };
        if oncall.open_page().is_some_and(|p| !p.alerts.iter().any(|a| firing.contains(a))) {
            oncall.close(now.as_nanos());
        }
    }

    pub(crate) fn on_acknowledge(&mut self, now: SimTime, page: u32, queue: &mut EventQueue<Event>) {
        let Some(resp) = self.response.as_mut() else { return };
        let Some(d) = resp.investigate.as_ref() else { return };
        let at = now.after(human(d.sample_ns(&mut resp.rng)));
        queue.schedule(at, Event::Response(ResponseEvent::Respond { page }));
    }

    /// The responder of `page` runs the first playbook of each of its alerts not yet run.
    pub(crate) fn on_respond(&mut self, now: SimTime, page: u32, queue: &mut EventQueue<Event>) {
        let Some(resp) = self.response.as_deref() else { return };
        let Some(oncall) = resp.oncall.as_ref() else { return };
        let Some(p) = oncall.pages().get(page as usize) else { return };
        let by = p.acknowledged.as_ref().map_or_else(|| "nobody".to_string(), |a| a.by.clone());
        let alerts = p.alerts.clone();
        let Some(work) = resp.work.get(page as usize) else { return };
        let can = |action: &PlaybookAction| self.can_do(action);
        let mut chosen: Vec<(String, usize)> = Vec::new();
        for alert in alerts {
            // The alert's playbooks in file order: the first that can be done here (a
            // rollback needs a plan and a release; a failover, a replica), else the first.
            let mine: Vec<usize> = (0..resp.playbooks.len()).filter(|&k| resp.playbooks[k].alert == alert).collect();
            let Some(&first) = mine.first() else { continue };
            if mine.iter().any(|k| work.started.contains(k)) {
                continue;
            }
            let k = mine.iter().copied().find(|&k| can(&resp.playbooks[k].action)).unwrap_or(first);
            // A rollback with nothing live to roll back (the pipeline already did) is not
            // attempted; one without a plan is, and fails: that is a finding.
            let nothing_live = self.delivery.as_deref().is_none_or(|d| {
                d.newest_live(matches!(resp.playbooks[k].action, PlaybookAction::DisableFlag)).is_none()
            });
            if matches!(resp.playbooks[k].action, PlaybookAction::Rollback | PlaybookAction::DisableFlag)
                && nothing_live
            {
                continue;
            }
            chosen.push((alert, k));
        }
        let Some(resp) = self.response.as_mut() else { return };
        let Some(work) = resp.work.get_mut(page as usize) else { return };
        work.responded = true;
        for (alert, k) in chosen {
            work.started.push(k);
            let pb = &resp.playbooks[k];
            let action = action_name(&pb.action);
            let id = resp.actions.len() as u32;
            resp.actions.push(ActionRecord::under_way(alert, action, by.clone(), page, now, k));
            let at = now.after(human(pb.duration.sample_ns(&mut resp.rng)));
            queue.schedule(at, Event::Response(ResponseEvent::ActionDone { action: id }));
        }
    }

    /// Whether `action` can be done now (what a responder checks before picking it).
    fn can_do(&self, action: &PlaybookAction) -> bool {
        self.why_not(action).is_none()
    }

    /// Why `action` cannot be done now, or `None` when it can.
    pub(crate) fn why_not(&self, action: &PlaybookAction) -> Option<&'static str> {
        let d = self.delivery.as_deref();
        match action {
            PlaybookAction::Rollback => {
                let Some((d, r)) = d.and_then(|d| d.newest_live(false).map(|r| (d, r))) else {
                    return Some("no release to roll back: no version is live but the first");
                };
                let plan = d.spec.pipeline.rollback_ns.is_some()
                    || matches!(
                        d.releases[r].strategy,
                        prodsim_scenario::delivery::ReleaseStrategy::BlueGreen
                            | prodsim_scenario::delivery::ReleaseStrategy::FeatureFlag { .. }
                    );
                (!plan).then_some("no rollback plan: [pipeline] has no `rollback`")
            }
            PlaybookAction::DisableFlag => {
                d.and_then(|d| d.newest_live(true)).is_none().then_some("no feature flag is on")
            }
            PlaybookAction::Failover => {
                self.db.as_ref().is_none_or(|db| db.replicas.is_empty()).then_some("no replica to promote")
            }
            PlaybookAction::ScaleOut { .. } => {
                self.scaling.spec.is_none().then_some("the pool cannot grow: set [servers] max_count")
            }
            PlaybookAction::Hotfix { .. } | PlaybookAction::Degrade { .. } => None,
        }
    }

    /// A person is the on-call from now on (a game day): see [`Response`]'s `player`.
    pub(crate) fn enter_player_mode(&mut self, seed: u64) {
        match self.response.as_mut() {
            Some(r) => r.player = true,
            None => self.response = Some(Box::new(Response { player: true, ..Response::idle(&Streams::new(seed)) })),
        }
    }

    /// The player acknowledges the open page now; its id, or why not.
    pub(crate) fn player_acknowledge(&mut self, now: SimTime) -> Result<u32, String> {
        let Some(oncall) = self.response.as_mut().and_then(|r| r.oncall.as_mut()) else {
            return Err("nobody is paged: the scenario has no [oncall]".to_string());
        };
        oncall.acknowledge(now.as_nanos(), PLAYER).map_err(str::to_string)
    }

    /// The player runs `action` now, through the playbooks' own code
    /// ([`Engine::take_action`]); what it led to, or why it cannot be done (then nothing
    /// changed). A done action is recorded like a playbook's, by [`PLAYER`].
    pub(crate) fn player_act(
        &mut self,
        now: SimTime,
        action: &PlaybookAction,
        queue: &mut EventQueue<Event>,
    ) -> Result<Option<String>, String> {
        if let Some(why) = self.why_not(action) {
            return Err(why.to_string());
        }
        let note = self.take_action(now, action, PLAYER, queue)?;
        let Some(resp) = self.response.as_mut() else { return Ok(note) };
        let page = resp.oncall.as_ref().and_then(|o| o.open_page().or(o.pages().last()));
        resp.actions.push(ActionRecord {
            alert: page.map_or_else(String::new, |p| p.alerts.join(", ")),
            action: action_name(action),
            by: PLAYER.to_string(),
            page: page.map_or(0, |p| p.id),
            started_ns: now.as_nanos(),
            finished_ns: Some(now.as_nanos()),
            attempts: 1,
            succeeded: true,
            note: note.clone(),
            playbook: None,
        });
        Ok(note)
    }

    /// The player switches on graceful degradation for service `dependency` now; why not
    /// when the run keeps no run-time switches or the service is already degraded.
    pub(crate) fn player_degrade(
        &mut self,
        now: SimTime,
        dependency: ServiceId,
        queue: &mut EventQueue<Event>,
    ) -> Result<Option<String>, String> {
        let station = dependency as usize + 1;
        let name = self.stations[station].name.clone();
        let Some(d) = self.delivery.as_deref() else {
            return Err("degradation is switched at run time by the release model, and the scenario has none \
                 (no [pipeline], [[deploys]], [oncall] or [[playbooks]])"
                .to_string());
        };
        if d.runtime_degrade[station] {
            return Err(format!("{name} is already degraded"));
        }
        self.player_act(now, &PlaybookAction::Degrade { dependency }, queue)?;
        Ok(Some(format!("graceful degradation for {name}")))
    }

    /// The player ships the scenario's hotfix now, as its `hotfix` playbook does: written
    /// for the playbook's `duration` (an attempt can fail and is tried again), then merged
    /// and shipped through the pipeline's hotfix path. The hotfix is the playbook's for an
    /// alert of the open page, else the first in file order; each ships once.
    pub(crate) fn player_hotfix(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue<Event>,
    ) -> Result<Option<String>, String> {
        let none = "the scenario defines no hotfix: a game day ships the version of a [[playbooks]] entry \
                    with action = \"hotfix\", and there is none";
        let Some(resp) = self.response.as_mut() else { return Err(none.to_string()) };
        let oncall = resp.oncall.as_ref();
        let open_alerts = oncall.and_then(|o| o.open_page()).map_or_else(Vec::new, |p| p.alerts.clone());
        // Recorded against the page as the player's other actions are (none: no alert).
        let (page, alert) = oncall
            .and_then(|o| o.open_page().or(o.pages().last()))
            .map_or((0, String::new()), |p| (p.id, p.alerts.join(", ")));
        let hotfixes: Vec<usize> = (0..resp.playbooks.len())
            .filter(|&k| matches!(resp.playbooks[k].action, PlaybookAction::Hotfix { .. }))
            .collect();
        let Some(&first) = hotfixes.first() else { return Err(none.to_string()) };
        let k = hotfixes.iter().copied().find(|&k| open_alerts.contains(&resp.playbooks[k].alert)).unwrap_or(first);
        let pb = resp.playbooks[k].clone();
        let action = action_name(&pb.action);
        if let Some(done) = resp.actions.iter().find(|a| a.playbook == Some(k)) {
            let when = if done.finished_ns.is_some() { "already shipped" } else { "already being written" };
            return Err(format!("{action} is {when} (the scenario defines it once)"));
        }
        let write_ns = human(pb.duration.sample_ns(&mut resp.rng));
        let id = resp.actions.len() as u32;
        resp.actions.push(ActionRecord::under_way(alert, action.clone(), PLAYER.to_string(), page, now, k));
        queue.schedule(now.after(write_ns), Event::Response(ResponseEvent::ActionDone { action: id }));
        let minutes = write_ns as f64 / 60e9;
        Ok(Some(format!("writing {action} ({minutes:.1} min), then the pipeline ships it")))
    }

    /// An attempt at action `a` ends: it failed (and is tried again), or it takes effect.
    pub(crate) fn on_action_done(&mut self, now: SimTime, a: usize, queue: &mut EventQueue<Event>) {
        let Some(resp) = self.response.as_mut() else { return };
        let Some(k) = resp.actions[a].playbook else { return };
        let pb = resp.playbooks[k].clone();
        if pb.failure > 0.0 && resp.rng.random::<f64>() < pb.failure {
            let rec = &mut resp.actions[a];
            if rec.attempts < MAX_ATTEMPTS {
                rec.attempts += 1;
                let at = now.after(human(pb.duration.sample_ns(&mut resp.rng)));
                queue.schedule(at, Event::Response(ResponseEvent::ActionDone { action: a as u32 }));
            } else {
                rec.finished_ns = Some(now.as_nanos());
                rec.note = Some(format!("failed {MAX_ATTEMPTS} times"));
            }
            return;
        }
        let by = resp.actions[a].by.clone();
        let result = self.take_action(now, &pb.action, &by, queue);
        let Some(resp) = self.response.as_mut() else { return };
        let rec = &mut resp.actions[a];
        rec.finished_ns = Some(now.as_nanos());
        match result {
            Ok(note) => {
                rec.succeeded = true;
                rec.note = note;
            }
            Err(why) => rec.note = Some(why),
        }
    }

    /// Does `action` now; what it led to, or why it could not be done.
    fn take_action(
        &mut self,
        now: SimTime,
        action: &PlaybookAction,
        by: &str,
        queue: &mut EventQueue<Event>,
    ) -> Result<Option<String>, String> {
        let mitigated = |s: &mut Engine, what: String| {
            if let Some(d) = s.delivery.as_mut() {
                d.mitigations.push(crate::delivery::Mitigation { t_ns: now.as_nanos(), what, by: by.to_string() });
            }
        };
        match action {
            PlaybookAction::Rollback | PlaybookAction::DisableFlag => {
                let flags = matches!(action, PlaybookAction::DisableFlag);
                let Some(r) = self.delivery.as_ref().and_then(|d| d.newest_live(flags)) else {
                    return Err(if flags { "no feature flag is on" } else { "no release to roll back" }.to_string());
                };
                let why = format!("{by} ran the {} playbook", action.name());
                if self.roll_back(now, r, why, by, queue) {
                    Ok(Some("rollback started".to_string()))
                } else {
                    Err("no rollback plan: [pipeline] has no `rollback`".to_string())
                }
            }
            PlaybookAction::Hotfix { version, strategy, effects } => {
                let classes = self.flow.classes.cumulative.len();
                let Some(d) = self.delivery.as_mut() else { return Err("no pipeline".to_string()) };
                let v = d.add_version(version, effects.clone(), classes);
                let r = d.add_release(v, strategy.clone(), Vec::new(), by, true, now.as_nanos());
                self.merge_release(now, r, queue);
                Ok(Some(format!("{version} merged; the pipeline ships it")))
            }
            PlaybookAction::ScaleOut { count } => {
                let Some(spec) = self.scaling.spec.as_ref() else {
                    return Err("the pool cannot grow: set [servers] max_count".to_string());
                };
                let hi = spec.autoscaling.map_or(spec.max, |a| a.max);
                let current = self.scaling.life.iter().filter(|l| **l != crate::scaling::Life::Off).count() as u32;
                if current >= hi {
                    return Err(format!("the pool is already at its most servers ({hi})"));
                }
                self.set_target(now, current.saturating_add(*count).min(hi), queue);
                mitigated(self, format!("scale out by {count}"));
                Ok(None)
            }
            PlaybookAction::Failover => {
                if self.db.as_ref().is_none_or(|db| db.replicas.is_empty()) {
                    return Err("no replica to promote".to_string());
                }
                self.promote_replica(now);
                mitigated(self, "database failover".to_string());
                Ok(None)
            }
            PlaybookAction::Degrade { dependency } => {
                let station = *dependency as usize + 1;
                let name = self.stations[station].name.clone();
                if let Some(d) = self.delivery.as_mut() {
                    d.runtime_degrade[station] = true;
                }
                mitigated(self, format!("graceful degradation for {name}"));
                Ok(None)
            }
        }
    }
}

/// How an action reads in the records: `rollback`, `hotfix v1.0.1`, `scale_out 4`, ...
fn action_name(action: &PlaybookAction) -> String {
    match action {
        PlaybookAction::Hotfix { version, .. } => format!("hotfix {version}"),
        PlaybookAction::ScaleOut { count } => format!("scale_out {count}"),
        other => other.name().to_string(),
    }
}
