//! The multi-tier model: clients, app servers, services, third-party APIs, storage and a
//! database, wired by each request class's call graph, with resilience policies, a retry
//! queue, a payment ledger and the faults that break them.
//!
//! A request is a root task on an app server. Its program's steps hold its worker: work
//! (CPU) for a sampled time, then calls. A call creates a child task on the callee's
//! station, which runs the callee's program and answers; the caller's timeout, retries,
//! hedging and circuit breaker decide what a missing or failed answer does. Every record
//! of work in flight lives in a slab ([`tasks`]), so memory follows requests in flight.
//!
//! Single-tier scenarios run on `crate::world` instead, which is this model's special case
//! (one class, one work step) without the bookkeeping.

mod alerting;
mod calls;
mod chaos;
mod deferral;
mod delivery;
mod event;
mod flow;
mod incidents;
mod logging;
mod metrics;
mod monitoring;
mod network;
mod outcome;
mod pool;
mod proxy;
mod recorder;
mod release;
mod response;
mod scaling;
mod series;
mod station;
mod tasks;
mod timers;

use std::collections::VecDeque;

pub use alerting::{EpisodeOutcome, IncidentOutcome, MonitoringOutcome, RuleSetOutcome};
pub use delivery::{Mitigation, ReleaseEnd};
pub use event::Event;
pub use incidents::{DeliveryOutcome, ReleaseOutcome, affected_users};
pub use logging::LoggingOutcome;
pub use outcome::{ClassOutcome, ComponentOutcome, CostOutcome, DatabaseOutcome, RetryQueueOutcome, SystemOutcome};
pub use proxy::{MaliciousOutcome, ProxyOutcome};
pub use response::ActionRecord;
pub use scaling::ScalingOutcome;
pub use series::ComponentRow;

use prodsim_parts::resilience::{BreakerConfig, CircuitBreaker, Ledger, RetryBudget, RetryQueue, TokenBucket};
use prodsim_parts::workload::ArrivalProcess;
use prodsim_parts::{Balancer, Workload};

use crate::RunError;
use crate::outcome::Outcome;
use prodsim_kernel::{self as sim, Dist, EventQueue, Limits, Model, SimRng, SimTime};
use prodsim_parts::faults::{Fault, FaultKind};
use prodsim_scenario::Scenario;
use prodsim_scenario::topology::{CallSpec, DatabaseSpec, ServiceKind, Step, Topology};
use recorder::Recorder;
use station::Instance;
use tasks::{Call, Slab, Task};

/// Which kind of station.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StationKind {
    App,
    Service(ServiceKind),
    Database,
}

/// A pool of instances and what faults do to it.
struct Station {
    name: String,
    kind: StationKind,
    instances: Vec<Instance>,
    cursor: u32,
    rng: SimRng,
    /// The program calls to this station run (services; the database picks per query).
    program: u16,
    error_rate: f64,
    /// Fault effects, recomputed when a fault starts or ends.
    outage: bool,
    hang_ns: Option<u64>,
    fault_error_rate: f64,
    added_latency: Option<Dist>,
    slowdown: Vec<f64>,
    /// Partitions in force: calls from app servers `first..end` hang for the time given.
    partitions: Vec<(u32, u32, u64)>,
    breaker: Option<CircuitBreaker>,
    budget: Option<RetryBudget>,
    limiter: Option<TokenBucket>,
    stats: ComponentOutcome,
    price_per_hour: f64,
    price_per_call: f64,
}

/// A database connection pool of one app server.
#[derive(Clone, Debug, Default)]
struct Pool {
    size: u32,
    in_use: u32,
    leaked: u32,
    waiters: VecDeque<(u32, u32)>,
}

/// The database's role assignment and state.
struct Database {
    spec: DatabaseSpec,
    station: u16,
    primary: u32,
    replicas: Vec<u32>,
    read_cursor: u32,
    /// Last write time of each row (ns + 1; 0 = never written).
    last_write: Vec<u64>,
    lag_ns: u64,
    slow_factor: f64,
    pools: Vec<Pool>,
    failover_pending: bool,
    read_program: u16,
    write_program: u16,
    stats: DatabaseOutcome,
    key_rng: SimRng,
}

/// An item on the retry queue: a payment waiting to be charged.
#[derive(Clone, Copy, Debug)]
struct Deferred {
    payment: u32,
    server: u32,
    class: u16,
    spec: CallSpec,
}

/// A consumer of the retry queue.
#[derive(Clone, Copy, Debug, Default)]
struct Consumer {
    busy: bool,
    scheduled: bool,
    item: Option<(SimTime, Deferred)>,
}

/// The running multi-tier model.
pub struct System {
    arrivals: Vec<ArrivalProcess>,
    class_cumulative: Vec<f64>,
    class_rng: SimRng,
    programs: Vec<Vec<Step>>,
    class_payment: Vec<Option<u16>>,
    /// Per class: what one successful request earns (for lost revenue).
    class_revenue: Vec<f64>,
    stations: Vec<Station>,
    balancer: Box<dyn Balancer>,
    balancer_rng: SimRng,
    /// Whether the strategy hashes a session key (consistent hashing).
    hashing: bool,
    rotation: prodsim_parts::Rotation,
    health: Option<prodsim_parts::ActiveHealthCheck>,
    outliers: Option<prodsim_parts::OutlierDetection>,
    connections: Vec<u32>,
    timeout_ns: u64,
    work_rng: SimRng,
    jitter_rng: SimRng,
    tasks: Slab<Task>,
    calls: Slab<Call>,
    timers: timers::Timers,
    db: Option<Database>,
    ledger: Ledger,
    retry_queue: Option<(prodsim_scenario::topology::RetryQueueSpec, RetryQueue<Deferred>)>,
    consumers: Vec<Consumer>,
    rq_stats: RetryQueueOutcome,
    faults: Vec<Fault>,
    fault_active: Vec<bool>,
    restart_ns: u64,
    memory: MemoryState,
    crashes: u64,
    oom_kills: u64,
    recorder: Recorder,
    /// Regions and the network, when the scenario has `[[regions]]`.
    network: Option<network::NetworkState>,
    /// Each workload's think time, for closed workloads.
    think_time: Vec<Option<Dist>>,
    think_rng: SimRng,
    /// Clients, attacks and the reverse proxy; `None` when the scenario has none of them.
    edge: Option<Box<proxy::Edge>>,
    scaling: scaling::Scaling,
    series: series::Series,
    /// The counters behind the exported metrics (empty without monitoring).
    counters: metrics::Counters,
    /// Good and bad user requests per bucket, for the SLO's ground truth.
    truth: metrics::Truth,
    /// Scraping, rules and routing; `None` without monitoring.
    monitor: Option<Box<monitoring::Monitor>>,
    /// Structured logs; `None` without `[logging]`.
    logs: Option<Box<logging::Logs>>,
    /// The id the next user request gets at the app servers.
    next_request: u32,
    /// Versions and releases; `None` without `[pipeline]`/`[[deploys]]`/`[oncall]`/`[[playbooks]]`.
    delivery: Option<Box<delivery::Delivery>>,
    /// Pages, responders and playbook actions; `None` without them.
    response: Option<Box<response::Response>>,
}

/// App server memory, integrated lazily between changes of the leak rate.
struct MemoryState {
    base_mb: f64,
    limit_mb: f64,
    used_mb: Vec<f64>,
    since: Vec<SimTime>,
    leak_mb_per_s: Vec<f64>,
    epoch: Vec<u32>,
}

/// Station index of the app servers.
const APP: u16 = 0;

impl System {
    /// Builds the model for `scenario` (which must have a topology) with `seed`, and
    /// schedules the first arrivals and the faults.
    pub fn new(scenario: &Scenario, topology: &Topology, seed: u64, queue: &mut EventQueue<Event>) -> System {
        let pool = &scenario.servers;
        // Every per-server array covers the most servers the pool can ever have.
        let count = topology.scaling.as_ref().map_or(pool.count, |s| s.max) as usize;
        let rows = scenario.duration_ns.div_ceil(scenario.report_interval_ns) as usize;
        let mut programs: Vec<Vec<Step>> = topology.classes.iter().map(|c| c.steps.clone()).collect();
        let mut stations = Vec::with_capacity(topology.services.len() + 2);
        stations.push(Station::new(
            "servers",
            StationKind::App,
            (0..count)
                .map(|_| Instance::new(pool.workers, pool.queue_capacity.map_or(usize::MAX, |k| k as usize)))
                .collect(),
            sim::stream(seed, "servers.errors"),
            0,
            topology.price_per_server_hour,
        ));
        for s in &topology.services {
            let mut steps = vec![Step::Work(s.latency.clone())];
            steps.extend(s.steps.iter().cloned());
            programs.push(steps);
            let workers = s.workers.unwrap_or(u32::MAX);
            let cap = s.queue_capacity.map_or(usize::MAX, |k| k as usize);
            let mut st = Station::new(
                &s.name,
                StationKind::Service(s.kind),
                (0..s.instances).map(|_| Instance::new(workers, cap)).collect(),
                sim::stream(seed, &format!("service.{}", s.name)),
                (programs.len() - 1) as u16,
                s.price_per_hour,
            );
            st.error_rate = s.error_rate;
            st.price_per_call = s.price_per_call;
            st.breaker = s.breaker.map(|b| {
                CircuitBreaker::new(BreakerConfig {
                    failure_ratio: b.failure_ratio,
                    min_calls: b.min_calls,
                    window_ns: b.window_ns,
                    open_for_ns: b.open_for_ns,
                    half_open_probes: 3,
                })
            });
            st.budget = s.retry_budget.map(|b| RetryBudget::new(b.ratio, b.min_per_s, 1000.0f64.max(b.min_per_s)));
            st.limiter = s.rate_limit.map(|r| TokenBucket::new(r, r.max(1.0)));
            stations.push(st);
        }
        let db = topology.database.as_ref().map(|d| {
            programs.push(vec![Step::Work(d.read_time.clone())]);
            programs.push(vec![Step::Work(d.write_time.clone())]);
            let station = stations.len() as u16;
            stations.push(Station::new(
                "db",
                StationKind::Database,
                (0..=d.replicas).map(|_| Instance::new(d.connections, usize::MAX)).collect(),
                sim::stream(seed, "db"),
                0,
                d.price_per_hour,
            ));
            Database {
                spec: d.clone(),
                station,
                primary: 0,
                replicas: (1..=d.replicas).collect(),
                read_cursor: 0,
                last_write: vec![0; d.keys as usize],
                lag_ns: d.replication_lag_ns,
                slow_factor: 1.0,
                pools: (0..count).map(|_| Pool { size: d.pool, ..Pool::default() }).collect(),
                failover_pending: false,
                read_program: (programs.len() - 2) as u16,
                write_program: (programs.len() - 1) as u16,
                stats: DatabaseOutcome { max_replication_lag_ns: d.replication_lag_ns, ..DatabaseOutcome::default() },
                key_rng: sim::stream(seed, "db.keys"),
            }
        });
        let mut total = 0.0;
        let class_cumulative = topology
            .classes
            .iter()
            .map(|c| {
                total += c.weight;
                total
            })
            .collect();
        let workloads: Vec<Workload> =
            scenario.workloads.iter().map(|w| chaos::with_spikes(w, &scenario.faults)).collect();
        let memory = MemoryState {
            base_mb: topology.memory.base_mb,
            limit_mb: topology.memory.limit_mb,
            used_mb: vec![topology.memory.base_mb; count],
            since: vec![SimTime::ZERO; count],
            leak_mb_per_s: vec![0.0; count],
            epoch: vec![0; count],
        };
        let consumers = topology.retry_queue.map_or(0, |q| q.consumers as usize);
        let network = topology
            .network
            .as_ref()
            .map(|n| network::NetworkState::new(n, &topology.clients, sim::stream(seed, "network")));
        let think_time: Vec<Option<Dist>> =
            topology.clients.iter().map(|c| c.closed.as_ref().map(|l| l.think_time.clone())).collect();
        let mut system = System {
            arrivals: workloads
                .iter()
                .map(|w| ArrivalProcess::new(w, sim::stream(seed, &format!("workload.{}", w.name))))
                .collect(),
            class_cumulative,
            class_rng: sim::stream(seed, "classes"),
            programs,
            class_payment: topology.classes.iter().map(|c| c.payment).collect(),
            class_revenue: topology.classes.iter().map(|c| c.revenue).collect(),
            stations,
            balancer: scenario.balancer.strategy.build(&prodsim_parts::Setup {
                backends: count,
                choices: scenario.balancer.choices,
                weights: scenario.balancer.weights.clone(),
                backend_region: network.as_ref().map_or_else(Vec::new, |n| n.server_region.clone()),
                region_rtt_ns: network.as_ref().map_or_else(Vec::new, network::NetworkState::distance_matrix),
                ..prodsim_parts::Setup::default()
            }),
            balancer_rng: sim::stream(seed, "balancer"),
            hashing: scenario.balancer.strategy == prodsim_parts::Strategy::ConsistentHash,
            rotation: prodsim_parts::Rotation::new(count),
            health: scenario.balancer.health_check.map(|h| prodsim_parts::ActiveHealthCheck::new(h, count)),
            outliers: scenario.balancer.outlier_detection.map(|o| prodsim_parts::OutlierDetection::new(o, count)),
            connections: vec![0; count],
            timeout_ns: pool.timeout_ns.unwrap_or(u64::MAX),
            work_rng: sim::stream(seed, "servers.service_time"),
            jitter_rng: sim::stream(seed, "retry.jitter"),
            tasks: Slab::new(),
            calls: Slab::new(),
            timers: timers::Timers::default(),
            db,
            ledger: Ledger::new(),
            retry_queue: topology.retry_queue.map(|q| (q, RetryQueue::new(q.capacity as usize))),
            consumers: vec![Consumer::default(); consumers],
            rq_stats: RetryQueueOutcome::default(),
            faults: scenario.faults.clone(),
            fault_active: vec![false; scenario.faults.len()],
            restart_ns: topology.restart_ns,
            memory,
            crashes: 0,
            oom_kills: 0,
            recorder: Recorder::new(
                SimTime(scenario.warmup_ns),
                scenario.report_interval_ns,
                rows + 1,
                topology.classes.len(),
            ),
            network,
            think_time,
            think_rng: sim::stream(seed, "think_time"),
            edge: None,
            scaling: scaling::Scaling::new(topology.scaling.as_ref(), count, pool.workers),
            series: series::Series::new(scenario.report_interval_ns, rows + 1, topology.services.len() + 2),
            counters: metrics::Counters::new(false, 0, 0, Vec::new(), &[]),
            truth: metrics::Truth::default(),
            monitor: None,
            logs: None,
            next_request: 0,
            delivery: None,
            response: None,
        };
        system.install_scaling(queue);
        system.build_monitoring(topology, queue);
        if let Some(l) = &topology.logging {
            system.build_logging(l, topology.classes.iter().map(|c| c.name.clone()).collect(), seed, queue);
        }
        if let Some(d) = &topology.delivery {
            system.build_delivery(d, seed, queue);
            system.build_response(d, scenario, topology, seed);
        }
        system.edge = proxy::Edge::build(scenario, topology, seed, &mut system.arrivals);
        if let Some(n) = &system.network {
            system.recorder.track_regions(n.regions());
        }
        // Each user of a closed workload sends a first request after one think time.
        for (w, c) in topology.clients.iter().enumerate() {
            if let Some(l) = &c.closed {
                for _ in 0..l.users {
                    let at = SimTime(l.think_time.sample_ns(&mut system.think_rng));
                    queue.schedule(at, Event::Arrival { workload: w as u32 });
                }
            }
        }
        for w in 0..system.arrivals.len() {
            if let Some(next) = system.arrivals[w].next_after(SimTime::ZERO) {
                queue.schedule(next, Event::Arrival { workload: w as u32 });
            }
        }
        if let Some(h) = scenario.balancer.health_check {
            queue.schedule(SimTime(h.interval_ns), Event::HealthProbe);
        }
        if scenario.balancer.outlier_detection.is_some() {
            queue.schedule(SimTime(sim::NS_PER_S), Event::EjectionEnds);
        }
        for (i, f) in scenario.faults.iter().enumerate() {
            if matches!(f.kind, FaultKind::TrafficSpike { .. } | FaultKind::Ddos { .. }) {
                continue;
            }
            queue.schedule(SimTime(f.start_ns), Event::FaultStart { fault: i as u32 });
            if f.end_ns > f.start_ns {
                queue.schedule(SimTime(f.end_ns), Event::FaultEnd { fault: i as u32 });
            }
        }
        system
    }
}

impl Station {
    fn new(name: &str, kind: StationKind, instances: Vec<Instance>, rng: SimRng, program: u16, price: f64) -> Station {
        let n = instances.len();
        Station {
            name: name.to_string(),
            kind,
            instances,
            cursor: 0,
            rng,
            program,
            error_rate: 0.0,
            outage: false,
            hang_ns: None,
            fault_error_rate: 0.0,
            added_latency: None,
            slowdown: vec![1.0; n],
            partitions: Vec::new(),
            breaker: None,
            budget: None,
            limiter: None,
            stats: ComponentOutcome::default(),
            price_per_hour: price,
            price_per_call: 0.0,
        }
    }
}

impl Model for System {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, queue: &mut EventQueue<Event>) {
        self.recorder.checkpoint(now, &self.stations[APP as usize].instances);
        if now >= self.series.next {
            self.close_series(now);
        }
        match event {
            Event::Arrival { workload } => self.on_arrival(now, workload as usize, queue),
            Event::WorkDone { task, seq } => self.on_work_done(now, task, seq, queue),
            Event::CallFailed { call, seq } => self.on_attempt_failed(now, call, seq, false, queue),
            Event::Timeouts { list } => self.on_timeouts(now, list, queue),
            Event::Retry { call, seq } => self.on_retry(now, call, seq, queue),
            Event::Hedge { call, seq } => self.on_hedge(now, call, seq, queue),
            Event::PoolTimeout { call, seq } => self.on_pool_timeout(now, call, seq, queue),
            Event::ConsumerWake { consumer } => self.on_consumer_wake(now, consumer, queue),
            Event::Scrape => self.on_scrape(now, queue),
            Event::Evaluate => self.on_evaluate(now, queue),
            Event::Notify => self.on_notify(now, queue),
            Event::LogFlush => self.on_log_flush(now, queue),
            other => self.on_chaos_event(now, other, queue),
        }
    }

    #[inline]
    fn in_flight(&self) -> u64 {
        self.recorder.in_flight()
    }
}

/// Runs a multi-tier `scenario` with `seed`, showing every event to `observer`.
pub fn simulate<O: prodsim_kernel::Observer<Event>>(
    scenario: &Scenario,
    topology: &Topology,
    seed: u64,
    observer: &mut O,
) -> Result<Outcome, RunError> {
    let mut queue = EventQueue::with_capacity(4096);
    let mut system = System::new(scenario, topology, seed, &mut queue);
    let limits = Limits {
        end: SimTime(scenario.duration_ns),
        max_events: scenario.limits.max_events,
        max_in_flight: scenario.limits.max_in_flight,
    };
    let stats = sim::run_observed(&mut system, &mut queue, &limits, observer)?;
    Ok(system.into_outcome(scenario, topology, seed, stats))
}
