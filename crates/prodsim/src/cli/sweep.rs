//! `prodsim sweep FILE --param KEY=START..END:STEP`: run a grid over scenario keys on the
//! same replication seeds, print a short table, and write `sweep.csv` and one chart per
//! metric with 95% confidence bands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use prodsim_lab::{Dimension, sweep};
use prodsim_report as report;

use super::compare::{CommonArgs, parse_strategies, prepare, print_written, progress_bar};

/// Arguments of `prodsim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A grid axis: KEY=START..END:STEP (numbers) or KEY=V1,V2,... (any values). Repeat
    /// for a grid; the first numeric one is the charts' x axis.
    #[arg(long, value_name = "KEY=RANGE", required = true)]
    param: Vec<String>,
    /// Also vary the balancing strategy, comma-separated: one line per strategy in charts.
    #[arg(long, value_name = "A,B,...")]
    strategies: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Runs the sweep and writes its report.
pub fn execute(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let mut dims = Vec::new();
    for arg in &args.param {
        dims.push(sweep::parse_param(arg)?);
    }
    if let Some(raw) = &args.strategies {
        dims.push(Dimension::strategies(&parse_strategies(raw)?));
    }
    let Some(p) = prepare(&args.file, &args.common, &dims)? else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let opts =
        sweep::Options { replications: args.common.replications, base_seed: p.base_seed, jobs: args.common.jobs() };
    let bar = progress_bar(p.variants.len() as u64 * u64::from(opts.replications), args.common.quiet);
    bar.set_prefix("sweep");
    let result = sweep::run(&p.variants, &dims, opts, &|| bar.inc(1));
    bar.finish_and_clear();
    let s = result.with_context(|| format!("sweep {}", args.file.display()))?;

    let dir = args.common.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&p.name).join("sweep"));
    let set = report::manifest::begin(&dir)?;
    let mut written = report::sweep::write_files(&s, &dir)?;
    let mut note = None;
    if !args.common.no_charts {
        let charts = report::sweep::write_charts(&s, &dir)?;
        if charts.is_empty() {
            note = Some("no chart: no --param has two or more numeric values (use `prodsim compare` for categories)");
        }
        written.extend(charts);
    }
    if !args.common.no_html {
        written.push(report::html::write_sweep(&dir, &s)?);
    }
    let manifest = report::manifest::seal(set, &written)?;
    written.push(manifest);
    if !args.common.quiet {
        print!("{}", report::sweep::table(&s));
        if let Some(n) = note {
            println!("\n{n}");
        }
        print_written(&written);
    }
    Ok(ExitCode::SUCCESS)
}
