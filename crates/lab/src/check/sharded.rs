//! A check in shards: each shard runs its own cases and records them
//! ([`check_shard`]); [`merge`] puts the records back together into the report the
//! unsharded check writes, running the first failing case again to shrink it.

use super::records::{CaseRecord, CaseRecords, Tally, cutoff};
use super::{CheckError, CheckOptions, CheckReport, Plan, Progress, case_run, finish, scan};
use crate::chaos::Mode;
use crate::shard::Shard;
use prodsim_scenario::Scenario;

/// Runs only `shard`'s cases (case `i` belongs to shard `i % N`) and records them.
pub fn check_shard(
    scenario: &Scenario,
    plan: &Plan,
    options: &CheckOptions,
    shard: Shard,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<CaseRecords, CheckError> {
    let mut cases = Vec::new();
    let covered_to = scan(scenario, plan, options, shard, progress, &mut |i, run| cases.push(CaseRecord::of(i, &run)))?;
    Ok(CaseRecords { covered_to, cases })
}

/// The check's report from every shard's records (sorted by shard): the first failing case
/// in case order over all shards is run again here and shrunk, and every count covers the
/// cases the unsharded check would have run, so the report is the unsharded one.
pub fn merge(
    scenario: &Scenario,
    plan: &Plan,
    options: &CheckOptions,
    shards: &[(Shard, &CaseRecords)],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<CheckReport, CheckError> {
    let bad = |m: String| CheckError::Partial(m);
    let first_failure =
        shards.iter().flat_map(|(_, r)| &r.cases).filter(|c| !c.broke.is_empty()).map(|c| c.index).min();
    let limit = first_failure.map_or(options.cases, |i| cutoff(i, options.cases));
    let recovery = plan.judge.mode == Mode::Recovery;
    let mut tally = Tally::new();
    for (shard, records) in shards {
        if records.covered_to < limit {
            return Err(bad(format!(
                "shard {shard} ran its cases up to {} only; {limit} are needed",
                records.covered_to
            )));
        }
        let counted: Vec<&CaseRecord> = records.cases.iter().filter(|c| c.index < limit).collect();
        let expected = shard.tasks(limit as usize);
        if counted.len() != shard.task_count(limit as usize)
            || !counted.iter().zip(expected).all(|(c, t)| c.index as usize == t)
        {
            return Err(bad(format!("shard {shard} does not hold exactly its cases below {limit}")));
        }
        for c in counted {
            tally.add(c, recovery);
        }
    }
    let failure = match first_failure {
        None => None,
        Some(i) => {
            let run = case_run(scenario, plan, options, i);
            if run.violations.is_empty() {
                return Err(bad(format!("case {i} is recorded as failing, but it passes when run again here")));
            }
            Some((i, run))
        }
    };
    Ok(finish(scenario, plan, options, tally, failure, progress))
}
