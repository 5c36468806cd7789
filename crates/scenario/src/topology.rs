//! The architecture of a scenario, resolved: request classes with their call graphs,
//! services and third-party APIs, the database, the retry queue.
//!
//! Every scenario has one: a file with only `[servers]` is a topology with one class,
//! `default`, whose program is one work step; all of them run on the one engine
//! (`prodsim_model`).

use prodsim_kernel::Dist;

/// Index of a service in [`Topology::services`].
pub type ServiceId = u16;

/// The architecture of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// Request classes, in file order; each request picks one by weight.
    pub classes: Vec<RequestClass>,
    /// Internal services, third-party APIs and object storage, sorted by name.
    pub services: Vec<ServiceSpec>,
    /// The database, if any.
    pub database: Option<DatabaseSpec>,
    /// The durable retry queue for deferred payments, if any.
    pub retry_queue: Option<RetryQueueSpec>,
    /// The job that settles payments whose answer was lost (`[reconciliation]`), if any.
    pub reconciliation: Option<super::recovery::ReconciliationSpec>,
    /// Scheduled database backups (`[backups]`), if any.
    pub backups: Option<super::recovery::BackupSpec>,
    /// How long a crashed app server takes to come back (its supervisor's restart delay).
    pub restart_ns: u64,
    /// Memory of an app server: baseline and the limit at which it is killed.
    pub memory: MemorySpec,
    /// Price of one app server per hour.
    pub price_per_server_hour: f64,
    /// Regions, with the app servers placed in them; `None` without `[[regions]]`.
    pub network: Option<Network>,
    /// Who sends each workload's requests, one entry per `[[workload]]`.
    pub clients: Vec<ClientSpec>,
    /// Clients, the reverse proxy and response sizes.
    pub edge: super::proxy::EdgeSpec,
    /// How the app server pool changes during the run (`[autoscaling]`, `[[actions]]`);
    /// `None` for a fixed pool.
    pub scaling: Option<super::scaling::ScalingSpec>,
    /// Scraping, rules, routing and the SLO (`[monitoring]`, `[[alerts]]`, `[[rules]]`,
    /// `[routing]`, `[slo]`); `None` when the scenario has none of them.
    pub monitoring: Option<super::monitoring::MonitoringSpec>,
    /// Structured logs and their shipping (`[logging]`); `None` without it.
    pub logging: Option<super::monitoring::LoggingSpec>,
    /// Releases and incident response (`[pipeline]`, `[[deploys]]`, `[oncall]`,
    /// `[[playbooks]]`); `None` when the scenario has none of them.
    pub delivery: Option<super::delivery::DeliverySpec>,
}

impl Topology {
    /// Whether any call of a class or a service names a `fallback`.
    pub fn has_fallback(&self) -> bool {
        fn any(steps: &[Step]) -> bool {
            steps.iter().any(|s| match s {
                Step::Call(c) => c.fallback.is_some(),
                Step::Parallel(cs) => cs.iter().any(|c| c.fallback.is_some()),
                Step::Work(_) | Step::Async(_) => false,
            })
        }
        self.classes.iter().any(|c| any(&c.steps)) || self.services.iter().any(|s| any(&s.steps))
    }

    /// A cycle in the services' call graphs (including async messages), as service
    /// indices from a service back to itself, if there is one. A cycle would make every
    /// request call without end, so scenarios with one are refused.
    pub fn call_cycle(&self) -> Option<Vec<usize>> {
        let callees = |s: &ServiceSpec| -> Vec<usize> {
            let mut out = Vec::new();
            for step in &s.steps {
                match step {
                    Step::Call(c) => out.extend(c.callees()),
                    Step::Parallel(cs) => out.extend(cs.iter().flat_map(CallSpec::callees)),
                    Step::Async(t) => out.extend(t.service()),
                    Step::Work(_) => {}
                }
            }
            out
        };
        let graph: Vec<Vec<usize>> = self.services.iter().map(callees).collect();
        // Depth-first search with colours: 0 unvisited, 1 on the path, 2 done.
        let mut colour = vec![0u8; graph.len()];
        let mut path = Vec::new();
        fn visit(v: usize, graph: &[Vec<usize>], colour: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
            colour[v] = 1;
            path.push(v);
            for &w in &graph[v] {
                if w >= graph.len() {
                    continue;
                }
                if colour[w] == 1 {
                    let start = path.iter().position(|&x| x == w).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(w);
                    return Some(cycle);
                }
                if colour[w] == 0 {
                    if let Some(c) = visit(w, graph, colour, path) {
                        return Some(c);
                    }
                }
            }
            path.pop();
            colour[v] = 2;
            None
        }
        (0..graph.len()).find_map(|v| if colour[v] == 0 { visit(v, &graph, &mut colour, &mut path) } else { None })
    }
}

/// Regions and the network between users and app servers.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The regions, in file order.
    pub regions: Vec<RegionSpec>,
    /// The region of each app server (servers are placed region by region, in file order).
    pub server_region: Vec<u16>,
    /// Extra round trip in nanoseconds when users of region `c` (outer index) are served
    /// by region `r` (inner index); 0 on the diagonal.
    pub cross_rtt_ns: Vec<Vec<u64>>,
}

/// One region.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSpec {
    /// Name, e.g. `eu-west`.
    pub name: String,
    /// Relative share of the users.
    pub share: f64,
    /// Number of app servers in the region.
    pub servers: u32,
    /// Index of its first app server.
    pub first_server: u32,
    /// Round trip of its users to its own servers.
    pub rtt: Dist,
    /// Probability that a request's exchange loses a packet; each loss costs a
    /// retransmission timeout.
    pub loss: f64,
}

/// Who sends a workload's requests.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ClientSpec {
    /// The users' region; `None` spreads them over the regions by share.
    pub region: Option<u16>,
    /// A closed loop of users instead of open arrivals.
    pub closed: Option<ClosedLoop>,
}

/// A closed workload: a fixed population of users, each with at most one request in
/// flight, thinking between an answer and their next request.
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedLoop {
    /// Number of users.
    pub users: u32,
    /// Think time between an answer and the next request.
    pub think_time: Dist,
}

/// An app server's memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemorySpec {
    /// Resident memory of a fresh process, in MiB.
    pub base_mb: f64,
    /// The out-of-memory limit, in MiB; above it the process is killed and restarted.
    pub limit_mb: f64,
}

/// A named kind of request with its share of traffic and its call graph.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestClass {
    /// Name (`browse`, `checkout`…), used in reports as `classes.<name>`.
    pub name: String,
    /// Relative weight among classes.
    pub weight: f64,
    /// What an app server does for it, in order.
    pub steps: Vec<Step>,
    /// The service whose successful call charges this request's payment, if the class is a
    /// payment (each request is then one payment on the ledger).
    pub payment: Option<ServiceId>,
    /// What one successful request of this class earns (`revenue`, default 0): the price
    /// of a checkout, for the lost revenue of incidents.
    pub revenue: f64,
    /// Bytes of one request (`request_bytes`, default [`DEFAULT_REQUEST_BYTES`]): what an
    /// app server receives for it (`node_network_receive_bytes_total`).
    pub request_bytes: u64,
    /// Bytes of one successful response (`response_bytes`, default 20000): what an app
    /// server sends for it (`node_network_transmit_bytes_total`).
    pub response_bytes: u64,
    /// Each successful request of this class is a signup (`signups_total`).
    pub signup: bool,
    /// `Some(ratio)` when each request of this class is a login attempt (`login = true`):
    /// the share of legitimate users' attempts that fail (`login_failure_ratio`, default
    /// [`DEFAULT_LOGIN_FAILURE_RATIO`]).
    pub login: Option<f64>,
}

/// Default `login_failure_ratio` of a login class: legitimate users mistype 2% of the time.
pub const DEFAULT_LOGIN_FAILURE_RATIO: f64 = 0.02;

/// Default `request_bytes` of a request class.
pub const DEFAULT_REQUEST_BYTES: u64 = 1_000;

/// One step of a call graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Work on the worker that runs the graph (CPU), held for a sampled time.
    Work(Dist),
    /// One synchronous call; the worker waits for it.
    Call(CallSpec),
    /// Several synchronous calls at once; the worker waits for all of them.
    Parallel(Vec<CallSpec>),
    /// A fire-and-forget message to a service's queue; the graph goes on at once.
    Async(Target),
}

/// What a call goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A service, third-party API or the object storage.
    Service(ServiceId),
    /// A read query, served by a replica (or the primary when there is none).
    DbRead,
    /// A write query, served by the primary.
    DbWrite,
}

impl Target {
    /// The service's index, for a service target.
    pub fn service(self) -> Option<usize> {
        match self {
            Target::Service(id) => Some(usize::from(id)),
            _ => None,
        }
    }
}

/// What happens when a call has failed for good (after its retries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The request fails (an error to the user).
    Fail,
    /// The request goes on without it and succeeds, degraded.
    Degrade,
    /// The request fails fast with a friendly error ("we could not take your payment
    /// now; we will retry it and email you"), and its payment goes on the durable retry
    /// queue, which retries it until the dependency recovers. The user sees an error; the
    /// payment is safe.
    RetryQueue,
    /// Like `RetryQueue`, but the request answers "accepted, payment pending": the user
    /// sees a success and the payment completes later.
    AcceptAndQueue,
}

/// A call with its resilience policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallSpec {
    /// Where it goes.
    pub target: Target,
    /// Give up waiting after this long; `None` waits for the answer however long it takes.
    pub timeout_ns: Option<u64>,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Delay before the first retry; doubles each retry up to `backoff_max_ns`.
    pub backoff_ns: u64,
    /// Longest delay between retries.
    pub backoff_max_ns: u64,
    /// Whether the backoff is randomised (full jitter).
    pub jitter: bool,
    /// Send a second copy if the first has not answered after this long.
    pub hedge_after_ns: Option<u64>,
    /// What a final failure does.
    pub on_failure: OnFailure,
    /// Whether the call carries an idempotency key, so that the provider never does the
    /// same work twice.
    pub idempotent: bool,
    /// The service called instead when every attempt failed for certain or the target's
    /// breaker is open (`fallback`, e.g. a backup payment processor). A charge whose answer
    /// was lost (a timeout) never falls back: the first provider may have taken it.
    pub fallback: Option<ServiceId>,
}

impl CallSpec {
    /// The services this call may reach: its target and its fallback.
    pub fn callees(&self) -> impl Iterator<Item = usize> {
        self.target.service().into_iter().chain(self.fallback.map(usize::from))
    }
}

/// The kind of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// Our own service: instances with workers and queues, its own call graph.
    Internal,
    /// Someone else's API: no queue we can see, maybe a rate limit, priced per call.
    ThirdParty,
    /// Object storage.
    Storage,
}

impl ServiceKind {
    /// The name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Internal => "internal",
            ServiceKind::ThirdParty => "third_party",
            ServiceKind::Storage => "storage",
        }
    }
}

/// Circuit breaker settings of a service (every caller shares one breaker per service).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSpec {
    /// Failure share in the window at which it opens.
    pub failure_ratio: f64,
    /// Fewest calls in the window before it may open.
    pub min_calls: u32,
    /// Width of the rolling window.
    pub window_ns: u64,
    /// How long it stays open before letting probes through.
    pub open_for_ns: u64,
}

/// Retry budget of a service: retries may be at most `ratio` of first attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryBudgetSpec {
    /// Retries allowed per first attempt.
    pub ratio: f64,
    /// Retries always allowed per second.
    pub min_per_s: f64,
}

/// A service, third-party API or the object storage.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    /// Name, as calls and faults refer to it.
    pub name: String,
    /// Internal, third party or storage.
    pub kind: ServiceKind,
    /// Instances.
    pub instances: u32,
    /// Concurrent requests per instance; `None` is unlimited.
    pub workers: Option<u32>,
    /// Waiting room per instance; `None` is unbounded. Calls beyond it are refused.
    pub queue_capacity: Option<u32>,
    /// Time one call takes on a worker (for internal services, before its own calls).
    pub latency: Dist,
    /// Share of calls that fail even when all is well.
    pub error_rate: f64,
    /// Calls per second the API accepts (third party); more are refused (HTTP 429).
    pub rate_limit: Option<f64>,
    /// The service's own call graph after `latency` (internal services).
    pub steps: Vec<Step>,
    /// Circuit breaker, if callers use one.
    pub breaker: Option<BreakerSpec>,
    /// Retry budget, if callers use one.
    pub retry_budget: Option<RetryBudgetSpec>,
    /// Price per instance-hour.
    pub price_per_hour: f64,
    /// Price per call (third-party APIs).
    pub price_per_call: f64,
}

/// `[database]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct DatabaseSpec {
    /// Read replicas.
    pub replicas: u32,
    /// Queries each database instance runs at once.
    pub connections: u32,
    /// Connections in each app server's pool.
    pub pool: u32,
    /// How long a query waits for a pool connection before failing.
    pub pool_timeout_ns: u64,
    /// Time of a read query.
    pub read_time: Dist,
    /// Time of a write query.
    pub write_time: Dist,
    /// How far replicas lag behind the primary.
    pub replication_lag_ns: u64,
    /// Rows that reads and writes touch (uniformly), for counting stale reads.
    pub keys: u32,
    /// Time from a primary crash to a replica taking over (or the primary restarting).
    pub failover_ns: u64,
    /// Price per database instance-hour.
    pub price_per_hour: f64,
    /// Size of each instance's data volume (`disk_bytes`).
    pub disk_bytes: u64,
    /// Data on the volume at the start (`data_bytes`).
    pub data_bytes: u64,
    /// Bytes each committed write adds (`bytes_per_write`).
    pub bytes_per_write: u64,
    /// Queries longer than this are logged as slow (`slow_query`), as PostgreSQL's
    /// `log_min_duration_statement` does; `None`: no slow-query log.
    pub slow_query_ns: Option<u64>,
}

/// `[retry_queue]`, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryQueueSpec {
    /// Workers that drain it.
    pub consumers: u32,
    /// Most items it holds; a payment that finds it full fails visibly.
    pub capacity: u32,
    /// Whether it survives an app server crash (a real queue), or lives in the app
    /// server's memory and dies with it.
    pub durable: bool,
    /// How long a consumer waits after a failed attempt.
    pub retry_interval_ns: u64,
}
