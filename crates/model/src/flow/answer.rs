//! The end of a request: the app server's answer (what the balancer, the exported
//! counters, the logs and the release's health check see), the network back to the
//! user, the recorder's and the ground truth's count, the payment's fate on the ledger,
//! and a closed workload's user thinking before the next request.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::ops::logs::Level;
use prodsim_parts::resilience::{PaymentFate, PaymentId};

use crate::edge::refusal_code;
use crate::engine::{APP, Engine};
use crate::event::{Event, FlowEvent};
use crate::logging::Message;
use crate::measure::metrics::code_of;
use crate::measure::recorder::Fate;
use crate::monitoring::LB;
use crate::tasks::{NONE, Task};

/// Bytes of an error response (a status line, headers and a short body), whatever the
/// class: `node_network_transmit_bytes_total` counts these for answers that are not 200.
pub(crate) const ERROR_RESPONSE_BYTES: u64 = 300;

impl Engine {
    /// A root task ends with `fate`: the user gets an answer (after the network's share of
    /// the round trip), the ledger learns what the system told them, and a user of a
    /// closed workload thinks before their next request.
    #[inline(always)]
    pub(crate) fn end_root(&mut self, now: SimTime, t: u32, fate: Fate, queue: &mut EventQueue<Event>) {
        let task = self.flow.tasks[t];
        if task.station == APP && task.instance != NONE {
            self.server_answered(now, &task, fate);
            if fate == Fate::Completed {
                self.login_answered(&task);
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
        if self.flow.closed {
            self.think(&task, answered, queue);
        }
        if task.payment != NONE && !task.deferred {
            // A request that ran to the end did its work even if its client gave up; one
            // dropped from the queue after its deadline never started, so never charged.
            let done = fate == Fate::Completed || (fate == Fate::TimedOut && task.running);
            let f = if done { PaymentFate::Completed } else { PaymentFate::Failed };
            if !done && self.ledger.charge_outstanding(PaymentId(task.payment)) {
                // Told it failed while a charge is still out: its answer is lost.
                self.charge_in_doubt(task.payment);
            }
            self.ledger.set_fate(PaymentId(task.payment), f);
        }
        self.free_task(t);
    }

    /// App server `task.instance` answered `task` with `fate`: the balancer, the outlier
    /// detector, the server's counters and its access and error logs see it.
    #[inline(always)]
    fn server_answered(&mut self, now: SimTime, task: &Task, fate: Fate) {
        let latency_ns = now.since(task.arrived);
        self.app.observe(now, task.instance as usize, latency_ns, fate != Fate::Failed);
        let code = code_of(fate);
        if let Some(target) = self.measure.counters.target(APP, task.instance) {
            self.measure.counters.request(target, task.class, code, latency_ns);
            let (rx, tx) = self.flow.classes.bytes[usize::from(task.class)];
            let tx = if fate == Fate::Completed { tx } else { ERROR_RESPONSE_BYTES };
            self.measure.counters.network(target, rx, tx);
        }
        if self.logs.is_some() {
            let (i, r) = (task.instance, task.request);
            self.log(now, APP as usize, i, Level::Info, Message::Access(task.class, code, latency_ns), r);
            if fate != Fate::Completed {
                self.log(now, APP as usize, i, Level::Error, Message::Failed(task.class, code), r);
            }
        }
    }

    /// A request of a login class was served: the attempt succeeds or fails (a wrong
    /// password, HTTP 401) by its key's `Purpose::Auth` draw, at the class's
    /// `login_failure_ratio` (or its attack's `failure_ratio`). A failed login is an answer
    /// the client caused: it stays served for availability, like any completed request.
    #[inline]
    fn login_answered(&mut self, task: &Task) {
        let Some(legit) = self.flow.classes.login[usize::from(task.class)] else { return };
        let attack =
            if task.malicious { self.edge.as_deref().and_then(|e| e.login_failure(task.workload)) } else { None };
        let failed = self.keys.auth.draws(task.key).chance(attack.unwrap_or(legit));
        self.measure.counters.auth(task.class, !failed);
    }

    /// The user of root task `task` got the answer `fate` at `answered`.
    #[inline(always)]
    pub(crate) fn user_answered(&mut self, task: &Task, answered: SimTime, fate: Fate) {
        let r = &mut self.measure.recorder;
        r.finished(task.arrived, answered, task.class, fate, task.degraded, task.deferred);
        if self.measure.counters.enabled || self.logs.is_some() {
            let latency = answered.since(task.arrived);
            // The balancer sees the request without the users' network.
            let code = refusal_code(task).unwrap_or_else(|| code_of(fate));
            self.measure.counters.request(LB, task.class, code, latency.saturating_sub(task.net_ns));
            self.track_client(answered, task.class, fate, code);
            // A payment queued for later is a sale delayed, not lost.
            let revenue = if task.deferred { 0.0 } else { self.flow.classes.revenue[task.class as usize] };
            if code == 0 {
                let order = self.flow.classes.payment[usize::from(task.class)].is_some();
                self.measure.counters.sale(task.class, order, revenue);
                if self.flow.classes.signup[usize::from(task.class)] {
                    self.measure.counters.signup(task.class);
                }
            }
            let harmful = self.delivery.as_deref().is_some_and(|d| d.is_harmful(task.version));
            self.measure.truth.record(answered, fate, latency, revenue, harmful);
        }
        if self.network.is_some() {
            let r = &mut self.measure.recorder;
            r.region_finished(task.region, task.arrived, answered, fate, task.degraded, task.deferred);
        }
    }

    /// A user of a closed workload, answered at `answered`, thinks, then sends the next
    /// request.
    #[inline(never)]
    pub(crate) fn think(&mut self, task: &Task, answered: SimTime, queue: &mut EventQueue<Event>) {
        if let Some(Some(think)) = self.flow.think_time.get(usize::from(task.workload)) {
            let next = answered.after(think.sample_ns(&mut self.keys.think.draws(task.key)));
            queue.schedule(next, Event::Flow(FlowEvent::Arrival { source: u32::from(task.workload) }));
        }
    }

    /// Task `t` is over: its slot is free, and events about it are stale.
    #[inline(always)]
    pub(crate) fn free_task(&mut self, t: u32) {
        let task = &mut self.flow.tasks[t];
        task.live = false;
        task.seq = task.seq.wrapping_add(1);
        self.flow.tasks.release(t);
    }
}
