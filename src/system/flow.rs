//! How work flows: arrivals become root tasks, tasks run their program's steps, calls
//! become child tasks on other stations, and answers, failures, timeouts, retries and
//! hedges come back to the caller.

use crate::arch::resilience::{PaymentFate, PaymentId};
use crate::scenario::topology::{CallSpec, OnFailure, Step, Target};
use crate::sim::{EventQueue, SimTime};
use rand::RngExt;

use super::recorder::Fate;
use super::station::Admit;
use super::tasks::{CONSUMER, Call, NONE, Task};
use super::{APP, Deferred, Event, System};

impl System {
    pub(super) fn on_arrival(&mut self, now: SimTime, w: usize, queue: &mut EventQueue<Event>) {
        if let Some(next) = self.arrivals[w].next_after(now) {
            queue.schedule(next, Event::Arrival { workload: w as u32 });
        }
        let class = self.pick_class();
        self.recorder.arrived(now, class);
        let payment = match self.class_payment[class as usize] {
            Some(_) => self.ledger.open().0,
            None => NONE,
        };
        let Some(server) = self.pick_server() else {
            // No app server in rotation: the balancer answers 503 itself.
            let t = self.tasks.alloc();
            let seq = self.tasks[t].seq;
            self.tasks[t] = Task { seq, live: true, class, arrived: now, payment, instance: NONE, ..Task::default() };
            return self.end_root(now, t, Fate::Failed);
        };
        let t = self.tasks.alloc();
        let seq = self.tasks[t].seq;
        self.tasks[t] = Task {
            seq,
            live: true,
            station: APP,
            instance: server as u32,
            program: class,
            class,
            arrived: now,
            payment,
            ..Task::default()
        };
        let admit = self.stations[APP as usize].instances[server].admit(now, t);
        self.connections[server] = self.stations[APP as usize].instances[server].connections();
        match admit {
            Admit::Started => self.start(now, t, queue),
            Admit::Queued => {
                self.tasks[t].running = false;
                self.recorder.queued(now);
            }
            Admit::Refused => {
                // A full queue is a rejection; a dead server is a failed connection.
                let fate = if self.stations[APP as usize].instances[server].up { Fate::Rejected } else { Fate::Failed };
                self.end_root(now, t, fate);
            }
        }
    }

    fn pick_class(&mut self) -> u16 {
        let n = self.class_cumulative.len();
        if n == 1 {
            return 0;
        }
        let u = self.class_rng.random::<f64>() * self.class_cumulative[n - 1];
        self.class_cumulative.partition_point(|&c| c <= u).min(n - 1) as u16
    }

    fn pick_server(&mut self) -> Option<usize> {
        let in_rotation = self.rotation.as_slice();
        if self.connections.len() == 1 && in_rotation.is_empty() {
            return Some(0);
        }
        let backends = crate::arch::Backends { connections: &self.connections, in_rotation };
        // A session key per request, for consistent hashing: 100,000 users.
        let client = if self.hashing {
            crate::arch::Client { region: 0, key: self.balancer_rng.random_range(0..100_000) }
        } else {
            crate::arch::Client::default()
        };
        self.balancer.pick(&backends, &client, &mut self.balancer_rng)
    }

    /// A worker takes task `t` now.
    fn start(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = &mut self.tasks[t];
        task.running = true;
        task.step = 0;
        if task.station == APP && task.parent_call == NONE {
            self.recorder.started(task.arrived, now);
        }
        self.advance(now, t, queue);
    }

    /// Runs task `t`'s steps until one has to wait, or the program ends.
    fn advance(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
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
        if ok {
            self.on_query_done(now, &task);
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
            self.end_root(now, t, fate);
            return;
        }
        self.free_task(t);
    }

    /// Frees task `t`'s worker; the worker takes the next waiting task whose client has not
    /// given up.
    fn release_worker(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = self.tasks[t];
        if !task.running {
            return;
        }
        let s = task.station as usize;
        let i = task.instance as usize;
        while let Some(next) = self.stations[s].instances[i].release(now) {
            let waiting = self.tasks[next];
            if s == APP as usize && now.since(waiting.arrived) >= self.timeout_ns {
                // Its client gave up while it waited; the worker takes the next one.
                self.end_root(now, next, Fate::TimedOut);
                continue;
            }
            self.start(now, next, queue);
            break;
        }
        if s == APP as usize {
            self.connections[i] = self.stations[s].instances[i].connections();
        }
    }

    /// A root task ends with `fate`: the user gets an answer and the ledger learns what
    /// the system told them.
    pub(super) fn end_root(&mut self, now: SimTime, t: u32, fate: Fate) {
        let task = self.tasks[t];
        if task.station == APP && task.instance != NONE {
            self.observe_response(now, &task, fate);
        }
        self.recorder.finished(task.arrived, now, task.class, fate, task.degraded, task.deferred);
        if task.payment != NONE && !task.deferred {
            // A request that ran to the end did its work even if its client gave up; one
            // dropped from the queue after its deadline never started, so never charged.
            let done = fate == Fate::Completed || (fate == Fate::TimedOut && task.running);
            let f = if done { PaymentFate::Completed } else { PaymentFate::Failed };
            self.ledger.set_fate(PaymentId(task.payment), f);
        }
        self.free_task(t);
    }

    /// Tells the balancer and the outlier detector how server `task.instance` answered.
    fn observe_response(&mut self, now: SimTime, task: &Task, fate: Fate) {
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
    fn on_query_done(&mut self, now: SimTime, task: &Task) {
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
    fn send_async(&mut self, now: SimTime, target: Target, class: u16, queue: &mut EventQueue<Event>) {
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

    /// Starts the call `spec` for caller `caller` (a task, or `CONSUMER | k`).
    pub(super) fn issue_call(&mut self, now: SimTime, caller: u32, spec: CallSpec, queue: &mut EventQueue<Event>) {
        let (server, payment, class) = if caller & CONSUMER != 0 {
            match self.consumers[(caller & !CONSUMER) as usize].item {
                // The consumer's calls use no app server's pool.
                Some((_, d)) => (NONE, d.payment, d.class),
                None => (NONE, NONE, 0),
            }
        } else {
            let task = self.tasks[caller];
            let server = if task.station == APP { task.instance } else { NONE };
            (server, task.payment, task.class)
        };
        let is_charge = match (spec.target, self.class_payment[class as usize]) {
            (Target::Service(id), Some(pay)) => id == pay && payment != NONE,
            _ => false,
        };
        let c = self.calls.alloc();
        let seq = self.calls[c].seq.wrapping_add(1);
        self.calls[c] = Call {
            seq,
            live: true,
            caller,
            spec,
            attempt: 0,
            outstanding: 0,
            holds_connection: false,
            waiting_connection: false,
            server,
            payment: if is_charge { payment } else { NONE },
            class,
            short_circuited: false,
        };
        let s = self.station_of(spec.target);
        self.stations[s].stats.first_attempts += 1;
        if let Some(b) = self.stations[s].budget.as_mut() {
            b.on_request(now);
        }
        self.attempt(now, c, queue);
    }

    fn station_of(&self, target: Target) -> usize {
        match target {
            Target::Service(id) => 1 + id as usize,
            Target::DbRead | Target::DbWrite => self.db.as_ref().map_or(0, |d| d.station as usize),
        }
    }

    /// Makes one attempt of call `c`: through the breaker, the pool, then to an instance.
    fn attempt(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = &mut self.calls[c];
        call.attempt += 1;
        call.seq = call.seq.wrapping_add(1);
        call.outstanding = 1;
        call.short_circuited = false;
        let (seq, spec) = (call.seq, call.spec);
        let s = self.station_of(spec.target);
        let st = &mut self.stations[s];
        st.stats.calls += 1;
        if let Some(b) = st.breaker.as_mut() {
            if !b.allow(now) {
                st.stats.breaker_rejections += 1;
                self.calls[c].short_circuited = true;
                queue.schedule(now, Event::CallFailed { call: c, seq });
                return;
            }
        }
        if let Some(t) = spec.timeout_ns {
            if let Some((list, at)) = self.timers.set(now, t, c, seq) {
                queue.schedule(at, Event::Timeouts { list });
            }
        }
        let server = self.calls[c].server;
        let uses_pool = matches!(spec.target, Target::DbRead | Target::DbWrite) && server != NONE;
        if uses_pool {
            let db = self.db.as_mut().expect("database calls are validated");
            let pool = &mut db.pools[server as usize];
            if pool.in_use + pool.leaked >= pool.size {
                pool.waiters.push_back((c, seq));
                self.calls[c].waiting_connection = true;
                queue.schedule(now.after(db.spec.pool_timeout_ns), Event::PoolTimeout { call: c, seq });
                return;
            }
            pool.in_use += 1;
            self.calls[c].holds_connection = true;
        }
        self.dispatch(now, c, queue);
    }

    /// Sends call `c`'s current attempt to an instance of its target.
    pub(super) fn dispatch(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        let s = self.station_of(call.spec.target);
        let st = &mut self.stations[s];
        if st.outage {
            queue.schedule(now, Event::CallFailed { call: c, seq: call.seq });
            return;
        }
        if let Some(hang) = st.hang_ns {
            // No answer: the connection drops after `hang`, unless the caller's timeout
            // fires first.
            queue.schedule(now.after(hang), Event::CallFailed { call: c, seq: call.seq });
            return;
        }
        if let Some(l) = st.limiter.as_mut() {
            if !l.try_acquire(now) {
                queue.schedule(now, Event::CallFailed { call: c, seq: call.seq });
                return;
            }
        }
        let extra_ns = match &st.added_latency {
            Some(d) => d.sample_ns(&mut st.rng),
            None => 0,
        };
        let (instance, program, key) = match (call.spec.target, self.db.as_mut()) {
            (Target::DbRead | Target::DbWrite, Some(db)) => {
                let key = db.key_rng.random_range(0..db.spec.keys);
                let read = call.spec.target == Target::DbRead;
                let instance = if read && !db.replicas.is_empty() {
                    let i = db.replicas[(db.read_cursor as usize) % db.replicas.len()];
                    db.read_cursor = db.read_cursor.wrapping_add(1);
                    i
                } else {
                    db.primary
                };
                (instance, if read { db.read_program } else { db.write_program }, key)
            }
            _ => {
                let n = st.instances.len() as u32;
                let i = st.cursor % n;
                st.cursor = st.cursor.wrapping_add(1);
                (i, st.program, 0)
            }
        };
        let t = self.tasks.alloc();
        let tseq = self.tasks[t].seq;
        let is_charge = call.payment != NONE;
        self.tasks[t] = Task {
            seq: tseq,
            live: true,
            station: s as u16,
            instance,
            program,
            class: call.class,
            arrived: now,
            parent_call: c,
            parent_gen: call.seq,
            payment: call.payment,
            charge: is_charge,
            idempotent: call.spec.idempotent,
            key,
            extra_ns,
            ..Task::default()
        };
        match self.stations[s].instances[instance as usize].admit(now, t) {
            Admit::Started => {
                if is_charge {
                    self.ledger.call_started(PaymentId(call.payment));
                }
                self.start(now, t, queue);
            }
            Admit::Queued => {
                if is_charge {
                    self.ledger.call_started(PaymentId(call.payment));
                }
            }
            Admit::Refused => {
                self.free_task(t);
                queue.schedule(now, Event::CallFailed { call: c, seq: call.seq });
            }
        }
        if let (Some(h), 1) = (call.spec.hedge_after_ns, call.outstanding) {
            queue.schedule(now.after(h), Event::Hedge { call: c, seq: call.seq });
        }
    }

    /// A child task answered call `c`'s attempt `seq`.
    fn reply(&mut self, now: SimTime, c: u32, seq: u32, ok: bool, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if !call.live || call.seq != seq {
            return; // The caller stopped waiting for this attempt.
        }
        if ok {
            let s = self.station_of(call.spec.target);
            if let Some(b) = self.stations[s].breaker.as_mut() {
                b.record(now, true);
            }
            self.resolve(now, c, true, queue);
        } else {
            self.on_attempt_failed(now, c, seq, false, queue);
        }
    }

    /// Attempt `seq` of call `c` failed (an error, a refusal or its timeout).
    pub(super) fn on_attempt_failed(
        &mut self,
        now: SimTime,
        c: u32,
        seq: u32,
        timed_out: bool,
        queue: &mut EventQueue<Event>,
    ) {
        let call = self.calls[c];
        if !call.live || call.seq != seq {
            return;
        }
        if !timed_out && call.outstanding > 1 {
            self.calls[c].outstanding -= 1; // The hedged copy may still answer.
            return;
        }
        let s = self.station_of(call.spec.target);
        let st = &mut self.stations[s];
        if timed_out {
            st.stats.timeouts += 1;
        } else if !call.short_circuited {
            st.stats.errors += 1;
        }
        if let Some(b) = st.breaker.as_mut().filter(|_| !call.short_circuited) {
            b.record(now, false);
        }
        self.release_connection(now, c, queue);
        // Later answers to this attempt are stale.
        self.calls[c].seq = seq.wrapping_add(1);
        if call.attempt <= call.spec.retries {
            let st = &mut self.stations[s];
            let allowed = st.budget.as_mut().is_none_or(|b| b.try_retry(now));
            if allowed {
                st.stats.retries += 1;
                let delay = backoff_ns(&call.spec, call.attempt, &mut self.jitter_rng);
                let g = self.calls[c].seq;
                queue.schedule(now.after(delay), Event::Retry { call: c, seq: g });
                return;
            }
            st.stats.budget_denied += 1;
        }
        self.resolve(now, c, false, queue);
    }

    /// Expires the due timers of timer list `list` and schedules its next head.
    pub(super) fn on_timeouts(&mut self, now: SimTime, list: u32, queue: &mut EventQueue<Event>) {
        while let Some((c, seq)) = self.timers.pop_expired(list, now) {
            self.on_attempt_failed(now, c, seq, true, queue);
        }
        let calls = &self.calls;
        if let Some(at) = self.timers.rearm(list, |c, seq| {
            let call = &calls[c];
            call.live && call.seq == seq
        }) {
            queue.schedule(at, Event::Timeouts { list });
        }
    }

    pub(super) fn on_retry(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if call.live && call.seq == seq {
            self.attempt(now, c, queue);
        }
    }

    pub(super) fn on_hedge(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if !call.live || call.seq != seq || call.outstanding != 1 || call.waiting_connection {
            return;
        }
        let s = self.station_of(call.spec.target);
        self.stations[s].stats.hedges += 1;
        self.stations[s].stats.calls += 1;
        self.calls[c].outstanding = 2;
        self.dispatch(now, c, queue);
    }

    pub(super) fn on_pool_timeout(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if !call.live || call.seq != seq || !call.waiting_connection {
            return;
        }
        self.calls[c].waiting_connection = false;
        if let Some(db) = self.db.as_mut() {
            db.stats.pool_timeouts += 1;
            let pool = &mut db.pools[call.server as usize];
            pool.waiters.retain(|&(w, _)| w != c);
        }
        self.on_attempt_failed(now, c, seq, false, queue);
    }

    /// Gives call `c`'s pool connection back; the next live waiter gets it.
    fn release_connection(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        let Some(db) = self.db.as_mut() else { return };
        if call.waiting_connection {
            db.pools[call.server as usize].waiters.retain(|&(w, _)| w != c);
            self.calls[c].waiting_connection = false;
            return;
        }
        if !call.holds_connection {
            return;
        }
        self.calls[c].holds_connection = false;
        let pool = &mut db.pools[call.server as usize];
        pool.in_use = pool.in_use.saturating_sub(1);
        self.grant_connections(now, call.server as usize, queue);
    }

    /// Hands free connections of server `server`'s pool to waiting calls.
    pub(super) fn grant_connections(&mut self, now: SimTime, server: usize, queue: &mut EventQueue<Event>) {
        loop {
            let Some(db) = self.db.as_mut() else { return };
            let pool = &mut db.pools[server];
            if pool.in_use + pool.leaked >= pool.size {
                return;
            }
            let Some((w, g)) = pool.waiters.pop_front() else { return };
            let call = self.calls[w];
            if !call.live || call.seq != g || !call.waiting_connection {
                continue;
            }
            pool.in_use += 1;
            self.calls[w].waiting_connection = false;
            self.calls[w].holds_connection = true;
            self.dispatch(now, w, queue);
        }
    }

    /// Call `c` is over, for good: the caller learns the result.
    fn resolve(&mut self, now: SimTime, c: u32, ok: bool, queue: &mut EventQueue<Event>) {
        self.release_connection(now, c, queue);
        let call = self.calls[c];
        {
            let slot = &mut self.calls[c];
            slot.live = false;
            slot.seq = slot.seq.wrapping_add(1);
        }
        self.calls.release(c);
        if call.caller & CONSUMER != 0 {
            return self.consumer_done(now, call.caller & !CONSUMER, ok, queue);
        }
        let t = call.caller;
        if !ok {
            match call.spec.on_failure {
                OnFailure::Fail => self.tasks[t].failed = true,
                OnFailure::Degrade => self.tasks[t].degraded = true,
                OnFailure::RetryQueue => {
                    // A friendly error either way; the payment is safe if it was queued.
                    self.defer_payment(now, t, call, queue);
                    self.tasks[t].failed = true;
                }
                OnFailure::AcceptAndQueue => {
                    if !self.defer_payment(now, t, call, queue) {
                        self.tasks[t].failed = true;
                    }
                }
            }
        }
        let task = &mut self.tasks[t];
        task.pending -= 1;
        if task.pending == 0 {
            task.step += 1;
            self.advance(now, t, queue);
        }
    }

    /// Puts task `t`'s payment on the retry queue; false when there is none, the task is
    /// no payment, or the queue is full.
    fn defer_payment(&mut self, now: SimTime, t: u32, call: Call, queue: &mut EventQueue<Event>) -> bool {
        let task = self.tasks[t];
        if task.payment == NONE || call.payment == NONE {
            return false;
        }
        let Some((_, q)) = self.retry_queue.as_mut() else { return false };
        let item = Deferred { payment: task.payment, server: task.instance, class: task.class, spec: call.spec };
        if q.push(now, item).is_err() {
            return false;
        }
        self.rq_stats.enqueued += 1;
        self.tasks[t].deferred = true;
        self.ledger.set_fate(PaymentId(task.payment), PaymentFate::Queued);
        self.wake_idle_consumer(now, queue);
        true
    }

    fn wake_idle_consumer(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(k) = self.consumers.iter().position(|c| !c.busy && !c.scheduled) {
            self.consumers[k].scheduled = true;
            queue.schedule(now, Event::ConsumerWake { consumer: k as u32 });
        }
    }

    pub(super) fn on_consumer_wake(&mut self, now: SimTime, k: u32, queue: &mut EventQueue<Event>) {
        let consumer = &mut self.consumers[k as usize];
        consumer.scheduled = false;
        if consumer.busy {
            return;
        }
        let Some((_, q)) = self.retry_queue.as_mut() else { return };
        let Some((enq, item)) = q.pop() else { return };
        let consumer = &mut self.consumers[k as usize];
        consumer.busy = true;
        consumer.item = Some((enq, item));
        let mut spec = item.spec;
        spec.on_failure = OnFailure::Fail;
        self.issue_call(now, CONSUMER | k, spec, queue);
    }

    fn consumer_done(&mut self, now: SimTime, k: u32, ok: bool, queue: &mut EventQueue<Event>) {
        let consumer = &mut self.consumers[k as usize];
        consumer.busy = false;
        let Some((enq, item)) = consumer.item.take() else { return };
        let Some((spec_q, q)) = self.retry_queue.as_mut() else { return };
        if ok {
            self.rq_stats.drained += 1;
            self.ledger.set_fate(PaymentId(item.payment), PaymentFate::Completed);
            consumer.scheduled = true;
            queue.schedule(now, Event::ConsumerWake { consumer: k });
        } else {
            // Keep its place at the head; wait before the next attempt.
            q.push_front(enq, item);
            let consumer = &mut self.consumers[k as usize];
            consumer.scheduled = true;
            queue.schedule(now.after(spec_q.retry_interval_ns), Event::ConsumerWake { consumer: k });
        }
    }
}

/// Exponential backoff before retry number `retry`, capped, with full jitter if asked.
fn backoff_ns(spec: &CallSpec, retry: u32, rng: &mut crate::sim::SimRng) -> u64 {
    let exp = spec.backoff_ns.saturating_mul(1u64 << (retry - 1).min(32));
    let cap = exp.min(spec.backoff_max_ns);
    if spec.jitter { rng.random_range(0..=cap) } else { cap }
}
