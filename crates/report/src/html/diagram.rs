//! The architecture diagram of a run, an SVG drawn from the scenario: clients and regions →
//! proxy → balancer → app servers → services, third-party APIs, storage, the database
//! (primary and replicas) and the retry queue, with monitoring and the log store below.
//! Each node shows its utilisation and errors; a node a fault hit is outlined and names
//! the fault's window (the page's script also highlights it while the cursor is in it).

use std::fmt::Write as _;

use prodsim_kernel::units::{format_duration, ns_to_s};
use prodsim_model::outcome::{ComponentOutcome, Outcome};
use prodsim_parts::faults::FaultTarget;
use prodsim_scenario::Scenario;
use prodsim_scenario::topology::{Step, Target};

use super::escape::html;

const COL_W: f64 = 215.0;
const NODE_W: f64 = 185.0;
const NODE_H: f64 = 62.0;
const ROW_H: f64 = 78.0;

/// Which node a fault or an edge names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    Workload(usize),
    Region(usize),
    Proxy,
    Balancer,
    App,
    Service(usize),
    Database,
    Replicas,
    RetryQueue,
    Monitoring,
    LogStore,
}

struct Node {
    id: Id,
    col: usize,
    title: String,
    lines: Vec<String>,
    /// Fault windows on it: (start s, end s, text).
    faults: Vec<(f64, f64, String)>,
}

/// The diagram as an inline `<svg>` element.
pub fn svg(scenario: &Scenario, o: &Outcome) -> String {
    let mut nodes = nodes(scenario, Some(o));
    attach_faults(&mut nodes, o);
    draw(scenario, nodes, false)
}

/// The diagram of a run still going on (a game day's page): the components without the
/// run's figures, each `<g>` naming in `data-targets` the fault targets that land on it
/// (`servers` for every app server) and in `data-station` the engine's station it is
/// (`servers`, a service's name, `db`), so the page can mark it down or degraded.
pub fn live_svg(scenario: &Scenario) -> String {
    draw(scenario, nodes(scenario, None), true)
}

/// The fault targets that land on node `id` and its station, for [`live_svg`].
fn live_names(scenario: &Scenario, id: Id) -> (Vec<String>, Option<String>) {
    let t = &scenario.topology;
    match id {
        Id::Workload(_) => (vec!["workload".into()], None),
        Id::Region(i) => {
            let name = t.network.as_ref().and_then(|n| n.regions.get(i)).map(|r| r.name.clone());
            (name.into_iter().collect(), None)
        }
        Id::App => (vec!["servers".into()], Some("servers".into())),
        Id::Service(i) => {
            let name = t.services.get(i).map(|s| s.name.clone()).unwrap_or_default();
            (vec![name.clone()], Some(name))
        }
        Id::Database => (vec!["db".into()], Some("db".into())),
        Id::Monitoring => {
            let receivers = t
                .monitoring
                .as_ref()
                .map_or_else(Vec::new, |m| m.routing.receivers.iter().map(|r| r.name.clone()).collect());
            (std::iter::once("monitoring".to_string()).chain(receivers).collect(), None)
        }
        Id::LogStore => (vec!["log_store".into()], None),
        Id::Proxy | Id::Balancer | Id::Replicas | Id::RetryQueue => (Vec::new(), None),
    }
}

/// The nodes laid out in columns, with the edges of the call graph.
fn draw(scenario: &Scenario, mut nodes: Vec<Node>, live: bool) -> String {
    let edges = edges(scenario);
    // Columns nothing sits in are left out.
    let mut used: Vec<usize> = nodes.iter().map(|n| n.col).collect();
    used.sort_unstable();
    used.dedup();
    for n in &mut nodes {
        n.col = used.iter().position(|c| *c == n.col).unwrap_or(n.col);
    }
    let mut rows = [0usize; 8];
    let mut pos = Vec::with_capacity(nodes.len());
    for n in &nodes {
        pos.push((n.col as f64 * COL_W + 10.0, rows[n.col] as f64 * ROW_H + 10.0));
        rows[n.col] += 1;
    }
    let cols = nodes.iter().map(|n| n.col).max().unwrap_or(0) + 1;
    let (w, h) = (cols as f64 * COL_W + 10.0, rows.iter().max().copied().unwrap_or(1) as f64 * ROW_H + 10.0);
    let mut s = format!(
        "<svg class=\"diagram\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"architecture\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8a94a6\"/></marker></defs>"
    );
    let at = |id: Id| nodes.iter().position(|n| n.id == id);
    for (from, to, dashed) in &edges {
        let (Some(a), Some(b)) = (at(*from), at(*to)) else { continue };
        let ((x1, y1), (x2, y2)) = (pos[a], pos[b]);
        let (x1, y1, x2, y2) = (x1 + NODE_W, y1 + NODE_H / 2.0, x2, y2 + NODE_H / 2.0);
        let dash = if *dashed { " stroke-dasharray=\"4 3\"" } else { "" };
        let mid = f64::midpoint(x1, x2);
        let _ = write!(
            s,
            "<path class=\"edge\" d=\"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}\"{dash} marker-end=\"url(#arrow)\"/>"
        );
    }
    for (n, (x, y)) in nodes.iter().zip(&pos) {
        let live = live.then(|| live_names(scenario, n.id));
        node_svg(&mut s, n, *x, *y, live.as_ref());
    }
    s.push_str("</svg>");
    s
}

fn node_svg(s: &mut String, n: &Node, x: f64, y: f64, live: Option<&(Vec<String>, Option<String>)>) {
    let faulted = !n.faults.is_empty();
    let windows: Vec<String> = n.faults.iter().map(|(a, b, _)| format!("{a}:{b}")).collect();
    let live = live.map_or_else(String::new, |(targets, station)| {
        let station = station.as_ref().map_or_else(String::new, |st| format!(" data-station=\"{}\"", html(st)));
        format!(" data-targets=\"{}\"{station}", html(&targets.join(" ")))
    });
    let _ = write!(
        s,
        "<g class=\"node{}\" data-name=\"{}\" data-faults=\"{}\"{live}><title>{}</title>\
         <rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"7\"/>\
         <text x=\"{}\" y=\"{}\" class=\"node-title\">{}</text>",
        if faulted { " faulted" } else { "" },
        html(&n.title),
        windows.join(" "),
        html(&tooltip(n)),
        x + 8.0,
        y + 17.0,
        html(&clip(&n.title, 24)),
    );
    let mut lines = n.lines.iter().map(String::as_str).collect::<Vec<_>>();
    let fault_line = n.faults.first().map(|f| format!("⚡ {}", f.2));
    if let Some(f) = &fault_line {
        lines.truncate(1);
        lines.push(f);
    }
    for (i, line) in lines.iter().take(2).enumerate() {
        let class = if fault_line.as_deref() == Some(line) { "node-fault" } else { "node-line" };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"{class}\">{}</text>",
            x + 8.0,
            y + 35.0 + 15.0 * i as f64,
            html(&clip(line, 32))
        );
    }
    s.push_str("</g>");
}

fn tooltip(n: &Node) -> String {
    let mut t = n.title.clone();
    for l in &n.lines {
        t.push('\n');
        t.push_str(l);
    }
    for f in &n.faults {
        t.push_str("\n⚡ ");
        t.push_str(&f.2);
    }
    t
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// `util 42% · 12 errors` for a component.
fn stats(c: &ComponentOutcome) -> String {
    let util = c.utilization.map_or("unlimited workers".to_string(), |u| format!("util {:.0}%", u * 100.0));
    format!("{util} · {} errors", c.errors + c.timeouts)
}

fn component<'a>(o: Option<&'a Outcome>, kind: &str, name: &str) -> Option<&'a ComponentOutcome> {
    // The app servers and the database are one of a kind; services go by name.
    let by_name = matches!(kind, "internal" | "third_party" | "storage");
    o?.system.components.iter().find(|c| c.kind == kind && (!by_name || c.name == name))
}

/// The nodes, with the run's figures when there is an outcome (a live diagram has none).
fn nodes(scenario: &Scenario, o: Option<&Outcome>) -> Vec<Node> {
    let t = &scenario.topology;
    let node = |id, col, title: String, lines: Vec<String>| Node { id, col, title, lines, faults: Vec::new() };
    let mut out = Vec::new();
    for (i, w) in scenario.workloads.iter().enumerate() {
        out.push(node(Id::Workload(i), 0, format!("clients: {}", w.name), vec!["workload".into()]));
    }
    let regions = t.network.as_ref().map_or(&[][..], |n| n.regions.as_slice());
    for (i, r) in regions.iter().enumerate() {
        let lines = vec![format!("{:.0}% of users · {} servers", r.share * 100.0, r.servers)];
        out.push(node(Id::Region(i), 1, format!("region {}", r.name), lines));
    }
    if let Some(p) = &t.edge.proxy {
        let lines = vec![format!("{} × {} workers", p.instances, p.workers)];
        let lines = match o.and_then(|o| o.system.proxy.as_ref()) {
            Some(po) => vec![lines[0].clone(), format!("{} requests", po.requests)],
            None => lines,
        };
        out.push(node(Id::Proxy, 2, "reverse proxy".into(), lines));
    }
    out.push(node(Id::Balancer, 3, "load balancer".into(), vec![scenario.balancer.strategy.as_str().to_string()]));
    let app = component(o, "app", "").zip(o);
    // The app tier's errors are the users' failed requests.
    let app_lines = app.map_or_else(Vec::new, |(c, o)| {
        let r = &o.requests;
        let util = c.utilization.map_or(String::new(), |u| format!("util {:.0}% · ", u * 100.0));
        vec![
            format!("{} servers", c.instances),
            format!("{util}{} failed requests", r.rejected + r.timed_out + r.failed),
        ]
    });
    out.push(node(Id::App, 4, "app servers".into(), app_lines));
    for (i, svc) in t.services.iter().enumerate() {
        let kind = svc.kind.as_str();
        let col = if kind == "internal" { 5 } else { 6 };
        let label = match kind {
            "third_party" => format!("{} (third-party API)", svc.name),
            "storage" => format!("{} (storage)", svc.name),
            _ => svc.name.clone(),
        };
        let lines = component(o, kind, &svc.name)
            .map_or_else(Vec::new, |c| vec![format!("{} instances", c.instances), stats(c)]);
        out.push(node(Id::Service(i), col, label, lines));
    }
    if let Some(db) = &t.database {
        let lines = component(o, "database", "").map_or_else(Vec::new, |c| vec![stats(c)]);
        out.push(node(Id::Database, 6, "database primary".into(), lines));
        if db.replicas > 0 {
            let lag = o.map(|o| o.system.database.map_or(0.0, |d| d.max_replication_lag_ns as f64 / 1e6));
            let lines = lag.map(|lag| format!("max lag {lag:.0} ms")).into_iter().collect();
            out.push(node(Id::Replicas, 6, format!("database replicas × {}", db.replicas), lines));
        }
    }
    if let Some(q) = &t.retry_queue {
        match o.map(|o| o.system.retry_queue.as_ref()) {
            Some(Some(qo)) => {
                let lines = vec![
                    format!("{} consumers · peak {}", q.consumers, qo.peak),
                    format!("{} enqueued · {} drained", qo.enqueued, qo.drained),
                ];
                out.push(node(Id::RetryQueue, 5, "retry queue".into(), lines));
            }
            Some(None) => {}
            None => out.push(node(Id::RetryQueue, 5, "retry queue".into(), vec![format!("{} consumers", q.consumers)])),
        }
    }
    if let Some(m) = &t.monitoring {
        let sets: Vec<&str> = m.sets.iter().map(|s| s.name.as_str()).collect();
        out.push(node(Id::Monitoring, 7, "monitoring".into(), vec![format!("rule sets: {}", sets.join(", "))]));
    }
    if t.logging.is_some() {
        match o.map(|o| o.system.logging.as_ref()) {
            Some(Some(l)) => {
                let lost = l.counts.total.dropped + l.counts.total.lost;
                let lines = vec![format!("{} shipped · {lost} lost", l.counts.total.shipped)];
                out.push(node(Id::LogStore, 7, "log store".into(), lines));
            }
            Some(None) => {}
            None => out.push(node(Id::LogStore, 7, "log store".into(), vec!["ships the logs".into()])),
        }
    }
    out
}

fn attach_faults(nodes: &mut [Node], o: &Outcome) {
    for f in &o.faults {
        let id = match f.target {
            FaultTarget::Server(_) | FaultTarget::AllServers => Id::App,
            FaultTarget::Service(s) => Id::Service(usize::from(s)),
            FaultTarget::Database => Id::Database,
            FaultTarget::Workloads => Id::Workload(0),
            // A notification channel is part of the monitoring stack's box.
            FaultTarget::Monitoring | FaultTarget::Receiver(_) => Id::Monitoring,
            FaultTarget::LogStore => Id::LogStore,
            FaultTarget::Region { index, .. } => Id::Region(usize::from(index)),
        };
        let end = f.end_ns.min(o.simulated_ns);
        let text =
            format!("{} {} {}–{}", f.kind.name(), f.target_name, format_duration(f.start_ns), format_duration(end));
        let hit = |n: &Node| n.id == id || (id == Id::Workload(0) && matches!(n.id, Id::Workload(_)));
        for n in nodes.iter_mut().filter(|n| hit(n)) {
            n.faults.push((ns_to_s(f.start_ns), ns_to_s(end), text.clone()));
        }
    }
}

/// The call graph's edges, without repeats: (from, to, dashed for asynchronous).
fn edges(scenario: &Scenario) -> Vec<(Id, Id, bool)> {
    let t = &scenario.topology;
    let mut out: Vec<(Id, Id, bool)> = Vec::new();
    let mut add = |e: (Id, Id, bool)| {
        if !out.contains(&e) {
            out.push(e);
        }
    };
    let front = if t.edge.proxy.is_some() { Id::Proxy } else { Id::Balancer };
    let regions = t.network.as_ref().map_or(0, |n| n.regions.len());
    for w in 0..scenario.workloads.len() {
        if regions == 0 {
            add((Id::Workload(w), front, false));
        }
        for r in 0..regions {
            add((Id::Workload(w), Id::Region(r), false));
        }
    }
    for r in 0..regions {
        add((Id::Region(r), front, false));
    }
    if front == Id::Proxy {
        add((Id::Proxy, Id::Balancer, false));
    }
    add((Id::Balancer, Id::App, false));
    let targets = |from: Id, steps: &[Step], add: &mut dyn FnMut((Id, Id, bool))| {
        for step in steps {
            let calls: Vec<(Target, bool)> = match step {
                Step::Work(_) => Vec::new(),
                Step::Call(c) => vec![(c.target, false)],
                Step::Parallel(cs) => cs.iter().map(|c| (c.target, false)).collect(),
                Step::Async(t) => vec![(*t, true)],
            };
            for (target, dashed) in calls {
                let to = match target {
                    Target::Service(id) => Id::Service(usize::from(id)),
                    Target::DbWrite => Id::Database,
                    Target::DbRead if t.database.as_ref().is_some_and(|d| d.replicas > 0) => Id::Replicas,
                    Target::DbRead => Id::Database,
                };
                add((from, to, dashed));
            }
        }
    };
    for class in &t.classes {
        targets(Id::App, &class.steps, &mut add);
        if let (Some(p), Some(_)) = (class.payment, &t.retry_queue) {
            add((Id::App, Id::RetryQueue, true));
            add((Id::RetryQueue, Id::Service(usize::from(p)), true));
        }
    }
    for (i, svc) in t.services.iter().enumerate() {
        targets(Id::Service(i), &svc.steps, &mut add);
    }
    if t.database.as_ref().is_some_and(|d| d.replicas > 0) {
        add((Id::Database, Id::Replicas, true));
    }
    out
}
