//! A bounded work queue for deferred work, such as payments to retry later.
//!
//! Work that cannot be done now (the payment provider is down, the breaker is open) is
//! accepted into the queue and tried again later by a worker; the user is told "pending".
//! The queue is FIFO and remembers when each item was first enqueued, so the age of the
//! oldest pending work can be reported and a failed attempt can be put back at the front
//! with its original time ([`RetryQueue::push_front`]).
//!
//! Whether the queue survives a crash is the caller's decision: a durable queue keeps its
//! items, a volatile one loses them all through [`RetryQueue::drain_all`], which the
//! caller reports to the [`Ledger`](super::Ledger) as dropped work.
//!
//! The buffer holds `capacity` items and is allocated at construction. [`RetryQueue::push`]
//! refuses new work when the queue is full. [`RetryQueue::push_front`] never refuses: the
//! item had already been accepted, and refusing it would lose accepted work, so the queue
//! may briefly hold more than `capacity` items (growing its buffer once) when new work was
//! pushed while the attempt was out; new work is refused until it is back under capacity.
//! Callers that would rather refuse use [`RetryQueue::try_push_front`].

use std::collections::VecDeque;

use prodsim_kernel::SimTime;

/// Items allocated when a queue is made; it grows from there as items arrive.
const PREALLOCATED: usize = 1024;

/// A bounded FIFO of deferred work with enqueue times.
#[derive(Clone, Debug)]
pub struct RetryQueue<T: Copy> {
    items: VecDeque<(SimTime, T)>,
    capacity: usize,
    peak: usize,
}

impl<T: Copy> RetryQueue<T> {
    /// An empty queue with room for `capacity` items. Memory follows the items queued:
    /// only a small block is allocated now, however large `capacity` is.
    pub fn new(capacity: usize) -> Self {
        RetryQueue { items: VecDeque::with_capacity(capacity.min(PREALLOCATED)), capacity, peak: 0 }
    }

    /// Enqueues `item` at the back, stamped `now`; gives it back when the queue is full.
    pub fn push(&mut self, now: SimTime, item: T) -> Result<(), T> {
        if self.items.len() >= self.capacity {
            return Err(item);
        }
        self.items.push_back((now, item));
        self.peak = self.peak.max(self.items.len());
        Ok(())
    }

    /// Dequeues the oldest item with the time it was first enqueued.
    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        self.items.pop_front()
    }

    /// Puts back a failed attempt at the front, keeping its original enqueue time `enq`.
    /// Never refuses (see the module comment).
    pub fn push_front(&mut self, enq: SimTime, item: T) {
        self.items.push_front((enq, item));
        self.peak = self.peak.max(self.items.len());
    }

    /// Puts back a failed attempt at the front unless the queue is full.
    pub fn try_push_front(&mut self, enq: SimTime, item: T) -> Result<(), T> {
        if self.items.len() >= self.capacity {
            return Err(item);
        }
        self.push_front(enq, item);
        Ok(())
    }

    /// The oldest item and its enqueue time, without removing it.
    pub fn peek(&self) -> Option<(SimTime, T)> {
        self.items.front().copied()
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The most items ever waiting at once.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The number of items [`RetryQueue::push`] accepts before refusing.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Removes every waiting item, oldest first, e.g. the work a volatile queue loses in a
    /// crash. Items not consumed from the iterator are removed too.
    pub fn drain_all(&mut self) -> impl Iterator<Item = T> + '_ {
        self.items.drain(..).map(|(_, item)| item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn memory_follows_the_items_not_the_capacity() {
        // Found by the fuzzer: a capacity of u32::MAX allocated 412 GB up front.
        let mut q: RetryQueue<u64> = RetryQueue::new(u32::MAX as usize);
        assert!(q.items.capacity() < 4096, "{}", q.items.capacity());
        for i in 0..5000 {
            q.push(SimTime(i), i).expect("room");
        }
        assert_eq!(q.items.len(), 5000);
    }

    #[test]
    fn fifo_with_enqueue_times_and_a_bound() {
        let mut q = RetryQueue::new(2);
        assert!(q.is_empty());
        assert_eq!(q.push(SimTime(1), 'a'), Ok(()));
        assert_eq!(q.push(SimTime(2), 'b'), Ok(()));
        assert_eq!(q.push(SimTime(3), 'c'), Err('c'));
        assert_eq!(q.peek(), Some((SimTime(1), 'a')));
        assert_eq!(q.pop(), Some((SimTime(1), 'a')));
        assert_eq!(q.pop(), Some((SimTime(2), 'b')));
        assert_eq!(q.pop(), None);
        assert_eq!(q.peak(), 2);
        assert_eq!(q.capacity(), 2);
        let mut none = RetryQueue::new(0);
        assert_eq!(none.push(SimTime(0), 1), Err(1));
    }

    #[test]
    fn a_failed_attempt_keeps_its_place_even_when_full() {
        let mut q = RetryQueue::new(2);
        q.push(SimTime(1), 1).expect("room");
        q.push(SimTime(2), 2).expect("room");
        let (enq, item) = q.pop().expect("an item");
        q.push(SimTime(3), 3).expect("room again");
        assert_eq!(q.try_push_front(enq, item), Err(1));
        q.push_front(enq, item);
        assert_eq!((q.len(), q.peak()), (3, 3));
        assert_eq!(q.push(SimTime(4), 4), Err(4));
        let order: Vec<(SimTime, i32)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(SimTime(1), 1), (SimTime(2), 2), (SimTime(3), 3)]);
    }

    #[test]
    fn drain_all_empties_the_queue_oldest_first() {
        let mut q = RetryQueue::new(4);
        for i in 0..3 {
            q.push(SimTime(i), i).expect("room");
        }
        assert_eq!(q.drain_all().collect::<Vec<_>>(), [0, 1, 2]);
        assert!(q.is_empty());
        q.push(SimTime(9), 9).expect("room");
        drop(q.drain_all()); // not consumed: still removed
        assert_eq!(q.len(), 0);
        assert_eq!(q.peak(), 3);
    }

    proptest! {
        #[test]
        fn behaves_like_a_bounded_deque(ops in proptest::collection::vec((0u8..3, 0u64..100), 1..300), cap in 0usize..8) {
            let mut q = RetryQueue::new(cap);
            let mut model: VecDeque<(SimTime, u64)> = VecDeque::new();
            let mut peak = 0;
            for (op, v) in ops {
                match op {
                    0 => {
                        let r = q.push(SimTime(v), v);
                        if model.len() < cap { prop_assert_eq!(r, Ok(())); model.push_back((SimTime(v), v)); }
                        else { prop_assert_eq!(r, Err(v)); }
                    }
                    1 => prop_assert_eq!(q.pop(), model.pop_front()),
                    _ => {
                        if let Some((t, x)) = q.pop() {
                            prop_assert_eq!(Some((t, x)), model.pop_front());
                            q.push_front(t, x);
                            model.push_front((t, x));
                        }
                    }
                }
                peak = peak.max(model.len());
                prop_assert_eq!(q.len(), model.len());
                prop_assert!(q.len() <= cap);
            }
            prop_assert_eq!(q.peak(), peak);
        }
    }
}
