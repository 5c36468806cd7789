//! Building an engine from a scenario and a seed: the stations and their programs, the
//! request flow, the app tier, then the subsystems that watch and change it; and the
//! first events (arrivals, closed users' first requests, probes, fault windows).

use prodsim_kernel::{EventQueue, NS_PER_S, Purpose, SimTime, Streams};
use prodsim_parts::resilience::{BreakerConfig, CircuitBreaker, Ledger, RetryBudget, TokenBucket};
use prodsim_parts::workload::ArrivalProcess;
use prodsim_parts::{ActiveHealthCheck, OutlierDetection, Rotation, Setup, Strategy};
use prodsim_scenario::Scenario;
use prodsim_scenario::topology::{ServiceSpec, Step, Topology};

use crate::app::{AppTier, Memory};
use crate::calls::Calls;
use crate::database::Database;
use crate::deferral::Deferral;
use crate::edge::Edge;
use crate::engine::Engine;
use crate::event::{BalancerEvent, Event, FlowEvent};
use crate::faults::{FaultState, with_spikes};
use crate::flow::{Classes, Flow, Program, Source};
use crate::measure::Measure;
use crate::measure::metrics::{Counters, Truth};
use crate::measure::recorder::Recorder;
use crate::measure::series::Series;
use crate::network::NetworkState;
use crate::recovery::Recovery;
use crate::scaling::Scaling;
use crate::station::{Instance, Station, StationKind};
use crate::streams::Keys;
use crate::tasks::Slab;

/// The stations of a topology and the programs their calls run.
struct Stations {
    stations: Vec<Station>,
    programs: Vec<Vec<Step>>,
    db: Option<Database>,
}

impl Engine {
    /// Builds the engine for `scenario` with `seed`, and schedules the first arrivals,
    /// probes and faults.
    pub(crate) fn new(scenario: &Scenario, seed: u64, queue: &mut EventQueue<Event>) -> Engine {
        let topology = &scenario.topology;
        let streams = Streams::new(seed);
        // Every per-server array covers the most servers the pool can ever have.
        let servers = topology.scaling.as_ref().map_or(scenario.servers.count, |s| s.max) as usize;
        let Stations { stations, programs, db } = stations(scenario, servers);
        let network = topology.network.as_ref().map(|n| NetworkState::new(n, &topology.clients));
        let app = app_tier(scenario, servers, network.as_ref(), &streams);
        let mut engine = Engine {
            flow: flow(scenario, programs, &streams),
            calls: Calls::new(),
            stations,
            app,
            db,
            deferral: Deferral::new(topology.retry_queue),
            ledger: Ledger::new(),
            recovery: Recovery::new(topology),
            faults: FaultState::new(&scenario.faults),
            network,
            edge: None,
            scaling: Scaling::new(topology.scaling.as_ref(), servers, scenario.servers.workers),
            measure: measure(scenario),
            monitor: None,
            logs: None,
            delivery: None,
            response: None,
            keys: Keys::new(&streams),
        };
        engine.build_watchers(scenario, &streams, queue);
        engine.edge = Edge::build(scenario, &streams, &mut engine.flow.arrivals, &mut engine.flow.sources);
        if let Some(n) = &engine.network {
            engine.measure.recorder.track_regions(n.regions());
        }
        engine.schedule_first_events(scenario, &streams, queue);
        engine
    }

    /// Scaling, monitoring, logging, releases and responders.
    fn build_watchers(&mut self, scenario: &Scenario, streams: &Streams, queue: &mut EventQueue<Event>) {
        let topology = &scenario.topology;
        self.install_scaling(queue);
        self.build_monitoring(topology, queue);
        if let Some(l) = &topology.logging {
            let classes = topology.classes.iter().map(|c| c.name.clone()).collect();
            self.build_logging(l, classes, streams.rng(Purpose::LogExemplars, ""), queue);
        }
        if let Some(d) = &topology.delivery {
            self.build_delivery(d, streams.rng(Purpose::Pipeline, ""), queue);
            self.build_response(d, scenario, streams);
        }
    }

    /// Closed users' first requests, every source's first arrival, the balancer's
    /// probes, the fault windows.
    fn schedule_first_events(&mut self, scenario: &Scenario, streams: &Streams, queue: &mut EventQueue<Event>) {
        // Each user of a closed workload sends a first request after one think time,
        // drawn from the key of (workload, user).
        for (w, c) in scenario.topology.clients.iter().enumerate() {
            if let Some(l) = &c.closed {
                let users = streams.keyed(Purpose::Think, &scenario.workloads[w].name);
                for u in 0..l.users {
                    let at = SimTime(l.think_time.sample_ns(&mut users.draws(u64::from(u))));
                    queue.schedule(at, Event::Flow(FlowEvent::Arrival { source: w as u32 }));
                }
            }
        }
        for (w, arrivals) in self.flow.arrivals.iter_mut().enumerate() {
            if let Some(next) = arrivals.next_after(SimTime::ZERO) {
                queue.schedule(next, Event::Flow(FlowEvent::Arrival { source: w as u32 }));
            }
        }
        if let Some(h) = scenario.balancer.health_check {
            queue.schedule(SimTime(h.interval_ns), Event::Balancer(BalancerEvent::HealthProbe));
        }
        if scenario.balancer.outlier_detection.is_some() {
            queue.schedule(SimTime(NS_PER_S), Event::Balancer(BalancerEvent::EjectionEnds));
        }
        self.schedule_faults(queue);
        self.schedule_reconciliation(queue);
    }
}

/// The app servers, every service, the database; one program per class, one per service,
/// two for the database (read, write).
fn stations(scenario: &Scenario, servers: usize) -> Stations {
    let (topology, pool) = (&scenario.topology, &scenario.servers);
    let mut programs: Vec<Vec<Step>> = topology.classes.iter().map(|c| c.steps.clone()).collect();
    let mut stations = Vec::with_capacity(topology.services.len() + 2);
    let capacity = pool.queue_capacity.map_or(usize::MAX, |k| k as usize);
    let instances = (0..servers).map(|_| Instance::new(pool.workers, capacity)).collect();
    stations.push(Station::new("servers", StationKind::App, instances, 0, topology.price_per_server_hour));
    for s in &topology.services {
        let mut steps = vec![Step::Work(s.latency.clone())];
        steps.extend(s.steps.iter().cloned());
        programs.push(steps);
        stations.push(service(s, (programs.len() - 1) as u16));
    }
    let db = topology.database.as_ref().map(|d| {
        programs.push(vec![Step::Work(d.read_time.clone())]);
        programs.push(vec![Step::Work(d.write_time.clone())]);
        let station = stations.len() as u16;
        let instances = (0..=d.replicas).map(|_| Instance::new(d.connections, usize::MAX)).collect();
        stations.push(Station::new("db", StationKind::Database, instances, 0, d.price_per_hour));
        Database::new(d, station, servers, (programs.len() - 2) as u16)
    });
    Stations { stations, programs, db }
}

/// A service's station, running program `program`.
fn service(s: &ServiceSpec, program: u16) -> Station {
    let workers = s.workers.unwrap_or(u32::MAX);
    let cap = s.queue_capacity.map_or(usize::MAX, |k| k as usize);
    let instances = (0..s.instances).map(|_| Instance::new(workers, cap)).collect();
    let mut st = Station::new(&s.name, StationKind::Service(s.kind), instances, program, s.price_per_hour);
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
    st
}

/// The request flow: one arrival process and one key stream per workload (traffic spikes
/// folded in), the classes, the programs.
fn flow(scenario: &Scenario, programs: Vec<Vec<Step>>, streams: &Streams) -> Flow {
    let topology = &scenario.topology;
    let mut total = 0.0;
    let cumulative = topology
        .classes
        .iter()
        .map(|c| {
            total += c.weight;
            total
        })
        .collect();
    let workloads = scenario.workloads.iter().map(|w| with_spikes(w, &scenario.faults));
    Flow {
        arrivals: workloads.map(|w| ArrivalProcess::new(&w, streams.rng(Purpose::Arrivals, &w.name))).collect(),
        sources: scenario
            .workloads
            .iter()
            .map(|w| Source { keys: streams.keyed(Purpose::Requests, &w.name), sent: 0 })
            .collect(),
        classes: Classes {
            cumulative,
            payment: topology.classes.iter().map(|c| c.payment).collect(),
            revenue: topology.classes.iter().map(|c| c.revenue).collect(),
            bytes: topology.classes.iter().map(|c| (c.request_bytes, c.response_bytes)).collect(),
            signup: topology.classes.iter().map(|c| c.signup).collect(),
            login: topology.classes.iter().map(|c| c.login).collect(),
        },
        programs: programs.into_iter().map(Program::new).collect(),
        think_time: topology.clients.iter().map(|c| c.closed.as_ref().map(|l| l.think_time.clone())).collect(),
        closed: topology.clients.iter().any(|c| c.closed.is_some()),
        tasks: Slab::new(),
        next_request: 0,
        timeout_ns: scenario.servers.timeout_ns.unwrap_or(u64::MAX),
    }
}

/// The balancer, its rotation and health checks, and the servers' processes.
fn app_tier(scenario: &Scenario, servers: usize, network: Option<&NetworkState>, streams: &Streams) -> AppTier {
    let (b, topology) = (&scenario.balancer, &scenario.topology);
    let balancer = b.strategy.build(&Setup {
        backends: servers,
        choices: b.choices,
        weights: b.weights.clone(),
        backend_region: network.map_or_else(Vec::new, |n| n.server_region.clone()),
        region_rtt_ns: network.map_or_else(Vec::new, NetworkState::distance_matrix),
        ..Setup::default()
    });
    AppTier {
        observes: balancer.observes(),
        balancer,
        balancer_rng: streams.rng(Purpose::Balancer, ""),
        hashing: b.strategy == Strategy::ConsistentHash,
        rotation: Rotation::new(servers),
        health: b.health_check.map(|h| ActiveHealthCheck::new(h, servers)),
        outliers: b.outlier_detection.map(|o| OutlierDetection::new(o, servers)),
        connections: vec![0; servers],
        memory: Memory::new(servers, topology.memory.base_mb, topology.memory.limit_mb),
        restart_ns: topology.restart_ns,
        crashes: 0,
        oom_kills: 0,
    }
}

/// The recorder and the series, sized for the run; no counters until monitoring is built.
fn measure(scenario: &Scenario) -> Measure {
    let topology: &Topology = &scenario.topology;
    let rows = scenario.duration_ns.div_ceil(scenario.report_interval_ns) as usize;
    let warmup = SimTime(scenario.warmup_ns);
    let recorder = Recorder::new(warmup, scenario.report_interval_ns, rows + 1, topology.classes.len());
    let series = Series::new(scenario.report_interval_ns, rows + 1, topology.services.len() + 2);
    let next_checkpoint = recorder.next_checkpoint().min(series.next);
    Measure {
        recorder,
        series,
        counters: Counters::new(false, 0, 0, Vec::new(), &[]),
        truth: Truth::default(),
        next_checkpoint,
    }
}
