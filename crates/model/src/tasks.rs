//! The records of work in flight: tasks (a program running on a station's instance) and
//! calls (a caller waiting on another station), kept in slabs with free lists, so memory
//! follows the work in flight and a finished record's slot is reused.

use prodsim_kernel::SimTime;
use prodsim_scenario::topology::{CallSpec, OnFailure, Target};

/// No task, call or payment.
pub const NONE: u32 = u32::MAX;

/// Marks a call's caller as a retry-queue consumer rather than a task.
pub const CONSUMER: u32 = 1 << 31;

/// A program running (or waiting to run) on one instance of a station.
#[derive(Clone, Copy, Debug)]
pub struct Task {
    /// Bumped when the slot is freed, so events and replies for a finished task are stale.
    pub seq: u32,
    /// Whether the slot holds a live task.
    pub live: bool,
    /// Whether it holds a worker (rather than waiting in the queue).
    pub running: bool,
    /// Station and instance it runs on.
    pub station: u16,
    /// Instance within the station.
    pub instance: u32,
    /// Program and the step it is at.
    pub program: u16,
    /// Index of the current step.
    pub step: u16,
    /// Calls of the current step still outstanding.
    pub pending: u16,
    /// A call failed for good: the task fails when its step's calls are done.
    pub failed: bool,
    /// A call failed and was degraded around.
    pub degraded: bool,
    /// The task's payment went to the retry queue.
    pub deferred: bool,
    /// Request class (root tasks; children inherit it).
    pub class: u16,
    /// When the request arrived (root) or the call was made (child).
    pub arrived: SimTime,
    /// The call this task answers, and that call's attempt generation; `NONE` for a root
    /// task or a fire-and-forget message.
    pub parent_call: u32,
    /// The attempt generation of `parent_call` this task answers.
    pub parent_gen: u32,
    /// The payment on the ledger (root of a payment class), or `NONE`.
    pub payment: u32,
    /// This task is a charge at the payment provider for `payment`.
    pub charge: bool,
    /// The charge carries an idempotency key.
    pub idempotent: bool,
    /// Database row the query touches.
    pub row: u32,
    /// The key of its draws (its request's key for a root task, its attempt's for a call,
    /// see `crate::streams`).
    pub key: u64,
    /// Extra time added to the first work step (an `added_latency` fault).
    pub extra_ns: u64,
    /// Root tasks: time on the network between the user and the app server (both ways).
    pub net_ns: u64,
    /// Root tasks: the workload that sent it.
    pub workload: u16,
    /// Root tasks: the users' region.
    pub region: u16,
    /// The request is malicious (counted apart from users' requests).
    pub malicious: bool,
    /// Root tasks at the proxy: the client that sent it (the rate limiter's key).
    pub client: u32,
    /// Root tasks of a cacheable class that missed the proxy's cache: the key to store
    /// the response under, or `NONE`.
    pub cache_key: u32,
    /// The user request it serves (its number in arrival order at the app servers; calls
    /// inherit it), the `request_id` of its log lines; `NONE` for retry-queue work.
    pub request: u32,
    /// The version of the app's code this request runs (0 = the initial one).
    pub version: u16,
}

impl Default for Task {
    fn default() -> Self {
        Task {
            seq: 0,
            live: false,
            running: false,
            station: 0,
            instance: 0,
            program: 0,
            step: 0,
            pending: 0,
            failed: false,
            degraded: false,
            deferred: false,
            class: 0,
            arrived: SimTime::ZERO,
            parent_call: NONE,
            parent_gen: 0,
            payment: NONE,
            charge: false,
            idempotent: false,
            row: 0,
            key: 0,
            extra_ns: 0,
            net_ns: 0,
            workload: 0,
            region: 0,
            malicious: false,
            client: 0,
            cache_key: NONE,
            request: NONE,
            version: 0,
        }
    }
}

/// Where a user's request comes from: its workload and its users' region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// Index of the workload (or attack source) that sent it.
    pub workload: u16,
    /// The users' region (0 without `[[regions]]`).
    pub region: u16,
}

/// A call in progress: its caller waits for it.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// Bumped at every attempt and when the call ends; replies and timers carry it.
    pub seq: u32,
    /// Whether the slot holds a live call.
    pub live: bool,
    /// The waiting task, or `CONSUMER | k` for retry-queue consumer `k`.
    pub caller: u32,
    /// What it calls and how.
    pub spec: CallSpec,
    /// Attempts made so far (1 after the first).
    pub attempt: u32,
    /// Copies of the current attempt still out (2 while hedged).
    pub outstanding: u8,
    /// It holds a connection of its server's database pool.
    pub holds_connection: bool,
    /// It waits for a pool connection.
    pub waiting_connection: bool,
    /// The app server whose pool it uses.
    pub server: u32,
    /// Payment it charges, or `NONE`.
    pub payment: u32,
    /// Request class of the caller.
    pub class: u16,
    /// The key of its draws; its attempts' keys derive from it.
    pub key: u64,
    /// The current attempt was refused by the open circuit breaker (its failure is not
    /// news to the breaker).
    pub short_circuited: bool,
    /// It went to its spec's `fallback` (its target is the fallback now).
    pub fell_back: bool,
    /// A charge attempt timed out: the provider may have taken it, so it never falls back.
    pub in_doubt: bool,
}

/// A slab of records with a free list.
#[derive(Debug)]
pub struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T: Default + Copy> Slab<T> {
    /// An empty slab.
    pub fn new() -> Self {
        Slab { items: Vec::with_capacity(1024), free: Vec::with_capacity(1024) }
    }

    /// A free slot's index (its record keeps its old contents; the caller overwrites it).
    #[inline]
    pub fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(i) => i,
            None => {
                self.items.push(T::default());
                (self.items.len() - 1) as u32
            }
        }
    }

    /// Returns slot `i` to the free list.
    #[inline]
    pub fn release(&mut self, i: u32) {
        self.free.push(i);
    }

    /// Slots ever allocated (live or free).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.items.len()
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: u32) -> &T {
        &self.items[i as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, i: u32) -> &mut T {
        &mut self.items[i as usize]
    }
}

impl Default for Call {
    fn default() -> Self {
        Call {
            seq: 0,
            live: false,
            caller: NONE,
            spec: CallSpec {
                target: Target::DbRead,
                timeout_ns: None,
                retries: 0,
                backoff_ns: 0,
                backoff_max_ns: 0,
                jitter: false,
                hedge_after_ns: None,
                on_failure: OnFailure::Fail,
                idempotent: false,
                fallback: None,
            },
            attempt: 0,
            outstanding: 0,
            holds_connection: false,
            waiting_connection: false,
            server: 0,
            payment: NONE,
            class: 0,
            key: 0,
            short_circuited: false,
            fell_back: false,
            in_doubt: false,
        }
    }
}
