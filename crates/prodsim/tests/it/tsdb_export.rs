//! `run --tsdb DIR` against a real Prometheus: promtool reads the block back sample for
//! sample, and a Prometheus server started on the directory sees a crashed server's series
//! end when it crashed (the staleness markers the OpenMetrics export cannot carry), where
//! the same samples backfilled from OpenMetrics linger for the 5-minute lookback. Needs
//! Debian's `prometheus` (promtool and the server); without it the test says so and passes,
//! unless `PRODSIM_REQUIRE_PROMTOOL=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;

use crate::common;
use crate::prometheus::tool;

/// `alert-fatigue` crashes server-2 at 9h30m (34,200 s of simulated time).
const CRASH_S: u64 = 9 * 3600 + 30 * 60;

/// A Prometheus server on a copy of a data directory, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(prometheus: &Path, data: &Path, scratch: &Path) -> Server {
    let config = scratch.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 15s\n").expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::fs::File::create(scratch.join("prometheus.log")).expect("log"))
        .stderr(std::fs::File::create(scratch.join("prometheus.err")).expect("log"))
        .spawn()
        .expect("prometheus starts");
    Server { child, url: format!("http://127.0.0.1:{port}") }
}

/// The result of `expr` at `time_s` as promtool prints it in JSON, waiting up to 60 s for the
/// server to answer.
fn query(promtool: &Path, server: &Server, expr: &str, time_s: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new(promtool)
            .args(["query", "instant", "-o", "json", &format!("--time={time_s}"), &server.url, expr])
            .output()
            .expect("promtool runs");
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).expect("promtool prints JSON");
        }
        assert!(Instant::now() < deadline, "Prometheus did not answer: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The value of a one-element vector result, or `None` for an empty one.
fn scalar(result: &serde_json::Value) -> Option<f64> {
    let v = result.as_array().expect("a vector").first()?;
    v["value"][1].as_str().and_then(|s| s.parse().ok())
}

fn export(dir: &Path) -> (PathBuf, PathBuf) {
    let (tsdb, om) = (dir.join("tsdb"), dir.join("metrics.om"));
    cargo_bin_cmd!("prodsim")
        .arg("run")
        .arg(common::repo_path("scenarios/alert-fatigue.toml"))
        .args(["--duration", "9h45m", "--no-charts", "--no-html", "-q", "--out"])
        .arg(dir.join("report"))
        .arg("--tsdb")
        .arg(&tsdb)
        .arg("--metrics")
        .arg(&om)
        .assert()
        .success();
    (tsdb, om)
}

#[test]
fn a_tsdb_export_serves_the_run_in_prometheus_with_staleness() {
    let (Some(promtool), Some(prometheus)) = (tool("promtool"), tool("prometheus")) else { return };
    let dir = common::temp_dir("tsdb", "export");
    let (tsdb, om) = export(&dir);
    block_dir(&tsdb);

    // promtool reads back every sample: those of the OpenMetrics file plus the markers.
    let dump = Command::new(&promtool).args(["tsdb", "dump"]).arg(&tsdb).output().expect("promtool tsdb dump");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let dumped = String::from_utf8_lossy(&dump.stdout);
    let om_text = std::fs::read_to_string(&om).expect("metrics.om");
    let om_samples: Vec<&str> = om_text.lines().filter(|l| !l.starts_with('#')).collect();
    let is_nan = |l: &str| l.contains(" NaN ");
    let dumped_nan = dumped.lines().filter(|l| is_nan(l)).count();
    let om_nan = om_samples.iter().filter(|l| is_nan(l)).count();
    assert_eq!(dumped.lines().count() - dumped_nan, om_samples.len() - om_nan, "every sample read back");
    assert!(dumped_nan > om_nan, "server-2's series end in staleness markers");

    // A Prometheus on the block sees server-2's series end at the crash.
    let scratch = common::temp_dir("tsdb", "server");
    let data = scratch.join("data");
    copy_dir(&tsdb, &data);
    let server = start(&prometheus, &data, &scratch);
    let expr = r#"count({instance="server-2", __name__!~"up|ALERTS.*"})"#;
    let before = scalar(&query(&promtool, &server, expr, CRASH_S - 60));
    assert!(before.is_some_and(|n| n > 0.0), "server-2 has series before its crash: {before:?}");
    assert_eq!(scalar(&query(&promtool, &server, expr, CRASH_S + 60)), None, "gone a minute after the crash");
    drop(server);

    // Backfilled from OpenMetrics, the same series linger for the lookback.
    let backfill = scratch.join("backfill");
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&backfill)
        .output()
        .expect("promtool backfills");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = start(&prometheus, &backfill, &scratch);
    let lingering = scalar(&query(&promtool, &server, expr, CRASH_S + 60));
    assert!(lingering.is_some_and(|n| n > 0.0), "without markers the series stay for 5 minutes: {lingering:?}");
}

#[test]
fn the_same_run_exports_the_same_block() {
    let dir = common::temp_dir("tsdb", "twice");
    let (first, _) = export(&dir);
    let read = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let block = block_dir(d);
        let mut files = vec![];
        for name in ["meta.json", "index", "tombstones", "chunks/000001"] {
            files.push((
                format!("{}/{name}", block.file_name().expect("name").to_string_lossy()),
                std::fs::read(block.join(name)).expect(name),
            ));
        }
        files
    };
    let a = read(&first);
    let (second, _) = export(&dir);
    assert!(a == read(&second), "byte-identical blocks");
}

/// The one block in a data directory (beside its empty `wal`).
fn block_dir(data: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(data).expect("tsdb dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "a block and wal/: {entries:?}");
    assert!(entries[1].ends_with("wal"), "{entries:?}");
    entries.swap_remove(0)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let path = e.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

#[test]
fn a_tsdb_export_without_monitoring_is_a_clear_error() {
    let dir = common::temp_dir("tsdb", "none");
    let out = cargo_bin_cmd!("prodsim")
        .arg("run")
        .arg(common::repo_path("scenarios/quickstart.toml"))
        .arg("--tsdb")
        .arg(dir.join("tsdb"))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tsdb") && stderr.contains("no monitoring"), "{stderr}");
    assert!(!dir.join("tsdb").exists(), "nothing written");
}
