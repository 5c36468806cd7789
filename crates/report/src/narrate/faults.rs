//! The faults of a narrated run: when each starts, what it does in words, how far the
//! errors (or the latency) climb while it lasts, and where they are when it ends.

use std::fmt::Write;

use prodsim_kernel::units::format_duration;
use prodsim_model::outcome::Outcome;
use prodsim_parts::faults::{Fault, FaultKind, FaultTarget};
use prodsim_scenario::Scenario;

use super::{Line, errors_before, errors_now, percent, row_error_ratio};

/// A line per change of a workload's rate (a stage), with how users felt it.
pub fn stages(o: &Outcome, s: &Scenario) -> Vec<Line> {
    let mut lines = Vec::new();
    for w in &s.workloads {
        for (i, pair) in w.stages.windows(2).enumerate() {
            let (was, now) = (&pair[0], &pair[1]);
            let start = now.at.as_nanos();
            let end = w.stages.get(i + 2).map_or(o.simulated_ns, |next| next.at.as_nanos());
            let mut text = format!("the {} workload goes from {} to {} requests/s", w.name, was.rate, now.rate);
            if let Some(effect) = effect(o, start, end) {
                let _ = write!(text, "; {effect}");
            }
            lines.push(Line { t_ns: start, text });
        }
    }
    lines
}

/// A start line per fault, and an end line for each that ends before the run does.
pub fn lines(o: &Outcome) -> Vec<Line> {
    let mut lines = Vec::new();
    for f in &o.faults {
        let mut text = what(o, f);
        // A channel's outage hurts no user directly: what the users felt meanwhile is
        // another fault's doing.
        let felt = !matches!(f.target, FaultTarget::Receiver(_));
        if let Some(effect) = effect(o, f.start_ns, f.end_ns).filter(|_| felt) {
            let _ = write!(text, "; {effect}");
        }
        lines.push(Line { t_ns: f.start_ns, text });
        if f.end_ns < o.simulated_ns {
            let mut text = format!("the {} fault on {} ends", f.kind.name().replace('_', " "), f.target_name);
            if let Some(now) = errors_now(o, f.end_ns).filter(|_| felt) {
                let _ = write!(text, "; {now}");
            }
            lines.push(Line { t_ns: f.end_ns, text });
        }
    }
    lines
}

/// The target in words: "the third-party API payment_api", "app server server-2".
fn target(o: &Outcome, f: &Fault) -> String {
    let name = &f.target_name;
    match f.target {
        FaultTarget::Server(_) => format!("app server {name}"),
        FaultTarget::AllServers => "every app server".to_string(),
        FaultTarget::Service(_) => {
            let kind = o.system.components.iter().find(|c| &c.name == name).map_or("", |c| c.kind.as_str());
            match kind {
                "third_party" => format!("the third-party API {name}"),
                "storage" => "the external storage".to_string(),
                _ => format!("the service {name}"),
            }
        }
        FaultTarget::Database => "the database".to_string(),
        FaultTarget::Workloads => "the traffic".to_string(),
        FaultTarget::Monitoring => "monitoring (Prometheus and its rules)".to_string(),
        FaultTarget::LogStore => "the log store".to_string(),
        FaultTarget::Region { .. } => format!("the region {name}"),
        FaultTarget::Receiver(_) => format!("the notification channel `{name}`"),
    }
}

/// What the fault does to its target, as a sentence.
fn what(o: &Outcome, f: &Fault) -> String {
    let t = target(o, f);
    let d = format_duration;
    let lasting = if f.end_ns < o.simulated_ns {
        format!(" (for {})", d(f.end_ns - f.start_ns))
    } else {
        " until the end of the run".to_string()
    };
    let sentence = match &f.kind {
        FaultKind::Slowdown { factor } => format!("{t} slows down: its work takes ×{factor} as long"),
        FaultKind::Outage => format!("{t} goes down and refuses every call"),
        FaultKind::Timeouts { hang_ns } => format!("{t} stops answering: calls hang {}", d(*hang_ns)),
        FaultKind::ErrorRate { rate } => format!("{t} starts failing {} of calls", percent(*rate)),
        FaultKind::AddedLatency { latency } => format!("every call to {t} takes {latency} longer"),
        FaultKind::Crash => format!("{t} crashes; its supervisor restarts it"),
        FaultKind::PrimaryCrash => "the database primary crashes; a replica is to take over".to_string(),
        FaultKind::ReplicationLag { lag_ns } => format!("the database replicas fall {} behind", d(*lag_ns)),
        FaultKind::SlowQueries { factor } => format!("database queries slow down ×{factor}"),
        FaultKind::MemoryLeak { mb_per_s } => format!("{t} start leaking memory, {mb_per_s} MiB/s"),
        FaultKind::ConnectionLeak { per_s } => {
            format!("{t} start leaking database connections, {per_s} a second each")
        }
        FaultKind::TrafficSpike { factor } => format!("a traffic spike: arrivals ×{factor}"),
        FaultKind::RegionOutage => format!("{t} goes dark: every app server in it is down"),
        FaultKind::Partition { from: (first, end), .. } => {
            format!("the network between server-{first}…server-{} and {t} drops every packet", end.saturating_sub(1))
        }
        FaultKind::Ddos { rate, clients } => format!("a DDoS begins: {rate} attack requests/s from {clients} clients"),
        FaultKind::CredentialStuffing { rate, clients, failure_ratio, .. } => format!(
            "credential stuffing begins: {rate} login attempts/s from {clients} clients, {}% failing",
            failure_ratio * 100.0
        ),
        FaultKind::NotificationOutage => format!("{t} goes down: notifications to it fail"),
        // Down until the restore from the last backup ends, which the run decides.
        FaultKind::DataLoss => {
            return "the database's data is destroyed: it is down until a restore from the last backup".to_string();
        }
    };
    sentence + &lasting
}

/// How the users felt what happened in `[start_ns, end_ns)`: the peak error ratio (and the
/// class that suffered most), or the p99 latency when the errors did not move.
pub fn effect(o: &Outcome, start_ns: u64, end_ns: u64) -> Option<String> {
    let end = end_ns.min(o.simulated_ns);
    let window: Vec<(usize, &prodsim_model::outcome::Row)> =
        o.rows.iter().enumerate().filter(|(_, r)| r.end_ns > start_ns && r.start_ns < end).collect();
    let before = errors_before(o, start_ns).unwrap_or(0.0);
    let (peak_at, peak) = window.iter().filter_map(|(i, r)| Some((*i, row_error_ratio(r)?))).fold(
        None,
        |best: Option<(usize, f64)>, (i, e)| match best {
            Some((_, b)) if b >= e => best,
            _ => Some((i, e)),
        },
    )?;
    if peak > before * 1.5 && peak - before > 0.0005 {
        let mut text = format!("errors climb to {} (from {})", percent(peak), percent(before));
        if let Some((class, share)) = worst_class(o, peak_at) {
            let _ = write!(text, ", {class} worst with {} failing", percent(share));
        }
        return Some(text);
    }
    let p99_before = o.rows.iter().filter(|r| r.end_ns <= start_ns).filter_map(|r| r.latency_p99_ns).max();
    let p99_peak = window.iter().filter_map(|(_, r)| r.latency_p99_ns).max()?;
    match p99_before {
        Some(b) if p99_peak > b + b / 2 => Some(format!(
            "errors stay at {}, but p99 latency climbs to {} ms (from {} ms)",
            percent(peak),
            p99_peak / 1_000_000,
            b / 1_000_000
        )),
        _ => Some(format!("errors stay at {} and p99 latency under {} ms", percent(peak), p99_peak / 1_000_000 + 1)),
    }
}

/// The class with the largest error share in row `row`, when there are several classes.
fn worst_class(o: &Outcome, row: usize) -> Option<(String, f64)> {
    let classes = &o.system.classes;
    if classes.len() < 2 {
        return None;
    }
    let rows = o.system.class_rows.get(row * classes.len()..(row + 1) * classes.len())?;
    let shares = classes.iter().zip(rows).filter_map(|(c, r)| {
        let finished = r.completed + r.errors;
        (finished > 0).then(|| (c.name.clone(), r.errors as f64 / finished as f64))
    });
    shares.fold(None, |best: Option<(String, f64)>, (name, s)| match best {
        Some((_, b)) if b >= s => best,
        _ => Some((name, s)),
    })
}
