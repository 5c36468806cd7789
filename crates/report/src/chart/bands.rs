//! Sweep curves: a mean line per series with a translucent confidence band.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::common::{
    Axis, DrawResult, Drawable, Glyph, LegendEntry, LinearFit, draw_legend, draw_mesh, fill, no_data, render, runs,
    series_palette, split_legend_column, stroke, title_area,
};
use super::{ChartError, ImageSize};

/// One point of a [`BandSeries`]: a mean and its confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BandPoint {
    /// Position on the x axis (e.g. offered load).
    pub x: f64,
    /// The line goes through the means. A NaN mean breaks the line.
    pub mean: f64,
    /// Lower end of the interval (swapped with `hi` if larger).
    pub lo: f64,
    /// Upper end of the interval. A NaN `lo` or `hi` breaks the band only.
    pub hi: f64,
}

/// One line of a [`bands`] chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BandSeries {
    /// Legend name (e.g. the strategy).
    pub name: String,
    /// Points; sorted by `x` before drawing.
    pub points: Vec<BandPoint>,
}

/// Draws lines with confidence bands and point markers to
/// `<path_base>.png` and `<path_base>.svg` ([`ImageSize::STANDARD`]).
///
/// Meant for sweeps, e.g. p99 latency against offered load with one line per
/// strategy. The x axis is linear; the y axis linear (from zero) or, with
/// `log_y`, logarithmic (non-positive values are then left out). An isolated
/// interval (no neighbour to make a band with) is drawn as an error bar. The
/// `i`-th series gets [`series_color`](super::series_color)`(i)`.
pub fn bands(
    path_base: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_y: bool,
    series: &[BandSeries],
) -> Result<(), ChartError> {
    render(path_base, ImageSize::STANDARD, &BandsChart { title, x_label, y_label, log_y, series })
}

struct BandsChart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    log_y: bool,
    series: &'a [BandSeries],
}

impl Drawable for BandsChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = title_area(root, self.title)?;
        let entries: Vec<LegendEntry> = self
            .series
            .iter()
            .zip(series_palette(self.series.iter().map(|s| s.name.as_str())))
            .map(|(s, c)| LegendEntry::new(s.name.clone(), Glyph::Band(c)))
            .collect();
        let (main, legend_col) = split_legend_column(&body, &entries);

        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let x = Axis::linear(
            all().filter(|p| p.mean.is_finite()).map(|p| p.x),
            LinearFit { anchor_zero: false, pad: 0.04, nice_bounds: false, ticks: 8 },
        );
        let y_values = all().filter(|p| p.x.is_finite()).flat_map(|p| [p.mean, p.lo, p.hi]);
        let y = if self.log_y {
            Axis::log(y_values)
        } else {
            Axis::linear(y_values, LinearFit { anchor_zero: true, pad: 0.05, nice_bounds: true, ticks: 8 })
        };

        let mut chart = ChartBuilder::on(&main)
            .margin_top(10)
            .margin_right(6)
            .x_label_area_size(64)
            .y_label_area_size(92)
            .build_cartesian_2d(x.coord(), y.coord())?;
        draw_mesh(&mut chart, &x, &y, Some(self.x_label), self.y_label, true)?;

        let mut any = false;
        let colors = series_palette(self.series.iter().map(|s| s.name.as_str()));
        for (i, s) in self.series.iter().enumerate() {
            let c = colors[i];
            let mut pts = s.points.clone();
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));

            // Bands first, so lines and markers sit on top.
            for run in band_runs(&pts, &x, &y) {
                if run.len() == 1 {
                    let (px, lo, hi) = run[0];
                    let half = (x.hi - x.lo) * 0.006;
                    let st = stroke(c, 2);
                    chart.draw_series([
                        PathElement::new(vec![(px, lo), (px, hi)], st),
                        PathElement::new(vec![(px - half, lo), (px + half, lo)], st),
                        PathElement::new(vec![(px - half, hi), (px + half, hi)], st),
                    ])?;
                } else {
                    let mut poly: Vec<(f64, f64)> = run.iter().map(|p| (p.0, p.2)).collect();
                    poly.extend(run.iter().rev().map(|p| (p.0, p.1)));
                    chart.draw_series(std::iter::once(Polygon::new(poly, fill(c.mix(0.18)))))?;
                }
            }
            for run in runs(pts.iter().map(|p| (p.x, p.mean)), &x, &y) {
                any = true;
                chart.draw_series(LineSeries::new(run.clone(), stroke(c, 2)))?;
                chart.draw_series(run.into_iter().map(|p| Circle::new(p, 4, c.filled())))?;
            }
        }
        if !any {
            no_data(&chart, &x, &y)?;
        }
        draw_legend(&legend_col, &entries, 10)?;
        Ok(())
    }
}

/// Runs of consecutive points whose x, lo and hi can all be drawn, as
/// `(x, lo, hi)` in plotted space (clamped to the y axis).
fn band_runs(pts: &[BandPoint], x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for p in pts {
        // On a log axis an interval reaching zero or below runs to the bottom.
        let clamp = |v: f64| {
            if y.log && v.is_finite() && v <= 0.0 { Some(y.lo) } else { y.map_clamped(v) }
        };
        let item = match (x.map(p.x), clamp(p.lo), clamp(p.hi)) {
            (Some(px), Some(a), Some(b)) if p.mean.is_finite() => Some((px, a.min(b), a.max(b))),
            _ => None,
        };
        match item {
            Some(v) => cur.push(v),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
