//! `prodsim validate FILE...`: load and check scenario files without running them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::diagnostics;

/// Arguments of `prodsim validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Checks every file, printing each problem; fails if any file has an error.
pub fn execute(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut failed = 0usize;
    for file in &args.files {
        match prodsim_scenario::load(file) {
            Ok(loaded) => {
                let name = file.display().to_string();
                for w in &loaded.warnings {
                    diagnostics::print(&name, &loaded.source_text, w);
                }
                let estimate = prodsim_model::estimate::estimate(&loaded.scenario);
                if let Err(refused) = estimate.check(&loaded.scenario.limits) {
                    eprintln!("{name}: error: {refused}");
                    println!("invalid {}", file.display());
                    failed += 1;
                    continue;
                }
                println!("ok      {}  ({})", file.display(), describe(&estimate, &loaded.scenario.limits));
            }
            Err(e) => {
                diagnostics::print_scenario_error(&e);
                println!("invalid {}", file.display());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} files invalid", args.files.len());
        return Ok(ExitCode::from(super::FAILURE));
    }
    Ok(ExitCode::SUCCESS)
}

/// The estimate against the limits, in a few words: "~1.97e7 events of 2e9, ~85 MiB of 8192".
fn describe(e: &prodsim_model::estimate::RunEstimate, limits: &prodsim_scenario::RunLimits) -> String {
    format!(
        "~{:.2e} events of {:.0e}, ~{:.0} MiB of {}",
        e.events,
        limits.max_events as f64,
        e.memory_bytes / (1024.0 * 1024.0),
        limits.max_memory_mb
    )
}
