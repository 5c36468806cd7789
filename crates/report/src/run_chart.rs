//! The timeline chart of one run (`timeline.png` and `timeline.svg`): request rate, error
//! ratio, p50/p99 latency and work in flight over simulated time, one point per
//! `timeseries.csv` row.

use std::path::Path;

use super::chart::{self, ChartError, Marker, MarkerKind, Panel, Series, Timeline, Window};
use prodsim_kernel::units::{ns_to_ms, ns_to_s};
use prodsim_model::outcome::Outcome;

/// Builds the timeline of `outcome` (no I/O).
pub fn timeline(outcome: &Outcome) -> Timeline {
    let rows = &outcome.rows;
    // Each point sits at the middle of its interval.
    let time_s: Vec<f64> = rows.iter().map(|r| ns_to_s(r.start_ns + r.end_ns) / 2.0).collect();
    let per_s = |f: fn(&prodsim_model::outcome::Row) -> u64| -> Vec<f64> {
        rows.iter().map(|r| f(r) as f64 / ns_to_s((r.end_ns - r.start_ns).max(1))).collect()
    };
    let ms = |v: Option<u64>| v.map_or(f64::NAN, ns_to_ms);
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
                start_s: ns_to_s(f.start_ns),
                end_s: ns_to_s(f.end_ns.min(outcome.simulated_ns)),
                label: format!("{} {}", f.kind.name(), f.target_name.clone()),
            })
            .collect(),
        markers: markers(outcome),
    }
}

/// Releases (when each reached production, and how it ended) and pages, as markers.
fn markers(outcome: &Outcome) -> Vec<Marker> {
    let Some(d) = outcome.system.delivery.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for r in &d.releases {
        if let Some(t) = r.rollout_start_ns {
            out.push(Marker {
                at_s: ns_to_s(t),
                label: format!("{} {}", r.version, r.strategy),
                kind: MarkerKind::Deploy,
            });
        }
        if let (Some(t), true) = (r.end_ns, r.rollout_start_ns.is_some()) {
            let how = r.outcome.as_str().replace('_', " ");
            out.push(Marker { at_s: ns_to_s(t), label: format!("{} {how}", r.version), kind: MarkerKind::Deploy });
        }
    }
    for p in &d.pages {
        let what = p.alerts.first().map_or("page".to_string(), |a| format!("page: {a}"));
        out.push(Marker { at_s: ns_to_s(p.opened_ns), label: what, kind: MarkerKind::Alert });
    }
    out.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    out
}

/// Writes `timeline.png` and `timeline.svg` into `dir`.
pub fn write_timeline(outcome: &Outcome, dir: &Path) -> Result<(), ChartError> {
    chart::timeline(&dir.join("timeline"), &timeline(outcome))
}
