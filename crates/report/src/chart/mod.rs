//! Chart rendering: turns plain numbers into PNG + SVG image pairs.
//!
//! This module owns every picture `prodsim` draws: run timelines
//! ([`timeline`]), latency CDFs ([`cdf`]), sweep curves with confidence
//! bands ([`bands`]), strategy comparisons with confidence whiskers
//! ([`bars`]) and per-server load distributions ([`histogram_bars`]).
//!
//! Each function takes plain data (no simulator types) and a *base path*,
//! and writes `<base>.png` and `<base>.svg` (the extension is appended, so a
//! base of `out/run.v2` gives `out/run.v2.png`). Both images are rendered in
//! memory first and each file is then written atomically: to a hidden
//! temporary file in the same directory (`.<name>.<pid>.<n>.tmp`), renamed
//! over the target. Missing parent directories are created.
//!
//! Text uses DejaVu Sans, embedded in the binary and registered with plotters
//! on first use, so nothing depends on fontconfig or system fonts. Output is
//! deterministic: the same data gives byte-identical files.
//!
//! Odd data never panics: NaN and infinite values are gaps, empty series
//! draw an empty (labelled) axis, equal values get a small range around
//! them, and non-positive values are left out of logarithmic axes.
//!
//! Colours come from one fixed palette indexed by series order
//! ([`series_color`]), so a caller that passes strategies in the same order
//! everywhere gets the same colour for a strategy in every chart.

mod axis;
mod bands;
mod bars;
mod cdf;
mod common;
mod legend;
mod output;
mod text;
mod timeline;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use plotters::style::RGBColor;

pub use bands::{BandPoint, BandSeries, bands};
pub use bars::{Bar, BarGroup, Category, bars, histogram_bars};
pub use cdf::{CdfPoint, CdfSeries, cdf};
pub use timeline::{Marker, MarkerKind, Panel, Series, Timeline, Window, timeline, timeline_size};

/// Width in pixels of every PNG (the SVG uses the same user units).
pub const WIDTH: u32 = 1200;
/// Height in pixels of every PNG except timelines (see [`timeline_size`]).
pub const HEIGHT: u32 = 800;

/// The pixel size of a PNG (and the user units of its SVG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ImageSize {
    /// The size of every chart but timelines: [`WIDTH`] × [`HEIGHT`].
    pub const STANDARD: ImageSize = ImageSize { width: WIDTH, height: HEIGHT };
}

/// The two files a chart is written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFiles {
    /// `<base>.png`.
    pub png: PathBuf,
    /// `<base>.svg`.
    pub svg: PathBuf,
}

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Drawing failed (a plotting-library error, or the bundled font failed to load).
    #[error("cannot render chart {}: {message}", path.display())]
    Render {
        /// The file that was being rendered.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The rendered image could not be encoded as PNG.
    #[error("cannot encode PNG {}: {message}", path.display())]
    Encode {
        /// The PNG file that was being encoded.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file (or its directory, or its temporary file) could not be written.
    // The I/O error is in the message, not chained, so it is printed once.
    #[error("cannot write chart {}: {reason}", path.display())]
    Io {
        /// The file that was being written.
        path: PathBuf,
        /// The underlying I/O error.
        reason: std::io::Error,
    },
}

/// The colour of the `i`-th series, the same in every chart.
///
/// The palette is Okabe–Ito (colour-blind safe), ordered blue, orange,
/// bluish green, vermillion, reddish purple, sky blue, black, yellow; it
/// repeats after eight series.
pub fn series_color(i: usize) -> RGBColor {
    common::palette(i)
}

/// The PNG and SVG paths a base path renders to.
pub fn output_paths(path_base: &Path) -> ChartFiles {
    ChartFiles { png: common::with_ext(path_base, "png"), svg: common::with_ext(path_base, "svg") }
}
