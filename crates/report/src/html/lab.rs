//! The pages of `compare`, `sweep` and `check`. A comparison shows every chart its PNGs
//! show (latency CDF, p99 over time, server load, latency and failure bars) plus the tail
//! on log scales (1 − CDF), one bar chart per `--metric` key, and a table whose cells say
//! which differences from the best are significant. A sweep shows each metric against the numeric parameter with its 95%
//! interval, and a table marking points whose interval is apart from the best one's. A
//! check shows its fault space, the cases, the counterexample's timeline and the command
//! that replays it.

use std::fmt::Write as _;

use prodsim_kernel::units::NS_PER_MS;
use prodsim_lab::compare::Comparison;
use prodsim_lab::sweep::Sweep;

use super::chart_data::{Chart, ChartSeries, Mark, Shade, Style, XAxis};
use super::escape::html;
use super::page::{self, Page, placeholder};
use crate::chart::{BarGroup, Timeline};

/// Points per CDF curve on the shared latency grid.
const CDF_POINTS: usize = 200;

/// Variants after the first are dashed in turn, so a line never hides under another.
fn style_of(i: usize) -> Style {
    if i % 2 == 0 { Style::Line } else { Style::Dashed }
}

/// The panels of a static chart's timeline, on one synced group.
pub fn from_timeline(t: &Timeline, key: &str) -> Vec<Chart> {
    t.panels
        .iter()
        .enumerate()
        .map(|(p, panel)| {
            let mut c = Chart::new(&format!("{key}-{p}"), panel.y_label.clone(), key, XAxis::Time, t.time_s.clone())
                .y(panel.y_label.clone(), panel.log_y);
            c.series = panel
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| ChartSeries::line(s.name.clone(), &s.values).styled(style_of(i)))
                .collect();
            c.shades = t
                .shaded
                .iter()
                .map(|w| Shade { start: w.start_s, end: w.end_s, label: w.label.clone(), kind: "fault" })
                .collect();
            c.marks = t.markers.iter().map(|m| Mark { at: m.at_s, label: m.label.clone(), kind: "load" }).collect();
            c
        })
        .collect()
}

/// The latency CDF of every variant on one log-spaced grid, and its tail 1 − CDF.
fn cdf_charts(c: &Comparison) -> Vec<Chart> {
    let kept: Vec<_> = c.variants.iter().filter(|v| !v.latency.is_empty()).collect();
    let lo = kept.iter().map(|v| v.latency.value_at_quantile(0.0005).max(v.latency.min_nz()).max(1)).min().unwrap_or(1);
    let hi = kept.iter().map(|v| v.latency.max()).max().unwrap_or(1).max(lo + 1);
    let (lo, hi) = (lo as f64, hi as f64);
    let grid: Vec<f64> = (0..CDF_POINTS).map(|i| lo * (hi / lo).powf(i as f64 / (CDF_POINTS - 1) as f64)).collect();
    let x: Vec<f64> = grid.iter().map(|ns| ns / NS_PER_MS as f64).collect();
    let mut cdf = Chart::new("cdf", "Latency CDF (replications merged)", "cdf", XAxis::Log, x.clone())
        .y("share of requests", false);
    cdf.x_label = "latency (ms, log scale)".into();
    let mut tail =
        Chart::new("tail", "Tail: 1 − CDF (both axes log)", "cdf", XAxis::Log, x).y("share slower (log scale)", true);
    tail.x_label = "latency (ms, log scale)".into();
    for (i, v) in c.variants.iter().enumerate() {
        let f: Vec<f64> = grid
            .iter()
            .map(|ns| if v.latency.is_empty() { f64::NAN } else { v.latency.quantile_below(ns.round() as u64) })
            .collect();
        let t: Vec<f64> = f.iter().map(|f| if 1.0 - f > 0.0 { 1.0 - f } else { f64::NAN }).collect();
        cdf.series.push(ChartSeries::line(v.label.clone(), &f).styled(style_of(i)));
        tail.series.push(ChartSeries::line(v.label.clone(), &t).styled(style_of(i)));
    }
    vec![cdf, tail]
}

/// Bars as HTML: one row per group, one bar per variant, its 95% interval as a whisker.
pub fn bars(title: &str, unit: &str, groups: &[BarGroup]) -> String {
    let top = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| if b.hi.is_finite() { b.hi } else { b.mean }))
        .filter(|v| v.is_finite())
        .fold(0f64, f64::max);
    let scale = if top > 0.0 { 100.0 / top } else { 0.0 };
    let mut s = format!(
        "<figure class=\"bars\"><figcaption>{} <span class=\"unit\">({})</span></figcaption>",
        html(title),
        html(unit)
    );
    for g in groups {
        let _ = write!(s, "<div class=\"bar-group\"><div class=\"bar-metric\">{}</div>", html(&g.metric));
        for (i, b) in g.bars.iter().enumerate() {
            let w = if b.mean.is_finite() { b.mean * scale } else { 0.0 };
            let whisker = if b.lo.is_finite() && b.hi.is_finite() {
                format!(
                    "<span class=\"whisker\" style=\"left:{:.2}%;width:{:.2}%\"></span>",
                    b.lo * scale,
                    (b.hi - b.lo) * scale
                )
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "<div class=\"bar-row\"><span class=\"bar-label\">{}</span><span class=\"bar-track\"><span class=\"bar c{}\" style=\"width:{w:.2}%\"></span>{whisker}</span><span class=\"bar-value\">{}</span></div>",
                html(&b.series),
                i % 8,
                num(b.mean)
            );
        }
        s.push_str("</div>");
    }
    s.push_str("</figure>");
    s
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The comparison table: per metric and variant, the mean and interval, and the paired
/// difference from the best with its p-value; significant cells are marked.
fn significance_table(c: &Comparison) -> String {
    let mut s = String::from(
        "<section id=\"significance\"><h2>Differences from the best</h2><p class=\"hint\">Paired t-test on common \
         random numbers, 95%. <span class=\"sig\">significant</span> cells differ from the best variant; \
         <span class=\"nsig\">not significant</span> cells cannot be told apart from it.</p><table><tr><th>metric</th>",
    );
    for v in &c.variants {
        let _ = write!(s, "<th>{}</th>", html(&v.label));
    }
    s.push_str("</tr>");
    for m in &c.metrics {
        let _ = write!(s, "<tr><td>{}</td>", html(m.metric.label()));
        for (i, e) in m.estimates.iter().enumerate() {
            let (class, note) = match (m.best == Some(i), m.vs_best[i]) {
                (true, _) => ("best", "best".to_string()),
                (false, Some(t)) if t.significant() => {
                    ("sig", format!("Δ {} (p {:.3}) significant", num(t.mean_diff), t.p_value))
                }
                (false, Some(t)) => ("nsig", format!("Δ {} (p {:.3}) not significant", num(t.mean_diff), t.p_value)),
                (false, None) => ("", String::new()),
            };
            let _ = write!(
                s,
                "<td class=\"{class}\">{} <span class=\"ci\">[{}, {}]</span><br><small>{}</small></td>",
                num(e.mean),
                num(e.ci_low),
                num(e.ci_high),
                html(&note)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</table></section>");
    s
}

/// The page of a comparison.
pub fn compare_page(c: &Comparison) -> String {
    let mut charts = cdf_charts(c);
    if let Some(t) = crate::compare::p99_timeline(c) {
        charts.extend(from_timeline(&t, "p99"));
    }
    let variants: Vec<&str> = c.variants.iter().map(|v| v.label.as_str()).collect();
    let mut body = format!(
        "<header><h1 id=\"scenario-name\">{}</h1><p class=\"description\">compare: {}</p><p class=\"meta\">{} replications per variant, base seed {}</p></header>",
        html(&c.scenario),
        html(&variants.join(" · ")),
        c.seeds.len(),
        c.base_seed
    );
    body.push_str(&significance_table(c));
    body.push_str("<section id=\"charts\"><h2>Charts</h2>");
    for ch in &charts {
        body.push_str(&placeholder(ch));
    }
    for (title, unit, groups) in crate::compare::bar_charts(c) {
        body.push_str(&bars(&title, &unit, &groups));
    }
    for chart in crate::compare::extra_charts(c) {
        body.push_str(&bars(&chart.title, &chart.y_label, &chart.groups));
    }
    body.push_str("</section>");
    let nav = vec![("significance", "significance"), ("charts", "charts")];
    page::render(&Page { title: format!("{} — prodsim compare", c.scenario), kind: "compare", nav, body, charts })
}

/// One chart per metric against the sweep's numeric parameter: each series' mean, and its
/// interval dashed.
fn sweep_charts(s: &Sweep, x: usize) -> Vec<Chart> {
    let mut xs: Vec<f64> = s.dims[x].levels.iter().filter_map(|l| l.number).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    s.metrics
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            let (key, y_label, scale) = crate::sweep::measure_chart_spec(m);
            let mut c =
                Chart::new(&key, format!("{y_label} against {}", s.dims[x].key), "sweep", XAxis::Linear, xs.clone())
                    .y(y_label, false);
            c.x_label = s.dims[x].key.clone();
            for (i, b) in crate::sweep::band_series(s, x, mi, scale).iter().enumerate() {
                let at = |f: fn(&crate::chart::BandPoint) -> f64| -> Vec<f64> {
                    xs.iter().map(|xv| b.points.iter().find(|p| p.x == *xv).map_or(f64::NAN, f)).collect()
                };
                c.series.push(ChartSeries::line(b.name.clone(), &at(|p| p.mean)).colored(i));
                c.series.push(
                    ChartSeries::line(format!("{} 95% low", b.name), &at(|p| p.lo)).styled(Style::Dashed).colored(i),
                );
                c.series.push(
                    ChartSeries::line(format!("{} 95% high", b.name), &at(|p| p.hi)).styled(Style::Dashed).colored(i),
                );
            }
            c
        })
        .collect()
}

/// The sweep's table: every point's estimates; a cell whose 95% interval is apart from
/// the best point's is marked significant.
fn sweep_table(s: &Sweep) -> String {
    let mut out = String::from(
        "<section id=\"points\"><h2>Points</h2><p class=\"hint\"><span class=\"sig\">significant</span>: its 95% interval does not overlap the best point's.</p><table><tr><th>point</th>",
    );
    for m in &s.metrics {
        let _ = write!(out, "<th>{}</th>", html(m.label()));
    }
    out.push_str("</tr>");
    let mean = |p: usize, mi: usize| s.points[p].estimates.get(mi).map_or(f64::NAN, |e| e.mean);
    let best: Vec<Option<usize>> = (0..s.metrics.len())
        .map(|mi| {
            let better = |a: f64, b: f64| if s.metrics[mi].higher_is_better() { a > b } else { a < b };
            let mut best: Option<usize> = None;
            for i in 0..s.points.len() {
                let v = mean(i, mi);
                if v.is_finite() && best.is_none_or(|b| better(v, mean(b, mi))) {
                    best = Some(i);
                }
            }
            best
        })
        .collect();
    for (i, p) in s.points.iter().enumerate() {
        let _ = write!(out, "<tr><td>{}</td>", html(&p.label));
        for (mi, e) in p.estimates.iter().enumerate() {
            let class = match best.get(mi).copied().flatten() {
                Some(b) if b == i => "best",
                Some(b) => {
                    let be = &s.points[b].estimates[mi];
                    if e.ci_low > be.ci_high || e.ci_high < be.ci_low { "sig" } else { "nsig" }
                }
                None => "",
            };
            let _ = write!(
                out,
                "<td class=\"{class}\">{} <span class=\"ci\">[{}, {}]</span></td>",
                num(e.mean),
                num(e.ci_low),
                num(e.ci_high)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></section>");
    out
}

/// The page of a sweep.
pub fn sweep_page(s: &Sweep) -> String {
    let charts = crate::sweep::x_dimension(s).map_or_else(Vec::new, |x| sweep_charts(s, x));
    let dims: Vec<String> = s
        .dims
        .iter()
        .map(|d| format!("{} = {}", d.key, d.levels.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(", ")))
        .collect();
    let mut body = format!(
        "<header><h1 id=\"scenario-name\">{}</h1><p class=\"description\">sweep: {}</p><p class=\"meta\">{} replications per point, base seed {}</p></header>",
        html(&s.scenario),
        html(&dims.join(" · ")),
        s.replications,
        s.base_seed
    );
    body.push_str(&sweep_table(s));
    body.push_str("<section id=\"charts\"><h2>Charts</h2>");
    if charts.is_empty() {
        body.push_str("<p>No parameter is numeric: nothing to draw against (the table has every number).</p>");
    }
    for c in &charts {
        body.push_str(&placeholder(c));
    }
    body.push_str("</section>");
    let nav = vec![("points", "points"), ("charts", "charts")];
    page::render(&Page { title: format!("{} — prodsim sweep", s.scenario), kind: "sweep", nav, body, charts })
}
