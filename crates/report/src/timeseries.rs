//! `timeseries.csv`: one row per report interval over the whole run (warmup included).
//! Columns are documented in `docs/timeseries-csv.md`; empty cells mean "no completions".

use prodsim_kernel::units::{ns_to_ms, ns_to_s};
use prodsim_model::outcome::{Outcome, Row};

use crate::csv_table::{Column, Table, optional};

/// The file's columns: each header name beside its cell.
pub fn columns<'r>() -> Table<'static, &'r Row> {
    Table::new(vec![
        Column::new("start_s", |r: &&Row| ns_to_s(r.start_ns).to_string()),
        Column::new("end_s", |r: &&Row| ns_to_s(r.end_ns).to_string()),
        Column::new("arrivals", |r: &&Row| r.arrivals.to_string()),
        Column::new("admitted", |r: &&Row| r.admitted.to_string()),
        Column::new("delayed", |r: &&Row| r.delayed.to_string()),
        Column::new("completions", |r: &&Row| r.completions.to_string()),
        Column::new("rejections", |r: &&Row| r.rejections.to_string()),
        Column::new("timeouts", |r: &&Row| r.timeouts.to_string()),
        Column::new("in_flight", |r: &&Row| r.in_flight.to_string()),
        Column::new("latency_mean_ms", |r: &&Row| optional(r.latency_mean_ms())),
        Column::new("latency_p50_ms", |r: &&Row| optional(r.latency_p50_ns.map(ns_to_ms))),
        Column::new("latency_p99_ms", |r: &&Row| optional(r.latency_p99_ns.map(ns_to_ms))),
        Column::new("utilization", |r: &&Row| r.utilization.to_string()),
        Column::new("queue_length", |r: &&Row| r.queue_length.to_string()),
        Column::new("failures", |r: &&Row| r.failures.to_string()),
    ])
}

/// The CSV text for `outcome`.
pub fn to_csv(outcome: &Outcome) -> String {
    columns().to_csv(&outcome.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_one_field_per_column() {
        let text = "[scenario]\nname = \"t\"\nduration = \"30s\"\nreport_interval = \"10s\"\n\
                    [[workload]]\nname = \"w\"\nrate = 50\n[servers]\ncount = 2\nworkers = 2\n\
                    service_time = \"exp(5ms)\"\n";
        let s = prodsim_scenario::load_str(text, std::path::Path::new("t.toml")).expect("loads").scenario;
        let outcome = prodsim_model::simulate(&s, 1).expect("runs");
        let csv = to_csv(&outcome);
        let records = crate::csv_table::read_back(&csv);
        let (header, rows) = records.split_first().expect("a header");
        assert_eq!(header.iter().collect::<Vec<_>>(), columns().names());
        let doc = include_str!("../../../docs/timeseries-csv.md");
        assert_eq!(crate::csv_table::undocumented(&columns().names(), doc), Vec::<&str>::new());
        assert_eq!(header.len(), 15, "the columns docs/timeseries-csv.md documents");
        assert_eq!(rows.len(), 3, "three intervals: {csv}");
        for row in rows {
            assert_eq!(row.len(), header.len(), "{row:?}");
            assert!(!row[9].is_empty() && row[12].parse::<f64>().is_ok(), "{row:?}");
        }
    }
}
