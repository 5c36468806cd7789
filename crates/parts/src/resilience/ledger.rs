//! The payment ledger: proof that no payment is lost or taken twice.
//!
//! The ledger compares two views of every payment: what the **system** told the user or
//! recorded (its fate, set with [`Ledger::set_fate`]) and what the **provider** actually
//! did (how many times it charged, reported with [`Ledger::call_finished`]). A payment is
//! classified into exactly one class:
//!
//! | system says            | provider charged | class                                     |
//! |------------------------|------------------|-------------------------------------------|
//! | `Completed`            | ≥ 1              | completed (also *duplicated* if ≥ 2)      |
//! | `Completed`            | 0                | lost: an order without a payment          |
//! | `Failed`               | 0                | failed: visible, the user can retry       |
//! | `Failed`               | ≥ 1              | lost: money taken, no order               |
//! | `Queued`               | any              | queued: pending, will be retried          |
//! | `InFlight`             | any              | in flight: no answer yet                  |
//! | dropped when `Completed` or `Queued` | any | lost: the user was told it succeeded or is pending, and the work is gone |
//!
//! [`Ledger::mark_dropped`] records that the system lost the work (a volatile queue
//! drained in a crash, a request killed with its server). If the user had been told
//! `Completed` or `Queued` the payment is lost whatever the provider did, and stays lost.
//! If the user had been told nothing yet (`InFlight`) or `Failed`, the user sees a failure,
//! so a dropped payment is classified as `Failed`: failed if never charged, lost if a
//! charge lands.
//!
//! *Duplicated* is an overlay, not a class: it counts completed payments charged more than
//! once. The classes partition the attempts, so at every instant
//! `attempted == completed + queued + failed + lost + in_flight`.
//!
//! **Payments in doubt.** A charge whose answer was lost (its call timed out, or the app
//! server died while it was out) may or may not have been taken. [`Ledger::mark_in_doubt`]
//! keeps such a record until [`Ledger::reconcile`] asks the provider what it did (once no
//! call is outstanding) and settles it: charged means the order stands (`Completed`), not
//! charged means it failed. A record in doubt is never released before it is settled.
//!
//! **Memory follows payments in flight.** Records live in a slab with a free list. A
//! record is released once its fate is final (`Completed`, `Failed` or dropped) and no
//! provider call is outstanding; its class is already counted in the aggregate totals,
//! which are updated on every change, so [`Ledger::totals`] is O(1). A record stays while
//! a call is outstanding because a late provider completion of an abandoned call (a timed
//! out request the provider processed anyway) must still be able to reclassify it, e.g.
//! from failed to lost. Ids of released records are reused; using a released id is a bug
//! in the caller, which the ledger cannot always detect (it ignores operations on free
//! slots and unknown ids and counts them in [`Ledger::invalid_ops`]).

/// A payment's handle in the ledger: an index into its slab, reused after release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(pub u32);

/// What the system told the user about a payment, or recorded for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentFate {
    /// The order was confirmed as paid.
    Completed,
    /// The payment was accepted for later processing ("pending").
    Queued,
    /// The user was told the payment failed.
    Failed,
    /// Nothing has been decided yet.
    InFlight,
}

/// Payment counts by class; see the module comment for the classification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerTotals {
    /// Payments opened.
    pub attempted: u64,
    /// Confirmed and charged.
    pub completed: u64,
    /// Pending in a queue.
    pub queued: u64,
    /// Visibly failed and not charged.
    pub failed: u64,
    /// Charged without an order, confirmed without a charge, or dropped after the user was
    /// told it succeeded or is pending.
    pub lost: u64,
    /// Completed payments charged two or more times (a subset of `completed`).
    pub duplicated: u64,
    /// Not decided yet.
    pub in_flight: u64,
}

impl LedgerTotals {
    /// Every payment is counted exactly once, and none is lost or charged twice.
    pub fn balanced(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.attempted == self.completed + self.queued + self.failed + self.lost + self.in_flight
    }
}

/// What reconciling a payment in doubt found out at the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The provider had taken the charge.
    pub charged: bool,
    /// The ledger's record was wrong and was put right (a charge recorded as failed, or
    /// an order recorded as paid that was never charged): without reconciliation the
    /// payment would count as lost.
    pub corrected: bool,
}

/// Index of each class in the counts array.
const COMPLETED: usize = 0;
const QUEUED: usize = 1;
const FAILED: usize = 2;
const LOST: usize = 3;
const IN_FLIGHT: usize = 4;

/// One payment while it is live.
#[derive(Clone, Copy, Debug)]
struct Record {
    charges: u32,
    outstanding: u32,
    fate: PaymentFate,
    /// Dropped after the user was told `Completed` or `Queued`: lost for good.
    lost_by_drop: bool,
    /// Its answer was lost; kept until reconciled.
    in_doubt: bool,
    live: bool,
}

impl Record {
    const FRESH: Record = Record {
        charges: 0,
        outstanding: 0,
        fate: PaymentFate::InFlight,
        lost_by_drop: false,
        in_doubt: false,
        live: true,
    };

    /// The class index and whether it counts as duplicated.
    fn class(&self) -> (usize, bool) {
        if self.lost_by_drop {
            return (LOST, false);
        }
        match (self.fate, self.charges) {
            (PaymentFate::Completed, 0) => (LOST, false),
            (PaymentFate::Completed, n) => (COMPLETED, n >= 2),
            (PaymentFate::Failed, 0) => (FAILED, false),
            (PaymentFate::Failed, _) => (LOST, false),
            (PaymentFate::Queued, _) => (QUEUED, false),
            (PaymentFate::InFlight, _) => (IN_FLIGHT, false),
        }
    }

    fn is_final(&self) -> bool {
        !self.in_doubt && (self.lost_by_drop || matches!(self.fate, PaymentFate::Completed | PaymentFate::Failed))
    }
}

/// The payment ledger.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    records: Vec<Record>,
    free: Vec<u32>,
    attempted: u64,
    counts: [u64; 5],
    duplicated: u64,
    invalid: u64,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger with room for `in_flight` live payments before it allocates.
    pub fn with_capacity(in_flight: usize) -> Self {
        Ledger { records: Vec::with_capacity(in_flight), free: Vec::with_capacity(in_flight), ..Self::default() }
    }

    /// Opens a payment, in flight and uncharged.
    pub fn open(&mut self) -> PaymentId {
        self.attempted += 1;
        self.counts[IN_FLIGHT] += 1;
        match self.free.pop() {
            Some(slot) => {
                self.records[slot as usize] = Record::FRESH;
                PaymentId(slot)
            }
            None => {
                let slot = u32::try_from(self.records.len()).expect("fewer than 2^32 payments in flight at once");
                self.records.push(Record::FRESH);
                PaymentId(slot)
            }
        }
    }

    /// A provider call for payment `id` went out and is outstanding.
    pub fn call_started(&mut self, id: PaymentId) {
        self.update(id, |r| r.outstanding = r.outstanding.saturating_add(1));
    }

    /// The provider answered a call for payment `id`: it processed it (`charged`) or
    /// refused it. A charge may land after the fate is final and reclassifies the payment.
    pub fn call_finished(&mut self, id: PaymentId, charged: bool) {
        let mut unmatched = false;
        self.update(id, |r| {
            unmatched = r.outstanding == 0;
            r.outstanding = r.outstanding.saturating_sub(1);
            if charged {
                r.charges = r.charges.saturating_add(1);
            }
        });
        if unmatched {
            self.invalid += 1;
        }
    }

    /// Whether charging payment `id` again would charge it twice: it was charged already.
    /// False for a released or unknown id.
    pub fn charge_would_duplicate(&self, id: PaymentId) -> bool {
        self.record(id).is_some_and(|r| r.charges >= 1)
    }

    /// What the system told the user about payment `id`, or recorded for it. A fate set
    /// after the payment was lost by a drop is ignored and counted as invalid.
    pub fn set_fate(&mut self, id: PaymentId, fate: PaymentFate) {
        let mut ignored = false;
        self.update(id, |r| {
            if r.lost_by_drop {
                ignored = true;
            } else {
                r.fate = fate;
            }
        });
        if ignored {
            self.invalid += 1;
        }
    }

    /// The system dropped the work of payment `id` (e.g. a volatile queue lost in a
    /// crash). Told `Completed` or `Queued`: lost for good. Told `InFlight` or `Failed`:
    /// the user sees a failure, so it becomes `Failed` (lost if a charge lands).
    pub fn mark_dropped(&mut self, id: PaymentId) {
        self.update(id, |r| match r.fate {
            PaymentFate::Completed | PaymentFate::Queued => r.lost_by_drop = true,
            PaymentFate::InFlight | PaymentFate::Failed => r.fate = PaymentFate::Failed,
        });
    }

    /// The answer of a charge of payment `id` was lost: keep it until [`Ledger::reconcile`]
    /// settles it. True when it was not in doubt before (the caller remembers it once).
    pub fn mark_in_doubt(&mut self, id: PaymentId) -> bool {
        let mut newly = false;
        self.update(id, |r| {
            newly = !r.in_doubt;
            r.in_doubt = true;
        });
        newly
    }

    /// Whether a provider call for payment `id` is still out (false for a released id).
    pub fn charge_outstanding(&self, id: PaymentId) -> bool {
        self.record(id).is_some_and(|r| r.outstanding > 0)
    }

    /// Whether payment `id` is in doubt (false for a released or unknown id).
    pub fn in_doubt(&self, id: PaymentId) -> bool {
        self.record(id).is_some_and(|r| r.in_doubt)
    }

    /// Asks the provider about payment `id`, in doubt, and settles it: `None` while it
    /// cannot be settled yet (a call is still out, the request is still running, or the
    /// payment waits on the retry queue, which settles it itself), or when it is not in
    /// doubt. Charged, the order stands; not charged, the payment failed. A payment lost by
    /// a drop stays lost.
    pub fn reconcile(&mut self, id: PaymentId) -> Option<Settlement> {
        let r = self.record(id).filter(|r| r.in_doubt)?;
        if r.outstanding > 0 || matches!(r.fate, PaymentFate::InFlight | PaymentFate::Queued) {
            return None;
        }
        let charged = r.charges >= 1;
        let right = if charged { PaymentFate::Completed } else { PaymentFate::Failed };
        let corrected = !r.lost_by_drop && r.fate != right;
        self.update(id, |r| {
            r.in_doubt = false;
            if !r.lost_by_drop {
                r.fate = right;
            }
        });
        Some(Settlement { charged, corrected })
    }

    /// Counts over all payments ever opened, released or live.
    pub fn totals(&self) -> LedgerTotals {
        LedgerTotals {
            attempted: self.attempted,
            completed: self.counts[COMPLETED],
            queued: self.counts[QUEUED],
            failed: self.counts[FAILED],
            lost: self.counts[LOST],
            duplicated: self.duplicated,
            in_flight: self.counts[IN_FLIGHT],
        }
    }

    /// The fate last set for a live payment, `None` once released.
    pub fn fate(&self, id: PaymentId) -> Option<PaymentFate> {
        self.record(id).map(|r| r.fate)
    }

    /// Records held now: payments whose fate is not final or with a call outstanding.
    pub fn live(&self) -> usize {
        self.records.len() - self.free.len()
    }

    /// Slots in the slab: the most payments ever live at once.
    pub fn slab_len(&self) -> usize {
        self.records.len()
    }

    /// Operations on released or unknown ids, unmatched call completions and fates set
    /// after a drop; nonzero means the caller has a bug.
    pub fn invalid_ops(&self) -> u64 {
        self.invalid
    }

    fn record(&self, id: PaymentId) -> Option<&Record> {
        self.records.get(id.0 as usize).filter(|r| r.live)
    }

    /// Applies `change` to a live record, moves it between classes and releases it when
    /// it is final with no call outstanding.
    fn update(&mut self, id: PaymentId, change: impl FnOnce(&mut Record)) {
        let Some(r) = self.records.get_mut(id.0 as usize).filter(|r| r.live) else {
            self.invalid += 1;
            return;
        };
        let (before, dup_before) = r.class();
        change(r);
        let (after, dup_after) = r.class();
        self.counts[before] -= 1;
        self.counts[after] += 1;
        self.duplicated = self.duplicated - u64::from(dup_before) + u64::from(dup_after);
        if r.is_final() && r.outstanding == 0 {
            r.live = false;
            self.free.push(id.0);
        }
    }
}

#[cfg(test)]
mod tests;
