//! A task's program, step by step: work (CPU, from its key's draws, stretched by the
//! slowdowns in force), calls (one, or several in parallel), fire-and-forget messages;
//! then the end of the task — its error coins, its worker handed to the next waiting
//! task, its answer to its caller.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::ops::logs::Level;
use prodsim_parts::resilience::PaymentId;
use prodsim_scenario::topology::{Step, Target};

use crate::edge::PROXY;
use crate::engine::{APP, Engine};
use crate::event::{Event, FlowEvent};
use crate::logging::Message;
use crate::measure::metrics::code_of;
use crate::measure::recorder::Fate;
use crate::station::Admit;
use crate::streams;
use crate::tasks::{NONE, Task};

impl Engine {
    /// A worker takes task `t` now.
    #[inline(always)]
    pub(crate) fn start(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = &mut self.flow.tasks[t];
        task.running = true;
        task.step = 0;
        if task.station == APP && task.parent_call == NONE && !task.malicious {
            self.measure.recorder.started(task.arrived, now);
        }
        if self.flow.programs[task.program as usize].work_only {
            return self.work(now, t, queue);
        }
        self.advance(now, t, queue);
    }

    /// Runs task `t`'s steps until one has to wait, or the program ends. Out of line: it
    /// closes the cycle start → advance → finish → start, and keeping it out lets the
    /// work-only path (start → work, work done → finish) inline whole.
    #[inline(never)]
    pub(crate) fn advance(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        loop {
            let task = &self.flow.tasks[t];
            if task.failed {
                return self.finish(now, t, false, queue);
            }
            let (program, step) = (task.program as usize, task.step);
            let Some(s) = self.flow.programs[program].steps.get(step as usize) else {
                return self.finish(now, t, true, queue);
            };
            match s {
                Step::Work(_) => return self.work(now, t, queue),
                Step::Call(spec) => {
                    let (spec, key) = (*spec, streams::call_key(task.key, step, 0));
                    self.flow.tasks[t].pending = 1;
                    return self.issue_call(now, t, spec, key, queue);
                }
                Step::Parallel(specs) => {
                    let n = specs.len();
                    self.flow.tasks[t].pending = n as u16;
                    for i in 0..n {
                        let Step::Parallel(specs) = &self.flow.programs[program].steps[step as usize] else { return };
                        let (spec, key) = (specs[i], streams::call_key(self.flow.tasks[t].key, step, i));
                        self.issue_call(now, t, spec, key, queue);
                    }
                    return;
                }
                Step::Async(target) => {
                    let (target, class, key) = (*target, task.class, streams::async_key(task.key, step));
                    self.send_async(now, target, class, key, queue);
                    self.flow.tasks[t].step += 1;
                }
            }
        }
    }

    /// Task `t`'s current step is work: it holds its worker for the time its key draws,
    /// stretched by the slowdowns in force (and, for a call's first step, a fault's
    /// added latency).
    #[inline(always)]
    fn work(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = &self.flow.tasks[t];
        let Step::Work(dist) = &self.flow.programs[task.program as usize].steps[task.step as usize] else { return };
        let mut ns = dist.sample_ns(&mut self.keys.work.draws_of(task.key, u64::from(task.step)));
        let factor = self.stations[task.station as usize].faults.work_factor[task.instance as usize];
        if factor != 1.0 {
            ns = (ns as f64 * factor + 0.5) as u64;
        }
        // Sums of draws saturate: a draw may be as long as `MAX_SAMPLE_NS` (a scenario's
        // distribution may have a mean of centuries), and the run must not overflow on it.
        if task.step == 0 {
            ns = ns.saturating_add(task.extra_ns);
        }
        if task.station == APP {
            self.measure.series.cpu_ns = self.measure.series.cpu_ns.saturating_add(ns);
            if let Some(target) = self.measure.counters.target(APP, task.instance) {
                self.measure.counters.cpu(target, ns);
            }
        }
        let seq = task.seq;
        queue.schedule(now.after(ns), Event::Flow(FlowEvent::WorkDone { task: t, seq }));
    }

    /// Task `t`'s work step of generation `seq` ended.
    #[inline]
    pub(crate) fn on_work_done(&mut self, now: SimTime, t: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let task = &mut self.flow.tasks[t];
        if task.seq != seq || !task.live {
            return;
        }
        if task.station == PROXY {
            return self.on_proxy_done(now, t, queue);
        }
        if self.flow.programs[task.program as usize].work_only {
            let ok = !task.failed;
            return self.finish(now, t, ok, queue);
        }
        task.step += 1;
        self.advance(now, t, queue);
    }

    /// Task `t` ends: its worker takes the next waiting task, and the result goes to the
    /// caller (or the user, for a root task).
    #[inline(always)]
    pub(crate) fn finish(&mut self, now: SimTime, t: u32, ok: bool, queue: &mut EventQueue<Event>) {
        let task = &self.flow.tasks[t];
        let (station, parent_call, parent_gen, arrived) =
            (task.station, task.parent_call, task.parent_gen, task.arrived);
        let ok = ok && !self.fails_anyway(task);
        if station != APP {
            let task = self.flow.tasks[t];
            self.callee_done(now, &task, ok);
        }
        self.release_worker(now, t, queue);
        if parent_call != NONE {
            self.reply(now, parent_call, parent_gen, ok, queue);
        } else if station == APP {
            let fate = if !ok {
                Fate::Failed
            } else if now.since(arrived) > self.flow.timeout_ns {
                Fate::TimedOut
            } else {
                Fate::Completed
            };
            return self.end_root(now, t, fate, queue);
        }
        self.free_task(t);
    }

    /// Whether a task that ran its program fails all the same: a callee's own error rate
    /// or a fault's (each a coin of the task's key), or an app version's injected error.
    #[inline]
    fn fails_anyway(&self, task: &Task) -> bool {
        if task.station != APP {
            let st = &self.stations[task.station as usize];
            let (base, fault) = (st.error_rate, st.faults.error_rate);
            return (base > 0.0 && self.keys.errors.draws(task.key).chance(base))
                || (fault > 0.0 && self.keys.fault_errors.draws(task.key).chance(fault))
                || self.db.as_ref().is_some_and(|d| d.station == task.station && d.refuses_write(task.program));
        }
        match self.delivery.as_deref() {
            Some(d) if task.parent_call == NONE && !task.malicious => {
                d.injects_error(task.version, task.class, &mut self.keys.versions.draws_of(task.key, 1))
            }
            _ => false,
        }
    }

    /// A task on a callee (service, storage, database) finished, `ok` or not: the
    /// database's rows, the callee's counters and access log, the ledger's charge.
    fn callee_done(&mut self, now: SimTime, task: &Task, ok: bool) {
        if self.db.as_ref().is_some_and(|d| d.station == task.station) {
            self.query_done(now, task, ok);
        }
        let code = code_of(if ok { Fate::Completed } else { Fate::Failed });
        if let Some(target) = self.measure.counters.target(task.station, task.instance) {
            self.measure.counters.request(target, task.class, code, now.since(task.arrived));
            if let Some(db) = self.db.as_ref().filter(|d| d.station == task.station) {
                let op = usize::from(task.program == db.write_program);
                self.measure.counters.query(target, op, now.since(task.arrived));
            }
        }
        if self.logs.is_some() {
            let msg = Message::Access(task.class, code, now.since(task.arrived));
            self.log(now, usize::from(task.station), task.instance, Level::Info, msg, task.request);
        }
        if task.charge {
            let id = PaymentId(task.payment);
            let charged = ok && !(task.idempotent && self.ledger.charge_would_duplicate(id));
            self.ledger.call_finished(id, charged);
        }
    }

    /// A query on the database ended, `ok` or not: the rows and the volume it wrote, a
    /// write the full disk refused, the slow-query log.
    fn query_done(&mut self, now: SimTime, task: &Task, ok: bool) {
        let Some(db) = self.db.as_mut() else { return };
        if ok {
            let wrote = db.query_done(now, task.program, task.instance, task.row);
            if let Some(b) = self.recovery.backups.as_mut().filter(|_| wrote) {
                b.write(now);
            }
        } else if db.refuses_write(task.program) {
            db.stats.disk_full_writes += 1;
            let msg = Message::DiskFull;
            return self.log(now, usize::from(task.station), task.instance, Level::Error, msg, task.request);
        }
        let latency_ns = now.since(task.arrived);
        if db.slow(latency_ns) {
            let op = usize::from(task.program == db.write_program);
            let msg = Message::SlowQuery(op, latency_ns);
            self.log(now, usize::from(task.station), task.instance, Level::Warn, msg, task.request);
        }
    }

    /// Frees task `t`'s worker; the worker takes the next waiting task whose client has not
    /// given up: an app request past its deadline times out, and a database query whose
    /// call attempt is over (timed out, or its request died) was cancelled by the driver
    /// (as PostgreSQL and MySQL drivers do on a client timeout) and never runs.
    #[inline]
    pub(crate) fn release_worker(&mut self, now: SimTime, t: u32, queue: &mut EventQueue<Event>) {
        let task = &self.flow.tasks[t];
        if !task.running {
            return;
        }
        let (s, i) = (task.station as usize, task.instance as usize);
        let database = self.db.as_ref().is_some_and(|d| usize::from(d.station) == s);
        while let Some(next) = self.stations[s].instances[i].release(now) {
            let waiting = &self.flow.tasks[next];
            if s == APP as usize && now.since(waiting.arrived) >= self.flow.timeout_ns {
                // Its client gave up while it waited; the worker takes the next one.
                if !waiting.malicious {
                    self.measure.recorder.expired(waiting.arrived);
                }
                self.end_root(now, next, Fate::TimedOut, queue);
                continue;
            }
            if database && waiting.parent_call != NONE && !self.calls.current(waiting.parent_call, waiting.parent_gen) {
                self.free_task(next);
                continue;
            }
            self.start(now, next, queue);
            break;
        }
        if s == APP as usize {
            let connections = self.stations[s].instances[i].connections();
            self.app.track(i, connections);
        }
    }

    /// Sends a fire-and-forget message keyed `key` to a service's queue.
    pub(crate) fn send_async(
        &mut self,
        now: SimTime,
        target: Target,
        class: u16,
        key: u64,
        queue: &mut EventQueue<Event>,
    ) {
        let Target::Service(id) = target else { return };
        let s = 1 + id as usize;
        let st = &mut self.stations[s];
        st.stats.calls += 1;
        st.stats.first_attempts += 1;
        if st.faults.outage {
            st.stats.errors += 1;
            return;
        }
        let (i, program) = (st.next_instance(), st.program);
        let t = self.flow.tasks.alloc();
        let seq = self.flow.tasks[t].seq;
        self.flow.tasks[t] = Task {
            seq,
            live: true,
            station: s as u16,
            instance: i,
            program,
            class,
            arrived: now,
            key,
            ..Task::default()
        };
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
