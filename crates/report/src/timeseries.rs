//! `timeseries.csv`: one row per report interval over the whole run (warmup included).
//! Columns are documented in `docs/timeseries-csv.md`; empty cells mean "no completions".

use std::fmt::Write;

use prodsim_model::outcome::Outcome;

/// The header line's column names, in order.
pub const COLUMNS: [&str; 15] = [
    "start_s",
    "end_s",
    "arrivals",
    "admitted",
    "delayed",
    "completions",
    "rejections",
    "timeouts",
    "in_flight",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p99_ms",
    "utilization",
    "queue_length",
    "failures",
];

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The CSV text for `outcome`.
pub fn to_csv(outcome: &Outcome) -> String {
    let mut out = String::with_capacity(64 * (outcome.rows.len() + 1));
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    let ms = |ns: Option<u64>| ns.map(|v| v as f64 / 1e6);
    for r in &outcome.rows {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.start_ns as f64 / 1e9,
            r.end_ns as f64 / 1e9,
            r.arrivals,
            r.admitted,
            r.delayed,
            r.completions,
            r.rejections,
            r.timeouts,
            r.in_flight,
            opt(r.latency_mean_ms()),
            opt(ms(r.latency_p50_ns)),
            opt(ms(r.latency_p99_ns)),
            r.utilization,
            r.queue_length,
            r.failures,
        );
    }
    out
}
