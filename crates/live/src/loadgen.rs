//! The load generator: each open workload's arrivals, drawn by the simulation's own
//! [`ArrivalProcess`] from the same stream, sent on the wall clock as real HTTP requests.
//!
//! Open model, as wrk2 and k6's constant-arrival-rate do: a request is sent at its intended
//! start whether or not earlier ones have been answered, and its latency is measured from
//! that intended start, so a stalled system cannot hide its stall by slowing the load down
//! (coordinated omission). Request keys and classes come from the same keyed streams as in
//! the simulation, so live and simulated runs see the same requests with the same work.
//! Bounded: sending stops at the end of the run, and at most [`MAX_IN_FLIGHT`] requests are
//! outstanding (one beyond is counted as failed, not sent).
//!
//! Closed workloads, as the simulation runs them: each user is a task that sends its first
//! request after one think time (drawn from the key of (workload, user)), waits for the
//! answer, thinks (a draw keyed by the request), and sends the next. Their latency is
//! measured from the send, which is when the user meant to send it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use prodsim_kernel::{Keyed, Purpose, SimTime, Streams};
use prodsim_parts::ArrivalProcess;
use prodsim_scenario::Scenario;
use prodsim_scenario::topology::ClosedLoop;

use crate::app::{QUEUED_HEADER, WAIT_HEADER};
use crate::clock::{LiveClock, Timer};
use crate::measure::{Fate, Measure};
use crate::plan::Plan;
use crate::proxy::Http;

/// Most requests outstanding at once.
pub const MAX_IN_FLIGHT: u64 = 50_000;

/// What every sending task shares.
struct Shared {
    /// `[servers].timeout` (`u64::MAX`: none): an answer after it is a timeout.
    timeout_ns: u64,
    clock: LiveClock,
    http: Http,
    target: String,
    end: SimTime,
    measure: Mutex<Measure>,
    in_flight: AtomicU64,
}

/// The load generator of one run.
pub struct LoadGen {
    shared: Arc<Shared>,
    timer: Timer,
    plan: Arc<Plan>,
    streams: Streams,
    warmup: SimTime,
}

impl LoadGen {
    /// A generator sending `scenario`'s requests (its seed, warmup and duration) to the
    /// proxy at `target` (`127.0.0.1:port`).
    pub fn new(
        clock: LiveClock,
        timer: Timer,
        http: Http,
        target: String,
        plan: Arc<Plan>,
        scenario: &Scenario,
    ) -> LoadGen {
        let (warmup, end) = (SimTime(scenario.warmup_ns), SimTime(scenario.duration_ns));
        let timeline =
            crate::timeline::Timeline::new(scenario.report_interval_ns, scenario.duration_ns, plan.workers_total());
        let measure = Mutex::new(Measure::new(plan.classes.len(), warmup, timeline));
        let in_flight = AtomicU64::new(0);
        let shared = Arc::new(Shared { timeout_ns: plan.timeout_ns, clock, http, target, end, measure, in_flight });
        LoadGen { shared, timer, plan, streams: Streams::new(scenario.seed), warmup }
    }

    /// Sends every workload's requests until the end of the run, then returns what was
    /// measured; requests without an answer by then are in flight.
    pub async fn run(self) -> Measure {
        let mut senders = Vec::new();
        let mut users = Vec::new();
        for (w, workload) in self.plan.workloads.iter().enumerate() {
            if let Some(Some(l)) = self.plan.closed.get(w) {
                users.extend(self.users(l, &workload.name));
                continue;
            }
            let w = workload;
            let sender = Sender {
                shared: Arc::clone(&self.shared),
                timer: self.timer.clone(),
                plan: Arc::clone(&self.plan),
                arrivals: ArrivalProcess::new(w, self.streams.rng(Purpose::Arrivals, &w.name)),
                keys: self.streams.keyed(Purpose::Requests, &w.name),
                class_keys: self.streams.keyed(Purpose::Class, ""),
                warmup: self.warmup,
            };
            senders.push(tokio::spawn(sender.run()));
        }
        let mut sent = vec![0u64; self.plan.classes.len()];
        for s in senders.into_iter().chain(users) {
            if let Ok(counts) = s.await {
                sent.iter_mut().zip(counts).for_each(|(a, b)| *a += b);
            }
        }
        self.timer.sleep_until(self.shared.clock.to_wall(self.shared.end)).await;
        let mut measure = self.shared.measure.lock().unwrap_or_else(PoisonError::into_inner);
        // Requests sent but not recorded are still in flight; late answers are dropped.
        let m = std::mem::replace(
            &mut *measure,
            Measure::new(0, SimTime(u64::MAX), crate::timeline::Timeline::new(1, 0, 0)),
        );
        close(m, &sent, self.warmup)
    }
}

impl LoadGen {
    /// The tasks of a closed loop's users, for the workload `name`.
    fn users(&self, l: &ClosedLoop, name: &str) -> Vec<tokio::task::JoinHandle<Vec<u64>>> {
        let first = self.streams.keyed(Purpose::Think, name);
        let keys = Arc::new(AtomicU64::new(0));
        (0..l.users)
            .map(|u| {
                let user = User {
                    shared: Arc::clone(&self.shared),
                    timer: self.timer.clone(),
                    plan: Arc::clone(&self.plan),
                    think_time: l.think_time.clone(),
                    first_ns: l.think_time.sample_ns(&mut first.draws(u64::from(u))),
                    next_key: Arc::clone(&keys),
                    request_keys: self.streams.keyed(Purpose::Requests, name),
                    think: self.streams.keyed(Purpose::Think, ""),
                    class_keys: self.streams.keyed(Purpose::Class, ""),
                    warmup: self.warmup,
                };
                tokio::spawn(user.run())
            })
            .collect()
    }
}

/// One user of a closed workload.
struct User {
    shared: Arc<Shared>,
    timer: Timer,
    plan: Arc<Plan>,
    think_time: prodsim_kernel::Dist,
    first_ns: u64,
    /// The workload's request counter, shared by its users.
    next_key: Arc<AtomicU64>,
    request_keys: Keyed,
    think: Keyed,
    class_keys: Keyed,
    warmup: SimTime,
}

impl User {
    /// Thinks, sends, waits for the answer, until the end; returns the requests sent after
    /// the warmup, per class.
    async fn run(self) -> Vec<u64> {
        let mut sent = vec![0u64; self.plan.classes.len()];
        let mut t = SimTime(self.first_ns);
        while t < self.shared.end {
            let key = self.request_keys.key(self.next_key.fetch_add(1, Ordering::Relaxed) + 1);
            let class = self.plan.pick_class(|| self.class_keys.draws(key).unit());
            self.timer.sleep_until(self.shared.clock.to_wall(t)).await;
            if t >= self.warmup {
                sent[class] += 1;
            }
            self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
            let end = self.shared.clock.to_wall(self.shared.end);
            // A user still waiting at the end stops there: its request counts as in flight.
            tokio::select! {
                () = self.shared.send(key, class, t) => {}
                () = self.timer.sleep_until(end) => break,
            }
            let answered = self.shared.clock.now();
            t = answered.after(self.think_time.sample_ns(&mut self.think.draws(key)));
        }
        sent
    }
}

/// `m` with every measured request still unanswered counted as in flight.
fn close(mut m: Measure, sent: &[u64], warmup: SimTime) -> Measure {
    for (class, &n) in sent.iter().enumerate() {
        let recorded = m.classes.get(class).map_or(n, |g| g.counts.arrived);
        for _ in recorded..n {
            m.record(class, warmup, Fate::InFlight);
        }
    }
    m
}

/// One workload's sending loop.
struct Sender {
    shared: Arc<Shared>,
    timer: Timer,
    plan: Arc<Plan>,
    arrivals: ArrivalProcess,
    keys: Keyed,
    class_keys: Keyed,
    warmup: SimTime,
}

impl Sender {
    /// Sends until the end; returns the requests sent after the warmup, per class.
    async fn run(mut self) -> Vec<u64> {
        let mut sent = vec![0u64; self.plan.classes.len()];
        let (mut t, mut n) = (SimTime::ZERO, 0u64);
        while let Some(next) = self.arrivals.next_after(t) {
            if next >= self.shared.end {
                break;
            }
            t = next;
            n += 1;
            let key = self.keys.key(n);
            let class = self.plan.pick_class(|| self.class_keys.draws(key).unit());
            self.timer.sleep_until(self.shared.clock.to_wall(t)).await;
            if t >= self.warmup {
                sent[class] += 1;
            }
            let shared = Arc::clone(&self.shared);
            if shared.in_flight.fetch_add(1, Ordering::Relaxed) >= MAX_IN_FLIGHT {
                shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                let mut m = shared.measure.lock().unwrap_or_else(PoisonError::into_inner);
                m.timeline.sent(t);
                m.timeline.answered(t, t, Fate::Failed);
                m.record(class, t, Fate::Failed);
                continue;
            }
            tokio::spawn(async move { shared.send(key, class, t).await });
        }
        sent
    }
}

impl Shared {
    /// Sends one request meant to start at `intended` and records its fate.
    async fn send(&self, key: u64, class: usize, intended: SimTime) {
        self.measure.lock().unwrap_or_else(PoisonError::into_inner).timeline.sent(intended);
        let uri = format!("http://{}/request?key={key}&class={class}", self.target);
        let answer = match uri.parse() {
            Ok(uri) => self.http.get(uri).await.ok(),
            Err(_) => None,
        };
        let answered = self.clock.now();
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let header = |resp: &hyper::Response<hyper::body::Incoming>, name: &str| -> u64 {
            resp.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        let fate = match answer {
            _ if answered > self.end => Fate::InFlight,
            Some(resp) if resp.status() == StatusCode::OK => {
                let (latency_ns, queued, wait_ns) =
                    (answered.since(intended), header(&resp, QUEUED_HEADER) == 1, header(&resp, WAIT_HEADER));
                if latency_ns > self.timeout_ns {
                    Fate::TimedOut { started: Some((queued, wait_ns)) }
                } else {
                    Fate::Completed { latency_ns, queued, wait_ns }
                }
            }
            Some(resp) if resp.status() == StatusCode::SERVICE_UNAVAILABLE => Fate::Rejected,
            Some(resp) if resp.status() == StatusCode::GATEWAY_TIMEOUT => Fate::TimedOut { started: None },
            Some(_) | None => Fate::Failed,
        };
        let mut m = self.measure.lock().unwrap_or_else(PoisonError::into_inner);
        m.timeline.answered(intended, answered, fate);
        m.record(class, intended, fate);
    }
}
