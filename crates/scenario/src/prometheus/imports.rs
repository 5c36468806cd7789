//! Reading the files a scenario names: `[monitoring] rule_files` and `[routing] config`,
//! relative to the scenario file, each with the size bound of [`crate::read_text`]. A file
//! that cannot be read is an error at its name in the scenario; a problem inside it is an
//! error at its line and column in that file.

use std::path::{Path, PathBuf};

use prodsim_parts::ops::routing::RoutingConfig;
use toml::Spanned;

use super::rule_file::{self, ImportedRules};
use super::yaml::YamlError;
use crate::diagnostic::{Diagnostic, ScenarioError};
use crate::schema::RawScenario;
use crate::units::{NS_PER_MS, parse_duration};

/// What the scenario's rule files and Alertmanager configuration hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imports {
    /// The rules of every `rule_files` entry, in order.
    pub rules: ImportedRules,
    /// The routing `[routing] config` names, without silences.
    pub routing: Option<RoutingConfig>,
}

/// Reads and parses the files `raw` names; `text` and `path` are the scenario's.
pub fn load(raw: &RawScenario, text: &str, path: &Path) -> Result<Imports, ScenarioError> {
    let mut imports = Imports::default();
    let base = path.parent().unwrap_or(Path::new("."));
    if let Some(m) = &raw.monitoring {
        let m = m.get_ref();
        // Every group must run on the scenario's evaluation clock; a wrong interval is
        // reported by the scenario's own validation.
        let interval_ms = match &m.evaluation_interval {
            Some(v) => parse_duration(v.get_ref()).ok().map(|ns| (ns / NS_PER_MS) as i64),
            None => Some(15_000),
        };
        for file in &m.rule_files {
            let (yaml_path, yaml) = read(file, "monitoring.rule_files", base, text, path)?;
            let rules = rule_file::parse(&yaml, interval_ms).map_err(|e| invalid(&yaml_path, &yaml, e))?;
            imports.rules.recording.extend(rules.recording);
            imports.rules.alerts.extend(rules.alerts);
        }
    }
    if let Some(file) = raw.routing.as_ref().and_then(|r| r.get_ref().config.as_ref()) {
        let (yaml_path, yaml) = read(file, "routing.config", base, text, path)?;
        let config = super::am_config::parse(&yaml).map_err(|e| invalid(&yaml_path, &yaml, e))?;
        imports.routing = Some(config);
    }
    Ok(imports)
}

/// Reads `file` (relative to `base`); an error is located at the name in the scenario.
fn read(
    file: &Spanned<String>,
    field: &str,
    base: &Path,
    text: &str,
    path: &Path,
) -> Result<(PathBuf, String), ScenarioError> {
    let full = base.join(file.get_ref());
    crate::read_text(&full).map(|t| (full.clone(), t)).map_err(|e| ScenarioError::Invalid {
        path: path.to_path_buf(),
        source_text: text.to_string(),
        diagnostics: vec![Diagnostic::error(text, file.span(), format!("{field}: {e}"))],
    })
}

/// A problem inside an imported file, as an error about that file.
fn invalid(path: &Path, text: &str, e: YamlError) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        source_text: text.to_string(),
        diagnostics: vec![Diagnostic::error(text, e.span, e.message)],
    }
}
