//! Text layout and rasterisation with the bundled font.
//!
//! plotters 0.3.7's `ab_glyph` text path drops each glyph's left side
//! bearing and rounds every advance, so small labels come out with uneven
//! letter spacing ("par ti tion"). [`TextFix`] wraps a backend: it measures
//! text with proper advances and kerning for every backend (so PNG and SVG
//! share one layout), and, for bitmaps, rasterises the glyphs itself with
//! sub-pixel positioning. Everything else is passed through untouched.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};

/// Font family name every text style uses; the bundled DejaVu Sans is
/// registered under it.
pub(crate) const FONT: &str = "sans-serif";

pub(crate) static FONT_BYTES: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/DejaVuSans.ttf"));

/// Registers the bundled font with plotters once per process (its text
/// styles look fonts up by family name even though [`TextFix`] does the
/// measuring and drawing). Returns whether it worked.
pub(crate) fn ensure_font() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// plotters' font "size" is 1.24 times the em size (the SVG backend writes
/// `font-size = size / 1.24`); we use the same so PNG and SVG text match.
const SIZE_PER_EM: f64 = 1.24;

fn font() -> Option<&'static FontRef<'static>> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok()).as_ref()
}

/// A line of text laid out at one size.
struct Layout {
    scale: PxScale,
    glyphs: Vec<(GlyphId, f32)>,
    width: f32,
    height: f32,
    ascent: f32,
}

fn layout(font: &FontRef<'static>, text: &str, size: f64) -> Layout {
    let em = (size / SIZE_PER_EM).max(0.0) as f32;
    let upem = font.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(em * font.height_unscaled() / upem);
    let sf = font.as_scaled(scale);
    let mut caret = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars().filter(|c| !c.is_control()) {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            caret += sf.kern(p, id);
        }
        glyphs.push((id, caret));
        caret += sf.h_advance(id);
        prev = Some(id);
    }
    Layout { scale, glyphs, width: caret, height: sf.ascent() - sf.descent(), ascent: sf.ascent() }
}

/// Width and height in pixels of `text` at plotters size `size`.
pub(crate) fn measure(text: &str, size: f64) -> (u32, u32) {
    match font() {
        Some(f) => {
            let l = layout(f, text, size);
            (l.width.ceil().max(0.0) as u32, l.height.ceil().max(0.0) as u32)
        }
        None => {
            let w = text.chars().count() as f64 * size * 0.5;
            (w as u32, size as u32)
        }
    }
}

/// A backend wrapper with correct text measuring (and, for bitmaps,
/// drawing). See the module documentation.
pub(crate) struct TextFix<B> {
    inner: B,
    raster_text: bool,
}

impl<B> TextFix<B> {
    /// Wraps `inner`; with `raster_text`, text is drawn here pixel by pixel
    /// (for bitmaps), otherwise by `inner` (for SVG, which writes `<text>`).
    pub(crate) fn new(inner: B, raster_text: bool) -> Self {
        TextFix { inner, raster_text }
    }
}

type BResult<B> = Result<(), DrawingErrorKind<<B as DrawingBackend>::ErrorType>>;

impl<B: DrawingBackend> DrawingBackend for TextFix<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> BResult<B> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> BResult<B> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> BResult<B> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> BResult<B> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> BResult<B> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, path: I, style: &S) -> BResult<B> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(&mut self, center: BackendCoord, radius: u32, style: &S, fill: bool) -> BResult<B> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> BResult<B> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> BResult<B> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        Ok(measure(text, style.size()))
    }

    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> BResult<B> {
        let Some(font) = font().filter(|_| self.raster_text) else {
            return self.inner.draw_text(text, style, pos);
        };
        let color = style.color();
        if color.alpha <= 0.0 {
            return Ok(());
        }
        let l = layout(font, text, style.size());
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -l.width / 2.0,
            HPos::Right => -l.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -l.height / 2.0,
            VPos::Bottom => -l.height,
        };
        let trans = style.transform();
        let (w, h) = self.inner.get_size();
        for &(id, x) in &l.glyphs {
            let glyph = id.with_scale_and_position(l.scale, point(x + dx, l.ascent + dy));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|gx, gy, cov| {
                if cov > 0.0 {
                    pixels.push((b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32, cov));
                }
            });
            for (lx, ly, cov) in pixels {
                let (rx, ry) = trans.transform(lx, ly);
                let (px, py) = (pos.0 + rx, pos.1 + ry);
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let c = BackendColor { alpha: color.alpha * f64::from(cov.min(1.0)), rgb: color.rgb };
                    self.inner.draw_pixel((px, py), c)?;
                }
            }
        }
        Ok(())
    }
}
