//! The live clock: the wall clock seen as scenario time, and a precise timer.
//!
//! Every component (the server's queue, the balancer, the arrival process) takes `now` as a
//! [`SimTime`]; live mode gives them [`LiveClock::now`], the wall time since the run began
//! divided by the time scale, so a scenario at `--time-scale 0.01` sees one scenario second
//! per 10 ms of wall time and the components never know which clock drives them.
//!
//! tokio's timer wheel has a resolution of one millisecond, which at a small time scale is
//! a large share of a service time. [`Timer`] is a dedicated thread that sleeps on a
//! condition variable until the earliest deadline (the kernel's high-resolution timers,
//! some tens of microseconds late) and wakes the waiting task through a oneshot channel.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prodsim_kernel::SimTime;
use tokio::sync::oneshot;

/// Wall time mapped to scenario time: `sim_ns = wall_ns / time_scale`.
#[derive(Clone, Copy, Debug)]
pub struct LiveClock {
    origin: Instant,
    time_scale: f64,
}

impl LiveClock {
    /// A clock whose scenario time zero is now; one scenario second lasts `time_scale`
    /// wall seconds.
    pub fn start(time_scale: f64) -> LiveClock {
        LiveClock::starting_in(Duration::ZERO, time_scale)
    }

    /// A clock whose scenario time zero is `lead` from now (scenario time reads zero until
    /// then).
    pub fn starting_in(lead: Duration, time_scale: f64) -> LiveClock {
        LiveClock { origin: Instant::now() + lead, time_scale }
    }

    /// The scenario time now.
    pub fn now(&self) -> SimTime {
        self.to_sim(Instant::now())
    }

    /// The scenario time of the wall instant `at` (zero before the start).
    pub fn to_sim(&self, at: Instant) -> SimTime {
        let wall_ns = at.saturating_duration_since(self.origin).as_nanos() as f64;
        SimTime((wall_ns / self.time_scale).round() as u64)
    }

    /// The wall instant of scenario time `t`.
    pub fn to_wall(&self, t: SimTime) -> Instant {
        self.origin + self.wall_duration(t.as_nanos())
    }

    /// The wall duration of `sim_ns` scenario nanoseconds.
    pub fn wall_duration(&self, sim_ns: u64) -> Duration {
        Duration::from_nanos((sim_ns as f64 * self.time_scale).round() as u64)
    }

    /// Wall seconds per scenario second.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }
}

/// One pending deadline.
struct Entry {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The deadlines in order, and whether the timer is shutting down.
#[derive(Default)]
struct Pending {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    stopped: bool,
}

type Shared = Arc<(Mutex<Pending>, Condvar)>;

/// A precise timer on its own thread, shared by handles; [`Timer::stop`] ends the thread
/// (the run calls it when it ends).
#[derive(Clone)]
pub struct Timer {
    shared: Shared,
}

impl Timer {
    /// Starts the timer thread.
    pub fn start() -> std::io::Result<Timer> {
        let shared: Shared = Arc::default();
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new().name("prodsim-live-timer".into()).spawn(move || run(&thread_shared))?;
        Ok(Timer { shared })
    }

    /// Completes at the wall instant `at` (at once if it has passed, or if the timer was
    /// stopped).
    pub async fn sleep_until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        let (wake, woken) = oneshot::channel();
        {
            let (lock, signal) = &*self.shared;
            let mut p = lock.lock().unwrap_or_else(PoisonError::into_inner);
            if p.stopped {
                return;
            }
            p.seq += 1;
            let seq = p.seq;
            p.heap.push(Reverse(Entry { at, seq, wake }));
            signal.notify_one();
        }
        // An error means the timer stopped: the run is over, so waking now is right.
        let _ = woken.await;
    }

    /// Stops the thread; pending and later sleeps complete at once.
    pub fn stop(&self) {
        let (lock, signal) = &*self.shared;
        let mut p = lock.lock().unwrap_or_else(PoisonError::into_inner);
        p.stopped = true;
        p.heap.clear();
        signal.notify_one();
    }
}

/// The timer thread: wake every entry whose time has come, sleep until the next one.
fn run(shared: &Shared) {
    let (lock, signal) = &**shared;
    let mut p = lock.lock().unwrap_or_else(PoisonError::into_inner);
    while !p.stopped {
        let now = Instant::now();
        while p.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = p.heap.pop() {
                // A dropped receiver was a cancelled sleep: nothing to wake.
                let _ = e.wake.send(());
            }
        }
        p = match p.heap.peek().map(|Reverse(e)| e.at) {
            Some(at) => signal.wait_timeout(p, at - now).unwrap_or_else(PoisonError::into_inner).0,
            None => signal.wait(p).unwrap_or_else(PoisonError::into_inner),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_time_is_wall_time_over_the_scale() {
        let c = LiveClock::start(0.01);
        assert_eq!(c.to_sim(c.to_wall(SimTime(5_000_000_000))), SimTime(5_000_000_000));
        assert_eq!(c.wall_duration(1_000_000_000), Duration::from_millis(10));
        assert_eq!(c.to_sim(c.origin - Duration::from_secs(1)), SimTime::ZERO);
    }

    #[tokio::test]
    async fn sleeps_end_in_deadline_order_and_stop_releases_them() {
        let timer = Timer::start().expect("timer thread");
        let start = Instant::now();
        let late = timer.sleep_until(start + Duration::from_millis(4));
        let early = timer.sleep_until(start + Duration::from_millis(2));
        tokio::join!(late, early);
        assert!(start.elapsed() >= Duration::from_millis(4));
        timer.stop();
        // After stop, a sleep far in the future completes at once.
        timer.sleep_until(Instant::now() + Duration::from_secs(3600)).await;
    }
}
