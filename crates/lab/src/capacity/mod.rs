//! `prodsim capacity`: the cheapest configuration that meets every objective of an SLO in
//! at least a stated share (the confidence) of its replications.
//!
//! The configurations are the combinations of the `--vary` dimensions' values. The first
//! dimension whose values are all numbers is **bisected** (its values sorted ascending),
//! once for every combination of the other dimensions ([`search::Line`]): assuming more
//! capacity is never worse, the smallest value that meets is found in `2 + ⌈log₂(n − 1)⌉`
//! evaluations of `n` values, and a larger value failing where a smaller one met is
//! reported as not monotone and answered by scanning that line's remaining values. With no
//! numeric dimension every combination is evaluated. The lines advance together, one round
//! at a time, so a round's runs share the worker pool.
//!
//! Every configuration runs the same replications (seed [`replication_seed`]`(base, r)`),
//! so configurations are compared on identical traffic (common random numbers), and the
//! result does not depend on the number of threads.
//!
//! A configuration **meets** when at least `⌈confidence × replications⌉` replications met
//! every objective. Its cost per month is the run's cost (`Outcome::system.cost`, from the
//! scenario's prices) scaled from the run's duration to 30 days, which assumes the run's
//! traffic is representative of the month. Without prices, the smaller values are taken as
//! the cheaper ones.

pub mod search;
pub mod slo;

use std::path::Path;

use prodsim_scenario::Scenario;

use crate::overrides::{self, Assignment, OverrideError};
use crate::stats::{Estimate, estimate};
use crate::{Dimension, ExperimentError, MAX_RUNS, execute, grid, replication_seed, sweep};
use search::Line;
use slo::Objective;

/// Thirty days, the month costs are given for, in nanoseconds.
pub const MONTH_NS: u64 = 30 * 24 * 3600 * 1_000_000_000;

/// The confidence asked for unless told otherwise.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// How a capacity search runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Replications of every configuration evaluated.
    pub replications: u32,
    /// Base seed of the replication seeds.
    pub base_seed: u64,
    /// Worker threads (results do not depend on it).
    pub jobs: usize,
    /// Share of replications that must meet every objective, in (0, 1].
    pub confidence: f64,
}

impl Options {
    /// Replications that must meet every objective: `⌈confidence × replications⌉`.
    pub fn required(&self) -> u32 {
        let need = (self.confidence * f64::from(self.replications) - 1e-9).ceil();
        (need.max(1.0) as u32).min(self.replications)
    }
}

/// What the search varies: the scenario, the changes every configuration has, the
/// dimensions and the objectives.
#[derive(Clone, Debug)]
pub struct Problem<'a> {
    /// The scenario file's text.
    pub source_text: &'a str,
    /// Its path (for the loader's messages).
    pub path: &'a Path,
    /// `--set` and `--duration` changes, applied before each configuration's values.
    pub base: &'a [Assignment],
    /// The `--vary` dimensions, in the order given.
    pub dims: Vec<Dimension>,
    /// The SLO's objectives.
    pub objectives: Vec<Objective>,
}

/// One configuration evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The level index of each dimension (in [`Capacity::dims`], the bisected one sorted).
    pub levels: Vec<usize>,
    /// `key=value` of each dimension, space-separated.
    pub label: String,
    /// The search round it was evaluated in (0 first).
    pub round: usize,
    /// Replications that met every objective.
    pub met: u32,
    /// Replications that met each objective, in objective order.
    pub met_per_objective: Vec<u32>,
    /// Each objective's metric over the replications, in objective order.
    pub estimates: Vec<Estimate>,
    /// The cost scaled to 30 days.
    pub cost_per_month: Estimate,
    /// Whether at least the required replications met every objective.
    pub meets: bool,
}

/// How the search went along one line (one combination of the other dimensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineReport {
    /// The other dimensions' levels (empty with one dimension), in dimension order.
    pub others: Vec<usize>,
    /// Values on the line.
    pub points: usize,
    /// Values evaluated.
    pub evaluated: usize,
    /// Labels of a value that met and a larger one that failed: not monotone.
    pub not_monotone: Option<(String, String)>,
}

/// The result of a capacity search.
#[derive(Clone, Debug, PartialEq)]
pub struct Capacity {
    /// The scenario's name.
    pub scenario: String,
    /// Replications per configuration.
    pub replications: u32,
    /// Base seed.
    pub base_seed: u64,
    /// The confidence asked for.
    pub confidence: f64,
    /// Replications that must meet every objective.
    pub required: u32,
    /// The objectives.
    pub objectives: Vec<Objective>,
    /// The dimensions (the bisected one's values sorted ascending).
    pub dims: Vec<Dimension>,
    /// The bisected dimension, if one is numeric.
    pub bisected: Option<usize>,
    /// Whether the scenario has prices (some configuration costs more than zero).
    pub priced: bool,
    /// Every combination of values (the search space's size).
    pub configurations: usize,
    /// Every configuration evaluated, in evaluation order.
    pub evaluations: Vec<Evaluation>,
    /// How each line's search went.
    pub lines: Vec<LineReport>,
    /// The cheapest configuration that meets (index into `evaluations`).
    pub cheapest: Option<usize>,
    /// Without one that meets: the configuration closest to meeting (most replications met).
    pub closest: Option<usize>,
    /// Loader warnings of the configurations, `label: message`, each message once.
    pub warnings: Vec<String>,
}

/// Parses one `--vary`: `KEY=A..B` (integers, step 1), `KEY=A..B:STEP` or `KEY=V1,V2,...`.
pub fn parse_vary(argument: &str) -> Result<Dimension, OverrideError> {
    let key = overrides::split_key(argument, "--vary")?;
    if key.text.contains("..") && !key.text.contains(':') {
        return sweep::parse_param(&format!("{argument}:1")).map_err(|e| match e {
            OverrideError::Syntax { message, .. } => {
                OverrideError::Syntax { argument: argument.to_string(), message: format!("--vary KEY=A..B: {message}") }
            }
            other => other,
        });
    }
    sweep::parse_param(argument)
}

/// The dimension to bisect: the first whose values are all numbers.
fn bisected(dims: &[Dimension]) -> Option<usize> {
    dims.iter().position(|d| d.levels.iter().all(|l| l.number.is_some()))
}

/// The dimensions with the bisected one's values in ascending order.
fn sorted(mut dims: Vec<Dimension>, bisect: Option<usize>) -> Vec<Dimension> {
    if let Some(b) = bisect {
        dims[b].levels.sort_by(|x, y| x.number.unwrap_or(f64::NAN).total_cmp(&y.number.unwrap_or(f64::NAN)));
    }
    dims
}

/// One line of the search: the other dimensions' levels, and the full level vectors of its
/// points in ascending order of the bisected value.
type LinePoints = (Vec<usize>, Vec<Vec<usize>>);

/// The lines of the search: for each combination of the other dimensions, the bisected
/// dimension's values in ascending order; with no numeric dimension, one line of every
/// combination (scanned).
fn lines_of(dims: &[Dimension], bisect: Option<usize>) -> Result<Vec<LinePoints>, ExperimentError> {
    let Some(b) = bisect else {
        return Ok(vec![(Vec::new(), grid(dims, MAX_RUNS)?)]);
    };
    let others: Vec<Dimension> = dims.iter().enumerate().filter(|(i, _)| *i != b).map(|(_, d)| d.clone()).collect();
    let n = dims[b].levels.len();
    if n == 0 {
        return Err(ExperimentError::Size(format!("{} has no values", dims[b].key)));
    }
    Ok(grid(&others, MAX_RUNS)?
        .into_iter()
        .map(|rest| {
            let points = (0..n)
                .map(|v| {
                    let mut levels = rest.clone();
                    levels.insert(b, v);
                    levels
                })
                .collect();
            (rest, points)
        })
        .collect())
}

/// Runs the search and refuses one whose planned runs exceed [`MAX_RUNS`] before starting.
/// `progress` is called once per finished run.
pub fn run(problem: &Problem, opts: &Options, progress: &(dyn Fn() + Sync)) -> Result<Capacity, ExperimentError> {
    let plan = Plan::new(problem, opts)?;
    let mut lines: Vec<Line> = plan.lines.iter().map(|(_, points)| plan.line(points.len())).collect();
    let mut evaluations: Vec<Evaluation> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut runs: u64 = 0;
    for round in 0.. {
        let probes: Vec<(usize, usize)> =
            lines.iter().enumerate().flat_map(|(l, line)| line.probes().into_iter().map(move |p| (l, p))).collect();
        if probes.is_empty() {
            break;
        }
        runs += probes.len() as u64 * u64::from(opts.replications);
        if runs > MAX_RUNS {
            return Err(ExperimentError::Size(format!(
                "the search needs more than {MAX_RUNS} runs (a line is not monotone and is scanned); \
                 use fewer values or replications"
            )));
        }
        let levels: Vec<Vec<usize>> = probes.iter().map(|&(l, p)| plan.lines[l].1[p].clone()).collect();
        let evaluated = plan.evaluate(problem, opts, &levels, round, &mut warnings, progress)?;
        for (&(l, p), e) in probes.iter().zip(evaluated) {
            lines[l].record(p, e.meets);
            evaluations.push(e);
        }
    }
    Ok(plan.finish(problem, opts, &lines, evaluations, warnings))
}

/// What one run says: each objective's metric, and its cost per month.
struct RunNumbers {
    values: Vec<f64>,
    cost_per_month: f64,
}

/// The search space, sorted, split into lines, and checked against [`MAX_RUNS`].
struct Plan {
    name: String,
    dims: Vec<Dimension>,
    bisect: Option<usize>,
    lines: Vec<LinePoints>,
}

impl Plan {
    fn new(problem: &Problem, opts: &Options) -> Result<Plan, ExperimentError> {
        if problem.dims.is_empty() {
            return Err(ExperimentError::Options("capacity needs at least one --vary KEY=A..B".into()));
        }
        for (i, d) in problem.dims.iter().enumerate() {
            if problem.dims[..i].iter().any(|e| e.key == d.key) {
                return Err(ExperimentError::Size(format!("{} is varied twice; give each key once", d.key)));
            }
        }
        if problem.objectives.is_empty() {
            return Err(ExperimentError::Options("capacity needs at least one objective in --slo".into()));
        }
        if !(opts.confidence > 0.0 && opts.confidence <= 1.0) {
            return Err(ExperimentError::Options(format!(
                "--confidence {} must be a share above 0 and at most 1, e.g. 0.95",
                opts.confidence
            )));
        }
        let bisect = bisected(&problem.dims);
        let dims = sorted(problem.dims.clone(), bisect);
        let lines = lines_of(&dims, bisect)?;
        let name = overrides::apply(problem.source_text, problem.path, problem.base)?.scenario.name;
        let plan = Plan { name, dims, bisect, lines };
        let planned: u64 = plan.lines.iter().map(|(_, p)| plan.planned(p.len()) as u64).sum();
        let runs = planned.saturating_mul(u64::from(opts.replications));
        if opts.replications < 2 || runs > MAX_RUNS {
            return Err(ExperimentError::Size(format!(
                "the search plans {planned} configurations × {} replications = {runs} runs; it needs at least 2 \
                 replications and at most {MAX_RUNS} runs: use fewer values or replications",
                opts.replications
            )));
        }
        Ok(plan)
    }

    /// A line's search: bisection when a dimension is numeric, else a scan.
    fn line(&self, n: usize) -> Line {
        if self.bisect.is_some() { Line::new(n) } else { Line::scan(n) }
    }

    /// Configurations a line of `n` points evaluates when monotone.
    fn planned(&self, n: usize) -> usize {
        if self.bisect.is_some() { Line::planned(n) } else { n }
    }

    /// `key=value` of each dimension of a configuration.
    fn label(&self, levels: &[usize]) -> String {
        self.dims
            .iter()
            .zip(levels)
            .map(|(d, &l)| format!("{}={}", d.key, d.levels[l].text))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Builds, runs and judges the configurations of one round.
    fn evaluate(
        &self,
        problem: &Problem,
        opts: &Options,
        configs: &[Vec<usize>],
        round: usize,
        warnings: &mut Vec<String>,
        progress: &(dyn Fn() + Sync),
    ) -> Result<Vec<Evaluation>, ExperimentError> {
        let mut scenarios: Vec<Scenario> = Vec::with_capacity(configs.len());
        for levels in configs {
            let mut assignments = problem.base.to_vec();
            for (d, &l) in self.dims.iter().zip(levels) {
                assignments.extend(d.levels[l].assignments.iter().cloned());
            }
            let loaded = overrides::apply(problem.source_text, problem.path, &assignments)?;
            for w in &loaded.warnings {
                if !warnings.iter().any(|seen| seen.ends_with(&w.message)) {
                    warnings.push(format!("[{}] {}", self.label(levels), w.message));
                }
            }
            scenarios.push(loaded.scenario);
        }
        let tasks: Vec<(usize, u32)> =
            (0..configs.len()).flat_map(|c| (0..opts.replications).map(move |r| (c, r))).collect();
        let mut numbers: Vec<Vec<RunNumbers>> = (0..configs.len()).map(|_| Vec::new()).collect();
        execute(
            opts.jobs,
            &tasks,
            |&(c, r)| {
                let seed = replication_seed(opts.base_seed, r);
                let s = &scenarios[c];
                let o = prodsim_model::simulate(s, seed).map_err(|reason| ExperimentError::Run {
                    variant: self.label(&configs[c]),
                    seed,
                    reason,
                })?;
                let scale = MONTH_NS as f64 / s.duration_ns.max(1) as f64;
                let values = problem.objectives.iter().map(|obj| obj.metric.of(&o)).collect();
                Ok((c, RunNumbers { values, cost_per_month: o.system.cost.total() * scale }))
            },
            |(c, n)| numbers[c].push(n),
            progress,
        )?;
        Ok(configs.iter().zip(&numbers).map(|(levels, runs)| self.judge(problem, opts, levels, round, runs)).collect())
    }

    /// One configuration's verdict from its runs.
    fn judge(
        &self,
        problem: &Problem,
        opts: &Options,
        levels: &[usize],
        round: usize,
        runs: &[RunNumbers],
    ) -> Evaluation {
        let objectives = &problem.objectives;
        let holds = |r: &RunNumbers, k: usize| objectives[k].holds(r.values[k]);
        let met = runs.iter().filter(|r| (0..objectives.len()).all(|k| holds(r, k))).count() as u32;
        Evaluation {
            levels: levels.to_vec(),
            label: self.label(levels),
            round,
            met,
            met_per_objective: (0..objectives.len())
                .map(|k| runs.iter().filter(|r| holds(r, k)).count() as u32)
                .collect(),
            estimates: (0..objectives.len())
                .map(|k| estimate(&runs.iter().map(|r| r.values[k]).collect::<Vec<_>>()))
                .collect(),
            cost_per_month: estimate(&runs.iter().map(|r| r.cost_per_month).collect::<Vec<_>>()),
            meets: met >= opts.required(),
        }
    }

    /// The values of a configuration as numbers (a level's index when it is not one), the
    /// order "smaller is cheaper" ranks by without prices.
    fn numbers(&self, levels: &[usize]) -> Vec<f64> {
        self.dims.iter().zip(levels).map(|(d, &l)| d.levels[l].number.unwrap_or(l as f64)).collect()
    }

    fn finish(
        self,
        problem: &Problem,
        opts: &Options,
        lines: &[Line],
        evaluations: Vec<Evaluation>,
        warnings: Vec<String>,
    ) -> Capacity {
        let priced = evaluations.iter().any(|e| e.cost_per_month.mean > 0.0);
        let by_values = |a: &Evaluation, b: &Evaluation| {
            let (x, y) = (self.numbers(&a.levels), self.numbers(&b.levels));
            x.iter().zip(&y).map(|(p, q)| p.total_cmp(q)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
        };
        let cheapest = (0..evaluations.len()).filter(|&i| evaluations[i].meets).min_by(|&i, &j| {
            let (a, b) = (&evaluations[i], &evaluations[j]);
            let cost = if priced {
                a.cost_per_month.mean.total_cmp(&b.cost_per_month.mean)
            } else {
                std::cmp::Ordering::Equal
            };
            cost.then_with(|| by_values(a, b))
        });
        // The most replications met; among equals, the most capacity (the largest values).
        let closest = cheapest.is_none().then(|| {
            (0..evaluations.len()).max_by(|&i, &j| {
                let (a, b) = (&evaluations[i], &evaluations[j]);
                a.met.cmp(&b.met).then_with(|| by_values(a, b))
            })
        });
        let reports = self
            .lines
            .iter()
            .zip(lines)
            .map(|((others, points), line)| LineReport {
                others: others.clone(),
                points: points.len(),
                evaluated: line.evaluated(),
                not_monotone: line.violation().map(|(a, b)| (self.label(&points[a]), self.label(&points[b]))),
            })
            .collect();
        Capacity {
            scenario: self.name,
            replications: opts.replications,
            base_seed: opts.base_seed,
            confidence: opts.confidence,
            required: opts.required(),
            objectives: problem.objectives.clone(),
            configurations: self.lines.iter().map(|(_, p)| p.len()).sum(),
            bisected: self.bisect,
            dims: self.dims,
            priced,
            evaluations,
            lines: reports,
            cheapest,
            closest: closest.flatten(),
            warnings,
        }
    }
}

/// Configurations and runs a search plans when every line is monotone (for a progress
/// bar and the refusal of too-large searches).
pub fn planned_runs(problem: &Problem, opts: &Options) -> Result<u64, ExperimentError> {
    let plan = Plan::new(problem, opts)?;
    let configs: u64 = plan.lines.iter().map(|(_, p)| plan.planned(p.len()) as u64).sum();
    Ok(configs * u64::from(opts.replications))
}

impl Capacity {
    /// The configuration the answer names: the cheapest that meets, or the closest.
    pub fn chosen(&self) -> Option<&Evaluation> {
        self.cheapest.or(self.closest).map(|i| &self.evaluations[i])
    }

    /// Whether some line was found not monotone.
    pub fn not_monotone(&self) -> bool {
        self.lines.iter().any(|l| l.not_monotone.is_some())
    }
}

#[cfg(test)]
mod tests;
