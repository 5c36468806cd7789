//! The retry queue: deferred payments wait on it, and its consumers retry them against
//! the payment service until it answers. A queue that is not durable lives in its app
//! server's memory and loses that server's items when it crashes.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::resilience::{Ledger, PaymentFate, PaymentId, RetryQueue};
use prodsim_scenario::topology::{CallSpec, OnFailure, RetryQueueSpec};

use crate::engine::Engine;
use crate::event::{CallEvent, Event};
use crate::outcome::RetryQueueOutcome;
use crate::streams;
use crate::tasks::{CONSUMER, Call, NONE};

/// An item on the retry queue: a payment waiting to be charged.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deferred {
    /// The payment on the ledger.
    pub payment: u32,
    /// The app server that queued it (a non-durable queue loses it with that server).
    pub server: u32,
    /// The class of its request.
    pub class: u16,
    /// The charge call to retry.
    pub spec: CallSpec,
    /// Its request's key.
    pub key: u64,
    /// Charges tried by consumers so far.
    pub tries: u32,
    /// A charge of it timed out: the primary provider may have taken it, so the consumer
    /// never falls back to another one.
    pub in_doubt: bool,
}

/// A consumer of the retry queue.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Consumer {
    /// It is charging an item.
    pub busy: bool,
    /// A wake is scheduled for it.
    pub scheduled: bool,
    /// The item it works on, with the time it was queued.
    pub item: Option<(SimTime, Deferred)>,
}

/// The retry queue and its consumers.
pub(crate) struct Deferral {
    /// Its configuration; `None` without `[retry_queue]`.
    pub spec: Option<RetryQueueSpec>,
    /// The items waiting (always empty without a queue).
    pub items: RetryQueue<Deferred>,
    /// Its consumers.
    pub consumers: Vec<Consumer>,
    /// What it did.
    pub stats: RetryQueueOutcome,
}

impl Deferral {
    /// The queue of `spec` (none when `None`).
    pub fn new(spec: Option<RetryQueueSpec>) -> Deferral {
        Deferral {
            spec,
            items: RetryQueue::new(spec.map_or(0, |q| q.capacity as usize)),
            consumers: vec![Consumer::default(); spec.map_or(0, |q| q.consumers as usize)],
            stats: RetryQueueOutcome::default(),
        }
    }

    /// Queues `item`; false when there is no queue or it is full.
    fn push(&mut self, now: SimTime, item: Deferred) -> bool {
        if self.spec.is_none() || self.items.push(now, item).is_err() {
            return false;
        }
        self.stats.enqueued += 1;
        true
    }

    /// An idle consumer without a wake scheduled, marked as scheduled.
    fn idle_consumer(&mut self) -> Option<u32> {
        let k = self.consumers.iter().position(|c| !c.busy && !c.scheduled)?;
        self.consumers[k].scheduled = true;
        Some(k as u32)
    }

    /// App server `server` crashed: a queue in its memory loses its items.
    pub fn server_crashed(&mut self, server: usize, ledger: &mut Ledger) {
        if self.spec.is_none_or(|s| s.durable) {
            return;
        }
        let mut kept = Vec::new();
        while let Some((enq, item)) = self.items.pop() {
            if item.server as usize == server {
                ledger.mark_dropped(PaymentId(item.payment));
                self.stats.dropped += 1;
            } else {
                kept.push((enq, item));
            }
        }
        for (enq, item) in kept.into_iter().rev() {
            self.items.push_front(enq, item);
        }
    }
}

impl Engine {
    /// Puts task `t`'s payment on the retry queue; false when there is none, the task is
    /// no payment, or the queue is full.
    pub(crate) fn defer_payment(&mut self, now: SimTime, t: u32, call: &Call, queue: &mut EventQueue<Event>) -> bool {
        let task = &self.flow.tasks[t];
        if task.payment == NONE || call.payment == NONE {
            return false;
        }
        let item = Deferred {
            payment: task.payment,
            server: task.instance,
            class: task.class,
            spec: call.spec,
            key: task.key,
            tries: 0,
            in_doubt: call.in_doubt,
        };
        if !self.deferral.push(now, item) {
            return false;
        }
        self.flow.tasks[t].deferred = true;
        self.ledger.set_fate(PaymentId(item.payment), PaymentFate::Queued);
        if let Some(k) = self.deferral.idle_consumer() {
            queue.schedule(now, Event::Call(CallEvent::ConsumerWake { consumer: k }));
        }
        true
    }

    /// Consumer `k` takes the next item and charges it.
    pub(crate) fn on_consumer_wake(&mut self, now: SimTime, k: u32, queue: &mut EventQueue<Event>) {
        let consumer = &mut self.deferral.consumers[k as usize];
        consumer.scheduled = false;
        if consumer.busy {
            return;
        }
        let Some((enq, mut item)) = self.deferral.items.pop() else { return };
        item.tries += 1;
        let consumer = &mut self.deferral.consumers[k as usize];
        consumer.busy = true;
        consumer.item = Some((enq, item));
        let mut spec = item.spec;
        spec.on_failure = OnFailure::Fail;
        let key = streams::deferred_key(item.key, item.tries);
        self.issue_call(now, CONSUMER | k, spec, key, queue);
    }

    /// Consumer `k`'s charge ended: a success settles the payment, a failure puts it back
    /// at the head and waits before the next attempt (`in_doubt`: the charge timed out, so
    /// it never falls back to another provider).
    pub(crate) fn consumer_done(
        &mut self,
        now: SimTime,
        k: u32,
        ok: bool,
        in_doubt: bool,
        queue: &mut EventQueue<Event>,
    ) {
        let consumer = &mut self.deferral.consumers[k as usize];
        consumer.busy = false;
        let Some((enq, mut item)) = consumer.item.take() else { return };
        item.in_doubt |= in_doubt;
        let Some(spec) = self.deferral.spec else { return };
        consumer.scheduled = true;
        let wake = Event::Call(CallEvent::ConsumerWake { consumer: k });
        if ok {
            self.deferral.stats.drained += 1;
            self.ledger.set_fate(PaymentId(item.payment), PaymentFate::Completed);
            queue.schedule(now, wake);
        } else {
            // Keep its place at the head; wait before the next attempt.
            self.deferral.items.push_front(enq, item);
            queue.schedule(now.after(spec.retry_interval_ns), wake);
        }
    }
}
