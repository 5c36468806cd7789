//! What a scenario asks live mode to stand up, checked before anything listens: the
//! sections live mode builds, the ones it refuses ("not yet: ..."), and the limits of one
//! process serving real requests over loopback.

use std::sync::Arc;

use prodsim_kernel::Dist;
use prodsim_parts::Workload;
use prodsim_scenario::Scenario;
use prodsim_scenario::topology::{ClosedLoop, Step};

use crate::faults::LiveFaults;
use crate::{LiveError, Options};

/// Most requests per wall-clock second live mode sends (all workloads together). Above a
/// few thousand, loopback and scheduler overheads (tens of µs each) stop being small next
/// to service times, on a small machine.
pub const MAX_WALL_RPS: f64 = 2_000.0;

/// Most instances (app servers) live mode starts in one process.
pub const MAX_INSTANCES: u32 = 200;

/// Most users of closed workloads live mode runs (all workloads together): each is a task
/// with one request in flight.
pub const MAX_USERS: u32 = 10_000;

/// Longest wall-clock run, in seconds (six hours).
pub const MAX_WALL_SECONDS: f64 = 6.0 * 3600.0;

/// One request class as live mode serves it: a name, a weight and the work it does.
#[derive(Clone, Debug)]
pub struct ClassPlan {
    /// The class name (`default` for a file with only `[servers]`).
    pub name: String,
    /// Its work steps, in order; the worker holds the request for their sum.
    pub work: Vec<Dist>,
}

/// The architecture live mode builds for a scenario.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The workloads, as the simulation builds them (a closed one sends no arrivals).
    pub workloads: Vec<Workload>,
    /// Per workload, its closed loop of users, if it is closed.
    pub closed: Vec<Option<ClosedLoop>>,
    /// Cumulative class weights, in class order.
    pub class_cumulative: Vec<f64>,
    /// The classes.
    pub classes: Vec<ClassPlan>,
    /// App servers.
    pub servers: u32,
    /// Workers per server.
    pub workers: u32,
    /// Waiting room per server (`usize::MAX`: unbounded).
    pub queue_capacity: usize,
    /// `[servers].timeout`, the client deadline from arrival (`u64::MAX`: none).
    pub timeout_ns: u64,
    /// What the faults do to the app servers.
    pub faults: Arc<LiveFaults>,
}

fn unsupported(section: &str, why: &str) -> LiveError {
    LiveError::Unsupported { section: section.to_string(), why: why.to_string() }
}

impl Plan {
    /// Workers of all the app servers together.
    pub fn workers_total(&self) -> u64 {
        u64::from(self.servers) * u64::from(self.workers)
    }

    /// The plan of `scenario` with `options`, or why it cannot run live.
    pub fn of(scenario: &Scenario, options: Options) -> Result<Plan, LiveError> {
        let time_scale = options.time_scale;
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(LiveError::Option(format!("--time-scale must be a positive number, got {time_scale}")));
        }
        refuse_sections(scenario)?;
        let classes = scenario
            .topology
            .classes
            .iter()
            .map(|c| {
                let work = c.steps.iter().map(|s| match s {
                    Step::Work(d) => Ok(d.clone()),
                    Step::Call(_) | Step::Parallel(_) | Step::Async(_) => Err(unsupported(
                        &format!("calls in [[requests]] `{}`", c.name),
                        "internal services, third-party APIs and the database are not stood up yet; only work steps run",
                    )),
                });
                Ok(ClassPlan { name: c.name.clone(), work: work.collect::<Result<_, LiveError>>()? })
            })
            .collect::<Result<Vec<_>, LiveError>>()?;
        let mut total = 0.0;
        let class_cumulative = scenario.topology.classes.iter().map(|c| (total += c.weight, total).1).collect();
        let plan = Plan {
            // Traffic spikes folded into the stages, as the simulation folds them.
            workloads: scenario.workloads.iter().map(|w| prodsim_model::with_spikes(w, &scenario.faults)).collect(),
            closed: (0..scenario.workloads.len())
                .map(|w| scenario.topology.clients.get(w).and_then(|c| c.closed.clone()))
                .collect(),
            class_cumulative,
            classes,
            servers: scenario.servers.count,
            workers: scenario.servers.workers,
            queue_capacity: scenario.servers.queue_capacity.map_or(usize::MAX, |c| c as usize),
            timeout_ns: scenario.servers.timeout_ns.unwrap_or(u64::MAX),
            faults: Arc::new(LiveFaults::of(&scenario.faults, scenario.topology.restart_ns)?),
        };
        plan.check_size(scenario, options)?;
        Ok(plan)
    }

    /// The class a request with `unit` (a uniform draw of its class stream) picks: the
    /// simulation's rule (`flow::Classes::pick`), one class drawing nothing.
    pub fn pick_class(&self, unit: impl FnOnce() -> f64) -> usize {
        let n = self.class_cumulative.len();
        if n == 1 {
            return 0;
        }
        let u = unit() * self.class_cumulative[n - 1];
        self.class_cumulative.partition_point(|&c| c <= u).min(n - 1)
    }

    /// Refuses what one process cannot serve faithfully at `time_scale`, saying which time
    /// scale would fit.
    fn check_size(&self, scenario: &Scenario, options: Options) -> Result<(), LiveError> {
        let (time_scale, max_rps) = (options.time_scale, options.max_wall_rps);
        if self.servers > MAX_INSTANCES {
            return Err(LiveError::TooBig {
                why: format!(
                    "{} app servers; live mode starts at most {MAX_INSTANCES} instances in one process (the time scale does not change this)",
                    self.servers
                ),
            });
        }
        let users: u32 = self.closed.iter().flatten().map(|l| l.users).sum();
        if users > MAX_USERS {
            return Err(LiveError::TooBig {
                why: format!(
                    "{users} users in closed workloads; live mode runs at most {MAX_USERS} (the time scale does not change this)"
                ),
            });
        }
        let open_rps: f64 = self.workloads.iter().map(|w| w.stages.iter().map(|s| s.rate).fold(0.0, f64::max)).sum();
        // A closed workload sends at most N / Z requests a second (answers taking no time).
        let mut closed_rps = 0.0;
        for l in self.closed.iter().flatten() {
            match l.think_time.mean_ns() {
                Some(z) if z > 0.0 => closed_rps += f64::from(l.users) / (z / 1e9),
                _ => {
                    return Err(LiveError::TooBig {
                        why: format!(
                            "a closed workload's think time `{}` has no positive mean: its users would send as fast as answers come, which live mode cannot bound",
                            l.think_time
                        ),
                    });
                }
            }
        }
        let peak_rps = open_rps + closed_rps;
        let wall_rps = peak_rps / time_scale;
        if wall_rps > max_rps {
            return Err(LiveError::TooBig {
                why: format!(
                    "at --time-scale {time_scale} the workloads send up to {wall_rps:.0} requests per wall-clock second \
                     ({peak_rps} per scenario second), above live mode's {max_rps:.0}; \
                     --time-scale {} or more would fit",
                    fitting_scale(peak_rps / max_rps)
                ),
            });
        }
        let wall_s = scenario.duration_ns as f64 / 1e9 * time_scale;
        if wall_s > MAX_WALL_SECONDS {
            return Err(LiveError::TooBig {
                why: format!(
                    "the run would last {wall_s:.0} wall-clock seconds, above {MAX_WALL_SECONDS:.0}; \
                     use a smaller --time-scale or a shorter --duration"
                ),
            });
        }
        Ok(())
    }
}

/// The smallest round time scale (1, 2 or 5 times a power of ten) at or above `min`.
fn fitting_scale(min: f64) -> f64 {
    let mut p = 10f64.powi(min.log10().floor() as i32);
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * p >= min * (1.0 - 1e-12) {
                return m * p;
            }
        }
        p *= 10.0;
    }
}

/// Every section live mode does not build yet, refused by name.
fn refuse_sections(s: &Scenario) -> Result<(), LiveError> {
    let t = &s.topology;
    let checks: [(bool, &str, &str); 14] = [
        (!t.services.is_empty(), "[services]", "internal services, third-party APIs and storage are not stood up yet"),
        (t.database.is_some(), "[database]", "the database stand-in is not built yet"),
        (t.retry_queue.is_some(), "[retry_queue]", "the durable retry queue is not built yet"),
        (t.backups.is_some(), "[backups]", "database backups and restores are not built yet"),
        (t.reconciliation.is_some(), "[reconciliation]", "payment reconciliation is not built yet"),
        (t.network.is_some(), "[[regions]]", "live mode runs on one loopback interface; regions are not emulated"),
        (t.edge.is_active(), "[proxy] and malicious clients", "the reverse proxy's edge is not built yet"),
        (t.scaling.is_some(), "[autoscaling] / [[actions]]", "the app server pool is fixed in live mode"),
        (
            t.monitoring.is_some(),
            "[monitoring] and rules",
            "scraping /metrics and evaluating rules live is not built yet",
        ),
        (t.logging.is_some(), "[logging]", "log shipping is not built yet"),
        (
            t.delivery.is_some(),
            "[pipeline] / [[deploys]] / [oncall]",
            "releases and incident response are not built yet",
        ),
        (t.classes.iter().any(|c| c.payment.is_some()), "payments", "the payment ledger is not run live yet"),
        (
            s.balancer.health_check.is_some() || s.balancer.outlier_detection.is_some(),
            "[balancer] health checks",
            "health checks and outlier ejection are not run live yet",
        ),
        (
            !s.expectations.is_empty(),
            "[[expect]]",
            "expectations are judged on a simulated outcome; check them with `prodsim run`",
        ),
    ];
    match checks.into_iter().find(|c| c.0) {
        Some((_, section, why)) => Err(unsupported(section, why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::fitting_scale;

    #[test]
    fn fitting_scales_are_round() {
        assert_eq!(fitting_scale(0.003), 0.005);
        assert_eq!(fitting_scale(0.01), 0.01);
        assert_eq!(fitting_scale(0.011), 0.02);
        assert_eq!(fitting_scale(3.0), 5.0);
    }
}
