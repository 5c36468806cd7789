//! The engine of prodsim: a scenario and a seed go in, an [`Outcome`] comes out.
//!
//! One engine runs every scenario: a file with only `[servers]` is a topology with one
//! request class. The engine ([`engine`]) wires subsystems that own their state — the
//! request flow, calls, stations, the app tier, the database, the retry queue, faults,
//! the edge, the network, scaling, measurements, monitoring, logging, releases and
//! responders — through one closed event enum ([`event`]). Every random draw about a
//! request, a call or a step comes from its key ([`streams`]), so variants of a scenario
//! see identical traffic by construction. See `ARCHITECTURE.md` at the repository root.

mod app;
mod build;
mod calls;
mod database;
mod deferral;
mod delivery;
mod edge;
pub mod engine;
pub mod estimate;
pub mod event;
mod faults;
mod flow;
mod logging;
mod measure;
mod monitoring;
mod network;
pub mod outcome;
mod recovery;
mod response;
mod scaling;
pub mod session;
mod station;
mod streams;
mod tasks;

use thiserror::Error;

pub use engine::Engine;
pub use event::Event;
pub use faults::with_spikes;
pub use outcome::Outcome;
pub use session::Session;

use prodsim_kernel::{EventLog, NoObserver, Observer, SimError};
use prodsim_scenario::Scenario;

/// Why a run failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The engine stopped on a limit.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The run was refused before it started: its estimate is over `[limits]`.
    #[error(transparent)]
    OverBudget(#[from] estimate::OverBudget),
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
pub fn simulate_observed<O: Observer<Event>>(
    scenario: &Scenario,
    seed: u64,
    observer: &mut O,
) -> Result<Outcome, RunError> {
    estimate::estimate(scenario).check(&scenario.limits)?;
    engine::simulate(scenario, seed, observer)
}
