//! Resolving `[[workload]]`: open arrival streams (a `rate` or `stages` starting at time
//! zero, diurnal and weekly cycles folded into the stages) and closed ones (users who wait for an
//! answer and think, whose loop `regions.rs` resolves with the clients).

use std::ops::Range;

use toml::Spanned;

use super::ctx::Ctx;
use crate::limits::MAX_RATE_PER_S;
use crate::schema::RawWorkload;
use crate::topology_schema::RawDiurnal;
use crate::units::NS_PER_D;
use prodsim_kernel::SimTime;
use prodsim_parts::{Stage, Workload};

/// Stages per diurnal period: the smooth cycle becomes this many constant steps.
const DIURNAL_STEPS: u64 = 240;

/// Most stages a diurnal cycle may generate over a run.
const MAX_DIURNAL_STAGES: u64 = 100_000;

/// Whether a workload is closed (its users wait for answers and think).
pub(super) fn is_closed(w: &RawWorkload) -> bool {
    w.think_time.is_some()
}

/// Resolves every workload; names are unique and there is at least one.
pub(super) fn resolve(
    cx: &mut Ctx<'_>,
    raw: &[RawWorkload],
    servers_span: Range<usize>,
    duration_ns: u64,
    week_start_s: u64,
) -> Option<Vec<Workload>> {
    if raw.is_empty() {
        cx.error(
            servers_span.start..servers_span.start,
            "a scenario needs at least one [[workload]] with a `rate` (requests per second)",
        );
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, w) in raw.iter().enumerate() {
        if raw[..i].iter().any(|prev| prev.name.get_ref() == w.name.get_ref()) {
            cx.error(
                w.name.span(),
                format!("workload name `{}` is used twice; names must be unique", w.name.get_ref()),
            );
            ok = false;
        }
        match resolve_workload(cx, w, duration_ns, week_start_s) {
            Some(wl) => out.push(wl),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn resolve_workload(cx: &mut Ctx<'_>, w: &RawWorkload, duration_ns: u64, week_start_s: u64) -> Option<Workload> {
    let name = w.name.get_ref();
    if is_closed(w) {
        // Its users set the pace (see `regions.rs`); the open stream stays silent.
        let ok = check_closed(cx, w);
        let stages = vec![Stage { at: SimTime::ZERO, rate: 0.0 }];
        return ok.then(|| Workload { name: name.clone(), arrivals: w.arrivals, stages });
    }
    let mut stages = stages(cx, w)?;
    if let Some(d) = &w.diurnal {
        stages = apply_diurnal(cx, d, stages, duration_ns)?;
    }
    if let Some(wk) = &w.weekly {
        stages = super::weekly::apply(cx, wk, stages, duration_ns, week_start_s)?;
    }
    Some(Workload { name: name.clone(), arrivals: w.arrivals, stages })
}

/// The rates of an open workload over time: `rate` from time zero and `stages` in
/// increasing order of `at`, the first at `"0s"` unless `rate` is given.
fn stages(cx: &mut Ctx<'_>, w: &RawWorkload) -> Option<Vec<Stage>> {
    let name = w.name.get_ref();
    let mut stages = Vec::new();
    let mut ok = true;
    if let Some(rate) = &w.rate {
        let r = *rate.get_ref();
        if !(r > 0.0 && r <= MAX_RATE_PER_S) {
            cx.error(
                rate.span(),
                format!(
                    "workload `{name}`: rate must be a positive number of requests per second up to {MAX_RATE_PER_S:e}, got {r}"
                ),
            );
            ok = false;
        }
        stages.push(Stage { at: SimTime::ZERO, rate: r });
    }
    let mut last_at: Option<u64> = None;
    for stage in &w.stages {
        let s = stage.get_ref();
        let at = cx.duration(&s.at, "stages.at");
        let r = *s.rate.get_ref();
        if !(0.0..=MAX_RATE_PER_S).contains(&r) {
            cx.error(
                s.rate.span(),
                format!(
                    "workload `{name}`: a stage rate must be zero or a positive number of requests per second up to {MAX_RATE_PER_S:e}, got {r}"
                ),
            );
            ok = false;
        }
        let Some(at) = at else {
            ok = false;
            continue;
        };
        if last_at.is_some_and(|prev| at <= prev) {
            cx.error(s.at.span(), format!("workload `{name}`: stages must be in increasing order of `at`"));
            ok = false;
        }
        last_at = Some(at);
        if at == 0 {
            stages.retain(|st: &Stage| st.at != SimTime::ZERO);
        }
        stages.push(Stage { at: SimTime(at), rate: r });
    }
    if stages.first().is_none_or(|s| s.at != SimTime::ZERO) {
        let span = w.stages.first().map_or(w.name.span(), Spanned::span);
        cx.error(
            span,
            format!("workload `{name}` needs a `rate` (requests per second), or `stages` starting at \"0s\""),
        );
        ok = false;
    }
    ok.then_some(stages)
}

/// Checks that a closed workload gives no rates; the error names the first one found.
fn check_closed(cx: &mut Ctx<'_>, w: &RawWorkload) -> bool {
    let name = w.name.get_ref();
    let span = match (&w.rate, w.stages.first(), &w.diurnal, &w.weekly) {
        (Some(r), _, _, _) => r.span(),
        (_, Some(s), _, _) => s.span(),
        (_, _, Some(d), _) => d.span(),
        (_, _, _, Some(wk)) => wk.span(),
        (None, None, None, None) => return true,
    };
    cx.error(
        span,
        format!(
            "workload `{name}` is closed (it has `think_time`): its users set the pace, so it takes no `rate`, `stages`, `diurnal` or `weekly`"
        ),
    );
    false
}

/// Multiplies `stages` by the workload's diurnal cycle over `duration_ns`:
/// `rate × (1 + amplitude × cos(2π (t − peak) / period))`, in constant steps of
/// 1/240 of the period (6 minutes of a 24-hour day).
fn apply_diurnal(
    cx: &mut Ctx<'_>,
    diurnal: &Spanned<RawDiurnal>,
    stages: Vec<Stage>,
    duration_ns: u64,
) -> Option<Vec<Stage>> {
    let d = diurnal.get_ref();
    let amplitude = *d.amplitude.get_ref();
    if !(0.0..=1.0).contains(&amplitude) {
        cx.error(d.amplitude.span(), format!("diurnal.amplitude must be between 0 and 1, got {amplitude}"));
        return None;
    }
    let period = cx.duration_or(d.period.as_ref(), "diurnal.period", NS_PER_D)?;
    let step = period / DIURNAL_STEPS;
    let period_span = d.period.as_ref().map_or(diurnal.span(), Spanned::span);
    if step == 0 {
        cx.error(period_span, format!("diurnal.period must be at least {DIURNAL_STEPS}ns"));
        return None;
    }
    if duration_ns / step > MAX_DIURNAL_STAGES {
        cx.error(period_span, "diurnal.period is too short for this run: it would make more than 100,000 rate steps");
        return None;
    }
    let peak = cx.duration_or(d.peak.as_ref(), "diurnal.peak", period / 4)?;
    let factor = |t: u64| {
        // The middle of the step stands for the step.
        let mid = t + step / 2;
        let phase = (mid as f64 - peak as f64) / period as f64;
        1.0 + amplitude * (2.0 * std::f64::consts::PI * phase).cos()
    };
    let mut times: Vec<u64> = (0..duration_ns.div_ceil(step)).map(|k| k * step).collect();
    times.extend(stages.iter().map(|s| s.at.as_nanos()));
    times.sort_unstable();
    times.dedup();
    Some(
        times
            .into_iter()
            .map(|t| {
                let i = stages.partition_point(|s| s.at.as_nanos() <= t).saturating_sub(1);
                let base = t - t % step;
                Stage { at: SimTime(t), rate: stages[i].rate * factor(base) }
            })
            .collect(),
    )
}
