//! The database connection pool of each app server: a call takes a connection or waits
//! for one, gives up after the pool timeout, and hands its connection to the next live
//! waiter when it is done.

use prodsim_kernel::{EventQueue, SimTime};

use super::Waiter;
use crate::engine::Engine;
use crate::event::{CallEvent, Event};

impl Engine {
    /// Call `c`'s attempt takes a connection of its server's pool; false when it has to
    /// wait for one (a pool timeout is then scheduled).
    pub(crate) fn take_connection(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) -> bool {
        let Some(db) = self.db.as_mut() else { return true };
        let (server, seq) = (self.calls[c].server as usize, self.calls[c].seq);
        let pool = &mut db.pools[server];
        if pool.exhausted() {
            pool.waiters.push_back(Waiter { call: c, seq });
            self.calls[c].waiting_connection = true;
            queue.schedule(now.after(db.spec.pool_timeout_ns), Event::Call(CallEvent::PoolTimeout { call: c, seq }));
            return false;
        }
        pool.in_use += 1;
        self.calls[c].holds_connection = true;
        true
    }

    /// Call `c`'s attempt `seq` gave up waiting for a connection.
    pub(crate) fn on_pool_timeout(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if !self.calls.current(c, seq) || !call.waiting_connection {
            return;
        }
        self.calls[c].waiting_connection = false;
        if let Some(db) = self.db.as_mut() {
            db.stats.pool_timeouts += 1;
            db.pools[call.server as usize].waiters.retain(|w| w.call != c);
        }
        self.on_attempt_failed(now, c, seq, false, queue);
    }

    /// Gives call `c`'s pool connection back; the next live waiter gets it.
    pub(crate) fn release_connection(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        let Some(db) = self.db.as_mut() else { return };
        if call.waiting_connection {
            db.pools[call.server as usize].waiters.retain(|w| w.call != c);
            self.calls[c].waiting_connection = false;
            return;
        }
        if !call.holds_connection {
            return;
        }
        self.calls[c].holds_connection = false;
        let pool = &mut db.pools[call.server as usize];
        pool.in_use = pool.in_use.saturating_sub(1);
        self.grant_connections(now, call.server as usize, queue);
    }

    /// Hands free connections of server `server`'s pool to waiting calls.
    pub(crate) fn grant_connections(&mut self, now: SimTime, server: usize, queue: &mut EventQueue<Event>) {
        loop {
            let Some(db) = self.db.as_mut() else { return };
            let pool = &mut db.pools[server];
            if pool.exhausted() {
                return;
            }
            let Some(w) = pool.waiters.pop_front() else { return };
            if !self.calls.current(w.call, w.seq) || !self.calls[w.call].waiting_connection {
                continue;
            }
            pool.in_use += 1;
            self.calls[w.call].waiting_connection = false;
            self.calls[w.call].holds_connection = true;
            self.dispatch(now, w.call, queue);
        }
    }
}
