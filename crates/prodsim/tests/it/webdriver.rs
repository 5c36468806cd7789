//! A small WebDriver client for the browser tests: starts Debian's `chromedriver` with
//! headless `chromium` and speaks the W3C protocol over plain HTTP/1.1 on localhost
//! (std's `TcpStream` and serde_json: no async runtime to build for a handful of calls).
//!
//! Without chromium and chromedriver the tests skip with a message, unless
//! `PRODSIM_REQUIRE_BROWSER=1` (set by `.ci/run`) turns the skip into a failure.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key W3C WebDriver gives element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The browser's flags: headless, no sandbox (root in a container), nothing fetched in the
/// background.
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A chromedriver process and one browser session.
pub struct Driver {
    child: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.is_file())
}

/// A driver, or `None` (after saying why) when the browser is missing and CI does not
/// require it.
pub fn driver_or_skip(test: &str) -> Option<Driver> {
    let required = std::env::var("PRODSIM_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    match Driver::start() {
        Ok(d) => Some(d),
        Err(e) if !required => {
            eprintln!(
                "SKIPPED {test}: {e} (install chromium and chromium-driver; PRODSIM_REQUIRE_BROWSER=1 makes this a failure)"
            );
            None
        }
        Err(e) => panic!("{test}: {e}; PRODSIM_REQUIRE_BROWSER=1 requires the browser"),
    }
}

impl Driver {
    /// Starts chromedriver on a free port and opens a headless chromium session.
    pub fn start() -> Result<Driver, String> {
        let driver = find(&["chromedriver"]).ok_or("chromedriver not found on PATH")?;
        let browser = find(&["chromium", "chromium-browser"]).ok_or("chromium not found on PATH")?;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start chromedriver: {e}"))?;
        let profile = std::env::temp_dir().join(format!("prodsim-chromium-{}-{port}", std::process::id()));
        let mut d = Driver { child, port, session: String::new(), profile };
        d.wait_ready()?;
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_string()).collect();
        args.push(format!("--user-data-dir={}", d.profile.display()));
        args.push("--window-size=1300,1000".into());
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": browser, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" }
        }}});
        let v = d.http("POST", "/session", Some(&caps))?;
        d.session = v["value"]["sessionId"].as_str().ok_or_else(|| format!("no session: {v}"))?.to_string();
        Ok(d)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(v) = self.http("GET", "/status", None)
                && v["value"]["ready"] == json!(true)
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("chromedriver did not become ready in 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One HTTP request; the response's JSON body.
    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(120))).map_err(|e| e.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let (head, body) = read_response(&mut stream)?;
        let payload =
            if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
        serde_json::from_str(&payload).map_err(|e| format!("bad JSON from chromedriver ({e}): {payload}"))
    }

    /// A command of the session; panics with the driver's message on an error.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("/session/{}{path}", self.session);
        let v = self.http(method, &url, body.as_ref()).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if v["value"].get("error").is_some() {
            panic!("{method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    /// Opens a file.
    pub fn open(&self, file: &Path) {
        let url = format!("file://{}", file.canonicalize().expect("the page exists").display());
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Opens a URL (a page `prodsim serve` serves).
    pub fn open_url(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// The browser's console messages since the last call.
    pub fn console(&self) -> Vec<Value> {
        self.cmd("POST", "/se/log", Some(json!({ "type": "browser" }))).as_array().cloned().unwrap_or_default()
    }

    /// The element `css` selects.
    pub fn element(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", Some(json!({ "using": "css selector", "value": css })));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Mouse actions relative to the centre of the element `css` selects: each step is
    /// (kind, dx, dy) with kind `move`, `down` or `up`.
    pub fn mouse(&self, css: &str, steps: &[(&str, i64, i64)]) {
        let id = self.element(css);
        let actions: Vec<Value> = steps
            .iter()
            .map(|(kind, x, y)| match *kind {
                "down" => json!({ "type": "pointerDown", "button": 0 }),
                "up" => json!({ "type": "pointerUp", "button": 0 }),
                _ => json!({ "type": "pointerMove", "duration": 50, "origin": { ELEMENT: id }, "x": x, "y": y }),
            })
            .collect();
        let body = json!({ "actions": [{ "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" }, "actions": actions }] });
        self.cmd("POST", "/actions", Some(body));
        self.cmd("DELETE", "/actions", None);
    }

    /// Resizes the window.
    pub fn window(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({ "width": width, "height": height })));
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd("GET", "/screenshot", None);
        base64(v.as_str().expect("base64 text"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.http("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Reads one response: the header, then `Content-Length` bytes (or chunks up to the last
/// one); chromedriver may keep the connection open, so reading to the end would hang.
fn read_response(stream: &mut TcpStream) -> Result<(String, String), String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 65_536];
    loop {
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let rest = &raw[end + 4..];
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let done = match length {
                Some(len) => rest.len() >= len,
                None => head.contains("chunked") && rest.ends_with(b"0\r\n\r\n"),
            };
            if done || n == 0 {
                return Ok((head, String::from_utf8_lossy(rest).into_owned()));
            }
        } else if n == 0 {
            return Err("connection closed before the header ended".into());
        }
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Standard base64 to bytes.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
