//! Calls: a caller's call becomes attempts, each through the circuit breaker, the
//! database pool and the callee's instance; answers, failures, timeouts, retries and
//! hedges come back, and the final result goes to the caller.

use rand::RngExt;

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::resilience::{Backoff, Jitter, PaymentId};
use prodsim_scenario::topology::{CallSpec, OnFailure, Target};

use prodsim_parts::ops::logs::Level;

use super::station::Admit;
use super::tasks::{CONSUMER, Call, NONE, Task};
use super::{APP, Event, System};

impl System {
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

    /// Counts a dependency call's attempt on its caller's target.
    #[inline]
    fn count_dependency(&mut self, now: SimTime, caller: u32, callee: usize, outcome: super::metrics::DepOutcome) {
        if self.logs.is_some() && caller & CONSUMER == 0 {
            let task = self.tasks[caller];
            let level = if outcome == super::metrics::DepOutcome::Success { Level::Debug } else { Level::Warn };
            let msg = super::logging::Message::Call(callee, outcome as usize);
            self.log(now, usize::from(task.station), task.instance, level, msg, task.request);
        }
        if !self.counters.enabled {
            return;
        }
        let target = if caller & CONSUMER != 0 {
            Some(self.counters.retry_target).filter(|&t| t != usize::MAX)
        } else {
            let task = &self.tasks[caller];
            self.counters.target(task.station, task.instance)
        };
        if let Some(t) = target {
            self.counters.dependency(t, callee, outcome);
        }
    }

    pub(super) fn station_of(&self, target: Target) -> usize {
        match target {
            Target::Service(id) => 1 + id as usize,
            Target::DbRead | Target::DbWrite => self.db.as_ref().map_or(0, |d| d.station as usize),
        }
    }

    /// Makes one attempt of call `c`: through the breaker, the pool, then to an instance.
    pub(super) fn attempt(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
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
        if !st.partitions.is_empty() && call.server != NONE {
            let cut = st.partitions.iter().filter(|p| (p.0..p.1).contains(&call.server)).map(|p| p.2).max();
            if let Some(hang) = cut {
                // Packets to the callee are dropped: no answer until the connection drops.
                queue.schedule(now.after(hang), Event::CallFailed { call: c, seq: call.seq });
                return;
            }
        }
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
        let request = if call.caller & CONSUMER == 0 { self.tasks[call.caller].request } else { NONE };
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
            request,
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
                if let Some(target) = self.counters.target(s as u16, instance) {
                    self.counters.refused(target, call.class, super::metrics::UNAVAILABLE);
                }
                self.free_task(t);
                queue.schedule(now, Event::CallFailed { call: c, seq: call.seq });
            }
        }
        if let (Some(h), 1) = (call.spec.hedge_after_ns, call.outstanding) {
            queue.schedule(now.after(h), Event::Hedge { call: c, seq: call.seq });
        }
    }

    /// A child task answered call `c`'s attempt `seq`.
    pub(super) fn reply(&mut self, now: SimTime, c: u32, seq: u32, ok: bool, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if !call.live || call.seq != seq {
            return; // The caller stopped waiting for this attempt.
        }
        if ok {
            let s = self.station_of(call.spec.target);
            if let Some(b) = self.stations[s].breaker.as_mut() {
                b.record(now, true);
            }
            self.count_dependency(now, call.caller, s, super::metrics::DepOutcome::Success);
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
        let outcome = match (timed_out, call.short_circuited) {
            (true, _) => super::metrics::DepOutcome::Timeout,
            (false, true) => super::metrics::DepOutcome::Rejected,
            (false, false) => super::metrics::DepOutcome::Error,
        };
        self.count_dependency(now, call.caller, s, outcome);
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
                let delay = backoff(&call.spec).delay_ns(call.attempt, &mut self.jitter_rng);
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

    /// Call `c` is over, for good: the caller learns the result.
    pub(super) fn resolve(&mut self, now: SimTime, c: u32, ok: bool, queue: &mut EventQueue<Event>) {
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
            let policy = match call.spec.on_failure {
                OnFailure::Fail if self.degrades_call(t, &call) => {
                    if call.payment != NONE {
                        OnFailure::AcceptAndQueue
                    } else {
                        OnFailure::Degrade
                    }
                }
                p => p,
            };
            match policy {
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
}

impl System {
    /// Whether task `t`'s version (or a playbook) degrades a failing call like `call`.
    fn degrades_call(&self, t: u32, call: &Call) -> bool {
        let Some(d) = self.delivery.as_ref() else { return false };
        let task = &self.tasks[t];
        task.station == APP && d.degrades(task.version, self.station_of(call.spec.target))
    }
}

/// The call's retry policy as the resilience module's exponential backoff (doubling).
fn backoff(spec: &CallSpec) -> Backoff {
    Backoff {
        base_ns: spec.backoff_ns,
        max_ns: spec.backoff_max_ns,
        multiplier: 2.0,
        jitter: if spec.jitter { Jitter::Full } else { Jitter::None },
    }
}
