//! Resolving releases and incident response: `[pipeline]`, `[[deploys]]`, `[oncall]` and
//! `[[playbooks]]`, against the resolved topology (class and service names, the alert
//! rules, the receivers, the database). Errors name the field and what it accepts; a
//! reference that cannot work at run time but is a legitimate finding (an alert that never
//! fires, a rollback without a plan) is a warning.

use toml::Spanned;

use super::ctx::{Ctx, NEEDS_ALERTS};
use super::release::{resolve_effects, resolve_pipeline, resolve_release};
use super::response::{resolve_oncall, resolve_playbook};
use crate::delivery::{DeliverySpec, DeploySpec, PipelineSpec, PlaybookAction, PlaybookSpec, ReleaseStrategy};
use crate::delivery_schema::RawDeploy;
use crate::schema::RawScenario;
use crate::topology::Topology;
use crate::units::format_duration;

/// Resolves the delivery sections; `Some(None)` when the file has none of them, `None` on
/// an error. `duration_ns` is the run's length (deploys must start before it ends).
pub(super) fn resolve(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    t: &Topology,
    duration_ns: u64,
) -> Option<Option<DeliverySpec>> {
    if !raw.has_delivery() {
        return Some(None);
    }
    let alerts = t.monitoring.as_ref().map(|m| m.alert_names()).filter(|n| !n.is_empty());
    let servers_max = raw.pool_max();
    let pipeline = match &raw.pipeline {
        Some(p) => resolve_pipeline(cx, p),
        None => Some(PipelineSpec::default()),
    };
    let mut ok = pipeline.is_some();
    let mut deploys = Vec::with_capacity(raw.deploys.len());
    for d in &raw.deploys {
        match resolve_deploy(cx, d.get_ref(), t, alerts.as_deref(), duration_ns, servers_max) {
            Some(d) => deploys.push(d),
            None => ok = false,
        }
    }
    let oncall = match &raw.oncall {
        Some(o) => resolve_oncall(cx, raw, o, t, alerts.is_some()).map(Some),
        None => Some(None),
    };
    if let (Some(first), None) = (raw.playbooks.first(), &alerts) {
        cx.error(first.get_ref().alert.span(), format!("[[playbooks]] {NEEDS_ALERTS}"));
        ok = false;
    }
    let mut playbooks = Vec::with_capacity(raw.playbooks.len());
    for p in &raw.playbooks {
        match resolve_playbook(cx, p.get_ref(), t, alerts.as_deref(), servers_max) {
            Some(p) => playbooks.push(p),
            None => ok = false,
        }
    }
    let notify = super::notify::resolve_notify(cx, raw, t);
    ok &= super::notify::check_authors(cx, raw, notify.as_ref().and_then(|n| n.as_deref()));
    let (mut pipeline, oncall) = (pipeline?, oncall?);
    pipeline.notify = notify?;
    if !ok || !check_versions(cx, raw, &pipeline) {
        return None;
    }
    warn_cross(cx, raw, &pipeline, &deploys, &playbooks);
    Some(Some(DeliverySpec { pipeline, deploys, oncall, playbooks }))
}

fn resolve_deploy(
    cx: &mut Ctx<'_>,
    d: &RawDeploy,
    t: &Topology,
    alerts: Option<&[String]>,
    duration_ns: u64,
    servers_max: u32,
) -> Option<DeploySpec> {
    let mut ok = true;
    let at_ns = cx.duration(&d.at, "deploys.at");
    if let Some(at) = at_ns.filter(|&at| at >= duration_ns) {
        cx.error(
            d.at.span(),
            format!(
                "deploys.at ({}) must be before the end of the run (scenario.duration is {})",
                format_duration(at),
                format_duration(duration_ns)
            ),
        );
        ok = false;
    }
    let strategy = resolve_release(cx, d.release(), "deploys", servers_max);
    let effects = resolve_effects(cx, d.effects.as_ref(), "deploys", t);
    let mut rollback_on = Vec::new();
    if let Some(list) = d.rollback_on.as_ref().filter(|l| !l.get_ref().is_empty()) {
        match alerts {
            None => {
                cx.error(list.span(), format!("deploys.rollback_on {NEEDS_ALERTS}"));
                ok = false;
            }
            Some(known) => {
                for a in list.get_ref() {
                    cx.known_alert(a, "deploys.rollback_on", known);
                    rollback_on.push(a.get_ref().clone());
                }
            }
        }
    }
    let spec = DeploySpec {
        version: d.version.get_ref().clone(),
        at_ns: at_ns?,
        strategy: strategy?,
        effects: effects?,
        rollback_on,
        author: d.author.as_ref().map(|a| a.get_ref().clone()),
    };
    ok.then_some(spec)
}

/// Versions are non-empty and unique across `[[deploys]]` and hotfix playbooks, and none
/// is the initial version.
fn check_versions(cx: &mut Ctx<'_>, raw: &RawScenario, pipeline: &PipelineSpec) -> bool {
    let versions: Vec<&Spanned<String>> = raw
        .deploys
        .iter()
        .map(|d| &d.get_ref().version)
        .chain(raw.playbooks.iter().filter_map(|p| p.get_ref().version.as_ref()))
        .collect();
    let mut ok = true;
    for (i, v) in versions.iter().enumerate() {
        let name = v.get_ref();
        let field = if i < raw.deploys.len() { "deploys.version" } else { "playbooks.version" };
        let problem = if name.trim().is_empty() {
            Some("must be a non-empty version name, e.g. \"v1.5.0\"".to_string())
        } else if *name == pipeline.initial_version {
            Some(format!(
                "`{name}` is the version servers run at the start (pipeline.initial_version); a release needs a new one"
            ))
        } else if versions[..i].iter().any(|p| p.get_ref() == name) {
            Some(format!(
                "version `{name}` is used twice; versions of [[deploys]] and hotfix [[playbooks]] must be unique"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            cx.error(v.span(), format!("{field}: {problem}"));
            ok = false;
        }
    }
    ok
}

/// Warnings about references that resolve but cannot work as written.
fn warn_cross(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    pipeline: &PipelineSpec,
    deploys: &[DeploySpec],
    playbooks: &[PlaybookSpec],
) {
    const NO_PLAN: &str =
        "but [pipeline] has no `rollback`: the rollback will fail — that is a finding the post-mortem reports";
    if pipeline.rollback_ns.is_none() {
        for (d, raw_d) in deploys.iter().zip(&raw.deploys) {
            if let (false, Some(list)) = (d.rollback_on.is_empty(), &raw_d.get_ref().rollback_on) {
                cx.warning(list.span(), format!("deploys.rollback_on rolls the release back, {NO_PLAN}"));
            }
        }
        for (p, raw_p) in playbooks.iter().zip(&raw.playbooks) {
            if p.action == PlaybookAction::Rollback {
                cx.warning(
                    raw_p.get_ref().action.span(),
                    format!("a rollback playbook rolls the newest release back, {NO_PLAN}"),
                );
            }
        }
    }
    let has_flag = deploys.iter().any(|d| matches!(d.strategy, ReleaseStrategy::FeatureFlag { .. }));
    for (p, raw_p) in playbooks.iter().zip(&raw.playbooks) {
        if p.action == PlaybookAction::DisableFlag && !has_flag {
            cx.warning(
                raw_p.get_ref().action.span(),
                "a disable_flag playbook turns off the newest feature flag, but no [[deploys]] uses strategy \"feature_flag\": there is nothing to disable",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::delivery::{CanaryAnalysis, OnCallHours, PlaybookAction, ReleaseStrategy, StageKind, VersionEffects};
    use crate::{Severity, load_str};
    use prodsim_kernel::dist;
    use std::path::Path;

    const BASE: &str = r#"[scenario]
name = "d"
duration = "2h"
[[workload]]
name = "w"
rate = 10
[servers]
count = 4
[[requests]]
name = "browse"
weight = 0.9
steps = [{ cpu = "exp(5ms)" }]
[[requests]]
name = "checkout"
weight = 0.1
revenue = 42.0
steps = [{ cpu = "exp(5ms)" }, { call = "payment_api" }]
[services.payment_api]
latency = "exp(100ms)"
[monitoring]
ready_rules = true
[[alerts]]
alert = "HighErrorRate"
expr = "vector(1)"
"#;

    /// The line in `BASE + extra` of `needle`'s first occurrence in `extra`.
    fn line_of(extra: &str, needle: &str) -> usize {
        let at = extra.find(needle).unwrap_or_else(|| panic!("`{needle}` not in {extra}"));
        BASE.matches('\n').count() + extra[..at].matches('\n').count() + 1
    }

    fn load(extra: &str) -> Result<crate::Loaded, String> {
        load_str(&format!("{BASE}{extra}"), Path::new("t.toml")).map_err(|e| e.to_string())
    }

    /// Asserts that `extra` is refused with an error on the line of `needle` whose message
    /// contains every one of `parts`.
    fn check_error(extra: &str, needle: &str, parts: &[&str]) {
        let e = load(extra).err().unwrap_or_else(|| panic!("loads, but should fail: {extra}"));
        let line = format!("t.toml:{}:", line_of(extra, needle));
        let hit = e.lines().find(|l| l.starts_with(&line) && l.contains("error"));
        let hit = hit.unwrap_or_else(|| panic!("no error on {line} in:\n{e}"));
        for p in parts {
            assert!(hit.contains(p), "`{p}` missing from: {hit}");
        }
    }

    fn warnings(extra: &str) -> Vec<String> {
        let l = load(extra).unwrap_or_else(|e| panic!("{e}"));
        l.warnings
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| format!("{}: {}", d.line, d.message))
            .collect()
    }

    const FULL: &str = r#"
[database]
replicas = 1
read_time = "exp(2ms)"
write_time = "exp(4ms)"
[pipeline]
initial_version = "v1.4.0"
stages = [
  { stage = "build", duration = "4m", failure = 0.02 },
  { stage = "tests", duration = "lognormal(8m, 12m)", failure = 0.03 },
  { stage = "staging_verify", duration = "10m" },
]
staging_fidelity = 0.7
deploy_time = "20s"
rollback = "3m"
hotfix_stages = ["build"]
[pipeline.health_check]
window = "5m"
max_p99 = "2s"
[[deploys]]
version = "v1.5.0"
at = "10m"
strategy = "canary"
steps = [0.1, 1.0]
analysis = { max_latency_ratio = 2.0 }
rollback_on = ["HighErrorRate"]
[deploys.effects]
error_rate = 0.05
classes = ["checkout"]
latency = "exp(200ms)"
memory_leak = 2.5
crash_after = "90s"
[[deploys]]
version = "v1.6.0"
at = "1h"
strategy = "rolling"
batch = 2
[oncall]
escalate_after = "5m"
[[oncall.responders]]
name = "alice"
hours = "business"
miss = 0.1
[[oncall.responders]]
name = "bob"
[[playbooks]]
alert = "HighErrorRate"
action = "hotfix"
duration = "lognormal(15m, 25m)"
failure = 0.1
version = "v1.4.1"
[playbooks.effects]
degrade = ["payment_api"]
[[playbooks]]
alert = "HighErrorRate"
action = "scale_out"
count = 4
[[playbooks]]
alert = "HighErrorRate"
action = "failover"
"#;

    #[test]
    fn a_full_file_resolves() {
        let l = load(FULL).unwrap_or_else(|e| panic!("{e}"));
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let t = l.scenario.topology;
        assert_eq!(t.classes.iter().map(|c| c.revenue).collect::<Vec<_>>(), vec![0.0, 42.0]);
        let d = t.delivery.expect("delivery");
        let p = &d.pipeline;
        assert_eq!(p.initial_version, "v1.4.0");
        assert_eq!(
            p.stages.iter().map(|s| s.kind).collect::<Vec<_>>(),
            [StageKind::Build, StageKind::Tests, StageKind::StagingVerify]
        );
        assert_eq!(p.stages[0].duration, prodsim_kernel::Dist::constant(240_000_000_000));
        assert_eq!((p.stages[0].failure, p.stages[2].failure), (0.02, 0.0));
        assert_eq!((p.staging_fidelity, p.deploy_time_ns, p.rollback_ns), (0.7, 20_000_000_000, Some(180_000_000_000)));
        assert_eq!(p.hotfix_stages, vec![StageKind::Build]);
        let h = p.health_check.as_ref().expect("health check");
        assert_eq!(
            (h.window_ns, h.interval_ns, h.max_error_ratio, h.max_p99_ns, h.min_requests),
            (300_000_000_000, 10_000_000_000, 0.05, Some(2_000_000_000), 20)
        );
        assert_eq!(d.deploys[0].at_ns, 600_000_000_000);
        let analysis = CanaryAnalysis { max_latency_ratio: 2.0, ..CanaryAnalysis::default() };
        assert_eq!(
            d.deploys[0].strategy,
            ReleaseStrategy::Canary { steps: vec![0.1, 1.0], bake_ns: 300_000_000_000, analysis }
        );
        assert_eq!(d.deploys[0].rollback_on, vec!["HighErrorRate".to_string()]);
        let e = &d.deploys[0].effects;
        assert_eq!(
            (e.error_rate, e.classes.as_slice(), e.memory_leak_mb_per_s, e.crash_after_ns),
            (0.05, &[1u16][..], 2.5, Some(90_000_000_000))
        );
        assert!(e.latency.is_some() && e.is_harmful());
        assert_eq!(d.deploys[1].strategy, ReleaseStrategy::Rolling { batch: 2, pause_ns: 60_000_000_000 });
        assert_eq!(d.deploys[1].effects, VersionEffects::default());
        let o = d.oncall.expect("oncall");
        assert_eq!(o.escalate_after_ns, 300_000_000_000);
        assert_eq!((o.responders[0].hours, o.responders[0].miss), (OnCallHours::Business, 0.1));
        assert_eq!(
            (o.responders[1].hours, &o.responders[1].ack),
            (OnCallHours::Always, &dist::parse("lognormal(2m, 8m)").expect("parses"))
        );
        let payment = t.services.iter().position(|s| s.name == "payment_api").expect("service") as u16;
        let fix = VersionEffects { degrade: vec![payment], ..VersionEffects::default() };
        assert_eq!(
            d.playbooks[0].action,
            PlaybookAction::Hotfix { version: "v1.4.1".into(), strategy: ReleaseStrategy::AllAtOnce, effects: fix }
        );
        assert_eq!(d.playbooks[0].failure, 0.1);
        assert_eq!(d.playbooks[1].action, PlaybookAction::ScaleOut { count: 4 });
        assert_eq!(d.playbooks[2].action, PlaybookAction::Failover);
    }

    #[test]
    fn defaults_resolve_into_the_topology() {
        let l = load("[[deploys]]\nversion = \"v2\"\nat = \"5m\"\n").unwrap_or_else(|e| panic!("{e}"));
        let d = l.scenario.topology.delivery.expect("delivery");
        assert_eq!(d.pipeline, crate::delivery::PipelineSpec::default());
        assert_eq!(d.deploys[0].strategy, ReleaseStrategy::AllAtOnce);
        assert!(d.oncall.is_none() && d.playbooks.is_empty());
        let single = "[scenario]\nname = \"s\"\nduration = \"1h\"\n[[workload]]\nname = \"w\"\nrate = 1\n[servers]\nservice_time = \"exp(1ms)\"\n[pipeline]\nrollback = \"none\"\n";
        let l = load_str(single, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
        let d = l.scenario.topology.delivery.expect("a [pipeline] is resolved into the topology");
        assert_eq!(d.pipeline.rollback_ns, None);
        for default in ["lognormal(5m, 15m)", "lognormal(2m, 8m)"] {
            assert!(dist::parse(default).is_ok(), "{default}");
        }
        let l = load("[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"scale_out\"\ncount = 1\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let d = l.scenario.topology.delivery.expect("delivery");
        assert_eq!(d.playbooks[0].duration, prodsim_kernel::Dist::constant(60_000_000_000));
    }

    #[test]
    fn deploy_mistakes_name_the_field_and_the_line() {
        let dep = "[[deploys]]\nversion = \"v2\"\nat = \"5m\"\n";
        check_error(
            &format!("{dep}strategy = \"big_bang\"\n"),
            "big_bang",
            &["deploys.strategy", "all_at_once, rolling, canary, blue_green, feature_flag"],
        );
        check_error(
            &format!("{dep}strategy = \"canary\"\nbatch = 2\n"),
            "batch",
            &["deploys.batch", "canary release takes no `batch`", "`steps`, `bake` and `analysis`"],
        );
        check_error(
            &format!("{dep}strategy = \"canary\"\nsteps = [0.1, 0.5]\n"),
            "0.5]",
            &["deploys.steps", "must end at 1.0"],
        );
        check_error(
            &format!("{dep}strategy = \"feature_flag\"\nsteps = [0.5, 0.1, 1.0]\n"),
            "0.1, 1.0",
            &["deploys.steps", "strictly increasing"],
        );
        check_error(
            &format!("{dep}[deploys.effects]\nclasses = [\"chekout\"]\n"),
            "\"chekout",
            &[
                "deploys.effects.classes",
                "unknown request class `chekout`",
                "browse, checkout",
                "did you mean `checkout`",
            ],
        );
        check_error(
            &format!("{dep}[deploys.effects]\ndegrade = [\"payments\"]\n"),
            "\"payments",
            &["deploys.effects.degrade", "unknown service `payments`", "payment_api"],
        );
        check_error(
            &format!("{dep}[deploys.effects]\nerror_rate = 1.5\n"),
            "1.5",
            &["deploys.effects.error_rate", "between 0 and 1"],
        );
        check_error(
            "[[deploys]]\nversion = \"v2\"\nat = \"3h\"\n",
            "\"3h",
            &["deploys.at", "before the end of the run"],
        );
        check_error(
            &format!("{dep}[[deploys]]\nversion = \"v2\"\nat = \"6m\"\n"),
            "\"v2\"\nat = \"6m",
            &["deploys.version", "`v2` is used twice"],
        );
        check_error("[[deploys]]\nversion = \"v1\"\nat = \"5m\"\n", "\"v1\"", &["deploys.version", "initial_version"]);
    }

    #[test]
    fn pipeline_and_response_mistakes_name_the_field_and_the_line() {
        let dep = "[[deploys]]\nversion = \"v2\"\nat = \"5m\"\n";
        check_error(
            "[pipeline]\nstages = [{ stage = \"build\", duration = \"1m\", failure = 1.0 }]\n",
            "stages",
            &["pipeline.stages.failure", "not including, 1"],
        );
        check_error(
            "[pipeline]\nstages = [{ stage = \"build\", duration = \"1m\" }]\nhotfix_stages = [\"tests\"]\n",
            "hotfix",
            &["pipeline.hotfix_stages", "unknown stage `tests`", "configured stages are build"],
        );
        check_error(
            "[pipeline.health_check]\nwindow = \"5m\"\nmax_error_ratio = 0\n",
            "max_error_ratio",
            &["pipeline.health_check.max_error_ratio", "above 0 and at most 1"],
        );
        check_error(
            "[pipeline.health_check]\nwindow = \"1m\"\ninterval = \"2m\"\n",
            "interval",
            &["pipeline.health_check.interval", "at most pipeline.health_check.window"],
        );
        check_error(
            "[oncall]\n[[oncall.responders]]\nname = \"a\"\nhours = \"weekends\"\n",
            "weekends",
            &["oncall.responders.hours", "business, nights, always"],
        );
        check_error(
            "[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"rollback\"\ncount = 2\n",
            "count",
            &["playbooks.count", "rollback playbook takes no `count`"],
        );
        check_error(
            "[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"scale_out\"\n",
            "scale_out",
            &["playbooks.count", "needs `count`"],
        );
        check_error(
            "[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"failover\"\n",
            "failover",
            &["playbooks.action", "no [database]"],
        );
        check_error(
            &format!("{dep}[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"hotfix\"\nversion = \"v2\" # dup\n"),
            "\"v2\" # dup",
            &["playbooks.version", "used twice"],
        );
    }

    #[test]
    fn alerting_is_required_for_oncall_rollback_on_and_playbooks() {
        let base_without = BASE.replace(
            "[monitoring]\nready_rules = true\n[[alerts]]\nalert = \"HighErrorRate\"\nexpr = \"vector(1)\"\n",
            "",
        );
        for (extra, field) in [
            ("[oncall]\n[[oncall.responders]]\nname = \"a\"\n", "[oncall] needs alerts"),
            ("[[deploys]]\nversion = \"v2\"\nat = \"5m\"\nrollback_on = [\"X\"]\n", "deploys.rollback_on needs alerts"),
            ("[[playbooks]]\nalert = \"X\"\naction = \"rollback\"\n", "[[playbooks]] needs alerts"),
        ] {
            let e = load_str(&format!("{base_without}{extra}"), Path::new("t.toml")).err().map(|e| e.to_string());
            let e = e.unwrap_or_else(|| panic!("{extra} should need alerts"));
            assert!(e.contains(field) && e.contains("add [monitoring] with ready_rules, [[alerts]] or [slo]"), "{e}");
        }
        check_error("[oncall]\nescalate_after = \"1m\"\n", "[oncall]", &["needs at least one [[oncall.responders]]"]);
    }

    #[test]
    fn oncall_fatigue_resolves_with_defaults_and_checks_bounds() {
        let oncall = "[oncall]\n[[oncall.responders]]\nname = \"a\"\n";
        let fatigue = |extra: &str| {
            let l = load(&format!("{oncall}[oncall.fatigue]\n{extra}")).unwrap_or_else(|e| panic!("{e}"));
            l.scenario.topology.delivery.and_then(|d| d.oncall).and_then(|o| o.fatigue).expect("fatigue")
        };
        let f = fatigue("");
        assert_eq!((f.window_ns, f.miss_per_page, f.miss_max), (86_400_000_000_000, 0.02, 0.5));
        assert_eq!(f.ack_delay_per_page_ns, 30_000_000_000);
        let f = fatigue("window = \"12h\"\nmiss_per_page = 0.1\nmiss_max = 0.3\nack_delay_per_page = \"2m\"\n");
        assert_eq!((f.window_ns, f.miss_per_page, f.miss_max), (43_200_000_000_000, 0.1, 0.3));
        assert_eq!(f.ack_delay_per_page_ns, 120_000_000_000);
        let without = load(oncall).unwrap_or_else(|e| panic!("{e}"));
        assert!(without.scenario.topology.delivery.and_then(|d| d.oncall).is_some_and(|o| o.fatigue.is_none()));
        for (bad, parts) in [
            ("window = \"0s\"", &["oncall.fatigue.window", "longer than zero"][..]),
            ("miss_per_page = 1.5", &["oncall.fatigue.miss_per_page", "between 0 and 1"]),
            ("miss_max = 1.0", &["oncall.fatigue.miss_max", "not including, 1"]),
            ("ack_delay_per_page = \"soon\"", &["oncall.fatigue.ack_delay_per_page"]),
            ("ack_per_page = \"1m\"", &["unknown field `ack_per_page`"]),
        ] {
            check_error(&format!("{oncall}[oncall.fatigue]\n{bad}\n"), bad, parts);
        }
    }

    #[test]
    fn references_that_cannot_work_are_warnings() {
        let w = warnings(
            "[pipeline]\nrollback = \"2m\"\n[[deploys]]\nversion = \"v2\"\nat = \"5m\"\nrollback_on = [\"HighErorRate\"]\n",
        );
        let line = line_of(
            "[pipeline]\nrollback = \"2m\"\n[[deploys]]\nversion = \"v2\"\nat = \"5m\"\nrollback_on = [\"HighErorRate\"]\n",
            "rollback_on",
        );
        assert!(
            w.iter().any(|m| m
                .starts_with(&format!("{line}: deploys.rollback_on: no alert named `HighErorRate`; known alerts: "))
                && m.contains("HighErrorRate")),
            "{w:?}"
        );
        let w = warnings(
            "[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"rollback\"\n[[playbooks]]\nalert = \"HighErrorRate\"\naction = \"disable_flag\"\n",
        );
        assert!(w.iter().any(|m| m.contains("has no `rollback`: the rollback will fail")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("disable_flag") && m.contains("feature_flag")), "{w:?}");
        let w = warnings("[pipeline]\nstaging_fidelity = 0.9\n");
        assert!(w.iter().any(|m| m.contains("staging_verify")), "{w:?}");
        let w = warnings("[oncall]\nreceivers = [\"pager\"]\n[[oncall.responders]]\nname = \"a\"\n");
        assert!(w.iter().any(|m| m.contains("oncall.receivers: no receiver `pager`")), "{w:?}");
    }

    #[test]
    fn revenue_must_be_finite_and_not_negative() {
        let text = BASE.replace("revenue = 42.0", "revenue = -1.0");
        let e = load_str(&text, Path::new("t.toml")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("requests.revenue") && e.contains("0 or more"), "{e}");
    }
}
