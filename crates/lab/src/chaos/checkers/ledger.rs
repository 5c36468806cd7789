//! The payment ledger: no payment lost, none completed twice, and every payment in exactly
//! one class (see [`prodsim_parts::resilience::ledger`]).

use super::{Invariant, Violation};
use prodsim_model::outcome::Outcome;

/// Checks the payment ledger of `outcome` (nothing to check without payments).
pub fn check(outcome: &Outcome) -> Vec<Violation> {
    let system = &*outcome.system;
    let l = system.payments;
    let mut found = Vec::new();
    if l.lost > 0 {
        found.push(Violation::new(
            Invariant::Ledger,
            format!(
                "{} of {} payments lost (charged without an order, confirmed without a charge, or dropped after the user was told it succeeded or is pending)",
                l.lost, l.attempted
            ),
        ));
    }
    if l.duplicated > 0 {
        found.push(Violation::new(Invariant::Ledger, format!("{} payments charged twice or more", l.duplicated)));
    }
    let classes = l.completed + l.queued + l.failed + l.lost + l.in_flight;
    if classes != l.attempted {
        found.push(Violation::new(
            Invariant::Ledger,
            format!(
                "{} payments attempted but {classes} classified (completed {}, queued {}, failed {}, lost {}, in flight {})",
                l.attempted, l.completed, l.queued, l.failed, l.lost, l.in_flight
            ),
        ));
    }
    found
}
