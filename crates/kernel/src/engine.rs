//! The run loop and its limits.
//!
//! A model owns its state and reacts to events; the engine pops events in (time, sequence)
//! order, advances the clock, enforces the limits and stops at the end of simulated time.
//! Every limit ends the run with an error that names it; nothing hangs or grows without
//! bound.

use thiserror::Error;

use super::queue::EventQueue;
use super::time::SimTime;
use super::trace::{NoObserver, Observer};

/// The bounds of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Simulated time at which the run stops; events after it are not processed.
    pub end: SimTime,
    /// Most events the run may process before it fails.
    pub max_events: u64,
    /// Most requests that may be in flight at once before the run fails.
    pub max_in_flight: u64,
}

/// Why a run stopped early.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SimError {
    /// The run processed more events than `max_events` allows.
    #[error(
        "limit max_events = {limit} reached at simulated time {at}; \
         raise [limits].max_events or shorten [scenario].duration"
    )]
    TooManyEvents {
        /// The limit.
        limit: u64,
        /// When it was reached.
        at: SimTime,
    },
    /// More requests were in flight than `max_in_flight` allows.
    #[error(
        "limit max_in_flight = {limit} reached at simulated time {at}: requests pile up faster \
         than they are served (is offered load above capacity?); bound the queue \
         ([servers].queue_capacity) or raise [limits].max_in_flight"
    )]
    TooManyInFlight {
        /// The limit.
        limit: u64,
        /// When it was reached.
        at: SimTime,
    },
    /// An event was scheduled before the current time: a bug in a component.
    #[error("time went backwards: event at {event} popped at {now} (this is a prodsim bug)")]
    TimeWentBackwards {
        /// The clock when the event was popped.
        now: SimTime,
        /// The event's time.
        event: SimTime,
    },
}

/// A simulation model driven by the engine.
pub trait Model {
    /// The closed set of events this model handles.
    type Event: Copy;

    /// Reacts to `event` at time `now`, scheduling follow-up events on `queue`.
    fn handle(&mut self, now: SimTime, event: Self::Event, queue: &mut EventQueue<Self::Event>);

    /// Requests currently in flight, checked against [`Limits::max_in_flight`].
    fn in_flight(&self) -> u64;
}

/// What the engine itself measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Events processed.
    pub events: u64,
    /// Simulated time at which the run stopped.
    pub end: SimTime,
}

/// Runs `model` from the events already on `queue` until `limits.end`.
pub fn run<M: Model>(model: &mut M, queue: &mut EventQueue<M::Event>, limits: &Limits) -> Result<RunStats, SimError> {
    run_observed(model, queue, limits, &mut NoObserver)
}

/// [`run`], showing every event to `observer` just before the model handles it (an
/// [`super::EventLog`] fingerprints the run). With [`NoObserver`] this is [`run`].
pub fn run_observed<M: Model, O: Observer<M::Event>>(
    model: &mut M,
    queue: &mut EventQueue<M::Event>,
    limits: &Limits,
    observer: &mut O,
) -> Result<RunStats, SimError> {
    let mut now = SimTime::ZERO;
    let mut events: u64 = 0;
    // The event stays in the queue while it is handled: its first follow-up replaces it.
    while let Some((at, event)) = queue.begin_dispatch_until(limits.end) {
        if at < now {
            return Err(SimError::TimeWentBackwards { now, event: at });
        }
        now = at;
        events += 1;
        if events > limits.max_events {
            return Err(SimError::TooManyEvents { limit: limits.max_events, at: now });
        }
        observer.on_event(now, &event);
        model.handle(now, event, queue);
        queue.finish_dispatch();
        if model.in_flight() > limits.max_in_flight {
            return Err(SimError::TooManyInFlight { limit: limits.max_in_flight, at: now });
        }
    }
    Ok(RunStats { events, end: limits.end })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy model: each tick schedules the next one `step` later and adds one in-flight item.
    struct Ticker {
        step: u64,
        seen: Vec<u64>,
    }
    impl Model for Ticker {
        type Event = ();
        fn handle(&mut self, now: SimTime, _: (), q: &mut EventQueue<()>) {
            self.seen.push(now.as_nanos());
            q.schedule(now.after(self.step), ());
        }
        fn in_flight(&self) -> u64 {
            self.seen.len() as u64
        }
    }

    fn limits(end: u64, max_events: u64, max_in_flight: u64) -> Limits {
        Limits { end: SimTime(end), max_events, max_in_flight }
    }

    #[test]
    fn stops_at_end_time() {
        let mut m = Ticker { step: 10, seen: vec![] };
        let mut q = EventQueue::new();
        q.schedule(SimTime(0), ());
        let stats = run(&mut m, &mut q, &limits(35, 100, 100)).expect("runs");
        assert_eq!(m.seen, vec![0, 10, 20, 30]);
        assert_eq!(stats.events, 4);
        assert_eq!(stats.end, SimTime(35));
    }

    #[test]
    fn limits_end_in_errors() {
        let mut m = Ticker { step: 1, seen: vec![] };
        let mut q = EventQueue::new();
        q.schedule(SimTime(0), ());
        let err = run(&mut m, &mut q, &limits(1_000, 5, 100)).unwrap_err();
        assert!(matches!(err, SimError::TooManyEvents { limit: 5, .. }));
        assert!(err.to_string().contains("max_events"));

        let mut m = Ticker { step: 1, seen: vec![] };
        let mut q = EventQueue::new();
        q.schedule(SimTime(0), ());
        let err = run(&mut m, &mut q, &limits(1_000, 100, 3)).unwrap_err();
        assert!(matches!(err, SimError::TooManyInFlight { limit: 3, at: SimTime(3) }));
    }
}
