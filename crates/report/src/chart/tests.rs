//! Tests for the chart renderers: valid PNG + SVG pairs, text in the SVG,
//! odd data, atomic writes.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh, empty directory for one test.
fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prodsim-chart-tests-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts `<base>.png` is a complete PNG of the given size.
fn check_png(base: &Path, size: ImageSize) {
    let png_path = output_paths(base).png;
    let bytes = fs::read(&png_path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} lacks the PNG signature", png_path.display());
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(ImageSize { width: info.width, height: info.height }, size);
    // Not blank: some pixels are not white.
    assert!(buf.iter().any(|b| *b < 200));
}

/// The text content of every `<text>` element of `<base>.svg`.
fn svg_texts(base: &Path) -> Vec<String> {
    let svg_path = output_paths(base).svg;
    let svg = fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    let mut out = Vec::new();
    let mut rest = svg.as_str();
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let open_end = rest.find('>').unwrap();
        let close = rest.find("</text>").unwrap();
        out.push(unescape(rest[open_end + 1..close].trim()));
        rest = &rest[close..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

fn assert_texts(base: &Path, wanted: &[&str]) {
    let texts = svg_texts(base);
    for w in wanted {
        assert!(texts.iter().any(|t| t == w), "no <text> {w:?} in {}: {texts:?}", base.display());
    }
}

/// Files in `dir` whose names look like leftovers of an atomic write.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect()
}

fn series(name: &str, values: Vec<f64>) -> Series {
    Series { name: name.into(), values }
}

fn sample_timeline() -> Timeline {
    let time_s: Vec<f64> = (0..=120).map(|i| i as f64 * 5.0).collect();
    let wave = |k: f64| -> Vec<f64> { time_s.iter().map(|t| 100.0 + k * (t / 60.0).sin()).collect() };
    Timeline {
        title: "Timeline under test".into(),
        time_s: time_s.clone(),
        panels: vec![
            Panel {
                y_label: "request rate (req/s)".into(),
                log_y: false,
                series: vec![series("offered", wave(20.0)), series("served", wave(10.0))],
            },
            Panel {
                y_label: "latency (ms)".into(),
                log_y: true,
                series: vec![series("p50", wave(5.0)), series("p99", wave(50.0))],
            },
        ],
        shaded: vec![Window { start_s: 100.0, end_s: 200.0, label: "partition".into() }],
        markers: vec![Marker { at_s: 150.0, label: "PageOncall".into(), kind: MarkerKind::Alert }],
    }
}

fn band_series(name: &str, k: f64) -> BandSeries {
    BandSeries {
        name: name.into(),
        points: (1..=8)
            .map(|i| {
                let x = i as f64 * 100.0;
                let mean = k * x;
                BandPoint { x, mean, lo: mean * 0.9, hi: mean * 1.1 }
            })
            .collect(),
    }
}

fn bar(series: &str, mean: f64) -> Bar {
    Bar { series: series.into(), mean, lo: mean * 0.9, hi: mean * 1.1 }
}

#[test]
fn timeline_writes_png_and_svg() {
    let dir = tmpdir("timeline");
    let base = dir.join("timeline");
    let t = sample_timeline();
    timeline(&base, &t).unwrap();
    check_png(&base, timeline_size(t.panels.len()));
    assert_texts(
        &base,
        &[
            "Timeline under test",
            "offered",
            "served",
            "p50",
            "p99",
            "partition",
            "PageOncall",
            "fault window",
            "alert",
            "request rate (req/s)",
            "latency (ms)",
            // 600 s: seconds.
            "simulated time (s)",
        ],
    );
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn timeline_picks_time_units() {
    let dir = tmpdir("units");
    for (span, unit) in [(300.0, "s"), (3600.0, "min"), (86_400.0, "h")] {
        let base = dir.join(unit);
        let t = Timeline {
            title: format!("span {span}"),
            time_s: vec![0.0, span / 2.0, span],
            panels: vec![Panel { y_label: "x".into(), log_y: false, series: vec![series("a", vec![1.0, 2.0, 3.0])] }],
            ..Timeline::default()
        };
        timeline(&base, &t).unwrap();
        assert_texts(&base, &[&format!("simulated time ({unit})")]);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cdf_writes_png_and_svg() {
    let dir = tmpdir("cdf");
    let base = dir.join("cdf");
    let s: Vec<CdfSeries> = ["round-robin", "least-conn"]
        .iter()
        .enumerate()
        .map(|(i, n)| CdfSeries {
            name: (*n).into(),
            points: (0..50)
                .map(|k| {
                    let x = 1.0 + k as f64 * (i + 1) as f64;
                    CdfPoint { latency_ms: x, fraction: k as f64 / 49.0 }
                })
                .collect(),
        })
        .collect();
    cdf(&base, "CDF under test", "latency (ms)", &s).unwrap();
    check_png(&base, ImageSize::STANDARD);
    assert_texts(&base, &["CDF under test", "round-robin", "least-conn", "latency (ms)", "p99"]);
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bands_writes_png_and_svg() {
    let dir = tmpdir("bands");
    for log_y in [false, true] {
        let base = dir.join(format!("bands-{log_y}"));
        let s = [band_series("p2c", 0.1), band_series("random", 0.2)];
        bands(&base, "Bands under test", "offered load (req/s)", "p99 (ms)", log_y, &s).unwrap();
        check_png(&base, ImageSize::STANDARD);
        assert_texts(&base, &["Bands under test", "p2c", "random", "offered load (req/s)", "p99 (ms)"]);
    }
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bars_writes_png_and_svg() {
    let dir = tmpdir("bars");
    let one = dir.join("one");
    let group = BarGroup { metric: "p99 at 800 req/s".into(), bars: vec![bar("round-robin", 120.0), bar("p2c", 80.0)] };
    bars(&one, "Bars under test", "p99 (ms)", std::slice::from_ref(&group)).unwrap();
    check_png(&one, ImageSize::STANDARD);
    assert_texts(&one, &["Bars under test", "round-robin", "p2c", "p99 at 800 req/s", "p99 (ms)", "120"]);

    let many = dir.join("many");
    let other = BarGroup { metric: "p50".into(), bars: vec![bar("p2c", 8.0), bar("random", 9.0)] };
    bars(&many, "Grouped bars", "latency (ms)", &[group, other]).unwrap();
    check_png(&many, ImageSize::STANDARD);
    assert_texts(&many, &["Grouped bars", "round-robin", "p2c", "random", "p50"]);
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn histogram_bars_writes_png_and_svg() {
    let dir = tmpdir("hist");
    let few = dir.join("few");
    let cats: Vec<Category> = (0..6).map(|i| Category { name: format!("srv-{i}"), value: 100.0 + i as f64 }).collect();
    histogram_bars(&few, "Load per server", "server", "requests", &cats).unwrap();
    check_png(&few, ImageSize::STANDARD);
    assert_texts(&few, &["Load per server", "srv-0", "srv-5", "server", "requests"]);

    // Many long names: rotated and thinned out, but still drawn.
    let many = dir.join("many");
    let cats: Vec<Category> = (0..200)
        .map(|i| Category { name: format!("server-{i:03}.a-very-long-domain.example"), value: i as f64 })
        .collect();
    histogram_bars(&many, "Many servers", "server", "requests", &cats).unwrap();
    check_png(&many, ImageSize::STANDARD);
    assert_texts(&many, &["Many servers"]);
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_inputs_do_not_panic() {
    let dir = tmpdir("empty");
    timeline(&dir.join("t0"), &Timeline::default()).unwrap();
    check_png(&dir.join("t0"), timeline_size(0));
    timeline(
        &dir.join("t1"),
        &Timeline {
            title: "no samples".into(),
            panels: vec![Panel { y_label: "latency (ms)".into(), log_y: true, series: vec![series("p99", vec![])] }],
            markers: vec![Marker { at_s: 5.0, label: "only a marker".into(), kind: MarkerKind::Deploy }],
            ..Timeline::default()
        },
    )
    .unwrap();
    assert_texts(&dir.join("t1"), &["no data", "p99"]);
    cdf(&dir.join("c0"), "", "latency (ms)", &[]).unwrap();
    cdf(&dir.join("c1"), "empty", "latency (ms)", &[CdfSeries { name: "nothing".into(), points: vec![] }]).unwrap();
    bands(&dir.join("b0"), "", "", "", true, &[]).unwrap();
    bands(&dir.join("b1"), "", "", "", false, &[BandSeries::default()]).unwrap();
    bars(&dir.join("r0"), "", "", &[]).unwrap();
    bars(&dir.join("r1"), "", "", &[BarGroup::default()]).unwrap();
    histogram_bars(&dir.join("h0"), "", "", "", &[]).unwrap();
    for b in ["t1", "c0", "c1", "b0", "b1", "r0", "r1", "h0"] {
        let size = if b == "t1" { timeline_size(1) } else { ImageSize::STANDARD };
        check_png(&dir.join(b), size);
    }
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn odd_values_do_not_panic() {
    let dir = tmpdir("odd");
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let value_sets: Vec<Vec<f64>> = vec![
        vec![nan, nan, nan],
        vec![5.0, 5.0, 5.0],
        vec![0.0, 0.0, 0.0],
        vec![-1.0, 0.0, -3.0],
        vec![inf, -inf, nan],
        vec![1e300, -1e300, 1.0],
        vec![1e-300, 1e300, 1e-12],
        vec![f64::MAX, f64::MIN_POSITIVE, 0.0],
        vec![1e15, 1e15 + 1.0, 1e15],
    ];
    for (i, values) in value_sets.iter().enumerate() {
        let v = |k: usize| values[k % values.len()];
        let t = Timeline {
            title: format!("odd {i}"),
            // Odd times too: unsorted, NaN, duplicated.
            time_s: vec![v(0), 1.0, nan, 1.0, v(1), 0.0],
            panels: vec![
                Panel {
                    y_label: "linear".into(),
                    log_y: false,
                    series: vec![series("a", values.clone()), series("short", vec![v(2)])],
                },
                Panel { y_label: "log".into(), log_y: true, series: vec![series("b", values.clone())] },
            ],
            shaded: vec![
                Window { start_s: v(1), end_s: v(0), label: "w".into() },
                Window { start_s: nan, end_s: 1.0, label: "nan window".into() },
            ],
            markers: vec![Marker { at_s: v(2), label: "m".into(), kind: MarkerKind::Other }],
        };
        timeline(&dir.join(format!("t{i}")), &t).unwrap();

        let points: Vec<CdfPoint> =
            (0..values.len()).map(|k| CdfPoint { latency_ms: v(k), fraction: v(k + 1) }).collect();
        cdf(&dir.join(format!("c{i}")), "odd", "ms", &[CdfSeries { name: "odd".into(), points }]).unwrap();

        let bp: Vec<BandPoint> =
            (0..values.len()).map(|k| BandPoint { x: v(k), mean: v(k + 1), lo: v(k + 2), hi: v(k) }).collect();
        for log_y in [false, true] {
            bands(
                &dir.join(format!("b{i}-{log_y}")),
                "odd",
                "x",
                "y",
                log_y,
                &[BandSeries { name: "odd".into(), points: bp.clone() }],
            )
            .unwrap();
        }

        let group = BarGroup {
            metric: "m".into(),
            bars: (0..values.len())
                .map(|k| Bar { series: format!("s{k}"), mean: v(k), lo: v(k + 1), hi: v(k + 2) })
                .collect(),
        };
        bars(&dir.join(format!("r{i}")), "odd", "y", &[group]).unwrap();

        let cats: Vec<Category> =
            values.iter().enumerate().map(|(k, x)| Category { name: format!("c{k}"), value: *x }).collect();
        histogram_bars(&dir.join(format!("h{i}")), "odd", "x", "y", &cats).unwrap();
        check_png(&dir.join(format!("h{i}")), ImageSize::STANDARD);
    }
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn many_series_panels_and_long_names_do_not_panic() {
    let dir = tmpdir("many");
    let long = "a-really-long-strategy-name-that-will-not-fit-in-the-legend-column-at-all";
    let many: Vec<Series> = (0..40).map(|i| series(&format!("{long}-{i}"), vec![i as f64, 1.0])).collect();
    let panels: Vec<Panel> =
        (0..45).map(|_| Panel { y_label: long.into(), log_y: false, series: many.clone() }).collect();
    let t = Timeline {
        title: long.repeat(3),
        time_s: vec![0.0, 1.0],
        panels,
        markers: (0..30)
            .map(|i| Marker { at_s: i as f64 / 30.0, label: format!("marker {i}"), kind: MarkerKind::Alert })
            .collect(),
        ..Timeline::default()
    };
    timeline(&dir.join("t"), &t).unwrap();
    check_png(&dir.join("t"), timeline_size(45));

    // A legend too long for its panel ends in "+N more".
    let t = Timeline {
        title: "crowded".into(),
        time_s: vec![0.0, 1.0],
        panels: vec![Panel { y_label: "y".into(), log_y: false, series: many.clone() }],
        ..Timeline::default()
    };
    timeline(&dir.join("crowded"), &t).unwrap();
    assert!(svg_texts(&dir.join("crowded")).iter().any(|s| s.ends_with(" more")));
    assert!(svg_texts(&dir.join("crowded")).iter().any(|s| s.ends_with('…')));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn names_are_escaped_in_svg() {
    let dir = tmpdir("escape");
    let base = dir.join("esc");
    let name = "a<b & \"c\" > 'd'";
    cdf(
        &base,
        "<title & more>",
        "x",
        &[CdfSeries {
            name: name.into(),
            points: vec![CdfPoint { latency_ms: 1.0, fraction: 0.1 }, CdfPoint { latency_ms: 10.0, fraction: 1.0 }],
        }],
    )
    .unwrap();
    assert_texts(&base, &[name, "<title & more>"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writes_are_atomic_and_replace_old_files() {
    let dir = tmpdir("atomic");
    let base = dir.join("run.v2");
    let ChartFiles { png: png_path, svg: svg_path } = output_paths(&base);
    assert_eq!(png_path, dir.join("run.v2.png"));
    assert_eq!(svg_path, dir.join("run.v2.svg"));
    fs::write(&png_path, b"old").unwrap();
    fs::write(&svg_path, b"old").unwrap();
    histogram_bars(&base, "t", "x", "y", &[Category { name: "a".into(), value: 1.0 }]).unwrap();
    check_png(&base, ImageSize::STANDARD);
    assert_texts(&base, &["t"]);
    let mut names: Vec<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["run.v2.png", "run.v2.svg"]);

    // Missing parent directories are created.
    let nested = dir.join("a/b/c/chart");
    bars(&nested, "t", "y", &[]).unwrap();
    check_png(&nested, ImageSize::STANDARD);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_paths_are_errors_not_panics() {
    let dir = tmpdir("unwritable");
    let blocker = dir.join("blocker");
    fs::write(&blocker, b"a file, not a directory").unwrap();
    let err = cdf(&blocker.join("chart"), "t", "x", &[]).unwrap_err();
    match &err {
        ChartError::Io { path, .. } => assert_eq!(path, &blocker.join("chart.png")),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("chart.png"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_is_deterministic() {
    let dir = tmpdir("determinism");
    let t = sample_timeline();
    timeline(&dir.join("a"), &t).unwrap();
    timeline(&dir.join("b"), &t).unwrap();
    for ext in ["png", "svg"] {
        let a = fs::read(dir.join(format!("a.{ext}"))).unwrap();
        let b = fs::read(dir.join(format!("b.{ext}"))).unwrap();
        assert!(a == b, "{ext} output differs between identical renders");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn palette_is_stable_and_distinct() {
    let first: Vec<_> = (0..8).map(series_color).collect();
    for (i, a) in first.iter().enumerate() {
        for b in &first[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(series_color(0), series_color(8));
    assert_eq!(series_color(3), series_color(11));
}
