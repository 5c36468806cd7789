//! Chaos: the faults a scenario injects, and (planned) invariant checkers.
//!
//! A fault is plain data — a kind with its parameters, a target and a time window. The world
//! turns each window into two events, and components consult the faults in force through a
//! small API; nothing here does I/O.

pub mod fault;

pub use fault::{Fault, FaultKind, FaultTarget, PLANNED_KINDS};
