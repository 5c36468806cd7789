//! The page of a blast radius: the ranked suspects with their harm and intervals, the
//! single points of failure marked, and the bars of availability lost.

use std::fmt::Write as _;

use prodsim_lab::blast::BlastRadius;
use prodsim_lab::stats::Estimate;

use super::escape::html;
use super::lab::bars;
use super::page::{self, Page};

/// A mean with its 95% interval, as a table cell's text.
fn cell(e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "—".into();
    }
    let digits = if e.mean.abs() >= 100.0 {
        0
    } else if e.mean.abs() >= 1.0 {
        2
    } else {
        4
    };
    if e.ci_low.is_finite() && e.ci_high.is_finite() {
        format!("{:.digits$} <span class=\"ci\">[{:.digits$}, {:.digits$}]</span>", e.mean, e.ci_low, e.ci_high)
    } else {
        format!("{:.digits$}", e.mean)
    }
}

/// The ranked table.
fn table(b: &BlastRadius) -> String {
    let mut s = String::from(
        "<section id=\"suspects\"><h2>Suspects, the worst first</h2><p class=\"hint\">Each row fails one part on the \
         same traffic as the fault-free baseline (common random numbers); numbers are paired differences from the \
         baseline with their 95% intervals. <span class=\"sig\">SPOF</span>: availability during the fault fell \
         below the objective.</p><table><tr><th>rank</th><th>suspect</th><th>availability lost (pp)</th>\
         <th>availability during the fault</th><th>failed requests</th>",
    );
    for c in &b.classes {
        let _ = write!(s, "<th>failed: {}</th>", html(c));
    }
    s.push_str("<th>revenue lost</th><th>payments lost</th><th>payments delayed</th><th>error budget burned</th></tr>");
    for (i, h) in b.harms.iter().enumerate() {
        let spof = if h.single_point_of_failure { " <span class=\"sig\">SPOF</span>" } else { "" };
        let _ = write!(
            s,
            "<tr class=\"suspect\" data-suspect=\"{}\"><td>{}</td><td>{}{spof}</td><td>{}</td><td>{}</td><td>{}</td>",
            html(&h.suspect.label),
            i + 1,
            html(&h.suspect.label),
            cell(&h.availability_lost_pp),
            cell(&h.window_availability),
            cell(&h.failed_requests)
        );
        for e in &h.failed_per_class {
            let _ = write!(s, "<td>{}</td>", cell(e));
        }
        let budget = h.budget_burned.as_ref().map_or_else(|| "no [slo]".to_string(), cell);
        let _ = write!(
            s,
            "<td>{}</td><td>{}</td><td>{}</td><td>{budget}</td></tr>",
            cell(&h.revenue_lost),
            cell(&h.payments_lost),
            cell(&h.payments_delayed)
        );
    }
    s.push_str("</table></section>");
    s
}

/// The whole page.
pub fn blast_page(b: &BlastRadius) -> String {
    let spofs: Vec<&str> =
        b.harms.iter().filter(|h| h.single_point_of_failure).map(|h| h.suspect.label.as_str()).collect();
    let mut body = format!(
        "<header><h1 id=\"scenario-name\">{}</h1><p class=\"description\">blast radius: {} suspects, faults at {}</p>\
         <p class=\"meta\">{} replications each, base seed {}; baseline availability {}; objective {:.3}%{}</p></header>",
        html(&b.scenario),
        b.harms.len(),
        html(&b.window_text()),
        b.replications,
        b.base_seed,
        cell(&b.baseline_availability),
        b.objective * 100.0,
        if b.objective_from_slo { " ([slo])" } else { " (no [slo]: the default)" }
    );
    let _ = write!(
        body,
        "<section id=\"spof\"><h2>Single points of failure</h2><p id=\"spof-list\">{}</p></section>",
        if spofs.is_empty() { "none".to_string() } else { html(&spofs.join(", ")) }
    );
    body.push_str(&table(b));
    body.push_str("<section id=\"charts\"><h2>Availability lost</h2>");
    body.push_str(&bars("Availability lost per fault", "percentage points", &[crate::blast::bar_group(b)]));
    body.push_str("</section>");
    let nav = vec![("spof", "single points of failure"), ("suspects", "suspects"), ("charts", "chart")];
    page::render(&Page {
        title: format!("{} — prodsim blast-radius", b.scenario),
        kind: "blast-radius",
        nav,
        body,
        charts: Vec::new(),
    })
}
