//! The engine of prodsim: a scenario and a seed go in, an [`Outcome`] comes out.
//!
//! See `ARCHITECTURE.md` at the repository root.

pub mod outcome;
pub mod system;

use thiserror::Error;

pub use outcome::Outcome;

use prodsim_kernel::{EventLog, NoObserver, Observer, SimError};
use prodsim_scenario::Scenario;

/// Why a run failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The engine stopped on a limit.
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// Runs `scenario` with `seed` and returns what it produced.
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<Outcome, RunError> {
    simulate_observed(scenario, seed, &mut NoObserver)
}

/// [`simulate`], also returning the run's [`EventLog`]: a fingerprint of every event it
/// processed (for determinism checks). Memory does not grow with the events.
pub fn simulate_logged(scenario: &Scenario, seed: u64) -> (Result<Outcome, RunError>, EventLog) {
    let mut log = EventLog::new();
    let result = simulate_observed(scenario, seed, &mut log);
    (result, log)
}

/// [`simulate`] with an observer of every event.
pub fn simulate_observed<O: Observer<system::Event>>(
    scenario: &Scenario,
    seed: u64,
    observer: &mut O,
) -> Result<Outcome, RunError> {
    system::simulate(scenario, &scenario.topology, seed, observer)
}
