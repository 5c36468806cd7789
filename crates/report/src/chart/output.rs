//! Rendering a chart to PNG and SVG in memory and writing both files
//! atomically.

use std::ffi::OsString;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::common::{DrawErr, Drawable};
use super::text::{TextFix, ensure_font};
use super::{ChartError, ImageSize};

/// Appends `ext` to the base path (so `run.v2` becomes `run.v2.png`, not `run.png`).
pub(crate) fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Renders `chart` at `size` into `<base>.png` and `<base>.svg`. Both images
/// are rendered in memory first; then each file is written atomically.
pub(crate) fn render(path_base: &Path, size: ImageSize, chart: &impl Drawable) -> Result<(), ChartError> {
    let png_path = with_ext(path_base, "png");
    let svg_path = with_ext(path_base, "svg");
    if !ensure_font() {
        return Err(ChartError::Render { path: png_path, message: "the bundled font could not be loaded".to_string() });
    }
    let ImageSize { width: w, height: h } = size;
    let png = guarded(&png_path, || render_png(chart, w, h))?;
    let png = encode_png(&png, w, h).map_err(|message| ChartError::Encode { path: png_path.clone(), message })?;
    let svg = guarded(&svg_path, || render_svg(chart, w, h))?;
    write_atomic(&png_path, &png)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(())
}

/// Runs a renderer, turning a drawing error or a panic inside plotters into
/// a [`ChartError`].
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, DrawErr>) -> Result<T, ChartError> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(DrawErr(message))) => Err(ChartError::Render { path: path.to_path_buf(), message }),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(ChartError::Render {
                path: path.to_path_buf(),
                message: format!("the plotting library panicked: {what}"),
            })
        }
    }
}

fn render_png(chart: &impl Drawable, w: u32, h: u32) -> Result<Vec<u8>, DrawErr> {
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::with_buffer(&mut buf, (w, h));
        let root = TextFix::new(backend, true).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

fn render_svg(chart: &impl Drawable, w: u32, h: u32) -> Result<String, DrawErr> {
    let mut out = String::new();
    {
        let backend = SVGBackend::with_string(&mut out, (w, h));
        let root = TextFix::new(backend, false).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(out)
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Writes `bytes` atomically with the report module's writer.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ChartError> {
    crate::write_atomic(path, bytes).map_err(|e| ChartError::Io { path: e.path, reason: e.reason })
}
