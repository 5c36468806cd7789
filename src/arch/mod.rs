//! The production architecture: workloads, the load balancer, backend health and the app
//! servers.
//!
//! Each component is plain code with a small API that takes `now` and returns decisions
//! (sans-IO); the world wires them together and schedules what they ask for.

pub mod autoscaler;
pub mod balancer;
pub mod cache;
pub mod health;
pub mod proxy;
pub mod resilience;
pub mod server;
pub mod workload;

pub use balancer::{Backends, Balancer, Client, Setup, Strategy};
pub use health::{ActiveHealthCheck, HealthChange, HealthCheckConfig, OutlierConfig, OutlierDetection, Rotation};
pub use server::{Admission, Request, Server};
pub use workload::{ArrivalProcess, Arrivals, Stage, Workload};
