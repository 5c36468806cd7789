//! The edge: clients with ids, malicious requests, `ddos` attacks and the reverse proxy in
//! front of the app servers.
//!
//! Only built when the scenario has a `[proxy]`, malicious traffic or a `ddos` fault;
//! otherwise `Engine::edge` is `None` and the arrival path is the plain one.
//!
//! Each request draws a client id (and, for a workload with a `malicious` share, whether
//! it is malicious) from its key (`Purpose::Clients`). A `ddos` fault is an extra arrival
//! process whose requests are all malicious. With a proxy, a request first waits for a
//! proxy core: the core spends the request's CPU (a TLS handshake unless the session is
//! resumed, the request handling, and for a forwarded request the compression of its
//! response), and the proxy decides (`prodsim_parts::proxy::Proxy`): rate limited (429), blocked by the
//! filter (403), answered from the cache, or forwarded to the app servers. A successful
//! forwarded response of a cacheable class is stored in the cache.
//!
//! The proxy's work for a request is done in one go when a core takes it, response
//! compression included: that models the core time and the queue it causes, not the order
//! of the phases. Malicious requests are counted in their own block, never in the users'
//! statistics, but they hold workers and connections like any request.

use prodsim_kernel::{EventQueue, Purpose, SimTime, Streams};
use prodsim_parts::faults::FaultKind;
use prodsim_parts::proxy::{CacheConfig, Proxy, ProxyConfig, ProxyRequest, Verdict};
use prodsim_parts::workload::ArrivalProcess;
use prodsim_parts::{Arrivals, Stage, Workload};
use prodsim_scenario::Scenario;
use prodsim_scenario::proxy::ProxySpec;

use crate::engine::{APP, Engine};
use crate::event::{Event, FlowEvent};
use crate::flow::{self, Admission};

use crate::measure::recorder::Fate;
use crate::station::{Admit, Instance};
use crate::tasks::{NONE, Origin, Task};

/// Station id of proxy tasks (the proxy's instances live in [`Edge`], not in `stations`).
pub(crate) const PROXY: u16 = u16::MAX;

/// What the proxy decided for a task, kept in its `step` while its CPU runs.
const FORWARD: u16 = 1;
const HIT: u16 = 2;
const LIMITED: u16 = 3;
const BLOCKED: u16 = 4;

/// The status the proxy answered a refused request with: `429` for its rate limit, `403`
/// for its filter (slots of `metrics::CODES`); `None` for anything else.
#[inline]
pub(crate) fn refusal_code(task: &Task) -> Option<usize> {
    match (task.station == PROXY, task.step) {
        (true, LIMITED) => Some(crate::measure::metrics::TOO_MANY),
        (true, BLOCKED) => Some(crate::measure::metrics::FORBIDDEN),
        _ => None,
    }
}

/// The reverse proxy's numbers. Request counts cover requests that arrived after the
/// warmup; utilization and queue cover the whole run, as for components.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProxyOutcome {
    /// Proxy instances.
    pub instances: u32,
    /// Requests the proxy decided on (taken by a core).
    pub requests: u64,
    /// Full TLS handshakes.
    pub tls_handshakes: u64,
    /// Requests refused by the per-client rate limit (HTTP 429).
    pub rate_limited: u64,
    /// Malicious requests the filter blocked.
    pub filtered: u64,
    /// Legitimate requests the filter blocked by mistake.
    pub false_positives: u64,
    /// Requests answered from the cache.
    pub cache_hits: u64,
    /// Requests of a cacheable class not found fresh in the cache.
    pub cache_misses: u64,
    /// Requests sent on to the app servers.
    pub forwarded: u64,
    /// Response bytes sent to clients (after compression).
    pub bytes_sent: u64,
    /// Response bytes compression saved.
    pub bytes_saved: u64,
    /// Busy cores / cores, over the whole run.
    pub utilization: f64,
    /// Waiting requests, time-averaged over the whole run.
    pub mean_queue_length: f64,
    /// Longest queue on one instance.
    pub peak_queue: u64,
}

impl ProxyOutcome {
    /// Hits over cache lookups (`None` without lookups).
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let lookups = self.cache_hits + self.cache_misses;
        (lookups > 0).then(|| self.cache_hits as f64 / lookups as f64)
    }
}

/// What became of malicious requests that arrived after the warmup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaliciousOutcome {
    /// Malicious requests that arrived.
    pub arrived: u64,
    /// Blocked by the proxy's filter.
    pub filtered: u64,
    /// Refused by the per-client rate limit.
    pub rate_limited: u64,
    /// Served by the app servers (they got through and cost full work).
    pub served: u64,
    /// Neither turned away by the proxy's defences nor served: refused by a full queue,
    /// timed out or failed, in the proxy's queue or further in.
    pub failed: u64,
}

/// Where requests come from: a workload or an attack.
struct Source {
    first_client: u32,
    clients: u32,
    malicious: f64,
    attack: bool,
    /// A `credential_stuffing` attack's login class.
    login_class: Option<u16>,
    /// A `credential_stuffing` attack's share of failed logins.
    login_failure: Option<f64>,
}

/// The running proxy.
struct ProxyState {
    spec: ProxySpec,
    decider: Proxy,
    instances: Vec<Instance>,
    cursor: u32,
    stats: ProxyOutcome,
}

/// A `ddos` fault: attack requests at `rate` from `clients` over a window.
struct Attack {
    rate: f64,
    clients: u32,
    start_ns: u64,
    end_ns: u64,
    /// A `credential_stuffing` attack's login class and share of failed logins.
    login: Option<(u16, f64)>,
}

impl Attack {
    /// The attack of fault `f`, if it is one.
    fn of(f: &prodsim_parts::faults::Fault) -> Option<Attack> {
        match f.kind {
            FaultKind::Ddos { rate, clients } => {
                Some(Attack { rate, clients, start_ns: f.start_ns, end_ns: f.end_ns, login: None })
            }
            FaultKind::CredentialStuffing { rate, clients, class, failure_ratio } => Some(Attack {
                rate,
                clients,
                start_ns: f.start_ns,
                end_ns: f.end_ns,
                login: Some((class, failure_ratio)),
            }),
            _ => None,
        }
    }

    /// Its arrivals as a workload named `name`: nothing, then `rate` over its window.
    fn workload(&self, name: &str) -> Workload {
        let mut stages = vec![Stage { at: SimTime::ZERO, rate: 0.0 }];
        if self.start_ns < self.end_ns {
            stages.retain(|s| s.at.as_nanos() < self.start_ns);
            stages.push(Stage { at: SimTime(self.start_ns), rate: self.rate });
            stages.push(Stage { at: SimTime(self.end_ns), rate: 0.0 });
        }
        Workload { name: name.to_string(), arrivals: Arrivals::Poisson, stages }
    }
}

impl ProxyState {
    /// The proxy of `p`, rate-limiting `clients` clients.
    fn new(p: &ProxySpec, clients: u32) -> ProxyState {
        ProxyState {
            decider: Proxy::new(&ProxyConfig {
                clients: clients as usize,
                rate_limit: p.rate_limit,
                filter: p.filter,
                cache: p.cache.as_ref().map(|c| CacheConfig {
                    capacity: c.capacity as usize,
                    ttl_ns: c.ttl_ns,
                    keys: c.keys,
                    zipf: c.zipf,
                }),
            }),
            instances: (0..p.instances)
                .map(|_| Instance::new(p.workers, p.queue_capacity.map_or(usize::MAX, |q| q as usize)))
                .collect(),
            cursor: 0,
            stats: ProxyOutcome { instances: p.instances, ..ProxyOutcome::default() },
            spec: p.clone(),
        }
    }
}

/// Clients, attacks and the proxy.
pub(crate) struct Edge {
    sources: Vec<Source>,
    proxy: Option<ProxyState>,
    response_bytes: Vec<u64>,
    cacheable: Vec<bool>,
    warmup: SimTime,
    malicious: MaliciousOutcome,
}

impl Edge {
    /// Builds the edge, appending one arrival process per `ddos` fault to `arrivals`;
    /// `None` when the scenario has nothing at the edge.
    pub(crate) fn build(
        scenario: &Scenario,
        streams: &Streams,
        arrivals: &mut Vec<ArrivalProcess>,
        sources: &mut Vec<flow::Source>,
    ) -> Option<Box<Edge>> {
        let spec = &scenario.topology.edge;
        let attacks: Vec<Attack> = scenario.faults.iter().filter_map(Attack::of).collect();
        if !spec.is_active() && attacks.is_empty() {
            return None;
        }
        let mut next_client = 0u32;
        let mut edge_sources = Vec::with_capacity(spec.clients.len() + attacks.len());
        for c in &spec.clients {
            edge_sources.push(Source {
                first_client: next_client,
                clients: c.users,
                malicious: c.malicious,
                attack: false,
                login_class: None,
                login_failure: None,
            });
            next_client = next_client.saturating_add(c.users);
        }
        for (i, a) in attacks.iter().enumerate() {
            // Attacks draw from purposes of their own, named by index: no workload, whatever
            // its name (even `ddos.0`), shares an attack's streams.
            let name = format!("ddos.{i}");
            // A stuffing attack's streams are named apart from the ddos attacks' indices.
            let index = if a.login.is_some() { format!("stuffing.{i}") } else { i.to_string() };
            arrivals.push(ArrivalProcess::new(&a.workload(&name), streams.rng(Purpose::AttackArrivals, &index)));
            sources.push(flow::Source { keys: streams.keyed(Purpose::AttackRequests, &index), sent: 0 });
            edge_sources.push(Source {
                first_client: next_client,
                clients: a.clients,
                malicious: 1.0,
                attack: true,
                login_class: a.login.map(|l| l.0),
                login_failure: a.login.map(|l| l.1),
            });
            next_client = next_client.saturating_add(a.clients);
        }
        let classes = scenario.topology.classes.len();
        let proxy = spec.proxy.as_ref().map(|p| ProxyState::new(p, next_client));
        let cacheable =
            spec.proxy.as_ref().and_then(|p| p.cache.as_ref()).map_or(vec![false; classes], |c| c.cacheable.clone());
        Some(Box::new(Edge {
            sources: edge_sources,
            proxy,
            response_bytes: spec.response_bytes.clone(),
            cacheable,
            warmup: SimTime(scenario.warmup_ns),
            malicious: MaliciousOutcome::default(),
        }))
    }

    /// The proxy's and the malicious requests' numbers at `end`.
    pub(crate) fn outcome(&self, end: SimTime) -> (Option<ProxyOutcome>, MaliciousOutcome) {
        let proxy = self.proxy.as_ref().map(|p| {
            let mut o = p.stats;
            let whole_ns = end.as_nanos().max(1) as f64;
            let busy: u128 = p.instances.iter().map(|i| i.integrals_at(end).0).sum();
            let queued: u128 = p.instances.iter().map(|i| i.integrals_at(end).1).sum();
            let cores: f64 = p.instances.iter().map(|i| f64::from(i.workers())).sum();
            o.utilization = busy as f64 / (whole_ns * cores);
            o.mean_queue_length = queued as f64 / whole_ns;
            o.peak_queue = p.instances.iter().map(|i| i.peak_queue as u64).max().unwrap_or(0);
            o
        });
        (proxy, self.malicious)
    }

    /// The share of failed logins of source `source`'s attack, if it is a
    /// `credential_stuffing` attack.
    pub(crate) fn login_failure(&self, source: u16) -> Option<f64> {
        self.sources.get(usize::from(source)).and_then(|s| s.login_failure)
    }

    /// Whether any source can send malicious requests (the report then has a block).
    pub(crate) fn has_malicious(&self) -> bool {
        self.sources.iter().any(|s| s.malicious > 0.0)
    }
}

impl Engine {
    /// A request keyed `key` arrives from `origin` (a workload, or an attack after them):
    /// its client, whether it is malicious, its class; then the proxy, or the balancer.
    pub(crate) fn edge_arrival(&mut self, now: SimTime, key: u64, origin: Origin, queue: &mut EventQueue<Event>) {
        let Some(edge) = self.edge.as_deref_mut() else { return };
        let src = &edge.sources[usize::from(origin.workload)];
        let mut draws = self.keys.clients.draws(key);
        let attack_class = match src.login_class {
            Some(c) => Some(c),
            None => src.attack.then(|| self.flow.classes.pick(|| draws)),
        };
        let client = src.first_client + draws.below(u64::from(src.clients.max(1))) as u32;
        let malicious = src.attack || draws.chance(src.malicious);
        if malicious && now >= edge.warmup {
            edge.malicious.arrived += 1;
        }
        let has_proxy = edge.proxy.is_some();
        let class = match attack_class {
            Some(c) => c,
            None => self.flow.classes.pick(|| self.keys.class.draws(key)),
        };
        if malicious {
            self.measure.recorder.entered();
        } else {
            self.user_arrived(now, class, origin.region);
        }
        let req = Admission { arrived: now, class, key, origin, malicious, cache_key: NONE };
        if !has_proxy {
            return self.admit_request(now, req, queue);
        }
        self.proxy_arrival(now, req, client, queue);
    }

    /// Request `req` from `client` waits for a proxy core.
    fn proxy_arrival(&mut self, now: SimTime, req: Admission, client: u32, queue: &mut EventQueue<Event>) {
        let t = self.flow.tasks.alloc();
        let seq = self.flow.tasks[t].seq;
        let Some(p) = self.edge.as_deref_mut().and_then(|e| e.proxy.as_mut()) else { return };
        let i = p.cursor % p.instances.len() as u32;
        p.cursor = p.cursor.wrapping_add(1);
        self.flow.tasks[t] = Task {
            seq,
            live: true,
            station: PROXY,
            instance: i,
            class: req.class,
            arrived: now,
            malicious: req.malicious,
            client,
            key: req.key,
            workload: req.origin.workload,
            region: req.origin.region,
            ..Task::default()
        };
        match p.instances[i as usize].admit(now, t) {
            Admit::Started => self.proxy_start(now, t, queue),
            Admit::Queued => {}
            Admit::Refused => self.proxy_answer(now, t, Fate::Rejected, queue),
        }
    }

    /// A proxy core takes task `t`: the proxy decides, and the core works for the
    /// request's CPU.
    fn proxy_start(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = self.flow.tasks[t];
        let Some(edge) = self.edge.as_deref_mut() else { return };
        let Some(p) = edge.proxy.as_mut() else { return };
        let measured = task.arrived >= edge.warmup;
        let cacheable = edge.cacheable.get(task.class as usize).copied().unwrap_or(false);
        let req = ProxyRequest { client: task.client, malicious: task.malicious, class: task.class, cacheable };
        let verdict = p.decider.decide(now, req, &mut self.keys.proxy_decisions.draws(task.key));
        let mut cpu = self.keys.proxy_cpu.draws(task.key);
        let mut ns = p.spec.cpu.sample_ns(&mut cpu);
        if let Some(tls) = &p.spec.tls_handshake {
            // Attack tools do not keep session tickets: their handshakes are always full.
            let resumed = !task.malicious && cpu.chance(p.spec.tls_resumption);
            if !resumed {
                ns += tls.sample_ns(&mut cpu);
                p.stats.tls_handshakes += u64::from(measured);
            }
        }
        let (code, key) = match verdict {
            Verdict::RateLimited => (LIMITED, NONE),
            Verdict::Blocked => (BLOCKED, NONE),
            Verdict::Hit => (HIT, NONE),
            Verdict::Forward { key } => {
                if let Some(c) = &p.spec.compression {
                    ns += c.cpu.sample_ns(&mut cpu);
                }
                (FORWARD, key.map_or(NONE, |k| (k & 0xFFFF_FFFF) as u32))
            }
        };
        if measured {
            let s = &mut p.stats;
            s.requests += 1;
            match verdict {
                Verdict::RateLimited => s.rate_limited += 1,
                Verdict::Blocked if task.malicious => s.filtered += 1,
                Verdict::Blocked => s.false_positives += 1,
                Verdict::Hit => s.cache_hits += 1,
                Verdict::Forward { key } => {
                    s.forwarded += 1;
                    s.cache_misses += u64::from(key.is_some());
                }
            }
            if task.malicious {
                match verdict {
                    Verdict::RateLimited => edge.malicious.rate_limited += 1,
                    Verdict::Blocked => edge.malicious.filtered += 1,
                    _ => {}
                }
            }
        }
        let task = &mut self.flow.tasks[t];
        task.running = true;
        task.step = code;
        task.cache_key = key;
        queue.schedule(now.after(ns), Event::Flow(FlowEvent::WorkDone { task: t, seq: task.seq }));
    }

    /// Proxy task `t`'s CPU is done: its core takes the next request, and the request is
    /// answered or forwarded.
    pub(crate) fn on_proxy_done(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = self.flow.tasks[t];
        self.proxy_release(now, task.instance as usize, queue);
        match task.step {
            HIT => self.proxy_answer(now, t, Fate::Completed, queue),
            LIMITED | BLOCKED => self.proxy_answer(now, t, Fate::Rejected, queue),
            _ => {
                self.free_task(t);
                let origin = Origin { workload: task.workload, region: task.region };
                let req = Admission {
                    arrived: task.arrived,
                    class: task.class,
                    key: task.key,
                    origin,
                    malicious: task.malicious,
                    cache_key: task.cache_key,
                };
                self.admit_request(now, req, queue);
            }
        }
    }

    /// Frees a core of proxy instance `i`; it takes the next waiting request whose client
    /// has not given up.
    fn proxy_release(&mut self, now: SimTime, i: usize, queue: &mut EventQueue<Event>) {
        loop {
            let Some(p) = self.edge.as_deref_mut().and_then(|e| e.proxy.as_mut()) else { return };
            let Some(next) = p.instances[i].release(now) else { return };
            if now.since(self.flow.tasks[next].arrived) >= self.flow.timeout_ns {
                self.proxy_answer(now, next, Fate::TimedOut, queue);
                continue;
            }
            return self.proxy_start(now, next, queue);
        }
    }

    /// The proxy answers task `t` itself (a hit, a refusal, a timeout in its queue); the
    /// proxy is in the users' own region, so the answer travels their own round trip.
    fn proxy_answer(&mut self, now: SimTime, t: u32, fate: Fate, queue: &mut EventQueue<Event>) {
        let mut task = self.flow.tasks[t];
        task.net_ns = match self.network.as_ref() {
            Some(n) => n.round_trip_ns(task.region, None, &mut self.keys.network.draws(task.key)),
            None => 0,
        };
        let answered = now.after(task.net_ns);
        if self.edge_answered(now, &task, fate) {
            self.user_answered(&task, answered, fate);
        }
        self.think(&task, answered, queue);
        self.free_task(t);
    }

    /// A request that came through the edge is answered: count its bytes, cache its
    /// response, and account for a malicious one. Returns whether it is a user's request
    /// (which the recorder then counts).
    pub(crate) fn edge_answered(&mut self, now: SimTime, task: &Task, fate: Fate) -> bool {
        let Some(edge) = self.edge.as_deref_mut() else { return true };
        let measured = task.arrived >= edge.warmup;
        if let (Some(p), Fate::Completed) = (edge.proxy.as_mut(), fate) {
            let bytes = edge.response_bytes.get(task.class as usize).copied().unwrap_or(0);
            let sent = p.spec.compression.as_ref().map_or(bytes, |c| (bytes as f64 * c.ratio).round() as u64);
            if measured {
                p.stats.bytes_sent += sent;
                p.stats.bytes_saved += bytes.saturating_sub(sent);
            }
            if task.station == APP && task.cache_key != NONE {
                p.decider.store(now, (u64::from(task.class) << 40) | u64::from(task.cache_key));
            }
        }
        if !task.malicious {
            return true;
        }
        self.measure.recorder.left();
        let refused_at_proxy = task.station == PROXY && matches!(task.step, LIMITED | BLOCKED);
        if measured && !refused_at_proxy {
            if fate == Fate::Completed {
                edge.malicious.served += 1;
            } else {
                edge.malicious.failed += 1;
            }
        }
        false
    }
}
