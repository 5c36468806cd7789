//! The game day's instructor (`prodsim serve`, `/instructor` and `POST /api/inject`): a
//! fault injected mid-run over real HTTP starts at the current simulated time, pages the
//! on-call, is listed in summary.json with the scenario's faults and in session.json with
//! the player's actions, and `prodsim run --actions` replays it to a byte-identical
//! summary.json; a misspelt kind or target, a stray or missing parameter, a kind that
//! shapes the arrivals and a fault of the same kind on the same target in force already
//! are refused with a message (400 or 409). In headless chromium, the instructor page
//! injects a fault that pages the student, whose page shows the fault, the page, the
//! diagram marked and the logs; the student acknowledges and degrades the dependency, the
//! error ratio falls, Finish shows the final score, and the recorded game replays to the
//! same summary.json.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use prodsim_kernel::{NS_PER_S, SimTime};
use prodsim_model::Session;
use prodsim_scenario::inject::FaultSpec;
use serde_json::{Value, json};

use crate::common;
use crate::serve::{Server, assert_replays, scenario_file, time_s};
use crate::webdriver::{Driver, driver_or_skip};

/// A shop whose checkouts call a payments service, with no fault of its own: the
/// instructor brings the trouble.
const SHOP: &str = r#"
[scenario]
name = "game-day-instructor"
seed = 11
duration = "30m"
warmup = "30s"
report_interval = "10s"

[[workload]]
name = "shoppers"
rate = 100

[servers]
count = 4
workers = 32

[[requests]]
name = "checkout"
weight = 1.0
steps = [
  { cpu = "exp(2ms)" },
  { call = "payments", timeout = "500ms" },
]

[services.payments]
instances = 2
workers = 16
latency = "exp(10ms)"

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

[logging]
level = "info"
sampling = 0.01
"#;

/// The error message of a refused injection, with its status.
fn refused(server: &Server, body: &str) -> (u16, String) {
    let (status, v) = server.call("POST", "/api/inject", body);
    (status, v["error"].as_str().unwrap_or_else(|| panic!("no error in {v}")).to_string())
}

/// What is wrong with a request is refused with 400 and the resolver's message.
fn assert_refusals(server: &Server) {
    let (status, e) = refused(server, r#"{"kind":"eror_rate","target":"payments","rate":0.5}"#);
    assert_eq!(status, 400, "{e}");
    assert!(e.starts_with("inject: unknown fault kind `eror_rate`") && e.contains("`error_rate`"), "{e}");
    let (status, e) = refused(server, r#"{"kind":"error_rate","target":"paymnts","rate":0.5}"#);
    assert_eq!(status, 400, "{e}");
    assert!(e.contains("fault target `paymnts` does not fit") && e.contains("`payments`"), "{e}");
    let (status, e) = refused(server, r#"{"kind":"error_rate","target":"payments"}"#);
    assert_eq!(
        (status, e.as_str()),
        (400, "inject: a error_rate fault needs `rate` (share of calls that fail, 0 to 1)")
    );
    let (status, e) = refused(server, r#"{"kind":"error_rate","target":"payments","rate":0.5,"factor":2}"#);
    assert_eq!((status, e.as_str()), (400, "inject: a error_rate fault takes no `factor`"));
    let (status, e) = refused(server, r#"{"kind":"error_rate","target":"payments","rate":1.5}"#);
    assert!(status == 400 && e.contains("faults.rate"), "{status} {e}");
    let (status, e) = refused(server, r#"{"kind":"traffic_spike","target":"workload","factor":3}"#);
    assert_eq!(status, 400, "{e}");
    assert!(e.contains("cannot start mid-run"), "{e}");
    let (status, e) = refused(server, r#"{"kind":"crash","target":"server-1","duration":"1m"}"#);
    assert!(status == 400 && e.contains("a crash fault has no `duration`"), "{status} {e}");
    let (status, e) = refused(server, r#"{"kind":"error_rate","target":"payments","rate":0.5,"color":"red"}"#);
    assert!(status == 400 && e.starts_with("malformed JSON body: unknown field `color`"), "{status} {e}");
}

#[test]
fn an_injected_fault_pages_and_replays_to_the_same_summary() {
    let dir = common::temp_dir("serve", "inject");
    let file = scenario_file(&dir, "shop.toml", SHOP);
    let out = dir.join("game");
    let server = Server::start(&file, &out, "20");
    server.call("POST", "/api/pause", "");
    let state = server.state();
    assert!(state["fault_kinds"].as_array().unwrap().contains(&json!("error_rate")), "{state}");
    assert!(!state["fault_kinds"].as_array().unwrap().contains(&json!("traffic_spike")), "{state}");
    let targets = json!([
        "servers",
        "server-0",
        "server-1",
        "server-2",
        "server-3",
        "payments",
        "monitoring",
        "log_store",
        "production-alerts"
    ]);
    assert_eq!(state["fault_targets"], targets);

    assert_refusals(&server);

    // A minute in, payments fails half its calls for ten minutes.
    server.call("POST", "/api/speed", r#"{"speed": 600}"#);
    server.call("POST", "/api/resume", "");
    server.wait_for("a minute passes", |s| time_s(s) >= 60.0);
    server.call("POST", "/api/pause", "");
    let before = server.state();
    assert_eq!(before["live_score"]["pages"], json!(0), "a quiet shop pages nobody: {before}");
    let at_s = time_s(&before);
    let body = r#"{"kind":"error_rate","target":"payments","rate":0.5,"duration":"10m"}"#;
    let (status, v) = server.call("POST", "/api/inject", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["done"]["time_s"].as_f64(), Some(at_s), "{v}");
    assert_eq!(v["done"]["action"], json!("inject"));
    assert!(
        v["done"]["note"].as_str().unwrap().starts_with("error_rate on payments (50% of calls fail) until +"),
        "{v}"
    );
    let (status, e) = refused(&server, body);
    assert_eq!(status, 409, "{e}");
    assert!(e.starts_with("cannot inject now: a error_rate on payments is in force already, until +"), "{e}");
    // Another kind on the same target is no overlap.
    let (status, v) = server.call(
        "POST",
        "/api/inject",
        r#"{"kind":"added_latency","target":"payments","latency":"const(5ms)","duration":"2m"}"#,
    );
    assert_eq!(status, 200, "{v}");

    server.call("POST", "/api/resume", "");
    let paged = server.wait_for("pages", |s| s["live_score"]["pages"].as_u64().unwrap_or(0) >= 1);
    assert!(time_s(&paged) > at_s, "{paged}");
    let (status, fin) = server.call("POST", "/api/finish", "");
    assert_eq!(status, 200, "{fin}");
    assert!(server.interrupt().success(), "Ctrl-C ends serve with 0");

    let read = |p: &std::path::Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let session = read(&out.join("session.json"));
    let actions = session["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2, "{session}");
    assert_eq!(actions[0]["fault"], json!({"kind":"error_rate","target":"payments","rate":0.5,"duration":"10m"}));
    let summary = read(&out.join("summary.json"));
    let faults = summary["faults"].as_array().unwrap_or_else(|| panic!("no faults in {summary}"));
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(summary["pages"][0]["alerts"].to_string().contains("HighErrorRate"), "{}", summary["pages"]);
    assert_replays(&file, &out.join("session.json"), &out, &dir.join("replay"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The summary's `requests.failed` after injecting `spec` at `t_s`.
fn failed_with(spec: Option<(u64, &FaultSpec)>) -> (u64, Value) {
    let s = common::from_text(SHOP);
    let mut session = Session::new(&s, s.seed).unwrap();
    if let Some((t_s, spec)) = spec {
        session.advance_to(SimTime(t_s * NS_PER_S)).unwrap();
        let f = session.inject(spec).unwrap();
        assert_eq!((f.start_ns, f.end_ns), (t_s * NS_PER_S, (t_s + 600) * NS_PER_S));
    }
    let summary = prodsim_report::summary::Summary::from_outcome(&session.finish().unwrap()).to_json();
    let v: Value = serde_json::from_str(&summary).unwrap();
    (v["requests"]["failed"].as_u64().unwrap(), v)
}

#[test]
fn an_injected_fault_is_the_scenario_fault_at_that_time() {
    let spec = FaultSpec {
        kind: "error_rate".into(),
        target: "payments".into(),
        rate: Some(0.5),
        duration: Some("10m".into()),
        ..FaultSpec::default()
    };
    let (none, _) = failed_with(None);
    let (injected, summary) = failed_with(Some((120, &spec)));
    // The same fault written in the file: the same run, byte for byte.
    let with_fault = format!(
        "{SHOP}\n[[faults]]\nkind = \"error_rate\"\ntarget = \"payments\"\nrate = 0.5\nat = \"2m\"\nduration = \"10m\"\n"
    );
    let s = common::from_text(&with_fault);
    let filed = Session::new(&s, s.seed).unwrap().finish().unwrap();
    let filed = prodsim_report::summary::Summary::from_outcome(&filed).to_json();
    eprintln!("failed requests: no fault {none}, injected at 2m {injected}");
    assert!(none * 100 < injected, "{none} vs {injected}");
    // The file's fault starts by an event of its own, the injected one between two steps:
    // one event fewer, and nothing else differs.
    let mut filed: Value = serde_json::from_str(&filed).unwrap();
    assert_eq!(filed["events"].as_u64().unwrap(), summary["events"].as_u64().unwrap() + 1);
    filed["events"] = summary["events"].clone();
    assert_eq!(summary, filed);
}

/// Waits until `js` returns true on the page.
fn wait_js(d: &Driver, what: &str, js: &str) {
    let started = Instant::now();
    while d.js(js, json!([])) != json!(true) {
        assert!(started.elapsed() < Duration::from_secs(60), "never {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The instructor page injects error_rate on payments, which pages the on-call.
fn instructor_injects(d: &Driver, server: &Server) {
    d.open_url(&format!("http://127.0.0.1:{}/instructor", server.port));
    wait_js(d, "ready", "return document.body.dataset.ready === 'true';");
    d.js(
        "document.getElementById('kind').value = 'error_rate'; document.getElementById('target').value = 'payments';\
         document.getElementById('rate').value = '0.5'; document.getElementById('duration').value = '10m';",
        json!([]),
    );
    d.click("#inject");
    wait_js(d, "injected", "return document.getElementById('message').textContent.startsWith('Injected at');");
    let listed = "return document.getElementById('faults').textContent.includes('injected error_rate on payments');";
    wait_js(d, "listed the fault", listed);
    wait_js(d, "paged", "return document.getElementById('pages').textContent.includes('page #0');");
    let state = server.state();
    assert_eq!(state["actions"][0]["action"], json!("inject"), "{state}");
    assert!(state["live_score"]["pages"].as_u64().unwrap() >= 1, "{state}");
    let errors: Vec<Value> = d.console().into_iter().filter(|m| m["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors on /instructor: {errors:?}");
    screenshot(d, "serve-instructor");
}

/// For people: the page as it looks now, in `$TMPDIR/prodsim-browser/NAME.png`.
fn screenshot(d: &Driver, name: &str) {
    let shots = std::env::temp_dir().join("prodsim-browser");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    d.window(1300, 2400);
    std::fs::write(shots.join(format!("{name}.png")), d.screenshot()).expect("screenshot written");
}

/// The student's page lists the page, marks payments in the diagram, has the fault, the
/// alerts and the page on the timeline and the failed calls in the logs, whose level and
/// component filters work.
fn student_sees(d: &Driver, server: &Server) {
    d.open_url(&format!("http://127.0.0.1:{}/", server.port));
    let text = |id: &str| d.js(&format!("return document.getElementById('{id}').textContent;"), json!([]));
    wait_js(d, "listed the page", "return document.getElementById('pages').textContent.includes('page #0');");
    let js = |code: &str| d.js(code, json!([]));
    let degraded = "var n = document.querySelector('#diagram g.node[data-station=\"payments\"]');\
                    return !!n && n.dataset.state === 'degraded';";
    wait_js(d, "marked payments degraded", degraded);
    let marked = text("diagram").as_str().unwrap_or("").to_string();
    assert!(marked.contains("⚠ error_rate (50% of calls fail)"), "{marked}");
    let timeline = text("timeline").as_str().unwrap_or("").to_string();
    assert!(timeline.contains("fault: error_rate on payments (50% of calls fail), injected"), "{timeline}");
    assert!(timeline.contains("page: page #0") && timeline.contains("alert: firing"), "{timeline}");
    let failed_call = "return document.getElementById('logs').textContent.includes('call to payments error');";
    wait_js(d, "listed a failed call in the logs", failed_call);
    let components = js("return [...document.querySelectorAll('#log-component option')].map(o => o.value);");
    assert_eq!(components, json!(["", "servers"]), "the app servers write the lines");
    js("var s = document.getElementById('log-level'); s.value = '3'; s.onchange();");
    let levels = js("return [...new Set([...document.querySelectorAll('#logs li')].map(l => l.className))];");
    assert_eq!(levels, json!(["lvl-error"]), "only errors at `error`");
    js("var s = document.getElementById('log-level'); s.value = '0'; s.onchange();\
        var c = document.getElementById('log-component'); c.value = 'servers'; c.onchange();");
    let lines = js("return [...document.querySelectorAll('#logs li')].map(l => l.textContent);");
    let lines = lines.as_array().unwrap();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.as_str().unwrap().contains(" server-")), "{lines:?}");
}

/// The student acknowledges and degrades payments: the error ratio falls, the score
/// changes, and Finish shows the final score.
fn student_mitigates(d: &Driver) {
    let js = |code: &str| d.js(code, json!([]));
    let score = || js("return document.getElementById('score').textContent;").as_str().unwrap_or("").to_string();
    d.click("#acknowledge");
    wait_js(
        d,
        "listed the acknowledgement",
        "return document.getElementById('actions').textContent.includes('acknowledge');",
    );
    wait_js(d, "counted it", "return document.getElementById('score').textContent.includes('acknowledged1');");
    let before = score();
    js("document.getElementById('dependency').value = 'payments';");
    d.click("#degrade");
    wait_js(
        d,
        "degraded payments",
        "return document.getElementById('actions').textContent.includes('degrade payments');",
    );
    let ratio = "return Number(document.getElementById('error-ratio').textContent) < 0.01;";
    wait_js(d, "saw the error ratio fall", ratio);
    d.click("#finish");
    wait_js(d, "finished", "return document.body.dataset.finished === 'true';");
    let after = score();
    assert!(after.contains("error budget left") && after.contains("MTTA, s"), "{after}");
    assert_ne!(before, after, "the score changed");
    let errors: Vec<Value> = d.console().into_iter().filter(|m| m["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors on /: {errors:?}");
}

#[test]
fn the_instructor_page_injects_a_fault_that_pages_the_student() {
    let Some(d) = driver_or_skip("serve instructor page") else { return };
    let dir = common::temp_dir("serve", "browser-instructor");
    let file = scenario_file(&dir, "shop.toml", SHOP);
    let out = dir.join("game");
    let server = Server::start(&file, &out, "120");
    instructor_injects(&d, &server);
    student_sees(&d, &server);
    screenshot(&d, "serve-student");
    student_mitigates(&d);
    assert!(server.interrupt().success(), "Ctrl-C ends serve with 0");
    let session: Value = serde_json::from_str(&std::fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        session["actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["inject", "acknowledge", "degrade"]);
    assert_replays(&file, &out.join("session.json"), &out, &dir.join("replay"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_log_tail_draws_nothing_and_keeps_the_newest_lines() {
    let s = common::from_text(SHOP);
    let spec = FaultSpec {
        rate: Some(0.5),
        ..FaultSpec { kind: "error_rate".into(), target: "payments".into(), ..FaultSpec::default() }
    };
    let mut session = Session::new(&s, s.seed).unwrap();
    assert!(session.log_tail().is_none(), "kept only when asked (a replay does not)");
    session.keep_log_tail();
    session.advance_to(SimTime(60 * NS_PER_S)).unwrap();
    let tail = session.log_tail().expect("a tail with [logging]");
    assert!(tail.written > 0 && tail.lines.iter().all(|l| l.level.as_str() != "warn"), "no failed call yet");
    session.inject(&spec).unwrap();
    session.advance_to(SimTime(120 * NS_PER_S)).unwrap();
    let tail = session.log_tail().unwrap();
    assert_eq!(tail.lines.len(), prodsim_model::session::TAIL_LINES, "bounded");
    assert!(tail.written > tail.lines.len() as u64);
    let newest = tail.lines.back().unwrap().t_ms;
    assert!(newest <= 120_000 && newest > 110_000, "{newest}");
    assert!(tail.lines.iter().any(|l| l.message == "call to payments error" && l.component == "servers"));
    // A session with the tail kept is the run `simulate` makes.
    let mut quiet = Session::new(&s, s.seed).unwrap();
    quiet.keep_log_tail();
    let quiet = quiet.finish().unwrap();
    let json = |o: &prodsim_model::Outcome| prodsim_report::summary::Summary::from_outcome(o).to_json();
    assert_eq!(json(&quiet), json(&prodsim_model::simulate(&s, s.seed).unwrap()));
}

/// A watcher of the event stream (`GET /events`), as a browser is.
struct Watcher {
    lines: std::io::Lines<BufReader<TcpStream>>,
}

impl Watcher {
    fn open(port: u16) -> Watcher {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let request = format!("GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("request sent");
        Watcher { lines: BufReader::new(stream).lines() }
    }

    /// Reads on until `done` holds for a message; the message.
    fn until(&mut self, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        for line in self.lines.by_ref() {
            let line = line.expect("a line");
            if let Some(data) = line.strip_prefix("data: ") {
                let m: Value = serde_json::from_str(data).expect("JSON");
                if done(&m) {
                    return m;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never saw the message");
        }
        panic!("the stream ended");
    }
}

#[test]
fn two_watchers_see_logs_and_what_is_down_and_the_diagram_names_the_stations() {
    let dir = common::temp_dir("serve", "components");
    let file = scenario_file(&dir, "shop.toml", SHOP);
    let server = Server::start(&file, &dir.join("game"), "60");
    let (status, svg) = crate::serve::http(server.port, "GET", "/api/diagram", "");
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg class=\"diagram\""), "{svg}");
    assert!(svg.contains("data-targets=\"servers\" data-station=\"servers\""), "{svg}");
    assert!(svg.contains("data-targets=\"payments\" data-station=\"payments\""), "{svg}");
    assert!(svg.contains("data-targets=\"monitoring production-alerts\""), "{svg}");
    // Two watchers at once, as two browsers: both see the same game.
    let (mut a, mut b) = (Watcher::open(server.port), Watcher::open(server.port));
    let ok = a.until(|m| m["type"] == "components");
    assert_eq!(ok["faults"], json!([]));
    assert!(ok["stations"].as_array().unwrap().contains(&json!({"name": "servers", "up": 4, "of": 4})), "{ok}");
    let (status, v) = server.call("POST", "/api/inject", r#"{"kind":"crash","target":"server-2"}"#);
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.call("POST", "/api/inject", r#"{"kind":"outage","target":"payments","duration":"5m"}"#);
    assert_eq!(status, 200, "{v}");
    let fault = a.until(|m| m["type"] == "fault" && m["kind"] == "outage");
    assert_eq!(b.until(|m| m["type"] == "fault" && m["kind"] == "outage"), fault, "the second watcher saw it too");
    assert_eq!((fault["injected"].clone(), fault["index"].clone()), (json!(true), json!(1)), "{fault}");
    let down = a.until(|m| m["type"] == "components" && m["faults"].as_array().is_some_and(|f| !f.is_empty()));
    assert_eq!(down["faults"][0]["kind"], json!("outage"), "{down}");
    assert!(down["stations"].as_array().unwrap().contains(&json!({"name": "servers", "up": 3, "of": 4})), "{down}");
    let logs = a.until(|m| {
        m["type"] == "logs" && m["lines"].as_array().is_some_and(|l| l.iter().any(|l| l["level"] == "error"))
    });
    let line = logs["lines"].as_array().unwrap().iter().find(|l| l["level"] == "error").unwrap().clone();
    assert_eq!(line["component"], json!("servers"), "{line}");
    assert!(line["message"].as_str().unwrap().starts_with("request failed: checkout"), "{line}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
