//! The components of a production architecture: workloads, load balancers, backend health,
//! servers, caches, the reverse proxy, resilience (breakers, retries, budgets, rate
//! limits, the retry queue, the payment ledger), autoscaling, faults, what watches
//! ([`ops`]: metrics, PromQL, rules, routing, logs, on-call, incidents, post-mortems) and
//! how releases ship ([`deploy`]).
//!
//! Each component is plain code with a small API that takes `now` and returns decisions
//! (sans-IO); the model (`prodsim-model`) wires them together and schedules what they ask
//! for. Nothing here reads the scenario format: the scenario crate resolves files into the
//! configurations defined here.

pub mod autoscaler;
pub mod balancer;
pub mod cache;
pub mod delivery;
pub mod deploy;
pub mod faults;
pub mod health;
pub mod ops;
pub mod proxy;
pub mod resilience;
pub mod server;
pub mod workload;

pub use balancer::{Backends, Balancer, Client, Setup, Strategy};
pub use health::{ActiveHealthCheck, HealthChange, HealthCheckConfig, OutlierConfig, OutlierDetection, Rotation};
pub use server::{Admission, Request, Server};
pub use workload::{ArrivalProcess, Arrivals, Stage, Workload};
