//! How requests flow: a source's arrival becomes a root task on the app server the
//! balancer picks (after the edge, if any); the task runs its program's steps
//! ([`steps`]), finishes, frees its worker and answers the user ([`answer`]).
//!
//! Each request gets a key when it arrives — its source's `n`-th key — and every draw
//! about it comes from its key ([`crate::streams`]).

pub(crate) mod answer;
pub(crate) mod steps;

use prodsim_kernel::{Dist, Draws, EventQueue, Keyed, SimTime};
use prodsim_parts::workload::ArrivalProcess;
use prodsim_scenario::topology::Step;

use crate::engine::{APP, Engine};
use crate::event::{Event, FlowEvent};
use crate::measure::recorder::Fate;
use crate::station::Admit;
use crate::tasks::{NONE, Origin, Slab, Task};

/// Users whose sessions consistent hashing keys on.
const SESSIONS: u64 = 100_000;

/// Request classes: their weights, payments and revenue.
pub(crate) struct Classes {
    /// Cumulative weights, for picking a class.
    pub cumulative: Vec<f64>,
    /// Per class: the service that charges its payment, if it is a payment class.
    pub payment: Vec<Option<u16>>,
    /// Per class: what one successful request earns (for lost revenue).
    pub revenue: Vec<f64>,
    /// Per class: bytes of a request and of a successful response.
    pub bytes: Vec<(u64, u64)>,
    /// Per class: whether a successful request is a signup.
    pub signup: Vec<bool>,
    /// Per class: the failure ratio of legitimate login attempts, if it is a login class.
    pub login: Vec<Option<f64>>,
}

impl Classes {
    /// The class a request with `draws` picks, by weight.
    #[inline]
    pub fn pick(&self, draws: impl FnOnce() -> Draws) -> u16 {
        let n = self.cumulative.len();
        if n == 1 {
            return 0;
        }
        let u = draws().unit() * self.cumulative[n - 1];
        self.cumulative.partition_point(|&c| c <= u).min(n - 1) as u16
    }
}

/// What a task runs: its steps, and whether work is all there is (the common shape of a
/// request on an app server and of a call to a service), which lets a task start and end
/// without walking its steps.
pub(crate) struct Program {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The program is one work step.
    pub work_only: bool,
}

impl Program {
    /// The program of `steps`.
    pub fn new(steps: Vec<Step>) -> Program {
        let work_only = matches!(steps.as_slice(), [Step::Work(_)]);
        Program { steps, work_only }
    }
}

/// Where a source's request keys come from.
pub(crate) struct Source {
    /// Its keys, `Purpose::Requests` of its name.
    pub keys: Keyed,
    /// Requests it sent so far.
    pub sent: u64,
}

impl Source {
    /// The key of the next request.
    #[inline]
    pub fn next_key(&mut self) -> u64 {
        self.sent += 1;
        self.keys.key(self.sent)
    }
}

/// Arrivals, classes and programs, and the tasks in flight.
pub(crate) struct Flow {
    /// One arrival process per source: the workloads, then one per `ddos` attack.
    pub arrivals: Vec<ArrivalProcess>,
    /// One per source: its request keys.
    pub sources: Vec<Source>,
    /// The request classes.
    pub classes: Classes,
    /// Programs: one per class (its steps), one per service, the database's read and write.
    pub programs: Vec<Program>,
    /// Each workload's think time, for closed workloads.
    pub think_time: Vec<Option<Dist>>,
    /// Whether any workload is closed (its users think, then send again).
    pub closed: bool,
    /// Every task in flight.
    pub tasks: Slab<Task>,
    /// The id the next user request gets at the app servers (log lines' `request_id`).
    pub next_request: u32,
    /// The users' deadline from arrival (`u64::MAX`: none).
    pub timeout_ns: u64,
}

impl Flow {
    /// The next request id; wraps after 2^32 - 1 requests (ids only join the log lines of
    /// requests in flight); `NONE` is never an id.
    #[inline]
    fn request_id(&mut self) -> u32 {
        let id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1);
        if self.next_request == NONE {
            self.next_request = 0;
        }
        id
    }
}

/// A request reaching the app servers' balancer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Admission {
    /// When the user sent it.
    pub arrived: SimTime,
    /// Its class.
    pub class: u16,
    /// Its key.
    pub key: u64,
    /// Its source and region.
    pub origin: Origin,
    /// Whether an attacker sent it.
    pub malicious: bool,
    /// The proxy's cache key to store a successful response under, or `NONE`.
    pub cache_key: u32,
}

impl Engine {
    /// Source `w` sends a request now; its next arrival is scheduled.
    #[inline]
    pub(crate) fn on_arrival(&mut self, now: SimTime, w: usize, queue: &mut EventQueue<Event>) {
        if let Some(next) = self.flow.arrivals[w].next_after(now) {
            queue.schedule(next, Event::Flow(FlowEvent::Arrival { source: w as u32 }));
        }
        let key = self.flow.sources[w].next_key();
        let region = match self.network.as_ref() {
            Some(n) => n.client_region(w, || self.keys.region.draws(key)),
            None => 0,
        };
        let origin = Origin { workload: w as u16, region };
        if self.edge.is_some() {
            return self.edge_arrival(now, key, origin, queue);
        }
        let class = self.flow.classes.pick(|| self.keys.class.draws(key));
        self.user_arrived(now, class, region);
        let req = Admission { arrived: now, class, key, origin, malicious: false, cache_key: NONE };
        self.admit_request(now, req, queue);
    }

    /// A user's request of `class` from `region` arrived (malicious ones are not counted).
    #[inline]
    pub(crate) fn user_arrived(&mut self, now: SimTime, class: u16, region: u16) {
        self.measure.recorder.arrived(now, class);
        if self.network.is_some() {
            self.measure.recorder.region_arrived(now, region);
        }
    }

    /// Request `req` reaches the balancer now (at once, or after the proxy): a root task
    /// on the server it picks, which starts, queues or refuses it. Malicious requests open
    /// no payment and stay out of the users' waiting statistics.
    // Always inlined: the plain arrival path passes constants, which fold away.
    #[inline(always)]
    pub(crate) fn admit_request(&mut self, now: SimTime, req: Admission, queue: &mut EventQueue<Event>) {
        let payment = match self.flow.classes.payment[req.class as usize] {
            Some(_) if !req.malicious => self.ledger.open().0,
            _ => NONE,
        };
        let request = self.flow.request_id();
        let keys = &self.keys;
        let picked = self.app.pick(req.origin.region, || keys.session.draws(req.key).below(SESSIONS));
        let net_ns = match self.network.as_ref() {
            Some(n) => n.round_trip_ns(req.origin.region, picked, &mut self.keys.network.draws(req.key)),
            None => 0,
        };
        let t = self.flow.tasks.alloc();
        self.flow.tasks[t] = Task {
            seq: self.flow.tasks[t].seq,
            live: true,
            class: req.class,
            arrived: req.arrived,
            payment,
            instance: NONE,
            malicious: req.malicious,
            cache_key: req.cache_key,
            net_ns,
            workload: req.origin.workload,
            region: req.origin.region,
            request,
            key: req.key,
            ..Task::default()
        };
        let Some(server) = picked else {
            // No app server in rotation: the balancer answers 503 itself.
            return self.end_root(now, t, Fate::Failed, queue);
        };
        let task = &mut self.flow.tasks[t];
        (task.station, task.instance, task.program) = (APP, server as u32, req.class);
        if self.delivery.is_some() {
            self.tag_version(t, server);
        }
        let instance = &mut self.stations[APP as usize].instances[server];
        let admit = instance.admit(now, t);
        self.app.track(server, instance.connections());
        match admit {
            Admit::Started => self.start(now, t, queue),
            Admit::Queued if !req.malicious => self.measure.recorder.queued(req.arrived),
            Admit::Queued => {}
            Admit::Refused => {
                // A full queue is a rejection; a dead server is a failed connection.
                let up = self.stations[APP as usize].instances[server].up;
                self.end_root(now, t, if up { Fate::Rejected } else { Fate::Failed }, queue);
            }
        }
    }
}
