//! The database connection pool of each app server: waiting for a connection, giving up
//! after the pool timeout, handing freed connections to the next live waiter.

use prodsim_kernel::{EventQueue, SimTime};

use super::{Event, System};

impl System {
    pub(super) fn on_pool_timeout(&mut self, now: SimTime, c: u32, seq: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        if !call.live || call.seq != seq || !call.waiting_connection {
            return;
        }
        self.calls[c].waiting_connection = false;
        if let Some(db) = self.db.as_mut() {
            db.stats.pool_timeouts += 1;
            let pool = &mut db.pools[call.server as usize];
            pool.waiters.retain(|&(w, _)| w != c);
        }
        self.on_attempt_failed(now, c, seq, false, queue);
    }

    /// Gives call `c`'s pool connection back; the next live waiter gets it.
    pub(super) fn release_connection(&mut self, now: SimTime, c: u32, queue: &mut EventQueue<Event>) {
        let call = self.calls[c];
        let Some(db) = self.db.as_mut() else { return };
        if call.waiting_connection {
            db.pools[call.server as usize].waiters.retain(|&(w, _)| w != c);
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
    pub(super) fn grant_connections(&mut self, now: SimTime, server: usize, queue: &mut EventQueue<Event>) {
        loop {
            let Some(db) = self.db.as_mut() else { return };
            let pool = &mut db.pools[server];
            if pool.in_use + pool.leaked >= pool.size {
                return;
            }
            let Some((w, g)) = pool.waiters.pop_front() else { return };
            let call = self.calls[w];
            if !call.live || call.seq != g || !call.waiting_connection {
                continue;
            }
            pool.in_use += 1;
            self.calls[w].waiting_connection = false;
            self.calls[w].holds_connection = true;
            self.dispatch(now, w, queue);
        }
    }
}
