//! The top of a run's page: the scenario (name, description, seed, simulated time) and the
//! headline cards (availability, p50, p99, errors, cost, error budget burned, payments,
//! expectations met), then the exact numbers per class, region and component. A card the
//! run has nothing for says "—".

use std::fmt::Write as _;

use prodsim_kernel::units::format_duration;
use prodsim_model::outcome::Outcome;
use prodsim_scenario::Scenario;

use super::escape::html;
use crate::expect::ExpectationResult;
use crate::summary::Summary;

/// The scenario header.
pub fn header(scenario: &Scenario, o: &Outcome) -> String {
    let warmup = if o.warmup_ns > 0 { format!(" · warmup {}", format_duration(o.warmup_ns)) } else { String::new() };
    format!(
        "<header><h1 id=\"scenario-name\">{}</h1><p class=\"description\">{}</p>\
         <p class=\"meta\">seed {} · simulated {}{warmup} · {} events</p></header>",
        html(&scenario.name),
        html(scenario.description.trim()),
        o.seed,
        format_duration(o.simulated_ns),
        o.events
    )
}

fn card(s: &mut String, label: &str, value: &str, detail: &str, class: &str) {
    let _ = write!(
        s,
        "<div class=\"card {class}\"><div class=\"card-label\">{}</div><div class=\"card-value\">{}</div>\
         <div class=\"card-detail\">{}</div></div>",
        html(label),
        html(value),
        html(detail)
    );
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| if v >= 100.0 { format!("{v:.0} ms") } else { format!("{v:.1} ms") })
}

/// The headline cards.
pub fn cards(summary: &Summary, verdicts: &[ExpectationResult]) -> String {
    let mut s = String::from("<section class=\"cards\" id=\"headline\">");
    let r = &summary.requests;
    let errors = r.rejected + r.timed_out + r.failed;
    let (avail, class) = match summary.availability {
        Some(a) => (
            format!("{:.3}%", a * 100.0),
            if a >= 0.999 {
                "good"
            } else if a >= 0.99 {
                "warn"
            } else {
                "bad"
            },
        ),
        None => ("—".to_string(), ""),
    };
    card(&mut s, "availability", &avail, &format!("{} of {} finished", r.completed, r.completed + errors), class);
    card(&mut s, "p50 latency", &ms(summary.latency_ms.p50), "successful requests", "");
    card(&mut s, "p99 latency", &ms(summary.latency_ms.p99), &format!("max {}", ms(summary.latency_ms.max)), "");
    let detail = format!("{} rejected · {} timed out · {} failed", r.rejected, r.timed_out, r.failed);
    card(&mut s, "errors", &errors.to_string(), &detail, if errors > 0 { "warn" } else { "good" });
    let cost = &summary.system.cost;
    let (value, detail) = if cost.total > 0.0 {
        (
            format!("${:.2}", cost.total),
            format!("${:.2} infrastructure + ${:.2} calls", cost.infrastructure, cost.calls),
        )
    } else {
        ("—".into(), "no prices in the scenario".into())
    };
    card(&mut s, "cost", &value, &detail, "");
    let alerting = summary.system.alerting.as_ref();
    let (value, detail) = match alerting {
        Some(a) if !a.incidents.is_empty() => {
            let burned: f64 = a.incidents.iter().map(|i| i.budget_burned).sum();
            (format!("{:.1}%", burned * 100.0), format!("{} incidents", a.incidents.len()))
        }
        Some(_) => ("0%".into(), "no incidents".into()),
        None => ("—".into(), "no [slo] / monitoring".into()),
    };
    card(&mut s, "error budget burned", &value, &detail, "");
    let p = &summary.system.payments;
    let (value, detail, class) = if p.attempted > 0 {
        let class = if p.balanced && p.lost == 0 && p.duplicated == 0 { "good" } else { "bad" };
        let detail = format!(
            "completed of attempted · {} queued · {} failed · {} lost · {} duplicated{}",
            p.queued,
            p.failed,
            p.lost,
            p.duplicated,
            if p.balanced { " · balanced" } else { " · NOT balanced" }
        );
        (format!("{} / {}", p.completed, p.attempted), detail, class)
    } else {
        ("—".into(), "no payments".into(), "")
    };
    card(&mut s, "payments (ledger)", &value, &detail, class);
    let met = verdicts.iter().filter(|v| v.met).count();
    let (value, class) = if verdicts.is_empty() {
        ("—".to_string(), "")
    } else {
        (format!("{met} / {}", verdicts.len()), if met == verdicts.len() { "good" } else { "bad" })
    };
    card(&mut s, "expectations met", &value, "[[expect]]", class);
    s.push_str("</section>");
    s
}

/// The `[[expect]]` verdicts, when the scenario has any.
pub fn expectations(verdicts: &[ExpectationResult]) -> String {
    if verdicts.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<section id=\"expectations\"><h2>Expectations</h2><table><tr><th>expectation</th><th>met</th><th>actual</th></tr>",
    );
    for v in verdicts {
        let (mark, class) = if v.met { ("✓ met", "good") } else { ("✗ not met", "bad") };
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"{class}\">{mark}</td><td>{}</td></tr>",
            html(&v.name),
            html(&v.actual)
        );
    }
    s.push_str("</table></section>");
    s
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.3}%", v * 100.0))
}

/// Exact numbers per class, per region and per component.
pub fn tables(summary: &Summary) -> String {
    let mut s = String::from("<section id=\"numbers\"><h2>Exact numbers</h2>");
    let sys = &summary.system;
    for (title, map) in [("Per class", &sys.classes), ("Per region", &sys.regions)] {
        if map.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<h3>{title}</h3><table><tr><th>name</th><th>arrived</th><th>completed</th><th>rejected</th><th>timed out</th>\
             <th>failed</th><th>availability</th><th>p50</th><th>p99</th></tr>"
        );
        for (name, c) in map {
            let r = &c.requests;
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(name),
                r.arrived,
                r.completed,
                r.rejected,
                r.timed_out,
                r.failed,
                pct(c.availability),
                ms(c.latency_ms.p50),
                ms(c.latency_ms.p99)
            );
        }
        s.push_str("</table>");
    }
    s.push_str(
        "<h3>Per component</h3><table><tr><th>component</th><th>kind</th><th>instances</th><th>utilisation</th>\
         <th>mean queue</th><th>peak queue</th><th>calls</th><th>retries</th><th>errors</th><th>timeouts</th>\
         <th>breaker opened</th></tr>",
    );
    for c in &sys.components {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&c.name),
            html(&c.kind),
            c.instances,
            pct(c.utilization),
            c.mean_queue_length,
            c.peak_queue,
            c.calls,
            c.retries,
            c.errors,
            c.timeouts,
            c.breaker_opened
        );
    }
    s.push_str("</table></section>");
    s
}
