use super::*;
use proptest::prelude::*;

#[test]
fn a_clean_payment_completes_and_frees_its_record() {
    let mut l = Ledger::new();
    let id = l.open();
    assert_eq!(l.totals().in_flight, 1);
    l.call_started(id);
    assert!(!l.charge_would_duplicate(id));
    l.call_finished(id, true);
    assert!(l.charge_would_duplicate(id));
    l.set_fate(id, PaymentFate::Completed);
    assert_eq!(l.totals(), LedgerTotals { attempted: 1, completed: 1, ..LedgerTotals::default() });
    assert_eq!(l.live(), 0);
    assert_eq!(l.fate(id), None);
    assert_eq!(l.invalid_ops(), 0);
}

#[test]
fn each_row_of_the_classification() {
    let mut l = Ledger::new();
    // Completed, charged twice: completed and duplicated.
    let a = l.open();
    for _ in 0..2 {
        l.call_started(a);
        l.call_finished(a, true);
    }
    l.set_fate(a, PaymentFate::Completed);
    // Completed, never charged: an order without payment.
    let b = l.open();
    l.set_fate(b, PaymentFate::Completed);
    // Failed and refused: visible failure.
    let c = l.open();
    l.call_started(c);
    l.call_finished(c, false);
    l.set_fate(c, PaymentFate::Failed);
    // Failed but charged: money taken.
    let d = l.open();
    l.call_started(d);
    l.call_finished(d, true);
    l.set_fate(d, PaymentFate::Failed);
    // Queued, and one still in flight.
    let e = l.open();
    l.set_fate(e, PaymentFate::Queued);
    let f = l.open();
    assert_eq!(l.fate(f), Some(PaymentFate::InFlight));
    let t = l.totals();
    assert_eq!(
        t,
        LedgerTotals { attempted: 6, completed: 1, queued: 1, failed: 1, lost: 2, duplicated: 1, in_flight: 1 }
    );
    assert_eq!(l.live(), 2);
    assert_eq!(l.invalid_ops(), 0);
}

#[test]
fn a_late_charge_turns_a_failure_into_a_loss() {
    let mut l = Ledger::new();
    let id = l.open();
    l.call_started(id);
    l.set_fate(id, PaymentFate::Failed); // the request timed out; the user saw an error
    assert_eq!(l.totals().failed, 1);
    assert_eq!(l.live(), 1, "kept while the provider call is outstanding");
    l.call_finished(id, true); // the provider processed it anyway
    let t = l.totals();
    assert_eq!((t.failed, t.lost), (0, 1));
    assert_eq!(l.live(), 0);
}

#[test]
fn a_late_refusal_leaves_a_failure_failed() {
    let mut l = Ledger::new();
    let id = l.open();
    l.call_started(id);
    l.set_fate(id, PaymentFate::Failed);
    l.call_finished(id, false);
    assert_eq!(l.totals().failed, 1);
    assert_eq!(l.live(), 0);
}

#[test]
fn dropped_work_is_lost_when_the_user_was_told_it_was_pending_or_done() {
    let mut l = Ledger::new();
    let queued = l.open();
    l.set_fate(queued, PaymentFate::Queued);
    l.mark_dropped(queued);
    let completed = l.open();
    l.call_started(completed);
    l.set_fate(completed, PaymentFate::Completed);
    l.mark_dropped(completed);
    l.call_finished(completed, true); // a charge does not rescue dropped work
    let t = l.totals();
    assert_eq!((t.lost, t.completed, t.queued), (2, 0, 0));
    assert_eq!(l.live(), 0);
    // A dropped request the user had no answer for is a visible failure...
    let pending = l.open();
    l.mark_dropped(pending);
    assert_eq!(l.totals().failed, 1);
    // ...unless its provider call charges after all.
    let charged = l.open();
    l.call_started(charged);
    l.mark_dropped(charged);
    assert_eq!(l.totals().failed, 2);
    l.call_finished(charged, true);
    assert_eq!((l.totals().failed, l.totals().lost), (1, 3));
    assert_eq!(l.invalid_ops(), 0);
}

#[test]
fn misuse_is_counted_not_fatal() {
    let mut l = Ledger::new();
    l.call_started(PaymentId(7));
    let id = l.open();
    l.call_finished(id, false); // no call was started
    let dropped = l.open();
    l.call_started(dropped);
    l.set_fate(dropped, PaymentFate::Queued);
    l.mark_dropped(dropped);
    l.set_fate(dropped, PaymentFate::Completed); // too late: ignored
    l.set_fate(id, PaymentFate::Failed);
    l.set_fate(id, PaymentFate::Completed); // released: ignored
    assert_eq!(l.invalid_ops(), 4);
    assert_eq!(l.totals().lost, 1);
    assert!(!l.charge_would_duplicate(PaymentId(99)));
}

#[test]
fn memory_follows_payments_in_flight_not_payments_made() {
    let mut l = Ledger::with_capacity(4);
    for i in 0..100_000u32 {
        let a = l.open();
        let b = l.open();
        l.call_started(a);
        l.call_finished(a, i % 3 != 0);
        l.set_fate(a, if i % 3 != 0 { PaymentFate::Completed } else { PaymentFate::Failed });
        l.set_fate(b, PaymentFate::Failed);
    }
    assert_eq!(l.slab_len(), 2);
    assert_eq!(l.live(), 0);
    let t = l.totals();
    assert_eq!(t.attempted, 200_000);
    assert_eq!(t.completed + t.failed, 200_000);
    assert_eq!(t.completed, 66_666);
}

/// A payment as the reference model keeps it: forever, classified from scratch.
#[derive(Clone, Copy, Debug)]
struct Model {
    charges: u32,
    outstanding: u32,
    fate: PaymentFate,
    dropped_lost: bool,
    id: PaymentId,
}

impl Model {
    fn released(&self) -> bool {
        (self.dropped_lost || matches!(self.fate, PaymentFate::Completed | PaymentFate::Failed))
            && self.outstanding == 0
    }
}

fn reference_totals(models: &[Model]) -> LedgerTotals {
    let mut t = LedgerTotals { attempted: models.len() as u64, ..LedgerTotals::default() };
    for m in models {
        if m.dropped_lost {
            t.lost += 1;
            continue;
        }
        match m.fate {
            PaymentFate::Completed if m.charges >= 1 => {
                t.completed += 1;
                t.duplicated += u64::from(m.charges >= 2);
            }
            PaymentFate::Failed if m.charges == 0 => t.failed += 1,
            PaymentFate::Completed | PaymentFate::Failed => t.lost += 1,
            PaymentFate::Queued => t.queued += 1,
            PaymentFate::InFlight => t.in_flight += 1,
        }
    }
    t
}

fn fate(n: u8) -> PaymentFate {
    [PaymentFate::Completed, PaymentFate::Queued, PaymentFate::Failed, PaymentFate::InFlight][usize::from(n % 4)]
}

proptest! {
    #[test]
    fn matches_a_reference_that_keeps_everything(ops in proptest::collection::vec((0u8..6, any::<u16>(), any::<u8>()), 1..600)) {
        let mut l = Ledger::new();
        let mut models: Vec<Model> = Vec::new();
        let mut max_live = 0;
        for (op, pick, arg) in ops {
            let live: Vec<usize> = (0..models.len()).filter(|&i| !models[i].released()).collect();
            if op == 0 || live.is_empty() {
                let id = l.open();
                models.push(Model { charges: 0, outstanding: 0, fate: PaymentFate::InFlight, dropped_lost: false, id });
            } else {
                let m = &mut models[live[usize::from(pick) % live.len()]];
                match op {
                    1 => { l.call_started(m.id); m.outstanding += 1; }
                    2 if m.outstanding > 0 => {
                        let charged = arg % 2 == 0;
                        prop_assert_eq!(l.charge_would_duplicate(m.id), m.charges >= 1);
                        l.call_finished(m.id, charged);
                        m.outstanding -= 1;
                        m.charges += u32::from(charged);
                    }
                    3 if !m.dropped_lost => { l.set_fate(m.id, fate(arg)); m.fate = fate(arg); }
                    4 => {
                        l.mark_dropped(m.id);
                        match m.fate {
                            PaymentFate::Completed | PaymentFate::Queued => m.dropped_lost = true,
                            _ => m.fate = PaymentFate::Failed,
                        }
                    }
                    _ => {}
                }
            }
            let t = l.totals();
            prop_assert_eq!(t, reference_totals(&models));
            prop_assert_eq!(t.attempted, t.completed + t.queued + t.failed + t.lost + t.in_flight);
            let live_now = models.iter().filter(|m| !m.released()).count();
            prop_assert_eq!(l.live(), live_now);
            max_live = max_live.max(live_now);
            prop_assert!(l.slab_len() <= max_live);
        }
        prop_assert_eq!(l.invalid_ops(), 0);
    }
}

#[test]
fn a_lost_answer_is_kept_until_reconciled_and_the_charge_found_stands() {
    let mut l = Ledger::new();
    let id = l.open();
    l.call_started(id);
    assert!(l.mark_in_doubt(id), "newly in doubt");
    assert!(!l.mark_in_doubt(id), "already in doubt");
    // The user was told it failed; the provider's late answer charges it.
    l.set_fate(id, PaymentFate::Failed);
    assert_eq!(l.reconcile(id), None, "a call is still out: the provider does not know yet");
    l.call_finished(id, true);
    assert_eq!(l.totals().lost, 1, "before reconciliation: money taken, no order");
    assert_eq!(l.live(), 1, "a record in doubt is not released");
    assert_eq!(l.reconcile(id), Some(Settlement { charged: true, corrected: true }));
    assert_eq!(l.totals(), LedgerTotals { attempted: 1, completed: 1, ..LedgerTotals::default() });
    assert_eq!(l.live(), 0);
    assert_eq!(l.reconcile(id), None, "released");
    assert_eq!(l.invalid_ops(), 0);
}

#[test]
fn reconciliation_confirms_an_uncharged_failure_and_waits_for_the_queue() {
    let mut l = Ledger::new();
    let a = l.open();
    l.call_started(a);
    l.mark_in_doubt(a);
    l.call_finished(a, false);
    assert_eq!(l.reconcile(a), None, "still in flight");
    l.set_fate(a, PaymentFate::Failed);
    assert_eq!(l.reconcile(a), Some(Settlement { charged: false, corrected: false }));
    let b = l.open();
    l.mark_in_doubt(b);
    l.set_fate(b, PaymentFate::Queued);
    assert_eq!(l.reconcile(b), None, "the retry queue settles it");
    l.set_fate(b, PaymentFate::Completed);
    assert_eq!(l.totals().lost, 1, "an order recorded as paid, never charged");
    assert_eq!(l.reconcile(b), Some(Settlement { charged: false, corrected: true }));
    let t = l.totals();
    assert_eq!((t.failed, t.lost, t.completed), (2, 0, 0));
    assert!(t.balanced());
    assert_eq!(l.live(), 0);
}
