//! Shared plumbing for the chart renderers: text styles, the palette, the
//! house style for grids and frames, and the error glue for plotters. Axes,
//! legends and file output live in sibling modules and are re-exported here.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub(crate) use super::axis::*;
pub(crate) use super::legend::*;
pub(crate) use super::output::*;
pub(crate) use super::text::FONT;

// plotters "sizes": the em size is size / 1.24 (see `text.rs`).
pub(crate) const TITLE_SIZE: f64 = 29.0;
pub(crate) const DESC_SIZE: f64 = 20.0;
pub(crate) const TICK_SIZE: f64 = 17.0;
pub(crate) const LEGEND_SIZE: f64 = 17.0;
pub(crate) const NOTE_SIZE: f64 = 15.0;

pub(crate) const TEXT: RGBColor = RGBColor(30, 30, 30);
pub(crate) const MUTED: RGBColor = RGBColor(110, 110, 110);
pub(crate) const AXIS: RGBColor = RGBColor(90, 90, 90);
pub(crate) const GRID: RGBColor = RGBColor(222, 222, 222);
pub(crate) const GRID_LIGHT: RGBColor = RGBColor(242, 242, 242);
pub(crate) const WHISKER: RGBColor = RGBColor(40, 40, 40);

pub(crate) fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&TEXT)
}

pub(crate) fn font_color(size: f64, color: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&color)
}

pub(crate) fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

pub(crate) fn stroke(color: RGBColor, width: u32) -> ShapeStyle {
    ShapeStyle { color: color.to_rgba(), filled: false, stroke_width: width }
}

pub(crate) fn fill(color: RGBAColor) -> ShapeStyle {
    ShapeStyle { color, filled: true, stroke_width: 0 }
}

/// Draws the chart title at the top of `root` and returns the area below it,
/// with the outer margins applied.
pub(crate) fn title_area<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawErr> {
    let area = root.margin(12, 0, 0, 0);
    let area = if title.trim().is_empty() { area } else { area.titled(title, font(TITLE_SIZE))? };
    Ok(area.margin(4, 10, 12, 14))
}

// ---------------------------------------------------------------- palette

/// Okabe–Ito colour-blind-safe palette, reordered so the first colours are the
/// most distinct on white.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

pub(crate) fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colours of a chart's series, by name. When every series is named after a balancing
/// strategy, each strategy gets its own fixed colour (its position in
/// [`Strategy::ALL`](prodsim_parts::Strategy::ALL)), so `least_connections` looks the same in
/// every chart whichever strategies a command compares; otherwise series are coloured by
/// position.
pub(crate) fn series_palette<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<RGBColor> {
    let names: Vec<&str> = names.into_iter().collect();
    let strategy_index = |n: &str| prodsim_parts::Strategy::from_name(n).map(|s| s as usize);
    if !names.is_empty() && names.iter().all(|n| strategy_index(n).is_some()) {
        names.iter().map(|n| palette(strategy_index(n).unwrap_or(0))).collect()
    } else {
        (0..names.len()).map(palette).collect()
    }
}

// ---------------------------------------------------------------- errors from plotters

/// A drawing failure, already turned into text (plotters' error types are
/// generic over the backend).
pub(crate) struct DrawErr(pub(crate) String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawErr {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawErr(e.to_string())
    }
}

pub(crate) type DrawResult = Result<(), DrawErr>;

/// A chart that can draw itself on any plotters backend.
pub(crate) trait Drawable {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

// ---------------------------------------------------------------- mesh and frame

/// Draws the grid, tick labels and axis descriptions in the house style, and
/// a thin frame around the plotting area.
pub(crate) fn draw_mesh<DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    x: &Axis,
    y: &Axis,
    x_desc: Option<&str>,
    y_desc: &str,
    x_grid: bool,
) -> DrawResult {
    let xf = |v: &f64| x.label(*v);
    let yf = |v: &f64| y.label(*v);
    {
        let mut mesh = chart.configure_mesh();
        mesh.x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .label_style(font(TICK_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .bold_line_style(stroke(GRID, 1))
            .light_line_style(stroke(GRID_LIGHT, 1))
            .axis_style(stroke(AXIS, 1))
            .set_all_tick_mark_size(5)
            .y_desc(y_desc);
        if let Some(d) = x_desc {
            mesh.x_desc(d);
        }
        if !x_grid {
            mesh.disable_x_mesh();
        }
        mesh.draw()?;
    }
    chart.plotting_area().draw(&Rectangle::new([(x.lo, y.lo), (x.hi, y.hi)], stroke(AXIS, 1)))?;
    Ok(())
}

/// Writes a grey "no data" note in the middle of an empty plot.
pub(crate) fn no_data<DB: DrawingBackend>(chart: &Chart2d<'_, DB>, x: &Axis, y: &Axis) -> DrawResult {
    let style = anchored(font_color(DESC_SIZE, MUTED), HPos::Center, VPos::Center);
    chart.plotting_area().draw(&Text::new("no data", ((x.lo + x.hi) / 2.0, (y.lo + y.hi) / 2.0), style))?;
    Ok(())
}

#[cfg(test)]
mod palette_tests {
    use super::*;

    #[test]
    fn strategies_keep_their_colour_whatever_the_selection() {
        let all = series_palette(["round_robin", "random", "least_connections", "power_of_two"]);
        let two = series_palette(["least_connections", "round_robin"]);
        assert_eq!(two, vec![all[2], all[0]]);
        // Anything else is coloured by position, so colours never collide.
        let mixed = series_palette(["least_connections", "workers=3"]);
        assert_eq!(mixed, vec![palette(0), palette(1)]);
    }

    #[test]
    fn every_strategy_has_a_colour_of_its_own() {
        let all = series_palette(prodsim_parts::Strategy::ALL.map(|s| s.as_str()));
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| b != a), "{} shares its colour", prodsim_parts::Strategy::ALL[i]);
        }
    }
}
