//! Live mode: a scenario's architecture stood up as real HTTP services on tokio over
//! loopback (127.0.0.1, ports chosen by the OS), driven by the same components as the
//! simulation, so the simulation can be held against a real system.
//!
//! A run ([`run`]) checks the scenario ([`plan`]), starts the app servers ([`app`], the
//! simulation's `Server` deciding admission) and the balancer ([`proxy`], the simulation's
//! strategies), sends the workloads' requests ([`loadgen`], the simulation's arrival
//! process and keyed draws, open model with coordinated-omission correction), scrapes every
//! service's `/metrics` ([`metrics`]) at the end, and returns what it measured
//! ([`measure`]), which [`summary`] writes and [`compare`] holds against a simulation.
//! Time is the wall clock seen through [`clock::LiveClock`]: `--time-scale` speeds it up.
//!
//! The only crate with tokio, axum and hyper.

pub mod app;
pub mod clock;
pub mod compare;
mod error;
pub mod faults;
pub mod loadgen;
pub mod measure;
pub mod metrics;
pub mod plan;
pub mod proxy;
pub mod serve;
pub mod summary;
pub mod timeline;

use std::sync::Arc;
use std::time::Duration;

use prodsim_kernel::{Purpose, Streams};
use prodsim_parts::Setup;
use prodsim_scenario::Scenario;
use tokio::net::TcpListener;

pub use error::LiveError;
pub use measure::Measure;
pub use plan::Plan;

/// Wall time between the servers listening and scenario time zero, so the first arrivals
/// are not late.
const LEAD: Duration = Duration::from_millis(50);

/// Longest wall time the final scrapes wait for requests still in flight at the end.
const DRAIN: Duration = Duration::from_secs(2);

/// How a live run is driven.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Wall seconds per scenario second (`--time-scale`; 0.01 runs an hour in 36 s).
    pub time_scale: f64,
    /// Most requests per wall second to accept ([`plan::MAX_WALL_RPS`] unless a benchmark
    /// probes beyond it).
    pub max_wall_rps: f64,
}

impl Options {
    /// The options of `--time-scale F`, with the default limits.
    pub fn at_scale(time_scale: f64) -> Options {
        Options { time_scale, max_wall_rps: plan::MAX_WALL_RPS }
    }
}

/// One service's `/metrics`, scraped over HTTP at the end of the run.
#[derive(Clone, Debug)]
pub struct Scrape {
    /// The Prometheus job (`lb`, `app`).
    pub job: String,
    /// The instance (`lb-0`, `server-0`, ...).
    pub instance: String,
    /// Where it listened (`127.0.0.1:port`).
    pub address: String,
    /// The exposition text it answered (empty when the scrape failed).
    pub text: String,
}

/// What a live run measured.
#[derive(Clone, Debug)]
pub struct LiveOutcome {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of every stream.
    pub seed: u64,
    /// The time scale it ran at.
    pub time_scale: f64,
    /// Scenario time run, in nanoseconds.
    pub simulated_ns: u64,
    /// Warmup excluded from the measurements, in scenario nanoseconds.
    pub warmup_ns: u64,
    /// Class names, in class order.
    pub classes: Vec<String>,
    /// The load generator's measurements.
    pub measure: Measure,
    /// The scenario's faults, as applied.
    pub faults: Vec<prodsim_parts::faults::Fault>,
    /// Every service's last scrape.
    pub scrapes: Vec<Scrape>,
}

/// Runs `scenario` live and returns what was measured; refuses a scenario it cannot run
/// faithfully before anything listens.
pub fn run(scenario: &Scenario, options: Options) -> Result<LiveOutcome, LiveError> {
    let plan = Arc::new(Plan::of(scenario, options)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let timer = clock::Timer::start()?;
    let result = runtime.block_on(drive(scenario, Arc::clone(&plan), options, timer.clone()));
    timer.stop();
    // Handlers still holding a worker are cancelled: their requests were counted in flight.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Binds a listener on loopback with a port the OS picks and serves `router` on it.
async fn listen(router: axum::Router) -> Result<String, LiveError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(address)
}

/// Starts the services, sends the load, scrapes the services.
async fn drive(
    scenario: &Scenario,
    plan: Arc<Plan>,
    options: Options,
    timer: clock::Timer,
) -> Result<LiveOutcome, LiveError> {
    let clock = clock::LiveClock::starting_in(LEAD, options.time_scale);
    let streams = Streams::new(scenario.seed);
    let classes: Vec<String> = plan.classes.iter().map(|c| c.name.clone()).collect();
    let class_plans = Arc::new(plan.classes.clone());
    let mut scrapes = Vec::new();
    let mut backends = Vec::new();
    let mut apps = Vec::new();
    for i in 0..plan.servers {
        let app = app::App::new(
            app::Setup {
                clock,
                timer: timer.clone(),
                index: i as usize,
                faults: plan.faults.clone(),
                timeout_ns: plan.timeout_ns,
            },
            Arc::clone(&class_plans),
            streams.keyed(Purpose::Work, ""),
            plan.workers,
            plan.queue_capacity,
        );
        let app = Arc::new(app);
        // Bounded: its last sleep ends before the end of the run.
        tokio::spawn(Arc::clone(&app).crash_on_schedule(prodsim_kernel::SimTime(scenario.duration_ns)));
        apps.push(Arc::clone(&app));
        let address = listen(app.router()).await?;
        scrapes.push(Scrape {
            job: "app".into(),
            instance: format!("server-{i}"),
            address: address.clone(),
            text: String::new(),
        });
        backends.push(address);
    }
    let b = &scenario.balancer;
    let setup = Setup { backends: backends.len(), choices: b.choices, weights: b.weights.clone(), ..Setup::default() };
    let proxy = proxy::Proxy::new(
        clock,
        backends,
        b.strategy,
        &setup,
        streams.rng(Purpose::Balancer, ""),
        streams.keyed(Purpose::Session, ""),
        &classes,
    );
    let proxy = Arc::new(proxy);
    let target = listen(Arc::clone(&proxy).router()).await?;
    scrapes
        .insert(0, Scrape { job: "lb".into(), instance: "lb-0".into(), address: target.clone(), text: String::new() });
    let http = proxy::http_client();
    let generator = loadgen::LoadGen::new(clock, timer.clone(), http.clone(), target, plan, scenario);
    let sampler =
        tokio::spawn(sample_servers(apps, clock, timer.clone(), scenario.report_interval_ns, scenario.duration_ns));
    let mut measure = generator.run().await;
    for (i, integrals) in sampler.await.unwrap_or_default().into_iter().enumerate() {
        measure.timeline.sample(i, integrals);
    }
    // The last answers drain (bounded) so the final scrapes count every forwarded request.
    let drained_by = std::time::Instant::now() + DRAIN;
    while proxy.outstanding() > 0 && std::time::Instant::now() < drained_by {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for s in &mut scrapes {
        s.text = scrape(&http, &s.address).await;
    }
    Ok(LiveOutcome {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        time_scale: options.time_scale,
        simulated_ns: scenario.duration_ns,
        warmup_ns: scenario.warmup_ns,
        classes,
        measure,
        faults: scenario.faults.clone(),
        scrapes,
    })
}

/// The app servers' integrals summed at the end of each report interval (the rows of
/// `timeseries.csv`), read on the live clock; bounded by the run's end.
async fn sample_servers(
    apps: Vec<Arc<app::App>>,
    clock: clock::LiveClock,
    timer: clock::Timer,
    interval_ns: u64,
    duration_ns: u64,
) -> Vec<prodsim_parts::server::Integrals> {
    let rows = timeline::Timeline::new(interval_ns, duration_ns, 0);
    let mut out = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        timer.sleep_until(clock.to_wall(rows.end_of(i))).await;
        let total = apps.iter().map(|a| a.integrals()).fold(prodsim_parts::server::Integrals::default(), |a, b| {
            prodsim_parts::server::Integrals { busy_ns: a.busy_ns + b.busy_ns, queued_ns: a.queued_ns + b.queued_ns }
        });
        out.push(total);
    }
    out
}

/// `GET http://address/metrics`, its body as text (empty when it fails).
pub async fn scrape(http: &proxy::Http, address: &str) -> String {
    use http_body_util::BodyExt;
    let Ok(uri) = format!("http://{address}/metrics").parse() else { return String::new() };
    let Ok(resp) = http.get(uri).await else { return String::new() };
    match resp.into_body().collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(_) => String::new(),
    }
}
