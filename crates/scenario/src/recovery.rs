//! How money and data are put right after a failure: `[reconciliation]` (a periodic job
//! that asks the payment provider about charges whose answer was lost) and `[backups]`
//! (scheduled database backups and the restore after a `data_loss` fault), raw as serde
//! reads them and resolved. See `docs/scenario-format.md`.

use serde::Deserialize;
use toml::Spanned;

/// `[reconciliation]`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReconciliation {
    /// Time between two runs of the job (default 5m).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
}

/// `[backups]`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackups {
    /// Time between the starts of two backups; the first starts one interval in.
    pub interval: Spanned<String>,
    /// How long one backup takes (default 5m); it holds the data as of its start.
    #[serde(default)]
    pub duration: Option<Spanned<String>>,
    /// What one backup costs (storage and transfer), default 0.
    #[serde(default)]
    pub price_per_backup: Option<Spanned<f64>>,
    /// How long a restore from the last backup takes (default 30m).
    #[serde(default)]
    pub restore: Option<Spanned<String>>,
}

/// `[reconciliation]`, resolved: the job that settles payments in doubt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconciliationSpec {
    /// Time between two runs, in nanoseconds; the first runs one interval in.
    pub interval_ns: u64,
}

/// `[backups]`, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackupSpec {
    /// Time between the starts of two backups, in nanoseconds.
    pub interval_ns: u64,
    /// How long one backup takes, in nanoseconds (shorter than the interval).
    pub duration_ns: u64,
    /// Price of one backup.
    pub price_per_backup: f64,
    /// How long a restore takes, in nanoseconds.
    pub restore_ns: u64,
}

impl BackupSpec {
    /// The start of the last backup finished by `now`, if one is; a backup that is still
    /// running when the data is lost cannot be restored from.
    pub fn last_completed_start_ns(&self, now_ns: u64) -> Option<u64> {
        let done_by = now_ns.checked_sub(self.duration_ns)?;
        let k = done_by / self.interval_ns;
        (k >= 1).then(|| k * self.interval_ns)
    }

    /// Backups finished by `now_ns` (for the cost).
    pub fn completed_by(&self, now_ns: u64) -> u64 {
        now_ns.checked_sub(self.duration_ns).map_or(0, |t| t / self.interval_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::BackupSpec;

    const B: BackupSpec = BackupSpec { interval_ns: 100, duration_ns: 10, price_per_backup: 1.0, restore_ns: 50 };

    #[test]
    fn the_last_backup_is_the_last_one_finished() {
        assert_eq!(B.last_completed_start_ns(0), None);
        assert_eq!(B.last_completed_start_ns(105), None, "the first backup is still running");
        assert_eq!(B.last_completed_start_ns(110), Some(100));
        assert_eq!(B.last_completed_start_ns(209), Some(100));
        assert_eq!(B.last_completed_start_ns(250), Some(200));
        assert_eq!(B.completed_by(109), 0);
        assert_eq!(B.completed_by(250), 2);
    }
}
