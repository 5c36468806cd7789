//! Call timeouts as per-duration timer lists.
//!
//! Every call with a timeout needs a timer, and nearly every timer is cancelled (the answer
//! comes first). Timers of one duration expire in the order they were set, so each
//! duration keeps a FIFO list and only its head sits in the event queue: setting a timer is
//! a push onto a deque, a cancelled timer costs nothing until it reaches the head, and the
//! event queue holds one event per distinct duration instead of one per call in flight.

use std::collections::VecDeque;

use prodsim_kernel::SimTime;

/// One duration's timers, in expiry order.
#[derive(Debug, Default)]
pub struct TimerList {
    /// The duration every timer on this list has.
    pub duration_ns: u64,
    /// (expiry, call, the attempt's sequence number).
    entries: VecDeque<(SimTime, u32, u32)>,
    /// Whether an event is scheduled for the head.
    pub armed: bool,
}

/// Every timer list of a run, found by duration.
#[derive(Debug, Default)]
pub struct Timers {
    lists: Vec<TimerList>,
}

impl Timers {
    /// Sets a timer for attempt `seq` of call `call`, expiring `duration_ns` after `now`.
    /// Returns the list and expiry to schedule an event for when the list was not armed.
    #[inline]
    pub fn set(&mut self, now: SimTime, duration_ns: u64, call: u32, seq: u32) -> Option<(u32, SimTime)> {
        let i = match self.lists.iter().position(|l| l.duration_ns == duration_ns) {
            Some(i) => i,
            None => {
                self.lists.push(TimerList { duration_ns, ..TimerList::default() });
                self.lists.len() - 1
            }
        };
        let list = &mut self.lists[i];
        let at = now.after(duration_ns);
        list.entries.push_back((at, call, seq));
        if list.armed {
            return None;
        }
        list.armed = true;
        Some((i as u32, at))
    }

    /// Takes the next timer of list `list` that has expired at `now`, if any.
    #[inline]
    pub fn pop_expired(&mut self, list: u32, now: SimTime) -> Option<(u32, u32)> {
        let l = &mut self.lists[list as usize];
        match l.entries.front() {
            Some(&(at, call, seq)) if at <= now => {
                l.entries.pop_front();
                Some((call, seq))
            }
            _ => None,
        }
    }

    /// After expiring what was due: drops cancelled timers at the head (`live` says
    /// whether a timer still matters) and returns when to wake for the new head, or
    /// disarms the list.
    #[inline]
    pub fn rearm(&mut self, list: u32, mut live: impl FnMut(u32, u32) -> bool) -> Option<SimTime> {
        let l = &mut self.lists[list as usize];
        while let Some(&(at, call, seq)) = l.entries.front() {
            if live(call, seq) {
                return Some(at);
            }
            l.entries.pop_front();
        }
        l.armed = false;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_list_and_cancelled_timers_are_skipped() {
        let mut t = Timers::default();
        assert_eq!(t.set(SimTime(0), 10, 1, 0), Some((0, SimTime(10))));
        assert_eq!(t.set(SimTime(2), 10, 2, 0), None);
        assert_eq!(t.set(SimTime(3), 10, 3, 0), None);
        assert_eq!(t.set(SimTime(3), 7, 4, 0), Some((1, SimTime(10))));
        assert_eq!(t.pop_expired(0, SimTime(10)), Some((1, 0)));
        assert_eq!(t.pop_expired(0, SimTime(10)), None);
        // Call 2 was answered in time: its timer is dropped, the list waits for call 3.
        assert_eq!(t.rearm(0, |call, _| call != 2), Some(SimTime(13)));
        assert_eq!(t.pop_expired(0, SimTime(13)), Some((3, 0)));
        assert_eq!(t.rearm(0, |_, _| true), None);
        assert_eq!(t.set(SimTime(20), 10, 5, 1), Some((0, SimTime(30))));
    }
}
