//! Watching a run event by event: the [`Observer`] hook of the run loop and the
//! [`EventLog`], a fingerprint of every event a run processed.
//!
//! The run loop is generic over its observer, so a plain run ([`NoObserver`]) compiles to
//! the same code as before and pays nothing. The event log keeps no events, only a running
//! hash of (time, event) pairs, a count, and whether time ever went backwards: two runs
//! that processed the same events in the same order have the same fingerprint, and memory
//! stays constant however long the run.

use std::hash::{Hash, Hasher};

use super::time::SimTime;

/// Sees every event the run loop dispatches, just before its model handles it.
pub trait Observer<E> {
    /// Called once per event, in dispatch order.
    fn on_event(&mut self, at: SimTime, event: &E);
}

/// An observer that does nothing: a plain run.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl<E> Observer<E> for NoObserver {
    #[inline(always)]
    fn on_event(&mut self, _: SimTime, _: &E) {}
}

/// The fingerprint of a run's event log: how many events, the hash of their sequence, and
/// the first time the clock went backwards, if it ever did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventLog {
    /// Events seen.
    pub events: u64,
    /// Hash of every (time, event) pair in order.
    pub hash: u64,
    /// Time of the last event seen.
    pub last: SimTime,
    /// The first event whose time was earlier than the one before it: (before, event).
    pub backwards: Option<(SimTime, SimTime)>,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        EventLog::default()
    }

    /// The hash as 16 hexadecimal digits, for reports.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.hash)
    }
}

impl<E: Hash> Observer<E> for EventLog {
    #[inline]
    fn on_event(&mut self, at: SimTime, event: &E) {
        if at < self.last && self.backwards.is_none() {
            self.backwards = Some((self.last, at));
        }
        self.last = at;
        self.events += 1;
        let mut h = WordHasher(self.hash);
        h.write_u64(at.as_nanos());
        event.hash(&mut h);
        self.hash = h.0;
    }
}

/// A small deterministic hasher (FxHash's word mixing): fixed across runs and platforms of
/// one build, which is all a fingerprint compared within one process needs.
struct WordHasher(u64);

impl WordHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.mix(i as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_events_same_hash_and_order_matters() {
        let mut a = EventLog::new();
        let mut b = EventLog::new();
        for (t, e) in [(1u64, 7u32), (2, 8), (2, 9)] {
            a.on_event(SimTime(t), &e);
            b.on_event(SimTime(t), &e);
        }
        assert_eq!(a, b);
        assert_eq!(a.events, 3);
        let mut c = EventLog::new();
        for (t, e) in [(1u64, 7u32), (2, 9), (2, 8)] {
            c.on_event(SimTime(t), &e);
        }
        assert_ne!(a.hash, c.hash, "a different order gives a different fingerprint");
        assert_eq!(a.backwards, None);
    }

    #[test]
    fn records_the_first_step_back_in_time() {
        let mut log = EventLog::new();
        for t in [5u64, 3, 1] {
            log.on_event(SimTime(t), &0u8);
        }
        assert_eq!(log.backwards, Some((SimTime(5), SimTime(3))));
    }
}
