//! `components.csv`: the per-component time series of a multi-tier run, one row per report
//! interval and component (app servers, each service, the storage, the database). Columns
//! are documented in `docs/components-csv.md`; empty cells mean "undefined".

use std::fmt::Write;

use prodsim_model::outcome::Outcome;

/// The header line's column names, in order.
pub const COLUMNS: [&str; 17] = [
    "start_s",
    "end_s",
    "component",
    "kind",
    "instances",
    "ready",
    "utilization",
    "cpu_utilization",
    "queue_length",
    "in_flight",
    "calls",
    "errors",
    "timeouts",
    "memory_mean_mb",
    "memory_max_mb",
    "error_ratio",
    "replication_lag_ms",
];

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The CSV text for `outcome` (always `Some`: every run has components).
pub fn to_csv(outcome: &Outcome) -> Option<String> {
    let system = &outcome.system;
    let mut out = String::with_capacity(96 * (system.series.len() + 1));
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for r in &system.series {
        let Some(c) = system.components.get(r.component as usize) else { continue };
        let ratio = (r.calls > 0).then(|| (r.errors + r.timeouts) as f64 / r.calls as f64);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.start_ns as f64 / 1e9,
            r.end_ns as f64 / 1e9,
            c.name,
            c.kind,
            r.instances,
            r.ready,
            opt(r.utilization),
            opt(r.cpu_utilization),
            r.queue_length,
            r.in_flight,
            r.calls,
            r.errors,
            r.timeouts,
            opt(r.memory_mean_mb),
            opt(r.memory_max_mb),
            opt(ratio),
            opt(r.replication_lag_ms),
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_one_field_per_column() {
        let text = "[scenario]\nname = \"c\"\nduration = \"30s\"\nreport_interval = \"10s\"\n\
                    [[workload]]\nname = \"w\"\nrate = 50\n[servers]\ncount = 2\nworkers = 2\n\
                    [[requests]]\nname = \"a\"\nweight = 1\nsteps = [{ cpu = \"exp(5ms)\" }, { call = \"db\", op = \"read\" }]\n\
                    [database]\nread_time = \"exp(1ms)\"\nwrite_time = \"exp(1ms)\"\nreplication_lag = \"250ms\"\n";
        let s = prodsim_scenario::load_str(text, std::path::Path::new("c.toml")).expect("loads").scenario;
        let outcome = prodsim_model::simulate(&s, 1).expect("runs");
        let csv = to_csv(&outcome).expect("a multi-tier run");
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 3 * 2, "three intervals, two components");
        for row in &rows {
            assert_eq!(row.split(',').count(), COLUMNS.len(), "{row}");
        }
        assert!(rows.iter().filter(|r| r.contains(",db,")).all(|r| r.ends_with(",250")), "{csv}");
    }
}
