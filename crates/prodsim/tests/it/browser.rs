//! `report.html` in a real browser (headless Debian chromium through chromedriver, see
//! `webdriver.rs`): no console errors, every chart drawn with its series names, hovering
//! shows values, a legend click hides a series, a drag zooms every panel of the timeline,
//! the diagram names every component, the page's stories are there (alert-fatigue's
//! firings and notifications, payment-outage's retry queue, failed requests' latency), and
//! the screenshot is not blank. Screenshots are saved in `$TMPDIR/prodsim-browser/`.
//!
//! Without the browser the tests skip with a message; `.ci/run` sets
//! `PRODSIM_REQUIRE_BROWSER=1`, which makes a missing browser a failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::{Value, json};

use crate::common;
use crate::webdriver::{Driver, driver_or_skip};

/// Where the screenshots go.
fn shots() -> PathBuf {
    let dir = std::env::temp_dir().join("prodsim-browser");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Opens `page`, waits for the script to draw it, and checks what every page must satisfy:
/// no console errors, every chart drawn with the series its data names, a screenshot that
/// is not blank. Returns the page's load-to-drawn time in ms.
fn open_and_check(d: &Driver, page: &Path, shot: &str) -> f64 {
    let _ = d.console();
    d.window(1300, 1000);
    d.open(page);
    let started = Instant::now();
    while d.js("return !!(window.prodsimReport && window.prodsimReport.ready);", json!([])) != json!(true) {
        assert!(started.elapsed() < Duration::from_secs(20), "{} never finished drawing", page.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let errors: Vec<Value> = d.console().into_iter().filter(|m| m["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors on {}: {errors:?}", page.display());
    let charts = d.js(
        "var data = JSON.parse(document.getElementById('prodsim-data').textContent), r = window.prodsimReport;\
         return data.charts.map(function (c) { var u = r.plots[c.key]; return { key: c.key,\
           expected: c.series.map(function (s) { return s.name; }),\
           drawn: u ? u.series.slice(1).map(function (s) { return s.label; }) : null,\
           canvas: !!document.querySelector('#chart-' + c.key + ' canvas') }; });",
        json!([]),
    );
    for c in charts.as_array().expect("a list") {
        assert_eq!(c["drawn"], c["expected"], "chart {} on {}", c["key"], page.display());
        assert_eq!(c["canvas"], json!(true), "chart {} has no canvas", c["key"]);
    }
    let drawn_ms = d.js("return window.prodsimReport.drawnMs;", json!([])).as_f64().expect("drawnMs");
    d.window(1300, 3200);
    let png = d.screenshot();
    let path = shots().join(format!("{shot}.png"));
    std::fs::write(&path, &png).expect("screenshot written");
    assert_not_blank(&png, &path);
    d.window(1300, 1000);
    drawn_ms
}

/// A blank page is one colour (or nearly): a drawn report has text, cards and lines.
fn assert_not_blank(png_bytes: &[u8], path: &Path) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours: Vec<[u8; 3]> = pixels.chunks(px).step_by(7).map(|p| [p[0], p[1], p[2]]).collect();
    let background = [246u8, 247, 249];
    let drawn = colours.iter().filter(|c| **c != background && **c != [255, 255, 255]).count();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 40, "{} looks blank: {} colours", path.display(), colours.len());
    assert!(drawn * 20 > pixels.len() / px / 7, "{} is mostly background", path.display());
}

/// Hovering the requests panel shows values in its legend and, through the shared
/// cursor, in the latency panel's; a legend click hides a series; a drag zooms every
/// panel of the timeline to one range; the diagram names `components`.
fn check_interactions(d: &Driver, components: &[String]) {
    d.js("window.scrollTo(0, document.getElementById('chart-requests').offsetTop - 100);", json!([]));
    d.click("#chart-requests .u-legend .u-series:nth-child(2) > th");
    let hidden =
        d.js("var u = window.prodsimReport.plots.requests; return [u.series[1].show, u.series[1].label];", json!([]));
    assert_eq!(hidden[0], json!(false), "a legend click hides {}", hidden[1]);
    d.click("#chart-requests .u-legend .u-series:nth-child(2) > th");
    let shown = d.js("return window.prodsimReport.plots.requests.series[1].show;", json!([]));
    assert_eq!(shown, json!(true), "a second click shows it again");
    d.mouse("#chart-requests .u-over", &[("move", 40, 0)]);
    let values = |chart: &str| -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll('#chart-' + arguments[0] + ' .u-legend .u-value')).map(function (e) { return e.textContent; });";
        d.js(script, json!([chart]))
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect()
    };
    let shown = values("requests");
    assert!(shown.iter().skip(1).any(|v| v.parse::<f64>().is_ok()), "hover shows no value: {shown:?}");
    assert!(shown[0] != "—", "hover shows no time: {shown:?}");
    let synced = values("latency");
    assert_eq!(synced[0], shown[0], "the latency panel's cursor follows: {synced:?} vs {shown:?}");

    let range = "return ['requests', 'latency'].map(function (k) { var s = window.prodsimReport.plots[k].scales.x; return [s.min, s.max]; });";
    let before = d.js(range, json!([]));
    d.mouse(
        "#chart-requests .u-over",
        &[("move", -150, 0), ("down", 0, 0), ("move", 0, 0), ("move", 150, 0), ("up", 0, 0)],
    );
    let after = d.js(range, json!([]));
    let width = |v: &Value| v[0][1].as_f64().unwrap_or(0.0) - v[0][0].as_f64().unwrap_or(0.0);
    assert!(width(&after) < width(&before) * 0.8, "a drag zooms in: {before} -> {after}");
    assert_eq!(after[0], after[1], "every panel of the timeline shows the same range");
    d.click("button[data-pan='1']");
    let panned = d.js(range, json!([]));
    let min = |v: &Value| v[0][0].as_f64().unwrap_or(0.0);
    assert!(
        min(&panned) > min(&after) && (width(&panned) - width(&after)).abs() < 1e-6 * width(&after).max(1.0),
        "pan ▶ moves the range: {after} -> {panned}"
    );
    assert_eq!(panned[0], panned[1], "panning moves every panel");
    d.click("button[data-reset]");
    let reset = d.js(range, json!([]));
    assert_eq!(reset, before, "reset zoom");

    let text = d.js("return document.querySelector('svg.diagram').textContent;", json!([]));
    let text = text.as_str().unwrap_or("");
    for name in components {
        assert!(text.contains(name.as_str()), "the diagram names {name}: {text}");
    }
}

/// The components the diagram must name, as it names them.
fn component_names(o: &prodsim_model::Outcome) -> Vec<String> {
    o.system
        .components
        .iter()
        .map(|c| match c.kind.as_str() {
            "app" => "app servers".to_string(),
            "database" => "database primary".to_string(),
            _ => c.name.clone(),
        })
        .collect()
}

fn write_run_page(rel: &str, dir: &str) -> (PathBuf, prodsim_model::Outcome) {
    let scenario = common::scenario(rel);
    let outcome = common::run_own_seed(&scenario);
    let verdicts = prodsim_report::expect::evaluate(&scenario.expectations, &outcome);
    let out = common::temp_dir("browser", dir);
    let path = prodsim_report::html::write_run(&out, &scenario, &outcome, &verdicts).expect("written");
    (path, outcome)
}

#[test]
fn run_reports_draw_their_stories_in_a_real_browser() {
    let Some(d) = driver_or_skip("run_reports_draw_their_stories_in_a_real_browser") else { return };
    let (page, o) = write_run_page("scenarios/alert-fatigue.toml", "alert-fatigue");
    let ms = open_and_check(&d, &page, "alert-fatigue");
    eprintln!(
        "alert-fatigue report.html: {} bytes, drawn in {ms:.0} ms",
        std::fs::metadata(&page).map_or(0, |m| m.len())
    );
    check_interactions(&d, &component_names(&o));
    let m = o.system.monitoring.as_deref().expect("monitoring");
    let firings = m.episodes.iter().filter(|e| e.firing_ms.is_some()).count();
    let notifications: usize = m.sets.iter().map(|s| s.notifications.len()).sum();
    let lanes = d.js(
        "return window.prodsimReport.plots.events.series.slice(1).map(function (s) { return s.label; });",
        json!([]),
    );
    let count = |prefix: &str| -> usize {
        let labels = lanes.as_array().expect("lanes");
        let of = |l: &Value| {
            l.as_str().and_then(|s| s.rsplit_once('(')).and_then(|(_, n)| n.trim_end_matches(')').parse::<usize>().ok())
        };
        labels.iter().filter(|l| l.as_str().is_some_and(|s| s.starts_with(prefix))).filter_map(of).sum()
    };
    assert_eq!(count("alerts fired"), firings, "every firing is on a lane: {lanes}");
    assert_eq!(count("notifications"), notifications, "every notification is on a lane: {lanes}");
    assert!(
        firings > 50 && notifications > 10,
        "alert-fatigue's story: {firings} firings, {notifications} notifications"
    );
    let rendered = d.js("return document.querySelectorAll('#notifications .msg').length;", json!([]));
    assert_eq!(rendered, json!(notifications.min(prodsim_report::html::ops::MAX_NOTIFICATIONS)));

    let (page, o) = write_run_page("scenarios/payment-outage.toml", "payment-outage");
    open_and_check(&d, &page, "payment-outage");
    check_interactions(&d, &component_names(&o));
    let queue = d.js("var u = window.prodsimReport.plots.retry_queue; return u ? Math.max.apply(null, u.data[1].filter(function (v) { return v != null; })) : null;", json!([]));
    assert!(queue.as_f64().is_some_and(|q| q > 0.0), "the retry queue is plotted and fills: {queue}");
    let failed = d.js("var u = window.prodsimReport.plots.latency; var s = u.series.findIndex(function (s) { return s.label === 'failed p99 (time to error)'; }); return s > 0 ? u.data[s].filter(function (v) { return v != null; }).length : -1;", json!([]));
    assert!(failed.as_i64().is_some_and(|n| n > 0), "failed requests' latency is drawn: {failed}");
    let classes = d.js("var u = window.prodsimReport.plots.classes; return u ? u.series.length - 1 : 0;", json!([]));
    assert_eq!(classes, json!(2 * o.system.classes.len()), "completed and failed per class");
    let drawn = d.js(LATENCY_DRAWN, json!(["classes_latency"]));
    assert_eq!(drawn, json!(2 * o.system.classes.len()), "p50 and p99 drawn for every class");
    let pool = d.js("var u = window.prodsimReport.plots.db_pool; return u ? u.series.slice(1).map(function (s) { return s.label; }) : null;", json!([]));
    assert_eq!(pool, json!(["connections in use", "calls waiting", "pool size"]), "the database pools are plotted");

    let (page, o) = write_run_page("scenarios/region-outage.toml", "region-outage");
    open_and_check(&d, &page, "region-outage");
    let mut names = component_names(&o);
    names.extend(o.system.regions.iter().map(|r| format!("region {}", r.name)));
    check_interactions(&d, &names);
    let regions = d.js("var u = window.prodsimReport.plots.regions; return u ? u.series.length - 1 : 0;", json!([]));
    assert_eq!(regions, json!(2 * o.system.regions.len()), "completed and failed per region");
    let drawn = d.js(LATENCY_DRAWN, json!(["regions_latency"]));
    assert_eq!(drawn, json!(2 * o.system.regions.len()), "p50 and p99 drawn for every region");
}

/// How many series of the panel named by the first argument have at least one value.
const LATENCY_DRAWN: &str = "var u = window.prodsimReport.plots[arguments[0]]; if (!u) { return -1; } return u.data.slice(1).filter(function (d) { return d.some(function (v) { return v != null; }); }).length;";

/// A description with markup: shown as text, never run.
const HOSTILE: &str = r#"
[scenario]
name = "hostile"
description = "<script>alert(1)</script> </script><!-- <img src=x onerror=alert(2)> & \"quotes\""
duration = "2m"
report_interval = "10s"
[[workload]]
name = "w"
rate = 50
[servers]
count = 2
workers = 2
service_time = "exp(5ms)"
"#;

#[test]
fn scenario_text_is_escaped_and_never_runs() {
    let dir = common::temp_dir("browser", "hostile");
    let file = dir.join("hostile.toml");
    std::fs::write(&file, HOSTILE).expect("scenario written");
    cargo_bin_cmd!("prodsim").args(["run", "--no-charts", "-q", "--out"]).arg(&dir).arg(&file).assert().success();
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(!html.contains("<script>alert(1)") && !html.contains("<img src=x"), "unescaped markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the description is shown as text");
    let Some(d) = driver_or_skip("scenario_text_is_escaped_and_never_runs") else { return };
    open_and_check(&d, &dir.join("report.html"), "hostile");
    let shown = d.js("return document.querySelector('.description').textContent;", json!([]));
    assert_eq!(
        shown.as_str().map(str::trim),
        Some(r#"<script>alert(1)</script> </script><!-- <img src=x onerror=alert(2)> & "quotes""#)
    );
    let dialog = d.js("return document.querySelectorAll('img').length;", json!([]));
    assert_eq!(dialog, json!(0), "no element was made from the description");
}

#[test]
fn no_html_skips_the_page_and_the_same_seed_writes_the_same_bytes() {
    let a = common::temp_dir("browser", "bytes-a");
    let b = common::temp_dir("browser", "bytes-b");
    let quick = common::repo_path("scenarios/quickstart.toml");
    for dir in [&a, &b] {
        cargo_bin_cmd!("prodsim")
            .args(["run", "--no-charts", "-q", "--duration", "10m", "--out"])
            .arg(dir)
            .arg(&quick)
            .assert()
            .success();
    }
    let (x, y) = (std::fs::read(a.join("report.html")).expect("a"), std::fs::read(b.join("report.html")).expect("b"));
    assert!(x == y, "report.html differs between two runs of one seed");
    let manifest = std::fs::read_to_string(a.join("manifest.json")).expect("manifest.json");
    assert!(manifest.contains("\"report.html\""), "the page is in the report set: {manifest}");
    let c = common::temp_dir("browser", "no-html");
    cargo_bin_cmd!("prodsim")
        .args(["run", "--no-html", "-q", "--duration", "10m", "--out"])
        .arg(&c)
        .arg(&quick)
        .assert()
        .success();
    assert!(!c.join("report.html").exists() && c.join("summary.json").exists());
}

#[test]
fn compare_sweep_and_check_reports_draw_in_a_real_browser() {
    let root = common::temp_dir("browser", "lab");
    let quick = common::repo_path("scenarios/quickstart.toml");
    let compare = root.join("compare");
    cargo_bin_cmd!("prodsim")
        .args([
            "compare",
            "--strategies",
            "round_robin,weighted_round_robin,least_connections",
            "-n",
            "3",
            "--duration",
            "15m",
            "--no-charts",
            "-q",
            "--out",
        ])
        .arg(&compare)
        .arg(&quick)
        .assert()
        .success();
    let sweep = root.join("sweep");
    cargo_bin_cmd!("prodsim")
        .args(["sweep", "--param", "servers.count=3,4,5", "-n", "2", "--duration", "10m", "--no-charts", "-q", "--out"])
        .arg(&sweep)
        .arg(&quick)
        .assert()
        .success();
    let check = root.join("check");
    cargo_bin_cmd!("prodsim")
        .args([
            "check",
            "scenarios/checkout-fragile.toml",
            "--cases",
            "32",
            "--seed",
            "7",
            "--jobs",
            "2",
            "-q",
            "--out",
        ])
        .arg(&check)
        .current_dir(common::repo_path(""))
        .assert()
        .failure();
    let compare_html = std::fs::read_to_string(compare.join("report.html")).expect("compare report.html");
    assert!(
        compare_html.contains("class=\"sig\"") || compare_html.contains("class=\"nsig\""),
        "the table marks significance"
    );
    let check_html = std::fs::read_to_string(check.join("check/report.html")).expect("check report.html");
    assert!(
        check_html.contains("--replay") && check_html.contains("Fault space"),
        "the check page has its replay command"
    );
    let Some(d) = driver_or_skip("compare_sweep_and_check_reports_draw_in_a_real_browser") else { return };
    open_and_check(&d, &compare.join("report.html"), "compare");
    let tail = d.js(
        "var u = window.prodsimReport.plots.tail; return [u.scales.x.distr, u.scales.y.distr, u.series.length];",
        json!([]),
    );
    assert_eq!(tail, json!([3, 3, 4]), "the tail is 1 − CDF on log axes, one series per variant");
    open_and_check(&d, &sweep.join("report.html"), "sweep");
    open_and_check(&d, &check.join("check/report.html"), "check");
    let drawn = d.js("return Object.keys(window.prodsimReport.plots).indexOf('requests') >= 0;", json!([]));
    assert_eq!(drawn, json!(true), "the counterexample's timeline is drawn");
}

/// The payment outage stretched over a day (a fiftieth of the traffic, a row every 10 s:
/// 8,640 rows, drawn as 1,440 points): the page stays under 5 MB, writing it costs under
/// 10% of the run, and it opens in under 2 s.
#[test]
fn a_day_long_report_is_small_and_opens_fast() {
    let text = std::fs::read_to_string(common::repo_path("scenarios/payment-outage.toml")).expect("scenario");
    let text = text
        .replace("duration = \"1h20m\"", "duration = \"24h\"")
        .replace("report_interval = \"30s\"", "report_interval = \"10s\"")
        .replace("\nrate = 1000\n", "\nrate = 20\n");
    let scenario = common::from_text(&text);
    assert_eq!(scenario.duration_ns, 86_400 * 1_000_000_000, "the day is set");
    let started = Instant::now();
    let outcome = common::run_own_seed(&scenario);
    let run_s = started.elapsed().as_secs_f64();
    let verdicts = prodsim_report::expect::evaluate(&scenario.expectations, &outcome);
    let started = Instant::now();
    let dir = common::temp_dir("browser", "day");
    let page = prodsim_report::html::write_run(&dir, &scenario, &outcome, &verdicts).expect("written");
    let html_s = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&page).expect("page").len();
    eprintln!(
        "a day: {} rows, report.html {bytes} bytes, written in {:.3} s = {:.2}% of the run's {run_s:.2} s",
        outcome.rows.len(),
        html_s,
        html_s / run_s * 100.0
    );
    assert!(bytes < 5_000_000, "report.html of a day is {bytes} bytes");
    assert!(html_s < run_s * 0.10, "writing report.html took {html_s:.3} s of a {run_s:.2} s run");
    let Some(d) = driver_or_skip("a_day_long_report_is_small_and_opens_fast") else { return };
    let ms = open_and_check(&d, &page, "payment-outage-day");
    eprintln!("a day: drawn {ms:.0} ms after the page started loading");
    assert!(ms < 2000.0, "the day's report took {ms:.0} ms to draw");
}
