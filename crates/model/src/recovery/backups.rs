//! Database backups and the restore after a `data_loss` fault: backups start every
//! interval (the first one interval in) and hold the data as of their start; a loss
//! destroys the data (the destruction replicates, so no failover saves it), the database is
//! down while it is restored from the last finished backup, and every write committed since
//! that backup's start is lost. RPO and RTO are measured, not configured: the time since the
//! backup's start, and the time until the database serves again.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_scenario::recovery::BackupSpec;

use crate::engine::Engine;
use crate::event::{CallEvent, Event, FaultEvent};
use crate::tasks::NONE;

/// What backups and restores did, with `[backups]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BackupOutcome {
    /// Backups finished during the run.
    pub completed: u64,
    /// Their price.
    pub cost: f64,
    /// `data_loss` faults that destroyed the data.
    pub data_losses: u64,
    /// Restores finished.
    pub restores: u64,
    /// Writes committed and then lost with the data (not in the backup restored).
    pub writes_lost: u64,
    /// The worst recovery point: how much time of writes a loss destroyed (from the start
    /// of the backup restored, or of the run without one), in nanoseconds; `None` without a
    /// loss.
    pub rpo_ns: Option<u64>,
    /// The worst recovery time: from a loss until the database served again, in
    /// nanoseconds; `None` without a finished restore.
    pub rto_ns: Option<u64>,
}

/// The backups' state during a run.
pub(crate) struct Backups {
    /// `[backups]`.
    pub spec: BackupSpec,
    /// Writes in the data now.
    writes: u64,
    /// The latest two backup starts with the writes the data held then, newest first.
    snapshots: [(u64, u64); 2],
    /// When the next backup starts.
    next_start_ns: u64,
    /// When a restore under way began.
    restoring_since: Option<SimTime>,
    /// What they did.
    pub stats: BackupOutcome,
}

impl Backups {
    /// No backup yet; the first starts one interval in.
    pub fn new(spec: BackupSpec) -> Backups {
        Backups {
            spec,
            writes: 0,
            snapshots: [(0, 0); 2],
            next_start_ns: spec.interval_ns,
            restoring_since: None,
            stats: BackupOutcome::default(),
        }
    }

    /// Takes the snapshots of the backups that started by `now`.
    fn advance(&mut self, now: SimTime) {
        while now.as_nanos() >= self.next_start_ns {
            self.snapshots = [(self.next_start_ns, self.writes), self.snapshots[0]];
            self.next_start_ns += self.spec.interval_ns;
        }
    }

    /// A write committed at `now`.
    #[inline]
    pub fn write(&mut self, now: SimTime) {
        if now.as_nanos() >= self.next_start_ns {
            self.advance(now);
        }
        self.writes += 1;
    }

    /// The data is destroyed at `now`: the writes since the last finished backup are lost.
    /// False when a restore is already under way (nothing more to lose).
    fn lose(&mut self, now: SimTime) -> bool {
        if self.restoring_since.is_some() {
            return false;
        }
        self.advance(now);
        let start = self.spec.last_completed_start_ns(now.as_nanos());
        let kept = start.and_then(|s| self.snapshots.iter().find(|(at, _)| *at == s)).map_or(0, |&(_, w)| w);
        let s = &mut self.stats;
        s.data_losses += 1;
        s.writes_lost += self.writes - kept;
        let rpo = now.as_nanos() - start.unwrap_or(0);
        s.rpo_ns = Some(s.rpo_ns.map_or(rpo, |r| r.max(rpo)));
        self.writes = kept;
        self.restoring_since = Some(now);
        true
    }

    /// The restore finished at `now`.
    fn restored(&mut self, now: SimTime) {
        let Some(since) = self.restoring_since.take() else { return };
        let s = &mut self.stats;
        s.restores += 1;
        let rto = now.since(since);
        s.rto_ns = Some(s.rto_ns.map_or(rto, |r| r.max(rto)));
    }

    /// What they did by the end of the run at `end`.
    pub fn outcome(&self, end: SimTime) -> BackupOutcome {
        let completed = self.spec.completed_by(end.as_nanos());
        BackupOutcome { completed, cost: completed as f64 * self.spec.price_per_backup, ..self.stats }
    }
}

impl Engine {
    /// A `data_loss` fault: the database's data is destroyed. Every instance goes down with
    /// its queries (they fail), and the restore from the last backup begins.
    pub(crate) fn lose_data(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let (Some(db), Some(b)) = (self.db.as_ref(), self.recovery.backups.as_mut()) else { return };
        if !b.lose(now) {
            return;
        }
        let (s, restore_ns) = (db.station as usize, b.spec.restore_ns);
        for i in 0..self.stations[s].instances.len() as u32 {
            let victims = self.tasks_on(s, i);
            self.stations[s].instances[i as usize].crash(now);
            for t in victims {
                let (call, seq) = (self.flow.tasks[t].parent_call, self.flow.tasks[t].parent_gen);
                self.free_task(t);
                if call != NONE {
                    queue.schedule(now, Event::Call(CallEvent::Failed { call, seq }));
                }
            }
        }
        queue.schedule(now.after(restore_ns), Event::Fault(FaultEvent::Restored));
    }

    /// The restore finished: the database serves again, with the backup's data.
    pub(crate) fn on_restored(&mut self, now: SimTime) {
        let (Some(db), Some(b)) = (self.db.as_ref(), self.recovery.backups.as_mut()) else { return };
        b.restored(now);
        let s = db.station as usize;
        for instance in &mut self.stations[s].instances {
            instance.up = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: BackupSpec = BackupSpec { interval_ns: 100, duration_ns: 10, price_per_backup: 2.0, restore_ns: 30 };

    #[test]
    fn a_loss_keeps_the_writes_of_the_last_finished_backup() {
        let mut b = Backups::new(SPEC);
        for t in [5, 50, 99, 100, 104, 150, 200, 205] {
            b.write(SimTime(t));
        }
        // At 207 the backup of 200 is still running: the one of 100 is restored, which holds
        // the three writes before 100.
        assert!(b.lose(SimTime(207)));
        assert!(!b.lose(SimTime(208)), "already restoring");
        b.restored(SimTime(237));
        let o = b.outcome(SimTime(300));
        assert_eq!((o.data_losses, o.restores, o.writes_lost), (1, 1, 5));
        assert_eq!((o.rpo_ns, o.rto_ns), (Some(107), Some(30)));
        assert_eq!((o.completed, o.cost), (2, 4.0));
    }

    #[test]
    fn without_a_finished_backup_everything_is_lost() {
        let mut b = Backups::new(SPEC);
        b.write(SimTime(1));
        b.write(SimTime(2));
        assert!(b.lose(SimTime(105)));
        let o = b.outcome(SimTime(105));
        assert_eq!((o.writes_lost, o.rpo_ns, o.rto_ns, o.completed), (2, Some(105), None, 0));
    }
}
