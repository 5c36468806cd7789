//! `prodsim capacity FILE --slo SPEC --vary KEY=A..B`: the cheapest configuration that
//! meets every objective in at least `--confidence` of its replications, found by
//! bisection; exits with 1 when none in the range does (docs/capacity.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use prodsim_lab::capacity::{self, DEFAULT_CONFIDENCE, Problem, slo};
use prodsim_report as report;

use super::compare::{CommonArgs, prepare, print_written, progress_bar};
use super::diagnostics;

/// Arguments of `prodsim capacity`.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The objectives, comma-separated METRIC OP VALUE: metrics p50, p90, p99, p999, mean
    /// (latencies, with a unit: 300ms, 1.5s), availability, rejected_share (shares: 0.999 or
    /// 99.9%); ops <, <=, >, >=. E.g. "p99<300ms,availability>=0.999".
    #[arg(long, value_name = "SPEC", required = true)]
    slo: String,
    /// A dimension to search: KEY=A..B (integers, step 1), KEY=A..B:STEP or KEY=V1,V2,...
    /// (repeatable). The first numeric one is bisected for every combination of the others.
    #[arg(long, value_name = "KEY=A..B", required = true)]
    vary: Vec<String>,
    /// Share of replications that must meet every objective for a configuration to meet.
    #[arg(long, value_name = "P", default_value_t = DEFAULT_CONFIDENCE)]
    confidence: f64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs the search, writes its report and prints its table; exit status 1 when no
/// configuration meets.
pub fn execute(args: &CapacityArgs) -> anyhow::Result<ExitCode> {
    if args.common.shard.is_some() {
        bail!("not yet: capacity does not run in shards (--shard); run it whole");
    }
    let objectives = slo::parse(&args.slo)?;
    let mut dims = Vec::new();
    for v in &args.vary {
        dims.push(capacity::parse_vary(v)?);
    }
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    // Checks --set and --duration on the file as it is, and prints the file's warnings.
    let p = prepare(&args.file, &loaded, &args.common, &[])?;
    let base = args.common.base_assignments()?;
    let problem = Problem { source_text: &loaded.source_text, path: &args.file, base: &base, dims, objectives };
    let opts = capacity::Options {
        replications: args.common.replications,
        base_seed: p.base_seed,
        jobs: args.common.jobs(),
        confidence: args.confidence,
    };
    let bar = progress_bar(capacity::planned_runs(&problem, &opts)?, args.common.quiet);
    bar.set_prefix("capacity");
    let result = capacity::run(&problem, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    let c = result.with_context(|| format!("capacity {}", args.file.display()))?;
    for w in &c.warnings {
        eprintln!("warning: {w}");
    }
    let dir = args.common.dir(&p.name, "capacity");
    let set = report::manifest::begin(&dir)?;
    let mut written = report::capacity::write_files(&c, &dir)?;
    if !args.common.no_charts {
        written.extend(report::capacity::write_charts(&c, &dir)?);
    }
    if !args.common.no_html {
        written.push(report::html::write_capacity(&dir, &c)?);
    }
    written.push(report::manifest::seal(set, &written)?);
    if !args.common.quiet {
        print!("{}", report::capacity::table(&c));
        print_written(&written);
    }
    Ok(if c.cheapest.is_some() { ExitCode::SUCCESS } else { ExitCode::from(super::FAILURE) })
}
