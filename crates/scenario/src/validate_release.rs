//! Resolving releases: the pipeline they go through (`[pipeline]`), their strategy with the keys that strategy takes (shared by
//! `[[deploys]]` and hotfix `[[playbooks]]`), its effects on the servers that run it, and
//! the small checks every delivery section uses (shares, positive durations, names from a
//! list with the nearest suggested).

use toml::Spanned;

use super::delivery::{
    CanaryAnalysis, HealthCheckSpec, PipelineSpec, ReleaseStrategy, StageKind, StageSpec, VersionEffects,
};
use super::delivery_schema::{RawAnalysis, RawDeployHealthCheck, RawEffects, RawPipeline, RawRelease};
use super::diagnostic::{Diagnostic, Severity, nearest};
use super::topology::Topology;
use super::units::{self, format_duration};
use super::validate::Ctx;
use prodsim_kernel::{Dist, NS_PER_S, dist};

const SECOND: u64 = NS_PER_S;
/// Default canary steps.
const CANARY_STEPS: [f64; 4] = [0.05, 0.25, 0.5, 1.0];
/// Default feature flag steps.
const FLAG_STEPS: [f64; 4] = [0.01, 0.1, 0.5, 1.0];

/// The range a share must lie in.
#[derive(Clone, Copy)]
pub(super) enum Share {
    /// `[0, 1)`: a probability that cannot be certain (a failure, a missed page).
    BelowOne,
    /// `[0, 1]`.
    Closed,
    /// `(0, 1]`.
    AboveZero,
}

/// The share `v` (or `default` when absent), checked against `range`.
pub(super) fn share(
    cx: &mut Ctx<'_>,
    v: Option<&Spanned<f64>>,
    field: &str,
    default: f64,
    range: Share,
) -> Option<f64> {
    let Some(v) = v else { return Some(default) };
    let x = *v.get_ref();
    let (ok, text) = match range {
        Share::BelowOne => ((0.0..1.0).contains(&x), "from 0 up to, but not including, 1"),
        Share::Closed => ((0.0..=1.0).contains(&x), "between 0 and 1"),
        Share::AboveZero => (x > 0.0 && x <= 1.0, "above 0 and at most 1"),
    };
    if !ok {
        cx.error(v.span(), format!("{field} must be a number {text}, got {x}"));
        return None;
    }
    Some(x)
}

/// A duration that must be longer than zero.
pub(super) fn positive_duration(cx: &mut Ctx<'_>, v: &Spanned<String>, field: &str) -> Option<u64> {
    match cx.duration(v, field)? {
        0 => {
            cx.error(v.span(), format!("{field} must be longer than zero"));
            None
        }
        ns => Some(ns),
    }
}

/// `v` as a positive duration, or `default_ns` when absent.
pub(super) fn duration_or(cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str, default_ns: u64) -> Option<u64> {
    match v {
        Some(v) => positive_duration(cx, v, field),
        None => Some(default_ns),
    }
}

/// A distribution, or a plain duration for a fixed time (`"4m"` is `const(4m)`): the
/// delivery sections mostly take times people estimate, where a fixed value is common.
pub(super) fn dist_or_fixed(cx: &mut Ctx<'_>, v: &Spanned<String>, field: &str) -> Option<Dist> {
    match units::parse_duration(v.get_ref()) {
        Ok(ns) => Some(Dist::constant(ns)),
        Err(_) => cx.dist(v, field),
    }
}

/// `v` as in [`dist_or_fixed`], or `default` (a constant text that parses) when absent.
pub(super) fn dist_or(cx: &mut Ctx<'_>, v: Option<&Spanned<String>>, field: &str, default: &str) -> Option<Dist> {
    match v {
        Some(v) => dist_or_fixed(cx, v, field),
        None => Some(
            units::parse_duration(default)
                .map(Dist::constant)
                .ok()
                .or_else(|| dist::parse(default).ok())
                .unwrap_or(Dist::constant(0)),
        ),
    }
}

/// Reports `message` about the unknown name `v` with `severity`, suggesting the nearest of
/// `candidates`.
pub(super) fn unknown(cx: &mut Ctx<'_>, v: &Spanned<String>, message: String, candidates: &[&str], severity: Severity) {
    let d = Diagnostic::new(severity, cx.text, v.span(), message);
    cx.diags.push(match nearest(v.get_ref(), candidates.iter().copied()) {
        Some(n) if n != v.get_ref().as_str() => d.with_help(format!("did you mean `{n}`?")),
        _ => d,
    });
}

/// The position of `v` in `names`; otherwise an error "`field`: unknown `what` ...; `label`
/// a, b, c".
pub(super) fn pick(
    cx: &mut Ctx<'_>,
    v: &Spanned<String>,
    field: &str,
    what: &str,
    label: &str,
    names: &[&str],
) -> Option<usize> {
    if let Some(i) = names.iter().position(|n| *n == v.get_ref().as_str()) {
        return Some(i);
    }
    let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    unknown(cx, v, format!("{field}: unknown {what} `{}`; {label} {known}", v.get_ref()), names, Severity::Error);
    None
}

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
            names[pick(cx, s, &format!("{field}.strategy"), "strategy", "use one of", &names)?]
        }
        None => "all_at_once",
    };
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
    let bake = |cx: &mut Ctx<'_>| duration_or(cx, r.bake, &format!("{field}.bake"), 300 * NS_PER_S);
    Some(match name {
        "rolling" => {
            let batch = match r.batch {
                Some(b) if !(1..=servers_max.max(1)).contains(b.get_ref()) => {
                    let max = servers_max.max(1);
                    cx.error(
                        b.span(),
                        format!("{field}.batch must be 1 to {max} (the most app servers), got {}", b.get_ref()),
                    );
                    return None;
                }
                Some(b) => *b.get_ref(),
                None => 1,
            };
            let pause_ns = match r.pause {
                Some(p) => cx.duration(p, &format!("{field}.pause"))?,
                None => 60 * NS_PER_S,
            };
            ReleaseStrategy::Rolling { batch, pause_ns }
        }
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
    let max_error_increase = share(
        cx,
        a.max_error_increase.as_ref(),
        &format!("{field}.analysis.max_error_increase"),
        d.max_error_increase,
        Share::Closed,
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
    let error_rate = share(cx, e.error_rate.as_ref(), &format!("{field}.error_rate"), 0.0, Share::Closed);
    let class_names: Vec<&str> = t.classes.iter().map(|c| c.name.as_str()).collect();
    let mut classes = Vec::new();
    for c in e.classes.iter().flatten() {
        match pick(cx, c, &format!("{field}.classes"), "request class", "classes:", &class_names) {
            Some(i) => classes.push(i as u16),
            None => ok = false,
        }
    }
    let latency = match &e.latency {
        Some(l) => dist_or_fixed(cx, l, &format!("{field}.latency")).map(Some),
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
        Some(c) => positive_duration(cx, c, &format!("{field}.crash_after")).map(Some),
        None => Some(None),
    };
    let service_names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    let mut degrade = Vec::new();
    for s in e.degrade.iter().flatten() {
        match pick(cx, s, &format!("{field}.degrade"), "service", "services:", &service_names) {
            Some(i) => degrade.push(i as super::topology::ServiceId),
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
    let mut ok = true;
    let initial_version = match &r.initial_version {
        Some(v) if v.get_ref().trim().is_empty() => {
            cx.error(v.span(), "pipeline.initial_version must be a non-empty version name, e.g. \"v1.4.0\"");
            ok = false;
            String::new()
        }
        Some(v) => v.get_ref().clone(),
        None => d.initial_version,
    };
    let names = StageKind::ALL.map(StageKind::as_str);
    let mut stages: Vec<StageSpec> = Vec::with_capacity(r.stages.len());
    for s in &r.stages {
        let s = s.get_ref();
        let Some(i) = pick(cx, &s.stage, "pipeline.stages.stage", "stage", "use one of", &names) else {
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
        let duration = dist_or_fixed(cx, &s.duration, "pipeline.stages.duration");
        let failure = share(cx, s.failure.as_ref(), "pipeline.stages.failure", 0.0, Share::BelowOne);
        match (duration, failure) {
            (Some(duration), Some(failure)) => stages.push(StageSpec { kind, duration, failure }),
            _ => ok = false,
        }
    }
    let staging_fidelity =
        share(cx, r.staging_fidelity.as_ref(), "pipeline.staging_fidelity", d.staging_fidelity, Share::Closed);
    if let (Some(f), true) = (&r.staging_fidelity, ok) {
        if !stages.iter().any(|s| s.kind == StageKind::StagingVerify) {
            cx.warning(f.span(), "pipeline.staging_fidelity has no effect without a `staging_verify` stage");
        }
    }
    let deploy_time_ns = duration_or(cx, r.deploy_time.as_ref(), "pipeline.deploy_time", d.deploy_time_ns);
    let rollback_ns = match &r.rollback {
        Some(v) if v.get_ref() == "none" => Some(None),
        Some(v) => positive_duration(cx, v, "pipeline.rollback").map(Some),
        None => Some(None),
    };
    let configured: Vec<&str> = stages.iter().map(|s| s.kind.as_str()).collect();
    let hotfix_stages = match &r.hotfix_stages {
        Some(list) => {
            let mut out: Vec<StageKind> = Vec::new();
            for v in list.get_ref() {
                let Some(i) = pick(cx, v, "pipeline.hotfix_stages", "stage", "the configured stages are", &configured)
                else {
                    ok = false;
                    continue;
                };
                if out.contains(&stages[i].kind) {
                    cx.error(v.span(), format!("pipeline.hotfix_stages: stage `{}` appears twice", v.get_ref()));
                    ok = false;
                }
                out.push(stages[i].kind);
            }
            out
        }
        None => stages.iter().map(|s| s.kind).collect(),
    };
    let health_check = match &r.health_check {
        Some(h) => resolve_health_check(cx, h.get_ref()).map(Some),
        None => Some(None),
    };
    let spec = PipelineSpec {
        initial_version,
        stages,
        staging_fidelity: staging_fidelity?,
        deploy_time_ns: deploy_time_ns?,
        health_check: health_check?,
        rollback_ns: rollback_ns?,
        hotfix_stages,
    };
    ok.then_some(spec)
}

fn resolve_health_check(cx: &mut Ctx<'_>, h: &RawDeployHealthCheck) -> Option<HealthCheckSpec> {
    const FIELD: &str = "pipeline.health_check";
    let window_ns = positive_duration(cx, &h.window, "pipeline.health_check.window")?;
    let interval_ns = duration_or(cx, h.interval.as_ref(), "pipeline.health_check.interval", 10 * SECOND)?;
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
        share(cx, h.max_error_ratio.as_ref(), "pipeline.health_check.max_error_ratio", 0.05, Share::AboveZero)?;
    let max_p99_ns = match &h.max_p99 {
        Some(v) => Some(positive_duration(cx, v, "pipeline.health_check.max_p99")?),
        None => None,
    };
    let min_requests = match &h.min_requests {
        Some(v) => cx.positive_count(v, "pipeline.health_check.min_requests")?,
        None => 20,
    };
    Some(HealthCheckSpec { window_ns, interval_ns, max_error_ratio, max_p99_ns, min_requests })
}
