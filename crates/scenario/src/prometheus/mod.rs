//! Prometheus and Alertmanager files, both ways: a scenario's rules written as a
//! Prometheus rules file and its routing as an Alertmanager configuration ([`export`]);
//! rule files and an Alertmanager configuration read into a scenario (`[monitoring]
//! rule_files`, `[routing] config`: [`rule_file`], [`am_config`]); and promtool's rule unit
//! tests ([`unit_test`]). See `docs/prometheus.md` for the supported subset and the
//! Prometheus (3) and Alertmanager (0.25) semantics prodsim follows.

pub mod am_config;
pub mod export;
pub mod imports;
pub mod rule_file;
pub mod series;
pub mod unit_test;

mod yaml;

pub use yaml::{YamlError, format_prom_duration, parse_prom_duration};

/// The label an exported alerting rule carries to name its prodsim rule set; on import it
/// puts the rule in that set (and is not kept as a label).
pub const SET_LABEL: &str = "set";
