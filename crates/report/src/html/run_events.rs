//! The event lanes under a run's timeline: one lane per rule set for its alert firings
//! (every severity), one per rule set for its notifications, then pages,
//! acknowledgements, playbook actions and releases. Each event is a point whose hover
//! text says what it was.

use std::collections::BTreeMap;

use prodsim_kernel::units::ns_to_s;
use prodsim_model::outcome::Outcome;
use prodsim_parts::ops::routing as render;

use super::chart_data::{Chart, ChartSeries, Style, XAxis};

/// One lane's events: (time in s, what).
struct Lane {
    name: String,
    events: Vec<(f64, String)>,
}

/// The lanes chart, or `None` when the run had no events at all.
pub fn lanes(o: &Outcome) -> Option<Chart> {
    let mut lanes = Vec::new();
    if let Some(m) = o.system.monitoring.as_deref() {
        for set in &m.sets {
            let firings = m.episodes.iter().filter(|e| e.set == set.name);
            let events = firings
                .filter_map(|e| {
                    let at = e.firing_ms? as f64 / 1000.0;
                    let sev = if e.severity.is_empty() { String::new() } else { format!(" [{}]", e.severity) };
                    let labels = crate::text_alerting::episode_labels(e);
                    let tp = if e.true_positive { "true positive" } else { "false positive" };
                    Some((at, format!("{}{sev} {} ({tp})", e.alert, labels.join(" "))))
                })
                .collect();
            lanes.push(Lane { name: format!("alerts fired: {}", set.name), events });
            let events = set
                .notifications
                .iter()
                .map(|n| (n.t_ms as f64 / 1000.0, format!("{} → {}", render::title(n), n.receiver)));
            lanes.push(Lane { name: format!("notifications: {}", set.name), events: events.collect() });
        }
        let told = m.pipeline_notifications.iter().map(|n| {
            let who = match &n.origin {
                prodsim_parts::ops::routing::Origin::Pipeline { author, version } => {
                    format!("@{author}: {version} failed")
                }
                prodsim_parts::ops::routing::Origin::Alert => render::title(n),
            };
            (n.t_ms as f64 / 1000.0, format!("{who} → {} ({})", n.receiver, n.delivery.as_str()))
        });
        lanes.push(Lane { name: "pipeline → committers".into(), events: told.collect() });
    }
    if let Some(d) = o.system.delivery.as_ref() {
        let pages = d.pages.iter().map(|p| (ns_to_s(p.opened_ns), format!("page #{}: {}", p.id, p.alerts.join(", "))));
        lanes.push(Lane { name: "pages".into(), events: pages.collect() });
        let acks = d.pages.iter().filter_map(|p| {
            p.acknowledged.as_ref().map(|a| (ns_to_s(a.at_ns), format!("page #{} acknowledged by {}", p.id, a.by)))
        });
        lanes.push(Lane { name: "acknowledgements".into(), events: acks.collect() });
        let actions = d.actions.iter().map(|a| {
            let ok = if a.succeeded { "done" } else { "failed" };
            (ns_to_s(a.started_ns), format!("{} by {} ({ok})", a.action, a.by))
        });
        lanes.push(Lane { name: "actions".into(), events: actions.collect() });
        let releases = d.releases.iter().filter_map(|r| {
            r.rollout_start_ns.map(|t| {
                (ns_to_s(t), format!("{} ({}): {}", r.version, r.strategy, r.outcome.as_str().replace('_', " ")))
            })
        });
        lanes.push(Lane { name: "releases".into(), events: releases.collect() });
    }
    lanes.retain(|l| !l.events.is_empty());
    if lanes.is_empty() {
        return None;
    }
    Some(chart(&lanes))
}

/// The lanes as one points-only chart: x is every event time, lane `i` sits at y = −i.
fn chart(lanes: &[Lane]) -> Chart {
    // Events at the same instant in one lane share one point; their texts are joined.
    let mut by_time: BTreeMap<u64, Vec<Vec<String>>> = BTreeMap::new();
    for (i, lane) in lanes.iter().enumerate() {
        for (t, what) in &lane.events {
            let slot = by_time.entry(t.to_bits()).or_insert_with(|| vec![Vec::new(); lanes.len()]);
            slot[i].push(what.clone());
        }
    }
    let x: Vec<f64> = by_time.keys().map(|b| f64::from_bits(*b)).collect();
    let total: usize = lanes.iter().map(|l| l.events.len()).sum();
    let mut c = Chart::new(
        "events",
        format!("Events ({total}): alerts, notifications, pages, actions, releases"),
        "timeline",
        XAxis::Time,
        x,
    )
    .y("lane", false);
    c.series = lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| {
            let texts: Vec<Option<String>> =
                by_time.values().map(|slot| (!slot[i].is_empty()).then(|| slot[i].join("; "))).collect();
            ChartSeries {
                name: format!("{} ({})", lane.name, lane.events.len()),
                values: texts.iter().map(|t| t.as_ref().map(|_| -(i as f64))).collect(),
                style: Style::Points,
                labels: Some(texts),
                color: None,
            }
        })
        .collect();
    c.y_range = Some([-(lanes.len() as f64) + 0.5, 0.5]);
    c
}
