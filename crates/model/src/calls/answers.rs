//! What comes back from a call's attempts: an answer, a failure, a timeout; retries after
//! a backoff (with the jitter its key draws), hedged copies; and the call's end, which
//! tells its caller — a task, or a retry-queue consumer — and applies the caller's
//! `on_failure` policy.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::resilience::{Backoff, Jitter};
use prodsim_scenario::topology::{CallSpec, OnFailure};

use crate::engine::{APP, Engine};
use crate::event::{CallEvent, Event};
use crate::measure::metrics::DepOutcome;
use crate::tasks::{CONSUMER, Call, NONE};

impl Engine {
    /// A child task answered call `c`'s attempt `seq`.
    pub(crate) fn reply(&mut self, now: SimTime, c: u32, seq: u32, ok: bool, queue: &mut EventQueue<Event>) {
        if !self.calls.current(c, seq) {
            return; // The caller stopped waiting for this attempt.
        }
        if !ok {
            return self.on_attempt_failed(now, c, seq, false, queue);
        }
        let s = self.station_of(self.calls[c].spec.target);
        if let Some(b) = self.stations[s].breaker.as_mut() {
            b.record(now, true);
        }
        self.count_dependency(now, self.calls[c].caller, s, DepOutcome::Success);
        let call = &self.calls[c];
        if call.fell_back {
            self.recovery.fallback.answered += 1;
            self.recovery.fallback.payments += u64::from(call.payment != NONE);
        }
        self.resolve(now, c, true, queue);
    }

    /// Attempt `seq` of call `c` failed (an error, a refusal or its timeout).
    pub(crate) fn on_attempt_failed(
        &mut self,
        now: SimTime,
        c: u32,
        seq: u32,
        timed_out: bool,
        queue: &mut EventQueue<Event>,
    ) {
        if !self.calls.current(c, seq) {
            return;
        }
        let call = self.calls[c];
        if !timed_out && call.outstanding > 1 {
            self.calls[c].outstanding -= 1; // The hedged copy may still answer.
            return;
        }
        let s = self.station_of(call.spec.target);
        let outcome = match (timed_out, call.short_circuited) {
            (true, _) => DepOutcome::Timeout,
            (false, true) => DepOutcome::Rejected,
            (false, false) => DepOutcome::Error,
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
        if timed_out && call.payment != NONE {
            // The provider may have taken the charge: its answer is lost.
            self.calls[c].in_doubt = true;
            self.charge_in_doubt(call.payment);
        }
        // An open breaker is not retried when there is somewhere else to go.
        if call.short_circuited && self.may_fall_back(c) {
            self.fall_back(now, c, queue);
            return;
        }
        if !self.retry_later(now, c, s, queue) && !self.fall_back(now, c, queue) {
            self.resolve(now, c, false, queue);
        }
    }

    /// Schedules a retry of call `c` on station `s` if its policy and the retry budget
    /// allow one; whether it did.
    fn retry_later(&mut self, now: SimTime, c: u32, s: usize, queue: &mut EventQueue<Event>) -> bool {
        let call = self.calls[c];
        if call.attempt > call.spec.retries {
            return false;
        }
        let st = &mut self.stations[s];
        if !st.budget.as_mut().is_none_or(|b| b.try_retry(now)) {
            st.stats.budget_denied += 1;
            return false;
        }
        st.stats.retries += 1;
        let mut jitter = self.keys.jitter.draws_of(call.key, u64::from(call.attempt));
        let delay = backoff(&call.spec).delay_ns(call.attempt, &mut jitter);
        queue.schedule(now.after(delay), Event::Call(CallEvent::Retry { call: c, seq: call.seq }));
        true
    }

    /// Expires the due timers of timer list `list` and schedules its next head.
    pub(crate) fn on_timeouts(&mut self, now: SimTime, list: u32, queue: &mut EventQueue<Event>) {
        while let Some((c, seq)) = self.calls.timers.pop_expired(list, now) {
            self.on_attempt_failed(now, c, seq, true, queue);
        }
        let slab = &self.calls.slab;
        if let Some(at) = self.calls.timers.rearm(list, |c, seq| {
            let call = &slab[c];
            call.live && call.seq == seq
        }) {
            queue.schedule(at, Event::Call(CallEvent::Timeouts { list }));
        }
    }

    /// Call `c`'s backoff is over: the next attempt.
    pub(crate) fn on_retry(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        if self.calls.current(c, seq) {
            self.attempt(now, c, queue);
        }
    }

    /// Call `c`'s hedge delay is over: a second copy goes out if the first is unanswered.
    pub(crate) fn on_hedge(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let call = &self.calls[c];
        if !self.calls.current(c, seq) || call.outstanding != 1 || call.waiting_connection {
            return;
        }
        let s = self.station_of(call.spec.target);
        self.stations[s].stats.hedges += 1;
        self.stations[s].stats.calls += 1;
        self.calls[c].outstanding = 2;
        self.dispatch(now, c, queue);
    }

    /// Call `c` is over, for good: the caller learns the result.
    pub(crate) fn resolve(&mut self, now: SimTime, c: u32, ok: bool, queue: &mut EventQueue<Event>) {
        self.release_connection(now, c, queue);
        let call = self.calls[c];
        self.calls.end(c);
        if call.caller & CONSUMER != 0 {
            return self.consumer_done(now, call.caller & !CONSUMER, ok, call.in_doubt, queue);
        }
        let t = call.caller;
        if !ok {
            self.apply_failure_policy(now, t, &call, queue);
        }
        let task = &mut self.flow.tasks[t];
        task.pending -= 1;
        if task.pending == 0 {
            task.step += 1;
            self.advance(now, t, queue);
        }
    }

    /// Call `call` of task `t` failed for good: fail the task, degrade around it, or put
    /// its payment on the retry queue, as the call (or the task's version) says.
    fn apply_failure_policy(&mut self, now: SimTime, t: u32, call: &Call, queue: &mut EventQueue<Event>) {
        let policy = match call.spec.on_failure {
            OnFailure::Fail if self.degrades_call(t, call) => {
                if call.payment != NONE {
                    OnFailure::AcceptAndQueue
                } else {
                    OnFailure::Degrade
                }
            }
            p => p,
        };
        match policy {
            OnFailure::Fail => self.flow.tasks[t].failed = true,
            OnFailure::Degrade => self.flow.tasks[t].degraded = true,
            OnFailure::RetryQueue => {
                // A friendly error either way; the payment is safe if it was queued.
                self.defer_payment(now, t, call, queue);
                self.flow.tasks[t].failed = true;
            }
            OnFailure::AcceptAndQueue => {
                if !self.defer_payment(now, t, call, queue) {
                    self.flow.tasks[t].failed = true;
                }
            }
        }
    }

    /// Whether task `t`'s version (or a playbook) degrades a failing call like `call`.
    fn degrades_call(&self, t: u32, call: &Call) -> bool {
        let Some(d) = self.delivery.as_ref() else { return false };
        let task = &self.flow.tasks[t];
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
