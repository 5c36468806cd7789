//! The event queue: a binary min-heap ordered by (time, sequence number).
//!
//! The sequence number is assigned when an event is scheduled, so two events at the same
//! instant run in the order they were scheduled. Ties never depend on memory addresses or
//! hash order, which is what makes runs reproducible.
//!
//! The heap is ours rather than `std::collections::BinaryHeap` for two reasons measured on
//! the M/M/8 benchmark: it supports the classic *hold* operation (the event being handled
//! stays at the top until the handler schedules its follow-up, which then replaces it with
//! one sift instead of a pop and a push), and its sift moves whole entries instead of
//! swapping halves, which avoids a store-forwarding stall in `BinaryHeap::pop`.

use super::time::SimTime;

/// One scheduled event. The key packs (time, sequence) into a `u128`, so the heap compares
/// with a single integer comparison.
#[derive(Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

#[inline]
fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

/// A future-event list ordered by (time, scheduling order).
pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
    /// True while the top entry is being handled: the next `schedule` overwrites it.
    top_in_dispatch: bool,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `capacity` events before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: Vec::with_capacity(capacity), next_seq: 0, top_in_dispatch: false }
    }

    /// Schedules `event` at time `at`. Events at equal times run in scheduling order.
    #[inline(always)]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        let key = (u128::from(at.as_nanos()) << 64) | u128::from(self.next_seq);
        self.next_seq += 1;
        let entry = Entry { key, event };
        if self.top_in_dispatch {
            // Hold: the handled event's slot takes its follow-up.
            self.top_in_dispatch = false;
            self.sift_down_from(0, entry);
        } else {
            self.heap.push(entry);
            self.sift_up_from(self.heap.len() - 1, entry);
        }
    }

    /// Removes and returns the earliest event with its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.finish_dispatch();
        let top = *self.heap.first()?;
        self.remove_top();
        Some((time_of(top.key), top.event))
    }

    /// Returns the earliest event and marks it as being handled: it stays in the queue until
    /// [`EventQueue::finish_dispatch`], or until the first `schedule` replaces it.
    #[inline]
    pub fn begin_dispatch(&mut self) -> Option<(SimTime, E)> {
        self.finish_dispatch();
        let top = self.heap.first()?;
        self.top_in_dispatch = true;
        Some((time_of(top.key), top.event))
    }

    /// Removes the event taken by [`EventQueue::begin_dispatch`] if no `schedule` replaced it.
    #[inline(always)]
    pub fn finish_dispatch(&mut self) {
        if self.top_in_dispatch {
            self.top_in_dispatch = false;
            self.remove_top();
        }
    }

    /// The time of the earliest event, if any (ignoring one being handled).
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.top_in_dispatch {
            return None;
        }
        self.heap.first().map(|e| time_of(e.key))
    }

    /// Number of pending events.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.top_in_dispatch)
    }

    /// True when no event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Kept out of line: inlined, it made `finish_dispatch` (called on every event) too big
    /// to inline, and every event paid for a call and its register saves.
    #[inline(never)]
    fn remove_top(&mut self) {
        if let Some(last) = self.heap.pop() {
            if !self.heap.is_empty() {
                self.sift_down_from(0, last);
            }
        }
    }

    /// Moves `entry`, whose slot is `pos`, up to where it belongs. Like `sift_down_from`, it
    /// takes the entry by value rather than reading back the slot just written.
    #[inline(always)]
    fn sift_up_from(&mut self, mut pos: usize, entry: Entry<E>) {
        let heap = &mut self.heap[..];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if heap[parent].key <= entry.key {
                break;
            }
            heap[pos] = heap[parent];
            pos = parent;
        }
        heap[pos] = entry;
    }

    /// Places `entry` at the hole `pos`, moving it down to where it belongs.
    ///
    /// Two choices here were measured on the M/M/8 run (cachegrind, 10 h simulated):
    /// - The entry travels in registers and is stored once, at its final slot. Storing it at
    ///   the hole first and reading it back stalls the load on store forwarding (the store is
    ///   several narrow moves, the load one wide move): ~6% of the run's time in `perf`.
    /// - The smaller child is picked with a select, not a branch: which child wins is a coin
    ///   flip the branch predictor cannot learn. Mispredicted branches fell by a third.
    ///
    /// A 4-ary heap and a bottom-up sift (hole to a leaf, then up) were both slower: more
    /// instructions for the former, and a long climb back for early arrivals in the latter.
    #[inline(always)]
    fn sift_down_from(&mut self, mut pos: usize, entry: Entry<E>) {
        let heap = &mut self.heap[..];
        loop {
            let left = 2 * pos + 1;
            let Some(&[a, b]) = heap.get(left..left + 2) else { break };
            let (child, child_key) = if b.key < a.key { (left + 1, b.key) } else { (left, a.key) };
            if entry.key <= child_key {
                break;
            }
            heap[pos] = heap[child];
            pos = child;
        }
        // A node at the bottom may have a left child only.
        let left = 2 * pos + 1;
        if left + 1 == heap.len() && heap[left].key < entry.key {
            heap[pos] = heap[left];
            pos = left;
        }
        heap[pos] = entry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pops_in_time_then_schedule_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(5), 'c');
        q.schedule(SimTime(1), 'a');
        q.schedule(SimTime(5), 'd');
        q.schedule(SimTime(1), 'b');
        q.schedule(SimTime(u64::MAX), 'z');
        assert_eq!(q.peek_time(), Some(SimTime(1)));
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd', 'z']);
        assert!(q.is_empty());
    }

    #[test]
    fn dispatch_holds_the_top_until_replaced_or_finished() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(1), 1);
        q.schedule(SimTime(2), 2);
        assert_eq!(q.begin_dispatch(), Some((SimTime(1), 1)));
        assert_eq!(q.len(), 1);
        q.schedule(SimTime(3), 3); // replaces the handled event
        q.schedule(SimTime(0), 0);
        q.finish_dispatch(); // nothing left to remove
        let order: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![0, 2, 3]);
    }

    proptest! {
        /// The queue pops exactly what a sorted list of (time, order) would, whatever mix of
        /// schedules, pops and dispatches runs on it.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u8..4, 0u64..50), 1..300)) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0u64;
            for (op, t) in ops {
                match op {
                    0 | 1 => {
                        q.schedule(SimTime(t), seq);
                        reference.push((t, seq));
                        seq += 1;
                    }
                    2 => {
                        reference.sort_unstable();
                        let expect = (!reference.is_empty()).then(|| reference.remove(0));
                        prop_assert_eq!(q.pop().map(|(t, e)| (t.as_nanos(), e)), expect);
                    }
                    _ => {
                        reference.sort_unstable();
                        let expect = reference.first().copied();
                        prop_assert_eq!(q.begin_dispatch().map(|(t, e)| (t.as_nanos(), e)), expect);
                        if expect.is_some() {
                            reference.remove(0);
                            // Schedule a follow-up in half of the cases.
                            if t % 2 == 0 {
                                q.schedule(SimTime(t + 100), seq);
                                reference.push((t + 100, seq));
                                seq += 1;
                            }
                        }
                        q.finish_dispatch();
                    }
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
