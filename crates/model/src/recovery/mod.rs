//! Putting things right after a failure: calls that fall back to another service (a backup
//! payment processor), the reconciliation job that settles payments whose answer was lost
//! ([`reconcile`]), and database backups with the restore after a `data_loss` fault
//! ([`backups`]). [`Recovery`] holds their state; [`RecoveryOutcome`] what they did.

pub(crate) mod backups;
pub(crate) mod reconcile;

use prodsim_scenario::recovery::ReconciliationSpec;
use prodsim_scenario::topology::Topology;

/// Calls that fell back, with at least one `fallback` in the scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FallbackOutcome {
    /// Calls that went to their fallback (every attempt at the target failed for certain,
    /// or its breaker was open).
    pub calls: u64,
    /// Of those, answered by the fallback.
    pub answered: u64,
    /// Of those answered, charges of a payment (a backup processor took the payment).
    pub payments: u64,
    /// Charges that could not fall back because their answer was lost (a timeout): the
    /// first provider may have taken them.
    pub in_doubt_kept: u64,
}

/// What the reconciliation job did, with `[reconciliation]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconciliationOutcome {
    /// Times the job ran.
    pub runs: u64,
    /// Payments in doubt it settled (asked the provider about, once it knew).
    pub reconciled: u64,
    /// Of those, the provider had charged.
    pub charged: u64,
    /// Of those, the ledger's record was wrong and was put right (a charge recorded as
    /// failed, an order recorded as paid without a charge): lost without the job.
    pub corrected: u64,
    /// Payments still in doubt at the end of the run.
    pub in_doubt: u64,
}

/// What fallbacks, reconciliation and backups did; each `None` when the scenario has none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RecoveryOutcome {
    /// Calls that fell back, when a call names a `fallback`.
    pub fallback: Option<FallbackOutcome>,
    /// The reconciliation job, with `[reconciliation]`.
    pub reconciliation: Option<ReconciliationOutcome>,
    /// Backups and restores, with `[backups]`.
    pub backups: Option<backups::BackupOutcome>,
}

/// The state of fallbacks and reconciliation during a run.
pub(crate) struct Recovery {
    /// Whether any call names a fallback.
    pub has_fallback: bool,
    /// What fell back.
    pub fallback: FallbackOutcome,
    /// `[reconciliation]`, if any.
    pub reconciliation: Option<ReconciliationSpec>,
    /// Payments in doubt, in the order their answer was lost (ledger ids; a record in
    /// doubt is never released, so an id here stays its payment's).
    pub pending: Vec<u32>,
    /// What the job did.
    pub reconciled: ReconciliationOutcome,
    /// Backups and restores, with `[backups]` (and a database).
    pub backups: Option<backups::Backups>,
}

impl Recovery {
    /// The recovery parts of `topology`.
    pub fn new(topology: &Topology) -> Recovery {
        Recovery {
            has_fallback: topology.has_fallback(),
            fallback: FallbackOutcome::default(),
            reconciliation: topology.reconciliation,
            pending: Vec::new(),
            reconciled: ReconciliationOutcome::default(),
            backups: topology.backups.filter(|_| topology.database.is_some()).map(backups::Backups::new),
        }
    }

    /// What they did, at the end of the run at `end`.
    pub fn outcome(&self, end: prodsim_kernel::SimTime) -> RecoveryOutcome {
        RecoveryOutcome {
            fallback: self.has_fallback.then_some(self.fallback),
            reconciliation: self
                .reconciliation
                .map(|_| ReconciliationOutcome { in_doubt: self.pending.len() as u64, ..self.reconciled }),
            backups: self.backups.as_ref().map(|b| b.outcome(end)),
        }
    }
}
