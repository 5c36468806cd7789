//! Chaos: the faults a scenario injects, the random fault schedules `prodsim check` tries
//! against a scenario, and the invariants it checks (the engine that runs the cases is
//! [`crate::check`]).
//!
//! A fault is plain data — a kind with its parameters, a target and a time window. The engine
//! turns each window into two events, and components consult the faults in force through a
//! small API; nothing here does I/O.
//!
//! - `fault`: fault kinds, targets and windows.
//! - `space`: which (kind, target) pairs a scenario's own components can suffer.
//! - `schedule`: the proptest strategy of fault schedules over a space, shrinking toward
//!   fewer, shorter, later and milder faults, and the schedule value (applied to a
//!   scenario, printed, written back as `[[faults]]`).
//! - `checkers`: the invariants, one per file, as plain functions of a run's outcome.
//! - `counterexample`: a shrunk schedule written as a runnable scenario file.

pub mod checkers;
pub mod counterexample;
pub mod schedule;
pub mod space;

pub use prodsim_parts::faults::{Fault, FaultKind, FaultTarget, PLANNED_KINDS};
pub use schedule::{Mode, Schedule, Window, schedules};
pub use space::{Choice, FaultSpace, PartitionSource};
