//! prodsim's integration tests, in one binary (one link instead of one per file): the
//! queueing theory, determinism, the CLI, property tests, and every feature end to end
//! through the shipped scenarios. Shared helpers are in [`common`].

mod alerting;
mod autoscaling;
mod blast;
mod browser;
mod business_metrics;
mod capacity;
mod check;
mod check_props;
mod checkers;
mod cli;
mod common;
mod compare;
mod crn;
mod delivery;
mod determinism;
mod expect_paths;
mod expectations;
mod faults;
mod fuzz;
mod limits;
mod live;
mod messages;
mod metric;
mod narrate;
mod notify;
mod prometheus;
mod promtool_upstream;
mod proxy;
mod recovery;
mod regions;
mod releases;
mod report_set;
mod scenario_props;
mod serve;
mod serve_instructor;
mod shard;
mod snapshots;
mod sweep;
mod system;
mod theory;
mod tsdb_export;
mod webdriver;
mod weights;
mod workshop;
