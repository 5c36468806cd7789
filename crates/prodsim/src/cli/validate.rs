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
                println!("ok      {}", file.display());
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
