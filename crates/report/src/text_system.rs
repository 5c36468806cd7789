//! The architecture's part of the human summary: classes, components, the payment ledger,
//! the database, the retry queue and the cost. A table that would only repeat the lines
//! above it (one class, or no component but the app servers) is left out.

use std::fmt::Write;

use super::text::thousands;
use prodsim_model::outcome::SystemOutcome;

fn pct(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{:.3}%", x * 100.0))
}

fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
    }
}

fn bytes(b: u64) -> String {
    if b >= 1_000_000_000 { format!("{:.1} GB", b as f64 / 1e9) } else { format!("{:.1} MB", b as f64 / 1e6) }
}

/// Per-class (or per-region) requests, errors and latency under a `title` header.
fn table(s: &mut String, title: &str, rows: &[prodsim_model::outcome::ClassOutcome]) {
    let _ = writeln!(
        s,
        "{title:<13} {:>10}  {:>9}  {:>9}  {:>8}  {:>8}  {:>9}",
        "arrived", "errors", "error %", "p50 ms", "p99 ms", "deferred"
    );
    for c in rows {
        let r = &c.requests;
        let _ = writeln!(
            s,
            "  {:<11} {:>10}  {:>9}  {:>9}  {:>8}  {:>8}  {:>9}",
            c.name,
            thousands(r.arrived),
            thousands(r.finished() - r.completed),
            pct(r.error_ratio()),
            ms(c.latency.quantile_ms(0.5)),
            ms(c.latency.quantile_ms(0.99)),
            thousands(c.deferred)
        );
    }
}

/// Appends the architecture's lines to `s`.
pub fn render(s: &mut String, o: &SystemOutcome) {
    if o.classes.len() > 1 || o.classes.iter().any(|c| c.deferred > 0) {
        table(s, "classes", &o.classes);
    }
    if !o.regions.is_empty() {
        table(s, "regions", &o.regions);
    }
    if o.components.len() > 1 {
        component_lines(s, o);
    }
    ledger_lines(s, o);
    super::text_recovery::render(s, &o.recovery);
    edge_lines(s, o);
    capacity_lines(s, o);
}

/// Each component's utilization, calls, errors, timeouts, retries, amplification and breaker.
fn component_lines(s: &mut String, o: &SystemOutcome) {
    let _ = writeln!(
        s,
        "components    {:>6}  {:>11}  {:>9}  {:>9}  {:>8}  {:>7}  {:>7}",
        "util", "calls", "errors", "timeouts", "retries", "amplif", "breaker"
    );
    for c in &o.components {
        let util = c.utilization.map_or("-".to_string(), |u| format!("{:.1}%", u * 100.0));
        let amp = c.amplification().map_or("-".to_string(), |a| format!("×{a:.2}"));
        let breaker = if c.breaker_opened > 0 || c.breaker_rejections > 0 {
            format!("{} open", c.breaker_opened)
        } else {
            "-".to_string()
        };
        let _ = writeln!(
            s,
            "  {:<11} {:>6}  {:>11}  {:>9}  {:>9}  {:>8}  {:>7}  {:>7}",
            c.name,
            util,
            thousands(c.calls),
            thousands(c.errors),
            thousands(c.timeouts),
            thousands(c.retries),
            amp,
            breaker
        );
    }
}

/// Where state is kept: the payment ledger, the retry queue and the database's replicas.
fn ledger_lines(s: &mut String, o: &SystemOutcome) {
    let p = &o.payments;
    if p.attempted > 0 {
        let balanced = p.balanced();
        let _ = writeln!(
            s,
            "payments      {} attempted · {} completed · {} queued · {} failed · {} lost · {} duplicated · {} in flight — {}",
            thousands(p.attempted),
            thousands(p.completed),
            thousands(p.queued),
            thousands(p.failed),
            thousands(p.lost),
            thousands(p.duplicated),
            thousands(p.in_flight),
            if balanced { "ledger balanced" } else { "LEDGER NOT BALANCED" }
        );
    }
    if let Some(q) = &o.retry_queue {
        let _ = writeln!(
            s,
            "retry queue   {} enqueued · {} drained · {} remaining · peak {} · {} dropped",
            thousands(q.enqueued),
            thousands(q.drained),
            thousands(q.remaining),
            thousands(q.peak),
            thousands(q.dropped)
        );
    }
    if let Some(d) = &o.database {
        let stale = (d.replica_reads > 0).then(|| d.stale_reads as f64 / d.replica_reads as f64);
        let _ = writeln!(
            s,
            "database      {} replica reads · {} stale ({}) · max lag {} · {} pool timeouts · {} failovers",
            thousands(d.replica_reads),
            thousands(d.stale_reads),
            pct(stale),
            prodsim_kernel::units::format_duration(d.max_replication_lag_ns),
            thousands(d.pool_timeouts),
            d.failovers
        );
    }
}

/// The edge: the reverse proxy, its cache and compression, and the malicious traffic it met.
fn edge_lines(s: &mut String, o: &SystemOutcome) {
    if let Some(p) = &o.proxy {
        let _ = writeln!(
            s,
            "proxy         util {:.1}% · {} requests · {} TLS handshakes · {} rate limited · {} filtered · {} false positives",
            p.utilization * 100.0,
            thousands(p.requests),
            thousands(p.tls_handshakes),
            thousands(p.rate_limited),
            thousands(p.filtered),
            thousands(p.false_positives)
        );
        if p.cache_hits + p.cache_misses > 0 {
            let _ = writeln!(
                s,
                "cache         hit ratio {} · {} hits · {} misses",
                pct(p.cache_hit_ratio()),
                thousands(p.cache_hits),
                thousands(p.cache_misses)
            );
        }
        if p.bytes_saved > 0 {
            let _ = writeln!(s, "compression   {} sent · {} saved", bytes(p.bytes_sent), bytes(p.bytes_saved));
        }
    }
    if let Some(m) = &o.malicious {
        let _ = writeln!(
            s,
            "malicious     {} arrived · {} rate limited · {} filtered · {} served · {} failed (not in the users' figures)",
            thousands(m.arrived),
            thousands(m.rate_limited),
            thousands(m.filtered),
            thousands(m.served),
            thousands(m.failed)
        );
    }
}

/// The servers' lives and what they cost: crashes, the autoscaler's pool and the bill.
fn capacity_lines(s: &mut String, o: &SystemOutcome) {
    if o.crashes > 0 {
        let _ = writeln!(s, "crashes       {} ({} out of memory)", o.crashes, o.oom_kills);
    }
    if let Some(a) = &o.scaling {
        let _ = writeln!(
            s,
            "scaling       {} to {} servers · {} scale-outs · {} scale-ins · {:.2} server-hours · {} drain timeouts",
            a.min_instances, a.max_instances, a.scale_outs, a.scale_ins, a.instance_hours, a.drain_timeouts
        );
    }
    if o.cost.total() > 0.0 {
        let _ = writeln!(
            s,
            "cost          ${:.2} (${:.2} infrastructure + ${:.2} third-party calls)",
            o.cost.total(),
            o.cost.infrastructure,
            o.cost.calls
        );
    }
}
