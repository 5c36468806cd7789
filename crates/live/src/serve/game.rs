//! One game day's state: the [`Session`] paced to the wall clock, the player's controls,
//! the recorded actions, and the messages every watching browser receives.

use std::time::Instant;

use prodsim_kernel::SimTime;
use prodsim_model::Session;
use prodsim_model::session::{Action, ActionError, INJECT};
use prodsim_scenario::inject::FaultSpec;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::score::{LiveScore, Score};
use super::session_file::{RecordedAction, SESSION_VERSION, SessionFile};

/// Messages a slow browser may fall behind by before it skips some.
const CHANNEL: usize = 4096;

/// Most log entries one message carries (a fast game writes many more: the page shows the
/// newest).
const LOG_BATCH: usize = 100;

/// Most simulated time one tick may advance, ns (a long pause of the host does not turn
/// into one huge step).
const MAX_STEP_NS: u64 = 3_600 * prodsim_kernel::NS_PER_S;

/// Writes the report set at the end: given the outcome and `session.json`'s bytes, the
/// files written or why not.
pub type Finisher = Box<dyn Fn(&prodsim_model::Outcome, &[u8]) -> Result<Vec<String>, String> + Send + Sync>;

/// How the game ended.
#[derive(Clone, Debug)]
pub struct Finished {
    /// The score from `summary.json`.
    pub score: Score,
    /// The files written (empty when writing failed).
    pub written: Vec<String>,
    /// Why the run or the writing failed.
    pub error: Option<String>,
}

/// The game: see the module comment.
pub struct Game {
    session: Option<Session>,
    scenario: String,
    /// The scenario's services (what `degrade` names) and hotfix versions, for the page.
    services: Vec<String>,
    hotfixes: Vec<String>,
    seed: u64,
    end: SimTime,
    now: SimTime,
    paused: bool,
    /// Simulated seconds per wall second.
    speed: f64,
    last_tick: Instant,
    /// Simulated ns owed by earlier ticks (fractions of a nanosecond are not lost).
    carry_ns: f64,
    actions: Vec<RecordedAction>,
    rows_sent: usize,
    notifications_sent: usize,
    /// Pages sent, and whether each was acknowledged when it was last sent.
    pages_acked: Vec<bool>,
    /// Whether each fault's start was sent (the scenario's, then the injected ones).
    faults_sent: Vec<bool>,
    /// How many of the faults are the scenario's (the rest were injected).
    scenario_faults: usize,
    /// What faults may target, for the instructor's page.
    fault_targets: Vec<String>,
    /// The architecture diagram, for the page (`GET /api/diagram`).
    diagram: String,
    /// Log entries sent (of the session's tail's `written`).
    logs_sent: u64,
    /// The last `components` message sent, to send it again only when it changes.
    last_components: String,
    /// Every row, notification, page and action message so far, for a browser that
    /// joins late.
    history: Vec<String>,
    sender: broadcast::Sender<String>,
    finished: Option<Finished>,
    finisher: Finisher,
}

impl Game {
    /// A game of `session` at `speed`, starting now.
    pub fn new(mut session: Session, scenario: &str, seed: u64, speed: f64, finisher: Finisher) -> Game {
        session.keep_log_tail();
        let (sender, _) = broadcast::channel(CHANNEL);
        Game {
            end: session.end(),
            now: session.now(),
            services: session.services().into_iter().map(str::to_string).collect(),
            hotfixes: session.hotfixes().into_iter().map(str::to_string).collect(),
            scenario_faults: session.faults().len(),
            fault_targets: session.fault_targets(),
            diagram: prodsim_report::html::diagram::live_svg(session.scenario()),
            session: Some(session),
            scenario: scenario.to_string(),
            seed,
            paused: false,
            speed,
            last_tick: Instant::now(),
            carry_ns: 0.0,
            actions: Vec::new(),
            rows_sent: 0,
            notifications_sent: 0,
            pages_acked: Vec::new(),
            faults_sent: Vec::new(),
            logs_sent: 0,
            last_components: String::new(),
            history: Vec::new(),
            sender,
            finished: None,
            finisher,
        }
    }

    /// The backlog for a new watcher and the stream of what follows.
    pub fn subscribe(&self) -> (Vec<String>, broadcast::Receiver<String>) {
        let mut backlog = self.history.clone();
        if let Some(session) = self.session.as_ref() {
            if let Some(tail) = session.log_tail() {
                let skip = tail.lines.len().saturating_sub(LOG_BATCH);
                backlog.push(super::messages::logs(tail.lines.iter().skip(skip), 0).to_string());
            }
        }
        if !self.last_components.is_empty() {
            backlog.push(self.last_components.clone());
        }
        backlog.push(self.clock().to_string());
        if let Some(f) = &self.finished {
            backlog.push(finished_message(f).to_string());
        }
        (backlog, self.sender.subscribe())
    }

    /// Ends every event stream (at shutdown).
    pub fn close_streams(&mut self) {
        let (sender, _) = broadcast::channel(1);
        self.sender = sender;
    }

    /// Whether the game is over.
    pub fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// Advances the run by the wall time since the last tick times the speed, and sends
    /// what happened.
    pub fn tick(&mut self, wall: Instant) {
        let elapsed_s = wall.saturating_duration_since(self.last_tick).as_secs_f64();
        self.last_tick = wall;
        if self.paused || self.finished.is_some() {
            return;
        }
        let owed = self.carry_ns + elapsed_s * self.speed * 1e9;
        let step_ns = (owed.floor() as u64).min(MAX_STEP_NS);
        self.carry_ns = owed - owed.floor();
        let target = SimTime(self.now.as_nanos().saturating_add(step_ns)).min(self.end);
        let Some(session) = self.session.as_mut() else { return };
        if let Err(e) = session.advance_to(target) {
            self.end_with_error(format!("the run stopped: {e}"));
            return;
        }
        self.now = session.now();
        self.publish_news();
        self.send(self.clock());
        if self.now >= self.end {
            self.finish();
        }
    }

    /// Pauses (`true`) or resumes the clock.
    pub fn set_paused(&mut self, paused: bool) {
        self.last_tick = Instant::now();
        self.paused = paused;
        self.send(self.clock());
    }

    /// Sets the speed (simulated seconds per wall second).
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed;
        self.send(self.clock());
    }

    /// The player does `action` now; the recorded action, or why not.
    pub fn act(&mut self, action: Action) -> Result<RecordedAction, ActionError> {
        let Some(session) = self.session.as_mut() else { return Err(ActionError::Over) };
        let note = session.apply(&action)?;
        let t_ns = session.now().as_nanos();
        let rec = RecordedAction {
            t_ns,
            time_s: t_ns as f64 / 1e9,
            action: action.name().to_string(),
            count: match &action {
                Action::ScaleOut { count } => Some(*count),
                Action::Acknowledge
                | Action::Rollback
                | Action::Failover
                | Action::DisableFlag
                | Action::Degrade { .. }
                | Action::Hotfix => None,
            },
            dependency: match &action {
                Action::Degrade { dependency } => Some(dependency.clone()),
                Action::Acknowledge
                | Action::Rollback
                | Action::ScaleOut { .. }
                | Action::Failover
                | Action::DisableFlag
                | Action::Hotfix => None,
            },
            fault: None,
            note,
        };
        self.actions.push(rec.clone());
        self.remember(json!({ "type": "action", "action": rec }));
        self.publish_news();
        Ok(rec)
    }

    /// The instructor injects `spec` now ([`Session::inject`]); the recorded injection, or
    /// why not.
    pub fn inject(&mut self, spec: FaultSpec) -> Result<RecordedAction, ActionError> {
        let Some(session) = self.session.as_mut() else { return Err(ActionError::Over) };
        let fault = session.inject(&spec)?;
        let t_ns = session.now().as_nanos();
        let until = if fault.end_ns > fault.start_ns {
            format!(" until +{}", prodsim_kernel::units::format_duration(fault.end_ns))
        } else {
            String::new()
        };
        let note = format!("{} on {} ({}){until}", fault.kind.name(), fault.target_name, fault.kind.describe());
        let rec = RecordedAction {
            t_ns,
            time_s: t_ns as f64 / 1e9,
            action: INJECT.to_string(),
            count: None,
            dependency: None,
            fault: Some(spec),
            note: Some(note),
        };
        self.actions.push(rec.clone());
        self.publish_news();
        Ok(rec)
    }

    /// Runs the rest of the run unpaced, writes the report set and `session.json`, and
    /// returns how it ended. A game already over returns its end.
    pub fn finish(&mut self) -> Finished {
        if let Some(f) = &self.finished {
            return f.clone();
        }
        let Some(session) = self.session.take() else {
            return self.end_with_error("the game has no run".to_string());
        };
        let outcome = match session.finish() {
            Ok(o) => o,
            Err(e) => return self.end_with_error(format!("the run stopped: {e}")),
        };
        self.now = self.end;
        let score = Score::of(&outcome);
        let file = self.session_file(Some(score.clone()));
        let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        let (written, error) = match (self.finisher)(&outcome, &bytes) {
            Ok(w) => (w, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let f = Finished { score, written, error };
        self.finished = Some(f.clone());
        self.send(self.clock());
        self.send(finished_message(&f));
        f
    }

    fn end_with_error(&mut self, error: String) -> Finished {
        let f = Finished { score: Score::empty(), written: Vec::new(), error: Some(error) };
        self.session = None;
        self.finished = Some(f.clone());
        self.send(finished_message(&f));
        f
    }

    /// `session.json` as it stands.
    pub fn session_file(&self, score: Option<Score>) -> SessionFile {
        SessionFile {
            session_version: SESSION_VERSION,
            scenario: self.scenario.clone(),
            seed: self.seed,
            duration_ns: self.end.as_nanos(),
            actions: self.actions.clone(),
            score,
        }
    }

    /// The architecture diagram (an `<svg>` element), as `GET /api/diagram` answers it.
    pub fn diagram(&self) -> &str {
        &self.diagram
    }

    /// The state as `GET /api/state` answers it.
    pub fn state(&self) -> Value {
        let live = self.session.as_ref().map(LiveScore::of);
        json!({
            "scenario": self.scenario,
            "seed": self.seed,
            "time_s": self.now.as_nanos() as f64 / 1e9,
            "end_s": self.end.as_nanos() as f64 / 1e9,
            "paused": self.paused,
            "speed": self.speed,
            "services": self.services,
            "hotfixes": self.hotfixes,
            "actions": self.actions,
            "fault_kinds": Session::injectable_kinds(),
            "fault_targets": self.fault_targets,
            "live_score": live,
            "finished": self.finished.as_ref().map(finished_message),
        })
    }

    fn clock(&self) -> Value {
        let live = self.session.as_ref().map(LiveScore::of);
        json!({
            "type": "clock",
            "time_s": self.now.as_nanos() as f64 / 1e9,
            "end_s": self.end.as_nanos() as f64 / 1e9,
            "paused": self.paused,
            "speed": self.speed,
            "live_score": live,
        })
    }

    /// Sends the rows, notifications and pages that are new since the last look.
    fn publish_news(&mut self) {
        let Some(session) = self.session.as_ref() else { return };
        let mut news = Vec::new();
        for r in &session.rows()[self.rows_sent..] {
            news.push(super::messages::row(r));
        }
        self.rows_sent = session.rows().len();
        let notes = session.notifications();
        for (set, n) in &notes[self.notifications_sent.min(notes.len())..] {
            news.push(super::messages::notification(set, n));
        }
        self.notifications_sent = notes.len();
        for (k, p) in session.pages().iter().enumerate() {
            let acked = p.acknowledged.is_some();
            if k >= self.pages_acked.len() {
                self.pages_acked.push(acked);
                news.push(super::messages::page(p));
            } else if acked != self.pages_acked[k] {
                self.pages_acked[k] = acked;
                news.push(super::messages::page(p));
            }
        }
        let now = session.now().as_nanos();
        for (k, f) in session.faults().iter().enumerate() {
            if k >= self.faults_sent.len() {
                self.faults_sent.push(false);
            }
            if !self.faults_sent[k] && f.start_ns <= now {
                self.faults_sent[k] = true;
                news.push(super::messages::fault(k, f, k >= self.scenario_faults));
            }
        }
        for m in news {
            self.remember(m);
        }
        self.publish_logs();
        self.publish_components();
    }

    /// Sends the log entries written since the last look (at most [`LOG_BATCH`], saying
    /// how many were skipped). Not kept for late watchers: they get the tail.
    fn publish_logs(&mut self) {
        let Some(tail) = self.session.as_ref().and_then(Session::log_tail) else { return };
        let new = tail.written - self.logs_sent;
        if new == 0 {
            return;
        }
        self.logs_sent = tail.written;
        let shown = (new as usize).min(LOG_BATCH).min(tail.lines.len());
        let skipped = new - shown as u64;
        let message = super::messages::logs(tail.lines.iter().skip(tail.lines.len() - shown), skipped);
        self.send(message);
    }

    /// Sends what is down or degraded now, when it changed.
    fn publish_components(&mut self) {
        let Some(session) = self.session.as_ref() else { return };
        let text = super::messages::components(session).to_string();
        if text != self.last_components {
            self.last_components = text.clone();
            let _ = self.sender.send(text);
        }
    }

    fn remember(&mut self, message: Value) {
        let text = message.to_string();
        self.history.push(text.clone());
        // Nobody watching is not an error.
        let _ = self.sender.send(text);
    }

    fn send(&self, message: Value) {
        let _ = self.sender.send(message.to_string());
    }
}

/// The message of the end of the game.
fn finished_message(f: &Finished) -> Value {
    json!({ "type": "finished", "score": f.score, "written": f.written, "error": f.error })
}
