//! `prodsim serve`: a game day in the browser. The scenario runs on the one engine (a
//! [`prodsim_model::Session`]) paced to the wall clock at `--speed`×, in small steps
//! ([`game`]); an axum server on tokio serves the page, an event stream (SSE, `/events`)
//! that any number of browsers watch, and the player's controls as JSON endpoints
//! ([`api`]). Every action is recorded with its simulated time in `session.json`
//! ([`session_file`]), which `prodsim run --actions` replays to the same reports. The
//! score ([`score`]) comes from `summary.json` at the end.
//!
//! The only place a game day reads the wall clock.

pub mod api;
pub mod game;
pub mod messages;
pub mod score;
pub mod session_file;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prodsim_model::Session;
use prodsim_scenario::Scenario;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::LiveError;
pub use game::{Finished, Finisher, Game};

/// Wall time between two steps of the run.
pub const TICK: Duration = Duration::from_millis(50);

/// Slowest and fastest speeds, simulated seconds per wall second.
pub const SPEED_RANGE: (f64, f64) = (0.01, 1_000_000.0);

/// Longest wall time open connections get to close at shutdown.
const GRACE: Duration = Duration::from_secs(2);

/// How a game day is served.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The address to listen on (`--host`, `--port`; port 0 lets the OS choose).
    pub address: SocketAddr,
    /// Simulated seconds per wall second at the start (`--speed`).
    pub speed: f64,
    /// The seed of the run.
    pub seed: u64,
}

/// What the handlers share.
pub struct Shared {
    game: Mutex<Game>,
    /// Notified when Ctrl-C ends the server.
    stop: Notify,
}

impl Shared {
    /// The game, even when a handler panicked while holding it.
    pub fn game(&self) -> MutexGuard<'_, Game> {
        self.game.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Serves a game day of `scenario` until Ctrl-C; `listening` is told the bound address
/// first. At the end of the run, on `POST /api/finish` or on Ctrl-C, `finisher` writes the
/// report set and `session.json`. Returns how the game ended.
pub fn serve(
    scenario: &Scenario,
    options: &ServeOptions,
    finisher: Finisher,
    listening: impl FnOnce(SocketAddr),
) -> Result<Finished, LiveError> {
    check_speed(options.speed).map_err(LiveError::Option)?;
    let session = Session::new(scenario, options.seed).map_err(|e| LiveError::Option(e.to_string()))?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(LiveError::Io)?;
    let game = Game::new(session, &scenario.name, options.seed, options.speed, finisher);
    let shared = Arc::new(Shared { game: Mutex::new(game), stop: Notify::new() });
    runtime.block_on(async move {
        let listener = TcpListener::bind(options.address).await.map_err(LiveError::Io)?;
        listening(listener.local_addr().map_err(LiveError::Io)?);
        let pacer = tokio::spawn(pace(Arc::clone(&shared)));
        let stopped = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            let router = api::router(Arc::clone(&stopped));
            axum::serve(listener, router).with_graceful_shutdown(async move { stopped.stop.notified().await }).await
        });
        // An error here means no Ctrl-C can arrive: the game then ends at its end.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        pacer.abort();
        let finished = tokio::task::block_in_place(|| {
            let mut game = shared.game();
            let f = game.finish();
            game.close_streams();
            f
        });
        shared.stop.notify_one();
        // Connections that do not close in time are dropped with the runtime.
        let _ = tokio::time::timeout(GRACE, server).await;
        Ok(finished)
    })
}

/// Steps the run every [`TICK`] until the game is over.
async fn pace(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let over = tokio::task::block_in_place(|| {
            let mut game = shared.game();
            game.tick(Instant::now());
            game.is_finished()
        });
        if over {
            return;
        }
    }
}

/// `speed` if it is within [`SPEED_RANGE`].
pub fn check_speed(speed: f64) -> Result<f64, String> {
    let (lo, hi) = SPEED_RANGE;
    if speed.is_finite() && (lo..=hi).contains(&speed) {
        Ok(speed)
    } else {
        Err(format!("speed must be from {lo} to {hi} simulated seconds per wall second, not {speed}"))
    }
}
