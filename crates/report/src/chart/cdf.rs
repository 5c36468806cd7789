//! Latency CDFs: cumulative fraction against latency on a log x axis.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::common::{
    Axis, DrawResult, Drawable, Glyph, LegendEntry, MUTED, NOTE_SIZE, anchored, draw_legend, draw_mesh, font_color,
    no_data, render, series_palette, split_legend_column, stroke, title_area,
};
use super::{ChartError, ImageSize};

/// One curve of a [`cdf`] chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CdfSeries {
    /// Legend name.
    pub name: String,
    /// The curve's points. They are sorted by latency before drawing;
    /// fractions are clamped to 0..=1; points with a latency `<= 0` or a NaN
    /// are left out (log axis).
    pub points: Vec<CdfPoint>,
}

/// One point of a [`CdfSeries`]: the fraction of requests at or below a latency.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CdfPoint {
    /// The latency, in ms (the x axis).
    pub latency_ms: f64,
    /// The cumulative fraction, from 0 to 1 (the y axis).
    pub fraction: f64,
}

/// Draws latency CDFs to `<path_base>.png` and `<path_base>.svg`
/// ([`ImageSize::STANDARD`]).
///
/// The x axis is logarithmic (labelled `x_label`, e.g. `"latency (ms)"`),
/// the y axis linear from 0 to 1 ("cumulative fraction"), with dashed
/// reference lines at p50, p90 and p99. The `i`-th series gets
/// [`series_color`](super::series_color)`(i)`.
pub fn cdf(path_base: &Path, title: &str, x_label: &str, series: &[CdfSeries]) -> Result<(), ChartError> {
    render(path_base, ImageSize::STANDARD, &CdfChart { title, x_label, series })
}

struct CdfChart<'a> {
    title: &'a str,
    x_label: &'a str,
    series: &'a [CdfSeries],
}

impl Drawable for CdfChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = title_area(root, self.title)?;
        let entries: Vec<LegendEntry> = self
            .series
            .iter()
            .zip(series_palette(self.series.iter().map(|s| s.name.as_str())))
            .map(|(s, c)| LegendEntry::new(s.name.clone(), Glyph::Line(c)))
            .collect();
        let (main, legend_col) = split_legend_column(&body, &entries);

        let x = Axis::log(
            self.series.iter().flat_map(|s| s.points.iter().filter(|p| p.fraction.is_finite()).map(|p| p.latency_ms)),
        );
        let mut y = Axis::linear_range(0.0, 1.0, false, 10);
        y.lo = -0.02;
        y.hi = 1.02;

        let mut chart = ChartBuilder::on(&main)
            .margin_top(10)
            .margin_right(6)
            .x_label_area_size(64)
            .y_label_area_size(80)
            .build_cartesian_2d(x.coord(), y.coord())?;
        draw_mesh(&mut chart, &x, &y, Some(self.x_label), "cumulative fraction", true)?;

        let ref_style = anchored(font_color(NOTE_SIZE, MUTED), HPos::Right, VPos::Top);
        for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
            chart.draw_series(DashedLineSeries::new(
                vec![(x.lo, q), (x.hi, q)],
                4,
                4,
                stroke(RGBColor(170, 170, 170), 1),
            ))?;
            chart
                .plotting_area()
                .draw(&(EmptyElement::at((x.hi, q)) + Text::new(name.to_string(), (-5, 3), ref_style.clone())))?;
        }

        let mut any = false;
        let colors = series_palette(self.series.iter().map(|s| s.name.as_str()));
        for (i, s) in self.series.iter().enumerate() {
            let mut pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter_map(|p| {
                    let px = x.map(p.latency_ms)?;
                    p.fraction.is_finite().then_some((px, p.fraction.clamp(0.0, 1.0)))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let c = colors[i];
            match pts.len() {
                0 => {}
                1 => {
                    any = true;
                    chart.draw_series(std::iter::once(Circle::new(pts[0], 4, c.filled())))?;
                }
                _ => {
                    any = true;
                    chart.draw_series(LineSeries::new(pts, stroke(c, 3)))?;
                }
            }
        }
        if !any {
            no_data(&chart, &x, &y)?;
        }
        draw_legend(&legend_col, &entries, 10)?;
        Ok(())
    }
}
