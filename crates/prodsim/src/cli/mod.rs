//! The command line: argument definitions, one file per subcommand, and the rendering of
//! errors. The only code that prints to the terminal.

mod blast_radius;
mod capacity;
mod check;
mod compare;
mod diagnostics;
mod export;
mod jobs;
mod live;
mod merge;
mod run;
mod serve;
mod shard;
mod sweep;
mod test_rules;
mod validate;
mod workshop;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A deterministic discrete-event simulator and chaos-testing lab for production web
/// architectures.
#[derive(Debug, Parser)]
#[command(name = "prodsim", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario file and write its report; exits with 1 when one of its [[expect]]
    /// expectations is not met.
    Run(run::RunArgs),
    /// Check scenario files without running them.
    Validate(validate::ValidateArgs),
    /// Compare strategies (or any key's values) on identical traffic, with 95% intervals.
    Compare(compare::CompareArgs),
    /// Sweep scenario keys over a grid; CSV and charts with 95% confidence bands.
    Sweep(sweep::SweepArgs),
    /// Property-test failure recovery: random fault schedules from the scenario's own
    /// components, invariants checked on each, a failing schedule shrunk and written as a
    /// runnable scenario; exits with 1 on a violation.
    Check(check::CheckArgs),
    /// Fail each component, instance group and region in turn on identical traffic and
    /// rank them by user harm; marks the single points of failure.
    BlastRadius(blast_radius::BlastArgs),
    /// Find the cheapest configuration that meets an SLO in a stated share of replications,
    /// by bisection over --vary ranges; exits with 1 when none in the range does.
    Capacity(capacity::CapacityArgs),
    /// Export a scenario's rules as a Prometheus rules file, or its routing as an
    /// Alertmanager configuration.
    Export(export::ExportArgs),
    /// Run promtool's rule unit-test files on prodsim's rule evaluator.
    Test(test_rules::TestArgs),
    /// Merge the partial results of a sharded compare, sweep or check (`--shard K/N`) into
    /// exactly the report the unsharded command writes.
    Merge(merge::MergeArgs),
    /// Write a ready-to-submit Slurm array job or Kubernetes Indexed Job that runs a
    /// compare, sweep or check in N shards and merges them.
    Jobs(jobs::JobsArgs),
    /// Stand the scenario up as real HTTP services on loopback and send its workload on the
    /// wall clock (sped up by --time-scale); --compare holds the simulation against it.
    Live(live::LiveArgs),
    /// A game day in the browser: the scenario paced to the wall clock, the player as the
    /// on-call (pause, speed, acknowledge, roll back, scale out, fail over); writes
    /// session.json, which `run --actions` replays to the same reports.
    Serve(serve::ServeArgs),
    /// The workshop curriculum: list, show, start and check lessons of "predict, then run"
    /// exercises.
    Workshop(workshop::WorkshopArgs),
}

/// `--seed`: a whole number from 0 to 2⁶⁴−1, said in those words when it is not one
/// (a negative seed reaches this parser rather than being taken for a flag).
fn parse_seed(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("seeds are whole numbers from 0 to 2⁶⁴−1 ({}), got `{text}`", u64::MAX))
}

impl Cli {
    /// Parses the command line a partial result recorded (`prodsim merge` reads it back).
    fn try_parse_experiment(argv: impl IntoIterator<Item = String>) -> Result<Command, clap::Error> {
        Cli::try_parse_from(argv).map(|cli| cli.command)
    }
}

/// Exit status when the command ran but the input or the run failed.
const FAILURE: u8 = 1;

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    diagnostics::install_hook();
    let result = match cli.command {
        Command::Run(args) => run::execute(&args),
        Command::Validate(args) => validate::execute(&args),
        Command::Compare(args) => compare::execute(&args),
        Command::Sweep(args) => sweep::execute(&args),
        Command::Check(args) => check::execute(&args),
        Command::BlastRadius(args) => blast_radius::execute(&args),
        Command::Capacity(args) => capacity::execute(&args),
        Command::Export(args) => export::execute(&args),
        Command::Test(args) => test_rules::execute(&args),
        Command::Merge(args) => merge::execute(&args),
        Command::Jobs(args) => jobs::execute(&args),
        Command::Live(args) => live::execute(&args),
        Command::Serve(args) => serve::execute(&args),
        Command::Workshop(args) => workshop::execute(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(FAILURE)
        }
    }
}
