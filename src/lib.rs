//! prodsim: a deterministic discrete-event simulator and chaos-testing lab for production web
//! architectures.
//!
//! One run is a pure function: a [`scenario::Scenario`] and a seed go in, a
//! [`outcome::Outcome`] comes out, and [`report`] turns it into files. See `ARCHITECTURE.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arch;
pub mod chaos;
pub mod deploy;
pub mod experiment;
pub mod ops;
pub mod outcome;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod system;
pub mod world;

pub use outcome::Outcome;
pub use scenario::{Scenario, load};
pub use world::{RunError, simulate, simulate_logged};
