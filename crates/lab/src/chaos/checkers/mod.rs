//! Invariant checkers: plain functions from what a run produced to the violations found.
//!
//! One invariant per file. Each checker reads an [`Outcome`](prodsim_model::Outcome) (and, where
//! it needs one, the fault-free baseline or a second run's [`EventLog`](prodsim_kernel::EventLog))
//! and returns every violation it finds, each naming its invariant and saying what went
//! wrong in numbers. Nothing here runs a simulation, so a user's own `proptest!` tests can
//! call the checkers on runs of their own.
//!
//! - [`conservation`]: every request is counted exactly once.
//! - [`ledger`]: no payment lost, none charged twice.
//! - [`recovery`]: after the faults end and a bound passes, the system is back to its
//!   fault-free self (liveness).
//! - [`deploys`]: a rollback restores the previous version everywhere; every server runs one.
//! - [`determinism`]: the same case run twice processes the same events.
//! - [`engine`]: time never goes backwards; no limit is exceeded silently.

pub mod conservation;
pub mod deploys;
pub mod determinism;
pub mod engine;
pub mod ledger;
pub mod recovery;

use std::fmt;

/// The invariants `prodsim check` knows, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// Every request that arrived is completed, rejected, timed out, failed or in flight.
    Conservation,
    /// No payment lost, none completed twice.
    Ledger,
    /// Error ratio, latency, queues and alerts return to normal after the faults.
    Recovery,
    /// Rollbacks restore the previous version; no server is left without one.
    Deploys,
    /// The same case gives the same event log.
    Determinism,
    /// Time never goes backwards; no limit is exceeded silently.
    Engine,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Invariant; 6] = [
        Invariant::Conservation,
        Invariant::Ledger,
        Invariant::Recovery,
        Invariant::Deploys,
        Invariant::Determinism,
        Invariant::Engine,
    ];

    /// The invariant's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::Conservation => "conservation",
            Invariant::Ledger => "ledger",
            Invariant::Recovery => "recovery",
            Invariant::Deploys => "deploys",
            Invariant::Determinism => "determinism",
            Invariant::Engine => "engine",
        }
    }

    /// Whether the invariant is about liveness (checked only when faults stop).
    pub fn is_liveness(self) -> bool {
        self == Invariant::Recovery
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken invariant, with what was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The invariant broken.
    pub invariant: Invariant,
    /// What went wrong, in numbers.
    pub message: String,
}

impl Violation {
    /// A violation of `invariant`.
    pub fn new(invariant: Invariant, message: impl Into<String>) -> Violation {
        Violation { invariant, message: message.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant, self.message)
    }
}
