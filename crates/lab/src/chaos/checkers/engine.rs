//! The engine: time never goes backwards, and no limit is exceeded silently — a run that
//! hits `[limits]` stops with an error naming the limit (a finding in itself: the
//! architecture grows without bound under these faults), and a run that finishes processed
//! every event it counted and reached the end of simulated time.

use super::{Invariant, Violation};
use prodsim_kernel::{EventLog, SimError};
use prodsim_model::RunError;
use prodsim_model::outcome::Outcome;
use prodsim_scenario::Scenario;

/// Checks one run of `scenario`: its result and its event log.
pub fn check(scenario: &Scenario, result: &Result<Outcome, RunError>, log: &EventLog) -> Vec<Violation> {
    let mut found = Vec::new();
    if let Some((before, at)) = log.backwards {
        found.push(Violation::new(
            Invariant::Engine,
            format!("time went backwards: an event at {at} came after one at {before}"),
        ));
    }
    match result {
        Err(RunError::Sim(SimError::TimeWentBackwards { .. })) if log.backwards.is_some() => {}
        Err(RunError::Sim(e)) => found.push(Violation::new(Invariant::Engine, format!("the run stopped: {e}"))),
        Err(RunError::OverBudget(e)) => {
            found.push(Violation::new(Invariant::Engine, format!("the run was refused before it started: {e}")));
        }
        Ok(o) => {
            if o.events != log.events {
                found.push(Violation::new(
                    Invariant::Engine,
                    format!("the run reports {} events but processed {}", o.events, log.events),
                ));
            }
            if o.simulated_ns != scenario.duration_ns {
                found.push(Violation::new(
                    Invariant::Engine,
                    format!("the run ended at {} ns instead of {} ns", o.simulated_ns, scenario.duration_ns),
                ));
            }
            if o.requests.in_flight > scenario.limits.max_in_flight {
                found.push(Violation::new(
                    Invariant::Engine,
                    format!(
                        "{} requests in flight at the end, above max_in_flight = {}, without an error",
                        o.requests.in_flight, scenario.limits.max_in_flight
                    ),
                ));
            }
        }
    }
    found
}
