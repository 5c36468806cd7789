//! `prodsim blast-radius FILE`: fail each component, instance group and region in turn on
//! identical traffic, rank them by user harm against the fault-free baseline, and mark the
//! single points of failure (docs/blast-radius.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use prodsim_kernel::units::parse_duration;
use prodsim_lab::blast;
use prodsim_report as report;

use super::compare::{CommonArgs, prepare, print_written, progress_bar};
use super::diagnostics;

/// Arguments of `prodsim blast-radius`.
#[derive(Debug, Args)]
pub struct BlastArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Fault kinds to fail components with, comma-separated [default: those of
    /// outage,crash,partition,primary_crash,region_outage (the ways a part is lost) the
    /// scenario's components can suffer].
    #[arg(long, value_name = "A,B,...")]
    kinds: Option<String>,
    /// When each fault starts, e.g. "20m" [default: a quarter into the measured run].
    #[arg(long, value_name = "D")]
    at: Option<String>,
    /// How long each fault lasts, e.g. "10m" [default: a quarter of the measured run].
    #[arg(long = "for", value_name = "D")]
    for_: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A duration flag in nanoseconds.
fn duration_flag(flag: &str, text: &Option<String>) -> anyhow::Result<Option<u64>> {
    text.as_deref().map(|t| parse_duration(t).map_err(|e| anyhow::anyhow!("{flag} {t:?}: {e}"))).transpose()
}

/// The `--kinds` list without repeats; `None` for the default (those of
/// [`DEFAULT_KINDS`] the scenario's components can suffer).
fn kinds(raw: &Option<String>) -> anyhow::Result<Option<Vec<String>>> {
    let Some(raw) = raw else { return Ok(None) };
    let mut out: Vec<String> = Vec::new();
    for k in raw.split(',').map(str::trim) {
        if k.is_empty() {
            bail!("--kinds {raw:?}: empty name; expected a comma-separated list of fault kinds, e.g. outage,crash");
        }
        if !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    }
    Ok(Some(out))
}

/// Runs the blast radius and writes its report.
pub fn execute(args: &BlastArgs) -> anyhow::Result<ExitCode> {
    if args.common.shard.is_some() {
        bail!("not yet: blast-radius does not run in shards (--shard); run it whole");
    }
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let p = prepare(&args.file, &loaded, &args.common, &[])?;
    let scenario = &p.variants[0].scenario;
    let opts = blast::Options {
        replications: args.common.replications,
        base_seed: p.base_seed,
        jobs: args.common.jobs(),
        kinds: kinds(&args.kinds)?,
        at_ns: duration_flag("--at", &args.at)?,
        for_ns: duration_flag("--for", &args.for_)?,
    };
    let suspects = blast::suspects(scenario, &opts)?;
    let bar = progress_bar((suspects.len() as u64 + 1) * u64::from(opts.replications), args.common.quiet);
    bar.set_prefix("blast-radius");
    let result = blast::run(scenario, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    let b = result.with_context(|| format!("blast-radius {}", args.file.display()))?;
    let dir = args.common.dir(&p.name, "blast-radius");
    let set = report::manifest::begin(&dir)?;
    let mut written = report::blast::write_files(&b, &dir)?;
    if !args.common.no_charts {
        written.extend(report::blast::write_chart(&b, &dir)?);
    }
    if !args.common.no_html {
        written.push(report::html::write_blast(&dir, &b)?);
    }
    written.push(report::manifest::seal(set, &written)?);
    if !args.common.quiet {
        print!("{}", report::blast::table(&b));
        print_written(&written);
    }
    Ok(ExitCode::SUCCESS)
}
