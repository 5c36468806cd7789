//! The interactive timeline of one run: the panels (requests and outcomes, error ratio,
//! latency of successful and failed requests, work in flight, each component's
//! utilisation, queue and errors, the retry queue, breakers, replication lag, memory) and
//! the event lanes (every alert firing by rule set, notifications, pages,
//! acknowledgements, actions, releases), all on one shared time axis.

use prodsim_kernel::units::{ns_to_ms, ns_to_s};
use prodsim_model::outcome::{ComponentRow, GroupRow, Outcome, Row};
use prodsim_parts::resilience::BreakerState;

use super::chart_data::{Chart, ChartSeries, Combine, Mark, Shade, Style, XAxis, bucket, downsample};

/// The sync group of the run's panels.
const GROUP: &str = "timeline";

/// Rows combined per display point, and the x of each point.
struct Axis {
    k: usize,
    x: Vec<f64>,
}

impl Axis {
    fn of(rows: &[Row]) -> Axis {
        let k = bucket(rows.len());
        let mid: Vec<f64> = rows.iter().map(|r| ns_to_s(r.start_ns + r.end_ns) / 2.0).collect();
        Axis { k, x: downsample(&mid, k, Combine::Mean) }
    }

    /// A series on this axis (cut or padded to its length: the component rows and the
    /// request rows close on the same boundaries, but a run may end between them).
    fn series(&self, name: &str, values: &[f64], how: Combine) -> ChartSeries {
        let mut v = downsample(values, self.k, how);
        v.resize(self.x.len(), f64::NAN);
        ChartSeries::line(name, &v)
    }

    fn chart(&self, key: &str, title: &str, y_label: &str, log: bool) -> Chart {
        Chart::new(key, title, GROUP, XAxis::Time, self.x.clone()).y(y_label, log)
    }
}

/// Every panel of the run's timeline, then the event lanes (when there are events).
pub fn charts(o: &Outcome) -> Vec<Chart> {
    let axis = Axis::of(&o.rows);
    let mut charts = vec![requests(o, &axis), error_ratio(o, &axis), latency(o, &axis), in_flight(o, &axis)];
    charts.extend(groups(o, &axis));
    charts.extend(components(o, &axis));
    charts.extend(retry_queue(o, &axis));
    let (shades, marks) = (shades(o), marks(o));
    for c in &mut charts {
        c.shades.clone_from(&shades);
        c.marks.clone_from(&marks);
    }
    if let Some(mut lanes) = super::run_events::lanes(o) {
        lanes.shades = shades;
        lanes.marks = marks;
        charts.push(lanes);
    }
    charts
}

/// One count of a row.
type Count = fn(&Row) -> u64;

fn per_s(rows: &[Row], f: fn(&Row) -> u64) -> Vec<f64> {
    rows.iter().map(|r| f(r) as f64 / ns_to_s((r.end_ns - r.start_ns).max(1))).collect()
}

fn requests(o: &Outcome, a: &Axis) -> Chart {
    let mut c = a.chart("requests", "Requests and their outcomes", "requests per second", false);
    let rows = &o.rows;
    let lines: [(&str, Count); 5] = [
        ("arrivals", |r| r.arrivals),
        ("completed", |r| r.completions),
        ("rejected", |r| r.rejections),
        ("timed out", |r| r.timeouts),
        ("failed", |r| r.failures),
    ];
    c.series = lines.iter().map(|(name, f)| a.series(name, &per_s(rows, *f), Combine::Mean)).collect();
    c
}

fn error_ratio(o: &Outcome, a: &Axis) -> Chart {
    let mut c = a.chart("errors", "Error ratio", "share of finished requests", false);
    let ratio: Vec<f64> = o
        .rows
        .iter()
        .map(|r| {
            let bad = r.rejections + r.timeouts + r.failures;
            let finished = r.completions + bad;
            if finished == 0 { f64::NAN } else { bad as f64 / finished as f64 }
        })
        .collect();
    c.series = vec![a.series("rejected + timed out + failed", &ratio, Combine::Mean)];
    c
}

fn latency(o: &Outcome, a: &Axis) -> Chart {
    let mut c = a.chart("latency", "Latency of successful and failed requests", "latency (ms, log scale)", true);
    let ms =
        |f: fn(&Row) -> Option<u64>| -> Vec<f64> { o.rows.iter().map(|r| f(r).map_or(f64::NAN, ns_to_ms)).collect() };
    c.series = vec![
        a.series("successful p50", &ms(|r| r.latency_p50_ns), Combine::Mean),
        a.series("successful p99", &ms(|r| r.latency_p99_ns), Combine::Max),
        a.series("failed p50 (time to error)", &ms(|r| r.failed_latency_p50_ns), Combine::Mean).styled(Style::Dashed),
        a.series("failed p99 (time to error)", &ms(|r| r.failed_latency_p99_ns), Combine::Max).styled(Style::Dashed),
    ];
    c
}

fn in_flight(o: &Outcome, a: &Axis) -> Chart {
    let mut c = a.chart("in_flight", "Work in the app tier", "requests", false);
    let flight: Vec<f64> = o.rows.iter().map(|r| r.in_flight as f64).collect();
    let queue: Vec<f64> = o.rows.iter().map(|r| r.queue_length).collect();
    let util: Vec<f64> = o.rows.iter().map(|r| r.utilization).collect();
    c.series = vec![
        a.series("in flight", &flight, Combine::Max),
        a.series("waiting (mean)", &queue, Combine::Mean),
        a.series("app utilisation × 100", &util.iter().map(|u| u * 100.0).collect::<Vec<_>>(), Combine::Mean)
            .styled(Style::Dashed),
    ];
    c
}

/// Per class and per region: completed and failed requests per second, and the latency of
/// the completions (when the run has more than one class, or regions).
fn groups(o: &Outcome, a: &Axis) -> Vec<Chart> {
    let classes: Vec<&str> = o.system.classes.iter().map(|c| c.name.as_str()).collect();
    let regions: Vec<&str> = o.system.regions.iter().map(|c| c.name.as_str()).collect();
    let sets =
        [("classes", "class", &classes, &o.system.class_rows), ("regions", "region", &regions, &o.system.region_rows)];
    let mut out = Vec::new();
    for (key, what, names, rows) in sets {
        if names.is_empty() || rows.is_empty() {
            continue;
        }
        out.push(group_requests(o, a, (key, what), names, rows));
        out.push(group_latency(a, (key, what), names, rows));
    }
    out
}

/// One group's rows (class or region `i` of `n`), in time order.
fn group_rows(rows: &[GroupRow], i: usize, n: usize) -> impl Iterator<Item = &GroupRow> {
    rows.iter().skip(i).step_by(n)
}

/// Completed and failed requests per second of each class (or region).
fn group_requests(o: &Outcome, a: &Axis, (key, what): (&str, &str), names: &[&str], rows: &[GroupRow]) -> Chart {
    let mut c = a.chart(key, &format!("Requests per {what}"), "requests per second", false);
    for (i, name) in names.iter().enumerate() {
        let of = |f: fn(&GroupRow) -> u64| -> Vec<f64> {
            group_rows(rows, i, names.len())
                .zip(&o.rows)
                .map(|(g, r)| f(g) as f64 / ns_to_s((r.end_ns - r.start_ns).max(1)))
                .collect()
        };
        c.series.push(a.series(&format!("{name} completed"), &of(|g| g.completed), Combine::Mean));
        c.series.push(a.series(&format!("{name} failed"), &of(|g| g.errors), Combine::Mean).styled(Style::Dashed));
    }
    c
}

/// The p50 and p99 latency of each class's (or region's) completions, on a log scale.
fn group_latency(a: &Axis, (key, what): (&str, &str), names: &[&str], rows: &[GroupRow]) -> Chart {
    let title = format!("Latency per {what} (successful requests)");
    let mut c = a.chart(&format!("{key}_latency"), &title, "ms", true);
    for (i, name) in names.iter().enumerate() {
        let of = |f: fn(&GroupRow) -> Option<u64>| -> Vec<f64> {
            group_rows(rows, i, names.len()).map(|g| f(g).map_or(f64::NAN, ns_to_ms)).collect()
        };
        c.series.push(a.series(&format!("{name} p99"), &of(|g| g.latency_p99_ns), Combine::Max));
        c.series.push(a.series(&format!("{name} p50"), &of(|g| g.latency_p50_ns), Combine::Mean).styled(Style::Dashed));
    }
    c
}

/// One component's rows, in time order.
fn rows_of(o: &Outcome, component: usize) -> impl Iterator<Item = &ComponentRow> {
    o.system.series.iter().filter(move |r| usize::from(r.component) == component)
}

/// Per-component panels: utilisation, queue, errors; breakers, replication lag and app
/// memory where the run has them.
fn components(o: &Outcome, a: &Axis) -> Vec<Chart> {
    let comps = &o.system.components;
    let each = |key: &str, title: &str, y: &str, how: Combine, f: &dyn Fn(&ComponentRow) -> Option<f64>| {
        let mut c = a.chart(key, title, y, false);
        for (i, comp) in comps.iter().enumerate() {
            let values: Vec<f64> = rows_of(o, i).map(|r| f(r).unwrap_or(f64::NAN)).collect();
            if values.iter().any(|v| v.is_finite()) {
                c.series.push(a.series(&comp.name, &values, how));
            }
        }
        (!c.series.is_empty()).then_some(c)
    };
    let span_s = |r: &ComponentRow| ns_to_s((r.end_ns - r.start_ns).max(1));
    let mut out = Vec::new();
    out.extend(each("utilization", "Utilisation per component", "busy share of workers", Combine::Mean, &|r| {
        r.utilization
    }));
    out.extend(each("queues", "Queue per component", "waiting tasks (mean)", Combine::Mean, &|r| Some(r.queue_length)));
    out.extend(each("component_errors", "Errors and timeouts per component", "per second", Combine::Mean, &|r| {
        Some((r.errors + r.timeouts) as f64 / span_s(r))
    }));
    out.extend(each("ready", "Instances running", "instances", Combine::Mean, &|r| Some(f64::from(r.ready))));
    let breaker = |r: &ComponentRow| {
        r.breaker.map(|b| match b {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 0.5,
            BreakerState::Open => 1.0,
        })
    };
    if let Some(mut c) =
        each("breakers", "Circuit breakers (0 closed, 0.5 half-open, 1 open)", "state", Combine::Max, &breaker)
    {
        c.series.iter_mut().for_each(|s| s.style = Style::Step);
        c.y_range = Some([0.0, 1.05]);
        out.push(c);
    }
    out.extend(each("replication_lag", "Replication lag", "ms", Combine::Max, &|r| r.replication_lag_ms));
    out.extend(pools(o, a));
    out.extend(each("memory", "App server memory (largest instance)", "MiB", Combine::Max, &|r| r.memory_max_mb));
    // A fixed pool that never lost a server says nothing in "instances running".
    out.retain(|c| c.key != "ready" || c.series.iter().any(|s| varies(&s.values)));
    out
}

/// The database's connection pools (summed over the app servers): taken, waiting, size.
fn pools(o: &Outcome, a: &Axis) -> Option<Chart> {
    let db = o.system.series.iter().find(|r| r.pool_size.is_some())?.component;
    let rows: Vec<&ComponentRow> = o.system.series.iter().filter(|r| r.component == db).collect();
    let of = |f: fn(&ComponentRow) -> Option<u32>| -> Vec<f64> {
        rows.iter().map(|r| f(r).map_or(f64::NAN, f64::from)).collect()
    };
    let mut c = a.chart("db_pool", "Database connection pools (all app servers)", "connections", false);
    c.series = vec![
        a.series("connections in use", &of(|r| r.pool_in_use), Combine::Max),
        a.series("calls waiting", &of(|r| r.pool_waiting), Combine::Max),
        a.series("pool size", &of(|r| r.pool_size), Combine::Max).styled(Style::Dashed),
    ];
    Some(c)
}

fn varies(values: &[Option<f64>]) -> bool {
    let mut v = values.iter().flatten();
    v.next().is_some_and(|first| v.any(|x| x != first))
}

fn retry_queue(o: &Outcome, a: &Axis) -> Option<Chart> {
    let depth = &o.system.retry_queue_depth;
    if depth.is_empty() {
        return None;
    }
    let mut c = a.chart("retry_queue", "Retry queue depth", "items waiting", false);
    let values: Vec<f64> = depth.iter().map(|d| *d as f64).collect();
    c.series = vec![a.series("retry queue", &values, Combine::Max)];
    Some(c)
}

/// The warmup, every incident (with an `[slo]`) and every fault window.
fn shades(o: &Outcome) -> Vec<Shade> {
    let mut out = Vec::new();
    if o.warmup_ns > 0 {
        out.push(Shade {
            start: 0.0,
            end: ns_to_s(o.warmup_ns),
            label: "warmup (not in the statistics)".into(),
            kind: "warmup",
        });
    }
    if let Some(m) = o.system.monitoring.as_deref() {
        for (k, i) in m.incidents.iter().enumerate() {
            let (start, end) = (i.incident.start_ms as f64 / 1000.0, i.incident.end_ms as f64 / 1000.0);
            out.push(Shade { start, end, label: format!("incident #{k}: users hurt"), kind: "incident" });
        }
    }
    for f in &o.faults {
        out.push(Shade {
            start: ns_to_s(f.start_ns),
            end: ns_to_s(f.end_ns.min(o.simulated_ns)),
            label: format!("{} {}", f.kind.name(), f.target_name),
            kind: "fault",
        });
    }
    out
}

/// Pages, acknowledgements, actions and releases as vertical lines on every panel.
fn marks(o: &Outcome) -> Vec<Mark> {
    let Some(d) = o.system.delivery.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for r in &d.releases {
        if let Some(t) = r.rollout_start_ns {
            out.push(Mark {
                at: ns_to_s(t),
                label: format!("release {} ({})", r.version, r.strategy),
                kind: "release",
            });
            if let Some(end) = r.end_ns {
                let how = r.outcome.as_str().replace('_', " ");
                out.push(Mark { at: ns_to_s(end), label: format!("release {} {how}", r.version), kind: "release" });
            }
        }
    }
    for p in &d.pages {
        let what = p.alerts.join(", ");
        out.push(Mark { at: ns_to_s(p.opened_ns), label: format!("page #{}: {what}", p.id), kind: "page" });
        if let Some(ack) = &p.acknowledged {
            out.push(Mark {
                at: ns_to_s(ack.at_ns),
                label: format!("page #{} acknowledged by {}", p.id, ack.by),
                kind: "ack",
            });
        }
    }
    for a in &d.actions {
        let ok = if a.succeeded { "" } else { " (failed)" };
        out.push(Mark {
            at: ns_to_s(a.started_ns),
            label: format!("action {} by {}{ok}", a.action, a.by),
            kind: "action",
        });
    }
    out.sort_by(|a, b| a.at.total_cmp(&b.at).then_with(|| a.label.cmp(&b.label)));
    out
}
