//! The raw shape of `[pipeline]`, `[[deploys]]`, `[oncall]` and `[[playbooks]]`, as serde
//! reads them. Every table denies unknown keys; values keep their spans so that
//! `validate/delivery.rs` can point at the exact place of a mistake. See
//! `docs/scenario-format.md`, "Releases and incident response".

use serde::Deserialize;
use toml::Spanned;

/// `[pipeline]`: the CI/CD pipeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// The version every server runs at time 0 (default `"v1"`).
    #[serde(default)]
    pub initial_version: Option<Spanned<String>>,
    /// The stages before production, in the order they run.
    #[serde(default)]
    pub stages: Vec<Spanned<RawPipelineStage>>,
    /// How closely staging mirrors production, 0..1 (default 0.5).
    #[serde(default)]
    pub staging_fidelity: Option<Spanned<f64>>,
    /// Time to replace the version on one batch of servers (default 30s).
    #[serde(default)]
    pub deploy_time: Option<Spanned<String>>,
    /// How long a rollback takes; absent or `"none"`: no rollback plan.
    #[serde(default)]
    pub rollback: Option<Spanned<String>>,
    /// The stages a hotfix runs (default: every configured stage).
    #[serde(default)]
    pub hotfix_stages: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[pipeline.health_check]`: the post-deploy health check.
    #[serde(default)]
    pub health_check: Option<Spanned<RawDeployHealthCheck>>,
    /// The receiver that tells a failed release's author (default: nobody is told).
    #[serde(default)]
    pub notify: Option<Spanned<String>>,
}

/// One entry of `[pipeline] stages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipelineStage {
    /// Which stage: `build`, `tests`, `checks`, `staging_deploy` or `staging_verify`.
    pub stage: Spanned<String>,
    /// How long it takes, a distribution.
    pub duration: Spanned<String>,
    /// Probability that it fails on its own, in [0, 1) (default 0).
    #[serde(default)]
    pub failure: Option<Spanned<f64>>,
}

/// `[pipeline.health_check]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployHealthCheck {
    /// How long the new version is watched after the rollout.
    pub window: Spanned<String>,
    /// How often the check looks (default 10s).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    /// Highest error ratio that passes (default 0.05).
    #[serde(default)]
    pub max_error_ratio: Option<Spanned<f64>>,
    /// Highest p99 that passes (no latency check without it).
    #[serde(default)]
    pub max_p99: Option<Spanned<String>>,
    /// Fewest requests in an interval for a verdict (default 20).
    #[serde(default)]
    pub min_requests: Option<Spanned<u64>>,
}

/// `analysis = { ... }` of a canary release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    /// Highest rise of the error ratio over the baseline's (default 0.01).
    #[serde(default)]
    pub max_error_increase: Option<Spanned<f64>>,
    /// Highest ratio of the canary's p99 to the baseline's (default 1.5).
    #[serde(default)]
    pub max_latency_ratio: Option<Spanned<f64>>,
    /// Fewest canary requests for a verdict (default 50).
    #[serde(default)]
    pub min_requests: Option<Spanned<u64>>,
}

/// `[deploys.effects]` and `[playbooks.effects]`: what a version does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEffects {
    /// Extra probability that a request fails, 0..1.
    #[serde(default)]
    pub error_rate: Option<Spanned<f64>>,
    /// Request class names the error rate and latency apply to (default: all).
    #[serde(default)]
    pub classes: Option<Vec<Spanned<String>>>,
    /// Extra app-server work per request, a distribution.
    #[serde(default)]
    pub latency: Option<Spanned<String>>,
    /// MiB leaked per second by each server running the version.
    #[serde(default)]
    pub memory_leak: Option<Spanned<f64>>,
    /// Each server running the version crashes this long after it starts.
    #[serde(default)]
    pub crash_after: Option<Spanned<String>>,
    /// Service names whose failing calls degrade instead of failing the request.
    #[serde(default)]
    pub degrade: Option<Vec<Spanned<String>>>,
}

/// One `[[deploys]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    /// The version's name, unique in the file.
    pub version: Spanned<String>,
    /// When the change is merged and the pipeline starts.
    pub at: Spanned<String>,
    /// How it reaches production (default `all_at_once`).
    #[serde(default)]
    pub strategy: Option<Spanned<String>>,
    /// `rolling`: servers per batch (default 1).
    #[serde(default)]
    pub batch: Option<Spanned<u32>>,
    /// `rolling`: wait between batches (default 1m).
    #[serde(default)]
    pub pause: Option<Spanned<String>>,
    /// `canary`, `feature_flag`: traffic shares, increasing, ending at 1.0.
    #[serde(default)]
    pub steps: Option<Spanned<Vec<Spanned<f64>>>>,
    /// `canary`, `feature_flag`: time at each step (default 5m).
    #[serde(default)]
    pub bake: Option<Spanned<String>>,
    /// `canary`: the automated analysis.
    #[serde(default)]
    pub analysis: Option<Spanned<RawAnalysis>>,
    /// Alert names that roll the release back.
    #[serde(default)]
    pub rollback_on: Option<Spanned<Vec<Spanned<String>>>>,
    /// What the version does.
    #[serde(default)]
    pub effects: Option<Spanned<RawEffects>>,
    /// Who committed the change: told when its pipeline fails (`[pipeline] notify`).
    #[serde(default)]
    pub author: Option<Spanned<String>>,
}

/// `[oncall]`: the on-call rotation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOncall {
    /// A page not acknowledged this long escalates (default 10m).
    #[serde(default)]
    pub escalate_after: Option<Spanned<String>>,
    /// Time from acknowledgement to the first action (default `lognormal(5m, 15m)`).
    #[serde(default)]
    pub investigate: Option<Spanned<String>>,
    /// Receivers whose notifications page the on-call (default: none named; notifications
    /// carrying a `page` or `critical` alert page).
    #[serde(default)]
    pub receivers: Option<Vec<Spanned<String>>>,
    /// `[[oncall.responders]]`, in escalation order.
    #[serde(default)]
    pub responders: Vec<Spanned<RawResponder>>,
    /// `[oncall.fatigue]` (default: no fatigue).
    #[serde(default)]
    pub fatigue: Option<Spanned<RawFatigue>>,
}

/// `[oncall.fatigue]`: how a responder's misses and acknowledgement delays grow with the
/// pages they got recently.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFatigue {
    /// The look-back window (default 24h).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// Added miss probability per page in the window, in [0, 1] (default 0.02).
    #[serde(default)]
    pub miss_per_page: Option<Spanned<f64>>,
    /// Cap on the miss probability, in [0, 1) (default 0.5).
    #[serde(default)]
    pub miss_max: Option<Spanned<f64>>,
    /// Added acknowledgement delay per page in the window (default 30s).
    #[serde(default)]
    pub ack_delay_per_page: Option<Spanned<String>>,
}

/// One `[[oncall.responders]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponder {
    /// Unique name.
    pub name: Spanned<String>,
    /// `business`, `nights` or `always` (default `always`).
    #[serde(default)]
    pub hours: Option<Spanned<String>>,
    /// Time from page to acknowledgement (default `lognormal(2m, 8m)`).
    #[serde(default)]
    pub ack: Option<Spanned<String>>,
    /// Probability of missing a page, in [0, 1) (default 0).
    #[serde(default)]
    pub miss: Option<Spanned<f64>>,
}

/// One `[[playbooks]]` entry. The keys an action does not take must be absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlaybook {
    /// The alert name that starts it.
    pub alert: Spanned<String>,
    /// `rollback`, `hotfix`, `scale_out`, `failover`, `disable_flag` or `degrade`.
    pub action: Spanned<String>,
    /// How long the action takes (default `"1m"`).
    #[serde(default)]
    pub duration: Option<Spanned<String>>,
    /// Probability that an attempt fails, in [0, 1) (default 0).
    #[serde(default)]
    pub failure: Option<Spanned<f64>>,
    /// `hotfix`: the hotfix's version name.
    #[serde(default)]
    pub version: Option<Spanned<String>>,
    /// `hotfix`: how it reaches production (default `all_at_once`).
    #[serde(default)]
    pub strategy: Option<Spanned<String>>,
    /// `hotfix` released `rolling`: servers per batch.
    #[serde(default)]
    pub batch: Option<Spanned<u32>>,
    /// `hotfix` released `rolling`: wait between batches.
    #[serde(default)]
    pub pause: Option<Spanned<String>>,
    /// `hotfix` released `canary` or `feature_flag`: traffic shares.
    #[serde(default)]
    pub steps: Option<Spanned<Vec<Spanned<f64>>>>,
    /// `hotfix` released `canary` or `feature_flag`: time at each step.
    #[serde(default)]
    pub bake: Option<Spanned<String>>,
    /// `hotfix` released `canary`: the automated analysis.
    #[serde(default)]
    pub analysis: Option<Spanned<RawAnalysis>>,
    /// `hotfix`: what the hotfix version does.
    #[serde(default)]
    pub effects: Option<Spanned<RawEffects>>,
    /// `scale_out`: servers to add.
    #[serde(default)]
    pub count: Option<Spanned<u32>>,
    /// `degrade`: the dependency (a service name).
    #[serde(default)]
    pub dependency: Option<Spanned<String>>,
}

/// The release keys shared by `[[deploys]]` and hotfix `[[playbooks]]`, borrowed.
#[derive(Clone, Copy)]
pub struct RawRelease<'a> {
    /// `strategy`.
    pub strategy: Option<&'a Spanned<String>>,
    /// `batch`.
    pub batch: Option<&'a Spanned<u32>>,
    /// `pause`.
    pub pause: Option<&'a Spanned<String>>,
    /// `steps`.
    pub steps: Option<&'a Spanned<Vec<Spanned<f64>>>>,
    /// `bake`.
    pub bake: Option<&'a Spanned<String>>,
    /// `analysis`.
    pub analysis: Option<&'a Spanned<RawAnalysis>>,
}

impl RawDeploy {
    /// Its release keys.
    pub fn release(&self) -> RawRelease<'_> {
        RawRelease {
            strategy: self.strategy.as_ref(),
            batch: self.batch.as_ref(),
            pause: self.pause.as_ref(),
            steps: self.steps.as_ref(),
            bake: self.bake.as_ref(),
            analysis: self.analysis.as_ref(),
        }
    }
}

impl RawPlaybook {
    /// Its release keys (a hotfix's).
    pub fn release(&self) -> RawRelease<'_> {
        RawRelease {
            strategy: self.strategy.as_ref(),
            batch: self.batch.as_ref(),
            pause: self.pause.as_ref(),
            steps: self.steps.as_ref(),
            bake: self.bake.as_ref(),
            analysis: self.analysis.as_ref(),
        }
    }
}
