//! The app server pool at run time: `[autoscaling]` (a horizontal autoscaler) and
//! `[[actions]]` (an operator's scheduled scale-outs, scale-ins and drains), raw as serde
//! reads them and resolved. See `docs/scenario-format.md`.

use serde::Deserialize;
use toml::Spanned;

/// Most app servers a pool may ever have (`[autoscaling].max`, `[servers].max_count`).
pub const MAX_POOL: u32 = crate::limits::MAX_SERVERS;

/// `[autoscaling]`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    /// Fewest servers (default 1).
    #[serde(default)]
    pub min: Option<Spanned<u32>>,
    /// Most servers.
    pub max: Spanned<u32>,
    /// Busy share of the running servers' workers to aim for, in (0, 1].
    pub target_utilization: Spanned<f64>,
    /// No change after a change for this long (default 5m).
    #[serde(default)]
    pub cooldown: Option<Spanned<String>>,
    /// From deciding on a server until it serves (default 1m).
    #[serde(default)]
    pub cold_start: Option<Spanned<String>>,
    /// Time between evaluations (default 15s).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
}

/// One `[[actions]]` entry, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    /// When it happens.
    pub at: Spanned<String>,
    /// `scale_out`, `scale_in`, `drain` or `undrain`.
    pub kind: Spanned<String>,
    /// Servers to add or remove (`scale_out`, `scale_in`).
    #[serde(default)]
    pub count: Option<Spanned<u32>>,
    /// The server (`drain`, `undrain`): `"server-<index>"`.
    #[serde(default)]
    pub target: Option<Spanned<String>>,
}

/// `[autoscaling]`, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoscalingSpec {
    /// Fewest servers.
    pub min: u32,
    /// Most servers.
    pub max: u32,
    /// Utilization to aim for.
    pub target_utilization: f64,
    /// No change in either direction for this long after a change, in nanoseconds.
    pub cooldown_ns: u64,
    /// From deciding on a server until it serves, in nanoseconds.
    pub cold_start_ns: u64,
    /// Time between evaluations, in nanoseconds.
    pub interval_ns: u64,
}

/// What an operator action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Provision `count` more servers (ready after the cold start).
    ScaleOut {
        /// Servers to add.
        count: u32,
    },
    /// Retire `count` servers: each leaves rotation, finishes its requests, and is
    /// deprovisioned.
    ScaleIn {
        /// Servers to remove.
        count: u32,
    },
    /// Take a server out of rotation; it finishes its requests and stays provisioned, idle.
    Drain {
        /// Index of the server.
        server: u32,
    },
    /// Put a drained server back into rotation.
    Undrain {
        /// Index of the server.
        server: u32,
    },
}

impl ActionKind {
    /// The kinds a file may name.
    pub const NAMES: [&'static str; 4] = ["scale_out", "scale_in", "drain", "undrain"];

    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::ScaleOut { .. } => "scale_out",
            ActionKind::ScaleIn { .. } => "scale_in",
            ActionKind::Drain { .. } => "drain",
            ActionKind::Undrain { .. } => "undrain",
        }
    }
}

/// One operator action at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    /// When, in nanoseconds from the start.
    pub at_ns: u64,
    /// What.
    pub kind: ActionKind,
}

/// How the app server pool may change during a run.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingSpec {
    /// Servers at the start (`[servers].count`).
    pub initial: u32,
    /// Most servers there can ever be: `[autoscaling].max` or `[servers].max_count`.
    pub max: u32,
    /// The autoscaler, if any.
    pub autoscaling: Option<AutoscalingSpec>,
    /// Operator actions, in file order.
    pub actions: Vec<Action>,
    /// How long a retiring server may take to finish its requests before it is stopped
    /// anyway (its remaining requests fail).
    pub drain_timeout_ns: u64,
}
