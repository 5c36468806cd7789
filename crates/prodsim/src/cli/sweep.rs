//! `prodsim sweep FILE --param KEY=START..END:STEP`: run a grid over scenario keys on the
//! same replication seeds, print a short table, and write `sweep.csv` and one chart per
//! metric with 95% confidence bands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use prodsim_lab::shard::{self, Partial, Records};
use prodsim_lab::{Dimension, Measures, SummaryMetric, sweep};
use prodsim_report as report;

use super::compare::{
    CommonArgs, MetricArgs, Prepared, extractor, parse_strategies, prepare, print_written, progress_bar,
};
use super::diagnostics;

/// Arguments of `prodsim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A grid axis: KEY=START..END:STEP (numbers) or KEY=V1,V2,... (any values). Repeat
    /// for a grid; the first numeric one is the charts' x axis.
    #[arg(long, value_name = "KEY=RANGE", required = true)]
    param: Vec<String>,
    /// Also vary the balancing strategy, comma-separated: one line per strategy in charts.
    #[arg(long, value_name = "A,B,...")]
    strategies: Option<String>,
    #[command(flatten)]
    pub metrics: MetricArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl SweepArgs {
    /// The experiment's command line, as a partial result records it.
    fn experiment_argv(&self) -> Vec<String> {
        let mut argv = vec!["sweep".to_string(), self.file.display().to_string()];
        for p in &self.param {
            argv.extend(["--param".to_string(), p.clone()]);
        }
        if let Some(s) = &self.strategies {
            argv.extend(["--strategies".to_string(), s.clone()]);
        }
        self.common.experiment_argv(&mut argv);
        self.metrics.experiment_argv(&mut argv);
        argv
    }

    /// The grid, its points, their `--metric` keys, and how they run.
    fn setup(&self, loaded: &prodsim_scenario::Loaded) -> anyhow::Result<Setup> {
        let mut dims = Vec::new();
        for arg in &self.param {
            dims.push(sweep::parse_param(arg)?);
        }
        if let Some(raw) = &self.strategies {
            dims.push(Dimension::strategies(&parse_strategies(raw)?));
        }
        let p = prepare(&self.file, loaded, &self.common, &dims)?;
        let extra = self.metrics.resolve(&p.variants)?;
        let opts =
            sweep::Options { replications: self.common.replications, base_seed: p.base_seed, jobs: self.common.jobs() };
        Ok((dims, p, extra, opts))
    }
}

/// A sweep ready to run: its grid, points, `--metric` keys and options.
type Setup = (Vec<Dimension>, Prepared, Vec<SummaryMetric>, sweep::Options);

/// Runs the sweep (or one shard of it) and writes its report.
pub fn execute(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let (dims, p, extra, opts) = args.setup(&loaded)?;
    let extract = extractor(&extra);
    let measures = Measures { extra: &extra, extract: &extract };
    let bar = progress_bar(p.variants.len() as u64 * u64::from(opts.replications), args.common.quiet);
    bar.set_prefix("sweep");
    let context = || format!("sweep {}", args.file.display());
    if let Some(shard) = args.common.shard {
        let tasks = sweep::task_count(&p.variants, opts)?;
        let header = super::shard::header("sweep", args.experiment_argv(), &loaded.source_text, tasks);
        let dir = args.common.dir(&p.name, "sweep");
        return super::shard::run_shard(&dir, shard, header, args.common.quiet, || {
            let records = sweep::run_shard(&p.variants, opts, &measures, shard, &|| bar.inc(1));
            bar.finish_and_clear();
            Ok(Records::Sweep(records.with_context(context)?))
        });
    }
    let result = sweep::run(&p.variants, &dims, opts, &measures, &|| bar.inc(1));
    bar.finish_and_clear();
    let s = result.with_context(context)?;
    finish(args, &p, &s)
}

/// `prodsim merge` of a sweep: the shards' runs in task order, then the same report.
pub fn merge(
    args: &SweepArgs,
    loaded: &prodsim_scenario::Loaded,
    partials: Vec<(String, Partial)>,
) -> anyhow::Result<ExitCode> {
    let (dims, p, extra, opts) = args.setup(loaded)?;
    let tasks = sweep::task_count(&p.variants, opts)?;
    let shards = super::merge::records(partials, tasks, |r| match r {
        Records::Sweep(runs) => Some(runs),
        Records::Compare(_) | Records::Check(_) => None,
    })?;
    let s = sweep::merge(&p.variants, &dims, opts, &extra, shard::interleave(shards))
        .with_context(|| format!("merge of sweep {}", args.file.display()))?;
    finish(args, &p, &s)
}

/// Writes the sweep's report and prints its table: the one place both the unsharded
/// command and `prodsim merge` write from, so their files are byte-identical.
fn finish(args: &SweepArgs, p: &Prepared, s: &sweep::Sweep) -> anyhow::Result<ExitCode> {
    let dir = args.common.dir(&p.name, "sweep");
    let set = report::manifest::begin(&dir)?;
    let mut written = report::sweep::write_files(s, &dir)?;
    let mut note = None;
    if !args.common.no_charts {
        let charts = report::sweep::write_charts(s, &dir)?;
        if charts.is_empty() {
            note = Some("no chart: no --param has two or more numeric values (use `prodsim compare` for categories)");
        }
        written.extend(charts);
    }
    if !args.common.no_html {
        written.push(report::html::write_sweep(&dir, s)?);
    }
    let manifest = report::manifest::seal(set, &written)?;
    written.push(manifest);
    if !args.common.quiet {
        print!("{}", report::sweep::table(s));
        if let Some(n) = note {
            println!("\n{n}");
        }
        print_written(&written);
    }
    Ok(ExitCode::SUCCESS)
}
