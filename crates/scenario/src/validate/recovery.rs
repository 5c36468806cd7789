//! Resolving `[reconciliation]` (it needs a payment class to reconcile) and `[backups]`
//! (it needs a `[database]` to back up; a backup is shorter than the time between two).

use super::ctx::Ctx;
use crate::recovery::{BackupSpec, ReconciliationSpec};
use crate::schema::RawScenario;
use crate::topology::Topology;
use crate::units::NS_PER_S;

/// `[reconciliation]`: `Some(None)` without it, `None` after an error.
pub(super) fn reconciliation(cx: &mut Ctx<'_>, raw: &RawScenario, t: &Topology) -> Option<Option<ReconciliationSpec>> {
    let Some(r) = &raw.reconciliation else { return Some(None) };
    let interval_ns = cx.positive_duration_or(r.get_ref().interval.as_ref(), "reconciliation.interval", 300 * NS_PER_S);
    if t.classes.iter().all(|c| c.payment.is_none()) {
        cx.error(
            r.span(),
            "[reconciliation] settles payments, but no request class is one (give a class `payment = \"SERVICE\"`)",
        );
        return None;
    }
    Some(Some(ReconciliationSpec { interval_ns: interval_ns? }))
}

/// `[backups]`: `Some(None)` without it, `None` after an error.
pub(super) fn backups(cx: &mut Ctx<'_>, raw: &RawScenario, t: &Topology) -> Option<Option<BackupSpec>> {
    let Some(b) = &raw.backups else { return Some(None) };
    let (span, b) = (b.span(), b.get_ref());
    let interval_ns = cx.positive_duration(&b.interval, "backups.interval");
    let duration_ns = cx.positive_duration_or(b.duration.as_ref(), "backups.duration", 300 * NS_PER_S);
    let price = cx.non_negative(b.price_per_backup.as_ref(), "backups.price_per_backup", 0.0);
    let restore_ns = cx.positive_duration_or(b.restore.as_ref(), "backups.restore", 1800 * NS_PER_S);
    if t.database.is_none() {
        cx.error(span, "[backups] backs up the database, but there is no [database] section");
        return None;
    }
    let (interval_ns, duration_ns) = (interval_ns?, duration_ns?);
    if duration_ns >= interval_ns {
        let at = b.duration.as_ref().map_or(span, |d| d.span());
        cx.error(
            at,
            "backups.duration must be shorter than backups.interval: a backup would start before the last one ends",
        );
        return None;
    }
    Some(Some(BackupSpec { interval_ns, duration_ns, price_per_backup: price?, restore_ns: restore_ns? }))
}
