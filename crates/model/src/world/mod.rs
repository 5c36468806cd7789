//! Wiring: builds every component from a scenario, defines the closed event enum and
//! dispatches events to the components.
//!
//! A request's path: a workload's arrival event draws its service need, the balancer picks
//! a server, the server starts, queues or rejects it; a departure event frees the worker,
//! which takes the next waiting request whose deadline has not passed.

mod recorder;

use rand::RngExt;
use thiserror::Error;

use crate::outcome::Outcome;
use prodsim_kernel::{self as sim, Dist, EventQueue, Limits, Model, SimError, SimRng, SimTime};
use prodsim_parts::faults::{Fault, FaultKind};
use prodsim_parts::workload::ArrivalProcess;
use prodsim_parts::{Admission, Backends, Balancer, Client, Request, Server, Setup};
use prodsim_scenario::Scenario;
use recorder::Recorder;

/// Every event of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// Workload `workload` sends a request now.
    Arrival {
        /// Index into the scenario's workloads.
        workload: u32,
    },
    /// Server `server` finishes the request that arrived at `arrived`.
    Departure {
        /// Index of the server.
        server: u32,
        /// When the finished request arrived.
        arrived: SimTime,
    },
    /// Fault `fault` (an index into the scenario's faults) starts.
    FaultStart {
        /// Index of the fault.
        fault: u32,
    },
    /// Fault `fault` ends.
    FaultEnd {
        /// Index of the fault.
        fault: u32,
    },
}

/// What a strategy needs from the world beyond connection counts; both false for the
/// classic strategies, which keeps their hot path (and their random draws) unchanged.
#[derive(Clone, Copy, Debug, Default)]
struct Feedback {
    /// Draw a session key per request (consistent hashing).
    hashing: bool,
    /// Report every response time to the strategy (response time EWMA).
    observes: bool,
}

/// Why a run failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The engine stopped on a limit.
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// The running model: every component and the measurements.
pub struct World {
    arrivals: Vec<ArrivalProcess>,
    service_time: Dist,
    service_rng: SimRng,
    /// The service need of the next arriving request, drawn one request ahead so that the
    /// sampling's chain of float operations is off the path from an arrival to the queue
    /// insertion of its departure. The draws come in the same order as on demand.
    next_service_ns: u64,
    balancer: Box<dyn Balancer>,
    balancer_rng: SimRng,
    /// What the strategy needs beyond connection counts.
    feedback: Feedback,
    servers: Vec<Server>,
    /// Each server's connections, as the balancer sees them. Empty with a single server,
    /// which needs no balancing: then nothing reads them and they are not kept.
    connections: Vec<u32>,
    timeout_ns: u64,
    faults: Vec<Fault>,
    fault_active: Vec<bool>,
    /// Service time multiplier per server: the product of the slowdowns in force on it.
    slowdown: Vec<f64>,
    /// Whether any server's multiplier is not 1. Without faults in force (nearly always)
    /// a service time starts unscaled after one test of this flag, instead of a bounds
    /// check, a load and a float comparison per request.
    slowed: bool,
    recorder: Recorder,
}

impl World {
    /// Builds the world for `scenario` with `seed`, and schedules each workload's first
    /// arrival.
    pub fn new(scenario: &Scenario, seed: u64, queue: &mut EventQueue<Event>) -> World {
        let pool = &scenario.servers;
        let count = pool.count as usize;
        let capacity = pool.queue_capacity.map_or(usize::MAX, |k| k as usize);
        let rows = scenario.duration_ns.div_ceil(scenario.report_interval_ns) as usize;
        let mut world = World {
            arrivals: scenario
                .workloads
                .iter()
                .map(|w| ArrivalProcess::new(w, sim::stream(seed, &format!("workload.{}", w.name))))
                .collect(),
            // Validation guarantees a service time for single-tier scenarios.
            service_time: pool.service_time.clone().unwrap_or(Dist::Const { ns: 0 }),
            service_rng: sim::stream(seed, "servers.service_time"),
            next_service_ns: 0,
            balancer: scenario.balancer.strategy.build(&Setup {
                backends: count,
                choices: scenario.balancer.choices,
                weights: scenario.balancer.weights.clone(),
                ..Setup::default()
            }),
            balancer_rng: sim::stream(seed, "balancer"),
            feedback: Feedback {
                hashing: scenario.balancer.strategy == prodsim_parts::Strategy::ConsistentHash,
                observes: scenario.balancer.strategy == prodsim_parts::Strategy::ResponseTime,
            },
            servers: (0..count).map(|_| Server::new(pool.workers, capacity)).collect(),
            connections: if count > 1 { vec![0; count] } else { Vec::new() },
            timeout_ns: pool.timeout_ns.unwrap_or(u64::MAX),
            faults: scenario.faults.clone(),
            fault_active: vec![false; scenario.faults.len()],
            slowdown: vec![1.0; count],
            slowed: false,
            recorder: Recorder::new(SimTime(scenario.warmup_ns), scenario.report_interval_ns, rows + 1),
        };
        world.next_service_ns = world.service_time.sample_ns(&mut world.service_rng);
        for w in 0..world.arrivals.len() {
            world.schedule_next_arrival(w, SimTime::ZERO, queue);
        }
        for (i, f) in scenario.faults.iter().enumerate() {
            queue.schedule(SimTime(f.start_ns), Event::FaultStart { fault: i as u32 });
            queue.schedule(SimTime(f.end_ns), Event::FaultEnd { fault: i as u32 });
        }
        world
    }

    #[inline(always)]
    fn schedule_next_arrival(&mut self, w: usize, after: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(next) = self.arrivals[w].next_after(after) {
            queue.schedule(next, Event::Arrival { workload: w as u32 });
        }
    }

    #[inline]
    fn on_arrival(&mut self, now: SimTime, w: usize, queue: &mut EventQueue<Event>) {
        self.schedule_next_arrival(w, now, queue);
        // Drawn for every arrival, whatever the strategy, so every strategy sees the same
        // requests.
        let service_ns = self.next_service_ns;
        self.next_service_ns = self.service_time.sample_ns(&mut self.service_rng);
        // With one server there is nothing to balance, and skipping the (dynamic) call
        // changes no result: every strategy must pick the only backend, and the balancer's
        // random stream is its own, so its unused draws shift nobody else's.
        let s = if self.connections.is_empty() {
            0
        } else {
            let backends = Backends { connections: &self.connections, in_rotation: &[] };
            // Consistent hashing needs a key: a session of one of 100,000 users. Other
            // strategies draw nothing here, so their streams are unchanged.
            let client = if self.feedback.hashing {
                Client { region: 0, key: self.balancer_rng.random_range(0..100_000) }
            } else {
                Client::default()
            };
            self.balancer.pick(&backends, &client, &mut self.balancer_rng).unwrap_or(0)
        };
        let server = &mut self.servers[s];
        match server.arrive(now, Request { arrived: now, service_ns }) {
            Admission::Started => {
                self.recorder.arrived_started(now);
                let busy_ns = if self.slowed { scaled(service_ns, self.slowdown[s]) } else { service_ns };
                queue.schedule(now.after(busy_ns), Event::Departure { server: s as u32, arrived: now });
            }
            Admission::Queued => self.recorder.arrived_queued(now),
            Admission::Rejected => self.recorder.arrived_rejected(now),
        }
        if let Some(c) = self.connections.get_mut(s) {
            *c = server.connections();
        }
    }

    #[inline]
    fn on_departure(&mut self, now: SimTime, s: usize, arrived: SimTime, queue: &mut EventQueue<Event>) {
        if self.feedback.observes {
            self.balancer.observe(s, now, now.since(arrived), now.since(arrived) <= self.timeout_ns);
        }
        if now.since(arrived) > self.timeout_ns {
            self.recorder.timed_out(arrived);
        } else {
            self.recorder.completed(arrived, now);
        }
        let server = &mut self.servers[s];
        let recorder = &mut self.recorder;
        if let Some(next) = server.finish(now, self.timeout_ns, |expired| recorder.timed_out(expired.arrived)) {
            recorder.started(next.arrived, now);
            let busy_ns = if self.slowed { scaled(next.service_ns, self.slowdown[s]) } else { next.service_ns };
            queue.schedule(now.after(busy_ns), Event::Departure { server: s as u32, arrived: next.arrived });
        }
        if let Some(c) = self.connections.get_mut(s) {
            *c = server.connections();
        }
    }

    /// A fault event (any other event is ignored).
    #[cold]
    #[inline(never)]
    fn on_fault_event(&mut self, event: Event) {
        match event {
            Event::FaultStart { fault } => self.on_fault(fault as usize, true),
            Event::FaultEnd { fault } => self.on_fault(fault as usize, false),
            Event::Arrival { .. } | Event::Departure { .. } => {}
        }
    }

    /// A fault starts or ends: recompute what it changes.
    fn on_fault(&mut self, fault: usize, active: bool) {
        self.fault_active[fault] = active;
        let target = self.faults[fault].target;
        for (s, slowdown) in self.slowdown.iter_mut().enumerate() {
            if !target.hits_server(s) {
                continue;
            }
            *slowdown = self
                .faults
                .iter()
                .zip(&self.fault_active)
                .filter(|(f, on)| **on && f.target.hits_server(s))
                .map(|(f, _)| match f.kind {
                    FaultKind::Slowdown { factor } => factor,
                    // Validation sends every other kind to the multi-tier model.
                    _ => 1.0,
                })
                .product();
        }
        self.slowed = self.slowdown.iter().any(|&factor| factor != 1.0);
    }

    /// Turns the finished world into an outcome.
    fn into_outcome(mut self, scenario: &Scenario, seed: u64, stats: sim::RunStats) -> Outcome {
        let servers = self.recorder.finish(stats.end, &self.servers);
        let r = self.recorder;
        Outcome {
            scenario: scenario.name.clone(),
            seed,
            simulated_ns: stats.end.as_nanos(),
            warmup_ns: scenario.warmup_ns,
            events: stats.events,
            requests: r.requests,
            latency: r.latency,
            waiting: r.waiting,
            servers,
            interval_ns: scenario.report_interval_ns,
            rows: r.rows,
            faults: scenario.faults.clone(),
            system: None,
        }
    }
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, queue: &mut EventQueue<Event>) {
        self.recorder.checkpoint(now, &self.servers);
        // Faults are rare and handled out of line: with four arms LLVM dispatched through
        // a jump table (an indirect branch, and a mispredicted one whenever an arrival
        // follows a departure or the reverse); with arrivals and departures first it tests
        // the tag directly.
        match event {
            Event::Arrival { workload } => self.on_arrival(now, workload as usize, queue),
            Event::Departure { server, arrived } => self.on_departure(now, server as usize, arrived, queue),
            fault => self.on_fault_event(fault),
        }
    }

    #[inline]
    fn in_flight(&self) -> u64 {
        self.recorder.in_flight()
    }
}

/// A service time stretched by a slowdown factor; exact when there is none.
#[inline]
fn scaled(service_ns: u64, factor: f64) -> u64 {
    if factor == 1.0 { service_ns } else { (service_ns as f64 * factor + 0.5) as u64 }
}

/// Runs `scenario` with `seed` and returns what it produced: on the multi-tier model when
/// the scenario has a topology, on the single-tier model otherwise.
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<Outcome, RunError> {
    simulate_observed(scenario, seed, &mut sim::NoObserver)
}

/// [`simulate`], also returning the run's [`sim::EventLog`]: a fingerprint of every event
/// it processed (for determinism checks). Memory does not grow with the events.
pub fn simulate_logged(scenario: &Scenario, seed: u64) -> (Result<Outcome, RunError>, sim::EventLog) {
    let mut log = sim::EventLog::new();
    let result = simulate_observed(scenario, seed, &mut log);
    (result, log)
}

/// [`simulate`] with an observer of every event, on whichever model the scenario runs.
pub fn simulate_observed<O>(scenario: &Scenario, seed: u64, observer: &mut O) -> Result<Outcome, RunError>
where
    O: sim::Observer<Event> + sim::Observer<crate::system::Event>,
{
    if let Some(topology) = &scenario.topology {
        return crate::system::simulate(scenario, topology, seed, observer);
    }
    let mut queue = EventQueue::with_capacity(1024);
    let mut world = World::new(scenario, seed, &mut queue);
    let limits = Limits {
        end: SimTime(scenario.duration_ns),
        max_events: scenario.limits.max_events,
        max_in_flight: scenario.limits.max_in_flight,
    };
    let stats = sim::run_observed(&mut world, &mut queue, &limits, observer)?;
    Ok(world.into_outcome(scenario, seed, stats))
}
