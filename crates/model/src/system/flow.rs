//! How work flows: arrivals become root tasks, tasks run their program's steps, finish,
//! free their worker and answer their caller or the user. Calls are in `calls.rs`.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::resilience::{PaymentFate, PaymentId};
use prodsim_scenario::topology::{Step, Target};
use rand::RngExt;

use prodsim_parts::ops::logs::Level;

use super::logging::Message;
use super::recorder::Fate;
use super::station::Admit;
use super::tasks::{NONE, Origin, Task};
use super::{APP, Event, System};

impl System {
    pub(super) fn on_arrival(&mut self, now: SimTime, w: usize, queue: &mut EventQueue<Event>) {
        if let Some(next) = self.arrivals[w].next_after(now) {
            queue.schedule(next, Event::Arrival { workload: w as u32 });
        }
        let region = match self.network.as_mut() {
            Some(n) => n.client_region(w),
            None => 0,
        };
        let origin = Origin { workload: w as u16, region };
        if self.edge.is_some() {
            return self.edge_arrival(now, w, origin, queue);
        }
        let class = self.pick_class();
        self.user_arrived(now, class, region);
        self.admit_request(now, now, class, false, NONE, origin, queue);
    }

    /// A user's request of `class` from `region` arrived (malicious ones are not counted).
    #[inline]
    pub(super) fn user_arrived(&mut self, now: SimTime, class: u16, region: u16) {
        self.recorder.arrived(now, class);
        if self.network.is_some() {
            self.recorder.region_arrived(now, region);
        }
    }

    /// A request of `class` that arrived at `arrived` reaches the balancer now (at once, or
    /// after the proxy). Malicious requests open no payment and stay out of the users'
    /// waiting statistics; `cache_key` is where the proxy caches a successful response.
    // Always inlined: the plain arrival path calls it with constants, which fold away.
    // Plain arguments rather than a struct: the plain arrival path passes constants, which
    // fold away once inlined.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn admit_request(
        &mut self,
        now: SimTime,
        arrived: SimTime,
        class: u16,
        malicious: bool,
        cache_key: u32,
        origin: Origin,
        queue: &mut EventQueue<Event>,
    ) {
        let payment = match self.class_payment[class as usize] {
            Some(_) if !malicious => self.ledger.open().0,
            _ => NONE,
        };
        let Origin { workload, region } = origin;
        let request = self.next_request;
        // Wraps after 2^32 - 1 requests (ids only join the log lines of requests in
        // flight); `NONE` is never an id.
        self.next_request = self.next_request.wrapping_add(1);
        if self.next_request == NONE {
            self.next_request = 0;
        }
        let picked = self.pick_server(region);
        let net_ns = self.network.as_mut().map_or(0, |n| n.round_trip_ns(region, picked));
        let t = self.tasks.alloc();
        let seq = self.tasks[t].seq;
        let task = Task {
            seq,
            live: true,
            class,
            arrived,
            payment,
            instance: NONE,
            malicious,
            cache_key,
            net_ns,
            workload,
            region,
            request,
            ..Task::default()
        };
        let Some(server) = picked else {
            // No app server in rotation: the balancer answers 503 itself.
            self.tasks[t] = task;
            return self.end_root(now, t, Fate::Failed, queue);
        };
        self.tasks[t] = Task { station: APP, instance: server as u32, program: class, ..task };
        if self.delivery.is_some() {
            self.tag_version(t, server);
        }
        let admit = self.stations[APP as usize].instances[server].admit(now, t);
        self.connections[server] = self.stations[APP as usize].instances[server].connections();
        match admit {
            Admit::Started => self.start(now, t, queue),
            Admit::Queued => {
                self.tasks[t].running = false;
                if !malicious {
                    self.recorder.queued(arrived);
                }
            }
            Admit::Refused => {
                // A full queue is a rejection; a dead server is a failed connection.
                let fate = if self.stations[APP as usize].instances[server].up { Fate::Rejected } else { Fate::Failed };
                self.end_root(now, t, fate, queue);
            }
        }
    }

    pub(super) fn pick_class(&mut self) -> u16 {
        let n = self.class_cumulative.len();
        if n == 1 {
            return 0;
        }
        let u = self.class_rng.random::<f64>() * self.class_cumulative[n - 1];
        self.class_cumulative.partition_point(|&c| c <= u).min(n - 1) as u16
    }

    pub(super) fn pick_server(&mut self, region: u16) -> Option<usize> {
        let in_rotation = self.rotation.as_slice();
        if self.connections.len() == 1 && in_rotation.is_empty() {
            return Some(0);
        }
        let backends = prodsim_parts::Backends { connections: &self.connections, in_rotation };
        // A session key per request, for consistent hashing: 100,000 users.
        let client = if self.hashing {
            prodsim_parts::Client { region, key: self.balancer_rng.random_range(0..100_000) }
        } else {
            prodsim_parts::Client { region, key: 0 }
        };
        self.balancer.pick(&backends, &client, &mut self.balancer_rng)
    }

    /// A worker takes task `t` now.
    pub(super) fn start(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = &mut self.tasks[t];
        task.running = true;
        task.step = 0;
        if task.station == APP && task.parent_call == NONE && !task.malicious {
            self.recorder.started(task.arrived, now);
        }
        self.advance(now, t, queue);
    }

    /// Runs task `t`'s steps until one has to wait, or the program ends.
    pub(super) fn advance(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        loop {
            let task = self.tasks[t];
            if task.failed {
                return self.finish(now, t, false, queue);
            }
            let Some(step) = self.programs[task.program as usize].get(task.step as usize) else {
                return self.finish(now, t, true, queue);
            };
            match step {
                Step::Work(dist) => {
                    let station = &mut self.stations[task.station as usize];
                    let rng = if task.station == APP { &mut self.work_rng } else { &mut station.rng };
                    let mut ns = dist.sample_ns(rng);
                    let factor = station.slowdown[task.instance as usize]
                        * self.db.as_ref().filter(|d| d.station == task.station).map_or(1.0, |d| d.slow_factor);
                    if factor != 1.0 {
                        ns = (ns as f64 * factor + 0.5) as u64;
                    }
                    if task.step == 0 {
                        ns += task.extra_ns;
                    }
                    if task.station == APP {
                        self.series.cpu_ns += ns;
                        if let Some(target) = self.counters.target(APP, task.instance) {
                            self.counters.cpu(target, ns);
                        }
                    }
                    queue.schedule(now.after(ns), Event::WorkDone { task: t, seq: task.seq });
                    return;
                }
                Step::Call(spec) => {
                    let spec = *spec;
                    self.tasks[t].pending = 1;
                    self.issue_call(now, t, spec, queue);
                    return;
                }
                Step::Parallel(specs) => {
                    let n = specs.len();
                    self.tasks[t].pending = n as u16;
                    for i in 0..n {
                        let Step::Parallel(specs) = &self.programs[task.program as usize][task.step as usize] else {
                            unreachable!("the step is a parallel step")
                        };
                        let spec = specs[i];
                        self.issue_call(now, t, spec, queue);
                    }
                    return;
                }
                Step::Async(target) => {
                    let target = *target;
                    self.send_async(now, target, task.class, queue);
                    self.tasks[t].step += 1;
                }
            }
        }
    }

    pub(super) fn on_work_done(&mut self, now: SimTime, t: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let task = &mut self.tasks[t];
        if task.seq != seq || !task.live {
            return;
        }
        if task.station == super::proxy::PROXY {
            return self.on_proxy_done(now, t, queue);
        }
        task.step += 1;
        self.advance(now, t, queue);
    }

    /// Task `t` ends: its worker takes the next waiting task, and the result goes to the
    /// caller (or the user, for a root task).
    pub(super) fn finish(&mut self, now: SimTime, t: u32, ok: bool, queue: &mut EventQueue<Event>) {
        let task = self.tasks[t];
        let s = task.station as usize;
        let mut ok = ok;
        if ok && s != APP as usize {
            let st = &mut self.stations[s];
            let p = st.error_rate + st.fault_error_rate - st.error_rate * st.fault_error_rate;
            if p > 0.0 && st.rng.random::<f64>() < p {
                ok = false;
            }
        }
        if ok && s == APP as usize && task.parent_call == NONE && !task.malicious {
            if let Some(d) = self.delivery.as_mut() {
                ok = !d.injects_error(task.version, task.class);
            }
        }
        if ok {
            self.on_query_done(now, &task);
        }
        if s != APP as usize {
            let code = super::metrics::code_of(if ok { Fate::Completed } else { Fate::Failed });
            if let Some(target) = self.counters.target(task.station, task.instance) {
                self.counters.request(target, task.class, code, now.since(task.arrived));
            }
            if self.logs.is_some() {
                let msg = Message::Access(task.class, code, now.since(task.arrived));
                self.log(now, s, task.instance, Level::Info, msg, task.request);
            }
        }
        if task.charge {
            let id = PaymentId(task.payment);
            let charged = ok && !(task.idempotent && self.ledger.charge_would_duplicate(id));
            self.ledger.call_finished(id, charged);
        }
        self.release_worker(now, t, queue);
        if task.parent_call != NONE {
            self.reply(now, task.parent_call, task.parent_gen, ok, queue);
        } else if task.station == APP {
            let fate = if !ok {
                Fate::Failed
            } else if now.since(task.arrived) > self.timeout_ns {
                Fate::TimedOut
            } else {
                Fate::Completed
            };
            self.end_root(now, t, fate, queue);
            return;
        }
        self.free_task(t);
    }

    /// Frees task `t`'s worker; the worker takes the next waiting task whose client has not
    /// given up: an app request past its deadline times out, and a database query whose
    /// call attempt is over (timed out, or its request died) was cancelled by the driver
    /// (as PostgreSQL and MySQL drivers do on a client timeout) and never runs.
    pub(super) fn release_worker(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = self.tasks[t];
        if !task.running {
            return;
        }
        let s = task.station as usize;
        let i = task.instance as usize;
        let database = self.db.as_ref().is_some_and(|d| usize::from(d.station) == s);
        while let Some(next) = self.stations[s].instances[i].release(now) {
            let waiting = self.tasks[next];
            if s == APP as usize && now.since(waiting.arrived) >= self.timeout_ns {
                // Its client gave up while it waited; the worker takes the next one.
                self.end_root(now, next, Fate::TimedOut, queue);
                continue;
            }
            if database && waiting.parent_call != NONE {
                let call = self.calls[waiting.parent_call];
                if !call.live || call.seq != waiting.parent_gen {
                    self.free_task(next);
                    continue;
                }
            }
            self.start(now, next, queue);
            break;
        }
        if s == APP as usize {
            self.connections[i] = self.stations[s].instances[i].connections();
        }
    }

    /// A root task ends with `fate`: the user gets an answer (after the network's share of
    /// the round trip), the ledger learns what the system told them, and a user of a
    /// closed workload thinks before their next request.
    pub(super) fn end_root(&mut self, now: SimTime, t: u32, fate: Fate, queue: &mut EventQueue<Event>) {
        let task = self.tasks[t];
        if task.station == APP && task.instance != NONE {
            self.observe_response(now, &task, fate);
            let code = super::metrics::code_of(fate);
            if let Some(target) = self.counters.target(APP, task.instance) {
                self.counters.request(target, task.class, code, now.since(task.arrived));
            }
            if self.logs.is_some() {
                let (latency, inst) = (now.since(task.arrived), task.instance);
                let r = task.request;
                self.log(now, APP as usize, inst, Level::Info, Message::Access(task.class, code, latency), r);
                if fate != Fate::Completed {
                    self.log(now, APP as usize, inst, Level::Error, Message::Failed(task.class, code), r);
                }
            }
        }
        let answered = now.after(task.net_ns);
        if !task.malicious && task.station == APP {
            if let Some(d) = self.delivery.as_mut() {
                d.observe(task.version, answered.since(task.arrived), fate);
            }
        }
        if self.edge.is_none() || self.edge_answered(now, &task, fate) {
            self.user_answered(&task, answered, fate);
        }
        self.think(&task, answered, queue);
        if task.payment != NONE && !task.deferred {
            // A request that ran to the end did its work even if its client gave up; one
            // dropped from the queue after its deadline never started, so never charged.
            let done = fate == Fate::Completed || (fate == Fate::TimedOut && task.running);
            let f = if done { PaymentFate::Completed } else { PaymentFate::Failed };
            self.ledger.set_fate(PaymentId(task.payment), f);
        }
        self.free_task(t);
    }

    /// The user of root task `task` got the answer `fate` at `answered`.
    pub(super) fn user_answered(&mut self, task: &Task, answered: SimTime, fate: Fate) {
        self.recorder.finished(task.arrived, answered, task.class, fate, task.degraded, task.deferred);
        if self.counters.enabled || self.logs.is_some() {
            let latency = answered.since(task.arrived);
            // The balancer sees the request without the users' network.
            let code = super::proxy::refusal_code(task).unwrap_or_else(|| super::metrics::code_of(fate));
            self.counters.request(super::monitoring::LB, task.class, code, latency.saturating_sub(task.net_ns));
            self.track_client(answered, task.class, fate, code);
            // A payment queued for later is a sale delayed, not lost.
            let revenue = if task.deferred { 0.0 } else { self.class_revenue[task.class as usize] };
            self.truth.record(answered, fate, latency, revenue);
        }
        if self.network.is_some() {
            self.recorder.region_finished(task.region, task.arrived, answered, fate, task.degraded, task.deferred);
        }
    }

    /// A user of a closed workload, answered at `answered`, thinks, then sends the next
    /// request.
    #[inline]
    pub(super) fn think(&mut self, task: &Task, answered: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(Some(think)) = self.think_time.get(usize::from(task.workload)) {
            let next = answered.after(think.sample_ns(&mut self.think_rng));
            queue.schedule(next, Event::Arrival { workload: u32::from(task.workload) });
        }
    }

    /// Tells the balancer and the outlier detector how server `task.instance` answered.
    pub(super) fn observe_response(&mut self, now: SimTime, task: &Task, fate: Fate) {
        let i = task.instance as usize;
        let ok = fate != Fate::Failed;
        self.balancer.observe(i, now, now.since(task.arrived), ok);
        if let Some(o) = self.outliers.as_mut() {
            // The ejection ends on an `EjectionEnds` tick after its end time.
            if o.record(now, i, ok).is_some() {
                self.rotation.set_ejected(i, true);
            }
        }
    }

    pub(super) fn free_task(&mut self, t: u32) {
        let task = &mut self.tasks[t];
        task.live = false;
        task.seq = task.seq.wrapping_add(1);
        self.tasks.release(t);
    }

    /// A database query finished: count replica reads, stale reads and row writes.
    pub(super) fn on_query_done(&mut self, now: SimTime, task: &Task) {
        let Some(db) = self.db.as_mut() else { return };
        if task.station != db.station {
            return;
        }
        let key = task.key as usize;
        if task.program == db.write_program {
            db.last_write[key] = now.as_nanos() + 1;
        } else if task.instance != db.primary {
            db.stats.replica_reads += 1;
            let written = db.last_write[key];
            if written > 0 && now.as_nanos() + 1 - written < db.lag_ns {
                db.stats.stale_reads += 1;
            }
        }
    }

    /// Sends a fire-and-forget message to a service's queue.
    pub(super) fn send_async(&mut self, now: SimTime, target: Target, class: u16, queue: &mut EventQueue<Event>) {
        let Target::Service(id) = target else { return };
        let s = 1 + id as usize;
        let st = &mut self.stations[s];
        st.stats.calls += 1;
        st.stats.first_attempts += 1;
        if st.outage {
            st.stats.errors += 1;
            return;
        }
        let n = st.instances.len() as u32;
        let i = st.cursor % n;
        st.cursor = st.cursor.wrapping_add(1);
        let t = self.tasks.alloc();
        let seq = self.tasks[t].seq;
        let program = self.stations[s].program;
        self.tasks[t] =
            Task { seq, live: true, station: s as u16, instance: i, program, class, arrived: now, ..Task::default() };
        match self.stations[s].instances[i as usize].admit(now, t) {
            // A message runs like any task; its answer goes nowhere.
            Admit::Started => self.start(now, t, queue),
            Admit::Queued => {}
            Admit::Refused => {
                self.stations[s].stats.errors += 1;
                self.free_task(t);
            }
        }
    }
}
