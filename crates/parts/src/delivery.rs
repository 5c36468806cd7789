//! Releases and incident response, resolved: the CI/CD pipeline (`[pipeline]`), the
//! releases it ships (`[[deploys]]`), the people on call (`[oncall]`) and what they do
//! when an alert pages them (`[[playbooks]]`).
//!
//! A release is a *version* with effects on the servers that run it (extra errors, extra
//! latency, a memory leak, a crash loop — or fixes, such as graceful degradation for a
//! dependency). It goes through the pipeline's stages, then reaches production with a
//! strategy (all at once, rolling, canary, blue-green or behind a feature flag), and can be
//! rolled back by a failed health check, a failed canary analysis, a named alert or a
//! responder's playbook.

/// Index of a service (`[services.NAME]`, sorted by name), as the scenario resolves it.
pub type ServiceId = u16;
use prodsim_kernel::Dist;

use crate::ops::fatigue::FatigueSpec;

/// Everything about releases and incident response; `None` in the topology when the file
/// has none of `[pipeline]`, `[[deploys]]`, `[oncall]`, `[[playbooks]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliverySpec {
    /// The CI/CD pipeline (defaults when `[pipeline]` is absent: no stages, no health
    /// check, no rollback plan).
    pub pipeline: PipelineSpec,
    /// Releases, in file order (sorted by `at_ns` is not required).
    pub deploys: Vec<DeploySpec>,
    /// The on-call rotation; `None` without `[oncall]` (pages reach nobody).
    pub oncall: Option<OncallSpec>,
    /// Playbooks, in file order: the first whose `alert` matches a paged alert runs.
    pub playbooks: Vec<PlaybookSpec>,
}

/// A stage of the pipeline before production.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageKind {
    /// Compiling and packaging.
    Build,
    /// Unit and integration tests.
    Tests,
    /// Code quality and dependency checks.
    Checks,
    /// Deploying to staging.
    StagingDeploy,
    /// Verifying the release on staging; catches a bad version with probability
    /// `staging_fidelity`.
    StagingVerify,
}

impl StageKind {
    /// Every stage, in pipeline order.
    pub const ALL: [StageKind; 5] =
        [StageKind::Build, StageKind::Tests, StageKind::Checks, StageKind::StagingDeploy, StageKind::StagingVerify];

    /// The name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Build => "build",
            StageKind::Tests => "tests",
            StageKind::Checks => "checks",
            StageKind::StagingDeploy => "staging_deploy",
            StageKind::StagingVerify => "staging_verify",
        }
    }

    /// The stage called `name`, if there is one.
    pub fn parse(name: &str) -> Option<StageKind> {
        StageKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One stage of `[pipeline] stages`.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSpec {
    /// Which stage.
    pub kind: StageKind,
    /// How long it takes.
    pub duration: Dist,
    /// Probability that it fails on its own (a flaky test, a broken build), 0..1.
    pub failure: f64,
}

/// `[pipeline.health_check]`: what the pipeline watches after a release reaches its
/// servers (and after each rolling batch).
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheckSpec {
    /// How long the new version is watched after the rollout (`window`).
    pub window_ns: u64,
    /// How often the check looks (`interval`, default 10s).
    pub interval_ns: u64,
    /// The new version fails the check above this error ratio over the last interval
    /// (`max_error_ratio`, default 0.05).
    pub max_error_ratio: f64,
    /// The new version fails the check when its p99 over the last interval is above this
    /// (`max_p99`; no latency check without it).
    pub max_p99_ns: Option<u64>,
    /// Fewest requests on the new version in an interval before the check judges it
    /// (`min_requests`, default 20).
    pub min_requests: u64,
}

/// `[pipeline]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineSpec {
    /// The version every server runs at time 0 (`initial_version`, default `"v1"`).
    pub initial_version: String,
    /// The stages before production, in the order they run (`stages`; none by default).
    pub stages: Vec<StageSpec>,
    /// How closely staging mirrors production (its traffic and data), 0..1: the chance
    /// that `staging_verify` catches a version with harmful effects (default 0.5).
    pub staging_fidelity: f64,
    /// Time to replace the version on one batch of servers (`deploy_time`, default 30s).
    pub deploy_time_ns: u64,
    /// The post-deploy health check; `None` when the pipeline has none.
    pub health_check: Option<HealthCheckSpec>,
    /// How long a rollback takes (`rollback`); `None` when there is no rollback plan.
    pub rollback_ns: Option<u64>,
    /// The stages a hotfix runs (`hotfix_stages`, default every stage).
    pub hotfix_stages: Vec<StageKind>,
    /// The receiver (of `[routing]`) that carries a failed release's direct message to
    /// its author (`notify`); `None`: nobody is told.
    pub notify: Option<String>,
}

impl Default for PipelineSpec {
    fn default() -> Self {
        PipelineSpec {
            initial_version: "v1".to_string(),
            stages: Vec::new(),
            staging_fidelity: 0.5,
            deploy_time_ns: 30 * prodsim_kernel::NS_PER_S,
            health_check: None,
            rollback_ns: None,
            hotfix_stages: StageKind::ALL.to_vec(),
            notify: None,
        }
    }
}

/// The automated analysis of a canary step: the canary against the baseline (the servers
/// still on the old version) over the step's bake time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanaryAnalysis {
    /// The canary fails when its error ratio exceeds the baseline's by more than this
    /// (`max_error_increase`, default 0.01, i.e. one percentage point).
    pub max_error_increase: f64,
    /// The canary fails when its p99 exceeds the baseline's p99 times this
    /// (`max_latency_ratio`, default 1.5).
    pub max_latency_ratio: f64,
    /// Fewest canary requests for a verdict; with fewer the step bakes again
    /// (`min_requests`, default 50).
    pub min_requests: u64,
}

impl Default for CanaryAnalysis {
    fn default() -> Self {
        CanaryAnalysis { max_error_increase: 0.01, max_latency_ratio: 1.5, min_requests: 50 }
    }
}

/// How a release reaches production (`strategy`).
#[derive(Clone, Debug, PartialEq)]
pub enum ReleaseStrategy {
    /// Every server at once (`all_at_once`).
    AllAtOnce,
    /// `batch` servers at a time, `pause` between batches (`rolling`).
    Rolling {
        /// Servers per batch (`batch`, default 1).
        batch: u32,
        /// Wait between batches (`pause`, default 1m).
        pause_ns: u64,
    },
    /// A share of traffic first, raised step by step after each bake and analysis
    /// (`canary`).
    Canary {
        /// Traffic shares, increasing, ending at 1.0 (`steps`, default [0.05, 0.25, 0.5, 1.0]).
        steps: Vec<f64>,
        /// Time at each step before the analysis (`bake`, default 5m).
        bake_ns: u64,
        /// The automated analysis (`analysis`).
        analysis: CanaryAnalysis,
    },
    /// A second fleet on the new version, then every request switched to it at once;
    /// rolling back switches back (`blue_green`).
    BlueGreen,
    /// The code ships dark on every server; a flag sends a growing share of requests
    /// through it (`feature_flag`). Disabling the flag is the rollback.
    FeatureFlag {
        /// Shares of requests, increasing, ending at 1.0 (`steps`, default [0.01, 0.1, 0.5, 1.0]).
        steps: Vec<f64>,
        /// Time at each share (`bake`, default 5m).
        bake_ns: u64,
    },
}

impl ReleaseStrategy {
    /// The strategy names accepted in scenario files.
    pub const NAMES: [&'static str; 5] = ["all_at_once", "rolling", "canary", "blue_green", "feature_flag"];

    /// The name used in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            ReleaseStrategy::AllAtOnce => "all_at_once",
            ReleaseStrategy::Rolling { .. } => "rolling",
            ReleaseStrategy::Canary { .. } => "canary",
            ReleaseStrategy::BlueGreen => "blue_green",
            ReleaseStrategy::FeatureFlag { .. } => "feature_flag",
        }
    }
}

/// What a version does on the servers that run it (`effects`). The default is a clean
/// version: no effect at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VersionEffects {
    /// Extra probability that a request fails with a 500 (`error_rate`, 0..1).
    pub error_rate: f64,
    /// Request classes the error rate and latency apply to (`classes`; empty: all).
    pub classes: Vec<u16>,
    /// Extra app-server work per request (`latency`, a distribution).
    pub latency: Option<Dist>,
    /// Memory leaked per second by each server running it (`memory_leak`, MiB/s).
    pub memory_leak_mb_per_s: f64,
    /// A crash loop: each server running it crashes this long after it starts
    /// (`crash_after`).
    pub crash_after_ns: Option<u64>,
    /// A fix: a failing call to these dependencies no longer fails the request; it
    /// degrades, and a payment goes on the retry queue with "accepted, payment pending"
    /// (`degrade`, service names).
    pub degrade: Vec<ServiceId>,
}

impl VersionEffects {
    /// Whether the version hurts users (errors, latency, leak or crash loop); staging can
    /// only catch such a version.
    pub fn is_harmful(&self) -> bool {
        self.error_rate > 0.0
            || self.latency.is_some()
            || self.memory_leak_mb_per_s > 0.0
            || self.crash_after_ns.is_some()
    }
}

/// One `[[deploys]]` entry: a release of `version`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploySpec {
    /// The version's name (`version`), unique in the file.
    pub version: String,
    /// When the change is merged and the pipeline starts (`at`).
    pub at_ns: u64,
    /// How it reaches production (`strategy`, default `all_at_once`).
    pub strategy: ReleaseStrategy,
    /// What the version does (`[deploys.effects]`).
    pub effects: VersionEffects,
    /// Alerts that roll the release back automatically when they fire while it rolls out
    /// or during its health check window (`rollback_on`).
    pub rollback_on: Vec<String>,
    /// Who committed the change (`author`): the person `[pipeline] notify` tells when its
    /// pipeline fails; `None`: nobody to tell.
    pub author: Option<String>,
}

/// When a responder is on call (`hours`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCallHours {
    /// During `[monitoring] business_hours` (`business`).
    Business,
    /// Outside them (`nights`).
    Nights,
    /// Always (`always`).
    Always,
}

impl OnCallHours {
    /// The names accepted in scenario files.
    pub const NAMES: [&'static str; 3] = ["business", "nights", "always"];

    /// The name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            OnCallHours::Business => "business",
            OnCallHours::Nights => "nights",
            OnCallHours::Always => "always",
        }
    }
}

/// One `[[oncall.responders]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponderSpec {
    /// Name (`name`), unique.
    pub name: String,
    /// When they are on call (`hours`, default `always`).
    pub hours: OnCallHours,
    /// Time from page to acknowledgement (`ack`, a distribution; default `lognormal(2m, 8m)`).
    pub ack: Dist,
    /// Probability that they miss a page altogether (`miss`, default 0).
    pub miss: f64,
}

/// `[oncall]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct OncallSpec {
    /// The rotation, in escalation order (`[[oncall.responders]]`, at least one).
    pub responders: Vec<ResponderSpec>,
    /// A page not acknowledged this long goes to the next responder on call
    /// (`escalate_after`, default 10m).
    pub escalate_after_ns: u64,
    /// Time from acknowledgement to the first action (`investigate`, a distribution;
    /// default `lognormal(5m, 15m)`).
    pub investigate: Dist,
    /// Receivers whose notifications page the on-call (`receivers`); empty: a notification
    /// carrying a firing `page` or `critical` alert pages, whatever its receiver.
    pub receivers: Vec<String>,
    /// Alert fatigue (`[oncall.fatigue]`): misses and acknowledgement delays grow with a
    /// responder's recent pages; `None` leaves them as configured.
    pub fatigue: Option<FatigueSpec>,
}

/// What a playbook does (`action`).
// A scenario has a handful of playbooks, so the hotfix variant's size costs nothing and
// boxing it would only add noise where playbooks are built.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum PlaybookAction {
    /// Roll back the newest release (`rollback`); needs the pipeline's rollback plan.
    Rollback,
    /// Write a hotfix (the playbook's `duration`), then ship it through the pipeline's
    /// hotfix stages and `strategy` (`hotfix`).
    Hotfix {
        /// The hotfix's version name (`version`).
        version: String,
        /// How it reaches production (`strategy`, default `all_at_once`).
        strategy: ReleaseStrategy,
        /// What the hotfix version does (`[playbooks.effects]`; typically a fix such as
        /// `degrade`).
        effects: VersionEffects,
    },
    /// Add app servers (`scale_out`, `count`).
    ScaleOut {
        /// Servers to add.
        count: u32,
    },
    /// Promote a database replica (`failover`).
    Failover,
    /// Turn off the newest feature flag (`disable_flag`).
    DisableFlag,
    /// Switch on graceful degradation for a dependency at runtime (`degrade`,
    /// `dependency`).
    Degrade {
        /// The dependency.
        dependency: ServiceId,
    },
}

impl PlaybookAction {
    /// The action names accepted in scenario files.
    pub const NAMES: [&'static str; 6] = ["rollback", "hotfix", "scale_out", "failover", "disable_flag", "degrade"];

    /// The name used in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            PlaybookAction::Rollback => "rollback",
            PlaybookAction::Hotfix { .. } => "hotfix",
            PlaybookAction::ScaleOut { .. } => "scale_out",
            PlaybookAction::Failover => "failover",
            PlaybookAction::DisableFlag => "disable_flag",
            PlaybookAction::Degrade { .. } => "degrade",
        }
    }
}

/// One `[[playbooks]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybookSpec {
    /// The alert name that starts it (`alert`).
    pub alert: String,
    /// What it does.
    pub action: PlaybookAction,
    /// How long the action takes once started (`duration`, a distribution; for a hotfix,
    /// the time to write it; default 1m).
    pub duration: Dist,
    /// Probability that an attempt fails (`failure`, default 0); a failed attempt is
    /// tried again, up to three attempts.
    pub failure: f64,
}
