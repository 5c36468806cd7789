//! Virtual time: integer nanoseconds since the start of a run.
//!
//! The simulator never reads a wall clock and never uses a floating-point clock: every
//! timestamp is a `SimTime`, so ordering and arithmetic are exact and portable.

use std::fmt;

use crate::units::NS_PER_S;

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time (about 584 years), used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Builds a time from whole nanoseconds.
    #[inline]
    pub const fn from_nanos(ns: u64) -> SimTime {
        SimTime(ns)
    }

    /// Builds a time from whole seconds (saturating).
    #[inline]
    pub const fn from_secs(s: u64) -> SimTime {
        SimTime(s.saturating_mul(NS_PER_S))
    }

    /// The time as whole nanoseconds.
    #[inline]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time in seconds, as a float (for reports only, never for ordering).
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }

    /// This time plus a delay in nanoseconds, saturating at [`SimTime::MAX`].
    #[inline]
    pub const fn after(self, delay_ns: u64) -> SimTime {
        SimTime(self.0.saturating_add(delay_ns))
    }

    /// Nanoseconds elapsed since `earlier` (zero if `earlier` is later).
    #[inline]
    pub const fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_orders() {
        let t = SimTime::from_secs(2);
        assert_eq!(t.as_nanos(), 2 * NS_PER_S);
        assert_eq!(t.after(5).since(t), 5);
        assert_eq!(SimTime::ZERO.since(t), 0);
        assert_eq!(SimTime::MAX.after(1), SimTime::MAX);
        assert!(SimTime(1) < SimTime(2));
        assert_eq!(t.to_string(), "2.000000s");
    }
}
