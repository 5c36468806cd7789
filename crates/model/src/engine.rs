//! The engine: the subsystems of a production architecture, wired by one closed event
//! enum ([`crate::event`]) and one exhaustive match.
//!
//! Each subsystem owns its state — the request flow, the calls and their timers, the
//! stations (app servers, services, storage, the database), the app tier's balancer and
//! memory, the database's roles and pools, the retry queue, the faults in force, the
//! edge, the network, the pool's scaling, the measurements, monitoring, logging, releases
//! and the responders — and answers questions or decides; the engine's handlers, spread
//! over the subsystems' files as `impl Engine` blocks named after them, carry a decision
//! from one subsystem to the next and schedule the events it asks for.
//!
//! A request is a root task on an app server. Its program's steps hold its worker: work
//! (CPU) for a sampled time, then calls. A call creates a child task on the callee's
//! station, which runs the callee's program and answers; the caller's timeout, retries,
//! hedging and circuit breaker decide what a missing or failed answer does. Every record
//! of work in flight lives in a slab, so memory follows requests in flight.

use prodsim_kernel::{EventQueue, Limits, Model, Observer, RunStats, SimTime};
use prodsim_parts::resilience::Ledger;
use prodsim_scenario::Scenario;

use crate::RunError;
use crate::app::AppTier;
use crate::calls::Calls;
use crate::database::Database;
use crate::deferral::Deferral;
use crate::delivery::Delivery;
use crate::edge::Edge;
use crate::event::{
    BalancerEvent, CallEvent, DeliveryEvent, Event, FaultEvent, FlowEvent, MonitoringEvent, ResponseEvent, ScalingEvent,
};
use crate::faults::FaultState;
use crate::flow::Flow;
use crate::logging::Logs;
use crate::measure::Measure;
use crate::monitoring::Monitor;
use crate::network::NetworkState;
use crate::outcome::Outcome;
use crate::recovery::Recovery;
use crate::response::Response;
use crate::scaling::Scaling;
use crate::station::Station;
use crate::streams::Keys;

/// Station index of the app servers.
pub(crate) const APP: u16 = 0;

/// A running architecture.
pub struct Engine {
    /// Arrivals, request classes and programs, the tasks in flight.
    pub(crate) flow: Flow,
    /// Calls in flight and their timeout lists.
    pub(crate) calls: Calls,
    /// App servers (station [`APP`]), services, third-party APIs, the storage, the
    /// database: their instances and what faults do to them.
    pub(crate) stations: Vec<Station>,
    /// The app tier: balancer, rotation, health checks, connections, memory, crashes.
    pub(crate) app: AppTier,
    /// The database's roles, replication and pools, if there is one.
    pub(crate) db: Option<Database>,
    /// The retry queue and its consumers.
    pub(crate) deferral: Deferral,
    /// The payment ledger.
    pub(crate) ledger: Ledger,
    /// Fallbacks, reconciliation and backups.
    pub(crate) recovery: Recovery,
    /// The faults and which are in force.
    pub(crate) faults: FaultState,
    /// Regions and the network, with `[[regions]]`.
    pub(crate) network: Option<NetworkState>,
    /// Clients, attacks and the reverse proxy; `None` when the scenario has none of them.
    pub(crate) edge: Option<Box<Edge>>,
    /// The app server pool changing at run time.
    pub(crate) scaling: Scaling,
    /// Counts, histograms, time series, exported counters and the SLO's ground truth.
    pub(crate) measure: Measure,
    /// Scraping, rules and routing; `None` without monitoring.
    pub(crate) monitor: Option<Box<Monitor>>,
    /// Structured logs; `None` without `[logging]`.
    pub(crate) logs: Option<Box<Logs>>,
    /// Versions and releases; `None` without `[pipeline]`/`[[deploys]]`/`[oncall]`/`[[playbooks]]`.
    pub(crate) delivery: Option<Box<Delivery>>,
    /// Pages, responders and playbook actions; `None` without them.
    pub(crate) response: Option<Box<Response>>,
    /// The keyed draws of every purpose (common random numbers by construction).
    pub(crate) keys: Keys,
}

impl Model for Engine {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, queue: &mut EventQueue<Event>) {
        self.checkpoint(now);
        match event {
            Event::Flow(e) => self.on_flow(now, e, queue),
            Event::Call(e) => self.on_call(now, e, queue),
            Event::Balancer(e) => self.on_balancer(now, e, queue),
            Event::Fault(e) => self.on_fault_event(now, e, queue),
            Event::Scaling(e) => self.on_scaling(now, e, queue),
            Event::Monitoring(e) => self.on_monitoring(now, e, queue),
            Event::Delivery(e) => self.on_delivery(now, e, queue),
            Event::Response(e) => self.on_response(now, e, queue),
        }
    }

    #[inline]
    fn in_flight(&self) -> u64 {
        self.measure.recorder.in_flight()
    }
}

impl Engine {
    /// Closes the time-series rows due at or before `now`.
    #[inline(always)]
    fn checkpoint(&mut self, now: SimTime) {
        if now >= self.measure.next_checkpoint {
            self.close_rows(now);
        }
    }

    #[cold]
    #[inline(never)]
    fn close_rows(&mut self, now: SimTime) {
        self.measure.recorder.checkpoint(now, &self.stations[APP as usize].instances);
        if now >= self.measure.series.next {
            self.close_series(now);
        }
        self.measure.next_checkpoint = self.measure.recorder.next_checkpoint().min(self.measure.series.next);
    }

    #[inline(always)]
    fn on_flow(&mut self, now: SimTime, event: FlowEvent, queue: &mut EventQueue<Event>) {
        match event {
            FlowEvent::Arrival { source } => self.on_arrival(now, source as usize, queue),
            FlowEvent::WorkDone { task, seq } => self.on_work_done(now, task, seq, queue),
        }
    }

    #[inline(never)]
    fn on_call(&mut self, now: SimTime, event: CallEvent, queue: &mut EventQueue<Event>) {
        match event {
            CallEvent::Failed { call, seq } => self.on_attempt_failed(now, call, seq, false, queue),
            CallEvent::Timeouts { list } => self.on_timeouts(now, list, queue),
            CallEvent::Retry { call, seq } => self.on_retry(now, call, seq, queue),
            CallEvent::Hedge { call, seq } => self.on_hedge(now, call, seq, queue),
            CallEvent::PoolTimeout { call, seq } => self.on_pool_timeout(now, call, seq, queue),
            CallEvent::ConsumerWake { consumer } => self.on_consumer_wake(now, consumer, queue),
            CallEvent::Reconcile => self.on_reconcile(now, queue),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_balancer(&mut self, now: SimTime, event: BalancerEvent, queue: &mut EventQueue<Event>) {
        match event {
            BalancerEvent::HealthProbe => self.health_probe(now, queue),
            BalancerEvent::EjectionEnds => self.ejections_end(now, queue),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_fault_event(&mut self, now: SimTime, event: FaultEvent, queue: &mut EventQueue<Event>) {
        match event {
            FaultEvent::Start { fault } => self.on_fault(now, fault as usize, true, queue),
            FaultEvent::End { fault } => self.on_fault(now, fault as usize, false, queue),
            FaultEvent::Restart { server } => self.on_restart_due(now, server as usize, queue),
            FaultEvent::Failover => self.failover(now),
            FaultEvent::Restored => self.on_restored(now),
            FaultEvent::OutOfMemory { server, epoch } => self.on_out_of_memory(now, server as usize, epoch, queue),
            FaultEvent::LeakTick { fault } => self.leak_tick(now, fault as usize, queue),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_scaling(&mut self, now: SimTime, event: ScalingEvent, queue: &mut EventQueue<Event>) {
        match event {
            ScalingEvent::Autoscale => self.autoscale(now, queue),
            ScalingEvent::Action { index } => self.act(now, index as usize, queue),
            ScalingEvent::ServerReady { server, life } => self.server_ready(now, server as usize, life, queue),
            ScalingEvent::DrainCheck => self.drain_check(now, queue),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_monitoring(&mut self, now: SimTime, event: MonitoringEvent, queue: &mut EventQueue<Event>) {
        match event {
            MonitoringEvent::Scrape => self.on_scrape(now, queue),
            MonitoringEvent::Evaluate => self.on_evaluate(now, queue),
            MonitoringEvent::Notify => self.on_wake(now, queue),
            MonitoringEvent::LogFlush => self.on_log_flush(now, queue),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_delivery(&mut self, now: SimTime, event: DeliveryEvent, queue: &mut EventQueue<Event>) {
        match event {
            DeliveryEvent::Release { release, seq } => self.on_release(now, release as usize, seq, queue),
            DeliveryEvent::VersionCrash { server, epoch } => self.on_version_crash(now, server as usize, epoch, queue),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_response(&mut self, now: SimTime, event: ResponseEvent, queue: &mut EventQueue<Event>) {
        match event {
            ResponseEvent::Acknowledge { page } => self.on_acknowledge(now, page, queue),
            ResponseEvent::Respond { page } => self.on_respond(now, page, queue),
            ResponseEvent::ActionDone { action } => self.on_action_done(now, action as usize, queue),
        }
    }
}

/// Runs `scenario` with `seed`, showing every event to `observer`.
pub(crate) fn simulate<O: Observer<Event>>(
    scenario: &Scenario,
    seed: u64,
    observer: &mut O,
) -> Result<Outcome, RunError> {
    let mut queue = EventQueue::with_capacity(4096);
    let mut engine = Engine::new(scenario, seed, &mut queue);
    let limits = Limits {
        end: SimTime(scenario.duration_ns),
        max_events: scenario.limits.max_events,
        max_in_flight: scenario.limits.max_in_flight,
    };
    let stats: RunStats = prodsim_kernel::run_observed(&mut engine, &mut queue, &limits, observer)?;
    Ok(engine.into_outcome(scenario, seed, stats))
}
