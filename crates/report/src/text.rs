//! The human summary `prodsim run` prints.

use std::fmt::Write;

use prodsim_kernel::units::format_duration;
use prodsim_model::outcome::Outcome;

/// Wall-clock facts the CLI measured; the core never reads a clock.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    /// Seconds the run took.
    pub seconds: f64,
}

fn fmt_ms(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// Groups thousands with commas: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// App servers listed one by one before "… N more servers".
const SERVERS_SHOWN: usize = 16;

/// A short, aligned summary of `outcome`.
pub fn render(outcome: &Outcome, description: &str, wall: Option<WallClock>) -> String {
    let o = outcome;
    let mut s = String::new();
    run_lines(&mut s, o, description, wall);
    request_lines(&mut s, o);
    fault_lines(&mut s, o);
    server_lines(&mut s, o);
    {
        let system = &o.system;
        super::text_system::render(&mut s, system);
        if let Some(m) = &system.monitoring {
            super::text_alerting::render(&mut s, m);
        }
        if let Some(l) = &system.logging {
            super::text_alerting::render_logs(&mut s, l);
        }
        if let Some(d) = &system.delivery {
            super::text_delivery::render(&mut s, d, system.monitoring.as_deref());
        }
    }
    s
}

/// The run itself: scenario, seed, simulated time and events (with the wall clock's speed).
fn run_lines(s: &mut String, o: &Outcome, description: &str, wall: Option<WallClock>) {
    let _ = writeln!(
        s,
        "scenario      {}{}",
        o.scenario,
        if description.is_empty() { String::new() } else { format!(" — {description}") }
    );
    let _ = writeln!(s, "seed          {}", o.seed);
    let warm = if o.warmup_ns > 0 {
        format!(" (first {} excluded as warmup)", format_duration(o.warmup_ns))
    } else {
        String::new()
    };
    let _ = writeln!(s, "simulated     {}{warm}", format_duration(o.simulated_ns));
    match wall {
        Some(w) => {
            let rate = o.events as f64 / w.seconds.max(1e-9);
            let _ = writeln!(
                s,
                "events        {} in {:.3} s wall ({:.2}M events/s)",
                thousands(o.events),
                w.seconds,
                rate / 1e6
            );
        }
        None => {
            let _ = writeln!(s, "events        {}", thousands(o.events));
        }
    }
}

/// What the users saw: requests by how they ended, availability, latency and waiting.
fn request_lines(s: &mut String, o: &Outcome) {
    let r = &o.requests;
    let _ = writeln!(
        s,
        "requests      {} arrived · {} completed · {} rejected · {} timed out · {} failed · {} in flight",
        thousands(r.arrived),
        thousands(r.completed),
        thousands(r.rejected),
        thousands(r.timed_out),
        thousands(r.failed),
        thousands(r.in_flight)
    );
    let avail = r.availability().map_or("-".to_string(), |a| format!("{:.4}%", a * 100.0));
    let _ = writeln!(s, "availability  {avail}");
    let l = &o.latency;
    let _ = writeln!(
        s,
        "latency (ms)  mean {} · p50 {} · p90 {} · p99 {} · p99.9 {} · max {}",
        fmt_ms(l.mean_ms()),
        fmt_ms(l.quantile_ms(0.5)),
        fmt_ms(l.quantile_ms(0.9)),
        fmt_ms(l.quantile_ms(0.99)),
        fmt_ms(l.quantile_ms(0.999)),
        fmt_ms(l.quantile_ms(1.0))
    );
    let pw = o.waiting.probability().map_or("-".to_string(), |p| format!("{:.2}%", p * 100.0));
    let _ = writeln!(s, "waiting       P(wait) {pw} · mean wait {} ms", fmt_ms(o.waiting.mean_ms()));
}

/// One line per injected fault, its window cut at the end of the run.
fn fault_lines(s: &mut String, o: &Outcome) {
    for f in &o.faults {
        let what = f.kind.describe();
        let _ = writeln!(
            s,
            "fault         {} {} from {} to {} ({what})",
            f.kind.name(),
            f.target_name.clone(),
            format_duration(f.start_ns),
            format_duration(f.end_ns.min(o.simulated_ns))
        );
    }
}

/// The app servers' table: utilization, mean queue, served and rejected, the first
/// [`SERVERS_SHOWN`] of them.
fn server_lines(s: &mut String, o: &Outcome) {
    let _ = writeln!(s, "servers       {:>8}  {:>11}  {:>10}  {:>9}", "util", "mean queue", "served", "rejected");
    for (i, sv) in o.servers.iter().enumerate().take(SERVERS_SHOWN) {
        let _ = writeln!(
            s,
            "  server-{i:<4} {:>7.1}%  {:>11.2}  {:>10}  {:>9}",
            sv.utilization * 100.0,
            sv.mean_queue_length,
            thousands(sv.served),
            thousands(sv.rejected)
        );
    }
    if o.servers.len() > SERVERS_SHOWN {
        let _ = writeln!(s, "  … {} more servers in summary.json", o.servers.len() - SERVERS_SHOWN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
