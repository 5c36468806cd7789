//! A fault injected while a run goes on (a game day's instructor page): the fault as the
//! instructor gives it ([`FaultSpec`], the fields of a `[[faults]]` table without `at`),
//! and its resolution against the scenario ([`resolve`]) by the very code that resolves a
//! file's `[[faults]]`, so a kind, a target or a parameter is checked and named the same
//! way, with the same messages. The start is the run's current time.

use prodsim_parts::faults::Fault;
use serde::{Deserialize, Serialize};

use crate::Scenario;
use crate::schema::RawFault;

/// What a fault may hit in a scenario: its pool's most app servers, its services, database,
/// regions, watchers and notification receivers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultTargets {
    /// The most app servers the pool can have (`server-0` … `server-<servers - 1>`).
    pub(crate) servers: u32,
    /// The services (and `storage`), as faults name them.
    pub(crate) services: Vec<String>,
    /// The scenario has a `[database]` (`db` is a target).
    pub(crate) database: bool,
    /// Regions by name with their servers, `(name, first, end)`.
    pub(crate) regions: Vec<(String, u32, u32)>,
    /// The scenario has a monitoring stack (`monitoring` is a target).
    pub(crate) monitoring: bool,
    /// The scenario has `[logging]` (`log_store` is a target).
    pub(crate) logging: bool,
    /// The scenario has `[backups]` (a `data_loss` can be restored).
    pub(crate) backups: bool,
    /// The notification receivers, in `[[routing.receivers]]` order.
    pub(crate) receivers: Vec<String>,
    /// The first request class with `login = true` (a `credential_stuffing` attacks it).
    pub(crate) login_class: Option<u16>,
}

impl FaultTargets {
    /// Every name a fault may target in this scenario, for a page's choices: `servers`,
    /// each `server-<i>`, the services, `db`, the regions, `monitoring`, `log_store` and
    /// the receivers (those the scenario has).
    pub fn names(&self) -> Vec<String> {
        let mut out = vec!["servers".to_string()];
        out.extend((0..self.servers).map(|i| format!("server-{i}")));
        out.extend(self.services.iter().cloned());
        if self.database {
            out.push("db".to_string());
        }
        out.extend(self.regions.iter().map(|(n, _, _)| n.clone()));
        if self.monitoring {
            out.push("monitoring".to_string());
        }
        if self.logging {
            out.push("log_store".to_string());
        }
        out.extend(self.receivers.iter().cloned());
        out
    }
}

/// A fault to inject now: a `[[faults]]` table's fields but `at` (docs/serve.md). Only the
/// parameters the kind uses may be given, as in a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The fault kind, e.g. `"error_rate"`.
    pub kind: String,
    /// What it hits, e.g. `"payments"`, `"server-1"`, `"db"`.
    pub target: String,
    /// How long it lasts, e.g. `"5m"`; absent: until the end of the run (crashes take none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// `slowdown`, `slow_queries`: multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// `error_rate`: share of calls that fail, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `added_latency`: a distribution added to each call, e.g. `"const(500ms)"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<String>,
    /// `timeouts`, `partition`: how long a call hangs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang: Option<String>,
    /// `replication_lag`: the replicas' lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<String>,
    /// `memory_leak`: MiB leaked per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mb_per_s: Option<f64>,
    /// `connection_leak`: pool connections leaked per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_s: Option<f64>,
    /// `partition`: the app servers cut off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `ddos`: distinct attacking clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
}

/// The spec with its start, as a `[[faults]]` table is written.
#[derive(Serialize)]
struct Table<'a> {
    at: String,
    #[serde(flatten)]
    spec: &'a FaultSpec,
}

/// `spec` resolved against `scenario` as a `[[faults]]` table with `at = at_ns`: the fault,
/// or every error's message (an unknown kind or target with the nearest name, a missing or
/// stray parameter, a value out of range).
pub fn resolve(scenario: &Scenario, spec: &FaultSpec, at_ns: u64) -> Result<Fault, String> {
    let table = Table { at: format!("{at_ns}ns"), spec };
    let text = toml::to_string(&table).map_err(|e| format!("cannot write the fault as TOML: {e}"))?;
    let raw: RawFault = toml::from_str(&text).map_err(|e| format!("fault: {}", e.message()))?;
    crate::validate::resolve_one_fault(&text, &raw, scenario.duration_ns, &scenario.fault_targets)
        .map_err(|errors| errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_parts::faults::{FaultKind, FaultTarget};

    const SHOP: &str = "[scenario]\nname = \"s\"\nduration = \"10m\"\n[[workload]]\nname = \"w\"\nrate = 10\n\
        [servers]\ncount = 2\nworkers = 4\n[[requests]]\nname = \"r\"\nweight = 1.0\n\
        steps = [{ call = \"payments\", timeout = \"1s\" }]\n[services.payments]\ninstances = 1\nworkers = 4\n\
        latency = \"exp(5ms)\"\n";

    fn spec(kind: &str, target: &str) -> FaultSpec {
        FaultSpec { kind: kind.into(), target: target.into(), ..FaultSpec::default() }
    }

    #[test]
    fn an_injected_fault_resolves_as_a_file_fault_does() {
        let s = crate::load_str(SHOP, std::path::Path::new("shop.toml")).unwrap().scenario;
        assert_eq!(s.fault_targets.names(), ["servers", "server-0", "server-1", "payments"]);
        let f = resolve(
            &s,
            &FaultSpec { rate: Some(0.25), duration: Some("2m".into()), ..spec("error_rate", "payments") },
            60,
        )
        .unwrap();
        assert_eq!(
            (f.kind, f.target, f.start_ns, f.end_ns),
            (FaultKind::ErrorRate { rate: 0.25 }, FaultTarget::Service(0), 60, 60 + 120_000_000_000)
        );
        // Without a duration, until the end of the run; a crash has none.
        assert_eq!(resolve(&s, &spec("outage", "payments"), 5).unwrap().end_ns, 600_000_000_000);
        assert_eq!(resolve(&s, &spec("crash", "server-1"), 5).unwrap().end_ns, 5);
        let e = resolve(&s, &spec("outgae", "payments"), 0).unwrap_err();
        assert!(e.starts_with("unknown fault kind `outgae`") && e.contains("did you mean `outage`?"), "{e}");
        let e = resolve(&s, &spec("crash", "server-7"), 0).unwrap_err();
        assert!(e.contains("`server-7` is out of range: the pool has 2 servers"), "{e}");
        let e = resolve(&s, &spec("outage", "db"), 0).unwrap_err();
        assert_eq!(e, "fault target `db` needs a [database] section");
        let e = resolve(&s, &FaultSpec { latency: Some("const(".into()), ..spec("added_latency", "payments") }, 0);
        assert!(e.unwrap_err().contains("faults.latency"));
    }
}
