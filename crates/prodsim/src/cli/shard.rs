//! `--shard K/N` of `compare`, `sweep` and `check`: run one shard's share of an experiment
//! and write its partial result file (`partial-K-of-N.json`) into the report directory.
//! A shard whose matching partial is already there is skipped, so an interrupted campaign
//! resumes by running every shard again.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use prodsim_lab::shard::{Header, Partial, Records, Shard};
use prodsim_report as report;

/// The prodsim version written into every partial; merge refuses partials of another.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Parses `--shard K/N`.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
}

/// The header of one experiment: the subcommand, its defining command line, the scenario
/// text and the number of tasks.
pub fn header(command: &str, argv: Vec<String>, scenario_text: &str, tasks: usize) -> Header {
    Header::new(VERSION, command, argv, scenario_text, tasks as u64)
}

/// Runs shard `shard` of the experiment `header` with `run` and writes its partial into
/// `dir`, unless a partial of the same shard of the same experiment is already there.
pub fn run_shard(
    dir: &Path,
    shard: Shard,
    header: Header,
    quiet: bool,
    run: impl FnOnce() -> anyhow::Result<Records>,
) -> anyhow::Result<ExitCode> {
    let path = dir.join(Partial::file_name(shard));
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let existing = Partial::from_json(&text).with_context(|| format!("{} is not a partial", path.display()))?;
        if existing.matches(&header, shard) {
            if !quiet {
                println!("shard {shard}: {} exists and matches this experiment; skipped", path.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        let why = header.difference(&existing.header).map_or_else(
            || format!("it is shard {}", existing.shard),
            |(field, ours, theirs)| format!("its {field} is {theirs}, this run's is {ours}"),
        );
        bail!(
            "{} exists but is not shard {shard} of this experiment ({why}); remove it or choose another --out",
            path.display()
        );
    }
    let records = run()?;
    let summary = describe(&records);
    let partial = Partial { header, shard, records };
    report::write_atomic(&path, partial.to_json().as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    if !quiet {
        println!("shard {shard}: {summary} written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What a shard's records hold, for its closing line.
fn describe(records: &Records) -> String {
    match records {
        Records::Compare(runs) => format!("{} runs", runs.len()),
        Records::Sweep(runs) => format!("{} runs", runs.len()),
        Records::Check(cases) => {
            let failing = cases.cases.iter().filter(|c| !c.broke.is_empty()).count();
            format!("{} cases ({failing} failing)", cases.cases.len())
        }
    }
}
