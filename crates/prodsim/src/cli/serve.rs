//! `prodsim serve FILE`: a game day in the browser. Arguments, the address printed, and
//! the report set written at the end (the same files `prodsim run` writes, plus
//! `session.json`); the server itself is `prodsim_live::serve`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use prodsim_live::serve::session_file::SessionFile;
use prodsim_live::serve::{Finisher, ServeOptions};
use prodsim_report as report;
use prodsim_scenario::Scenario;

use super::diagnostics;

/// Arguments of `prodsim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The port to listen on (0: one the system chooses, printed at the start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Simulated seconds per wall second at the start (the page can change it).
    #[arg(long, value_name = "X", default_value_t = 60.0)]
    speed: f64,
    /// The address to listen on; only this machine can connect unless it says otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Seed for every random stream (overrides `[scenario].seed`).
    #[arg(long, value_parser = super::parse_seed, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// Simulated time to run, e.g. "30m" (overrides `[scenario].duration`).
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Directory for session.json and the report files [default: reports/<scenario name>/serve/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Serves the game day until Ctrl-C.
pub fn execute(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = diagnostics::load(&args.file) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let mut scenario = loaded.scenario;
    super::run::set_duration(&mut scenario, args.duration.as_deref())?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name).join("serve"));
    let options =
        ServeOptions { address: SocketAddr::new(args.host, args.port), speed: args.speed, seed: scenario.seed };
    let finisher = finisher(scenario.clone(), dir);
    let finished = prodsim_live::serve::serve(&scenario, &options, finisher, |address| {
        println!("serve         {} on http://{address}/ at {}x (Ctrl-C to stop)", scenario.name, args.speed);
        // The address is what a script waits for.
        let _ = std::io::stdout().flush();
    })
    .with_context(|| format!("serve {}", args.file.display()))?;
    if let Some(e) = &finished.error {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(super::FAILURE));
    }
    println!("report        {}", finished.written.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// Writes the run's report set and `session.json` into `dir`, as one manifest-sealed set.
fn finisher(scenario: Scenario, dir: PathBuf) -> Finisher {
    Box::new(move |outcome, session| {
        let write = || -> anyhow::Result<Vec<PathBuf>> {
            let verdicts = report::expect::evaluate(&scenario.expectations, outcome);
            let set = report::manifest::begin(&dir)?;
            let mut written = super::run::write_run_files(&dir, &scenario, outcome, &verdicts, true, true)?;
            let path = dir.join("session.json");
            report::write_atomic(&path, session)?;
            written.push(path);
            let manifest = report::manifest::seal(set, &written)?;
            written.push(manifest);
            Ok(written)
        };
        write().map(|w| w.iter().map(|p| p.display().to_string()).collect()).map_err(|e| format!("{e:#}"))
    })
}

/// `session.json` at `path`, with the line and column of what is wrong in it.
pub fn read_session(path: &Path) -> anyhow::Result<SessionFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--actions: cannot read {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{}:{}:{}: not a session.json from prodsim serve: {e}", path.display(), e.line(), e.column())
    })
}
