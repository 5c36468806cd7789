//! Live mode (`prodsim live`, crates/live): an M/M/8 at ρ = 0.8 served by real HTTP
//! services over loopback agrees with its simulation within 5% on mean latency and
//! P(wait); every service's `/metrics` is valid Prometheus text (checked by `promtool
//! check metrics` when installed) under the catalog's names; the balancer runs the
//! scenario's strategy; too-big scenarios and sections live mode does not build are refused
//! with a message that says why; closed users think and wait live as simulated.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_live::{LiveOutcome, Options};

use crate::common::{self, repo_path, temp_dir};
use crate::prometheus::tool;

/// `prodsim live` on `file` with `args`: exit code, stdout, stderr.
fn live(file: &Path, args: &[&str]) -> (i32, String, String) {
    let out = cargo_bin_cmd!("prodsim").arg("live").arg(file).args(args).output().expect("prodsim runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// 6 scenario minutes at a 0.15 time scale: 54 s of wall time, some 1,900 measured
/// requests with a mean service of 150 ms of wall time. What the real system adds per
/// request (loopback, wake-ups: about 2 ms on this 2-core machine under parallel builds
/// or the rest of the test suite) is then under 2% of the mean latency. Live and simulated runs see the
/// same arrivals and the same work (the same streams), so they differ by that, not by
/// sampling noise: the 5% bounds hold with room, and a broken queue (P(wait) 0 or 1, a
/// worker lost, service not held) misses them by far.
#[test]
fn mm8_at_rho_08_live_agrees_with_the_simulation() {
    let dir = temp_dir("live", "mm8");
    let file = repo_path("scenarios/theory/mm8-live.toml");
    let (code, stdout, stderr) =
        live(&file, &["--time-scale", "0.15", "--duration", "6m", "--compare", "--out", dir.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("wait.probability") && stdout.contains("agree on every row"), "{stdout}");
    let live = json(&dir.join("summary.json"));
    let mut scenario = common::scenario("scenarios/theory/mm8-live.toml");
    scenario.duration_ns = 6 * 60 * 1_000_000_000;
    let sim = prodsim_model::simulate(&scenario, scenario.seed).expect("simulates");
    let completed = live["requests"]["completed"].as_u64().expect("completed");
    assert!(completed > 1_500, "too few requests for a 5% comparison: {completed}");
    let mean = live["latency_ms"]["mean"].as_f64().expect("mean");
    let sim_mean = sim.latency.mean_ms().expect("sim mean");
    assert!((mean / sim_mean - 1.0).abs() < 0.05, "mean latency live {mean} ms, simulated {sim_mean} ms");
    let p_wait = live["wait"]["probability"].as_f64().expect("P(wait)");
    let sim_p_wait = sim.waiting.probability().expect("sim P(wait)");
    assert!((p_wait / sim_p_wait - 1.0).abs() < 0.05, "P(wait) live {p_wait}, simulated {sim_p_wait}");
    assert_eq!(live["mode"], "live");
    assert!(live["classes"]["default"]["latency_ms"]["p99"].is_number(), "{live}");
}

/// Two app servers behind round robin at full speed, briefly: each service's `/metrics`
/// scraped over HTTP at the end of the run.
fn small_run() -> LiveOutcome {
    let s = common::from_text(
        r#"
[scenario]
name = "live-metrics"
duration = "3s"
warmup = "500ms"

[[workload]]
name = "w"
rate = 200

[servers]
count = 2
workers = 4
service_time = "exp(2ms)"

[balancer]
strategy = "round_robin"
"#,
    );
    prodsim_live::run(&s, Options::at_scale(1.0)).expect("runs live")
}

#[test]
fn metrics_endpoints_speak_prometheus_and_the_balancer_runs_the_strategy() {
    let o = small_run();
    assert!(o.measure.all.counts.completed > 300, "{:?}", o.measure.all.counts);
    let names: Vec<&str> = o.scrapes.iter().map(|s| s.instance.as_str()).collect();
    assert_eq!(names, ["lb-0", "server-0", "server-1"]);
    let served = |text: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with("http_requests_total{") && l.contains("code=\"200\""))
            .unwrap_or_else(|| panic!("no http_requests_total: {text}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a count")
    };
    let (a, b) = (served(&o.scrapes[1].text), served(&o.scrapes[2].text));
    // Round robin alternates: the two servers' counts differ by at most one.
    assert!(a.abs_diff(b) <= 1 && a > 100, "server-0 {a}, server-1 {b}");
    assert_eq!(served(&o.scrapes[0].text), a + b, "the proxy forwarded every served request");
    for s in &o.scrapes {
        for family in prodsim_live::metrics::EXPORTED {
            assert!(s.text.contains(&format!("# TYPE {family} ")), "{}: no {family}\n{}", s.instance, s.text);
        }
    }
    let Some(promtool) = tool("promtool") else { return };
    let dir = temp_dir("live", "promtool");
    for s in &o.scrapes {
        let path = dir.join(format!("{}.prom", s.instance));
        std::fs::write(&path, &s.text).expect("write scrape");
        let out = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&path).expect("open"))
            .output()
            .expect("promtool runs");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "promtool check metrics on {}: {said}\n{}", s.instance, s.text);
    }
}

fn refused(name: &str, text: &str, args: &[&str]) -> String {
    let dir = temp_dir("live", name);
    let file = dir.join("s.toml");
    std::fs::write(&file, text).expect("write scenario");
    let (code, stdout, stderr) = live(&file, args);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(!dir.join("live").exists(), "nothing is written for a refused run");
    stderr
}

const TINY: &str = "[scenario]\nname = \"t\"\nduration = \"10s\"\n\n[[workload]]\nname = \"w\"\nrate = 50\n\n[servers]\ncount = 1\nworkers = 2\nservice_time = \"exp(10ms)\"\n";

#[test]
fn too_big_scenarios_are_refused_with_a_scale_that_fits() {
    let text = TINY.replace("rate = 50", "rate = 30000");
    let stderr = refused("big", &text, &["--time-scale", "1"]);
    assert!(stderr.contains("too big to run live"), "{stderr}");
    assert!(stderr.contains("30000 requests per wall-clock second"), "{stderr}");
    assert!(stderr.contains("--time-scale 20 or more would fit"), "{stderr}");
    let text = TINY.replace("count = 1", "count = 500");
    let stderr = refused("many", &text, &[]);
    assert!(stderr.contains("500 app servers") && stderr.contains("at most 200"), "{stderr}");
}

#[test]
fn sections_live_mode_does_not_build_are_refused_by_name() {
    let text =
        format!("{TINY}\n[[faults]]\nkind = \"memory_leak\"\ntarget = \"server-0\"\nmb_per_s = 10\nat = \"2s\"\n");
    let stderr = refused("faults", &text, &[]);
    assert!(stderr.contains("not yet: live mode does not support [[faults]]"), "{stderr}");
    let stderr = refused("scale", TINY, &["--time-scale", "-1"]);
    assert!(stderr.contains("--time-scale must be a positive number"), "{stderr}");
}

/// A slowdown of one app server and a traffic spike, on the wall clock: two servers
/// behind round robin (which routes live as it does simulated), 20 s at full speed with
/// 200 ms mean work, so what the real system adds (a few ms) stays a small share. Live and
/// simulated runs agree on the requests sent (the spike) and on mean latency (the
/// slowdown stretches the same work in both).
#[test]
fn slowdowns_and_traffic_spikes_run_on_the_wall_clock() {
    let dir = temp_dir("live", "faults");
    let file = dir.join("faults.toml");
    let text = r#"
[scenario]
name = "live-faults"
seed = 3
duration = "20s"
warmup = "1s"

[[workload]]
name = "w"
rate = 10

[servers]
count = 2
workers = 4
service_time = "exp(200ms)"

[balancer]
strategy = "round_robin"

[[faults]]
kind = "traffic_spike"
target = "workload"
factor = 2
at = "5s"
duration = "5s"

[[faults]]
kind = "slowdown"
target = "server-0"
factor = 3
at = "5s"
duration = "10s"
"#;
    std::fs::write(&file, text).expect("write scenario");
    let out = dir.join("out");
    let (code, stdout, stderr) = live(&file, &["--compare", "--out", out.to_str().expect("utf-8")]);
    let s = json(&out.join("summary.json"));
    let sim = prodsim_model::simulate(&common::from_text(text), 3).expect("simulates");
    let arrived = s["requests"]["arrived"].as_u64().expect("arrived");
    assert_eq!(arrived, sim.requests.arrived, "the spike sends the simulation's requests\n{stdout}");
    assert!(arrived > 220, "10/s for 19 s plus 50 from the spike: {arrived}");
    let (mean, sim_mean) = (s["latency_ms"]["mean"].as_f64().expect("mean"), sim.latency.mean_ms().expect("mean"));
    assert!((mean / sim_mean - 1.0).abs() < 0.05, "mean latency live {mean} ms, simulated {sim_mean} ms\n{stdout}");
    assert!(sim_mean > 250.0, "the slowdown shows in the mean: {sim_mean} ms");
    assert_eq!(s["faults"][1]["kind"], "slowdown", "{s}");
    assert!(code == 0 || stdout.contains("EXCEEDED"), "{stdout}\n{stderr}");
}

const CLOSED: &str = r#"
[scenario]
name = "live-closed"
seed = 11
duration = "30s"
warmup = "2s"

[[workload]]
name = "users"
users = 20
think_time = "exp(400ms)"

[servers]
count = 1
workers = 4
service_time = "exp(100ms)"
"#;

/// A closed workload live: 20 users who think 400 ms between an answer and their next
/// request, on 4 workers of 100 ms mean work (demand 40/s at most, the capacity 40/s, so
/// the users queue). Live and simulated runs agree on throughput and mean latency
/// (within 7% and 12%: the users' requests get their keys in the order they are sent,
/// which differs between the two, so unlike the open runs they are two samples of the same
/// system, not one), and the live run obeys Little's law over the loop: N = X (R + Z).
#[test]
fn closed_users_think_and_wait_live_as_simulated() {
    let dir = temp_dir("live", "closed");
    let file = dir.join("closed.toml");
    std::fs::write(&file, CLOSED).expect("write scenario");
    let out = dir.join("out");
    let (code, stdout, stderr) = live(&file, &["--out", out.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let s = json(&out.join("summary.json"));
    let sim = prodsim_model::simulate(&common::from_text(CLOSED), 11).expect("simulates");
    let completed = s["requests"]["completed"].as_u64().expect("completed") as f64;
    let sim_completed = sim.requests.completed as f64;
    assert!(sim_completed > 800.0, "{sim_completed}");
    assert!((completed / sim_completed - 1.0).abs() < 0.07, "completed live {completed}, simulated {sim_completed}");
    let (mean, sim_mean) = (s["latency_ms"]["mean"].as_f64().expect("mean"), sim.latency.mean_ms().expect("mean"));
    assert!((mean / sim_mean - 1.0).abs() < 0.12, "mean latency live {mean} ms, simulated {sim_mean} ms");
    // Little's law over the whole loop, in the measured 28 s.
    let throughput = completed / 28.0;
    let users = throughput * (mean + 400.0) / 1000.0;
    assert!((users / 20.0 - 1.0).abs() < 0.1, "N = X (R + Z) gives {users} users, not 20");
}

#[test]
fn closed_workloads_too_many_users_or_no_think_time_are_refused() {
    let text = CLOSED.replace("exp(400ms)", "const(0ms)");
    let stderr = refused("closed-zero", &text, &[]);
    assert!(stderr.contains("think time `const(0s)` has no positive mean"), "{stderr}");
    let text = CLOSED.replace("users = 20", "users = 20000");
    let stderr = refused("closed-many", &text, &[]);
    assert!(stderr.contains("20000 users in closed workloads") && stderr.contains("at most 10000"), "{stderr}");
    // 20 users thinking 1 ms send up to 20,000 requests a second: a time scale fits.
    let text = CLOSED.replace("exp(400ms)", "exp(1ms)");
    let stderr = refused("closed-fast", &text, &[]);
    assert!(stderr.contains("--time-scale 10 or more would fit"), "{stderr}");
}

const DEADLINE: &str = r#"
[scenario]
name = "live-timeout"
seed = 5
duration = "20s"
warmup = "1s"

[[workload]]
name = "w"
rate = 19

[servers]
count = 1
workers = 2
service_time = "exp(100ms)"
timeout = "300ms"
"#;

/// `[servers].timeout` live: two workers of 100 ms at ρ = 0.95 with a 300 ms client
/// deadline, so about a quarter of the requests time out, most of them dropped unserved
/// in the queue (504) and the rest answered late. Live and simulated runs see the same
/// arrivals and work, and agree on the timeouts within two percentage points.
#[test]
fn client_deadlines_drop_waiting_requests_live_as_simulated() {
    let dir = temp_dir("live", "deadline");
    let file = dir.join("deadline.toml");
    std::fs::write(&file, DEADLINE).expect("write scenario");
    let out = dir.join("out");
    let (code, stdout, stderr) = live(&file, &["--compare", "--out", out.to_str().expect("utf-8")]);
    let s = json(&out.join("summary.json"));
    let sim = prodsim_model::simulate(&common::from_text(DEADLINE), 5).expect("simulates");
    let arrived = s["requests"]["arrived"].as_u64().expect("arrived") as f64;
    let timed_out = s["requests"]["timed_out"].as_u64().expect("timed_out") as f64;
    let sim_share = sim.requests.timed_out as f64 / sim.requests.arrived as f64;
    assert!(sim_share > 0.15, "the deadline bites: {sim_share}");
    assert!(
        (timed_out / arrived - sim_share).abs() < 0.02,
        "timed out live {timed_out}/{arrived}, simulated {sim_share}"
    );
    assert!(code == 0 || stdout.contains("EXCEEDED"), "{stdout}\n{stderr}");
}

const CRASH: &str = r#"
[scenario]
name = "live-crash"
seed = 9
duration = "40s"
warmup = "2s"
report_interval = "5s"

[[workload]]
name = "w"
rate = 60

[servers]
count = 4
workers = 4
service_time = "exp(100ms)"
restart_after = "10s"

[balancer]
strategy = "round_robin"

[[faults]]
kind = "crash"
target = "server-1"
at = "10s"
"#;

/// A crash live: server-1 of four behind round robin dies 10 s in and its supervisor
/// brings it back 10 s later. Without health checks it keeps its share of the requests,
/// which fail at once, as do the ones it held when it died; then it serves again. Live and
/// simulated runs fail the same requests (within a few at the edges of the window) and
/// agree on availability within a tenth of a percentage point.
#[test]
fn a_crashed_server_fails_its_requests_until_it_restarts_live_as_simulated() {
    let dir = temp_dir("live", "crash");
    let file = dir.join("crash.toml");
    std::fs::write(&file, CRASH).expect("write scenario");
    let out = dir.join("out");
    let (code, stdout, stderr) =
        live(&file, &["--compare", "--time-scale", "0.5", "--out", out.to_str().expect("utf-8")]);
    let s = json(&out.join("summary.json"));
    let sim = prodsim_model::simulate(&common::from_text(CRASH), 9).expect("simulates");
    let failed = s["requests"]["failed"].as_u64().expect("failed");
    assert!(sim.requests.failed > 120, "a quarter of 10 s of 60/s fails: {}", sim.requests.failed);
    assert!(
        failed.abs_diff(sim.requests.failed) <= 6,
        "failed live {failed}, simulated {}\n{stdout}",
        sim.requests.failed
    );
    let availability = s["availability"].as_f64().expect("availability");
    let sim_availability = sim.requests.availability().expect("requests finished");
    eprintln!(
        "crash: failed live {failed}, simulated {}; availability live {availability:.4}, simulated {sim_availability:.4}",
        sim.requests.failed
    );
    assert!((availability - sim_availability).abs() < 0.001, "live {availability}, simulated {sim_availability}");
    assert!(code == 0 || stdout.contains("EXCEEDED"), "{stdout}\n{stderr}");
    timeseries_agree(&out.join("timeseries.csv"), &sim);
}

/// The live `timeseries.csv` has the simulation's columns and rows: the same arrivals in
/// every interval (the same arrival process), failures within a few, utilization within
/// five points.
fn timeseries_agree(path: &Path, sim: &prodsim_model::outcome::Outcome) {
    let text = std::fs::read_to_string(path).expect("timeseries.csv");
    let sim_text = prodsim_report::timeseries::to_csv(sim);
    let parse =
        |t: &str| -> Vec<Vec<String>> { t.lines().map(|l| l.split(',').map(str::to_string).collect()).collect() };
    let (live, simulated) = (parse(&text), parse(&sim_text));
    assert_eq!(live[0], simulated[0], "the same columns");
    assert_eq!(live.len(), simulated.len(), "the same rows\n{text}\n{sim_text}");
    let col = |name: &str| live[0].iter().position(|c| c == name).expect("column");
    let (arrivals, failures, utilization) = (col("arrivals"), col("failures"), col("utilization"));
    for (l, s) in live.iter().zip(&simulated).skip(1) {
        assert_eq!(l[arrivals], s[arrivals], "arrivals\n{text}\n{sim_text}");
        let (lf, sf): (u64, u64) = (l[failures].parse().expect("n"), s[failures].parse().expect("n"));
        assert!(lf.abs_diff(sf) <= 6, "failures {lf} live, {sf} simulated\n{text}\n{sim_text}");
        let (lu, su): (f64, f64) = (l[utilization].parse().expect("u"), s[utilization].parse().expect("u"));
        assert!((lu - su).abs() < 0.05, "utilization {lu} live, {su} simulated\n{text}\n{sim_text}");
    }
}
