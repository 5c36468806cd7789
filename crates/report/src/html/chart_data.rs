//! The charts' data as the page's script reads it: one [`Chart`] per uPlot panel, with its
//! series, shaded windows and markers, serialised into the page's JSON block. Long series
//! are downsampled for display here (the exact numbers stay in the tables and CSV files).

use serde::Serialize;

/// Most points a series is drawn with; longer ones are averaged (or maxed) in buckets.
pub const MAX_POINTS: usize = 1500;

/// What the x axis shows.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum XAxis {
    /// Simulated seconds, shown as `1h02m`.
    Time,
    /// A plain number.
    Linear,
    /// A number on a log scale.
    Log,
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// A line.
    Line,
    /// A dashed line.
    Dashed,
    /// Steps (a state that holds until it changes).
    Step,
    /// Points only (events on lanes).
    Points,
}

/// One series of a chart.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ChartSeries {
    /// Its name in the legend.
    pub name: String,
    /// One value per x (`null`: no value).
    pub values: Vec<Option<f64>>,
    /// How it is drawn.
    pub style: Style,
    /// For points on event lanes: the text shown when hovering each point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Option<String>>>,
    /// The palette colour, when it is not the series' position (an interval's bounds
    /// take their mean's colour).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<usize>,
}

impl ChartSeries {
    /// A line from values where NaN means "no value".
    pub fn line(name: impl Into<String>, values: &[f64]) -> ChartSeries {
        ChartSeries {
            name: name.into(),
            values: values.iter().map(|v| finite(*v)).collect(),
            style: Style::Line,
            labels: None,
            color: None,
        }
    }

    /// The same series in palette colour `color`.
    pub fn colored(mut self, color: usize) -> ChartSeries {
        self.color = Some(color);
        self
    }

    /// The same series drawn in `style`.
    pub fn styled(mut self, style: Style) -> ChartSeries {
        self.style = style;
        self
    }
}

/// A shaded span of x (a fault window, the warmup).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Shade {
    /// Start, in x units.
    pub start: f64,
    /// End, in x units.
    pub end: f64,
    /// What it is.
    pub label: String,
    /// `fault`, `incident` or `warmup`.
    pub kind: &'static str,
}

/// A vertical line at one x (a page, a release, an action).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Mark {
    /// Where, in x units.
    pub at: f64,
    /// What happened.
    pub label: String,
    /// `page`, `ack`, `action`, `release`, `load`.
    pub kind: &'static str,
}

/// One uPlot panel.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Chart {
    /// The chart's key, unique in the page (also its element id, `chart-<key>`).
    pub key: String,
    /// The heading above it.
    pub title: String,
    /// Charts with the same group share the cursor and the x range.
    pub group: String,
    /// The x axis.
    pub x_axis: XAxis,
    /// The x axis label.
    pub x_label: String,
    /// The y axis label.
    pub y_label: String,
    /// Log scale on y.
    pub log_y: bool,
    /// The x values, ascending.
    pub x: Vec<f64>,
    /// The series.
    pub series: Vec<ChartSeries>,
    /// Shaded windows.
    pub shades: Vec<Shade>,
    /// Vertical markers.
    pub marks: Vec<Mark>,
    /// Fixed y range (for 0..1 states), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_range: Option<[f64; 2]>,
}

impl Chart {
    /// A chart with no series yet.
    pub fn new(key: &str, title: impl Into<String>, group: &str, x_axis: XAxis, x: Vec<f64>) -> Chart {
        Chart {
            key: key.to_string(),
            title: title.into(),
            group: group.to_string(),
            x_axis,
            x_label: String::new(),
            y_label: String::new(),
            log_y: false,
            x,
            series: Vec::new(),
            shades: Vec::new(),
            marks: Vec::new(),
            y_range: None,
        }
    }

    /// With the y label.
    pub fn y(mut self, label: impl Into<String>, log: bool) -> Chart {
        self.y_label = label.into();
        self.log_y = log;
        self
    }
}

/// `Some(v)` for a finite value rounded to 5 significant digits (a smaller page, and no
/// digits nobody reads), else `None`.
pub fn finite(v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(0.0);
    }
    let digits = 4 - v.abs().log10().floor() as i32;
    if !(-300..=300).contains(&digits) {
        return Some(v);
    }
    let scale = 10f64.powi(digits);
    Some((v * scale).round() / scale)
}

/// How buckets of a downsampled series combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// The mean of the bucket's values (rates, shares, means).
    Mean,
    /// The largest (tails, peaks: a spike must not vanish when zoomed out).
    Max,
}

/// Rows per display point so that `rows` fit in [`MAX_POINTS`].
pub fn bucket(rows: usize) -> usize {
    rows.div_ceil(MAX_POINTS).max(1)
}

/// `values` combined in buckets of `k` (NaN values are skipped; an empty bucket is NaN).
pub fn downsample(values: &[f64], k: usize, how: Combine) -> Vec<f64> {
    if k <= 1 {
        return values.to_vec();
    }
    values
        .chunks(k)
        .map(|c| {
            let mut kept = c.iter().copied().filter(|v| v.is_finite());
            match how {
                Combine::Mean => {
                    let (n, sum) = kept.fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
                    if n == 0 { f64::NAN } else { sum / n as f64 }
                }
                Combine::Max => kept.next().map_or(f64::NAN, |first| kept.fold(first, f64::max)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_the_peaks_and_the_means() {
        let v = [1.0, 3.0, f64::NAN, 10.0, 2.0];
        assert_eq!(downsample(&v, 2, Combine::Mean), vec![2.0, 10.0, 2.0]);
        assert_eq!(downsample(&v, 2, Combine::Max), vec![3.0, 10.0, 2.0]);
        assert!(downsample(&[f64::NAN], 2, Combine::Max)[0].is_nan());
        assert_eq!(bucket(10), 1);
        assert_eq!(bucket(MAX_POINTS * 3 + 1), 4);
    }

    #[test]
    fn rounding_keeps_five_digits() {
        assert_eq!(finite(123.456_78), Some(123.46));
        assert_eq!(finite(0.000_123_456_7), Some(0.000_123_46));
        assert_eq!(finite(f64::NAN), None);
    }
}
