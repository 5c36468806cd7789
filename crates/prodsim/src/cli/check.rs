//! `prodsim check FILE`: property-test a scenario's failure recovery over random fault
//! schedules; on a violation, shrink it, print it, write it as a runnable scenario and
//! print the command that reproduces it. `--replay` checks the file's own faults instead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use prodsim_kernel::units::{format_duration, parse_duration};
use prodsim_lab::chaos::checkers::Invariant;
use prodsim_lab::chaos::{Mode, Schedule, counterexample};
use prodsim_lab::check::{self, CaseRun, CheckOptions, CheckReport, Counterexample, Progress};
use prodsim_lab::shard::{Partial, Records, Shard};
use prodsim_report as report;
use prodsim_report::text::thousands;

use super::diagnostics;

/// Whether faults stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Faults stop; safety and liveness (recovery) invariants are checked.
    Recovery,
    /// Faults never stop; only safety invariants are checked.
    Safety,
}

impl ModeArg {
    fn mode(self) -> Mode {
        match self {
            ModeArg::Recovery => Mode::Recovery,
            ModeArg::Safety => Mode::Safety,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ModeArg::Recovery => "recovery",
            ModeArg::Safety => "safety",
        }
    }
}

/// Arguments of `prodsim check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Fault schedules to try.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(check::MAX_CASES)))]
    cases: u32,
    /// Seed the cases derive from (default `[scenario].seed`); with --replay, the run's seed.
    #[arg(long, value_parser = super::parse_seed, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// recovery: faults stop and the system must recover; safety: faults never stop.
    #[arg(long, value_enum, default_value_t = ModeArg::Recovery)]
    mode: ModeArg,
    /// Worker threads [default: the number of CPUs]; results do not depend on it.
    #[arg(long, short = 'j', value_name = "J", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// How long after the last fault ends the system has to recover.
    #[arg(long, value_name = "D", default_value = "2m")]
    recovery_bound: String,
    /// Most faults in one schedule.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    max_faults: u16,
    /// Draw only these fault kinds, e.g. --kinds timeouts,outage,traffic_spike [default:
    /// every kind the scenario's components can suffer].
    #[arg(long, value_name = "K1,K2", value_delimiter = ',')]
    kinds: Vec<String>,
    /// Most runs spent shrinking a counterexample.
    #[arg(long, value_name = "N", default_value_t = 300)]
    shrink_runs: u32,
    /// Check the file's own [[faults]] as one case instead of generating schedules (how a
    /// written counterexample is reproduced).
    #[arg(long, conflicts_with_all = ["cases", "kinds", "max_faults", "shrink_runs"])]
    replay: bool,
    /// Directory for counterexample.toml [default: reports/<scenario name>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Skip the interactive page (check/report.html under DIR or reports/<scenario name>/).
    #[arg(long)]
    pub no_html: bool,
    /// Print nothing but the verdict line (and errors); no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run only the cases of shard K of N (case i belongs to shard i % N) and write the
    /// partial result into --out for `prodsim merge` (see docs/scale-out.md).
    #[arg(long, value_name = "K/N", value_parser = super::shard::parse_shard, conflicts_with = "replay")]
    pub shard: Option<Shard>,
}

impl CheckArgs {
    /// The check's command line, as a partial result records it.
    fn experiment_argv(&self, options: &CheckOptions) -> Vec<String> {
        let mut argv = vec!["check".to_string(), self.file.display().to_string()];
        argv.extend(["--cases".to_string(), self.cases.to_string()]);
        if let Some(seed) = self.seed {
            argv.extend(["--seed".to_string(), seed.to_string()]);
        }
        argv.extend(["--mode".to_string(), self.mode.name().to_string()]);
        argv.extend(["--recovery-bound".to_string(), self.recovery_bound.clone()]);
        argv.extend(["--max-faults".to_string(), self.max_faults.to_string()]);
        if !options.kinds.is_empty() {
            argv.extend(["--kinds".to_string(), options.kinds.join(",")]);
        }
        argv.extend(["--shrink-runs".to_string(), self.shrink_runs.to_string()]);
        if self.no_html {
            argv.push("--no-html".to_string());
        }
        argv
    }

    fn dir(&self, scenario: &prodsim_scenario::Scenario) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name))
    }
}

/// Runs the check (or one shard of it) and reports it; exit status 1 on a violation.
pub fn execute(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let scenario = &loaded.scenario;
    let options = check_options(args, scenario)?;
    if args.replay {
        return replay(args, scenario, &options);
    }

    let plan = check::Plan::new(scenario, &options)?;
    if !args.quiet {
        print_plan(args, scenario, &plan, &options);
    }
    let bar = check_progress_bar(&options, args.quiet);
    let started = Instant::now();
    if let Some(shard) = args.shard {
        let header =
            super::shard::header("check", args.experiment_argv(&options), &loaded.source_text, options.cases as usize);
        return super::shard::run_shard(&args.dir(scenario), shard, header, args.quiet, || {
            let records = check::check_shard(scenario, &plan, &options, shard, &|p| show(&bar, p));
            bar.finish_and_clear();
            Ok(Records::Check(records?))
        });
    }
    let result = check::check_plan(scenario, &plan, &options, &|p| show(&bar, p));
    bar.finish_and_clear();
    finish(args, &loaded, (&plan, &options), &result?, started.elapsed().as_secs_f64())
}

/// `prodsim merge` of a check: every shard's cases counted as the unsharded check counts
/// them, the first failing case in case order shrunk here, then the same report.
pub fn merge(
    args: &CheckArgs,
    loaded: &prodsim_scenario::Loaded,
    partials: Vec<(String, Partial)>,
) -> anyhow::Result<ExitCode> {
    let scenario = &loaded.scenario;
    let options = check_options(args, scenario)?;
    let plan = check::Plan::new(scenario, &options)?;
    if !args.quiet {
        print_plan(args, scenario, &plan, &options);
    }
    let mut shards = Vec::with_capacity(partials.len());
    for (name, p) in partials {
        let command = p.records.command();
        match p.records {
            Records::Check(cases) => shards.push((p.shard, cases)),
            Records::Compare(_) | Records::Sweep(_) => anyhow::bail!("{name}: holds {command} records"),
        }
    }
    let refs: Vec<(Shard, &check::CaseRecords)> = shards.iter().map(|(s, c)| (*s, c)).collect();
    let bar = check_progress_bar(&options, args.quiet);
    let started = Instant::now();
    let result = check::merge(scenario, &plan, &options, &refs, &|p| show(&bar, p));
    bar.finish_and_clear();
    let report = result.with_context(|| format!("merge of check {}", args.file.display()))?;
    finish(args, loaded, (&plan, &options), &report, started.elapsed().as_secs_f64())
}

/// Shows a check's progress on its bar.
fn show(bar: &ProgressBar, p: Progress) {
    match p {
        Progress::Case => bar.inc(1),
        Progress::Shrink { runs, faults } => {
            bar.set_prefix("shrink");
            bar.set_message(format!("cases; shrinking: {runs} runs, {faults} fault(s) left"));
            bar.tick();
        }
    }
}

/// Prints the verdict and writes the counterexample: the one place both the unsharded
/// check and `prodsim merge` report from, so their files are byte-identical.
fn finish(
    args: &CheckArgs,
    loaded: &prodsim_scenario::Loaded,
    (plan, options): (&check::Plan, &CheckOptions),
    report: &CheckReport,
    seconds: f64,
) -> anyhow::Result<ExitCode> {
    let scenario = &loaded.scenario;
    let cx = match &report.counterexample {
        None => {
            print_passed(args, report, seconds);
            write_html(args, scenario, (plan, options, report), None)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(cx) => cx,
    };
    let dir = args.dir(scenario);
    let written = write_counterexample(args, &loaded.source_text, &dir, cx, options)?;
    if args.quiet {
        eprintln!(
            "check failed: case {} (seed {}) broke {}; counterexample {}",
            cx.case,
            cx.seed,
            names(&cx.shrunk),
            written.display()
        );
    } else {
        print_failure(args, report, cx, &written, options, seconds);
    }
    let replay_line = replay_command(&written, cx.seed, args.mode, options);
    write_html(args, scenario, (plan, options, report), Some((&written, cx.seed, replay_line)))?;
    Ok(ExitCode::from(super::FAILURE))
}

/// The check's options from the command line, the seed defaulting to the scenario's.
fn check_options(args: &CheckArgs, scenario: &prodsim_scenario::Scenario) -> anyhow::Result<CheckOptions> {
    let bound = parse_duration(&args.recovery_bound)
        .map_err(|e| anyhow::anyhow!("--recovery-bound {:?}: {e}", args.recovery_bound))?;
    let mut options = CheckOptions::new(args.seed.unwrap_or(scenario.seed));
    options.cases = args.cases;
    options.mode = args.mode.mode();
    options.jobs = args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
    options.recovery_bound_ns = bound;
    options.max_faults = usize::from(args.max_faults);
    options.shrink_runs = args.shrink_runs;
    options.kinds = args.kinds.iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
    Ok(options)
}

/// What is about to be checked: cases, mode, seed, threads, the fault space and the
/// window schedules are drawn in.
fn print_plan(args: &CheckArgs, scenario: &prodsim_scenario::Scenario, plan: &check::Plan, options: &CheckOptions) {
    println!(
        "checking {}: {} cases, {} mode, seed {}, {} thread{}",
        scenario.name,
        options.cases,
        args.mode.name(),
        options.seed,
        options.jobs,
        if options.jobs == 1 { "" } else { "s" }
    );
    println!("fault kinds   {}", plan.space.kinds().join(", "));
    println!("targets       {}", plan.space.targets().join(", "));
    let w = plan.window;
    match options.mode {
        Mode::Recovery => println!(
            "schedules     1 to {} faults, all over between +{} and +{}; recovered {} after the last one",
            options.max_faults,
            format_duration(w.earliest_ns),
            format_duration(w.latest_end_ns),
            format_duration(options.recovery_bound_ns)
        ),
        Mode::Safety => println!(
            "schedules     1 to {} faults starting between +{} and +{}, never ending",
            options.max_faults,
            format_duration(w.earliest_ns),
            format_duration(w.latest_end_ns)
        ),
    }
}

/// The progress bar of the cases (and then of the shrinking), hidden with `--quiet`.
fn check_progress_bar(options: &CheckOptions, quiet: bool) -> ProgressBar {
    let bar = super::compare::progress_bar(u64::from(options.cases), quiet);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {msg}, {elapsed} (eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("check");
    bar.set_message("cases");
    bar
}

fn names(run: &CaseRun) -> String {
    let mut names: Vec<&str> = run.violations.iter().map(|v| v.invariant.name()).collect();
    names.dedup();
    names.join(", ")
}

fn print_checks(report: &CheckReport) {
    let parts: Vec<String> = report.checks.iter().map(|c| format!("{} {}", c.invariant, c.checked)).collect();
    println!("invariants    {}", parts.join(", "));
}

fn print_passed(args: &CheckArgs, report: &CheckReport, seconds: f64) {
    let rate = f64::from(report.cases_run) / seconds.max(1e-9) * 60.0;
    if args.quiet {
        println!("check passed: {} cases", report.cases_run);
        return;
    }
    println!(
        "passed        {} cases, no invariant broken ({} runs, {} events, {seconds:.1} s wall, {} cases/min)",
        report.cases_run,
        thousands(report.runs),
        thousands(report.events),
        thousands(rate.round() as u64)
    );
    print_checks(report);
}

fn print_schedule(schedule: &Schedule) {
    for line in schedule.lines() {
        println!("    {line}");
    }
}

fn print_failure(
    args: &CheckArgs,
    report: &CheckReport,
    cx: &Counterexample,
    written: &Path,
    options: &CheckOptions,
    seconds: f64,
) {
    println!(
        "FAILED        case {} (seed {}) broke {}; {} cases run, {seconds:.1} s wall",
        cx.case,
        cx.seed,
        names(&cx.shrunk),
        report.cases_run
    );
    print_checks(report);
    println!("as generated  {} fault(s):", cx.found.faults.len());
    print_schedule(&cx.found);
    println!(
        "shrunk        in {} runs to {} fault(s){}:",
        cx.shrink_runs,
        cx.shrunk.schedule.faults.len(),
        if cx.reproduced { "" } else { " (WARNING: did not reproduce identically when run again)" }
    );
    print_schedule(&cx.shrunk.schedule);
    println!("violations");
    for v in &cx.shrunk.violations {
        println!("    {v}");
    }
    println!("written       {}", written.display());
    println!("reproduce     {}", replay_command(written, cx.seed, args.mode, options));
    println!(
        "search again  prodsim check {} --seed {} --cases {}{}",
        args.file.display(),
        options.seed,
        args.cases,
        search_flags(args, options)
    );
}

/// The flags that shaped the search, beyond the file, seed and case count (only those
/// that differ from the defaults), as a user would type them.
fn search_flags(args: &CheckArgs, options: &CheckOptions) -> String {
    let mut flags = String::new();
    if args.mode == ModeArg::Safety {
        flags.push_str(" --mode safety");
    }
    if options.recovery_bound_ns != CheckOptions::new(0).recovery_bound_ns {
        flags.push_str(&format!(" --recovery-bound {}", format_duration(options.recovery_bound_ns)));
    }
    if options.max_faults != CheckOptions::new(0).max_faults {
        flags.push_str(&format!(" --max-faults {}", options.max_faults));
    }
    if !options.kinds.is_empty() {
        flags.push_str(&format!(" --kinds {}", options.kinds.join(",")));
    }
    flags
}

fn replay_command(file: &Path, seed: u64, mode: ModeArg, options: &CheckOptions) -> String {
    format!(
        "prodsim check {} --replay --seed {seed} --mode {} --recovery-bound {}",
        file.display(),
        mode.name(),
        format_duration(options.recovery_bound_ns)
    )
}

/// Writes `report.html` (unless `--no-html`) into `check/` under `--out` or
/// `reports/<name>/` (with its own `manifest.json`), with
/// the counterexample's timeline from a run of the written file; prints its path.
fn write_html(
    args: &CheckArgs,
    scenario: &prodsim_scenario::Scenario,
    (plan, options, report): (&check::Plan, &CheckOptions, &CheckReport),
    counterexample: Option<(&Path, u64, String)>,
) -> anyhow::Result<()> {
    if args.no_html {
        return Ok(());
    }
    // A folder of its own, sealed as its own set: the counterexample's set beside it stays.
    let base = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name));
    let dir = base.join("check");
    let set = report::manifest::begin(&dir)?;
    let run = counterexample.as_ref().and_then(|(file, seed, _)| {
        let loaded = prodsim_scenario::load(file).ok()?;
        prodsim_model::simulate(&loaded.scenario, *seed).ok()
    });
    let page = report::html::check_page::CheckPage {
        scenario,
        plan,
        options,
        report,
        replay: counterexample.map(|(file, _, command)| (file.display().to_string(), command)),
        counterexample_run: run.as_ref(),
    };
    let path = report::html::write_check(&dir, &page)?;
    report::manifest::seal(set, std::slice::from_ref(&path))?;
    if !args.quiet {
        println!("report        {}", path.display());
    }
    Ok(())
}

/// Writes the shrunk counterexample as a scenario file; returns its path.
fn write_counterexample(
    args: &CheckArgs,
    source: &str,
    dir: &Path,
    cx: &Counterexample,
    options: &CheckOptions,
) -> anyhow::Result<PathBuf> {
    let path = dir.join("counterexample.toml");
    let mut header = format!(
        "# Counterexample found by `prodsim check {} --seed {} --cases {}{}` ({} mode):\n\
         # case {} (seed {}), shrunk from {} to {} fault(s). It breaks:\n",
        args.file.display(),
        options.seed,
        args.cases,
        search_flags(args, options),
        args.mode.name(),
        cx.case,
        cx.seed,
        cx.found.faults.len(),
        cx.shrunk.schedule.faults.len()
    );
    for v in &cx.shrunk.violations {
        header.push_str(&format!("#   {v}\n"));
    }
    header.push_str(&format!("# Reproduce: {}\n\n", replay_command(&path, cx.seed, args.mode, options)));
    let text = counterexample::scenario_text(source, &args.file, cx.seed, &cx.shrunk.schedule, &header)
        .map_err(|e| anyhow::anyhow!("cannot write the counterexample: {e}"))?;
    let set = report::manifest::begin(dir)?;
    report::write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    report::manifest::seal(set, std::slice::from_ref(&path))?;
    Ok(path)
}

/// `--replay`: the file's own faults as one case.
fn replay(args: &CheckArgs, scenario: &prodsim_scenario::Scenario, options: &CheckOptions) -> anyhow::Result<ExitCode> {
    let seed = args.seed.unwrap_or(scenario.seed);
    let run = check::replay(scenario, options, seed);
    let broken = !run.violations.is_empty();
    if args.quiet {
        if broken {
            eprintln!("check failed: {} with seed {seed} breaks {}", args.file.display(), names(&run));
        } else {
            println!("check passed: {} with seed {seed}", args.file.display());
        }
    } else {
        println!("replaying {} with seed {seed} ({} mode)", args.file.display(), args.mode.name());
        println!("faults        {}", run.schedule.faults.len());
        print_schedule(&run.schedule);
        let checked: Vec<&str> = run.checked.iter().map(|i| i.name()).collect();
        println!("invariants    {}", checked.join(", "));
        if options.mode == Mode::Recovery && !run.checked.contains(&Invariant::Recovery) {
            println!("              (recovery not checked: the run failed)");
        } else if options.mode == Mode::Recovery
            && run.schedule.last_end_ns().unwrap_or(0).saturating_add(options.recovery_bound_ns) >= scenario.duration_ns
        {
            println!(
                "              (recovery not checked: the run ends before the last fault's end plus --recovery-bound {})",
                format_duration(options.recovery_bound_ns)
            );
        }
        println!("event log     {} events, hash {}", run.log.events, run.log.hex());
        if broken {
            println!("FAILED");
            for v in &run.violations {
                println!("    {v}");
            }
        } else {
            println!("passed        every invariant holds");
        }
    }
    Ok(if broken { ExitCode::from(super::FAILURE) } else { ExitCode::SUCCESS })
}
