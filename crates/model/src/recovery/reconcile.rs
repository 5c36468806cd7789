//! Fallbacks and reconciliation in the engine: a call whose target failed for certain (or
//! whose breaker is open) goes to its `fallback`; a charge whose answer was lost is in
//! doubt and never falls back; the periodic job asks the provider about payments in doubt
//! and settles them on the ledger.

use prodsim_kernel::{EventQueue, SimTime};
use prodsim_parts::resilience::PaymentId;
use prodsim_scenario::topology::Target;

use crate::engine::Engine;
use crate::event::{CallEvent, Event};
use crate::streams;
use crate::tasks::NONE;

impl Engine {
    /// The answer to charge `payment` was lost (a timeout, or its request died while the
    /// charge was out): with `[reconciliation]`, the ledger keeps it for the job.
    pub(crate) fn charge_in_doubt(&mut self, payment: u32) {
        if payment == NONE || self.recovery.reconciliation.is_none() {
            return;
        }
        if self.ledger.mark_in_doubt(PaymentId(payment)) {
            self.recovery.pending.push(payment);
        }
    }

    /// Sends call `c` to its fallback if it has one it has not used and it may: a charge in
    /// doubt never falls back (the first provider may have taken it). Whether it did.
    pub(crate) fn fall_back(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) -> bool {
        let call = self.calls[c];
        let Some(fallback) = call.spec.fallback.filter(|_| !call.fell_back) else { return false };
        if !self.may_fall_back(c) {
            self.recovery.fallback.in_doubt_kept += 1;
            return false;
        }
        self.recovery.fallback.calls += 1;
        let call = &mut self.calls[c];
        call.spec.target = Target::Service(fallback);
        call.fell_back = true;
        call.attempt = 0;
        call.key = streams::fallback_key(call.key);
        let s = self.station_of(Target::Service(fallback));
        self.stations[s].stats.first_attempts += 1;
        if let Some(b) = self.stations[s].budget.as_mut() {
            b.on_request(now);
        }
        self.attempt(now, c, queue);
        true
    }

    /// Whether call `c` has a fallback it has not used and may use: a charge in doubt may not.
    pub(crate) fn may_fall_back(&self, c: u32) -> bool {
        let call = &self.calls[c];
        let in_doubt = call.payment != NONE && (call.in_doubt || self.ledger.in_doubt(PaymentId(call.payment)));
        call.spec.fallback.is_some() && !call.fell_back && !in_doubt
    }

    /// The first run of the reconciliation job, one interval in.
    pub(crate) fn schedule_reconciliation(&self, queue: &mut EventQueue<Event>) {
        if let Some(r) = self.recovery.reconciliation {
            queue.schedule(SimTime(r.interval_ns), Event::Call(CallEvent::Reconcile));
        }
    }

    /// The reconciliation job runs: every payment in doubt that the provider can answer for
    /// (no call of it still out, its request over, not waiting on the retry queue) is
    /// settled; the others wait for the next run.
    pub(crate) fn on_reconcile(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(spec) = self.recovery.reconciliation else { return };
        let (ledger, r) = (&mut self.ledger, &mut self.recovery);
        r.reconciled.runs += 1;
        let stats = &mut r.reconciled;
        r.pending.retain(|&id| match ledger.reconcile(PaymentId(id)) {
            Some(s) => {
                stats.reconciled += 1;
                stats.charged += u64::from(s.charged);
                stats.corrected += u64::from(s.corrected);
                false
            }
            None => ledger.in_doubt(PaymentId(id)),
        });
        queue.schedule(now.after(spec.interval_ns), Event::Call(CallEvent::Reconcile));
    }
}
