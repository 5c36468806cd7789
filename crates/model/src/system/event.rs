//! Every event of the multi-tier model: arrivals and work, calls and their timers, the
//! retry queue, faults, the app server pool, monitoring, logs, releases and responders.

/// Every event of the multi-tier model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// Workload `workload` sends a request now.
    Arrival {
        /// Index of the workload.
        workload: u32,
    },
    /// A task's work step ends.
    WorkDone {
        /// The task.
        task: u32,
        /// Its generation when the work started.
        seq: u32,
    },
    /// An attempt failed without reaching a worker (refused, dropped connection).
    CallFailed {
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
    /// Fault `fault` starts.
    FaultStart {
        /// Index of the fault.
        fault: u32,
    },
    /// Fault `fault` ends.
    FaultEnd {
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
    /// The balancer probes every app server.
    HealthProbe,
    /// Ejected app servers whose ejection time is over return (checked every second).
    EjectionEnds,
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
    /// Prometheus scrapes every target.
    Scrape,
    /// Prometheus evaluates the rules.
    Evaluate,
    /// An Alertmanager group may be due to notify.
    Notify,
    /// Instances ship their log buffers.
    LogFlush,
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
