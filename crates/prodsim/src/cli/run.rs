//! `prodsim run FILE`: load a scenario, simulate it, print a summary and write the report;
//! the exit status is 1 when one of the scenario's `[[expect]]` expectations is not met, or
//! when `--check-determinism` finds two runs of the same seed that differ.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use prodsim_kernel::units::{format_duration, parse_duration};
use prodsim_model::Outcome;
use prodsim_report::{self as report, text};
use prodsim_scenario::Scenario;

use super::diagnostics;

/// Arguments of `prodsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Seed for every random stream (overrides `[scenario].seed`).
    #[arg(long, value_parser = super::parse_seed, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// Directory for the report files [default: reports/<scenario name>/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Simulated time to run, e.g. "10m" (overrides `[scenario].duration`).
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Skip the timeline chart (timeline.png, timeline.svg).
    #[arg(long)]
    no_charts: bool,
    /// Skip the interactive page (report.html).
    #[arg(long)]
    no_html: bool,
    /// Also write every scraped metric sample as OpenMetrics text to FILE (loadable with
    /// `promtool tsdb create-blocks-from openmetrics`, but without staleness markers, which
    /// the text format cannot carry; see --tsdb); needs monitoring in the scenario.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Also write every scraped metric sample, staleness markers included, as a Prometheus
    /// TSDB block into the data directory DIR (serve it with `prometheus
    /// --storage.tsdb.path=DIR`); needs monitoring in the scenario.
    #[arg(long, value_name = "DIR")]
    tsdb: Option<PathBuf>,
    /// Also write the kept log entries as JSON lines to FILE; needs `[logging]`.
    #[arg(long, value_name = "FILE")]
    logs: Option<PathBuf>,
    /// Run the scenario twice and check both runs processed the same events (the same
    /// event-log hash); exits with 1 if they did not.
    #[arg(long)]
    check_determinism: bool,
    /// Before the summary, tell what happened in plain words and time order: faults, how far
    /// errors climbed, alerts, pages, acknowledgements, actions, releases, incidents.
    #[arg(long)]
    narrate: bool,
    /// Replay a game day: apply the actions of FILE (`session.json` from `prodsim serve`)
    /// at their recorded simulated times, with its seed; the reports are byte-identical to
    /// the game's.
    #[arg(long, value_name = "FILE")]
    actions: Option<PathBuf>,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the scenario and writes its report.
pub fn execute(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let mut scenario = with_overrides(args, loaded.scenario)?;
    let session = args.actions.as_deref().map(super::serve::read_session).transpose()?;
    if let Some(s) = &session {
        if args.seed.is_some_and(|seed| seed != s.seed) {
            bail!("--seed {} differs from the session's seed {}: leave --seed out to replay", scenario.seed, s.seed);
        }
        if args.check_determinism {
            bail!("--check-determinism does not combine with --actions");
        }
        scenario.seed = s.seed;
    }
    let started = Instant::now();
    let stopped = || format!("run of {} (reproduce with --seed {}) stopped", args.file.display(), scenario.seed);
    let (outcome, log) = if let Some(s) = &session {
        let replayed = prodsim_live::serve::session_file::replay(&scenario, s);
        let path = args.actions.as_deref().unwrap_or(std::path::Path::new("")).display().to_string();
        (replayed.with_context(|| format!("replay of {path}"))?, None)
    } else if args.check_determinism {
        let (result, log) = prodsim_model::simulate_logged(&scenario, scenario.seed);
        (result.with_context(stopped)?, Some(log))
    } else {
        (prodsim_model::simulate(&scenario, scenario.seed).with_context(stopped)?, None)
    };
    let wall = text::WallClock { seconds: started.elapsed().as_secs_f64() };
    let determinism = log.map(|first| {
        let (_, second) = prodsim_model::simulate_logged(&scenario, scenario.seed);
        (first, second)
    });
    let verdicts = report::expect::evaluate(&scenario.expectations, &outcome);
    let written = write_report(args, &scenario, &outcome, &verdicts)?;
    if !args.quiet {
        if args.narrate {
            println!("{}", report::narrate::narrate(&outcome, &scenario));
        }
        print!("{}", text::render(&outcome, &scenario.description, Some(wall)));
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        print!("{}", report::expect::render(&verdicts));
        println!("report        {}", names.join(", "));
    }
    if let Some((first, second)) = determinism {
        let violations = prodsim_lab::chaos::checkers::determinism::check(&first, &second);
        if let Some(v) = violations.first() {
            eprintln!("determinism check failed (seed {}): {}", scenario.seed, v.message);
            return Ok(ExitCode::from(super::FAILURE));
        }
        if !args.quiet {
            println!("determinism   2 runs, {} events each, event-log hash {}: identical", first.events, first.hex());
        }
    }
    let failed: Vec<_> = verdicts.iter().filter(|v| !v.met).collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if args.quiet {
        for v in &failed {
            eprintln!("expectation not met: {} — {}", v.name, v.actual);
        }
    }
    Ok(ExitCode::from(super::FAILURE))
}

/// `--duration D` (of `run` and `live`): the scenario's simulated time, longer than its
/// warmup, with a report interval that keeps the rows bounded.
pub fn set_duration(scenario: &mut Scenario, duration: Option<&str>) -> anyhow::Result<()> {
    let Some(d) = duration else { return Ok(()) };
    let ns = parse_duration(d).map_err(|e| anyhow::anyhow!("--duration {d:?}: {e}"))?;
    if ns <= scenario.warmup_ns {
        bail!("--duration {d} must be longer than the warmup ({})", format_duration(scenario.warmup_ns));
    }
    scenario.duration_ns = ns;
    if scenario.duration_ns.div_ceil(scenario.report_interval_ns) > prodsim_scenario::MAX_REPORT_ROWS {
        scenario.report_interval_ns = prodsim_scenario::default_report_interval(ns);
    }
    Ok(())
}

/// The scenario as the command line changes it: `--seed`, `--duration` (with a report
/// interval that keeps the rows bounded), and what `--metrics` and `--logs` need.
fn with_overrides(args: &RunArgs, mut scenario: Scenario) -> anyhow::Result<Scenario> {
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    set_duration(&mut scenario, args.duration.as_deref())?;
    let export = [("--metrics", args.metrics.is_some()), ("--tsdb", args.tsdb.is_some())];
    if let Some((flag, _)) = export.iter().find(|(_, asked)| *asked) {
        match scenario.topology.monitoring.as_mut() {
            // Keep every sample for the export instead of the rules' retention window.
            Some(m) => m.retention_ns = u64::MAX,
            None => bail!(
                "{flag}: {} has no monitoring to export; add a [monitoring] section (see docs/metrics.md)",
                args.file.display()
            ),
        }
    }
    if args.logs.is_some() && scenario.topology.logging.is_none() {
        bail!("--logs: {} writes no logs; add a [logging] section (see docs/logging.md)", args.file.display());
    }
    Ok(scenario)
}

/// Writes the report files (the timeline unless `--no-charts`, the metrics and logs when
/// asked for) and returns their paths.
fn write_report(
    args: &RunArgs,
    scenario: &Scenario,
    outcome: &Outcome,
    verdicts: &[report::ExpectationResult],
) -> anyhow::Result<Vec<PathBuf>> {
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name));
    let set = report::manifest::begin(&dir)?;
    let mut written = write_run_files(&dir, scenario, outcome, verdicts, !args.no_html, !args.no_charts)?;
    let system = &outcome.system;
    if let (Some(path), Some(m)) = (&args.metrics, system.monitoring.as_deref()) {
        report::write_atomic(path, report::openmetrics::render(&m.tsdb).as_bytes())?;
        written.push(path.clone());
    }
    if let (Some(dir), Some(m)) = (&args.tsdb, system.monitoring.as_deref()) {
        if let Some(block) = report::tsdb_block::block(&m.tsdb) {
            let at = report::tsdb_block::write(dir, &block)?;
            written.extend(block.files.iter().map(|(name, _)| at.join(name)));
        }
    }
    if let (Some(path), Some(l)) = (&args.logs, system.logging.as_ref()) {
        report::write_atomic(path, report::logs::json_lines(l).as_bytes())?;
        written.push(path.clone());
    }
    let manifest = report::manifest::seal(set, &written)?;
    written.push(manifest);
    Ok(written)
}

/// The run's report files in `dir`: summary.json, the CSVs, notifications and post-mortem,
/// report.html with `html`, the timeline with `charts` (`run` and `serve` write the same
/// set). Returns their paths; the caller seals the set's manifest.
pub fn write_run_files(
    dir: &std::path::Path,
    scenario: &Scenario,
    outcome: &Outcome,
    verdicts: &[report::ExpectationResult],
    html: bool,
    charts: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = report::write_run_with(outcome, dir, verdicts)?;
    if html {
        written.push(report::html::write_run(dir, scenario, outcome, verdicts)?);
    }
    if charts {
        report::run_chart::write_timeline(outcome, dir)?;
        written.push(dir.join("timeline.png"));
        written.push(dir.join("timeline.svg"));
    }
    Ok(written)
}
