//! The recovery lines of the printed summary: calls that fell back (a backup payment
//! processor), the reconciliation job, and database backups with RPO and RTO.

use std::fmt::Write as _;

use prodsim_model::outcome::RecoveryOutcome;

use super::text::thousands;

/// Appends the recovery lines to `s` (none when the scenario has no recovery part).
pub fn render(s: &mut String, r: &RecoveryOutcome) {
    if let Some(f) = &r.fallback {
        let _ = writeln!(
            s,
            "fallback      {} calls fell back · {} answered · {} payments charged by the fallback · {} kept in doubt",
            thousands(f.calls),
            thousands(f.answered),
            thousands(f.payments),
            thousands(f.in_doubt_kept)
        );
    }
    if let Some(c) = &r.reconciliation {
        let _ = writeln!(
            s,
            "reconciled    {} payments in doubt settled ({} charged, {} corrected) in {} runs · {} still in doubt",
            thousands(c.reconciled),
            thousands(c.charged),
            thousands(c.corrected),
            thousands(c.runs),
            thousands(c.in_doubt)
        );
    }
    if let Some(b) = &r.backups {
        let secs = |ns: Option<u64>| ns.map_or("-".to_string(), prodsim_kernel::units::format_duration);
        let _ = writeln!(
            s,
            "backups       {} completed (${:.2}) · {} data losses · {} writes lost · RPO {} · RTO {} · {} restores",
            thousands(b.completed),
            b.cost,
            b.data_losses,
            thousands(b.writes_lost),
            secs(b.rpo_ns),
            secs(b.rto_ns),
            b.restores
        );
    }
}
