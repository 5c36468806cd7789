//! `session.json`: a game day's actions (the player's, and the faults the instructor
//! injected) with their simulated times, the seed and the score; and its replay (`prodsim run FILE --actions session.json`) through the same
//! [`Session`] the server drove, so the replay's reports are byte-identical.

use prodsim_kernel::SimTime;
use prodsim_model::session::{Action, INJECT};
use prodsim_model::{Outcome, RunError, Session};
use prodsim_scenario::Scenario;
use prodsim_scenario::inject::FaultSpec;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::score::Score;

/// The version of the `session.json` format.
pub const SESSION_VERSION: u32 = 1;

/// The names of the actions, as `session.json` and `POST /api/action` spell them.
pub const ACTION_NAMES: [&str; 7] =
    ["acknowledge", "rollback", "scale_out", "failover", "disable_flag", "degrade", "hotfix"];

/// Servers a `scale_out` adds when it does not say.
const DEFAULT_SCALE_OUT: u32 = 1;

/// Most servers one `scale_out` may add.
const MAX_SCALE_OUT: u32 = 1000;

/// A game day as `session.json` keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    /// [`SESSION_VERSION`].
    pub session_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The seed of the run.
    pub seed: u64,
    /// The run's simulated length, ns.
    pub duration_ns: u64,
    /// Every action done, in order.
    pub actions: Vec<RecordedAction>,
    /// The score at the end (absent while the game is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
}

/// One action done by the player.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordedAction {
    /// When, simulated ns since t = 0: the replay applies it at exactly this time.
    pub t_ns: u64,
    /// The same, in seconds (for people; the replay reads `t_ns`).
    pub time_s: f64,
    /// One of [`ACTION_NAMES`].
    pub action: String,
    /// Servers added by a `scale_out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The service a `degrade` degrades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    /// The fault an `inject` (the instructor's) started, as the instructor gave it; the
    /// replay resolves it again at `t_ns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultSpec>,
    /// What it led to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RecordedAction {
    /// The model's action.
    pub fn to_action(&self) -> Result<Action, String> {
        parse_action(&self.action, self.count, self.dependency.as_deref())
    }
}

/// The action named `name` (with `count` for `scale_out`, `dependency` for `degrade`), or a
/// message naming the valid names and the nearest one.
pub fn parse_action(name: &str, count: Option<u32>, dependency: Option<&str>) -> Result<Action, String> {
    let action = match name {
        "acknowledge" => Action::Acknowledge,
        "rollback" => Action::Rollback,
        "scale_out" => {
            let count = count.unwrap_or(DEFAULT_SCALE_OUT);
            if count == 0 || count > MAX_SCALE_OUT {
                return Err(format!("scale_out: count must be 1 to {MAX_SCALE_OUT}, not {count}"));
            }
            Action::ScaleOut { count }
        }
        "failover" => Action::Failover,
        "disable_flag" => Action::DisableFlag,
        "degrade" => match dependency {
            Some(d) if !d.is_empty() => Action::Degrade { dependency: d.to_string() },
            _ => return Err("degrade: needs `dependency`, a service name".to_string()),
        },
        "hotfix" => Action::Hotfix,
        other => {
            let nearest = ACTION_NAMES
                .iter()
                .map(|n| (strsim::jaro_winkler(n, other), *n))
                .filter(|(s, _)| *s > 0.7)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(format!("unknown action `{other}`{nearest}; expected one of {}", ACTION_NAMES.join(", ")));
        }
    };
    if count.is_some() && !matches!(action, Action::ScaleOut { .. }) {
        return Err(format!("`count` is for scale_out, not {name}"));
    }
    if dependency.is_some() && !matches!(action, Action::Degrade { .. }) {
        return Err(format!("`dependency` is for degrade, not {name}"));
    }
    Ok(action)
}

/// Why a session did not replay.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The run itself failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The file is not for this scenario as given.
    #[error("session.json is for {what}")]
    Mismatch {
        /// What differs.
        what: String,
    },
    /// An action could not be read or done at its time.
    #[error("action {index} ({action} at {time_s} s): {why}")]
    Action {
        /// Its index in `actions`.
        index: usize,
        /// Its name.
        action: String,
        /// Its time, s.
        time_s: f64,
        /// Why.
        why: String,
    },
}

/// Runs `scenario` with the session's seed, applying every action (and starting every
/// injected fault) at its recorded time.
pub fn replay(scenario: &Scenario, file: &SessionFile) -> Result<Outcome, ReplayError> {
    if file.session_version != SESSION_VERSION {
        let what = format!("session_version {}, this prodsim reads {SESSION_VERSION}", file.session_version);
        return Err(ReplayError::Mismatch { what });
    }
    if file.duration_ns != scenario.duration_ns {
        let what = format!(
            "a run of {} s, the scenario runs {} s (use the same --duration)",
            file.duration_ns as f64 / 1e9,
            scenario.duration_ns as f64 / 1e9
        );
        return Err(ReplayError::Mismatch { what });
    }
    let mut session = Session::new(scenario, file.seed)?;
    let mut last_ns = 0;
    for (index, rec) in file.actions.iter().enumerate() {
        let fail = |why: String| ReplayError::Action { index, action: rec.action.clone(), time_s: rec.time_s, why };
        if rec.t_ns < last_ns {
            return Err(fail(format!("t_ns {} is before the previous action's {last_ns}", rec.t_ns)));
        }
        last_ns = rec.t_ns;
        if rec.action == INJECT {
            let Some(spec) = &rec.fault else { return Err(fail("an inject needs its `fault`".to_string())) };
            session.advance_to(SimTime(rec.t_ns))?;
            session.inject(spec).map_err(|e| fail(e.to_string()))?;
            continue;
        }
        if rec.fault.is_some() {
            return Err(fail("`fault` is for inject only".to_string()));
        }
        let action = rec.to_action().map_err(fail)?;
        session.advance_to(SimTime(rec.t_ns))?;
        session.apply(&action).map_err(|e| fail(e.to_string()))?;
    }
    Ok(session.finish()?)
}
