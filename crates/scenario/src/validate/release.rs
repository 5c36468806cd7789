//! Resolving releases: the pipeline they go through (`[pipeline]`), their strategy with
//! the keys that strategy takes (shared by `[[deploys]]` and hotfix `[[playbooks]]`), and
//! its effects on the servers that run it.

use toml::Spanned;

use super::ctx::{Ctx, FRACTION, FRACTION_ABOVE_ZERO, FRACTION_BELOW_ONE};
use crate::delivery::{
    CanaryAnalysis, HealthCheckSpec, PipelineSpec, ReleaseStrategy, StageKind, StageSpec, VersionEffects,
};
use crate::delivery_schema::{RawAnalysis, RawDeployHealthCheck, RawEffects, RawPipeline, RawRelease};
use crate::topology::{ServiceId, Topology};
use crate::units::{NS_PER_S, format_duration};

/// Default canary steps.
const CANARY_STEPS: [f64; 4] = [0.05, 0.25, 0.5, 1.0];
/// Default feature flag steps.
const FLAG_STEPS: [f64; 4] = [0.01, 0.1, 0.5, 1.0];

/// "`a`, `b` and `c`", or `none` for an empty list.
pub(super) fn key_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.as_slice() {
        [] => "none of them".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Resolves a release's strategy and its keys; `field` is `deploys` or `playbooks`.
pub(super) fn resolve_release(
    cx: &mut Ctx<'_>,
    r: RawRelease<'_>,
    field: &str,
    servers_max: u32,
) -> Option<ReleaseStrategy> {
    let name = match r.strategy {
        Some(s) => {
            let names = ReleaseStrategy::NAMES;
            names[cx.pick(s, &format!("{field}.strategy"), "strategy", "use one of", &names)?]
        }
        None => "all_at_once",
    };
    check_strategy_keys(cx, &r, field, name)?;
    let bake = |cx: &mut Ctx<'_>| cx.positive_duration_or(r.bake, &format!("{field}.bake"), 300 * NS_PER_S);
    Some(match name {
        "rolling" => rolling(cx, &r, field, servers_max)?,
        "canary" => {
            let steps = steps(cx, r.steps, field, &CANARY_STEPS)?;
            let bake_ns = bake(cx)?;
            let analysis = analysis(cx, r.analysis, field)?;
            ReleaseStrategy::Canary { steps, bake_ns, analysis }
        }
        "feature_flag" => {
            let steps = steps(cx, r.steps, field, &FLAG_STEPS)?;
            ReleaseStrategy::FeatureFlag { steps, bake_ns: bake(cx)? }
        }
        "blue_green" => ReleaseStrategy::BlueGreen,
        _ => ReleaseStrategy::AllAtOnce,
    })
}

/// The strategy `name` takes only its own keys, so a key meant for another never goes
/// silently unused.
fn check_strategy_keys(cx: &mut Ctx<'_>, r: &RawRelease<'_>, field: &str, name: &str) -> Option<()> {
    let takes: &[&str] = match name {
        "rolling" => &["batch", "pause"],
        "canary" => &["steps", "bake", "analysis"],
        "feature_flag" => &["steps", "bake"],
        _ => &[],
    };
    let given = [
        ("batch", r.batch.map(Spanned::span)),
        ("pause", r.pause.map(Spanned::span)),
        ("steps", r.steps.map(Spanned::span)),
        ("bake", r.bake.map(Spanned::span)),
        ("analysis", r.analysis.map(Spanned::span)),
    ];
    for (key, span) in given {
        if let (Some(span), false) = (span, takes.contains(&key)) {
            cx.error(
                span,
                format!(
                    "{field}.{key}: a {name} release takes no `{key}`; of `batch`, `pause`, `steps`, `bake` and `analysis` it takes {}",
                    key_list(takes)
                ),
            );
            return None;
        }
    }
    Some(())
}

/// A rolling release: `batch` servers at a time (1 to the most app servers), `pause`
/// between batches.
fn rolling(cx: &mut Ctx<'_>, r: &RawRelease<'_>, field: &str, servers_max: u32) -> Option<ReleaseStrategy> {
    let max = servers_max.max(1);
    let batch = match r.batch {
        Some(b) if !(1..=max).contains(b.get_ref()) => {
            cx.error(b.span(), format!("{field}.batch must be 1 to {max} (the most app servers), got {}", b.get_ref()));
            return None;
        }
        Some(b) => *b.get_ref(),
        None => 1,
    };
    let pause_ns = cx.duration_or(r.pause, &format!("{field}.pause"), 60 * NS_PER_S)?;
    Some(ReleaseStrategy::Rolling { batch, pause_ns })
}

/// Traffic shares: at least one, each in (0, 1], strictly increasing, the last 1.0.
fn steps(cx: &mut Ctx<'_>, v: Option<&Spanned<Vec<Spanned<f64>>>>, field: &str, default: &[f64]) -> Option<Vec<f64>> {
    let Some(v) = v else { return Some(default.to_vec()) };
    let field = format!("{field}.steps");
    let Some(last) = v.get_ref().last() else {
        cx.error(v.span(), format!("{field} needs at least one traffic share, the last 1.0"));
        return None;
    };
    let mut out: Vec<f64> = Vec::with_capacity(v.get_ref().len());
    for s in v.get_ref() {
        let x = *s.get_ref();
        if !(x > 0.0 && x <= 1.0) {
            cx.error(s.span(), format!("{field}: each step is a share of traffic above 0 and at most 1, got {x}"));
            return None;
        }
        if let Some(&prev) = out.last() {
            if x <= prev {
                cx.error(s.span(), format!("{field} must be strictly increasing, but {x} follows {prev}"));
                return None;
            }
        }
        out.push(x);
    }
    if *last.get_ref() < 1.0 {
        cx.error(
            last.span(),
            format!("{field} must end at 1.0 (every request on the new version), but ends at {}", last.get_ref()),
        );
        return None;
    }
    Some(out)
}

fn analysis(cx: &mut Ctx<'_>, v: Option<&Spanned<RawAnalysis>>, field: &str) -> Option<CanaryAnalysis> {
    let d = CanaryAnalysis::default();
    let Some(v) = v else { return Some(d) };
    let a = v.get_ref();
    let max_error_increase = cx.number_or(
        a.max_error_increase.as_ref(),
        &format!("{field}.analysis.max_error_increase"),
        d.max_error_increase,
        FRACTION,
    )?;
    let max_latency_ratio = match &a.max_latency_ratio {
        Some(r) if !(r.get_ref().is_finite() && *r.get_ref() >= 1.0) => {
            cx.error(
                r.span(),
                format!("{field}.analysis.max_latency_ratio must be a number of at least 1, got {}", r.get_ref()),
            );
            return None;
        }
        Some(r) => *r.get_ref(),
        None => d.max_latency_ratio,
    };
    let min_requests = match &a.min_requests {
        Some(m) => cx.positive_count(m, &format!("{field}.analysis.min_requests"))?,
        None => d.min_requests,
    };
    Some(CanaryAnalysis { max_error_increase, max_latency_ratio, min_requests })
}

/// Resolves `[<field>.effects]` against the topology's classes and services.
pub(super) fn resolve_effects(
    cx: &mut Ctx<'_>,
    v: Option<&Spanned<RawEffects>>,
    field: &str,
    t: &Topology,
) -> Option<VersionEffects> {
    let Some(v) = v else { return Some(VersionEffects::default()) };
    let e = v.get_ref();
    let field = format!("{field}.effects");
    let mut ok = true;
    let error_rate = cx.number_or(e.error_rate.as_ref(), &format!("{field}.error_rate"), 0.0, FRACTION);
    let class_names: Vec<&str> = t.classes.iter().map(|c| c.name.as_str()).collect();
    let mut classes = Vec::new();
    for c in e.classes.iter().flatten() {
        match cx.pick(c, &format!("{field}.classes"), "request class", "classes:", &class_names) {
            Some(i) => classes.push(i as u16),
            None => ok = false,
        }
    }
    let latency = match &e.latency {
        Some(l) => cx.dist_or_fixed(l, &format!("{field}.latency")).map(Some),
        None => Some(None),
    };
    let memory_leak_mb_per_s = match &e.memory_leak {
        Some(m) if !(m.get_ref().is_finite() && *m.get_ref() >= 0.0) => {
            cx.error(m.span(), format!("{field}.memory_leak must be MiB per second, 0 or more, got {}", m.get_ref()));
            None
        }
        Some(m) => Some(*m.get_ref()),
        None => Some(0.0),
    };
    let crash_after_ns = match &e.crash_after {
        Some(c) => cx.positive_duration(c, &format!("{field}.crash_after")).map(Some),
        None => Some(None),
    };
    let service_names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    let mut degrade = Vec::new();
    for s in e.degrade.iter().flatten() {
        match cx.pick(s, &format!("{field}.degrade"), "service", "services:", &service_names) {
            Some(i) => degrade.push(i as ServiceId),
            None => ok = false,
        }
    }
    let effects = VersionEffects {
        error_rate: error_rate?,
        classes,
        latency: latency?,
        memory_leak_mb_per_s: memory_leak_mb_per_s?,
        crash_after_ns: crash_after_ns?,
        degrade,
    };
    ok.then_some(effects)
}

/// Resolves `[pipeline]`.
pub(super) fn resolve_pipeline(cx: &mut Ctx<'_>, p: &Spanned<RawPipeline>) -> Option<PipelineSpec> {
    let r = p.get_ref();
    let d = PipelineSpec::default();
    let initial_version = match &r.initial_version {
        Some(v) if v.get_ref().trim().is_empty() => {
            cx.error(v.span(), "pipeline.initial_version must be a non-empty version name, e.g. \"v1.4.0\"");
            None
        }
        Some(v) => Some(v.get_ref().clone()),
        None => Some(d.initial_version),
    };
    let (stages, stages_ok) = pipeline_stages(cx, r);
    let staging_fidelity =
        cx.number_or(r.staging_fidelity.as_ref(), "pipeline.staging_fidelity", d.staging_fidelity, FRACTION);
    if let (Some(f), true) = (&r.staging_fidelity, stages_ok && initial_version.is_some()) {
        if !stages.iter().any(|s| s.kind == StageKind::StagingVerify) {
            cx.warning(f.span(), "pipeline.staging_fidelity has no effect without a `staging_verify` stage");
        }
    }
    let deploy_time_ns = cx.positive_duration_or(r.deploy_time.as_ref(), "pipeline.deploy_time", d.deploy_time_ns);
    let rollback_ns = match &r.rollback {
        Some(v) if v.get_ref() == "none" => Some(None),
        Some(v) => cx.positive_duration(v, "pipeline.rollback").map(Some),
        None => Some(None),
    };
    let hotfix_stages = hotfix_stages(cx, r, &stages);
    let health_check = match &r.health_check {
        Some(h) => resolve_health_check(cx, h.get_ref()).map(Some),
        None => Some(None),
    };
    let spec = PipelineSpec {
        initial_version: initial_version?,
        stages,
        staging_fidelity: staging_fidelity?,
        deploy_time_ns: deploy_time_ns?,
        health_check: health_check?,
        rollback_ns: rollback_ns?,
        hotfix_stages: hotfix_stages?,
        // Checked against the receivers with the rest of the delivery sections.
        notify: None,
    };
    stages_ok.then_some(spec)
}

/// `pipeline.stages`: each a known stage, at most once, with its duration and failure
/// probability; the stages that resolved, and whether all did.
fn pipeline_stages(cx: &mut Ctx<'_>, r: &RawPipeline) -> (Vec<StageSpec>, bool) {
    let names = StageKind::ALL.map(StageKind::as_str);
    let mut stages: Vec<StageSpec> = Vec::with_capacity(r.stages.len());
    let mut ok = true;
    for s in &r.stages {
        let s = s.get_ref();
        let Some(i) = cx.pick(&s.stage, "pipeline.stages.stage", "stage", "use one of", &names) else {
            ok = false;
            continue;
        };
        let kind = StageKind::ALL[i];
        if stages.iter().any(|st| st.kind == kind) {
            cx.error(
                s.stage.span(),
                format!("pipeline.stages: stage `{}` appears twice; each stage runs at most once", kind.as_str()),
            );
            ok = false;
        }
        let duration = cx.dist_or_fixed(&s.duration, "pipeline.stages.duration");
        let failure = cx.number_or(s.failure.as_ref(), "pipeline.stages.failure", 0.0, FRACTION_BELOW_ONE);
        match (duration, failure) {
            (Some(duration), Some(failure)) => stages.push(StageSpec { kind, duration, failure }),
            _ => ok = false,
        }
    }
    (stages, ok)
}

/// `pipeline.hotfix_stages`: the configured stages a hotfix goes through (default all).
fn hotfix_stages(cx: &mut Ctx<'_>, r: &RawPipeline, stages: &[StageSpec]) -> Option<Vec<StageKind>> {
    let Some(list) = &r.hotfix_stages else { return Some(stages.iter().map(|s| s.kind).collect()) };
    let configured: Vec<&str> = stages.iter().map(|s| s.kind.as_str()).collect();
    let mut out: Vec<StageKind> = Vec::new();
    let mut ok = true;
    for v in list.get_ref() {
        let Some(i) = cx.pick(v, "pipeline.hotfix_stages", "stage", "the configured stages are", &configured) else {
            ok = false;
            continue;
        };
        if out.contains(&stages[i].kind) {
            cx.error(v.span(), format!("pipeline.hotfix_stages: stage `{}` appears twice", v.get_ref()));
            ok = false;
        }
        out.push(stages[i].kind);
    }
    ok.then_some(out)
}

/// `[pipeline.health_check]`: the post-deploy check's window, interval and thresholds.
fn resolve_health_check(cx: &mut Ctx<'_>, h: &RawDeployHealthCheck) -> Option<HealthCheckSpec> {
    const FIELD: &str = "pipeline.health_check";
    let window_ns = cx.positive_duration(&h.window, "pipeline.health_check.window")?;
    let interval_ns = cx.positive_duration_or(h.interval.as_ref(), "pipeline.health_check.interval", 10 * NS_PER_S)?;
    if interval_ns > window_ns {
        let span = h.interval.as_ref().map_or(h.window.span(), Spanned::span);
        cx.error(
            span,
            format!(
                "{FIELD}.interval ({}) must be at most {FIELD}.window ({})",
                format_duration(interval_ns),
                format_duration(window_ns)
            ),
        );
        return None;
    }
    let max_error_ratio =
        cx.number_or(h.max_error_ratio.as_ref(), "pipeline.health_check.max_error_ratio", 0.05, FRACTION_ABOVE_ZERO)?;
    let max_p99_ns = match &h.max_p99 {
        Some(v) => Some(cx.positive_duration(v, "pipeline.health_check.max_p99")?),
        None => None,
    };
    let min_requests = match &h.min_requests {
        Some(v) => cx.positive_count(v, "pipeline.health_check.min_requests")?,
        None => 20,
    };
    Some(HealthCheckSpec { window_ns, interval_ns, max_error_ratio, max_p99_ns, min_requests })
}
