//! The engine of prodsim: a scenario and a seed go in, an [`Outcome`] comes out.
//!
//! See `ARCHITECTURE.md` at the repository root.

pub mod outcome;
pub mod system;
pub mod world;

pub use outcome::Outcome;
pub use world::{RunError, simulate, simulate_logged, simulate_observed};
