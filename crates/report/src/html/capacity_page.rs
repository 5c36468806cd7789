//! The page of a capacity search: the answer, the rule, every configuration evaluated with
//! its objectives' estimates and intervals, and the frontier the search explored (the same
//! charts as its PNGs, the chosen point marked).

use std::fmt::Write as _;

use prodsim_lab::capacity::Capacity;
use prodsim_lab::capacity::slo::SloMetric;
use prodsim_lab::stats::Estimate;

use super::chart_data::{Chart, ChartSeries, Mark, Style, XAxis};
use super::escape::html;
use super::page::{self, Page, placeholder};
use crate::capacity::{ChartSpec, answer, by_values, chart_specs, money, notes, rule};

/// An estimate as a cell: the mean and its 95% interval.
fn cell(metric: SloMetric, e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "—".into();
    }
    let (scale, d) = if metric.is_latency() { (1.0, 1) } else { (100.0, 3) };
    let unit = if metric.is_latency() { " ms" } else { "%" };
    if e.ci_low.is_finite() && e.ci_high.is_finite() {
        format!(
            "{:.d$}{unit} <span class=\"ci\">[{:.d$}, {:.d$}]</span>",
            e.mean * scale,
            e.ci_low * scale,
            e.ci_high * scale
        )
    } else {
        format!("{:.d$}{unit}", e.mean * scale)
    }
}

/// The table of every configuration evaluated, in value order.
fn table(c: &Capacity) -> String {
    let mut s = format!(
        "<section id=\"configurations\"><h2>Configurations evaluated</h2><p class=\"hint\">{}; every \
         configuration ran the same replication seeds (common random numbers).</p><table><tr>\
         <th>configuration</th><th>round</th><th>replications meeting</th>",
        html(&rule(c))
    );
    for o in &c.objectives {
        let _ = write!(s, "<th>{}</th>", html(&o.to_string()));
    }
    s.push_str("<th>cost/month</th><th>verdict</th></tr>");
    let cheapest = c.cheapest.map(|i| &c.evaluations[i]);
    for e in by_values(c) {
        let mark = if Some(e) == cheapest { " <span class=\"sig\">cheapest</span>" } else { "" };
        let _ = write!(
            s,
            "<tr class=\"configuration\" data-meets=\"{}\"><td>{}{mark}</td><td>{}</td><td>{}/{}</td>",
            e.meets,
            html(&e.label),
            e.round + 1,
            e.met,
            c.replications
        );
        for (o, est) in c.objectives.iter().zip(&e.estimates) {
            let _ = write!(s, "<td>{}</td>", cell(o.metric, est));
        }
        let cost = if c.priced { money(e.cost_per_month.mean) } else { "—".into() };
        let verdict = if e.meets { "meets" } else { "fails" };
        let _ = write!(s, "<td>{}</td><td>{verdict}</td></tr>", html(&cost));
    }
    s.push_str("</table></section>");
    s
}

/// One interactive chart from a chart spec: a line per search line on the x values
/// evaluated, the objective's line dashed, the chosen value marked.
fn chart(c: &Capacity, s: &ChartSpec) -> Chart {
    let mut xs: Vec<f64> = s.series.iter().flat_map(|b| b.points.iter().map(|p| p.x)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let key = c.bisected.map_or("", |b| c.dims[b].key.as_str());
    let mut chart = Chart::new(&s.key, format!("{} against {key}", s.y_label), "capacity", XAxis::Linear, xs.clone())
        .y(s.y_label.clone(), s.log_y);
    chart.x_label = key.to_string();
    for (i, b) in s.series.iter().enumerate() {
        let at: Vec<f64> =
            xs.iter().map(|x| b.points.iter().find(|p| p.x == *x).map_or(f64::NAN, |p| p.mean)).collect();
        chart.series.push(ChartSeries::line(b.name.clone(), &at).colored(i));
    }
    chart.series.push(ChartSeries::line(s.line_name.clone(), &vec![s.line; xs.len()]).styled(Style::Dashed));
    if let Some((x, _)) = s.chosen {
        let label = if c.cheapest.is_some() { "cheapest" } else { "closest" };
        chart.marks.push(Mark { at: x, label: label.into(), kind: "load" });
    }
    chart
}

/// The whole page.
pub fn capacity_page(c: &Capacity) -> String {
    let slo: Vec<String> = c.objectives.iter().map(ToString::to_string).collect();
    let mut body = format!(
        "<header><h1 id=\"scenario-name\">{}</h1><p class=\"description\">capacity: SLO {}</p>\
         <p class=\"meta\">{} replications per configuration, base seed {}</p></header>",
        html(&c.scenario),
        html(&slo.join(", ")),
        c.replications,
        c.base_seed
    );
    let _ = write!(body, "<section id=\"answer\"><h2>Answer</h2><p id=\"answer-line\">{}</p><ul>", html(&answer(c)));
    for n in notes(c) {
        let _ = write!(body, "<li>{}</li>", html(&n));
    }
    body.push_str("</ul></section>");
    body.push_str(&table(c));
    let charts: Vec<Chart> = chart_specs(c).iter().map(|s| chart(c, s)).collect();
    body.push_str("<section id=\"charts\"><h2>Frontier explored</h2>");
    if charts.is_empty() {
        body.push_str("<p>No --vary is numeric: nothing to draw against (the table has every number).</p>");
    }
    for ch in &charts {
        body.push_str(&placeholder(ch));
    }
    body.push_str("</section>");
    let nav = vec![("answer", "answer"), ("configurations", "configurations"), ("charts", "charts")];
    page::render(&Page { title: format!("{} — prodsim capacity", c.scenario), kind: "capacity", nav, body, charts })
}
