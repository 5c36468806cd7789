//! The recovery part of `summary.json`: `fallback` (calls that went to their fallback, a
//! backup payment processor), `reconciliation` (payments in doubt the job settled) and
//! `backups` (database backups, RPO and RTO). Each key is absent when the scenario has no
//! such part. Documented in `docs/summary-json.md`.

use serde::Serialize;

use prodsim_model::outcome::{FallbackOutcome, ReconciliationOutcome, RecoveryOutcome};

/// `fallback`, `reconciliation` and `backups`, at the top level of `summary.json`.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct RecoverySummary {
    /// `fallback`: with a call that names a `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSummary>,
    /// `reconciliation`: with `[reconciliation]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<ReconciliationSummary>,
}

/// `fallback`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct FallbackSummary {
    /// Calls sent to their fallback (the target failed for certain or its breaker was open).
    pub calls: u64,
    /// Of those, answered by the fallback.
    pub answered: u64,
    /// Of those answered, payments the fallback charged.
    pub payments: u64,
    /// Charges that did not fall back because their answer was lost (a timeout).
    pub in_doubt_kept: u64,
}

/// `reconciliation`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct ReconciliationSummary {
    /// Times the job ran.
    pub runs: u64,
    /// Payments in doubt it settled.
    pub reconciled: u64,
    /// Of those, the provider had charged.
    pub charged: u64,
    /// Of those, the ledger's record was wrong and was put right.
    pub corrected: u64,
    /// Payments still in doubt at the end.
    pub in_doubt: u64,
}

impl RecoverySummary {
    /// The summary of what the recovery parts did.
    pub fn of(r: &RecoveryOutcome) -> RecoverySummary {
        RecoverySummary {
            fallback: r.fallback.map(|f: FallbackOutcome| FallbackSummary {
                calls: f.calls,
                answered: f.answered,
                payments: f.payments,
                in_doubt_kept: f.in_doubt_kept,
            }),
            reconciliation: r.reconciliation.map(|c: ReconciliationOutcome| ReconciliationSummary {
                runs: c.runs,
                reconciled: c.reconciled,
                charged: c.charged,
                corrected: c.corrected,
                in_doubt: c.in_doubt,
            }),
        }
    }
}
