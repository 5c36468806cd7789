//! What watches the architecture: metrics scraped into a time-series store, PromQL alert
//! and recording rules evaluated over them, Alertmanager-style notification routing, and
//! structured logs shipped to a log store; and what people do about it: the on-call rotation
//! and its pages, incident timelines and their mean times, and post-mortems.
//!
//! Every component here is sans-IO: it takes `now` (milliseconds of simulated time, the
//! unit Prometheus uses) and returns what happened, so the same code could run under a
//! real clock (the on-call rotation counts nanoseconds, like the engine, since it samples
//! delays from `Dist`s). The engine (`prodsim_model`) drives them from its events.

pub mod calendar;
pub mod catalog;
pub mod fatigue;
pub mod incident;
pub mod logs;
pub mod oncall;
pub mod postmortem;
pub mod promql;
pub mod quality;
pub mod routing;
pub mod rules;
pub mod tsdb;
