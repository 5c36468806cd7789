//! The run timeline: stacked panels over simulated time, sharing one x axis,
//! with fault windows shaded and alerts/deploys marked.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::Chart2d;
use super::common::{
    Axis, DrawErr, DrawResult, Drawable, Glyph, LegendEntry, LinearFit, NOTE_SIZE, anchored, draw_legend, draw_mesh,
    fill, font_color, no_data, render, runs, series_palette, split_legend_column, stroke, text_width, title_area,
    usable,
};
use super::{ChartError, HEIGHT, ImageSize, WIDTH};

/// A run's timeline: one or more panels stacked over a shared time axis.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Chart title, drawn at the top.
    pub title: String,
    /// Sample times in simulated seconds, shared by every series.
    pub time_s: Vec<f64>,
    /// Panels, drawn top to bottom. None draws one empty panel.
    pub panels: Vec<Panel>,
    /// Fault windows, shaded light red across every panel.
    pub shaded: Vec<Window>,
    /// Events (alerts, deploys) drawn as dashed vertical lines.
    pub markers: Vec<Marker>,
}

/// One panel of a [`Timeline`]: one y axis and its series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Panel {
    /// Y axis label, with the unit, e.g. `"request rate (req/s)"`.
    pub y_label: String,
    /// Logarithmic y axis (for latencies). Values `<= 0` are then gaps.
    pub log_y: bool,
    /// Lines in this panel; the `i`-th gets [`series_color`](super::series_color)`(i)`.
    pub series: Vec<Series>,
}

/// One line of a [`Panel`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// One value per entry of [`Timeline::time_s`] (extra values are
    /// ignored, missing ones are gaps). NaN or infinite values are gaps.
    pub values: Vec<f64>,
}

/// A shaded time window (a fault injection, like Jepsen's nemesis periods).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Window {
    /// Start, in simulated seconds.
    pub start_s: f64,
    /// End, in simulated seconds (swapped with `start_s` if smaller).
    pub end_s: f64,
    /// Written at the top of the first panel.
    pub label: String,
}

/// A point event drawn as a dashed vertical line across every panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// When, in simulated seconds.
    pub at_s: f64,
    /// Short label written next to the line at the top of the first panel.
    pub label: String,
    /// Decides the line colour and the legend entry.
    pub kind: MarkerKind,
}

/// What a [`Marker`] marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// An alert fired (red).
    Alert,
    /// A deploy or configuration change (dark grey).
    Deploy,
    /// Anything else (light grey).
    Other,
}

impl MarkerKind {
    fn color(self) -> RGBColor {
        match self {
            MarkerKind::Alert => RGBColor(200, 16, 46),
            MarkerKind::Deploy => RGBColor(55, 55, 55),
            MarkerKind::Other => RGBColor(140, 140, 140),
        }
    }

    fn name(self) -> &'static str {
        match self {
            MarkerKind::Alert => "alert",
            MarkerKind::Deploy => "deploy",
            MarkerKind::Other => "event",
        }
    }
}

const FAULT: RGBColor = RGBColor(230, 40, 40);
const FAULT_TEXT: RGBColor = RGBColor(165, 25, 25);
const FAULT_ALPHA: f64 = 0.13;
/// Room under the last panel for tick labels and the axis description.
const X_AREA: u32 = 64;
const Y_AREA: u32 = 92;
const PANEL_GAP: u32 = 22;
const PLOT_RIGHT: u32 = 8;
const MAX_LANES: usize = 4;
const LANE_H: u32 = 19;

/// The pixel size of a timeline with `panels` panels: [`WIDTH`] wide, and
/// tall enough for about 210 pixels per panel (at least [`HEIGHT`]).
pub fn timeline_size(panels: usize) -> ImageSize {
    let n = panels.clamp(1, 30) as u32;
    ImageSize { width: WIDTH, height: HEIGHT.max(170 + 210 * n) }
}

/// Draws a run timeline to `<path_base>.png` and `<path_base>.svg`.
///
/// Panels are stacked top to bottom and share the x axis, labelled
/// "simulated time" in seconds, minutes (spans over 10 minutes) or hours
/// (over 10 hours). Each panel has its legend to its right; the first
/// panel's legend also explains the fault shading and marker kinds present.
/// Window and marker labels are written at the top of the first panel,
/// stacked in up to three rows to avoid overlapping.
pub fn timeline(path_base: &Path, t: &Timeline) -> Result<(), ChartError> {
    render(path_base, timeline_size(t.panels.len()), &TimelineChart(t))
}

struct TimelineChart<'a>(&'a Timeline);

/// Picks the time unit for a span in seconds: (divisor, name).
fn time_unit(span_s: f64) -> (f64, &'static str) {
    if span_s > 36_000.0 {
        (3600.0, "h")
    } else if span_s > 600.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    }
}

impl Drawable for TimelineChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let t = self.0;
        let body = title_area(root, &t.title)?;

        let placeholder = [Panel::default()];
        let panels: &[Panel] = if t.panels.is_empty() { &placeholder } else { &t.panels };
        let legends = legends(t, panels);
        let all: Vec<LegendEntry> = legends.iter().flatten().cloned().collect();
        let (main, legend_col) = split_legend_column(&body, &all);
        let frame = Frame::new(t, main.dim_in_pixel().0);

        // Window and marker labels go in a strip above the first panel; lay
        // them out first (on estimated pixel positions) to size the strip.
        let labels = collect_labels(t, frame.div, &frame.x);
        let (mx, _) = main.get_pixel_range();
        let plot_x = (mx.start + Y_AREA as i32, mx.end - PLOT_RIGHT as i32);
        let x = &frame.x;
        let estimate = |v: f64| plot_x.0 + ((v - x.lo) / (x.hi - x.lo) * f64::from(plot_x.1 - plot_x.0)) as i32;
        let placed = layout_labels(&labels, &estimate, plot_x.1);
        let lanes = placed.iter().map(|p| p.lane + 1).max().unwrap_or(0) as u32;
        let strip_h = if lanes == 0 { 0 } else { lanes * LANE_H + 4 };
        let (strip, main) = main.split_vertically(strip_h);
        let (_, legend_col) = legend_col.split_vertically(strip_h);

        let n = panels.len() as u32;
        let (_, mh) = main.dim_in_pixel();
        let ph = (mh.saturating_sub(X_AREA) / n).max(1);
        let breaks: Vec<u32> = (1..n).map(|i| i * ph).collect();
        let none: &[u32] = &[];
        let panel_areas = main.split_by_breakpoints(none, &breaks);
        let legend_areas = legend_col.split_by_breakpoints(none, &breaks);
        let y_ticks = (ph / 45).clamp(2, 8) as usize;
        let mut top = StripAnchors::default();
        for (i, p) in panels.iter().enumerate() {
            let place = PanelPlace { index: i, last: i + 1 == panels.len(), y_ticks };
            if let Some(first) = frame.draw_panel(&panel_areas[i], p, place, &labels)? {
                top = first;
            }
            draw_legend(&legend_areas[i], &legends[i], if i == 0 { 2 } else { PANEL_GAP as i32 })?;
        }

        if lanes > 0 {
            let (_, sy) = strip.get_pixel_range();
            draw_strip(root, &labels, &placed, &top.anchors, sy.end, top.plot_top)?;
        }
        Ok(())
    }
}

/// Each panel's legend: its series, and in the first panel's the fault shading and the
/// kinds of markers present.
fn legends(t: &Timeline, panels: &[Panel]) -> Vec<Vec<LegendEntry>> {
    let mut legends: Vec<Vec<LegendEntry>> = panels
        .iter()
        .map(|p| {
            let colors = series_palette(p.series.iter().map(|s| s.name.as_str()));
            p.series.iter().zip(colors).map(|(s, c)| LegendEntry::new(s.name.clone(), Glyph::Line(c))).collect()
        })
        .collect();
    if !t.shaded.is_empty() {
        legends[0].push(LegendEntry::new("fault window", Glyph::Area(FAULT.mix(FAULT_ALPHA * 2.0))));
    }
    for kind in [MarkerKind::Alert, MarkerKind::Deploy, MarkerKind::Other] {
        if t.markers.iter().any(|m| m.kind == kind) {
            legends[0].push(LegendEntry::new(kind.name(), Glyph::Dashed(kind.color())));
        }
    }
    legends
}

/// What every panel shares: the timeline, the time axis and its unit, and each sample's
/// position on it.
struct Frame<'a> {
    t: &'a Timeline,
    /// Seconds per axis unit.
    div: f64,
    x: Axis,
    xs: Vec<f64>,
    x_desc: String,
}

/// Which panel is drawn, and how many y ticks it has room for.
#[derive(Clone, Copy)]
struct PanelPlace {
    index: usize,
    last: bool,
    y_ticks: usize,
}

/// Where the strip's leaders end: the top of the first plot, and the exact pixel x of
/// each label's start and end.
#[derive(Default)]
struct StripAnchors {
    plot_top: i32,
    anchors: Vec<(i32, i32)>,
}

impl<'a> Frame<'a> {
    /// The time axis from the samples, else from the windows and markers, in seconds,
    /// minutes or hours, with ticks for a plot `width_px` wide.
    fn new(t: &'a Timeline, width_px: u32) -> Frame<'a> {
        let mut times: Vec<f64> = t.time_s.iter().copied().filter(|v| usable(*v)).collect();
        if times.is_empty() {
            times.extend(t.shaded.iter().flat_map(|w| [w.start_s, w.end_s]));
            times.extend(t.markers.iter().map(|m| m.at_s));
            times.retain(|v| usable(*v));
        }
        let t_min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let t_max = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = if times.is_empty() { 0.0 } else { t_max - t_min };
        let (div, unit) = time_unit(span);
        let x_lo = if times.is_empty() { 0.0 } else { t_min / div };
        let x_hi = if times.is_empty() { 1.0 } else { t_max / div };
        let x_ticks = (width_px / 110).clamp(2, 12) as usize;
        let x = if x_hi > x_lo {
            Axis::linear_range(x_lo, x_hi, false, x_ticks)
        } else {
            Axis::linear([x_lo], LinearFit { anchor_zero: false, pad: 0.0, nice_bounds: false, ticks: x_ticks })
        };
        let xs = t.time_s.iter().map(|v| v / div).collect();
        Frame { t, div, x, xs, x_desc: format!("simulated time ({unit})") }
    }

    /// Draws one panel: its axes, the fault windows, its series and the markers. For the
    /// first panel, also returns where the strip's leaders end.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &Panel,
        place: PanelPlace,
        labels: &[StripLabel<'_>],
    ) -> Result<Option<StripAnchors>, DrawErr> {
        let (t, x) = (self.t, &self.x);
        let values = p.series.iter().flat_map(|s| s.values.iter().take(self.xs.len()).copied());
        let y = if p.log_y {
            Axis::log(values)
        } else {
            Axis::linear(values, LinearFit { anchor_zero: true, pad: 0.05, nice_bounds: true, ticks: place.y_ticks })
        };
        let mut chart = ChartBuilder::on(area)
            .margin_top(if place.index == 0 { 2 } else { PANEL_GAP })
            .margin_right(PLOT_RIGHT)
            .x_label_area_size(if place.last { X_AREA } else { 0 })
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(x.coord(), y.coord())?;
        draw_mesh(&mut chart, x, &y, place.last.then_some(self.x_desc.as_str()), &p.y_label, true)?;
        for w in &t.shaded {
            if let Some((a, b)) = clip_window(w, self.div, x) {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(a, y.lo), (b, y.hi)],
                    fill(FAULT.mix(FAULT_ALPHA)),
                )))?;
            }
        }
        if !self.draw_series(&mut chart, p, &y)? {
            no_data(&chart, x, &y)?;
        }
        for m in &t.markers {
            let at = m.at_s / self.div;
            if usable(at) && at >= x.lo && at <= x.hi {
                let line = vec![(at, y.lo), (at, y.hi)];
                chart.draw_series(DashedLineSeries::new(line, 7, 5, stroke(m.kind.color(), 2)))?;
            }
        }
        if place.index != 0 {
            return Ok(None);
        }
        let plot_top = chart.plotting_area().get_pixel_range().1.start;
        let anchors = labels
            .iter()
            .map(|l| (chart.backend_coord(&(l.start, y.hi)).0, chart.backend_coord(&(l.end, y.hi)).0))
            .collect();
        Ok(Some(StripAnchors { plot_top, anchors }))
    }

    /// Draws a panel's series as lines (a lone point as a dot); false when nothing could
    /// be drawn.
    fn draw_series<DB: DrawingBackend>(
        &self,
        chart: &mut Chart2d<'_, DB>,
        p: &Panel,
        y: &Axis,
    ) -> Result<bool, DrawErr> {
        let mut any = false;
        // Thick polylines get miter spikes at the sharp turns of dense, noisy series
        // (plotters joins segments with miters): draw dense series one pixel wide.
        let line_width = if self.xs.len() > 300 { 1 } else { 2 };
        let colors = series_palette(p.series.iter().map(|s| s.name.as_str()));
        for (s, &c) in p.series.iter().zip(&colors) {
            let pts = self.xs.iter().copied().zip(s.values.iter().copied());
            for run in runs(pts, &self.x, y) {
                any = true;
                if run.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(run[0], 3, c.filled())))?;
                } else {
                    chart.draw_series(LineSeries::new(run, stroke(c, line_width)))?;
                }
            }
        }
        Ok(any)
    }
}

/// A label for the strip above the first panel.
struct StripLabel<'a> {
    text: &'a str,
    color: RGBColor,
    /// Window start / marker time, in axis units.
    start: f64,
    /// Window end (equal to `start` for markers).
    end: f64,
    window: bool,
    dashed: RGBColor,
}

/// Where a label went: its lane (0 = just above the plot) and, relative to
/// the anchor pixel, whether it sits to the right (`true`) or the left.
#[derive(Clone, Copy, Debug)]
struct Placed {
    lane: usize,
    right: bool,
    width: i32,
}

fn collect_labels<'a>(t: &'a Timeline, div: f64, x: &Axis) -> Vec<StripLabel<'a>> {
    let mut labels = Vec::new();
    for w in &t.shaded {
        if let Some((a, b)) = clip_window(w, div, x) {
            labels.push(StripLabel {
                text: &w.label,
                color: FAULT_TEXT,
                start: a,
                end: b,
                window: true,
                dashed: FAULT,
            });
        }
    }
    for m in &t.markers {
        let at = m.at_s / div;
        if usable(at) && at >= x.lo && at <= x.hi {
            labels.push(StripLabel {
                text: &m.label,
                color: m.kind.color(),
                start: at,
                end: at,
                window: false,
                dashed: m.kind.color(),
            });
        }
    }
    labels.retain(|l| !l.text.trim().is_empty());
    labels.sort_by(|a, b| a.start.total_cmp(&b.start));
    labels
}

/// Puts each label in a lane of the strip. Labels are placed right to left,
/// each in the lowest lane where its text overlaps no other text and no
/// marker's leader line; when there is none, the least bad lane is used
/// (crossing a leader is better than overlapping text). Placing right to
/// left makes close markers climb like a staircase, so their leader lines
/// pass left of the labels below them.
fn layout_labels(labels: &[StripLabel<'_>], px: &dyn Fn(f64) -> i32, right_edge: i32) -> Vec<Placed> {
    let mut boxes: Vec<(usize, i32, i32)> = Vec::new(); // lane, left, right
    let mut leaders: Vec<(usize, i32)> = Vec::new(); // reaches up to lane, at x
    let mut out = vec![Placed { lane: 0, right: true, width: 0 }; labels.len()];
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| labels[b].start.total_cmp(&labels[a].start));
    for i in order {
        let l = &labels[i];
        let anchor = px(l.start);
        let width = text_width(l.text, NOTE_SIZE) as i32;
        let right = anchor + 5 + width <= right_edge;
        let (a, b) = if right { (anchor + 5, anchor + 5 + width) } else { (anchor - 5 - width, anchor - 5) };
        let cost = |lane: usize| {
            let overlaps = boxes.iter().filter(|&&(k, l0, r0)| k == lane && a < r0 + 10 && b + 10 > l0).count();
            // Our leader would cross text below us (markers only: a window's
            // shading behind text does no harm) ...
            let crossed = if l.window {
                0
            } else {
                boxes.iter().filter(|&&(k, l0, r0)| k < lane && anchor >= l0 - 2 && anchor <= r0 + 2).count()
            };
            // ... or a leader from above would cross our text.
            let crossing = leaders.iter().filter(|&&(k, x0)| k > lane && x0 >= a - 4 && x0 <= b + 4).count();
            overlaps * 1000 + (crossed + crossing) * 10 + lane
        };
        let lane = (0..MAX_LANES).min_by_key(|&k| cost(k)).unwrap_or(0);
        boxes.push((lane, a, b));
        if !l.window {
            leaders.push((lane, anchor));
        }
        out[i] = Placed { lane, right, width };
    }
    out
}

/// Draws the labels in the strip, each with a leader (a dashed line for
/// markers, a band of shading for windows) down to the plot.
fn draw_strip<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[StripLabel<'_>],
    placed: &[Placed],
    anchors: &[(i32, i32)],
    strip_bottom: i32,
    plot_top: i32,
) -> DrawResult {
    for ((l, p), &(a, b)) in labels.iter().zip(placed).zip(anchors) {
        let row_top = strip_bottom - (p.lane as i32 + 1) * LANE_H as i32;
        let mid = row_top + LANE_H as i32 / 2;
        if l.window {
            root.draw(&Rectangle::new([(a, row_top + 1), (b.max(a + 1), plot_top)], fill(FAULT.mix(FAULT_ALPHA))))?;
        } else {
            let mut y = plot_top;
            while y > mid {
                let y1 = (y - 4).max(mid);
                root.draw(&PathElement::new(vec![(a, y), (a, y1)], stroke(l.dashed, 1)))?;
                y -= 7;
            }
        }
        let tx = if p.right { a + 5 } else { a - 5 - p.width };
        root.draw(&Text::new(
            l.text.to_string(),
            (tx, mid),
            anchored(font_color(NOTE_SIZE, l.color), HPos::Left, VPos::Center),
        ))?;
    }
    Ok(())
}

/// The part of a window inside the x axis, in axis units.
fn clip_window(w: &Window, div: f64, x: &Axis) -> Option<(f64, f64)> {
    let (a, b) = (w.start_s / div, w.end_s / div);
    if !(usable(a) && usable(b)) {
        return None;
    }
    let (a, b) = (a.min(b).max(x.lo), a.max(b).min(x.hi));
    (a <= b).then_some((a, b))
}
