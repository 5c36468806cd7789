//! The keyed draws of a run, by purpose: common random numbers by construction.
//!
//! Every random choice about one request (its class, its region, its client, its network
//! round trips, the version it runs) is drawn from that purpose's stream keyed by the
//! request's key; every choice about one task (its work at each step, its error coins,
//! the database row it touches) by the task's key; a retry's jitter by its call's key. A
//! request's key is its workload's `n`-th key (`Purpose::Requests`, the workload's name);
//! a call's key is derived from its caller's key and its place in the caller's program;
//! an attempt's from its call's key and its number; a hedged copy's from its attempt's.
//! So the same request makes the same draws whatever the balancer did, however many
//! servers there are, whatever a fault did to another component. Sequential streams (a
//! workload's arrival times, a strategy's own choices, the pipeline, the rotation) come
//! from [`prodsim_kernel::Streams::rng`].

use prodsim_kernel::{Keyed, Purpose, Streams, mix};

/// Part tags of derived keys (so that a call, an attempt and a hedged copy of the same
/// item never share a key).
const CALL: u64 = 1 << 60;
const ATTEMPT: u64 = 2 << 60;
const HEDGE: u64 = 3 << 60;
const ASYNC: u64 = 4 << 60;
const DEFERRED: u64 = 5 << 60;
const FALLBACK: u64 = 6 << 60;

/// The keyed draws of every purpose of one run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys {
    /// A request's class.
    pub class: Keyed,
    /// A request's users' region.
    pub region: Keyed,
    /// A request's client, whether it is malicious, an attack's class.
    pub clients: Keyed,
    /// A request's session key (consistent hashing).
    pub session: Keyed,
    /// A request's network round trips.
    pub network: Keyed,
    /// A task's work, per step.
    pub work: Keyed,
    /// A task's base error coin.
    pub errors: Keyed,
    /// A task's error coin under an `error_rate` fault.
    pub fault_errors: Keyed,
    /// An attempt's added latency under an `added_latency` fault.
    pub fault_latency: Keyed,
    /// A query's row.
    pub rows: Keyed,
    /// A retry's jitter.
    pub jitter: Keyed,
    /// A closed workload user's think time.
    pub think: Keyed,
    /// The proxy's CPU for a request.
    pub proxy_cpu: Keyed,
    /// The proxy's decisions for a request.
    pub proxy_decisions: Keyed,
    /// The version a request runs and its effects.
    pub versions: Keyed,
    /// Whether a login attempt succeeds.
    pub auth: Keyed,
}

impl Keys {
    /// The keyed draws of a run's `streams`.
    pub fn new(streams: &Streams) -> Keys {
        let k = |p| streams.keyed(p, "");
        Keys {
            class: k(Purpose::Class),
            region: k(Purpose::Region),
            clients: k(Purpose::Clients),
            session: k(Purpose::Session),
            network: k(Purpose::Network),
            work: k(Purpose::Work),
            errors: k(Purpose::Errors),
            fault_errors: k(Purpose::FaultErrors),
            fault_latency: k(Purpose::FaultLatency),
            rows: k(Purpose::Rows),
            jitter: k(Purpose::Jitter),
            think: k(Purpose::Think),
            proxy_cpu: k(Purpose::ProxyCpu),
            proxy_decisions: k(Purpose::ProxyDecisions),
            versions: k(Purpose::Versions),
            auth: k(Purpose::Auth),
        }
    }
}

/// The key of the call a task makes at step `step` (the `index`-th of a parallel step).
#[inline]
pub(crate) fn call_key(task: u64, step: u16, index: usize) -> u64 {
    mix(task, CALL | (u64::from(step) << 16) | index as u64)
}

/// The key of the message a task sends at step `step`.
#[inline]
pub(crate) fn async_key(task: u64, step: u16) -> u64 {
    mix(task, ASYNC | u64::from(step))
}

/// The key of attempt `attempt` (1 for the first) of a call.
#[inline]
pub(crate) fn attempt_key(call: u64, attempt: u32) -> u64 {
    mix(call, ATTEMPT | u64::from(attempt))
}

/// The key of the hedged copy of an attempt.
#[inline]
pub(crate) fn hedge_key(attempt: u64) -> u64 {
    mix(attempt, HEDGE)
}

/// The key of the `tries`-th call a retry-queue consumer makes for a deferred payment of
/// the request keyed `request`.
#[inline]
pub(crate) fn deferred_key(request: u64, tries: u32) -> u64 {
    mix(request, DEFERRED | u64::from(tries))
}

/// The key of a call once it falls back to its `fallback` service: its attempts there
/// draw apart from the primary's (a primary's error coin is not the fallback's).
#[inline]
pub(crate) fn fallback_key(call: u64) -> u64 {
    mix(call, FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_distinct() {
        let t = 12345;
        let keys = [
            call_key(t, 0, 0),
            call_key(t, 0, 1),
            call_key(t, 1, 0),
            async_key(t, 0),
            attempt_key(t, 1),
            attempt_key(t, 2),
            hedge_key(t),
            deferred_key(t, 0),
            fallback_key(t),
            t,
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
