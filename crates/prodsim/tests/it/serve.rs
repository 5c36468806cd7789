//! `prodsim serve` end to end: the binary over real HTTP on loopback (pause and resume,
//! speed, acknowledging a page, rolling back, an impossible action and malformed JSON
//! refused with a message, finishing, Ctrl-C; degrading a service and shipping the
//! scenario's hotfix, a misspelt service and a hotfix the scenario lacks refused), the
//! replay of its `session.json` by `prodsim run --actions` to a byte-identical
//! summary.json, what degrading and hotfixing save, stepping a
//! `prodsim_model::Session` in many steps giving the one run, and the page in headless
//! chromium (the clock advances, a click acknowledges and rolls back and the error ratio
//! falls; another degrades the service chosen in the list and ships the hotfix).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;
use prodsim_kernel::SimTime;
use prodsim_model::Session;
use prodsim_model::session::Action;
use serde_json::{Value, json};

use crate::common;
use crate::webdriver::driver_or_skip;

/// A shop whose release at 3m fails a quarter of its requests, with no health check to
/// stop it: HighErrorRate pages the on-call (the player), who can roll it back.
const GAME: &str = r#"
[scenario]
name = "game-day"
seed = 5
duration = "20m"
warmup = "30s"
report_interval = "10s"

[[workload]]
name = "shoppers"
rate = 200

[servers]
count = 4
workers = 32
service_time = "exp(5ms)"

[monitoring]
ready_rules = true

[slo]
objective = 0.999

[pipeline]
initial_version = "v1"
deploy_time = "10s"
rollback = "30s"

[[deploys]]
version = "v2"
at = "3m"
strategy = "all_at_once"
[deploys.effects]
error_rate = 0.25

[oncall]
[[oncall.responders]]
name = "alice"
hours = "always"
ack = "2m"

[[playbooks]]
alert = "HighErrorRate"
action = "rollback"
duration = "1m"
"#;

/// A shop whose recommendations service stops answering from 2m to 12m (every browse
/// fails), with a hotfix playbook that degrades around it: the player can degrade the
/// service at run time or ship the hotfix.
const DEPS: &str = r#"
[scenario]
name = "game-day-deps"
seed = 7
duration = "15m"
warmup = "30s"
report_interval = "10s"

[[workload]]
name = "shoppers"
rate = 100

[servers]
count = 4
workers = 32

[[requests]]
name = "browse"
weight = 1.0
steps = [
  { cpu = "exp(2ms)" },
  { call = "recommendations", timeout = "200ms" },
  { call = "search", timeout = "500ms" },
]

[services.recommendations]
instances = 2
workers = 16
latency = "exp(10ms)"

[services.search]
instances = 2
workers = 16
latency = "exp(5ms)"

[[faults]]
kind = "timeouts"
target = "recommendations"
at = "2m"
duration = "10m"

[monitoring]
ready_rules = true

[slo]
objective = 0.999

[pipeline]
initial_version = "v1"
deploy_time = "10s"
rollback = "30s"

[oncall]
[[oncall.responders]]
name = "alice"
hours = "always"
ack = "2m"

[[playbooks]]
alert = "HighErrorRate"
action = "hotfix"
duration = "2m"
version = "v1.1"
[playbooks.effects]
degrade = ["recommendations"]
"#;

/// The game scenario written to `dir`.
fn game_file(dir: &Path) -> PathBuf {
    scenario_file(dir, "game-day.toml", GAME)
}

/// `text` written to `dir/name`.
pub(crate) fn scenario_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("scenario written");
    path
}

/// `prodsim run FILE --actions SESSION --out OUT`; the replay's summary.json is identical
/// to `game`'s.
pub(crate) fn assert_replays(file: &Path, session: &Path, game: &Path, out: &Path) {
    cargo_bin_cmd!("prodsim")
        .args(["run", &file.display().to_string(), "--quiet", "--no-html", "--no-charts", "--actions"])
        .arg(session)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    let a = std::fs::read(game.join("summary.json")).unwrap();
    let b = std::fs::read(out.join("summary.json")).unwrap();
    assert!(a == b, "the replay's summary.json differs from the game's");
}

/// A `prodsim serve` child and the port it listens on; stopped with SIGINT on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(file: &Path, out: &Path, speed: &str) -> Server {
        let bin = assert_cmd::cargo::cargo_bin!("prodsim");
        let mut child = Command::new(bin)
            .args(["serve", &file.display().to_string(), "--port", "0", "--speed", speed, "--out"])
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("prodsim serve starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut line).expect("the address line");
        let port: u16 = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        // Keep reading stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
        });
        Server { child, port }
    }

    /// One request; the status and the JSON body.
    pub(crate) fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = http(self.port, method, path, body);
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        (status, v)
    }

    pub(crate) fn state(&self) -> Value {
        self.call("GET", "/api/state", "").1
    }

    /// Waits until `done(state)` holds.
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let s = self.state();
            if done(&s) {
                return s;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never {what}: {s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C, and the exit status.
    pub(crate) fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "serve did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on loopback; the status and the body.
pub(crate) fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, body.to_string())
}

pub(crate) fn time_s(state: &Value) -> f64 {
    state["time_s"].as_f64().expect("time_s")
}

#[test]
fn a_game_day_over_http_replays_to_the_same_summary() {
    let dir = common::temp_dir("serve", "http");
    let file = game_file(&dir);
    let out = dir.join("game");
    let server = Server::start(&file, &out, "20");
    // Nothing is live but the first version yet: rolling back is impossible, and says so.
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"rollback"}"#);
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no release to roll back"), "{v}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action": "rollbak"}"#);
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("did you mean `rollback`"), "{v}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action": "#);
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("malformed JSON body"), "{v}");
    let (status, v) = server.call("POST", "/api/speed", r#"{"speed": -3}"#);
    assert_eq!((status, v["error"].as_str().is_some()), (400, true), "{v}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"acknowledge"}"#);
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no page is open"), "{v}");
    // No [[playbooks]] hotfix, no [[services]]: neither is there to ship or degrade.
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"hotfix"}"#);
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("the scenario defines no hotfix"), "{v}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"degrade","dependency":"payments"}"#);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"], json!("degrade: no service `payments`: the scenario has no [[services]]"));
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"degrade"}"#);
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("needs `dependency`"), "{v}");

    // Paused, the clock stands still; resumed, it runs again.
    let (status, paused) = server.call("POST", "/api/pause", "");
    assert_eq!((status, paused["paused"].clone()), (200, json!(true)));
    let t1 = time_s(&paused);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(time_s(&server.state()), t1, "the clock moved while paused");
    server.call("POST", "/api/resume", "");
    let (status, v) = server.call("POST", "/api/speed", r#"{"speed": 600}"#);
    assert_eq!((status, v["speed"].as_f64()), (200, Some(600.0)));
    server.wait_for("advances", |s| time_s(s) > t1);

    // The release pages the player, who acknowledges and rolls back.
    let paged = server.wait_for("pages", |s| s["live_score"]["pages"].as_u64().unwrap_or(0) >= 1);
    server.call("POST", "/api/pause", "");
    let (status, ack) = server.call("POST", "/api/action", r#"{"action":"acknowledge"}"#);
    assert_eq!(status, 200, "{ack}");
    let (status, rb) = server.call("POST", "/api/action", r#"{"action":"rollback"}"#);
    assert_eq!(status, 200, "{rb}");
    assert_eq!(rb["done"]["note"], json!("rollback started"));
    assert!(rb["done"]["time_s"].as_f64().unwrap() >= time_s(&paged));
    let state = server.state();
    assert_eq!(state["live_score"]["acknowledged"], json!(1), "{state}");
    server.call("POST", "/api/resume", "");

    let (status, fin) = server.call("POST", "/api/finish", "");
    assert_eq!(status, 200, "{fin}");
    let written: Vec<&str> = fin["written"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(written.iter().any(|w| w.ends_with("session.json")), "{fin}");
    assert!(fin["score"]["mtta_s"].as_f64().is_some(), "the player's acknowledgement counts: {fin}");
    assert!(server.interrupt().success(), "Ctrl-C ends serve with 0");

    let session: Value = serde_json::from_str(&std::fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        session["actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["acknowledge", "rollback"]);
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["deploys"][0]["rolled_back_by"], json!("player"), "{}", summary["deploys"]);
    assert_eq!(summary["pages"][0]["acknowledged_by"], json!("player"), "{}", summary["pages"]);

    // The replay gives the same summary.json, byte for byte.
    assert_replays(&file, &out.join("session.json"), &out, &dir.join("replay"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn degrade_and_hotfix_over_http_replay_to_the_same_summary() {
    let dir = common::temp_dir("serve", "deps");
    let file = scenario_file(&dir, "deps.toml", DEPS);
    let out = dir.join("game");
    let server = Server::start(&file, &out, "20");
    server.call("POST", "/api/pause", "");
    let state = server.state();
    assert_eq!(state["services"], json!(["recommendations", "search"]), "{state}");
    assert_eq!(state["hotfixes"], json!(["v1.1"]), "{state}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"degrade","dependency":"recomendations"}"#);
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["error"],
        json!(
            "degrade: no service `recomendations` (did you mean `recommendations`?); \
             the services are recommendations, search"
        )
    );
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"degrade","dependency":"recommendations"}"#);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["done"]["dependency"], json!("recommendations"), "{v}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"degrade","dependency":"recommendations"}"#);
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("recommendations is already degraded"), "{v}");

    let t1 = time_s(&server.state());
    server.call("POST", "/api/speed", r#"{"speed": 600}"#);
    server.call("POST", "/api/resume", "");
    server.wait_for("advances a minute", |s| time_s(s) > t1 + 60.0);
    server.call("POST", "/api/pause", "");
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"hotfix"}"#);
    assert_eq!(status, 200, "{v}");
    assert!(v["done"]["note"].as_str().unwrap().starts_with("writing hotfix v1.1 (2.0 min)"), "{v}");
    let (status, v) = server.call("POST", "/api/action", r#"{"action":"hotfix"}"#);
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("hotfix v1.1 is already being written"), "{v}");
    let (status, fin) = server.call("POST", "/api/finish", "");
    assert_eq!(status, 200, "{fin}");
    assert!(server.interrupt().success(), "Ctrl-C ends serve with 0");

    let session: Value = serde_json::from_str(&std::fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    let actions = session["actions"].as_array().unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["degrade", "hotfix"]);
    assert_eq!(actions[0]["dependency"], json!("recommendations"));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let deploy = &summary["deploys"][0];
    assert_eq!(
        (&deploy["version"], &deploy["by"], &deploy["hotfix"]),
        (&json!("v1.1"), &json!("player"), &json!(true))
    );
    assert_eq!(deploy["outcome"], json!("completed"), "{deploy}");
    let ran: Vec<(&str, &str)> = summary["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["by"].as_str().unwrap()))
        .collect();
    assert_eq!(ran, [("degrade", "player"), ("hotfix v1.1", "player")]);
    assert_replays(&file, &out.join("session.json"), &out, &dir.join("replay"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The summary's `requests.failed` after `actions` at their times (s).
fn failed_after(s: &prodsim_scenario::Scenario, actions: &[(u64, Action)]) -> u64 {
    let mut session = Session::new(s, s.seed).unwrap();
    for (t_s, a) in actions {
        session.advance_to(SimTime(t_s * prodsim_kernel::NS_PER_S)).unwrap();
        session.apply(a).unwrap();
    }
    let summary = prodsim_report::summary::Summary::from_outcome(&session.finish().unwrap()).to_json();
    let v: Value = serde_json::from_str(&summary).unwrap();
    v["requests"]["failed"].as_u64().unwrap()
}

#[test]
fn degrading_or_hotfixing_the_dead_dependency_saves_the_requests() {
    let s = common::from_text(DEPS);
    let degrade = Action::Degrade { dependency: "recommendations".to_string() };
    let nobody = failed_after(&s, &[]);
    let degraded = failed_after(&s, &[(130, degrade)]);
    let hotfixed = failed_after(&s, &[(130, Action::Hotfix)]);
    eprintln!("failed requests: nobody acts {nobody}, degrade at 130 s {degraded}, hotfix at 130 s {hotfixed}");
    // The dead service fails every browse from 2m to 12m; degrading 10 s in keeps all but
    // those 10 s, the hotfix (2 minutes to write, 10 s to deploy) all but ~2m10s of them.
    assert!(degraded * 10 < nobody, "{degraded} vs {nobody}");
    assert!(degraded < hotfixed && hotfixed * 2 < nobody, "{hotfixed} vs {degraded} and {nobody}");
    let mut session = Session::new(&s, s.seed).unwrap();
    let e = session.apply(&Action::Degrade { dependency: "serch".to_string() }).unwrap_err().to_string();
    assert_eq!(e, "degrade: no service `serch` (did you mean `search`?); the services are recommendations, search");
}

#[test]
fn a_session_stepped_many_times_is_the_one_run() {
    let mut s = common::from_text(GAME);
    s.duration_ns = 8 * 60 * prodsim_kernel::NS_PER_S;
    let whole = Session::new(&s, s.seed).unwrap().finish().unwrap();
    let mut stepped = Session::new(&s, s.seed).unwrap();
    let mut t = 0;
    while t < s.duration_ns {
        t += 777_777_777;
        stepped.advance_to(SimTime(t)).unwrap();
    }
    let stepped = stepped.finish().unwrap();
    let json = |o: &prodsim_model::Outcome| prodsim_report::summary::Summary::from_outcome(o).to_json();
    assert_eq!(json(&whole), json(&stepped));
    // Without a person on call (no [oncall], no playbooks), a session is `simulate`.
    let plain = common::from_text(&GAME[..GAME.find("[oncall]").unwrap()]);
    let simulated = prodsim_model::simulate(&plain, plain.seed).unwrap();
    assert_eq!(json(&Session::new(&plain, plain.seed).unwrap().finish().unwrap()), json(&simulated));
}

#[test]
fn impossible_and_bad_replays_are_refused_by_name() {
    let s = common::from_text(GAME);
    let mut session = Session::new(&s, s.seed).unwrap();
    let e = session.apply(&Action::Failover).unwrap_err().to_string();
    assert_eq!(e, "cannot failover now: no replica to promote");
    let e = session.apply(&Action::ScaleOut { count: 2 }).unwrap_err().to_string();
    assert!(e.contains("the pool cannot grow"), "{e}");
    let dir = common::temp_dir("serve", "bad-replay");
    let file = game_file(&dir);
    let bad = dir.join("session.json");
    std::fs::write(&bad, "{\n  \"session_version\": 1,\n  \"scenario\": 3\n}").unwrap();
    let out =
        cargo_bin_cmd!("prodsim").args(["run", &file.display().to_string(), "--actions"]).arg(&bad).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("session.json:3:"), "{err}");
    let file_text = json!({ "session_version": 1, "scenario": "game-day", "seed": 5, "duration_ns": 1_200_000_000_000u64,
        "actions": [{ "t_ns": 1_000_000_000u64, "time_s": 1.0, "action": "rollback" }] });
    std::fs::write(&bad, file_text.to_string()).unwrap();
    let out =
        cargo_bin_cmd!("prodsim").args(["run", &file.display().to_string(), "--actions"]).arg(&bad).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("action 0 (rollback at 1 s): cannot rollback now: no release to roll back"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_page_shows_the_clock_and_records_a_click() {
    let Some(d) = driver_or_skip("serve page") else { return };
    let dir = common::temp_dir("serve", "browser");
    let file = game_file(&dir);
    let server = Server::start(&file, &dir.join("game"), "120");
    d.open_url(&format!("http://127.0.0.1:{}/", server.port));
    let seconds = || d.js("return Number(document.getElementById('clock').dataset.seconds || 0);", json!([])).as_f64();
    let started = Instant::now();
    let first = loop {
        let s = seconds().unwrap_or(0.0);
        if s > 0.0 {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the clock never showed");
        std::thread::sleep(Duration::from_millis(50));
    };
    while seconds().unwrap_or(0.0) <= first {
        assert!(started.elapsed() < Duration::from_secs(20), "the clock never advanced");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.wait_for("pages", |s| s["live_score"]["pages"].as_u64().unwrap_or(0) >= 1);
    let ratio = || d.js("return Number(document.getElementById('error-ratio').textContent);", json!([])).as_f64();
    assert!(ratio().is_some_and(|r| r > 0.05), "the bad release fails requests: {:?}", ratio());
    d.click("#acknowledge");
    let listed = || d.js("return document.getElementById('actions').textContent;", json!([]));
    while !listed().as_str().unwrap_or("").contains("acknowledge") {
        assert!(started.elapsed() < Duration::from_secs(30), "the acknowledgement never listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    d.click("#rollback");
    while !listed().as_str().unwrap_or("").contains("rollback started") {
        assert!(started.elapsed() < Duration::from_secs(30), "the rollback never listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Rolled back, the error ratio falls.
    while ratio().is_none_or(|r| r >= 0.01) {
        assert!(started.elapsed() < Duration::from_secs(60), "the error ratio never fell: {:?}", ratio());
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = server.state();
    assert_eq!(state["actions"][0]["action"], json!("acknowledge"), "{state}");
    assert_eq!(state["actions"][1]["action"], json!("rollback"), "{state}");
    // Finish shows the score from summary.json, and the game replays to it.
    let score = || d.js("return document.getElementById('score').textContent;", json!([]));
    let live = score();
    d.click("#finish");
    while d.js("return document.body.dataset.finished === 'true';", json!([])) != json!(true) {
        assert!(started.elapsed() < Duration::from_secs(60), "never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(score().as_str().unwrap().contains("error budget left") && score() != live, "{}", score());
    let errors: Vec<Value> = d.console().into_iter().filter(|m| m["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    assert!(server.interrupt().success(), "Ctrl-C ends serve with 0");
    assert_replays(&file, &dir.join("game").join("session.json"), &dir.join("game"), &dir.join("replay"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_page_degrades_the_chosen_service_and_ships_the_hotfix() {
    let Some(d) = driver_or_skip("serve page, degrade and hotfix") else { return };
    let dir = common::temp_dir("serve", "browser-deps");
    let file = scenario_file(&dir, "deps.toml", DEPS);
    let server = Server::start(&file, &dir.join("game"), "20");
    d.open_url(&format!("http://127.0.0.1:{}/", server.port));
    let started = Instant::now();
    let text = |css: &str| d.js(&format!("return document.querySelector('{css}').textContent;"), json!([]));
    // The state fills the list of services and names the hotfix.
    while text("#hotfix").as_str() != Some("Ship hotfix v1.1") {
        assert!(started.elapsed() < Duration::from_secs(20), "the hotfix button never named v1.1");
        std::thread::sleep(Duration::from_millis(50));
    }
    let options = d.js("return [...document.querySelectorAll('#dependency option')].map(o => o.value);", json!([]));
    assert_eq!(options, json!(["recommendations", "search"]));
    d.js("document.getElementById('dependency').value = 'search';", json!([]));
    d.click("#degrade");
    d.click("#hotfix");
    while !text("#actions").as_str().unwrap_or("").contains("writing hotfix v1.1") {
        assert!(started.elapsed() < Duration::from_secs(30), "the hotfix never listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(text("#actions").as_str().unwrap().contains("degrade search"), "{}", text("#actions"));
    let state = server.state();
    assert_eq!(state["actions"][0]["dependency"], json!("search"), "{state}");
    assert_eq!(state["actions"][1]["action"], json!("hotfix"), "{state}");
    let errors: Vec<Value> = d.console().into_iter().filter(|m| m["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
