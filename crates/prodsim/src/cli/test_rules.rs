//! `prodsim test rules FILE...`: promtool's rule unit-test files run on prodsim's rule
//! evaluator, with promtool's kind of output; exits with 1 when a test fails or a file
//! cannot be run (a part outside prodsim's subset is named). See docs/prometheus.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use prodsim_scenario::prometheus::{YamlError, rule_file, unit_test};

/// Arguments of `prodsim test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(subcommand)]
    what: What,
}

/// What to test.
#[derive(Debug, Subcommand)]
enum What {
    /// Run rule unit-test files in promtool's format (`promtool test rules`).
    Rules {
        /// Test files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// Runs every file; 1 when any test failed or any file could not be run.
pub fn execute(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let What::Rules { files } = &args.what;
    let mut failed = false;
    for file in files {
        println!("Unit Testing:  {}", file.display());
        match run_file(file) {
            Ok(failures) if failures.is_empty() => println!("  SUCCESS\n"),
            Ok(failures) => {
                failed = true;
                println!("  FAILED:\n{}\n", failures.join("\n"));
            }
            Err(e) => {
                failed = true;
                println!("  FAILED:\n    {e}\n");
            }
        }
    }
    Ok(if failed { ExitCode::from(super::FAILURE) } else { ExitCode::SUCCESS })
}

/// The failures of one test file, or why it cannot be run.
fn run_file(path: &Path) -> Result<Vec<String>, String> {
    let text = prodsim_scenario::read_text(path).map_err(|e| e.to_string())?;
    let file = unit_test::parse(&text).map_err(|e| located(path, &text, &e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut groups = Vec::new();
    for name in &file.rule_files {
        let rules_path = base.join(name);
        let rules = prodsim_scenario::read_text(&rules_path).map_err(|e| e.to_string())?;
        groups.extend(rule_file::rule_groups(&rules).map_err(|e| located(&rules_path, &rules, &e))?);
    }
    unit_test::check_supported(&file, &groups).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut failures = Vec::new();
    for test in &file.tests {
        let found = unit_test::run(&file, &groups, test);
        if !found.is_empty() && !test.name.is_empty() {
            failures.push(format!("    name: {},", test.name));
        }
        failures.extend(found);
    }
    Ok(failures)
}

/// `file:line:column: message`.
fn located(path: &Path, text: &str, e: &YamlError) -> String {
    let (line, column) = prodsim_scenario::diagnostic::line_column(text, e.span.start);
    format!("{}:{line}:{column}: {}", path.display(), e.message)
}
