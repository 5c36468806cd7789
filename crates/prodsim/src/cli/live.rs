//! `prodsim live FILE`: stand the scenario up as real HTTP services over loopback, send its
//! workload on the wall clock (sped up by `--time-scale`), print and write what was
//! measured; with `--compare`, simulate the same scenario and seed and hold the two side by
//! side, exiting with 1 when a row is outside its tolerance.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use prodsim_live::{LiveOutcome, Options, compare, summary};

use super::diagnostics;

/// Arguments of `prodsim live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Wall seconds per scenario second: every duration of the scenario is multiplied by
    /// it (0.01 runs a one-hour scenario in 36 s).
    #[arg(long, value_name = "F", default_value_t = 1.0, allow_hyphen_values = true)]
    time_scale: f64,
    /// Scenario time to run, e.g. "10m" (overrides `[scenario].duration`; scaled too).
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Directory for the report files [default: reports/<scenario name>/live/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also simulate the scenario and print both side by side; exits with 1 when a
    /// difference is outside its row's tolerance.
    #[arg(long)]
    compare: bool,
}

/// Runs the scenario live and writes its report.
pub fn execute(args: &LiveArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let mut scenario = loaded.scenario;
    super::run::set_duration(&mut scenario, args.duration.as_deref())?;
    let options = Options::at_scale(args.time_scale);
    prodsim_live::Plan::of(&scenario, options)?;
    let wall_s = scenario.duration_ns as f64 / 1e9 * args.time_scale;
    eprintln!("live          {} for {wall_s:.1} s of wall time (time scale {})", scenario.name, args.time_scale);
    let live = prodsim_live::run(&scenario, options).with_context(|| format!("live run of {}", args.file.display()))?;
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name).join("live"));
    let written = summary::write(&live, &dir)?;
    print_summary(&live);
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    println!("report        {}", names.join(", "));
    if !args.compare {
        return Ok(ExitCode::SUCCESS);
    }
    let sim = prodsim_model::simulate(&scenario, scenario.seed)
        .with_context(|| format!("simulation of {} (reproduce with --seed {})", args.file.display(), scenario.seed))?;
    let rows = compare::rows(&live, &sim);
    println!();
    print!("{}", compare::render(&rows));
    let exceeded = rows.iter().filter(|r| !r.within()).count();
    if exceeded == 0 {
        println!("compare       live and simulation agree on every row");
        return Ok(ExitCode::SUCCESS);
    }
    println!("compare       {exceeded} row(s) outside their tolerance");
    Ok(ExitCode::from(super::FAILURE))
}

/// The headline numbers of a live run.
fn print_summary(live: &LiveOutcome) {
    let s = summary::LiveSummary::of(live);
    let r = s.requests;
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2} ms"));
    println!(
        "requests      {} arrived, {} completed, {} rejected, {} failed, {} in flight",
        r.arrived, r.completed, r.rejected, r.failed, r.in_flight
    );
    if let Some(a) = s.availability {
        println!("availability  {:.4}%", a * 100.0);
    }
    let l = s.latency_ms;
    println!(
        "latency       mean {}, p50 {}, p90 {}, p99 {} (scenario time)",
        ms(l.mean),
        ms(l.p50),
        ms(l.p90),
        ms(l.p99)
    );
    if let Some(p) = s.wait.probability {
        println!("wait          P(wait) {p:.4}, mean {}", ms(s.wait.mean_ms));
    }
    for sc in &live.scrapes {
        let ok = if sc.text.is_empty() { "scrape failed" } else { "scraped" };
        println!("metrics       http://{}/metrics ({} {}) {ok}", sc.address, sc.job, sc.instance);
    }
}
