//! `prodsim blast-radius`: every component, instance group and region failed in turn, on
//! identical traffic, and ranked by the harm to users against the fault-free baseline.
//!
//! Each suspect is one (fault kind, target) of the scenario's [`FaultSpace`], restricted
//! to the kinds asked for (by default the ways a part is lost: an outage, a crash, a
//! partition, the primary's crash, a region's outage). The scenario's own `[[faults]]` are
//! removed, so the baseline is fault-free and each variant differs from it by exactly one
//! fault. Replication `r` of every variant runs on the same seed (common random numbers),
//! so the harm of a fault is estimated from paired differences, with far less noise than
//! two independent runs would give.
//!
//! Harm is measured where users feel it: availability over the whole measured run and
//! inside the fault's window, failed requests (overall and per class), revenue lost (the
//! classes' `revenue`), payments lost or left queued, and the error budget burned (with an
//! `[slo]`). A suspect is a **single point of failure** when, during its fault, the
//! availability falls below the objective (the `[slo]` objective, or 99.9% without one).

use prodsim_kernel::units::format_duration;
use prodsim_model::outcome::Outcome;
use prodsim_scenario::Scenario;
use prodsim_scenario::diagnostic::nearest;

use crate::chaos::schedule::fault_of;
use crate::chaos::{Fault, FaultSpace};
use crate::stats::{Estimate, estimate};
use crate::{ExperimentError, MAX_RUNS, execute, replication_seed};

/// The kinds a blast radius fails components with unless told otherwise: the ways a
/// component, a group of instances or a region is lost.
pub const DEFAULT_KINDS: [&str; 5] = ["outage", "crash", "partition", "primary_crash", "region_outage"];

/// The objective a single point of failure is judged against without an `[slo]`.
pub const DEFAULT_OBJECTIVE: f64 = 0.999;

/// How a blast radius runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Replications of the baseline and of every suspect.
    pub replications: u32,
    /// Base seed of the replication seeds.
    pub base_seed: u64,
    /// Worker threads (results do not depend on it).
    pub jobs: usize,
    /// Fault kinds to try (names as in `[[faults]]`); `None`: those of [`DEFAULT_KINDS`]
    /// the scenario's components can suffer. A kind given here that none of them can
    /// suffer is an error.
    pub kinds: Option<Vec<String>>,
    /// When each fault starts; `None`: a quarter into the measured run.
    pub at_ns: Option<u64>,
    /// How long each fault lasts (and, for a crash, the window its harm is read in);
    /// `None`: a quarter of the measured run.
    pub for_ns: Option<u64>,
}

/// One fault to try: a kind on a target, with its window.
#[derive(Clone, Debug, PartialEq)]
pub struct Suspect {
    /// `kind on target`, e.g. `outage on payment_api`.
    pub label: String,
    /// The fault injected.
    pub fault: Fault,
}

/// The numbers of one run that harm is computed from.
#[derive(Clone, Debug, PartialEq)]
struct RunNumbers {
    availability: f64,
    window_availability: f64,
    failed: f64,
    failed_per_class: Vec<f64>,
    revenue_failed: f64,
    payments_lost: f64,
    payments_queued: f64,
    arrived: f64,
}

/// The harm of one suspect, each an estimate over the replications' paired differences
/// with the baseline (positive: worse than the baseline).
#[derive(Clone, Debug, PartialEq)]
pub struct Harm {
    /// The suspect.
    pub suspect: Suspect,
    /// Availability of the whole measured run lost, in percentage points.
    pub availability_lost_pp: Estimate,
    /// Availability inside the fault's window (not a difference), as a share.
    pub window_availability: Estimate,
    /// Failed requests added (rejected, timed out or failed).
    pub failed_requests: Estimate,
    /// Failed requests added per class, in class order.
    pub failed_per_class: Vec<Estimate>,
    /// Revenue of the added failed requests (the classes' `revenue`).
    pub revenue_lost: Estimate,
    /// Payments lost added (charged without an order, dropped after "success").
    pub payments_lost: Estimate,
    /// Payments still queued at the end, added (delayed, not yet settled).
    pub payments_delayed: Estimate,
    /// Share of the SLO period's error budget the added failures burned (with an `[slo]`).
    pub budget_burned: Option<Estimate>,
    /// Whether the availability in the fault's window fell below the objective.
    pub single_point_of_failure: bool,
}

/// A blast radius: the baseline and every suspect's harm, the worst first.
#[derive(Clone, Debug, PartialEq)]
pub struct BlastRadius {
    /// The scenario's name.
    pub scenario: String,
    /// Class names, in file order (the columns of the per-class harm).
    pub classes: Vec<String>,
    /// Replications per variant.
    pub replications: u32,
    /// Base seed.
    pub base_seed: u64,
    /// The objective single points of failure are judged against.
    pub objective: f64,
    /// Whether the objective is the scenario's `[slo]` (or the default).
    pub objective_from_slo: bool,
    /// When the faults start and how long they last, ns.
    pub window_ns: (u64, u64),
    /// The fault-free baseline's availability.
    pub baseline_availability: Estimate,
    /// Every suspect, ranked by availability lost (then failed requests, then label).
    pub harms: Vec<Harm>,
}

/// The suspects of `scenario` for `opts`' kinds, in the fault space's order (simplest kind
/// and smallest target first). Per-server kinds try one server (`server-0`: the servers of
/// a pool are alike) and the whole pool.
pub fn suspects(scenario: &Scenario, opts: &Options) -> Result<Vec<Suspect>, ExperimentError> {
    let space = FaultSpace::of(scenario);
    let known = space.kinds();
    let kinds: Vec<String> = match &opts.kinds {
        Some(k) => k.clone(),
        None => DEFAULT_KINDS.iter().filter(|k| known.contains(k)).map(|k| k.to_string()).collect(),
    };
    for kind in opts.kinds.iter().flatten() {
        if !known.contains(&kind.as_str()) {
            let hint =
                nearest(kind, known.iter().copied()).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            return Err(ExperimentError::Options(format!(
                "--kinds: `{kind}` is not a fault this scenario's components can suffer{hint}; they can suffer {}",
                known.join(", ")
            )));
        }
    }
    let (start_ns, end_ns) = window(scenario, opts);
    let whole_pool = space.partition_sources().last().map_or((0, 1), |s| s.from);
    let mut out = Vec::new();
    for choice in space.choices.iter().filter(|c| kinds.iter().any(|k| k == c.kind)) {
        let another_server = choice.target_name.strip_prefix("server-").is_some_and(|i| i != "0");
        if another_server {
            continue;
        }
        let Some(fault) = fault_of(choice, whole_pool, start_ns, end_ns) else { continue };
        out.push(Suspect { label: format!("{} on {}", choice.kind, choice.target_name), fault });
    }
    if out.is_empty() {
        return Err(ExperimentError::Options(format!(
            "no component of this scenario can suffer {}; try --kinds with some of {}",
            kinds.join(", "),
            known.join(", ")
        )));
    }
    Ok(out)
}

/// The faults' window `(start, end)`: `--at`/`--for`, or the second quarter of the
/// measured run.
fn window(scenario: &Scenario, opts: &Options) -> (u64, u64) {
    let measured_ns = scenario.duration_ns.saturating_sub(scenario.warmup_ns);
    let start_ns = opts.at_ns.unwrap_or(scenario.warmup_ns + measured_ns / 4).min(scenario.duration_ns);
    let end_ns = start_ns.saturating_add(opts.for_ns.unwrap_or(measured_ns / 4)).min(scenario.duration_ns);
    (start_ns, end_ns.max(start_ns))
}

/// Runs the baseline and every suspect `opts.replications` times on shared seeds and ranks
/// the suspects. `progress` is called once per finished run.
pub fn run(scenario: &Scenario, opts: &Options, progress: &(dyn Fn() + Sync)) -> Result<BlastRadius, ExperimentError> {
    let suspects = suspects(scenario, opts)?;
    let window_ns = window(scenario, opts);
    let variants = 1 + suspects.len() as u64;
    let runs = variants * u64::from(opts.replications);
    if opts.replications < 2 || runs > MAX_RUNS {
        return Err(ExperimentError::Size(format!(
            "blast radius of {} suspects × {} replications: needs at least 2 replications and at most {MAX_RUNS} runs",
            suspects.len(),
            opts.replications
        )));
    }
    let base = Scenario { faults: Vec::new(), ..scenario.clone() };
    let variant_of = |v: usize| -> Scenario {
        match v.checked_sub(1) {
            None => base.clone(),
            Some(s) => Scenario { faults: vec![suspects[s].fault.clone()], ..base.clone() },
        }
    };
    let tasks: Vec<(usize, u32)> =
        (0..=suspects.len()).flat_map(|v| (0..opts.replications).map(move |r| (v, r))).collect();
    let mut numbers: Vec<RunNumbers> = Vec::with_capacity(tasks.len());
    execute(
        opts.jobs,
        &tasks,
        |&(v, r)| {
            let seed = replication_seed(opts.base_seed, r);
            let o = prodsim_model::simulate(&variant_of(v), seed).map_err(|reason| ExperimentError::Run {
                variant: if v == 0 { "baseline".into() } else { suspects[v - 1].label.clone() },
                seed,
                reason,
            })?;
            Ok(numbers_of(scenario, &o, window_ns))
        },
        |n| numbers.push(n),
        progress,
    )?;
    Ok(rank(scenario, opts, suspects, window_ns, &numbers))
}

/// The estimates from every run's numbers (variant-major, replication-minor).
fn rank(
    scenario: &Scenario,
    opts: &Options,
    suspects: Vec<Suspect>,
    window_ns: (u64, u64),
    numbers: &[RunNumbers],
) -> BlastRadius {
    let reps = opts.replications as usize;
    let (baseline, faulted) = numbers.split_at(reps);
    let slo = scenario.topology.monitoring.as_ref().and_then(|m| m.slo.as_ref());
    let objective = slo.map_or(DEFAULT_OBJECTIVE, |s| s.objective);
    let classes: Vec<String> = scenario.topology.classes.iter().map(|c| c.name.clone()).collect();
    let mut harms: Vec<Harm> = suspects
        .into_iter()
        .zip(faulted.chunks(reps))
        .map(|(suspect, runs)| {
            let diff = |f: &dyn Fn(&RunNumbers) -> f64| -> Estimate {
                estimate(&runs.iter().zip(baseline).map(|(a, b)| f(a) - f(b)).collect::<Vec<_>>())
            };
            let window_availability = estimate(&runs.iter().map(|r| r.window_availability).collect::<Vec<_>>());
            let budget_burned = slo.map(|s| {
                let period_share =
                    s.window_ns as f64 / scenario.duration_ns.saturating_sub(scenario.warmup_ns).max(1) as f64;
                diff(&|r| r.failed / ((1.0 - s.objective) * (r.arrived * period_share).max(1.0)))
            });
            Harm {
                availability_lost_pp: diff(&|r| -100.0 * r.availability),
                single_point_of_failure: window_availability.mean < objective,
                window_availability,
                failed_requests: diff(&|r| r.failed),
                failed_per_class: (0..classes.len()).map(|c| diff(&|r| r.failed_per_class[c])).collect(),
                revenue_lost: diff(&|r| r.revenue_failed),
                payments_lost: diff(&|r| r.payments_lost),
                payments_delayed: diff(&|r| r.payments_queued),
                budget_burned,
                suspect,
            }
        })
        .collect();
    harms.sort_by(|a, b| {
        let key = |h: &Harm| (nan_low(h.availability_lost_pp.mean), nan_low(h.failed_requests.mean));
        key(b)
            .0
            .total_cmp(&key(a).0)
            .then(key(b).1.total_cmp(&key(a).1))
            .then_with(|| a.suspect.label.cmp(&b.suspect.label))
    });
    BlastRadius {
        scenario: scenario.name.clone(),
        classes,
        replications: opts.replications,
        base_seed: opts.base_seed,
        objective,
        objective_from_slo: slo.is_some(),
        window_ns,
        baseline_availability: estimate(&baseline.iter().map(|r| r.availability).collect::<Vec<_>>()),
        harms,
    }
}

/// NaN ranks last.
fn nan_low(v: f64) -> f64 {
    if v.is_nan() { f64::NEG_INFINITY } else { v }
}

/// What one run's outcome says about harm.
fn numbers_of(scenario: &Scenario, o: &Outcome, (start_ns, end_ns): (u64, u64)) -> RunNumbers {
    let failed = |r: &prodsim_model::outcome::RequestCounts| (r.rejected + r.timed_out + r.failed) as f64;
    let classes = &scenario.topology.classes;
    let failed_per_class: Vec<f64> = o.system.classes.iter().map(|c| failed(&c.requests)).collect();
    let revenue_failed = failed_per_class.iter().zip(classes).map(|(f, c)| f * c.revenue).sum();
    // A crash is an instant: its harm is read over the same span a lasting fault would get.
    let end_ns = if end_ns > start_ns { end_ns } else { start_ns + (scenario.duration_ns - start_ns) / 3 };
    let (mut ok, mut done) = (0u64, 0u64);
    // Every report interval that overlaps the window: a crash's failures land at its
    // instant, which may fall inside an interval that began before it.
    for row in o.rows.iter().filter(|r| r.end_ns > start_ns && r.start_ns < end_ns) {
        ok += row.completions;
        done += row.completions + row.rejections + row.timeouts + row.failures;
    }
    RunNumbers {
        availability: o.requests.availability().unwrap_or(f64::NAN),
        window_availability: if done > 0 { ok as f64 / done as f64 } else { f64::NAN },
        failed: failed(&o.requests),
        failed_per_class,
        revenue_failed,
        payments_lost: o.system.payments.lost as f64,
        payments_queued: o.system.payments.queued as f64,
        arrived: o.requests.arrived as f64,
    }
}

impl BlastRadius {
    /// The faults' window as text, e.g. `+15m for 15m`.
    pub fn window_text(&self) -> String {
        let (start, end) = self.window_ns;
        format!("+{} for {}", format_duration(start), format_duration(end - start))
    }
}
