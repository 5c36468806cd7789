//! The recovery part of `summary.json`: `fallback` (calls that went to their fallback, a
//! backup payment processor), `reconciliation` (payments in doubt the job settled) and
//! `backups` (database backups, RPO and RTO). Each key is absent when the scenario has no
//! such part. Documented in `docs/summary-json.md`.

use serde::Serialize;

use prodsim_kernel::units::ns_to_s;
use prodsim_model::outcome::{BackupOutcome, FallbackOutcome, ReconciliationOutcome, RecoveryOutcome};

/// `fallback`, `reconciliation` and `backups`, at the top level of `summary.json`.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct RecoverySummary {
    /// `fallback`: with a call that names a `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSummary>,
    /// `reconciliation`: with `[reconciliation]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<ReconciliationSummary>,
    /// `backups`: with `[backups]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backups: Option<BackupSummary>,
}

/// `backups`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct BackupSummary {
    /// Backups finished during the run.
    pub completed: u64,
    /// Their price (part of `cost.infrastructure`).
    pub cost: f64,
    /// `data_loss` faults that destroyed the data.
    pub data_losses: u64,
    /// Restores finished.
    pub restores: u64,
    /// Writes committed, then lost with the data: the recovery point in writes.
    pub writes_lost: u64,
    /// The worst recovery point in seconds (since the start of the backup restored);
    /// `null` without a loss.
    pub rpo_s: Option<f64>,
    /// The worst recovery time in seconds (from a loss until the database served again);
    /// `null` without a finished restore.
    pub rto_s: Option<f64>,
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
            backups: r.backups.map(|b: BackupOutcome| BackupSummary {
                completed: b.completed,
                cost: b.cost,
                data_losses: b.data_losses,
                restores: b.restores,
                writes_lost: b.writes_lost,
                rpo_s: b.rpo_ns.map(ns_to_s),
                rto_s: b.rto_ns.map(ns_to_s),
            }),
        }
    }
}
