//! An app server as a real HTTP service: `GET /request?key=K&class=C` does the class's work
//! on one of the server's workers, `GET /metrics` exports its counters.
//!
//! Admission is the simulation's own sans-IO [`prodsim_parts::Server`]: it decides whether
//! a request starts, waits or is turned away (503), and which waiting request a freed
//! worker takes. A waiting request holds a oneshot receiver in a FIFO beside the server's
//! queue; the worker that finishes hands itself to the next one. Work is the class's work
//! steps drawn from the request key's `Work` stream, exactly the draws the simulation
//! makes, held for that long on the precise timer. With `[servers].timeout`, a waiting
//! request whose deadline has passed when a worker reaches it is dropped unserved (504),
//! as the simulation drops it; one that finishes late is judged by the load generator.
//!
//! A `crash` fault kills the process as the simulation does: at the crash every request on
//! the server (working or waiting) fails at once, its counters start again from zero, and
//! until `[servers].restart_after` has passed every request it gets fails at once (502, as
//! a proxy answers for a backend that is gone); then it serves again with fresh workers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use prodsim_kernel::{Keyed, SimTime};
use prodsim_parts::server::Integrals;
use prodsim_parts::{Admission, Request, Server};
use tokio::sync::{oneshot, watch};

use crate::clock::{LiveClock, Timer};
use crate::faults::LiveFaults;
use crate::metrics::{Gauges, ServiceMetrics};
use crate::plan::ClassPlan;

/// Response header: scenario nanoseconds the request waited for a worker.
pub const WAIT_HEADER: &str = "x-prodsim-wait-ns";
/// Response header: `1` when the request found every worker busy.
pub const QUEUED_HEADER: &str = "x-prodsim-queued";

/// The query of `/request`: the request's key and class.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub struct Work {
    /// The request key (its draws).
    pub key: u64,
    /// The class index.
    pub class: usize,
}

/// What wakes a waiting request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wake {
    /// A worker freed at this time takes it.
    Start(SimTime),
    /// Its deadline passed while it waited.
    Expired,
    /// The server crashed.
    Crashed,
}

/// The server's queue as the sans-IO server keeps it, with the waiting requests' wake-ups
/// in the same order.
struct Station {
    server: Server,
    waiting: VecDeque<oneshot::Sender<Wake>>,
    /// The integrals of the processes that crashed before this one.
    before_crashes: Integrals,
}

/// What became of a request at an app server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Served {
    /// Served: whether it waited, and for how long (scenario nanoseconds).
    Done { queued: bool, wait_ns: u64 },
    /// Turned away by a full queue.
    Rejected,
    /// Still waiting when its deadline passed: dropped unserved.
    Expired,
    /// On the server when it crashed, or sent to it while it was down.
    Crashed,
}

/// Where an app server runs: the clock, the timer, its index and the faults.
#[derive(Clone)]
pub struct Setup {
    /// The live clock.
    pub clock: LiveClock,
    /// The precise timer.
    pub timer: Timer,
    /// The server's index (`server-<index>`, what fault targets name).
    pub index: usize,
    /// What the faults do to app servers.
    pub faults: Arc<LiveFaults>,
    /// `[servers].timeout`: the client deadline from arrival (`u64::MAX`: none).
    pub timeout_ns: u64,
}

/// One app server's state.
pub struct App {
    clock: LiveClock,
    timer: Timer,
    index: usize,
    faults: Arc<LiveFaults>,
    timeout_ns: u64,
    classes: Arc<Vec<ClassPlan>>,
    work: Keyed,
    workers: u32,
    queue_capacity: usize,
    station: Mutex<Station>,
    metrics: Mutex<ServiceMetrics>,
    /// Bumped at each crash: requests in service watch it.
    crashes: watch::Sender<u64>,
}

impl App {
    /// An app server with `workers` workers and room for `queue_capacity` waiting requests.
    pub fn new(setup: Setup, classes: Arc<Vec<ClassPlan>>, work: Keyed, workers: u32, queue_capacity: usize) -> App {
        let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
        let Setup { clock, timer, index, faults, timeout_ns } = setup;
        App {
            clock,
            timer,
            index,
            faults,
            timeout_ns,
            classes,
            work,
            workers,
            queue_capacity,
            station: Mutex::new(Station {
                server: Server::new(workers, queue_capacity),
                waiting: VecDeque::new(),
                before_crashes: Integrals::default(),
            }),
            metrics: Mutex::new(ServiceMetrics::new("app", &names)),
            crashes: watch::Sender::new(0),
        }
    }

    /// Crashes the server at each of its crash times before `end` (run on its own task).
    pub async fn crash_on_schedule(self: Arc<App>, end: SimTime) {
        for (at, _) in self.faults.downtimes(self.index) {
            if at >= end {
                return;
            }
            self.timer.sleep_until(self.clock.to_wall(at)).await;
            self.crash();
        }
    }

    /// The process dies: its workers and queue are gone (every request on it fails) and
    /// its counters start again from zero.
    fn crash(&self) {
        let mut st = self.station.lock().unwrap_or_else(PoisonError::into_inner);
        let gone = st.server.integrals_at(self.clock.now());
        st.before_crashes.busy_ns += gone.busy_ns;
        st.before_crashes.queued_ns += gone.queued_ns;
        st.server = Server::new(self.workers, self.queue_capacity);
        for waiting in st.waiting.drain(..) {
            // A handler already gone has nothing to be told.
            let _ = waiting.send(Wake::Crashed);
        }
        self.crashes.send_modify(|n| *n += 1);
        let names: Vec<String> = self.classes.iter().map(|c| c.name.clone()).collect();
        *self.metrics.lock().unwrap_or_else(PoisonError::into_inner) = ServiceMetrics::new("app", &names);
    }

    /// The router of this server.
    pub fn router(self: Arc<App>) -> axum::Router {
        axum::Router::new().route("/request", get(request)).route("/metrics", get(metrics)).with_state(self)
    }

    /// The work of request `key` of `class` as drawn: its work steps' draws, one per step.
    fn draws_ns(&self, work: Work) -> Vec<u64> {
        let Some(class) = self.classes.get(work.class) else { return Vec::new() };
        class
            .work
            .iter()
            .enumerate()
            .map(|(step, d)| d.sample_ns(&mut self.work.draws_of(work.key, step as u64)))
            .collect()
    }

    /// When work `steps` starting at `started` is done: each step stretched by the
    /// slowdowns in force when it starts, as in the simulation.
    fn due(&self, started: SimTime, steps: &[u64]) -> SimTime {
        steps.iter().fold(started, |t, &ns| {
            SimTime(t.as_nanos().saturating_add(LiveFaults::stretch(ns, self.faults.work_factor(self.index, t))))
        })
    }

    /// Serves one request to the end.
    async fn serve(&self, work: Work) -> Served {
        let arrived = self.clock.now();
        let steps = self.draws_ns(work);
        let service_ns = steps.iter().fold(0u64, |a, &b| a.saturating_add(b));
        let (waiter, mut crashes) = {
            let mut st = self.station.lock().unwrap_or_else(PoisonError::into_inner);
            // Checked under the lock the crash takes, so no request slips onto a dead server.
            if self.faults.is_down(self.index, arrived.max(self.clock.now())) {
                return Served::Crashed;
            }
            let crashes = self.crashes.subscribe();
            let waiter = match st.server.arrive(arrived, Request { arrived, service_ns }) {
                Admission::Rejected => return Served::Rejected,
                Admission::Started => None,
                Admission::Queued => {
                    let (tx, rx) = oneshot::channel();
                    st.waiting.push_back(tx);
                    Some(rx)
                }
            };
            (waiter, crashes)
        };
        // A waiting request starts when the worker that took it was freed (the end its
        // work was due), not when its task wakes up, and a worker frees itself when its
        // work was due, not when the timer got round to it: the emulation's own lateness
        // (timer, scheduler) never lengthens service or shifts the queue's timeline. A
        // worker due before this request arrived (its release ran late) means there was
        // no real wait.
        let started = match waiter {
            // The sender is dropped only with the server: the run is over.
            Some(rx) => match rx.await {
                Ok(Wake::Start(start)) => start.max(arrived),
                Ok(Wake::Expired) => return Served::Expired,
                Ok(Wake::Crashed) => return Served::Crashed,
                Err(_) => self.clock.now().max(arrived),
            },
            None => arrived,
        };
        let due = self.due(started, &steps);
        tokio::select! {
            () = self.timer.sleep_until(self.clock.to_wall(due)) => {}
            // The worker died with the process: nothing to release.
            _ = crashes.changed() => return Served::Crashed,
        }
        self.release(due);
        Served::Done { queued: started > arrived, wait_ns: started.since(arrived) }
    }

    /// A worker is free at `now` (when its work was due): it drops the waiting requests
    /// whose deadline has passed and takes the next one, if any.
    fn release(&self, now: SimTime) {
        let mut st = self.station.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let mut expired = 0usize;
            let next = st.server.finish(now, self.timeout_ns, |_| expired += 1);
            for _ in 0..expired {
                if let Some(gone) = st.waiting.pop_front() {
                    // The handler may be gone already: nothing to tell it then.
                    let _ = gone.send(Wake::Expired);
                }
            }
            if next.is_none() {
                return;
            }
            match st.waiting.pop_front() {
                // An error means its handler is gone: the worker moves on to the next one.
                Some(taker) => {
                    if taker.send(Wake::Start(now)).is_ok() {
                        return;
                    }
                }
                None => return,
            }
        }
    }

    /// Busy workers and waiting requests integrated over the run up to now, across crashes.
    pub fn integrals(&self) -> Integrals {
        let st = self.station.lock().unwrap_or_else(PoisonError::into_inner);
        let now = st.server.integrals_at(self.clock.now());
        Integrals {
            busy_ns: st.before_crashes.busy_ns + now.busy_ns,
            queued_ns: st.before_crashes.queued_ns + now.queued_ns,
        }
    }

    fn gauges(&self) -> Gauges {
        let st = self.station.lock().unwrap_or_else(PoisonError::into_inner);
        let busy_ns = st.server.integrals_at(self.clock.now()).busy_ns;
        Gauges {
            in_flight: st.server.connections(),
            queued: st.server.queue_len(),
            cores: st.server.workers(),
            cpu_s: busy_ns as f64 / 1e9,
        }
    }
}

/// `GET /request`: 200 with the wait headers, 503 when the queue is full, 504 when the
/// request's deadline passed while it waited, 502 when the server crashed under it or is
/// down.
async fn request(State(app): State<Arc<App>>, Query(work): Query<Work>) -> impl IntoResponse {
    let arrived = app.clock.now();
    // Served on its own task, so a client that goes away cannot strand a worker.
    let served = {
        let app = Arc::clone(&app);
        tokio::spawn(async move { app.serve(work).await }).await.unwrap_or(Served::Rejected)
    };
    let latency_s = app.clock.now().since(arrived) as f64 / 1e9;
    let mut metrics = app.metrics.lock().unwrap_or_else(PoisonError::into_inner);
    metrics.answered(work.class, matches!(served, Served::Done { .. }), latency_s);
    let mut headers = HeaderMap::new();
    match served {
        Served::Done { queued, wait_ns } => {
            headers.insert(WAIT_HEADER, HeaderValue::from(wait_ns));
            headers.insert(QUEUED_HEADER, HeaderValue::from(u32::from(queued)));
            (StatusCode::OK, headers)
        }
        Served::Rejected => (StatusCode::SERVICE_UNAVAILABLE, headers),
        Served::Expired => (StatusCode::GATEWAY_TIMEOUT, headers),
        Served::Crashed => (StatusCode::BAD_GATEWAY, headers),
    }
}

/// `GET /metrics`.
async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let gauges = app.gauges();
    let text = app.metrics.lock().unwrap_or_else(PoisonError::into_inner).render(gauges);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}
