//! The HTTP endpoints of a game day: the page (`GET /`), the instructor's page
//! (`GET /instructor`), the event stream (`GET /events`, Server-Sent Events), the state
//! (`GET /api/state`), the architecture diagram (`GET /api/diagram`) and the controls (`POST /api/pause`, `/api/resume`, `/api/speed`,
//! `/api/action`, `/api/finish`, and the instructor's `/api/inject`). Bodies are JSON; a body that
//! is not valid JSON gets 400 (so does an action naming what the scenario lacks, such as an
//! unknown service to degrade), an action impossible now 409, each with `{"error": ...}`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use prodsim_model::session::ActionError;
use prodsim_scenario::inject::FaultSpec;

use super::session_file::parse_action;
use super::{Shared, check_speed};

/// The page, with its script and styles inline.
const PAGE: &str = include_str!("page.html");

/// The instructor's page (fault injection), with its script and styles inline.
const INSTRUCTOR: &str = include_str!("instructor.html");

/// Largest request body read, bytes.
const MAX_BODY: usize = 64 * 1024;

/// The routes over `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/api/state", get(state))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/speed", post(speed))
        .route("/api/action", post(action))
        .route("/api/finish", post(finish))
        .route("/instructor", get(instructor))
        .route("/api/inject", post(inject))
        .route("/api/diagram", get(diagram))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// A JSON answer.
fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// An error answer: `{"error": message}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

/// `body` as a `T`, or what is wrong where (for a 400).
fn parse<T: DeserializeOwned>(body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("malformed JSON body: {e}"))
}

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

async fn diagram(State(shared): State<Arc<Shared>>) -> Response {
    let svg = shared.game().diagram().to_string();
    ([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response()
}

async fn instructor() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INSTRUCTOR).into_response()
}

/// `POST /api/inject`: the instructor starts a fault now. The body is a `[[faults]]` table
/// without `at`, as JSON ([`FaultSpec`]).
async fn inject(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let spec: FaultSpec = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let result = tokio::task::block_in_place(|| shared.game().inject(spec));
    match result {
        Ok(rec) => json_response(StatusCode::OK, &json!({ "done": rec })),
        Err(e) => error(status_of(&e), e.to_string()),
    }
}

/// 400 for what is wrong with the request, 409 for what is impossible now.
fn status_of(e: &ActionError) -> StatusCode {
    match e {
        ActionError::Invalid { .. } => StatusCode::BAD_REQUEST,
        ActionError::Impossible { .. } | ActionError::Over => StatusCode::CONFLICT,
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint; see docs/serve.md")
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &shared.game().state())
}

async fn pause(State(shared): State<Arc<Shared>>) -> Response {
    let mut game = shared.game();
    game.set_paused(true);
    json_response(StatusCode::OK, &game.state())
}

async fn resume(State(shared): State<Arc<Shared>>) -> Response {
    let mut game = shared.game();
    game.set_paused(false);
    json_response(StatusCode::OK, &game.state())
}

/// `POST /api/speed` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeedBody {
    speed: f64,
}

async fn speed(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let body: SpeedBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let speed = match check_speed(body.speed) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let mut game = shared.game();
    game.set_speed(speed);
    json_response(StatusCode::OK, &game.state())
}

/// `POST /api/action` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    action: String,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    dependency: Option<String>,
}

async fn action(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let body: ActionBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let action = match parse_action(&body.action, body.count, body.dependency.as_deref()) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let result = tokio::task::block_in_place(|| shared.game().act(action));
    match result {
        Ok(rec) => json_response(StatusCode::OK, &json!({ "done": rec })),
        Err(e) => error(status_of(&e), e.to_string()),
    }
}

async fn finish(State(shared): State<Arc<Shared>>) -> Response {
    let f = tokio::task::block_in_place(|| shared.game().finish());
    let status = if f.error.is_some() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    json_response(status, &json!({ "score": f.score, "written": f.written, "error": f.error }))
}

async fn events(State(shared): State<Arc<Shared>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (backlog, receiver) = shared.game().subscribe();
    let backlog = stream::iter(backlog.into_iter().map(|m| Ok(Event::default().data(m))));
    let live = stream::unfold(receiver, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(m) => return Some((Ok(Event::default().data(m)), rx)),
                // A slow watcher skips what it missed; the clock catches it up.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(futures_util::StreamExt::chain(backlog, live)).keep_alive(KeepAlive::default())
}
