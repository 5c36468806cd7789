//! Bar charts: grouped bars with confidence whiskers (strategy comparisons)
//! and plain bars per category (per-server load distribution).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::Chart2d;
use super::common::{
    Axis, DrawErr, DrawResult, Drawable, Glyph, LegendEntry, LinearFit, NOTE_SIZE, TICK_SIZE, WHISKER, anchored,
    draw_legend, draw_mesh, fit_text, fmt_sig, fmt_sig_fixed, font, no_data, palette, render, series_palette,
    split_legend_column, stroke, text_width, title_area, usable,
};
use super::{ChartError, ImageSize};

/// One bar of a [`BarGroup`]: a mean with its confidence interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bar {
    /// The series (e.g. strategy) this bar belongs to; decides its colour.
    pub series: String,
    /// Bar height. A NaN mean draws no bar.
    pub mean: f64,
    /// Lower end of the whisker (swapped with `hi` if larger).
    pub lo: f64,
    /// Upper end of the whisker. A NaN `lo` or `hi` draws no whisker.
    pub hi: f64,
}

/// One bar of [`histogram_bars`]: a category and its value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Category {
    /// Written under the bar, e.g. `server-3`.
    pub name: String,
    /// Bar height. A NaN value draws no bar and is left out of the mean.
    pub value: f64,
}

/// A cluster of bars for one metric (one category on the x axis).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarGroup {
    /// The metric (category) name, written under the group.
    pub metric: String,
    /// Bars, left to right.
    pub bars: Vec<Bar>,
}

/// Draws grouped bars with confidence whiskers to `<path_base>.png` and
/// `<path_base>.svg` ([`ImageSize::STANDARD`]).
///
/// All groups share one linear y axis starting at zero, so put metrics of
/// very different scales in separate calls, one group per call. With one
/// group, each bar is labelled with its series name and the metric becomes
/// the x axis description; with several, each group is labelled with its
/// metric. The mean is written above each bar when there is room.
///
/// Colours follow the order in which series names first appear across the
/// groups: the `k`-th distinct name gets [`series_color`](super::series_color)`(k)`.
pub fn bars(path_base: &Path, title: &str, y_label: &str, groups: &[BarGroup]) -> Result<(), ChartError> {
    render(path_base, ImageSize::STANDARD, &BarsChart { title, y_label, groups })
}

/// Draws one bar per category to `<path_base>.png` and `<path_base>.svg`
/// ([`ImageSize::STANDARD`]), e.g. the load each server received.
///
/// Bars use [`series_color`](super::series_color)`(0)`; a dashed line marks the
/// mean, and the legend gives the mean and the max/mean ratio (the
/// imbalance). Category labels are rotated when they do not fit side by
/// side, and thinned out when there are too many to write them all. NaN
/// values draw no bar and are left out of the mean.
pub fn histogram_bars(
    path_base: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    categories: &[Category],
) -> Result<(), ChartError> {
    render(path_base, ImageSize::STANDARD, &HistogramChart { title, x_label, y_label, categories })
}

struct BarsChart<'a> {
    title: &'a str,
    y_label: &'a str,
    groups: &'a [BarGroup],
}

const GROUP_FILL: f64 = 0.8;

fn zero_based(values: impl IntoIterator<Item = f64>, pad: f64) -> Axis {
    Axis::linear(values, LinearFit { anchor_zero: true, pad, nice_bounds: true, ticks: 8 })
}

impl Drawable for BarsChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = title_area(root, self.title)?;
        let palette = SeriesColors::of(self.groups);
        let entries: Vec<LegendEntry> =
            palette.names.iter().map(|n| LegendEntry::new(*n, Glyph::Bar(palette.color(n)))).collect();
        let (main, legend_col) = split_legend_column(&body, &entries);

        let n = self.groups.len().max(1);
        let mut x = Axis::linear_range(0.0, n as f64, false, 1);
        x.ticks.clear();
        let y = zero_based(self.groups.iter().flat_map(|g| &g.bars).flat_map(|b| [b.mean, b.lo, b.hi]), 0.1);
        let single = self.groups.len() == 1;
        let x_desc = if single { Some(self.groups[0].metric.as_str()) } else { None };

        let mut chart = ChartBuilder::on(&main)
            .margin_top(10)
            .margin_right(6)
            .x_label_area_size(if single { 70 } else { 44 })
            .y_label_area_size(92)
            .build_cartesian_2d(x.coord(), y.coord())?;
        draw_mesh(&mut chart, &x, &y, x_desc, self.y_label, false)?;
        let any = self.draw_groups(root, &mut chart, &y, &palette)?;
        if !any {
            no_data(&chart, &x, &y)?;
        }
        draw_legend(&legend_col, &entries, 10)?;
        Ok(())
    }
}

/// Each series' colour, in the order the names first appear across the groups.
struct SeriesColors<'a> {
    names: Vec<&'a str>,
    colors: Vec<RGBColor>,
}

impl<'a> SeriesColors<'a> {
    fn of(groups: &'a [BarGroup]) -> SeriesColors<'a> {
        let mut names: Vec<&str> = Vec::new();
        for b in groups.iter().flat_map(|g| &g.bars) {
            if !names.contains(&b.series.as_str()) {
                names.push(&b.series);
            }
        }
        let colors = series_palette(names.iter().copied());
        SeriesColors { names, colors }
    }

    fn color(&self, name: &str) -> RGBColor {
        self.colors[self.names.iter().position(|n| *n == name).unwrap_or(0)]
    }
}

/// Where one bar stands: its left and right edges on the x axis and the width of its slot.
#[derive(Clone, Copy)]
struct Slot {
    x0: f64,
    x1: f64,
    width_px: u32,
}

impl Slot {
    fn center(self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
}

impl BarsChart<'_> {
    /// Draws every group: its bars side by side, each labelled with its series when there
    /// is one group, else the group labelled with its metric. True when a bar was drawn.
    fn draw_groups<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut Chart2d<'_, DB>,
        y: &Axis,
        palette: &SeriesColors,
    ) -> Result<bool, DrawErr> {
        let single = self.groups.len() == 1;
        let label_style = anchored(font(TICK_SIZE), HPos::Center, VPos::Top);
        let px_per_unit = {
            let a = chart.backend_coord(&(0.0, y.lo)).0;
            let b = chart.backend_coord(&(1.0, y.lo)).0;
            (b - a).max(1)
        };
        let mut any = false;
        for (gi, g) in self.groups.iter().enumerate() {
            let k = g.bars.len().max(1) as f64;
            let slot = GROUP_FILL / k;
            let left = gi as f64 + (1.0 - GROUP_FILL) / 2.0;
            let width_px = (slot * px_per_unit as f64) as u32;
            for (bi, b) in g.bars.iter().enumerate() {
                let x0 = left + slot * bi as f64 + slot * 0.08;
                let x1 = left + slot * (bi + 1) as f64 - slot * 0.08;
                let at = Slot { x0, x1, width_px };
                if single {
                    let base = chart.backend_coord(&(at.center(), y.lo));
                    let name = fit_text(&b.series, TICK_SIZE, width_px.saturating_sub(4));
                    root.draw(&Text::new(name, (base.0, base.1 + 8), label_style.clone()))?;
                }
                any |= draw_bar(chart, y, b, at, palette.color(&b.series))?;
            }
            if !single {
                let base = chart.backend_coord(&(gi as f64 + 0.5, y.lo));
                let max_w = (px_per_unit as u32).saturating_sub(8);
                let name = fit_text(&g.metric, TICK_SIZE, max_w);
                root.draw(&Text::new(name, (base.0, base.1 + 10), label_style.clone()))?;
            }
        }
        Ok(any)
    }
}

/// Draws one bar from zero to its mean, its whisker from `lo` to `hi`, and its mean
/// written above it (below, for a negative mean) when that fits its slot. False when the
/// mean cannot be drawn (NaN).
fn draw_bar<DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    y: &Axis,
    b: &Bar,
    at: Slot,
    color: RGBColor,
) -> Result<bool, DrawErr> {
    let Some(m) = y.map_clamped(b.mean) else {
        return Ok(false);
    };
    let (x0, x1, xc) = (at.x0, at.x1, at.center());
    let zero = 0f64.clamp(y.lo, y.hi);
    chart.draw_series(std::iter::once(Rectangle::new([(x0, zero), (x1, m)], color.filled())))?;
    let mut top = m.max(zero);
    let mut bottom = m.min(zero);
    if let (Some(lo), Some(hi)) = (y.map_clamped(b.lo), y.map_clamped(b.hi)) {
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        let half = (x1 - x0) * 0.2;
        let st = stroke(WHISKER, 2);
        chart.draw_series([
            PathElement::new(vec![(xc, lo), (xc, hi)], st),
            PathElement::new(vec![(xc - half, lo), (xc + half, lo)], st),
            PathElement::new(vec![(xc - half, hi), (xc + half, hi)], st),
        ])?;
        top = top.max(hi);
        bottom = bottom.min(lo);
    }
    let text = fmt_sig_fixed(b.mean, 3);
    if text_width(&text, NOTE_SIZE) + 4 <= at.width_px {
        let el = if b.mean >= 0.0 {
            EmptyElement::at((xc, top))
                + Text::new(text, (0, -4), anchored(font(NOTE_SIZE), HPos::Center, VPos::Bottom))
        } else {
            EmptyElement::at((xc, bottom)) + Text::new(text, (0, 4), anchored(font(NOTE_SIZE), HPos::Center, VPos::Top))
        };
        chart.plotting_area().draw(&el)?;
    }
    Ok(true)
}

struct HistogramChart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    categories: &'a [Category],
}

/// Longest rotated category label, in pixels.
const MAX_ROTATED: u32 = 150;

impl Drawable for HistogramChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = title_area(root, self.title)?;

        let c = palette(0);
        let mean_color = RGBColor(55, 55, 55);
        let finite: Vec<f64> = self.categories.iter().map(|c| c.value).filter(|v| usable(*v)).collect();
        let mean = (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut entries = vec![LegendEntry::new(self.y_label, Glyph::Bar(c))];
        if let Some(m) = mean {
            entries.push(LegendEntry::new(format!("mean {}", fmt_sig(m, 3)), Glyph::Dashed(mean_color)));
            if m > 0.0 {
                entries.push(LegendEntry::new(format!("max/mean {:.2}", max / m), Glyph::None));
            }
        }
        let (main, legend_col) = split_legend_column(&body, &entries);

        // Category labels: side by side if they fit, else rotated.
        let n = self.categories.len().max(1);
        let plot_w = main.dim_in_pixel().0.saturating_sub(100).max(1);
        let slot_px = plot_w / n as u32;
        let widest = self.categories.iter().map(|c| text_width(&c.name, TICK_SIZE)).max().unwrap_or(0);
        let rotate = widest + 6 > slot_px;
        let label_len = widest.min(MAX_ROTATED);
        let x_area = if rotate { label_len + 52 } else { 64 };
        // Rotated labels are about one text height wide: thin them out if
        // even that does not fit.
        let every = if rotate { (22 / slot_px.max(1) + 1) as usize } else { 1 };

        let mut x = Axis::linear_range(0.0, n as f64, false, 1);
        x.ticks.clear();
        let y = zero_based(finite.iter().copied(), 0.05);
        let mut chart = ChartBuilder::on(&main)
            .margin_top(10)
            .margin_right(6)
            .x_label_area_size(x_area)
            .y_label_area_size(92)
            .build_cartesian_2d(x.coord(), y.coord())?;
        draw_mesh(&mut chart, &x, &y, Some(self.x_label), self.y_label, false)?;

        let zero = 0f64.clamp(y.lo, y.hi);
        let flat = anchored(font(TICK_SIZE), HPos::Center, VPos::Top);
        let upright = anchored(font(TICK_SIZE), HPos::Right, VPos::Center).transform(FontTransform::Rotate270);
        for (i, Category { name, value: v }) in self.categories.iter().enumerate() {
            let x0 = i as f64 + 0.12;
            let x1 = i as f64 + 0.88;
            if let Some(m) = y.map_clamped(*v) {
                chart.draw_series(std::iter::once(Rectangle::new([(x0, zero), (x1, m)], c.filled())))?;
            }
            if i % every == 0 {
                let base = chart.backend_coord(&(i as f64 + 0.5, y.lo));
                if rotate {
                    let label = fit_text(name, TICK_SIZE, MAX_ROTATED);
                    root.draw(&Text::new(label, (base.0, base.1 + 7), upright.clone()))?;
                } else {
                    root.draw(&Text::new(name.clone(), (base.0, base.1 + 8), flat.clone()))?;
                }
            }
        }
        match mean {
            Some(m) => {
                let m = m.clamp(y.lo, y.hi);
                chart.draw_series(DashedLineSeries::new(vec![(x.lo, m), (x.hi, m)], 8, 5, stroke(mean_color, 2)))?;
            }
            None => no_data(&chart, &x, &y)?,
        }
        draw_legend(&legend_col, &entries, 10)?;
        Ok(())
    }
}
