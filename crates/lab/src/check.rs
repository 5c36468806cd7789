//! Property-based checking of failure recovery: the engine behind `prodsim check`.
//!
//! Each case draws a random fault schedule from the scenario's own components
//! ([`FaultSpace`], [`schedules`]), runs it, and hands the run to the
//! [invariant checkers](crate::chaos::checkers). In recovery mode the faults stop by a point of
//! the run, and the fault-free run of the same seed is the baseline the recovery checker
//! compares against; in safety mode the faults never stop and only safety invariants are
//! checked. Every sixteenth case also runs twice to check determinism.
//!
//! Case `i` uses seed [`case_seed`]`(seed, i)` for both its schedule and its simulation, so
//! a case is reproducible on its own. Cases run in parallel in chunks of a fixed size and
//! are collected in case order; the first failing case in case order is the one reported,
//! so results never depend on the number of threads. The failing schedule is then shrunk
//! with proptest's value tree (fewer faults, shorter, later, milder) for as long as it
//! still breaks one of the same invariants.
//!
//! No I/O: progress is reported through a callback.

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rayon::prelude::*;
use thiserror::Error;

use crate::chaos::checkers::{self, Invariant, Violation, recovery};
use crate::chaos::{FaultSpace, Mode, Schedule, Window, schedules};
use crate::shard::Shard;

mod records;
mod sharded;

use prodsim_kernel::units::format_duration;
use prodsim_kernel::{EventLog, NS_PER_S, derive_seed};
use prodsim_model::RunError;
use prodsim_model::outcome::Outcome;
use prodsim_scenario::Scenario;
pub use records::{CaseRecord, CaseRecords};
use records::{Tally, cutoff};
pub use sharded::{check_shard, merge};

/// Cases in flight between two merges.
const CHUNK: usize = 64;

/// Every this many cases, a case also runs a second time to check determinism.
pub const DETERMINISM_EVERY: u32 = 16;

/// Most cases one check may ask for.
pub const MAX_CASES: u32 = 1_000_000;

/// The shortest stretch faults may fall in, in recovery mode.
const MIN_FAULT_SPAN_NS: u64 = 30 * NS_PER_S;

/// How a check runs.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOptions {
    /// Cases to run.
    pub cases: u32,
    /// Seed the case seeds derive from.
    pub seed: u64,
    /// Whether faults stop (recovery) or not (safety).
    pub mode: Mode,
    /// Worker threads; results do not depend on it.
    pub jobs: usize,
    /// How long after the last fault the system has to recover.
    pub recovery_bound_ns: u64,
    /// Most faults in one schedule.
    pub max_faults: usize,
    /// How close to the baseline a recovered system must be.
    pub tolerance: recovery::Tolerance,
    /// Most runs spent shrinking a counterexample.
    pub shrink_runs: u32,
    /// Fault kinds to draw from (names as in scenario files); empty: every kind the
    /// scenario's components can suffer.
    pub kinds: Vec<String>,
}

impl CheckOptions {
    /// The defaults: 100 cases, recovery mode, one thread, a 2-minute recovery bound, at
    /// most 3 faults, the default tolerance, at most 300 shrinking runs, every kind.
    pub fn new(seed: u64) -> CheckOptions {
        CheckOptions {
            cases: 100,
            seed,
            mode: Mode::Recovery,
            jobs: 1,
            recovery_bound_ns: 120 * NS_PER_S,
            max_faults: 3,
            tolerance: recovery::Tolerance::default(),
            shrink_runs: 300,
            kinds: Vec::new(),
        }
    }
}

/// Why a check could not run.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The options or the scenario do not allow a check.
    #[error("{0}")]
    Setup(String),
    /// The thread pool could not be built.
    #[error("cannot start {jobs} worker threads: {message}")]
    Pool {
        /// Threads asked for.
        jobs: usize,
        /// The reason.
        message: String,
    },
    /// Partial results (of `--shard`) do not fit the check being merged.
    #[error("partial results do not fit the check: {0}")]
    Partial(String),
}

/// The seed of case `index` of a check with seed `seed`: its schedule and its run.
pub fn case_seed(seed: u64, index: u32) -> u64 {
    derive_seed(seed, u64::from(index))
}

/// How a case's run is judged: the mode, and in recovery mode the bound, the tolerance
/// and how long each alert of the scenario may take to resolve (computed once).
#[derive(Clone, Debug)]
pub struct Judge {
    /// Recovery or safety.
    pub mode: Mode,
    /// How long after the last fault the system has to recover.
    pub recovery_bound_ns: u64,
    /// How close to the baseline a recovered system must be.
    pub tolerance: recovery::Tolerance,
    /// Per alert, its reset time ([`recovery::alert_resets`]).
    pub alert_resets: Vec<recovery::AlertReset>,
}

impl Judge {
    /// The judge of runs of `scenario` under `options`.
    pub fn new(scenario: &Scenario, options: &CheckOptions) -> Judge {
        Judge {
            mode: options.mode,
            recovery_bound_ns: options.recovery_bound_ns,
            tolerance: options.tolerance,
            alert_resets: recovery::alert_resets(scenario),
        }
    }

    /// Where the system must have recovered from `schedule`: from its last fault's end plus
    /// the bound until the end of the run.
    pub fn recovery_window(&self, scenario: &Scenario, schedule: &Schedule) -> recovery::Window {
        let last = schedule.last_end_ns().unwrap_or(scenario.warmup_ns);
        recovery::Window {
            from_ns: last.saturating_add(self.recovery_bound_ns),
            to_ns: scenario.duration_ns,
            alert_resets: self.alert_resets.clone(),
        }
    }
}

/// What a check of one scenario draws from: its fault space and the time window, and how
/// it judges each case.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The faults its components can suffer.
    pub space: FaultSpace,
    /// Where faults fall.
    pub window: Window,
    /// Most faults per schedule.
    pub max_faults: usize,
    /// How each case is judged.
    pub judge: Judge,
}

impl Plan {
    /// The plan for checking `scenario` with `options`, or why it cannot be checked.
    ///
    /// Recovery mode: after the warmup, the rest of the run less the recovery bound is
    /// halved; faults fall in the first half, and the system must have recovered from the
    /// last fault's end plus the bound until the end. Safety mode: faults start in the
    /// first three quarters after the warmup and last until the end.
    pub fn new(scenario: &Scenario, options: &CheckOptions) -> Result<Plan, CheckError> {
        if options.cases == 0 || options.cases > MAX_CASES {
            return Err(CheckError::Setup(format!("--cases must be 1 to {MAX_CASES}, got {}", options.cases)));
        }
        if options.max_faults == 0 {
            return Err(CheckError::Setup("--max-faults must be at least 1".to_string()));
        }
        let mut space = FaultSpace::of(scenario);
        if !options.kinds.is_empty() {
            restrict(&mut space, &options.kinds, &scenario.name)?;
        }
        if space.is_empty() {
            return Err(CheckError::Setup(format!(
                "scenario {} has no component prodsim can inject faults into",
                scenario.name
            )));
        }
        let (start, end) = (scenario.warmup_ns, scenario.duration_ns);
        let window = match options.mode {
            Mode::Recovery => {
                let span = end.saturating_sub(start).saturating_sub(options.recovery_bound_ns) / 2;
                if span < MIN_FAULT_SPAN_NS {
                    return Err(CheckError::Setup(format!(
                        "the run is too short for recovery mode: after the warmup ({}) it needs time for faults, then \
                         --recovery-bound ({}), then as long again to watch the recovery; lengthen [scenario].duration \
                         (now {}) or shorten --recovery-bound",
                        format_duration(start),
                        format_duration(options.recovery_bound_ns),
                        format_duration(end)
                    )));
                }
                Window { earliest_ns: start, latest_end_ns: start + span, run_end_ns: end }
            }
            Mode::Safety => {
                let span = end.saturating_sub(start) / 4 * 3;
                if span < MIN_FAULT_SPAN_NS {
                    return Err(CheckError::Setup(format!(
                        "the run is too short to check: lengthen [scenario].duration (now {})",
                        format_duration(end)
                    )));
                }
                Window { earliest_ns: start, latest_end_ns: start + span, run_end_ns: end }
            }
        };
        Ok(Plan { space, window, max_faults: options.max_faults, judge: Judge::new(scenario, options) })
    }

    /// The strategy every case draws its schedule from.
    pub fn strategy(&self) -> BoxedStrategy<Schedule> {
        schedules(&self.space, self.window, self.judge.mode, self.max_faults)
    }

    /// The value tree of case seed `seed`: its schedule is `current()`, and it shrinks.
    pub fn tree(&self, seed: u64) -> Box<dyn ValueTree<Value = Schedule>> {
        let mut bytes = [0u8; 32];
        for (k, part) in bytes.chunks_mut(8).enumerate() {
            part.copy_from_slice(&derive_seed(seed, k as u64).to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let config = Config { failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new_with_rng(config, rng);
        match self.strategy().new_tree(&mut runner) {
            Ok(tree) => tree,
            // Schedule strategies never reject (no filters), so this cannot happen.
            Err(reason) => unreachable!("schedule strategy rejected a case: {reason}"),
        }
    }
}

/// Keeps only the choices of `kinds` in `space`; every name must be a kind the scenario's
/// components can suffer.
fn restrict(space: &mut FaultSpace, kinds: &[String], scenario: &str) -> Result<(), CheckError> {
    let available = space.kinds();
    for name in kinds {
        if available.contains(&name.as_str()) {
            continue;
        }
        let known = prodsim_parts::faults::FaultKind::BUILT.contains(&name.as_str());
        let hint = prodsim_scenario::diagnostic::nearest(name, available.iter().copied())
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        let what = if known {
            format!("no component of scenario {scenario} can suffer a `{name}` fault")
        } else {
            format!("unknown fault kind `{name}`{hint}")
        };
        return Err(CheckError::Setup(format!("--kinds: {what}; expected some of {}", available.join(", "))));
    }
    space.choices.retain(|c| kinds.iter().any(|k| k == c.kind));
    Ok(())
}

/// One case: its schedule, what was checked and what broke.
#[derive(Clone, Debug)]
pub struct CaseRun {
    /// Seed of its run.
    pub seed: u64,
    /// The faults injected.
    pub schedule: Schedule,
    /// Invariants checked.
    pub checked: Vec<Invariant>,
    /// Violations found, in invariant order.
    pub violations: Vec<Violation>,
    /// The run's event log.
    pub log: EventLog,
}

impl CaseRun {
    /// Whether it broke one of `invariants`.
    pub fn breaks_any(&self, invariants: &[Invariant]) -> bool {
        self.violations.iter().any(|v| invariants.contains(&v.invariant))
    }
}

/// Runs `schedule` on `scenario` with `seed` and checks every invariant that applies:
/// recovery against `baseline` (recovery mode only; `None` skips it), determinism when
/// `twice`.
pub fn run_case(
    scenario: &Scenario,
    judge: &Judge,
    schedule: &Schedule,
    seed: u64,
    baseline: Option<&Result<Outcome, RunError>>,
    twice: bool,
) -> CaseRun {
    let case = schedule.apply(scenario);
    let (result, log) = prodsim_model::simulate_logged(&case, seed);
    let mut checked = vec![Invariant::Engine];
    let mut violations = checkers::engine::check(&case, &result, &log);
    if let Ok(outcome) = &result {
        checked.push(Invariant::Conservation);
        violations.extend(checkers::conservation::check(outcome));
        checked.push(Invariant::Ledger);
        violations.extend(checkers::ledger::check(outcome));
        if outcome.system.delivery.is_some() {
            checked.push(Invariant::Deploys);
            violations.extend(checkers::deploys::check(outcome));
        }
        match (judge.mode, baseline) {
            (Mode::Recovery, Some(Ok(base))) => {
                checked.push(Invariant::Recovery);
                let window = judge.recovery_window(scenario, schedule);
                violations.extend(recovery::check(outcome, base, &window, &judge.tolerance));
            }
            (Mode::Recovery, Some(Err(e))) => violations
                .push(Violation::new(Invariant::Engine, format!("the fault-free run of the same seed stopped: {e}"))),
            // Safety mode has no recovery to check; without a baseline there is nothing
            // to compare against.
            (Mode::Safety, _) | (Mode::Recovery, None) => {}
        }
    }
    if twice {
        checked.push(Invariant::Determinism);
        let (_, again) = prodsim_model::simulate_logged(&case, seed);
        violations.extend(checkers::determinism::check(&log, &again));
    }
    checked.sort();
    violations.sort_by_key(|v| v.invariant);
    CaseRun { seed, schedule: schedule.clone(), checked, violations, log }
}

/// The fault-free run of `scenario` with `seed`: the recovery baseline.
pub fn baseline(scenario: &Scenario, seed: u64) -> Result<Outcome, RunError> {
    prodsim_model::simulate(&Schedule { faults: Vec::new() }.apply(scenario), seed)
}

/// What a check reports while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A case finished.
    Case,
    /// A shrinking run finished; the smallest failing schedule so far has `faults` faults.
    Shrink {
        /// Shrinking runs so far.
        runs: u32,
        /// Faults in the smallest failing schedule so far.
        faults: usize,
    },
}

/// A minimal failing case.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// Index of the case that failed first.
    pub case: u32,
    /// Its seed (schedule and run).
    pub seed: u64,
    /// The schedule as generated.
    pub found: Schedule,
    /// The violations of the schedule as generated.
    pub found_violations: Vec<Violation>,
    /// The shrunk schedule and its run.
    pub shrunk: CaseRun,
    /// Runs spent shrinking.
    pub shrink_runs: u32,
    /// The shrunk case ran again and broke the same invariants with the same event log.
    pub reproduced: bool,
}

/// How many times one invariant was checked over a check's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvariantCount {
    /// The invariant.
    pub invariant: Invariant,
    /// Runs it was checked on.
    pub checked: u64,
}

/// What a check found.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Cases run (all of them, or up to the end of the chunk with the first failure).
    pub cases_run: u32,
    /// How many times each invariant was checked, in [`Invariant::ALL`] order.
    pub checks: Vec<InvariantCount>,
    /// Simulations run, baselines and shrinking included.
    pub runs: u64,
    /// Events processed by the cases' runs.
    pub events: u64,
    /// The first failing case, shrunk; `None` when every case passed.
    pub counterexample: Option<Counterexample>,
}

/// Checks `scenario` over `options.cases` random fault schedules.
pub fn check(
    scenario: &Scenario,
    options: &CheckOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<CheckReport, CheckError> {
    let plan = Plan::new(scenario, options)?;
    check_plan(scenario, &plan, options, progress)
}

/// Case `i` as the check runs it: its schedule, baseline and invariants.
fn case_run(scenario: &Scenario, plan: &Plan, options: &CheckOptions, i: u32) -> CaseRun {
    let seed = case_seed(options.seed, i);
    let schedule = plan.tree(seed).current();
    let base = (plan.judge.mode == Mode::Recovery).then(|| baseline(scenario, seed));
    run_case(scenario, &plan.judge, &schedule, seed, base.as_ref(), i % DETERMINISM_EVERY == 0)
}

/// Runs `shard`'s cases in case order, in parallel chunks, handing each to `on_case` in
/// case order, and stops at the end of the block of [`CHUNK`] cases that holds the first
/// failure. Returns the index below which every case of the shard was handed over.
fn scan(
    scenario: &Scenario,
    plan: &Plan,
    options: &CheckOptions,
    shard: Shard,
    progress: &(dyn Fn(Progress) + Sync),
    on_case: &mut dyn FnMut(u32, CaseRun),
) -> Result<u32, CheckError> {
    let jobs = options.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| CheckError::Pool { jobs, message: e.to_string() })?;
    let indices: Vec<u32> = shard.tasks(options.cases as usize).map(|i| i as u32).collect();
    let mut limit = options.cases;
    for chunk in indices.chunks(CHUNK) {
        if chunk[0] >= limit {
            break;
        }
        let results: Vec<CaseRun> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&i| {
                    let run = case_run(scenario, plan, options, i);
                    progress(Progress::Case);
                    run
                })
                .collect()
        });
        for (&i, run) in chunk.iter().zip(results) {
            if i >= limit {
                break;
            }
            if !run.violations.is_empty() {
                limit = limit.min(cutoff(i, options.cases));
            }
            on_case(i, run);
        }
    }
    Ok(limit)
}

/// [`check`] with a plan already made from `scenario` and `options` (the CLI shows it
/// before the cases run).
pub fn check_plan(
    scenario: &Scenario,
    plan: &Plan,
    options: &CheckOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<CheckReport, CheckError> {
    let recovery = plan.judge.mode == Mode::Recovery;
    let mut tally = Tally::new();
    let mut failure: Option<(u32, CaseRun)> = None;
    scan(scenario, plan, options, Shard::WHOLE, progress, &mut |i, run| {
        tally.add(&CaseRecord::of(i, &run), recovery);
        if failure.is_none() && !run.violations.is_empty() {
            failure = Some((i, run));
        }
    })?;
    Ok(finish(scenario, plan, options, tally, failure, progress))
}

/// The report from the counted cases and the first failure, shrunk.
fn finish(
    scenario: &Scenario,
    plan: &Plan,
    options: &CheckOptions,
    tally: Tally,
    failure: Option<(u32, CaseRun)>,
    progress: &(dyn Fn(Progress) + Sync),
) -> CheckReport {
    let recovery = plan.judge.mode == Mode::Recovery;
    let Tally { cases_run, mut runs, events, per_invariant } = tally;
    let counterexample = failure.map(|(case, run)| {
        let cx = shrink(scenario, plan, options.shrink_runs, case, run, progress);
        // The baseline (recovery mode), every shrinking run (twice when it checks
        // determinism), and the final confirmation twice.
        let per_run = 1 + u64::from(cx.found_violations.iter().any(|v| v.invariant == Invariant::Determinism));
        runs += u64::from(recovery) + u64::from(cx.shrink_runs) * per_run + 2;
        cx
    });
    let checks = Invariant::ALL
        .iter()
        .map(|&invariant| InvariantCount { invariant, checked: per_invariant[invariant as usize] })
        .collect();
    CheckReport { cases_run, checks, runs, events, counterexample }
}

/// Shrinks the schedule of failing case `case` while it still breaks one of the same
/// invariants, within `limit` runs, then runs the result twice more to confirm it
/// reproduces.
fn shrink(
    scenario: &Scenario,
    plan: &Plan,
    limit: u32,
    case: u32,
    failing: CaseRun,
    progress: &(dyn Fn(Progress) + Sync),
) -> Counterexample {
    let seed = failing.seed;
    let mut targets: Vec<Invariant> = failing.violations.iter().map(|v| v.invariant).collect();
    targets.dedup();
    let twice = targets.contains(&Invariant::Determinism);
    let base = (plan.judge.mode == Mode::Recovery).then(|| baseline(scenario, seed));
    let mut tree = plan.tree(seed);
    let found = failing.schedule.clone();
    let found_violations = failing.violations.clone();
    let mut best = failing;
    let mut runs = 0u32;
    if tree.simplify() {
        while runs < limit {
            runs += 1;
            let candidate = run_case(scenario, &plan.judge, &tree.current(), seed, base.as_ref(), twice);
            let fails = candidate.breaks_any(&targets);
            if fails {
                best = candidate;
            }
            progress(Progress::Shrink { runs, faults: best.schedule.faults.len() });
            let more = if fails { tree.simplify() } else { tree.complicate() };
            if !more {
                break;
            }
        }
    }
    let again = run_case(scenario, &plan.judge, &best.schedule, seed, base.as_ref(), true);
    let reproduced = again.log == best.log && again.breaks_any(&targets);
    Counterexample { case, seed, found, found_violations, shrunk: best, shrink_runs: runs, reproduced }
}

/// Runs the scenario's own `[[faults]]` as one case with `seed` and checks every
/// invariant (the run twice, for determinism): how a written counterexample is replayed.
pub fn replay(scenario: &Scenario, options: &CheckOptions, seed: u64) -> CaseRun {
    let schedule = Schedule { faults: scenario.faults.clone() };
    let base = (options.mode == Mode::Recovery).then(|| baseline(scenario, seed));
    run_case(scenario, &Judge::new(scenario, options), &schedule, seed, base.as_ref(), true)
}
