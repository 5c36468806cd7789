//! `prodsim export rules|alertmanager SCENARIO OUT.yml`: a scenario's rules as a
//! Prometheus rules file (for `promtool check rules` and a real Prometheus) and its
//! routing as an Alertmanager configuration (for `amtool check-config`). See
//! docs/prometheus.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use prodsim_scenario::prometheus::export;

use super::diagnostics;

/// Arguments of `prodsim export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    what: What,
}

/// What to export.
#[derive(Debug, Subcommand)]
enum What {
    /// Every rule the scenario evaluates (its [[alerts]] and [[rules]], rule_files,
    /// ready_rules and the [slo] burn-rate rules) as a Prometheus rules file; each alerting
    /// rule carries the label `set` naming its rule set.
    Rules(Files),
    /// The scenario's [routing] (route tree, receivers, inhibit rules) as an Alertmanager
    /// configuration; silences are not configuration and are listed in a comment.
    Alertmanager(Files),
}

/// The scenario and the file to write.
#[derive(Debug, Args)]
struct Files {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// The YAML file to write.
    #[arg(value_name = "OUT.yml")]
    out: PathBuf,
}

/// Writes the chosen file.
pub fn execute(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (files, rules) = match &args.what {
        What::Rules(f) => (f, true),
        What::Alertmanager(f) => (f, false),
    };
    let Some(loaded) = diagnostics::load(&files.scenario) else {
        return Ok(ExitCode::from(super::FAILURE));
    };
    let Some(spec) = &loaded.scenario.topology.monitoring else {
        bail!(
            "{} has no monitoring ([monitoring], [[alerts]], [[rules]], [slo] or [routing]): nothing to export",
            files.scenario.display()
        );
    };
    let source = files.scenario.display().to_string();
    let text =
        if rules { export::rules_yaml(spec, &source) } else { export::alertmanager_yaml(&spec.routing, &source) };
    prodsim_report::write_atomic(&files.out, text.as_bytes())
        .with_context(|| format!("cannot write {}", files.out.display()))?;
    Ok(ExitCode::SUCCESS)
}
