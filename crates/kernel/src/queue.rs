//! The event queue: a min-priority queue ordered by (time, sequence number).
//!
//! The sequence number is assigned when an event is scheduled, so two events at the same
//! instant run in the order they were scheduled. Ties never depend on memory addresses or
//! hash order, which is what makes runs reproducible. Keys are unique, so every correct
//! priority queue pops the same sequence: the representation below changes speed only.
//!
//! The queue is ours rather than `std::collections::BinaryHeap` for reasons measured on the
//! M/M/8 benchmark:
//! - It supports the classic *hold* operation: the event being handled stays at the top
//!   until the handler schedules its follow-up, which then takes its slot with one sift
//!   instead of a pop and a push.
//! - While few events are pending (up to [`SORTED_MAX`], the common case: M/M/8 keeps at
//!   most nine) they are kept in a sorted array, earliest last. Removing the earliest is then a
//!   `Vec::pop`, and an insertion shifts the later entries by one from the end, which is
//!   fewer instructions than a heap sift at these sizes. Beyond `SORTED_MAX` the array
//!   becomes a binary heap for good, so large pending sets keep O(log n) operations.
//! - Sifts move whole entries instead of swapping halves, which avoids a store-forwarding
//!   stall in `BinaryHeap::pop`.

use super::time::SimTime;

/// Most pending events kept as a sorted array; one more turns the queue into a heap.
///
/// Measured with cachegrind: in M/M/c models, where a new arrival usually goes near the
/// front and a departure anywhere, the sorted array beats the heap by fewer instructions
/// and mispredictions up to about 24 pending events (whole run, against a heap: M/M/8 -6%
/// instructions, M/M/12 -5%, M/M/24 -0.5%); at 32 the heap wins. M/M/c keeps at most
/// c + 1 pending events. In a synthetic hold model where every new event lands at a
/// uniformly random rank, the array only wins up to about 10, so the limit is not higher.
pub const SORTED_MAX: usize = 24;

/// One scheduled event. The key packs (time, sequence) into a `u128`, so the queue compares
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
    /// The pending events: while `sorted`, in decreasing key order (the earliest last);
    /// otherwise a binary min-heap (the earliest first).
    entries: Vec<Entry<E>>,
    /// True until more than [`SORTED_MAX`] events are pending at once.
    sorted: bool,
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
        EventQueue { entries: Vec::with_capacity(capacity), sorted: true, next_seq: 0, top_in_dispatch: false }
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
            if self.sorted {
                self.insert_sorted_from(self.entries.len() - 1, entry);
            } else {
                self.sift_down_from(0, entry);
            }
        } else if self.sorted && self.entries.len() < SORTED_MAX {
            self.entries.push(entry);
            self.insert_sorted_from(self.entries.len() - 1, entry);
        } else {
            if self.sorted {
                self.become_heap();
            }
            self.entries.push(entry);
            self.sift_up_from(self.entries.len() - 1, entry);
        }
    }

    /// Removes and returns the earliest event with its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let (at, event) = self.begin_dispatch()?;
        self.finish_dispatch();
        Some((at, event))
    }

    /// Returns the earliest event and marks it as being handled: it stays in the queue until
    /// [`EventQueue::finish_dispatch`], or until the first `schedule` replaces it.
    #[inline]
    pub fn begin_dispatch(&mut self) -> Option<(SimTime, E)> {
        self.finish_dispatch();
        let top = *self.top()?;
        self.top_in_dispatch = true;
        Some((time_of(top.key), top.event))
    }

    /// Like [`EventQueue::begin_dispatch`], but only if the earliest event is due at or before
    /// `end`; a later one stays pending and is not marked.
    #[inline(always)]
    pub fn begin_dispatch_until(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        self.finish_dispatch();
        let top = self.top()?;
        let at = time_of(top.key);
        if at > end {
            return None;
        }
        let event = top.event;
        self.top_in_dispatch = true;
        Some((at, event))
    }

    /// Removes the event taken by [`EventQueue::begin_dispatch`] if no `schedule` replaced it.
    #[inline(always)]
    pub fn finish_dispatch(&mut self) {
        if self.top_in_dispatch {
            self.top_in_dispatch = false;
            if self.sorted {
                self.entries.pop();
            } else {
                self.remove_heap_top();
            }
        }
    }

    /// The time of the earliest event, if any (ignoring one being handled).
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.top_in_dispatch {
            return None;
        }
        self.top().map(|e| time_of(e.key))
    }

    /// Number of pending events.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len() - usize::from(self.top_in_dispatch)
    }

    /// True when no event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The earliest entry, wherever the representation keeps it.
    #[inline(always)]
    fn top(&self) -> Option<&Entry<E>> {
        if self.sorted { self.entries.last() } else { self.entries.first() }
    }

    /// Places `entry` at the hole `pos` of the sorted array (the last slot, just pushed or
    /// just handled), shifting the entries due before it one slot towards the end.
    ///
    /// The entry is stored once, at its final slot: see `sift_down_from` for why.
    #[inline(always)]
    fn insert_sorted_from(&mut self, mut pos: usize, entry: Entry<E>) {
        let entries = &mut self.entries[..pos + 1];
        while pos > 0 && entries[pos - 1].key < entry.key {
            entries[pos] = entries[pos - 1];
            pos -= 1;
        }
        entries[pos] = entry;
    }

    /// Turns the sorted array into a heap: reversed, it is in increasing order, which is a
    /// valid min-heap.
    #[cold]
    fn become_heap(&mut self) {
        self.entries.reverse();
        self.sorted = false;
    }

    /// Kept out of line: inlined, it made `finish_dispatch` (called on every event) too big
    /// to inline, and every event paid for a call and its register saves.
    #[inline(never)]
    fn remove_heap_top(&mut self) {
        if let Some(last) = self.entries.pop() {
            if !self.entries.is_empty() {
                self.sift_down_from(0, last);
            }
        }
    }

    /// Moves `entry`, whose slot is `pos`, up to where it belongs. Like `sift_down_from`, it
    /// takes the entry by value rather than reading back the slot just written.
    #[inline(always)]
    fn sift_up_from(&mut self, mut pos: usize, entry: Entry<E>) {
        let heap = &mut self.entries[..];
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
        let heap = &mut self.entries[..];
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

    #[test]
    fn grows_past_the_sorted_array_into_a_heap() {
        let mut q = EventQueue::new();
        // A permutation of 0..100 (37 is coprime with 100).
        for i in 0..100u64 {
            q.schedule(SimTime(i * 37 % 100), i * 37 % 100);
        }
        assert_eq!(q.len(), 100);
        assert_eq!(q.begin_dispatch_until(SimTime(0)), Some((SimTime(0), 0)));
        assert_eq!(q.begin_dispatch_until(SimTime(0)), None); // 1 is due later: left pending
        assert_eq!(q.len(), 99);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, (1..100).collect::<Vec<_>>());
    }

    proptest! {
        /// The queue pops exactly what a sorted list of (time, order) would, whatever mix of
        /// schedules, pops and dispatches runs on it, as a sorted array and past
        /// `SORTED_MAX` as a heap.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u8..6, 0u64..50), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0u64;
            for (op, t) in ops {
                match op {
                    0..=2 => {
                        q.schedule(SimTime(t), seq);
                        reference.push((t, seq));
                        seq += 1;
                    }
                    3 => {
                        reference.sort_unstable();
                        let expect = (!reference.is_empty()).then(|| reference.remove(0));
                        prop_assert_eq!(q.pop().map(|(t, e)| (t.as_nanos(), e)), expect);
                    }
                    4 => {
                        reference.sort_unstable();
                        let expect = reference.first().copied();
                        prop_assert_eq!(q.begin_dispatch().map(|(t, e)| (t.as_nanos(), e)), expect);
                        if expect.is_some() {
                            reference.remove(0);
                            // Schedule follow-ups (the first replaces the handled event) in
                            // half of the cases, at any time, earlier ones included.
                            for k in 0..t % 2 * (1 + t % 3) {
                                q.schedule(SimTime(t * k % 50), seq);
                                reference.push((t * k % 50, seq));
                                seq += 1;
                            }
                        }
                        q.finish_dispatch();
                    }
                    _ => {
                        reference.sort_unstable();
                        let expect = reference.first().copied().filter(|&(at, _)| at <= t);
                        let got = q.begin_dispatch_until(SimTime(t));
                        prop_assert_eq!(got.map(|(t, e)| (t.as_nanos(), e)), expect);
                        if expect.is_some() {
                            reference.remove(0);
                        }
                        q.finish_dispatch();
                    }
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
