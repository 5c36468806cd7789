//! Calls: a caller's call becomes attempts, each through the circuit breaker, the
//! database pool and the callee's instance ([`Engine::attempt`], [`Engine::dispatch`]);
//! answers, failures, timeouts, retries and hedges come back ([`answers`]), and the final
//! result goes to the caller. Every call and attempt carries a key its draws derive from
//! (`crate::streams`), so a call's work and coins do not depend on what else happened.

pub(crate) mod answers;
pub(crate) mod timers;

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::ops::logs::Level;
use prodsim_parts::resilience::PaymentId;
use prodsim_scenario::topology::{CallSpec, Target};

use crate::engine::{APP, Engine};
use crate::event::{CallEvent, Event};
use crate::measure::metrics::{DepOutcome, UNAVAILABLE};
use crate::station::Admit;
use crate::streams;
use crate::tasks::{CONSUMER, Call, NONE, Slab, Task};

/// The calls in flight and their timeout lists.
pub(crate) struct Calls {
    /// The calls, live and free.
    pub slab: Slab<Call>,
    /// Timeouts, one list per duration.
    pub timers: timers::Timers,
}

impl Calls {
    /// No calls yet.
    pub fn new() -> Calls {
        Calls { slab: Slab::new(), timers: timers::Timers::default() }
    }

    /// Ends call `c` for good: later answers and timers of it are stale.
    #[inline]
    pub fn end(&mut self, c: u32) {
        let slot = &mut self.slab[c];
        slot.live = false;
        slot.seq = slot.seq.wrapping_add(1);
        self.slab.release(c);
    }

    /// Whether attempt `seq` of call `c` is still the one its caller waits for.
    #[inline]
    pub fn current(&self, c: u32, seq: u32) -> bool {
        let call = &self.slab[c];
        call.live && call.seq == seq
    }

    /// The callers `tasks` died: their calls end.
    pub fn abandon_callers(&mut self, tasks: &[u32]) {
        for c in 0..self.slab.len() as u32 {
            let call = &self.slab[c];
            if call.live && call.caller != NONE && tasks.contains(&call.caller) {
                self.end(c);
            }
        }
    }
}

impl std::ops::Index<u32> for Calls {
    type Output = Call;
    #[inline]
    fn index(&self, c: u32) -> &Call {
        &self.slab[c]
    }
}

impl std::ops::IndexMut<u32> for Calls {
    #[inline]
    fn index_mut(&mut self, c: u32) -> &mut Call {
        &mut self.slab[c]
    }
}

impl Engine {
    /// Starts the call `spec` keyed `key` for caller `caller` (a task, or `CONSUMER | k`).
    pub(crate) fn issue_call(
        &mut self,
        now: SimTime,
        caller: u32,
        spec: CallSpec,
        key: u64,
        queue: &mut EventQueue<Event>,
    ) {
        let (server, payment, class, in_doubt) = if caller & CONSUMER != 0 {
            match self.deferral.consumers[(caller & !CONSUMER) as usize].item {
                // The consumer's calls use no app server's pool.
                Some((_, d)) => (NONE, d.payment, d.class, d.in_doubt),
                None => (NONE, NONE, 0, false),
            }
        } else {
            let task = &self.flow.tasks[caller];
            let server = if task.station == APP { task.instance } else { NONE };
            (server, task.payment, task.class, false)
        };
        let is_charge = match (spec.target, self.flow.classes.payment[class as usize]) {
            (Target::Service(id), Some(pay)) => id == pay && payment != NONE,
            _ => false,
        };
        let c = self.calls.slab.alloc();
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
            key,
            short_circuited: false,
            fell_back: false,
            in_doubt,
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
    pub(crate) fn count_dependency(&mut self, now: SimTime, caller: u32, callee: usize, outcome: DepOutcome) {
        if self.logs.is_some() && caller & CONSUMER == 0 {
            let task = &self.flow.tasks[caller];
            let level = if outcome == DepOutcome::Success { Level::Debug } else { Level::Warn };
            let msg = crate::logging::Message::Call(callee, outcome as usize);
            let (station, instance, request) = (usize::from(task.station), task.instance, task.request);
            self.log(now, station, instance, level, msg, request);
        }
        if !self.measure.counters.enabled {
            return;
        }
        let counters = &self.measure.counters;
        let target = if caller & CONSUMER != 0 {
            Some(counters.retry_target).filter(|&t| t != usize::MAX)
        } else {
            let task = &self.flow.tasks[caller];
            counters.target(task.station, task.instance)
        };
        if let Some(t) = target {
            self.measure.counters.dependency(t, callee, outcome);
        }
    }

    /// The station a call target names.
    #[inline]
    pub(crate) fn station_of(&self, target: Target) -> usize {
        match target {
            Target::Service(id) => 1 + id as usize,
            Target::DbRead | Target::DbWrite => self.db.as_ref().map_or(0, |d| d.station as usize),
        }
    }

    /// Makes one attempt of call `c`: through the breaker, the pool, then to an instance.
    pub(crate) fn attempt(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = &mut self.calls[c];
        call.attempt += 1;
        call.seq = call.seq.wrapping_add(1);
        call.outstanding = 1;
        call.short_circuited = false;
        let (seq, spec) = (call.seq, call.spec);
        let s = self.station_of(spec.target);
        let st = &mut self.stations[s];
        st.stats.calls += 1;
        if st.breaker.as_mut().is_some_and(|b| !b.allow(now)) {
            st.stats.breaker_rejections += 1;
            self.calls[c].short_circuited = true;
            queue.schedule(now, Event::Call(CallEvent::Failed { call: c, seq }));
            return;
        }
        if let Some(t) = spec.timeout_ns {
            if let Some((list, at)) = self.calls.timers.set(now, t, c, seq) {
                queue.schedule(at, Event::Call(CallEvent::Timeouts { list }));
            }
        }
        let server = self.calls[c].server;
        if matches!(spec.target, Target::DbRead | Target::DbWrite)
            && server != NONE
            && !self.take_connection(now, c, queue)
        {
            return;
        }
        self.dispatch(now, c, queue);
    }

    /// Sends call `c`'s current attempt (or its hedged copy) to an instance of its target.
    pub(crate) fn dispatch(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        let s = self.station_of(call.spec.target);
        if let Some(delay_ns) = self.unanswered(now, s, call.server) {
            // Refused at once, or packets dropped until the connection gives up.
            queue.schedule(now.after(delay_ns), Event::Call(CallEvent::Failed { call: c, seq: call.seq }));
            return;
        }
        let attempt = streams::attempt_key(call.key, call.attempt);
        let key = if call.outstanding == 2 { streams::hedge_key(attempt) } else { attempt };
        let t = self.child_task(now, c, &call, s, key);
        let instance = self.flow.tasks[t].instance;
        let admit = self.stations[s].instances[instance as usize].admit(now, t);
        if admit == Admit::Refused {
            if let Some(target) = self.measure.counters.target(s as u16, instance) {
                self.measure.counters.refused(target, call.class, UNAVAILABLE);
            }
            self.free_task(t);
            queue.schedule(now, Event::Call(CallEvent::Failed { call: c, seq: call.seq }));
        } else {
            if call.payment != NONE {
                self.ledger.call_started(PaymentId(call.payment));
            }
            if admit == Admit::Started {
                self.start(now, t, queue);
            }
        }
        self.arm_hedge(now, c, &call, queue);
    }

    /// Schedules the hedged copy of a first copy just sent.
    #[inline]
    fn arm_hedge(&mut self, now: SimTime, c: u32, call: &Call, queue: &mut EventQueue<Event>) {
        if let (Some(h), 1) = (call.spec.hedge_after_ns, call.outstanding) {
            queue.schedule(now.after(h), Event::Call(CallEvent::Hedge { call: c, seq: call.seq }));
        }
    }

    /// A task on station `s` for call `c`'s current copy, keyed `key`: the instance round
    /// robin (or the database's route) picks, the program it runs, a fault's added latency.
    fn child_task(&mut self, now: SimTime, c: u32, call: &Call, s: usize, key: u64) -> u32 {
        let st = &mut self.stations[s];
        let extra_ns = match &st.faults.added_latency {
            Some(d) => d.sample_ns(&mut self.keys.fault_latency.draws(key)),
            None => 0,
        };
        let (instance, program, row) = match (call.spec.target, self.db.as_mut()) {
            (Target::DbRead | Target::DbWrite, Some(db)) => {
                let route = db.route(call.spec.target, &mut self.keys.rows.draws(key));
                (route.instance, route.program, route.row)
            }
            _ => (st.next_instance(), st.program, 0),
        };
        let t = self.flow.tasks.alloc();
        let request = if call.caller & CONSUMER == 0 { self.flow.tasks[call.caller].request } else { NONE };
        let tseq = self.flow.tasks[t].seq;
        self.flow.tasks[t] = Task {
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
            charge: call.payment != NONE,
            idempotent: call.spec.idempotent,
            row,
            key,
            extra_ns,
            request,
            ..Task::default()
        };
        t
    }

    /// When a call to station `s` from app server `server` is answered by nobody: `Some`
    /// of the delay before the caller learns of it (0 for an outage or a full rate limit,
    /// the hang of a partition or a `timeouts` fault), `None` when it reaches an instance.
    fn unanswered(&mut self, now: SimTime, s: usize, server: u32) -> Option<u64> {
        let st = &mut self.stations[s];
        let f = &st.faults;
        if !f.partitions.is_empty() && server != NONE {
            let cut = f.partitions.iter().filter(|p| (p.first..p.end).contains(&server)).map(|p| p.hang_ns).max();
            if cut.is_some() {
                return cut;
            }
        }
        if f.outage {
            return Some(0);
        }
        if let Some(hang) = f.hang_ns {
            // No answer: the connection drops after `hang`, unless the caller's timeout
            // fires first.
            return Some(hang);
        }
        let limited = st.limiter.as_mut().is_some_and(|l| !l.try_acquire(now));
        limited.then_some(0)
    }
}
