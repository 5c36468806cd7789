//! The balancer as a real HTTP proxy: `GET /request` picks an app server with the
//! scenario's strategy (the simulation's own [`prodsim_parts::Balancer`], built by
//! [`Strategy::build`] from the same setup) and forwards the request to it over a pooled
//! HTTP/1.1 connection; `GET /metrics` exports what it forwarded.
//!
//! Connection counts are the proxy's own requests outstanding per backend, which is what
//! the simulation's balancer reads (requests in service or waiting on the server). The
//! strategy draws from the `Balancer` stream and a session key from the request key's
//! `Session` draws, as the simulation does.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use prodsim_kernel::{Keyed, SimRng};
use prodsim_parts::{Backends, Balancer, Client, Setup, Strategy};

use crate::app::{QUEUED_HEADER, WAIT_HEADER, Work};
use crate::clock::LiveClock;
use crate::metrics::{Gauges, ServiceMetrics};

/// Session keys a request can carry (the simulation's `flow::SESSIONS`).
const SESSIONS: u64 = 100_000;

/// The pooled HTTP/1.1 client of the proxy and the load generator.
pub type Http = HttpClient<HttpConnector, http_body_util::Empty<axum::body::Bytes>>;

/// A client with pooled keep-alive connections and no idle limit the run could reach.
pub fn http_client() -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    HttpClient::builder(hyper_util::rt::TokioExecutor::new()).pool_max_idle_per_host(4096).build(connector)
}

/// The strategy's state: what it reads and its own random stream.
struct Lb {
    balancer: Box<dyn Balancer>,
    connections: Vec<u32>,
    rng: SimRng,
}

/// The proxy's state.
pub struct Proxy {
    clock: LiveClock,
    backends: Vec<String>,
    http: Http,
    hashing: bool,
    session: Keyed,
    lb: Mutex<Lb>,
    metrics: Mutex<ServiceMetrics>,
}

impl Proxy {
    /// A proxy over the app servers at `backends` (`127.0.0.1:port`), with `strategy`
    /// built from `setup`, drawing from `rng` and `session`.
    pub fn new(
        clock: LiveClock,
        backends: Vec<String>,
        strategy: Strategy,
        setup: &Setup,
        rng: SimRng,
        session: Keyed,
        classes: &[String],
    ) -> Proxy {
        let connections = vec![0; backends.len()];
        Proxy {
            clock,
            backends,
            http: http_client(),
            hashing: strategy == Strategy::ConsistentHash,
            session,
            lb: Mutex::new(Lb { balancer: strategy.build(setup), connections, rng }),
            metrics: Mutex::new(ServiceMetrics::new("lb", classes)),
        }
    }

    /// The router of the proxy.
    pub fn router(self: Arc<Proxy>) -> axum::Router {
        axum::Router::new().route("/request", get(forward)).route("/metrics", get(metrics)).with_state(self)
    }

    /// The backend for request `key`, its connection counted; the simulation's
    /// `AppTier::pick` (a pool of one needs no strategy).
    fn pick(&self, key: u64) -> Option<usize> {
        let mut lb = self.lb.lock().unwrap_or_else(PoisonError::into_inner);
        let picked = if lb.connections.len() == 1 {
            Some(0)
        } else {
            let session = if self.hashing { self.session.draws(key).below(SESSIONS) } else { 0 };
            let Lb { balancer, connections, rng } = &mut *lb;
            balancer.pick(&Backends::all(connections), &Client { region: 0, key: session }, rng)
        };
        if let Some(i) = picked {
            lb.connections[i] += 1;
        }
        picked
    }

    /// Requests forwarded and not answered yet.
    pub fn outstanding(&self) -> u32 {
        self.lb.lock().unwrap_or_else(PoisonError::into_inner).connections.iter().sum()
    }

    /// Backend `i` answered after `latency_ns` (scenario time).
    fn answered(&self, i: usize, latency_ns: u64, ok: bool) {
        let mut lb = self.lb.lock().unwrap_or_else(PoisonError::into_inner);
        lb.connections[i] = lb.connections[i].saturating_sub(1);
        if lb.balancer.observes() {
            lb.balancer.observe(i, self.clock.now(), latency_ns, ok);
        }
    }
}

/// `GET /request`: forwarded to the picked app server; its status and wait headers come
/// back. 502 when the backend cannot be reached, 503 when none is in rotation.
async fn forward(State(proxy): State<Arc<Proxy>>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let query = query.unwrap_or_default();
    let work: Option<Work> = parse_query(&query);
    let Some(work) = work else { return (StatusCode::BAD_REQUEST, HeaderMap::new()) };
    let arrived = proxy.clock.now();
    let Some(i) = proxy.pick(work.key) else { return (StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new()) };
    let uri = format!("http://{}/request?{query}", proxy.backends[i]);
    let answer = match uri.parse() {
        Ok(uri) => proxy.http.get(uri).await.ok(),
        Err(_) => None,
    };
    let latency_ns = proxy.clock.now().since(arrived);
    let (status, headers) = match answer {
        Some(resp) => {
            let mut headers = HeaderMap::new();
            for name in [WAIT_HEADER, QUEUED_HEADER] {
                if let Some(v) = resp.headers().get(name) {
                    headers.insert(name, v.clone());
                }
            }
            (resp.status(), headers)
        }
        None => (StatusCode::BAD_GATEWAY, HeaderMap::new()),
    };
    let ok = status == StatusCode::OK;
    proxy.answered(i, latency_ns, ok);
    proxy.metrics.lock().unwrap_or_else(PoisonError::into_inner).answered(work.class, ok, latency_ns as f64 / 1e9);
    (status, headers)
}

/// `key=K&class=C` (what the load generator sends), read without another parser.
fn parse_query(query: &str) -> Option<Work> {
    let (mut key, mut class) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("key", v)) => key = v.parse().ok(),
            Some(("class", v)) => class = v.parse().ok(),
            _ => {}
        }
    }
    Some(Work { key: key?, class: class? })
}

/// `GET /metrics` of the proxy.
async fn metrics(State(proxy): State<Arc<Proxy>>) -> impl IntoResponse {
    let in_flight = proxy.lb.lock().unwrap_or_else(PoisonError::into_inner).connections.iter().sum();
    let gauges = Gauges { in_flight, ..Gauges::default() };
    let text = proxy.metrics.lock().unwrap_or_else(PoisonError::into_inner).render(gauges);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], Body::from(text))
}
