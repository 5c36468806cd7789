//! `components.csv`: the per-component time series of a run, one row per report
//! interval and component (app servers, each service, the storage, the database). Columns
//! are documented in `docs/components-csv.md`; empty cells mean "undefined".

use prodsim_kernel::units::ns_to_s;
use prodsim_model::outcome::Outcome;
use prodsim_model::outcome::{ComponentOutcome, ComponentRow};

use crate::csv_table::{Column, Table, optional};

/// One line of the file: a component over one report interval.
pub struct Line<'a> {
    /// The interval's measurements.
    pub row: &'a ComponentRow,
    /// The component they are of.
    pub component: &'a ComponentOutcome,
}

impl Line<'_> {
    /// `(errors + timeouts) / calls`; `None` without calls.
    fn error_ratio(&self) -> Option<f64> {
        let r = self.row;
        (r.calls > 0).then(|| (r.errors + r.timeouts) as f64 / r.calls as f64)
    }
}

/// The file's columns: each header name beside its cell.
pub fn columns<'a>() -> Table<'static, Line<'a>> {
    Table::new(vec![
        Column::new("start_s", |l: &Line| ns_to_s(l.row.start_ns).to_string()),
        Column::new("end_s", |l: &Line| ns_to_s(l.row.end_ns).to_string()),
        Column::new("component", |l: &Line| l.component.name.clone()),
        Column::new("kind", |l: &Line| l.component.kind.clone()),
        Column::new("instances", |l: &Line| l.row.instances.to_string()),
        Column::new("ready", |l: &Line| l.row.ready.to_string()),
        Column::new("utilization", |l: &Line| optional(l.row.utilization)),
        Column::new("cpu_utilization", |l: &Line| optional(l.row.cpu_utilization)),
        Column::new("queue_length", |l: &Line| l.row.queue_length.to_string()),
        Column::new("in_flight", |l: &Line| l.row.in_flight.to_string()),
        Column::new("calls", |l: &Line| l.row.calls.to_string()),
        Column::new("errors", |l: &Line| l.row.errors.to_string()),
        Column::new("timeouts", |l: &Line| l.row.timeouts.to_string()),
        Column::new("memory_mean_mb", |l: &Line| optional(l.row.memory_mean_mb)),
        Column::new("memory_max_mb", |l: &Line| optional(l.row.memory_max_mb)),
        Column::new("error_ratio", |l: &Line| optional(l.error_ratio())),
        Column::new("replication_lag_ms", |l: &Line| optional(l.row.replication_lag_ms)),
        Column::new("pool_in_use", |l: &Line| count(l.row.pool_in_use)),
        Column::new("pool_waiting", |l: &Line| count(l.row.pool_waiting)),
        Column::new("pool_size", |l: &Line| count(l.row.pool_size)),
    ])
}

/// A count, empty when the component has none.
fn count(v: Option<u32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The CSV text for `outcome`.
pub fn to_csv(outcome: &Outcome) -> String {
    let system = &*outcome.system;
    let lines = system
        .series
        .iter()
        .filter_map(|row| Some(Line { row, component: system.components.get(usize::from(row.component))? }));
    columns().to_csv(lines)
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
        let csv = to_csv(&outcome);
        let records = crate::csv_table::read_back(&csv);
        let (header, rows) = records.split_first().expect("a header");
        assert_eq!(header.iter().collect::<Vec<_>>(), columns().names());
        let doc = include_str!("../../../docs/components-csv.md");
        assert_eq!(crate::csv_table::undocumented(&columns().names(), doc), Vec::<&str>::new());
        assert_eq!(header.len(), 17, "the columns docs/components-csv.md documents");
        assert_eq!(rows.len(), 3 * 2, "three intervals, two components");
        for row in rows {
            assert_eq!(row.len(), header.len(), "{row:?}");
        }
        let db: Vec<_> = rows.iter().filter(|r| &r[2] == "db").collect();
        assert_eq!(db.len(), 3, "{csv}");
        assert!(db.iter().all(|r| &r[16] == "250"), "{csv}");
    }
}
