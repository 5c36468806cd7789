//! `prodsim compare FILE`: run variants of a scenario (balancing strategies, or the values
//! of any key) on the same replication seeds, print a table of means with 95% confidence
//! intervals and significance against the best, and write CSV, JSON and charts.
//!
//! Also holds what `compare` and `sweep` share: the common flags, `--metric`, loading the
//! file and building the variants, and the progress bar.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prodsim_lab::overrides::{self, Assignment};
use prodsim_lab::shard::{self, Partial, Records, Shard};
use prodsim_lab::{self as experiment, Dimension, Measures, SummaryMetric, Variant, compare};
use prodsim_model::outcome::Outcome;
use prodsim_parts::Strategy;
use prodsim_report as report;
use prodsim_scenario::diagnostic::nearest;

use super::diagnostics;

/// Flags shared by `compare` and `sweep`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Replications per variant, each with its own derived seed (at least 2 for an interval).
    #[arg(long, short = 'n', value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub replications: u32,
    /// Worker threads [default: the number of CPUs]; results do not depend on it.
    #[arg(long, short = 'j', value_name = "J", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// Base seed of the replication seeds (overrides `[scenario].seed`).
    #[arg(long, value_parser = super::parse_seed, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Simulated time of every run, e.g. "2h" (same as --set scenario.duration=D).
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Change a key in every variant, e.g. --set servers.count=8 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Directory for the report files [default: reports/<scenario name>/<command>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Skip the interactive page (report.html).
    #[arg(long)]
    pub no_html: bool,
    /// Print nothing but errors and warnings (no table, no progress bar).
    #[arg(long, short)]
    pub quiet: bool,
    /// Run only shard K of N (0-based) and write its partial result into --out for
    /// `prodsim merge`; a matching partial already there is kept (see docs/scale-out.md).
    #[arg(long, value_name = "K/N", value_parser = super::shard::parse_shard)]
    pub shard: Option<Shard>,
}

impl CommonArgs {
    /// Appends the flags that define the experiment (not --out, --jobs, --quiet, --shard),
    /// as `prodsim merge` parses them back.
    pub fn experiment_argv(&self, argv: &mut Vec<String>) {
        argv.extend(["--replications".to_string(), self.replications.to_string()]);
        if let Some(seed) = self.seed {
            argv.extend(["--seed".to_string(), seed.to_string()]);
        }
        if let Some(d) = &self.duration {
            argv.extend(["--duration".to_string(), d.clone()]);
        }
        for s in &self.set {
            argv.extend(["--set".to_string(), s.clone()]);
        }
        if self.no_charts {
            argv.push("--no-charts".to_string());
        }
        if self.no_html {
            argv.push("--no-html".to_string());
        }
    }

    /// The report directory: --out, or reports/<scenario name>/<command>/.
    pub fn dir(&self, name: &str, command: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(name).join(command))
    }

    /// Worker threads to use.
    pub fn jobs(&self) -> usize {
        self.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from)
    }

    /// The `--set` and `--duration` assignments, in that order.
    pub fn base_assignments(&self) -> anyhow::Result<Vec<Assignment>> {
        let mut out = Vec::new();
        for arg in &self.set {
            let set = overrides::split_key(arg, "--set")?;
            if set.text.is_empty() {
                bail!("--set {arg:?}: expects KEY=VALUE with a value");
            }
            out.push(Assignment::set(set.key, overrides::parse_value(&set.text)));
        }
        if let Some(d) = &self.duration {
            out.push(Assignment::set("scenario.duration", toml::Value::String(d.clone())));
        }
        Ok(out)
    }
}

/// `--metric`, shared by `compare` and `sweep`.
#[derive(Debug, Args)]
pub struct MetricArgs {
    /// Also estimate a numeric summary.json key, e.g. cost.total, payments.lost,
    /// classes.checkout.availability (repeatable). Best is the lowest mean, the highest for
    /// availability, recall and the like; KEY:higher or KEY:lower says it explicitly.
    #[arg(long = "metric", value_name = "KEY")]
    pub metric: Vec<String>,
}

impl MetricArgs {
    /// Appends the `--metric` flags, as `prodsim merge` parses them back.
    pub fn experiment_argv(&self, argv: &mut Vec<String>) {
        for m in &self.metric {
            argv.extend(["--metric".to_string(), m.clone()]);
        }
    }

    /// The keys, checked against the variants' summary.json paths before anything runs.
    pub fn resolve(&self, variants: &[Variant]) -> anyhow::Result<Vec<SummaryMetric>> {
        Ok(experiment::measure::resolve(&self.metric, variants)?)
    }
}

/// Reads the values of `extra` from one run: the numbers at those keys of the run's
/// summary.json (NaN where a run has none).
pub fn extractor(extra: &[SummaryMetric]) -> impl Fn(&Outcome) -> Vec<f64> + Sync + '_ {
    move |o: &Outcome| report::summary_metric::summary_numbers(o, extra)
}

/// A loaded file with its variants built.
pub struct Prepared {
    /// The variants, in grid order.
    pub variants: Vec<Variant>,
    /// Base seed of the replications.
    pub base_seed: u64,
    /// Name of the original scenario (the default report directory).
    pub name: String,
}

/// Builds every variant of `dims` from the loaded `file` and prints their warnings.
pub fn prepare(
    file: &Path,
    loaded: &prodsim_scenario::Loaded,
    common: &CommonArgs,
    dims: &[Dimension],
) -> anyhow::Result<Prepared> {
    let base = common.base_assignments()?;
    let variants = experiment::variants(&loaded.source_text, file, &base, dims, common.replications)?;
    let mut seen: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    for v in &variants {
        for w in &v.warnings {
            if !seen.contains(&w.message.as_str()) {
                seen.push(&w.message);
                eprintln!("warning: [{}] {}", v.label, w.message);
            }
        }
    }
    Ok(Prepared {
        variants,
        base_seed: common.seed.unwrap_or(loaded.scenario.seed),
        name: loaded.scenario.name.clone(),
    })
}

/// A progress bar on stderr for `total` runs; hidden when stderr is not a terminal or
/// `quiet` is set.
pub fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} runs, {elapsed} (eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Parses `--strategies a,b,c`: known names, no repeats.
pub fn parse_strategies(raw: &str) -> anyhow::Result<Vec<Strategy>> {
    let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if name.is_empty() {
            bail!("--strategies {raw:?}: empty name; expected a comma-separated list of {}", names.join(", "));
        }
        let Some(s) = Strategy::from_name(name) else {
            let hint =
                nearest(name, names.iter().copied()).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            bail!("--strategies: unknown strategy `{name}`{hint}; expected one of {}", names.join(", "));
        };
        if out.contains(&s) {
            bail!("--strategies: `{name}` is listed twice");
        }
        out.push(s);
    }
    Ok(out)
}

/// Arguments of `prodsim compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Balancing strategies to compare, comma-separated [default: the four classic ones,
    /// round_robin, random, least_connections and power_of_two, when no --vary].
    #[arg(long, value_name = "A,B,...")]
    strategies: Option<String>,
    /// Compare the values of any key, e.g. --vary servers.count=4,6,8 (repeatable; several
    /// give every combination).
    #[arg(long, value_name = "KEY=V1,V2,...")]
    vary: Vec<String>,
    #[command(flatten)]
    pub metrics: MetricArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl CompareArgs {
    /// The experiment's command line, as a partial result records it.
    fn experiment_argv(&self) -> Vec<String> {
        let mut argv = vec!["compare".to_string(), self.file.display().to_string()];
        if let Some(s) = &self.strategies {
            argv.extend(["--strategies".to_string(), s.clone()]);
        }
        for v in &self.vary {
            argv.extend(["--vary".to_string(), v.clone()]);
        }
        self.common.experiment_argv(&mut argv);
        self.metrics.experiment_argv(&mut argv);
        argv
    }

    /// The variants to compare, their `--metric` keys, and how they run.
    fn setup(
        &self,
        loaded: &prodsim_scenario::Loaded,
    ) -> anyhow::Result<(Prepared, Vec<SummaryMetric>, compare::Options)> {
        let mut dims = Vec::new();
        match &self.strategies {
            Some(raw) => dims.push(Dimension::strategies(&parse_strategies(raw)?)),
            None if self.vary.is_empty() => dims.push(Dimension::strategies(&Strategy::CLASSIC)),
            None => {}
        }
        for arg in &self.vary {
            let list = overrides::parse_list(arg, "--vary")?;
            dims.push(Dimension::values(&list.key, &list.values));
        }
        let p = prepare(&self.file, loaded, &self.common, &dims)?;
        if p.variants.len() < 2 {
            bail!("nothing to compare: one variant ({}); give at least two strategies or values", p.variants[0].label);
        }
        let extra = self.metrics.resolve(&p.variants)?;
        let opts = compare::Options {
            replications: self.common.replications,
            base_seed: p.base_seed,
            jobs: self.common.jobs(),
        };
        Ok((p, extra, opts))
    }
}

/// Runs the comparison (or one shard of it) and writes its report.
pub fn execute(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let (p, extra, opts) = args.setup(&loaded)?;
    let extract = extractor(&extra);
    let measures = Measures { extra: &extra, extract: &extract };
    let bar = progress_bar(p.variants.len() as u64 * u64::from(opts.replications), args.common.quiet);
    bar.set_prefix("compare");
    let context = || format!("compare {}", args.file.display());
    if let Some(shard) = args.common.shard {
        let tasks = compare::task_count(&p.variants, opts)?;
        let header = super::shard::header("compare", args.experiment_argv(), &loaded.source_text, tasks);
        let dir = args.common.dir(&p.name, "compare");
        return super::shard::run_shard(&dir, shard, header, args.common.quiet, || {
            let records = compare::run_shard(&p.variants, opts, &measures, shard, &|| bar.inc(1));
            bar.finish_and_clear();
            Ok(Records::Compare(records.with_context(context)?))
        });
    }
    let result = compare::run(&p.variants, opts, &measures, &|| bar.inc(1));
    bar.finish_and_clear();
    let c = result.with_context(context)?;
    finish(args, &p, &c)
}

/// `prodsim merge` of a comparison: the shards' runs in task order, then the same report.
pub fn merge(
    args: &CompareArgs,
    loaded: &prodsim_scenario::Loaded,
    partials: Vec<(String, Partial)>,
) -> anyhow::Result<ExitCode> {
    let (p, extra, opts) = args.setup(loaded)?;
    let tasks = compare::task_count(&p.variants, opts)?;
    let shards = super::merge::records(partials, tasks, |r| match r {
        Records::Compare(runs) => Some(runs),
        Records::Sweep(_) | Records::Check(_) => None,
    })?;
    let c = compare::merge(&p.variants, opts, &extra, shard::interleave(shards))
        .with_context(|| format!("merge of compare {}", args.file.display()))?;
    finish(args, &p, &c)
}

/// Writes the comparison's report and prints its table: the one place both the unsharded
/// command and `prodsim merge` write from, so their files are byte-identical.
fn finish(args: &CompareArgs, p: &Prepared, c: &compare::Comparison) -> anyhow::Result<ExitCode> {
    let dir = args.common.dir(&p.name, "compare");
    let set = report::manifest::begin(&dir)?;
    let mut written = report::compare::write_files(c, &dir)?;
    if !args.common.no_charts {
        written.extend(report::compare::write_charts(c, &dir)?);
    }
    if !args.common.no_html {
        written.push(report::html::write_compare(&dir, c)?);
    }
    let manifest = report::manifest::seal(set, &written)?;
    written.push(manifest);
    if !args.common.quiet {
        print!("{}", report::compare::table(c));
        print_written(&written);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the written files, PNGs and data files only (each SVG sits beside its PNG).
pub fn print_written(written: &[PathBuf]) {
    let names: Vec<String> =
        written.iter().filter(|p| p.extension().is_none_or(|e| e != "svg")).map(|p| p.display().to_string()).collect();
    println!("\nreport        {} (and an .svg beside each .png)", names.join(", "));
}
