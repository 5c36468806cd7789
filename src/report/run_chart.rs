//! The timeline chart of one run (`timeline.png` and `timeline.svg`): request rate, error
//! ratio, p50/p99 latency and work in flight over simulated time, one point per
//! `timeseries.csv` row.

use std::path::Path;

use super::chart::{self, ChartError, Panel, Series, Timeline, Window};
use crate::outcome::Outcome;

/// Builds the timeline of `outcome` (no I/O).
pub fn timeline(outcome: &Outcome) -> Timeline {
    let rows = &outcome.rows;
    // Each point sits at the middle of its interval.
    let time_s: Vec<f64> = rows.iter().map(|r| (r.start_ns + r.end_ns) as f64 / 2e9).collect();
    let per_s = |f: fn(&crate::outcome::Row) -> u64| -> Vec<f64> {
        rows.iter().map(|r| f(r) as f64 / ((r.end_ns - r.start_ns).max(1) as f64 / 1e9)).collect()
    };
    let ms = |v: Option<u64>| v.map_or(f64::NAN, |ns| ns as f64 / 1e6);
    let error_ratio = rows
        .iter()
        .map(|r| {
            let finished = r.completions + r.rejections + r.timeouts + r.failures;
            if finished == 0 { f64::NAN } else { (r.rejections + r.timeouts + r.failures) as f64 / finished as f64 }
        })
        .collect();
    Timeline {
        title: format!("{} — seed {}", outcome.scenario, outcome.seed),
        time_s,
        panels: vec![
            Panel {
                y_label: "requests (req/s)".into(),
                log_y: false,
                series: vec![
                    Series { name: "arrivals".into(), values: per_s(|r| r.arrivals) },
                    Series { name: "completions".into(), values: per_s(|r| r.completions) },
                ],
            },
            Panel {
                y_label: "error ratio".into(),
                log_y: false,
                series: vec![Series { name: "rejected + timed out + failed".into(), values: error_ratio }],
            },
            Panel {
                y_label: "latency (ms)".into(),
                log_y: true,
                series: vec![
                    Series { name: "p50".into(), values: rows.iter().map(|r| ms(r.latency_p50_ns)).collect() },
                    Series { name: "p99".into(), values: rows.iter().map(|r| ms(r.latency_p99_ns)).collect() },
                ],
            },
            Panel {
                y_label: "requests".into(),
                log_y: false,
                series: vec![
                    Series { name: "in flight".into(), values: rows.iter().map(|r| r.in_flight as f64).collect() },
                    Series { name: "waiting (mean)".into(), values: rows.iter().map(|r| r.queue_length).collect() },
                ],
            },
        ],
        shaded: outcome
            .faults
            .iter()
            .map(|f| Window {
                start_s: f.start_ns as f64 / 1e9,
                end_s: f.end_ns.min(outcome.simulated_ns) as f64 / 1e9,
                label: format!("{} {}", f.kind.name(), f.target_name.clone()),
            })
            .collect(),
        markers: Vec::new(),
    }
}

/// Writes `timeline.png` and `timeline.svg` into `dir`.
pub fn write_timeline(outcome: &Outcome, dir: &Path) -> Result<(), ChartError> {
    chart::timeline(&dir.join("timeline"), &timeline(outcome))
}
