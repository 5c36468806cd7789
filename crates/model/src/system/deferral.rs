//! The retry queue: deferred payments wait on it, and its consumers retry them against
//! the payment service until it answers.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::resilience::{PaymentFate, PaymentId};
use prodsim_scenario::topology::OnFailure;

use super::tasks::{CONSUMER, Call, NONE};
use super::{Deferred, Event, System};

impl System {
    /// Puts task `t`'s payment on the retry queue; false when there is none, the task is
    /// no payment, or the queue is full.
    pub(super) fn defer_payment(&mut self, now: SimTime, t: u32, call: Call, queue: &mut EventQueue<Event>) -> bool {
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

    pub(super) fn wake_idle_consumer(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
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

    pub(super) fn consumer_done(&mut self, now: SimTime, k: u32, ok: bool, queue: &mut EventQueue<Event>) {
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
