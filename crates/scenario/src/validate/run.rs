//! Resolving the run itself: `[scenario]` (its name, which names the report directory; its
//! duration, warmup and report interval; the wall-clock time it starts at) and `[limits]`.

use toml::Spanned;

use super::ctx::Ctx;
use crate::schema::{RawLimits, RawMeta};
use crate::units::{NS_PER_D, NS_PER_H, NS_PER_MIN, NS_PER_MS, NS_PER_S, format_duration};
use crate::{DEFAULT_MAX_EVENTS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_MEMORY_MB, MAX_REPORT_ROWS, RunLimits, monitoring};

/// The run's times, each `None` when it is wrong (the diagnostics say why).
#[derive(Clone, Copy)]
pub(super) struct RunTimes {
    /// `scenario.duration`.
    pub(super) duration_ns: Option<u64>,
    /// `scenario.warmup`.
    pub(super) warmup_ns: Option<u64>,
    /// `scenario.report_interval`, or the default for the duration.
    pub(super) report_interval_ns: Option<u64>,
}

/// `scenario.name`: non-empty, and safe as a directory name.
pub(super) fn name(cx: &mut Ctx<'_>, name: &Spanned<String>) -> Option<String> {
    let text = name.get_ref();
    let ok = !text.is_empty()
        && text != "."
        && text != ".."
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        cx.error(name.span(), "scenario.name must be non-empty and use only letters, digits, `-`, `_` and `.` (it names the report directory)");
        return None;
    }
    Some(text.clone())
}

/// `scenario.duration`, `.warmup` (shorter than the duration) and `.report_interval`.
pub(super) fn times(cx: &mut Ctx<'_>, meta: &RawMeta) -> RunTimes {
    let duration_ns = cx.duration(&meta.duration, "scenario.duration");
    if duration_ns == Some(0) {
        cx.error(meta.duration.span(), "scenario.duration must be longer than zero");
    }
    let warmup_ns = cx.duration_or(meta.warmup.as_ref(), "scenario.warmup", 0);
    if let (Some(d), Some(w), Some(span)) = (duration_ns, warmup_ns, meta.warmup.as_ref().map(Spanned::span)) {
        if w >= d && d > 0 {
            cx.error(
                span,
                format!(
                    "scenario.warmup ({}) must be shorter than scenario.duration ({})",
                    format_duration(w),
                    format_duration(d)
                ),
            );
        }
    }
    let report_interval_ns = report_interval(cx, meta.report_interval.as_ref(), duration_ns.unwrap_or(0));
    RunTimes { duration_ns, warmup_ns, report_interval_ns }
}

/// The readable step (1 ms, 10 ms, … 1 s, 10 s, 1 m, 10 m, 1 h, 6 h, 1 d, 7 d) that gives
/// at most about 2,000 rows for a run of `duration_ns`.
pub fn default_report_interval(duration_ns: u64) -> u64 {
    const STEPS: [u64; 11] = [
        NS_PER_MS,
        10 * NS_PER_MS,
        100 * NS_PER_MS,
        NS_PER_S,
        10 * NS_PER_S,
        NS_PER_MIN,
        10 * NS_PER_MIN,
        NS_PER_H,
        6 * NS_PER_H,
        NS_PER_D,
        7 * NS_PER_D,
    ];
    STEPS.into_iter().find(|&step| duration_ns.div_ceil(step) <= 2_000).unwrap_or(STEPS[STEPS.len() - 1])
}

fn report_interval(cx: &mut Ctx<'_>, raw: Option<&Spanned<String>>, duration_ns: u64) -> Option<u64> {
    let Some(raw) = raw else { return Some(default_report_interval(duration_ns)) };
    let step = cx.duration(raw, "scenario.report_interval")?;
    if step == 0 {
        cx.error(raw.span(), "scenario.report_interval must be longer than zero");
        return None;
    }
    if duration_ns.div_ceil(step) > MAX_REPORT_ROWS {
        cx.error(raw.span(), format!("scenario.report_interval gives more than {MAX_REPORT_ROWS} rows for this duration; choose a longer interval"));
        return None;
    }
    Some(step)
}

/// `[limits]`; a wrong value has its error and the default stands in for it.
pub(super) fn limits(cx: &mut Ctx<'_>, raw: Option<&RawLimits>) -> RunLimits {
    let max_events = raw.and_then(|l| l.max_events.as_ref()).and_then(|v| cx.positive_count(v, "limits.max_events"));
    let max_in_flight =
        raw.and_then(|l| l.max_in_flight.as_ref()).and_then(|v| cx.positive_count(v, "limits.max_in_flight"));
    let max_memory_mb =
        raw.and_then(|l| l.max_memory_mb.as_ref()).and_then(|v| cx.positive_count(v, "limits.max_memory_mb"));
    RunLimits {
        max_events: max_events.unwrap_or(DEFAULT_MAX_EVENTS),
        max_in_flight: max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
        max_memory_mb: max_memory_mb.unwrap_or(DEFAULT_MAX_MEMORY_MB),
    }
}

/// `scenario.start_time`: what the wall clock reads at simulated time 0, in seconds after
/// Monday 00:00.
pub(super) fn start_time(cx: &mut Ctx<'_>, raw: Option<&Spanned<String>>) -> Option<u64> {
    let Some(v) = raw else { return Some(monitoring::DEFAULT_START_S) };
    match monitoring::parse_week_time(v.get_ref()) {
        Ok(s) => Some(s),
        Err(e) => {
            cx.error(v.span(), format!("scenario.start_time: {e}"));
            None
        }
    }
}
