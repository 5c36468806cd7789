//! The database: which instance is the primary and which are replicas, where each query
//! goes, the rows it touches (for stale reads under replication lag), what faults do to
//! it (lag, slow queries, a primary's crash and the failover), and each app server's
//! connection pool ([`pool`]).

pub(crate) mod pool;

use std::collections::VecDeque;

use prodsim_kernel::{Draws, SimTime};
use prodsim_scenario::topology::{DatabaseSpec, Target};

use crate::outcome::DatabaseOutcome;

/// A call waiting for a connection: the call and its attempt's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Waiter {
    /// The call.
    pub call: u32,
    /// The attempt's generation.
    pub seq: u32,
}

/// A database connection pool of one app server.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pool {
    /// Connections.
    pub size: u32,
    /// Connections held by calls.
    pub in_use: u32,
    /// Connections a `connection_leak` fault took.
    pub leaked: u32,
    /// Calls waiting for a connection, in arrival order.
    pub waiters: VecDeque<Waiter>,
}

impl Pool {
    /// Whether every connection is taken.
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.in_use + self.leaked >= self.size
    }

    /// The server's process died or stopped: its connections and waiters are gone.
    pub fn empty(&mut self) {
        self.in_use = 0;
        self.leaked = 0;
        self.waiters.clear();
    }
}

/// How a failover ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failover {
    /// A replica is the primary now.
    Replica,
    /// There was no replica: this instance, the old primary, restarts.
    SamePrimary(u32),
}

/// Where a query goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The instance (the primary, or a replica for a read).
    pub instance: u32,
    /// The program it runs (a read or a write).
    pub program: u16,
    /// The row it touches.
    pub row: u32,
}

/// The database's role assignment and state.
pub(crate) struct Database {
    /// Its configuration.
    pub spec: DatabaseSpec,
    /// Its station.
    pub station: u16,
    /// The primary's instance.
    pub primary: u32,
    /// The replicas' instances.
    pub replicas: Vec<u32>,
    /// The next replica a read goes to, round robin.
    pub read_cursor: u32,
    /// Last write time of each row (ns + 1; 0 = never written).
    pub last_write: Vec<u64>,
    /// The replicas' lag behind the primary now.
    pub lag_ns: u64,
    /// Each app server's pool.
    pub pools: Vec<Pool>,
    /// The primary crashed and a failover is under way.
    pub failover_pending: bool,
    /// The program of a read query.
    pub read_program: u16,
    /// The program of a write query.
    pub write_program: u16,
    /// What it did.
    pub stats: DatabaseOutcome,
}

impl Database {
    /// The database of `spec` as station `station`, with a pool for each of `servers` app
    /// servers; its queries run programs `read_program` and `read_program + 1`.
    pub fn new(spec: &DatabaseSpec, station: u16, servers: usize, read_program: u16) -> Database {
        Database {
            spec: spec.clone(),
            station,
            primary: 0,
            replicas: (1..=spec.replicas).collect(),
            read_cursor: 0,
            last_write: vec![0; spec.keys as usize],
            lag_ns: spec.replication_lag_ns,
            pools: (0..servers).map(|_| Pool { size: spec.pool, ..Pool::default() }).collect(),
            failover_pending: false,
            read_program,
            write_program: read_program + 1,
            stats: DatabaseOutcome {
                max_replication_lag_ns: spec.replication_lag_ns,
                data_bytes: spec.data_bytes,
                disk_bytes: spec.disk_bytes,
                ..DatabaseOutcome::default()
            },
        }
    }

    /// Where a query to `target` goes: reads round robin over the replicas (the primary
    /// without any), writes to the primary; the row from `rows`.
    #[inline]
    pub fn route(&mut self, target: Target, rows: &mut Draws) -> Route {
        let row = rows.below(u64::from(self.spec.keys)) as u32;
        let read = target == Target::DbRead;
        let instance = if read && !self.replicas.is_empty() {
            let i = self.replicas[(self.read_cursor as usize) % self.replicas.len()];
            self.read_cursor = self.read_cursor.wrapping_add(1);
            i
        } else {
            self.primary
        };
        Route { instance, program: if read { self.read_program } else { self.write_program }, row }
    }

    /// A query of `program` on `instance` touching `row` finished at `now`: a write
    /// stamps the row; a replica's read of a row written within the lag is stale. Whether
    /// it was a write.
    pub fn query_done(&mut self, now: SimTime, program: u16, instance: u32, row: u32) -> bool {
        let row = row as usize;
        if program == self.write_program {
            self.last_write[row] = now.as_nanos() + 1;
            self.stats.data_bytes =
                self.stats.data_bytes.saturating_add(self.spec.bytes_per_write).min(self.spec.disk_bytes);
            return true;
        } else if instance != self.primary {
            self.stats.replica_reads += 1;
            let written = self.last_write[row];
            if written > 0 && now.as_nanos() + 1 - written < self.lag_ns {
                self.stats.stale_reads += 1;
            }
        }
        false
    }

    /// Whether a write of `program` fails now because the primary's volume has no room for
    /// it (PostgreSQL's `could not extend file ... No space left on device`).
    #[inline]
    pub fn refuses_write(&self, program: u16) -> bool {
        program == self.write_program && self.spec.disk_bytes - self.stats.data_bytes < self.spec.bytes_per_write
    }

    /// A query of `program` took `latency_ns`: whether it is a slow one the database logs.
    #[inline]
    pub fn slow(&mut self, latency_ns: u64) -> bool {
        let slow = self.spec.slow_query_ns.is_some_and(|s| latency_ns > s);
        self.stats.slow_queries += u64::from(slow);
        slow
    }

    /// The replicas' lag now that the faults in force say `lag_ns` (slow queries are the
    /// station's work factor).
    pub fn set_lag(&mut self, lag_ns: u64) {
        self.lag_ns = lag_ns;
        self.stats.max_replication_lag_ns = self.stats.max_replication_lag_ns.max(lag_ns);
    }

    /// A pending failover completes: a replica becomes the primary, or, without one, the
    /// crashed primary's instance comes back (which the caller brings up). `None` when no
    /// failover was pending (a responder promoted a replica already).
    pub fn promote(&mut self) -> Option<Failover> {
        if !self.failover_pending {
            return None;
        }
        self.failover_pending = false;
        self.stats.failovers += 1;
        if self.replicas.is_empty() {
            return Some(Failover::SamePrimary(self.primary));
        }
        self.primary = self.replicas.remove(0);
        Some(Failover::Replica)
    }
}
