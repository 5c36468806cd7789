//! Snapshots of what users read and script against, for shipped scenarios: `summary.json`,
//! the post-mortem, the header of every CSV file and the printed summary. A change to any
//! of them is a reviewable diff in `tests/it/snapshots/`; accept an intended one with
//! `INSTA_UPDATE=always cargo test snapshots` (CI runs with `INSTA_UPDATE=no`).

use prodsim_report::{Summary, components, postmortem, text, timeseries};

use crate::common::scenario;

/// The first line of a CSV file.
fn header(csv: &str) -> &str {
    csv.lines().next().unwrap_or_default()
}

/// Runs the shipped scenario `name` with its own seed and snapshots its reports.
fn reports(name: &str) {
    let s = scenario(&format!("scenarios/{name}.toml"));
    let o = prodsim_model::simulate(&s, s.seed).expect("runs");
    insta::assert_snapshot!(format!("{name}-summary.json"), Summary::from_outcome(&o).to_json());
    insta::assert_snapshot!(format!("{name}-text"), text::render(&o, &s.description, None));
    let components = components::to_csv(&o);
    let headers =
        format!("timeseries.csv: {}\ncomponents.csv: {}", header(&timeseries::to_csv(&o)), header(&components));
    insta::assert_snapshot!(format!("{name}-csv-headers"), headers);
    match postmortem::render_all(&o, &o.scenario) {
        Some(md) => insta::assert_snapshot!(format!("{name}-postmortem.md"), md),
        None => assert!(
            o.system.monitoring.as_ref().is_none_or(|m| m.incidents.is_empty()),
            "{name}: incidents but no post-mortem"
        ),
    }
}

#[test]
fn quickstart() {
    reports("quickstart");
}

#[test]
fn checkout_fragile() {
    reports("checkout-fragile");
}

#[test]
fn db_primary_failure() {
    reports("db-primary-failure");
}

#[test]
fn bad_deploy_rollback() {
    reports("bad-deploy-rollback");
}
