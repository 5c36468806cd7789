//! A run driven step by step, with a person as the on-call: the engine of a game day
//! (`prodsim serve`) and of its replay (`prodsim run --actions`).
//!
//! A [`Session`] is the same engine [`crate::simulate`] runs, advanced by
//! [`Session::advance_to`] in as many steps as the caller likes: the kernel's run loop
//! handles every event at or before the step's end, so any sequence of steps processes the
//! same events in the same order as one run. Between steps the player acts
//! ([`Session::apply`]) at the session's current time, through the playbooks' own code
//! (`response.rs`). An action recorded with its time and applied again at that time in
//! another session gives the same run: that is what makes a game day replay exactly.
//!
//! Pure like the rest of the engine: no I/O, no wall clock.

use prodsim_kernel::{EventQueue, Limits, NoObserver, RunStats, SimError, SimTime};
use prodsim_parts::faults::{Fault, FaultKind};
use prodsim_parts::ops::oncall::Page;
use prodsim_parts::ops::routing::Notification;
use prodsim_scenario::Scenario;
use prodsim_scenario::delivery::{PlaybookAction, ServiceId};
use prodsim_scenario::inject::FaultSpec;
use thiserror::Error;

use crate::engine::Engine;
use crate::event::Event;
pub use crate::logging::{LogTail, TAIL_LINES};
use crate::outcome::{Outcome, Row, ScoreSoFar};
use crate::{RunError, estimate};

pub use crate::response::PLAYER;

/// The name of an instructor's injection in errors, `session.json` and the HTTP API.
pub const INJECT: &str = "inject";

/// What a player can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge the open page.
    Acknowledge,
    /// Roll back the newest release still live.
    Rollback,
    /// Add `count` app servers (up to the pool's most).
    ScaleOut {
        /// Servers to add.
        count: u32,
    },
    /// Promote a database replica.
    Failover,
    /// Turn off the newest feature flag that is on.
    DisableFlag,
    /// Switch on graceful degradation for the dependency (a service) named here.
    Degrade {
        /// The service's name in the scenario.
        dependency: String,
    },
    /// Ship the scenario's hotfix (a `hotfix` playbook's version, effects and strategy):
    /// written for the playbook's `duration`, then through the pipeline's hotfix path.
    Hotfix,
}

impl Action {
    /// The action's name in `session.json` and the HTTP API.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Rollback => "rollback",
            Action::ScaleOut { .. } => "scale_out",
            Action::Failover => "failover",
            Action::DisableFlag => "disable_flag",
            Action::Degrade { .. } => "degrade",
            Action::Hotfix => "hotfix",
        }
    }
}

/// Why an action was not done (nothing changed).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ActionError {
    /// It is impossible now, for the reason given.
    #[error("cannot {action} now: {why}")]
    Impossible {
        /// The action's name.
        action: &'static str,
        /// Why.
        why: String,
    },
    /// It names something the scenario does not have (a service that is not one).
    #[error("{action}: {why}")]
    Invalid {
        /// The action's name.
        action: &'static str,
        /// What is wrong, with the valid names.
        why: String,
    },
    /// The run has reached its end.
    #[error("the run is over")]
    Over,
}

/// A run in progress: see the module comment.
pub struct Session {
    scenario: Scenario,
    seed: u64,
    engine: Engine,
    queue: EventQueue<Event>,
    now: SimTime,
    events: u64,
}

impl Session {
    /// Starts `scenario` with `seed`, the player on call; refused like [`crate::simulate`]
    /// when its estimate is over `[limits]`.
    pub fn new(scenario: &Scenario, seed: u64) -> Result<Session, RunError> {
        estimate::estimate(scenario).check(&scenario.limits)?;
        let mut queue = EventQueue::with_capacity(4096);
        let mut engine = Engine::new(scenario, seed, &mut queue);
        engine.enter_player_mode(seed);
        let mut session = Session { scenario: scenario.clone(), seed, engine, queue, now: SimTime::ZERO, events: 0 };
        // The events at t = 0 are handled before the player can act, as in any step.
        session.run_to(SimTime::ZERO)?;
        Ok(session)
    }

    /// The scenario, with the faults injected so far in its `faults`.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The simulated time the run has reached.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The end of the run (the scenario's duration).
    pub fn end(&self) -> SimTime {
        SimTime(self.scenario.duration_ns)
    }

    /// The names of the scenario's services (what [`Action::Degrade`] names), in file order.
    pub fn services(&self) -> Vec<&str> {
        self.scenario.topology.services.iter().map(|s| s.name.as_str()).collect()
    }

    /// The versions of the scenario's `hotfix` playbooks (what [`Action::Hotfix`] ships),
    /// in file order; empty when it defines none.
    pub fn hotfixes(&self) -> Vec<&str> {
        let playbooks = self.scenario.topology.delivery.as_ref().map_or(&[][..], |d| &d.playbooks[..]);
        playbooks
            .iter()
            .filter_map(|p| match &p.action {
                PlaybookAction::Hotfix { version, .. } => Some(version.as_str()),
                PlaybookAction::Rollback
                | PlaybookAction::ScaleOut { .. }
                | PlaybookAction::Failover
                | PlaybookAction::DisableFlag
                | PlaybookAction::Degrade { .. } => None,
            })
            .collect()
    }

    /// Whether the run has reached its end.
    pub fn is_over(&self) -> bool {
        self.now >= self.end()
    }

    /// Handles every event at or before `t` (at most the end of the run); an earlier `t`
    /// does nothing.
    pub fn advance_to(&mut self, t: SimTime) -> Result<(), RunError> {
        let t = t.min(self.end());
        if t <= self.now {
            return Ok(());
        }
        self.run_to(t)
    }

    /// The kernel's run loop up to `t`, the event limit counting every step.
    fn run_to(&mut self, t: SimTime) -> Result<(), RunError> {
        let max_events = self.scenario.limits.max_events;
        let limits = Limits {
            end: t,
            max_events: max_events.saturating_sub(self.events),
            max_in_flight: self.scenario.limits.max_in_flight,
        };
        let stats =
            prodsim_kernel::run_observed(&mut self.engine, &mut self.queue, &limits, &mut NoObserver).map_err(|e| {
                match e {
                    SimError::TooManyEvents { at, .. } => SimError::TooManyEvents { limit: max_events, at },
                    other => other,
                }
            })?;
        self.events += stats.events;
        self.now = t;
        Ok(())
    }

    /// The player does `action` now; what it led to, or why it was not done.
    pub fn apply(&mut self, action: &Action) -> Result<Option<String>, ActionError> {
        if self.is_over() {
            return Err(ActionError::Over);
        }
        let impossible = |why: String| ActionError::Impossible { action: action.name(), why };
        let pb = match action {
            Action::Acknowledge => {
                let page = self.engine.player_acknowledge(self.now).map_err(impossible)?;
                return Ok(Some(format!("page #{page} acknowledged")));
            }
            Action::Degrade { dependency } => {
                let service = self.service_id(dependency)?;
                return self.engine.player_degrade(self.now, service, &mut self.queue).map_err(impossible);
            }
            Action::Hotfix => return self.engine.player_hotfix(self.now, &mut self.queue).map_err(impossible),
            Action::Rollback => PlaybookAction::Rollback,
            Action::ScaleOut { count } => PlaybookAction::ScaleOut { count: *count },
            Action::Failover => PlaybookAction::Failover,
            Action::DisableFlag => PlaybookAction::DisableFlag,
        };
        self.engine.player_act(self.now, &pb, &mut self.queue).map_err(impossible)
    }

    /// The instructor injects `spec` now: resolved against the scenario as a `[[faults]]`
    /// table starting now ([`prodsim_scenario::inject::resolve`]), it starts at once, by
    /// the code a scenario fault's start runs, and ends after its `duration`. Returns the
    /// fault. A kind, target or parameter the scenario refuses is [`ActionError::Invalid`];
    /// a kind that cannot start mid-run (`traffic_spike`, `ddos`: the arrivals are drawn
    /// when the run is built) too; the same kind on the same target in force already is
    /// [`ActionError::Impossible`].
    pub fn inject(&mut self, spec: &FaultSpec) -> Result<Fault, ActionError> {
        if self.is_over() {
            return Err(ActionError::Over);
        }
        let fault = prodsim_scenario::inject::resolve(&self.scenario, spec, self.now.as_nanos())
            .map_err(|why| ActionError::Invalid { action: INJECT, why })?;
        if let Some(why) = crate::faults::mid_run_refusal(&fault.kind) {
            return Err(ActionError::Invalid { action: INJECT, why });
        }
        self.engine
            .inject_fault(self.now, fault.clone(), &mut self.queue)
            .map_err(|why| ActionError::Impossible { action: INJECT, why })?;
        // The outcome lists the run's faults from the scenario: the injected one with them.
        self.scenario.faults.push(fault.clone());
        Ok(fault)
    }

    /// The fault kinds an instructor may inject mid-run: every built kind but those that
    /// shape the arrivals (`traffic_spike`, `ddos`, `credential_stuffing`), in
    /// [`FaultKind::BUILT`] order.
    pub fn injectable_kinds() -> Vec<&'static str> {
        FaultKind::BUILT
            .iter()
            .copied()
            .filter(|k| !matches!(*k, "traffic_spike" | "ddos" | "credential_stuffing"))
            .collect()
    }

    /// The faults so far: the scenario's, then those injected, in order.
    pub fn faults(&self) -> &[Fault] {
        &self.scenario.faults
    }

    /// What faults may target in this scenario (for the instructor's choices).
    pub fn fault_targets(&self) -> Vec<String> {
        self.scenario.fault_targets.names()
    }

    /// The id of the service named `name`, or a message naming the services and the
    /// nearest one.
    fn service_id(&self, name: &str) -> Result<ServiceId, ActionError> {
        let names = self.services();
        if let Some(i) = names.iter().position(|n| *n == name) {
            return Ok(i as ServiceId);
        }
        let why = if names.is_empty() {
            format!("no service `{name}`: the scenario has no [[services]]")
        } else {
            let nearest = prodsim_scenario::diagnostic::nearest(name, names.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            format!("no service `{name}`{nearest}; the services are {}", names.join(", "))
        };
        Err(ActionError::Invalid { action: "degrade", why })
    }

    /// The time-series rows closed so far (`timeseries.csv`'s rows).
    pub fn rows(&self) -> &[Row] {
        &self.engine.measure.recorder.rows
    }

    /// Every notification sent so far, with its rule set's name, set by set.
    pub fn notifications(&self) -> Vec<(&str, &Notification)> {
        let Some(m) = self.engine.monitor.as_deref() else { return Vec::new() };
        m.sets.iter().flat_map(|s| s.notifications.iter().map(move |n| (s.name.as_str(), n))).collect()
    }

    /// Every page opened so far.
    pub fn pages(&self) -> &[Page] {
        self.engine.response.as_deref().and_then(|r| r.oncall.as_ref()).map_or(&[], |o| o.pages())
    }

    /// Keeps the newest [`TAIL_LINES`] log entries from now on, for a page to show
    /// ([`Session::log_tail`]). It draws nothing, so the run stays the one it replays to; a
    /// replay, which shows nothing, does not pay for it.
    pub fn keep_log_tail(&mut self) {
        self.engine.keep_log_tail();
    }

    /// The newest log entries the scenario's `[logging]` wrote, when they are kept
    /// ([`Session::keep_log_tail`]; none without `[logging]`).
    pub fn log_tail(&self) -> Option<&LogTail> {
        self.engine.log_tail()
    }

    /// The faults in force now with a window (crashes have none: what they did shows in
    /// [`Session::stations`]), in the order of [`Session::faults`].
    pub fn faults_in_force(&self) -> Vec<&Fault> {
        self.engine.faults.in_force().filter(|f| f.end_ns > f.start_ns).collect()
    }

    /// Each station's name (`servers`, a service's name, `storage`, `db`), its instances up
    /// and its instances.
    pub fn stations(&self) -> Vec<(&str, usize, usize)> {
        self.engine
            .stations
            .iter()
            .map(|s| (s.name.as_str(), s.instances.iter().filter(|i| i.up).count(), s.instances.len()))
            .collect()
    }

    /// The error budget burned, revenue lost, cost and time to recover so far, by the
    /// finished outcome's definitions ([`ScoreSoFar`]).
    pub fn score_so_far(&self) -> ScoreSoFar {
        self.engine.score_so_far(self.now)
    }

    /// Runs to the end of the run and returns its outcome.
    pub fn finish(mut self) -> Result<Outcome, RunError> {
        self.advance_to(self.end())?;
        let stats = RunStats { events: self.events, end: self.end() };
        Ok(self.engine.into_outcome(&self.scenario, self.seed, stats))
    }
}
