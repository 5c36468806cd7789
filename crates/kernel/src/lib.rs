//! The discrete-event kernel: virtual time, the event queue, seeded random streams,
//! distributions and the run loop with its limits. Pure: no I/O, no wall clock, no global
//! state.

pub mod dist;
pub mod engine;
pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;
pub mod units;

pub use dist::Dist;
pub use engine::{Limits, Model, RunStats, SimError, run, run_observed};
pub use queue::EventQueue;
pub use rng::{Draws, Keyed, Purpose, SimRng, Streams, derive_seed, mix, stream};
pub use time::SimTime;
pub use trace::{EventLog, NoObserver, Observer};
pub use units::{NS_PER_D, NS_PER_H, NS_PER_MIN, NS_PER_MS, NS_PER_S, NS_PER_US};
