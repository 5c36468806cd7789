//! The monitoring stack inside the run: every `scrape_interval` each target (the
//! balancer, every app server, internal service and database instance, the retry queue and
//! the payment ledger) is scraped into the time-series store, as Prometheus would; every
//! `evaluation_interval` the recording rules, then each rule set's alerting rules, are
//! evaluated over the store, and the firing alerts go to that set's Alertmanager router,
//! whose notifications are recorded. A scrape of a dead instance records `up 0` and marks
//! its series stale; a `monitoring` outage stops scraping and evaluation.

pub(crate) mod alerting;
mod targets;

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::ops::routing::{AlertInput, Notification, Router};
use prodsim_parts::ops::rules::{AlertState, Rule, RuleEngine};
use prodsim_parts::ops::tsdb::{SeriesId, Tsdb};
use prodsim_scenario::monitoring::MonitoringSpec;
use prodsim_scenario::topology::{ServiceKind, Topology};

use crate::engine::{APP, Engine};
use crate::event::{Event, MonitoringEvent};
use crate::measure::metrics::{AUTH_OUTCOMES, CODES, DB_OPS, OUTCOMES, PAYMENT_OUTCOMES};
use crate::scaling::Life;
use crate::station::StationKind;
use targets::{Host, ScrapeTarget, TargetKind};

/// Which series of a target a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Up,
    Http(u16, u8),
    Bucket(u16, u8),
    Sum(u16),
    Count(u16),
    InFlight,
    QueueDepth,
    Cpu,
    Cores,
    Memory,
    DbInUse,
    DbMax,
    Lag,
    Dependency(u16, u8),
    RetryDepth,
    Payments(u8),
    DbBucket(u8, u8),
    DbSum(u8),
    DbCount(u8),
    Orders(u16),
    Revenue(u16),
    Host(Host),
    Signups(u16),
    /// `auth_attempts_total` of a login class, outcome slot (see `AUTH_OUTCOMES`).
    Auth(u16, u8),
}

/// One rule set's evaluator and router, and what they produced.
pub(crate) struct SetState {
    pub(crate) name: String,
    pub(crate) engine: RuleEngine,
    pub(crate) router: Router,
    pub(crate) notifications: Vec<Notification>,
}

/// The monitoring stack of a run.
pub(crate) struct Monitor {
    pub(crate) spec: MonitoringSpec,
    pub(crate) targets: Vec<ScrapeTarget>,
    /// First target of each station.
    pub(crate) station_base: Vec<usize>,
    /// Per target, the series of each dense slot index (`NO_SERIES` until first written).
    series: Vec<Vec<u32>>,
    classes: usize,
    buckets: usize,
    /// Per target: its last scrape succeeded (its series are fresh).
    fresh: Vec<bool>,
    pub(crate) tsdb: Tsdb,
    pub(crate) recording: RuleEngine,
    pub(crate) sets: Vec<SetState>,
    /// Failed pipelines' direct messages to their committers.
    pub(crate) committers: crate::delivery::notify::Committers,
    class_names: Vec<String>,
    station_names: Vec<String>,
    /// A `monitoring` outage is in force.
    pub(crate) down: bool,
    /// A `monitoring` slowdown's factor on the scrape and evaluation periods.
    pub(crate) slow: f64,
    /// Keep every sample (for `--metrics`) instead of the retention window.
    keep_all: bool,
    /// The samples of the target being scraped (reused from scrape to scrape).
    scratch: Vec<(Slot, f64)>,
    /// The earliest router wake already scheduled.
    wake: Option<SimTime>,
    /// When the next rule evaluation is scheduled: a router wake at the same instant
    /// waits for it, so a group tick sees that evaluation's alerts.
    next_evaluation: SimTime,
    /// Evaluations that returned an error, per rule set (recording rules first).
    pub(crate) scrapes: u64,
    pub(crate) evaluations: u64,
}

/// Number of the balancer's target.
pub(crate) const LB: usize = 0;

/// A slot no series was written for yet.
const NO_SERIES: u32 = u32::MAX;
/// Slots of a target that do not depend on classes, buckets or stations.
const FIXED_SLOTS: usize = 18;

/// Slots of a target's series table.
fn slots(classes: usize, buckets: usize, stations: usize) -> usize {
    FIXED_SLOTS
        + classes * CODES.len()
        + classes * buckets
        + 2 * classes
        + stations * OUTCOMES.len()
        + DB_OPS.len() * (buckets + 2)
        + 3 * classes
        + AUTH_OUTCOMES.len() * classes
}

/// Most series the store of `scenario`'s monitoring can hold: every target's slots, and
/// one series per target for each recording rule (0 without monitoring). For the run's
/// estimate ([`crate::estimate`]); it counts the targets as [`targets::scrape_targets`] lays
/// them out.
pub(crate) fn series_bound(scenario: &prodsim_scenario::Scenario) -> u64 {
    let topology = &scenario.topology;
    let Some(spec) = &topology.monitoring else { return 0 };
    let servers = topology.scaling.as_ref().map_or(scenario.servers.count, |s| s.max);
    let db = topology.database.as_ref().map_or(0, |d| 1 + u64::from(d.replicas));
    let services: u64 = topology.services.iter().map(|s| u64::from(s.instances)).sum();
    let extra =
        u64::from(topology.retry_queue.is_some()) + u64::from(topology.classes.iter().any(|c| c.payment.is_some()));
    let targets = 1 + u64::from(servers) + db + services + extra;
    let stations = 1 + topology.services.len() + usize::from(topology.database.is_some());
    let per_target = slots(topology.classes.len(), spec.buckets.len() + 1, stations) + spec.recording.len();
    targets * per_target as u64
}

impl Monitor {
    /// The stack for `spec`, its targets laid out over the stations `stations` (name, kind,
    /// instances) of `topology`; `keep_all` keeps every sample for export.
    pub(crate) fn new(
        spec: &MonitoringSpec,
        topology: &Topology,
        stations: &[(String, StationKind, usize)],
        keep_all: bool,
    ) -> Monitor {
        let (targets, station_base) = targets::scrape_targets(topology, stations);
        let sets = targets::rule_sets(spec);
        let n = targets.len();
        Monitor {
            spec: spec.clone(),
            targets,
            station_base,
            series: vec![vec![NO_SERIES; slots(topology.classes.len(), spec.buckets.len() + 1, stations.len())]; n],
            classes: topology.classes.len(),
            buckets: spec.buckets.len() + 1,
            fresh: vec![false; n],
            tsdb: Tsdb::new(),
            recording: RuleEngine::new(spec.recording.iter().cloned().map(Rule::Record).collect()),
            sets,
            committers: crate::delivery::notify::Committers::new(&spec.routing),
            class_names: topology.classes.iter().map(|c| c.name.clone()).collect(),
            station_names: stations.iter().map(|s| s.0.clone()).collect(),
            down: false,
            slow: 1.0,
            keep_all,
            wake: None,
            next_evaluation: SimTime(spec.evaluation_interval_ns),
            scratch: Vec::new(),
            scrapes: 0,
            evaluations: 0,
        }
    }

    fn period(&self, ns: u64) -> u64 {
        ((ns as f64) * self.slow).round().max(1.0) as u64
    }

    /// The labels of `slot` on target `t`.
    fn labels(&self, t: usize, slot: Slot, buckets: &[f64]) -> Vec<(String, String)> {
        let target = &self.targets[t];
        let mut l: Vec<(String, String)> =
            vec![("job".into(), target.job.clone()), ("instance".into(), target.instance.clone())];
        let mut add = |k: &str, v: String| l.push((k.to_string(), v));
        let le = |b: u8| {
            prodsim_parts::ops::catalog::format_le(buckets.get(usize::from(b)).copied().unwrap_or(f64::INFINITY))
        };
        let name = match slot {
            Slot::Up => "up",
            Slot::Http(c, code) => {
                add("service", target.service.clone());
                add("class", self.class_names[usize::from(c)].clone());
                add("code", CODES[usize::from(code)].into());
                "http_requests_total"
            }
            Slot::Bucket(c, b) => {
                add("service", target.service.clone());
                add("class", self.class_names[usize::from(c)].clone());
                add("le", le(b));
                "http_request_duration_seconds_bucket"
            }
            Slot::Sum(c) | Slot::Count(c) => {
                add("service", target.service.clone());
                add("class", self.class_names[usize::from(c)].clone());
                ["http_request_duration_seconds_sum", "http_request_duration_seconds_count"]
                    [usize::from(slot == Slot::Count(c))]
            }
            Slot::InFlight => {
                add("service", target.service.clone());
                "http_requests_in_flight"
            }
            Slot::QueueDepth | Slot::RetryDepth => {
                add("queue", if slot == Slot::QueueDepth { "requests" } else { "retry" }.into());
                "queue_depth"
            }
            Slot::Cpu => "process_cpu_seconds_total",
            Slot::Cores => "machine_cpu_cores",
            Slot::Memory => "process_resident_memory_bytes",
            Slot::DbInUse => "db_connections_in_use",
            Slot::DbMax => "db_connections_max",
            Slot::Lag => "db_replication_lag_seconds",
            Slot::Dependency(s, o) => {
                add("dependency", self.station_names[usize::from(s)].clone());
                add("outcome", OUTCOMES[usize::from(o)].into());
                "dependency_requests_total"
            }
            Slot::Payments(o) => {
                add("outcome", PAYMENT_OUTCOMES[usize::from(o)].into());
                "payments_total"
            }
            Slot::DbBucket(op, b) => {
                add("op", DB_OPS[usize::from(op)].into());
                add("le", le(b));
                "db_query_duration_seconds_bucket"
            }
            Slot::DbSum(op) | Slot::DbCount(op) => {
                add("op", DB_OPS[usize::from(op)].into());
                ["db_query_duration_seconds_sum", "db_query_duration_seconds_count"]
                    [usize::from(slot == Slot::DbCount(op))]
            }
            Slot::Orders(c) | Slot::Revenue(c) | Slot::Signups(c) => {
                add("class", self.class_names[usize::from(c)].clone());
                ["orders_total", "revenue_total", "signups_total"]
                    [usize::from(slot == Slot::Revenue(c)) + 2 * usize::from(slot == Slot::Signups(c))]
            }
            Slot::Auth(c, o) => {
                add("class", self.class_names[usize::from(c)].clone());
                add("outcome", AUTH_OUTCOMES[usize::from(o)].into());
                "auth_attempts_total"
            }
            Slot::Host(h) => {
                let (k, v) = h.label();
                add(k, v.into());
                h.name()
            }
        };
        l.push(("__name__".into(), name.into()));
        l.sort();
        l
    }

    /// The dense index of `slot` in a target's series table.
    fn index(&self, slot: Slot) -> usize {
        let (c, nb) = (self.classes, self.buckets);
        let http = FIXED_SLOTS;
        let bucket = http + c * CODES.len();
        let sum = bucket + c * nb;
        let dep = sum + 2 * c;
        let db = dep + self.station_names.len() * OUTCOMES.len();
        let ops = DB_OPS.len();
        let sales = db + ops * (nb + 2);
        match slot {
            Slot::Up => 0,
            Slot::InFlight => 1,
            Slot::QueueDepth => 2,
            Slot::Cpu => 3,
            Slot::Cores => 4,
            Slot::Memory => 5,
            Slot::DbInUse => 6,
            Slot::DbMax => 7,
            Slot::Lag => 8,
            Slot::RetryDepth => 9,
            Slot::Payments(o) => 10 + usize::from(o),
            Slot::Host(h) => 14 + h as usize,
            Slot::Http(k, code) => http + usize::from(k) * CODES.len() + usize::from(code),
            Slot::Bucket(k, b) => bucket + usize::from(k) * nb + usize::from(b),
            Slot::Sum(k) => sum + usize::from(k),
            Slot::Count(k) => sum + c + usize::from(k),
            Slot::Dependency(st, o) => dep + usize::from(st) * OUTCOMES.len() + usize::from(o),
            Slot::DbBucket(op, b) => db + usize::from(op) * nb + usize::from(b),
            Slot::DbSum(op) => db + ops * nb + usize::from(op),
            Slot::DbCount(op) => db + ops * nb + ops + usize::from(op),
            Slot::Orders(k) => sales + usize::from(k),
            Slot::Revenue(k) => sales + c + usize::from(k),
            Slot::Signups(k) => sales + 2 * c + usize::from(k),
            Slot::Auth(k, o) => sales + 3 * c + usize::from(k) * AUTH_OUTCOMES.len() + usize::from(o),
        }
    }

    /// Appends `v` for `slot` of target `t` at `t_ms`.
    fn emit(&mut self, t: usize, slot: Slot, t_ms: i64, v: f64) {
        let k = self.index(slot);
        let id = match self.series[t][k] {
            NO_SERIES => {
                let labels = self.labels(t, slot, &self.spec.buckets);
                let id = self.tsdb.series_id(labels);
                self.series[t][k] = id.0;
                id
            }
            id => SeriesId(id),
        };
        self.tsdb.append(id, t_ms, v);
    }

    /// Marks every series of target `t` but `up` stale at `t_ms` (a failed scrape).
    fn mark_stale(&mut self, t: usize, t_ms: i64) {
        for k in 1..self.series[t].len() {
            let id = self.series[t][k];
            if id != NO_SERIES {
                self.tsdb.mark_stale(SeriesId(id), t_ms);
            }
        }
    }
}

impl Engine {
    /// Builds the monitoring stack of `topology`, if it has one, and schedules the first
    /// scrape and evaluation.
    pub(crate) fn build_monitoring(&mut self, topology: &Topology, queue: &mut EventQueue<Event>) {
        let Some(spec) = &topology.monitoring else { return };
        let stations: Vec<(String, StationKind, usize)> =
            self.stations.iter().map(|s| (s.name.clone(), s.kind, s.instances.len())).collect();
        let m = Monitor::new(spec, topology, &stations, spec.retention_ns == u64::MAX);
        self.measure.counters = crate::measure::metrics::Counters::new(
            true,
            m.targets.len(),
            topology.classes.len(),
            m.station_base.clone(),
            &spec.buckets,
        );
        self.measure.counters.retry_target =
            m.targets.iter().position(|t| t.kind == TargetKind::RetryQueue).unwrap_or(usize::MAX);
        if let Some(slo) = &spec.slo {
            self.measure.truth = crate::measure::metrics::Truth {
                resolution_ns: slo.resolution_ns,
                latency_ns: slo.latency_ns.unwrap_or(u64::MAX),
                ..crate::measure::metrics::Truth::default()
            };
        }
        queue.schedule(SimTime(spec.scrape_interval_ns), Event::Monitoring(MonitoringEvent::Scrape));
        queue.schedule(SimTime(spec.evaluation_interval_ns), Event::Monitoring(MonitoringEvent::Evaluate));
        self.monitor = Some(Box::new(m));
    }

    /// Scrapes every target now and schedules the next scrape.
    pub(crate) fn on_scrape(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(m) = self.monitor.as_ref() else { return };
        queue.schedule(now.after(m.period(m.spec.scrape_interval_ns)), Event::Monitoring(MonitoringEvent::Scrape));
        if m.down {
            return;
        }
        let t_ms = (now.as_nanos() / 1_000_000) as i64;
        for t in 0..m.targets.len() {
            self.scrape_target(now, t, t_ms);
        }
        if let Some(m) = self.monitor.as_mut() {
            m.scrapes += 1;
        }
    }

    /// Whether target `t` answers a scrape: `None` when it is not provisioned.
    fn target_up(&self, kind: TargetKind) -> Option<bool> {
        match kind {
            TargetKind::Station(s, i) => {
                if s == APP as usize && self.scaling.life[i] == Life::Off {
                    return None;
                }
                let st = &self.stations[s];
                Some(st.instances[i].up && !st.faults.outage)
            }
            _ => Some(true),
        }
    }

    fn scrape_target(&mut self, now: SimTime, t: usize, t_ms: i64) {
        let Some(m) = self.monitor.as_ref() else { return };
        let kind = m.targets[t].kind;
        if let TargetKind::Station(s, _) = kind {
            if self.stations[s].kind == StationKind::Service(ServiceKind::ThirdParty) {
                return; // Someone else's API: nothing of ours to scrape.
            }
        }
        let up = self.target_up(kind);
        let m = self.monitor.as_mut().expect("checked above");
        match up {
            None => {
                if m.fresh[t] {
                    m.mark_stale(t, t_ms);
                    if m.series[t][0] != NO_SERIES {
                        m.tsdb.mark_stale(SeriesId(m.series[t][0]), t_ms);
                    }
                    m.fresh[t] = false;
                }
                return;
            }
            Some(false) => {
                if m.fresh[t] {
                    m.mark_stale(t, t_ms);
                    m.fresh[t] = false;
                }
                m.emit(t, Slot::Up, t_ms, 0.0);
                return;
            }
            Some(true) => {
                m.fresh[t] = true;
                m.emit(t, Slot::Up, t_ms, 1.0);
            }
        }
        // One buffer for every scrape of the run.
        let mut samples = std::mem::take(&mut m.scratch);
        samples.clear();
        self.target_samples(now, kind, t, &mut samples);
        let m = self.monitor.as_mut().expect("checked above");
        for &(slot, v) in &samples {
            m.emit(t, slot, t_ms, v);
        }
        m.scratch = samples;
    }

    /// The samples target `t` exposes now (besides `up`), into `out`.
    fn target_samples(&self, now: SimTime, kind: TargetKind, t: usize, out: &mut Vec<(Slot, f64)>) {
        let c = &self.measure.counters;
        let classes = self.flow.classes.cumulative.len();
        let http = |out: &mut Vec<(Slot, f64)>| {
            for class in 0..classes {
                let mut count = 0;
                for code in 0..CODES.len() {
                    let v = c.http_at(t, class, code);
                    count += v;
                    // Series appear once touched, like a client library's labelled
                    // counters; the balancer's and app servers' start at zero.
                    let preset = matches!(kind, TargetKind::Balancer)
                        || matches!(kind, TargetKind::Station(s, _) if s == APP as usize);
                    if v > 0 || preset {
                        out.push((Slot::Http(class as u16, code as u8), v as f64));
                    }
                }
                push_buckets(out, c.histogram(t, class), |b| Slot::Bucket(class as u16, b));
                out.push((Slot::Sum(class as u16), c.sum_seconds(t, class)));
                out.push((Slot::Count(class as u16), count as f64));
            }
        };
        match kind {
            TargetKind::Balancer => {
                http(out);
                out.push((Slot::InFlight, self.measure.recorder.in_flight() as f64));
                self.sales_samples(out);
            }
            TargetKind::Station(s, i) => {
                let st = &self.stations[s];
                let inst = &st.instances[i];
                if matches!(st.kind, StationKind::App | StationKind::Service(_)) {
                    http(out);
                }
                out.push((Slot::InFlight, f64::from(inst.connections())));
                out.push((Slot::QueueDepth, inst.waiting() as f64));
                for callee in 0..self.stations.len() {
                    for o in 0..OUTCOMES.len() {
                        let v = c.dep_at(t, callee, o);
                        if v > 0 {
                            out.push((Slot::Dependency(callee as u16, o as u8), v as f64));
                        }
                    }
                }
                if s == APP as usize {
                    out.push((Slot::Host(Host::NetReceive), c.net_rx_bytes[t] as f64));
                    out.push((Slot::Host(Host::NetTransmit), c.net_tx_bytes[t] as f64));
                    out.push((Slot::Cpu, c.cpu_ns[t] as f64 / 1e9));
                    out.push((Slot::Cores, f64::from(inst.workers())));
                    let mb = self.app.memory.resident_mb(i, now);
                    out.push((Slot::Memory, mb * 1024.0 * 1024.0));
                    if let Some(db) = &self.db {
                        let p = &db.pools[i];
                        out.push((Slot::DbInUse, f64::from(p.in_use + p.leaked)));
                        out.push((Slot::DbMax, f64::from(p.size)));
                    }
                }
                if let Some(db) = self.db.as_ref().filter(|d| d.station as usize == s) {
                    let lag = if i as u32 == db.primary { 0.0 } else { db.lag_ns as f64 / 1e9 };
                    out.push((Slot::Lag, lag));
                    out.push((Slot::Host(Host::FsSize), db.spec.disk_bytes as f64));
                    out.push((Slot::Host(Host::FsAvail), (db.spec.disk_bytes - db.stats.data_bytes) as f64));
                    self.query_samples(t, out);
                }
            }
            TargetKind::RetryQueue => {
                let depth = self.deferral.items.len();
                out.push((Slot::RetryDepth, depth as f64));
            }
            TargetKind::Payments => {
                let l = self.ledger.totals();
                for (o, v) in [l.attempted, l.completed, l.failed, l.lost].into_iter().enumerate() {
                    out.push((Slot::Payments(o as u8), v as f64));
                }
            }
        }
    }

    /// Evaluates the recording rules, then every rule set, routes the firing alerts, and
    /// schedules the next evaluation and the routers' next wake.
    pub(crate) fn on_evaluate(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(m) = self.monitor.as_mut() else { return };
        m.next_evaluation = now.after(m.period(m.spec.evaluation_interval_ns));
        queue.schedule(m.next_evaluation, Event::Monitoring(MonitoringEvent::Evaluate));
        if m.down {
            self.on_notify(now, queue);
            return;
        }
        let t_ms = (now.as_nanos() / 1_000_000) as i64;
        if !m.keep_all {
            m.tsdb.retain_after(t_ms - (m.spec.retention_ns / 1_000_000) as i64);
        }
        m.evaluations += 1;
        // Errors of one rule do not stop the others; the engine counts them.
        let _ = m.recording.evaluate(t_ms, &mut m.tsdb);
        for set in &mut m.sets {
            let _ = set.engine.evaluate(t_ms, &mut m.tsdb);
            let firing: Vec<AlertInput> = set
                .engine
                .active()
                .iter()
                .filter(|a| a.state == AlertState::Firing)
                .map(|a| AlertInput {
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    // Prometheus sends `StartsAt` = when the alert fired (after `for`).
                    starts_ms: a.fired_at_ms.unwrap_or(a.active_at_ms),
                })
                .collect();
            set.router.update(t_ms, &firing);
        }
        if self.delivery.is_some() || self.response.is_some() {
            let firing = self.firing_alert_names();
            self.check_rollback_alerts(now, &firing, queue);
            self.close_quiet_page(now, &firing);
        }
        self.on_notify(now, queue);
    }

    /// The names of the alerts firing now, in every set.
    fn firing_alert_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let Some(m) = self.monitor.as_ref() else { return names };
        for set in &m.sets {
            for a in set.engine.active().iter().filter(|a| a.state == AlertState::Firing) {
                if let Some(n) = a.labels.get("alertname") {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
        }
        names
    }

    /// A router wake: collects the notifications due now, unless a rule evaluation is due
    /// at this same instant, which collects them after it has updated the routers
    /// (Alertmanager's group tick sees the alerts Prometheus evaluated at that instant).
    pub(crate) fn on_wake(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(m) = self.monitor.as_mut() else { return };
        if !m.down && m.next_evaluation == now {
            if m.wake.is_some_and(|w| w <= now) {
                m.wake = None;
            }
            return;
        }
        self.on_notify(now, queue);
    }

    /// Collects the notifications due now and schedules the routers' next wake.
    pub(crate) fn on_notify(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(m) = self.monitor.as_mut() else { return };
        let t_ms = (now.as_nanos() / 1_000_000) as i64;
        if m.wake.is_some_and(|w| w <= now) {
            m.wake = None;
        }
        let mut next: Option<i64> = None;
        for set in &mut m.sets {
            set.notifications.extend(set.router.poll(t_ms));
            if let Some(w) = set.router.next_wake() {
                next = Some(next.map_or(w, |n| n.min(w)));
            }
        }
        if let Some(w) = next {
            let at = SimTime((w.max(t_ms + 1) as u64) * 1_000_000);
            if m.wake.is_none_or(|s| at < s) {
                m.wake = Some(at);
                queue.schedule(at, Event::Monitoring(MonitoringEvent::Notify));
            }
        }
        if self.response.is_some() {
            self.page_new_notifications(now, queue);
        }
    }
}

/// Pushes a histogram's `_bucket` samples, each the cumulative count up to its bound, from
/// each bucket's own count (`slot` names bucket `b`); returns the total.
fn push_buckets(out: &mut Vec<(Slot, f64)>, counts: &[u64], slot: impl Fn(u8) -> Slot) -> u64 {
    let mut cumulative = 0;
    for (b, n) in counts.iter().enumerate() {
        cumulative += n;
        out.push((slot(b as u8), cumulative as f64));
    }
    cumulative
}
