//! `prodsim merge DIR... [--out DIR]`: read the partial results of a sharded `compare`,
//! `sweep` or `check`, make sure they are every shard of one experiment exactly once, and
//! write exactly what the unsharded command writes (the same functions write it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use prodsim_lab::shard::{self, Partial, Records, ShardError};

use super::{Command, diagnostics};

/// Arguments of `prodsim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Directories holding partial-K-of-N.json files (or the files themselves).
    #[arg(value_name = "DIR", required = true)]
    paths: Vec<PathBuf>,
    /// Directory for the report files [default: the unsharded command's default,
    /// reports/<scenario name>/<command>/ (reports/<scenario name>/ for check)].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads for what the merge runs itself (a check's shrinking).
    #[arg(long, short = 'j', value_name = "J", value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    quiet: bool,
}

/// Merges the partials and writes the experiment's report.
pub fn execute(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let files = partial_files(&args.paths)?;
    let mut partials = Vec::with_capacity(files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let p = Partial::from_json(&text).with_context(|| format!("{}", f.display()))?;
        partials.push((f.display().to_string(), p));
    }
    let partials = shard::check_set(partials)?;
    let header = partials[0].1.header.clone();
    if shard::fnv1a64_hex(header.scenario_text.as_bytes()) != header.scenario_hash {
        bail!(
            "{}: the scenario text does not match its hash {}; the file is damaged",
            partials[0].0,
            header.scenario_hash
        );
    }
    let argv = std::iter::once("prodsim".to_string()).chain(header.argv.iter().cloned());
    let command = super::Cli::try_parse_experiment(argv)
        .with_context(|| format!("{}: cannot read its command line `{}`", partials[0].0, header.argv.join(" ")))?;
    let file = |f: &Path| diagnostics::load_str(f, &header.scenario_text);
    match command {
        Command::Compare(mut a) => {
            (a.common.out, a.common.jobs, a.common.quiet) = (args.out.clone(), args.jobs, args.quiet);
            let Some(loaded) = file(&a.file) else { return Ok(ExitCode::from(super::FAILURE)) };
            super::compare::merge(&a, &loaded, partials)
        }
        Command::Sweep(mut a) => {
            (a.common.out, a.common.jobs, a.common.quiet) = (args.out.clone(), args.jobs, args.quiet);
            let Some(loaded) = file(&a.file) else { return Ok(ExitCode::from(super::FAILURE)) };
            super::sweep::merge(&a, &loaded, partials)
        }
        Command::Check(mut a) => {
            (a.out, a.jobs, a.quiet) = (args.out.clone(), args.jobs, args.quiet);
            let Some(loaded) = file(&a.file) else { return Ok(ExitCode::from(super::FAILURE)) };
            super::check::merge(&a, &loaded, partials)
        }
        Command::Run(_)
        | Command::Validate(_)
        | Command::Merge(_)
        | Command::Jobs(_)
        | Command::Live(_)
        | Command::Serve(_)
        | Command::Export(_)
        | Command::BlastRadius(_)
        | Command::Capacity(_)
        | Command::Test(_)
        | Command::Workshop(_) => {
            bail!("{}: `{}` is not a command that shards", partials[0].0, header.command)
        }
    }
}

/// Every partial file under `paths`: a directory gives its `partial-*-of-*.json` files,
/// in name order; a file is taken as it is.
fn partial_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() {
            out.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).with_context(|| format!("reading directory {}", path.display()))?;
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let p = entry.with_context(|| format!("reading directory {}", path.display()))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("partial-") && name.contains("-of-") && name.ends_with(".json") {
                found.push(p);
            }
        }
        found.sort();
        out.extend(found);
    }
    if out.is_empty() {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(ShardError::Empty(list.join(", ")).into());
    }
    Ok(out)
}

/// Each shard's records of one command (`pick` takes them out of a partial), checked to
/// hold exactly the shard's share of `tasks`, sorted by shard.
pub fn records<R>(
    partials: Vec<(String, Partial)>,
    tasks: usize,
    pick: impl Fn(Records) -> Option<Vec<R>>,
) -> anyhow::Result<Vec<Vec<R>>> {
    let mut out = Vec::with_capacity(partials.len());
    for (name, p) in partials {
        if p.header.tasks != tasks as u64 {
            bail!("{name}: the experiment has {tasks} tasks here, but the partial was made for {}", p.header.tasks);
        }
        let command = p.records.command();
        let Some(runs) = pick(p.records) else {
            bail!("{name}: holds {command} records");
        };
        shard::check_len(&name, p.shard, tasks, runs.len())?;
        out.push(runs);
    }
    Ok(out)
}
