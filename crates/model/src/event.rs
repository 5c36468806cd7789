//! Every event of the engine: one closed enum of sub-enums, one per subsystem.
//!
//! The engine dispatches [`Event`] with one exhaustive match, and each subsystem's
//! handler matches its own sub-enum exhaustively: a new variant without a handler does not
//! compile. No arm catches "everything else".
//!
//! Events are small `Copy` values (16 bytes): indices into the subsystems' slabs and
//! tables, and the generation a stale event is recognised by.

/// Every event of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// Requests: arrivals and the end of work steps.
    Flow(FlowEvent),
    /// Calls and their timers: failed attempts, timeouts, backoffs, hedges, pool waits,
    /// the retry queue's consumers.
    Call(CallEvent),
    /// The balancer's view of its backends: health probes and ejections.
    Balancer(BalancerEvent),
    /// Faults and what they set in motion: windows, restarts, failovers, OOM kills, leaks.
    Fault(FaultEvent),
    /// The app server pool changing: autoscaler, operator actions, cold starts, drains.
    Scaling(ScalingEvent),
    /// What watches: scrapes, rule evaluations, notifications, log shipping.
    Monitoring(MonitoringEvent),
    /// Releases: pipelines, rollouts, health checks, rollbacks, crash loops.
    Delivery(DeliveryEvent),
    /// People: acknowledgements, investigations, playbook actions.
    Response(ResponseEvent),
}

/// Requests: arrivals and the end of work steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowEvent {
    /// Source `source` (a workload, or a `ddos` attack after them) sends a request now.
    Arrival {
        /// Index of the source.
        source: u32,
    },
    /// A task's work step ends.
    WorkDone {
        /// The task.
        task: u32,
        /// Its generation when the work started.
        seq: u32,
    },
}

/// Calls and their timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallEvent {
    /// An attempt failed without reaching a worker (refused, dropped connection).
    Failed {
        /// The call.
        call: u32,
        /// The attempt's generation.
        seq: u32,
    },
    /// The head of a timer list (call timeouts of one duration) expires.
    Timeouts {
        /// The list.
        list: u32,
    },
    /// A call's backoff ended: retry now.
    Retry {
        /// The call.
        call: u32,
        /// The generation the retry was scheduled under.
        seq: u32,
    },
    /// A call's hedge delay ended: send a second copy if it is still unanswered.
    Hedge {
        /// The call.
        call: u32,
        /// The attempt's generation.
        seq: u32,
    },
    /// A call gave up waiting for a database pool connection.
    PoolTimeout {
        /// The call.
        call: u32,
        /// The attempt's generation.
        seq: u32,
    },
    /// A retry-queue consumer looks for work.
    ConsumerWake {
        /// The consumer.
        consumer: u32,
    },
    /// The reconciliation job runs (`[reconciliation]`).
    Reconcile,
}

/// The balancer's view of its backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BalancerEvent {
    /// The balancer probes every app server.
    HealthProbe,
    /// Ejected app servers whose ejection time is over return (checked every second).
    EjectionEnds,
}

/// Faults and their consequences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultEvent {
    /// Fault `fault` starts.
    Start {
        /// Index of the fault.
        fault: u32,
    },
    /// Fault `fault` ends.
    End {
        /// Index of the fault.
        fault: u32,
    },
    /// A crashed app server's supervisor brings it back.
    Restart {
        /// The server.
        server: u32,
    },
    /// A replica takes over from the crashed primary.
    Failover,
    /// A restore from backup finished after a `data_loss`: the database serves again.
    Restored,
    /// An app server reaches its memory limit (if `epoch` is still current).
    OutOfMemory {
        /// The server.
        server: u32,
        /// The server's memory epoch when this was scheduled.
        epoch: u32,
    },
    /// A connection leak takes one more connection from each server it hits.
    LeakTick {
        /// The fault.
        fault: u32,
    },
}

/// The app server pool changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalingEvent {
    /// The autoscaler evaluates the app server pool.
    Autoscale,
    /// Operator action `index` of `[[actions]]` happens.
    Action {
        /// Index of the action.
        index: u32,
    },
    /// A provisioned app server finished its cold start (if `life` is still current).
    ServerReady {
        /// The server.
        server: u32,
        /// The server's provisioning generation when this was scheduled.
        life: u32,
    },
    /// Retiring app servers are checked: empty ones are deprovisioned.
    DrainCheck,
}

/// What watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MonitoringEvent {
    /// Prometheus scrapes every target.
    Scrape,
    /// Prometheus evaluates the rules.
    Evaluate,
    /// An Alertmanager group may be due to notify.
    Notify,
    /// Instances ship their log buffers.
    LogFlush,
}

/// Releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryEvent {
    /// A release's next step is due (if `seq` is still current).
    Release {
        /// The release.
        release: u32,
        /// Its generation when this was scheduled.
        seq: u32,
    },
    /// A crash-looping version crashes server `server` (if `epoch` is still current).
    VersionCrash {
        /// The server.
        server: u32,
        /// Its crash epoch when this was scheduled.
        epoch: u32,
    },
}

/// People.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseEvent {
    /// A responder acknowledges page `page`.
    Acknowledge {
        /// The page.
        page: u32,
    },
    /// The responder of page `page` has investigated and acts on its alerts.
    Respond {
        /// The page.
        page: u32,
    },
    /// An attempt at playbook action `action` ends.
    ActionDone {
        /// The action.
        action: u32,
    },
}

impl From<FlowEvent> for Event {
    #[inline(always)]
    fn from(e: FlowEvent) -> Event {
        Event::Flow(e)
    }
}

impl From<CallEvent> for Event {
    #[inline(always)]
    fn from(e: CallEvent) -> Event {
        Event::Call(e)
    }
}

impl From<BalancerEvent> for Event {
    fn from(e: BalancerEvent) -> Event {
        Event::Balancer(e)
    }
}

impl From<FaultEvent> for Event {
    fn from(e: FaultEvent) -> Event {
        Event::Fault(e)
    }
}

impl From<ScalingEvent> for Event {
    fn from(e: ScalingEvent) -> Event {
        Event::Scaling(e)
    }
}

impl From<MonitoringEvent> for Event {
    fn from(e: MonitoringEvent) -> Event {
        Event::Monitoring(e)
    }
}

impl From<DeliveryEvent> for Event {
    fn from(e: DeliveryEvent) -> Event {
        Event::Delivery(e)
    }
}

impl From<ResponseEvent> for Event {
    fn from(e: ResponseEvent) -> Event {
        Event::Response(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        // The queue stores (u128 key, event) entries of 32 bytes: an event up to 16 bytes
        // fits without growing them.
        assert!(std::mem::size_of::<Event>() <= 16, "{}", std::mem::size_of::<Event>());
    }
}
