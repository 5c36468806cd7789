//! Determinism: the same case run twice processes the same events in the same order, so
//! its event-log fingerprints are equal.

use super::{Invariant, Violation};
use prodsim_kernel::EventLog;

/// Compares the event logs of two runs of the same scenario and seed.
pub fn check(first: &EventLog, second: &EventLog) -> Vec<Violation> {
    if first == second {
        return Vec::new();
    }
    vec![Violation::new(
        Invariant::Determinism,
        format!(
            "the same case ran twice with different event logs: {} events (hash {}) then {} events (hash {})",
            first.events,
            first.hex(),
            second.events,
            second.hex()
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::{Observer, SimTime};

    #[test]
    fn equal_logs_pass_and_different_ones_are_named() {
        let mut a = EventLog::new();
        a.on_event(SimTime(1), &1u32);
        let b = a;
        assert!(check(&a, &b).is_empty());
        let mut c = a;
        c.on_event(SimTime(2), &2u32);
        let v = check(&a, &c);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("1 events") && v[0].message.contains("2 events"), "{}", v[0].message);
    }
}
