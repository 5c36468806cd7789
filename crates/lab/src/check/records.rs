//! What a shard of `prodsim check` records per case, and how cases add up: the same
//! counting for the unsharded check and for the merge of shards.

use serde::{Deserialize, Serialize};

use super::{CHUNK, CaseRun, Invariant};

/// One case as a shard records it: enough to count it exactly as the unsharded check
/// does, and to find the first failing case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case's index.
    pub index: u32,
    /// Events its run processed.
    pub events: u64,
    /// The invariants checked, as a bit mask over [`Invariant::ALL`] positions.
    pub checked: u32,
    /// The names of the invariants it broke (none when it passed).
    pub broke: Vec<String>,
}

impl CaseRecord {
    pub(super) fn of(index: u32, run: &CaseRun) -> CaseRecord {
        let mut broke: Vec<String> = run.violations.iter().map(|v| v.invariant.name().to_string()).collect();
        broke.dedup();
        CaseRecord {
            index,
            events: run.log.events,
            checked: run.checked.iter().fold(0, |mask, inv| mask | 1 << (*inv as u32)),
            broke,
        }
    }

    fn checks(&self, invariant: Invariant) -> bool {
        self.checked & (1 << (invariant as u32)) != 0
    }
}

/// The cases one shard ran: every case it owns below `covered_to`, in case order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecords {
    /// The shard ran all its cases below this index (all of them, or up to the end of the
    /// block of [`CHUNK`] cases holding its first failure, as the unsharded check stops).
    pub covered_to: u32,
    /// The cases, in case order.
    pub cases: Vec<CaseRecord>,
}

/// What the cases counted so far add up to.
pub(super) struct Tally {
    pub(super) cases_run: u32,
    pub(super) runs: u64,
    pub(super) events: u64,
    pub(super) per_invariant: Vec<u64>,
}

impl Tally {
    pub(super) fn new() -> Tally {
        Tally { cases_run: 0, runs: 0, events: 0, per_invariant: vec![0; Invariant::ALL.len()] }
    }

    pub(super) fn add(&mut self, r: &CaseRecord, recovery: bool) {
        self.cases_run += 1;
        self.runs += 1 + u64::from(recovery) + u64::from(r.checks(Invariant::Determinism));
        self.events += r.events;
        for inv in Invariant::ALL {
            if r.checks(inv) {
                self.per_invariant[inv as usize] += 1;
            }
        }
    }
}

/// Where a check that first fails at case `index` stops: the end of that case's block.
pub(super) fn cutoff(index: u32, cases: u32) -> u32 {
    (index / CHUNK as u32 + 1).saturating_mul(CHUNK as u32).min(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_stops_at_the_end_of_the_block_of_its_first_failure() {
        assert_eq!(cutoff(0, 150), 64);
        assert_eq!(cutoff(63, 150), 64);
        assert_eq!(cutoff(64, 150), 128);
        assert_eq!(cutoff(130, 150), 150);
        assert_eq!(cutoff(5, 40), 40);
    }

    #[test]
    fn a_tally_counts_runs_as_the_check_does() {
        let mut t = Tally::new();
        let determinism = 1 << (Invariant::Determinism as u32);
        let engine = 1 << (Invariant::Engine as u32);
        t.add(&CaseRecord { index: 0, events: 10, checked: engine | determinism, broke: vec![] }, true);
        t.add(&CaseRecord { index: 1, events: 5, checked: engine, broke: vec!["ledger".into()] }, true);
        assert_eq!((t.cases_run, t.runs, t.events), (2, 3 + 2, 15));
        assert_eq!(t.per_invariant[Invariant::Engine as usize], 2);
        assert_eq!(t.per_invariant[Invariant::Determinism as usize], 1);
    }
}
