//! Legends, drawn by hand in a column to the right of the plot so they
//! never cover data.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::common::{DrawResult, LEGEND_SIZE, MUTED, anchored, fill, font, font_color, stroke};

/// The little picture in front of a legend entry.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Glyph {
    Line(RGBColor),
    Dashed(RGBColor),
    Band(RGBColor),
    Area(RGBAColor),
    Bar(RGBColor),
    None,
}

#[derive(Clone, Debug)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub glyph: Glyph,
}

impl LegendEntry {
    pub(crate) fn new(label: impl Into<String>, glyph: Glyph) -> Self {
        LegendEntry { label: label.into(), glyph }
    }
}

const LEGEND_ROW: i32 = 24;
const LEGEND_TEXT_X: i32 = 44;
const LEGEND_MIN_W: u32 = 120;
const LEGEND_MAX_W: u32 = 300;

/// Width in pixels of `text` at `size`, as every backend here lays it out.
pub(crate) fn text_width(text: &str, size: f64) -> u32 {
    super::text::measure(text, size).0
}

/// Width of a legend column that fits the given entries (within limits).
/// Splits `body` into the plot area and a legend column on the right, wide enough for
/// `entries`.
pub(crate) fn split_legend_column<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (width, _) = body.dim_in_pixel();
    body.split_horizontally(width.saturating_sub(legend_width(entries)))
}

pub(crate) fn legend_width(entries: &[LegendEntry]) -> u32 {
    let widest = entries.iter().map(|e| text_width(&e.label, LEGEND_SIZE)).max().unwrap_or(0);
    (widest + LEGEND_TEXT_X as u32 + 16).clamp(LEGEND_MIN_W, LEGEND_MAX_W)
}

/// Shortens `text` with an ellipsis until it is at most `max_w` pixels wide.
pub(crate) fn fit_text(text: &str, size: f64, max_w: u32) -> String {
    if text_width(text, size) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().collect::<String>() + "…";
        if text_width(&candidate, size) <= max_w {
            return candidate;
        }
    }
    "…".to_string()
}

/// Draws legend entries top-down in `area`, starting `top` pixels down.
/// Entries that do not fit are summarised as "+N more".
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    top: i32,
) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let rows = ((h as i32 - top) / LEGEND_ROW).max(1) as usize;
    let (shown, more) = if entries.len() > rows {
        (rows.saturating_sub(1), entries.len() - rows.saturating_sub(1))
    } else {
        (entries.len(), 0)
    };
    let max_text = (w as i32 - LEGEND_TEXT_X - 4).max(10) as u32;
    let text_style = anchored(font(LEGEND_SIZE), HPos::Left, VPos::Center);
    for (i, e) in entries.iter().take(shown).enumerate() {
        let cy = top + LEGEND_ROW * i as i32 + LEGEND_ROW / 2;
        draw_glyph(area, e.glyph, 8, LEGEND_TEXT_X - 8, cy)?;
        let label = fit_text(&e.label, LEGEND_SIZE, max_text);
        let x = if matches!(e.glyph, Glyph::None) { 8 } else { LEGEND_TEXT_X };
        area.draw(&Text::new(label, (x, cy), text_style.clone()))?;
    }
    if more > 0 {
        let cy = top + LEGEND_ROW * shown as i32 + LEGEND_ROW / 2;
        let style = anchored(font_color(LEGEND_SIZE, MUTED), HPos::Left, VPos::Center);
        area.draw(&Text::new(format!("+{more} more"), (8, cy), style))?;
    }
    Ok(())
}

fn draw_glyph<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    glyph: Glyph,
    x0: i32,
    x1: i32,
    cy: i32,
) -> DrawResult {
    let mid = (x0 + x1) / 2;
    match glyph {
        Glyph::Line(c) => {
            area.draw(&PathElement::new(vec![(x0, cy), (x1, cy)], stroke(c, 3)))?;
        }
        Glyph::Dashed(c) => {
            let mut x = x0;
            while x < x1 {
                let e = (x + 6).min(x1);
                area.draw(&PathElement::new(vec![(x, cy), (e, cy)], stroke(c, 2)))?;
                x += 10;
            }
        }
        Glyph::Band(c) => {
            area.draw(&Rectangle::new([(x0, cy - 7), (x1, cy + 7)], fill(c.mix(0.2))))?;
            area.draw(&PathElement::new(vec![(x0, cy), (x1, cy)], stroke(c, 2)))?;
            area.draw(&Circle::new((mid, cy), 4, c.filled()))?;
        }
        Glyph::Area(c) => {
            area.draw(&Rectangle::new([(x0, cy - 8), (x1, cy + 8)], fill(c)))?;
        }
        Glyph::Bar(c) => {
            area.draw(&Rectangle::new([(x0 + 4, cy - 8), (x1 - 4, cy + 8)], c.filled()))?;
        }
        Glyph::None => {}
    }
    Ok(())
}
