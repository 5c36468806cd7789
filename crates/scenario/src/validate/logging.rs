//! Resolving `[logging]`: the lowest level written, access-log sampling, and how each
//! instance ships its buffer to the log store. Errors name the field and what it accepts.

use super::ctx::{Ctx, SHARE};
use crate::monitoring::LoggingSpec;
use crate::monitoring_schema::RawLogging;
use crate::schema::RawScenario;
use crate::units::{NS_PER_MS, NS_PER_S};

/// Level names, lowest first.
const LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];
/// Most entries one instance may buffer.
const MAX_BUFFER: u32 = 100_000_000;
/// Most entries of one level kept for `--logs`.
const MAX_EXEMPLARS: u32 = 1_000_000;

/// Resolves `[logging]`; `Some(None)` without it, `None` when something is wrong.
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<Option<LoggingSpec>> {
    let Some(l) = &raw.logging else { return Some(None) };
    let l = l.get_ref();
    let level = level(cx, l);
    let sampling = cx.number_or(l.sampling.as_ref(), "logging.sampling", 1.0, SHARE);
    let buffer = cx.count_in_or(l.buffer.as_ref(), "logging.buffer", 1..=MAX_BUFFER, 10_000);
    let batch_size = cx.count_in_or(l.batch_size.as_ref(), "logging.batch_size", 1..=MAX_BUFFER, 5_000);
    let exemplars = cx.count_in_or(l.exemplars.as_ref(), "logging.exemplars", 1..=MAX_EXEMPLARS, 250);
    let batch_interval_ns = batch_interval(cx, l);
    let ingestion_latency_ns = cx.duration_or(l.ingestion_latency.as_ref(), "logging.ingestion_latency", 2 * NS_PER_S);
    Some(Some(LoggingSpec {
        level: level?,
        sampling: sampling?,
        buffer: buffer?,
        batch_interval_ns: batch_interval_ns?,
        batch_size: batch_size?,
        ingestion_latency_ns: ingestion_latency_ns?,
        exemplars: exemplars?,
    }))
}

/// `logging.level`: the lowest level written, as its index in [`LEVELS`] (default `info`).
fn level(cx: &mut Ctx<'_>, l: &RawLogging) -> Option<u8> {
    let Some(v) = &l.level else { return Some(1) };
    match LEVELS.iter().position(|n| *n == v.get_ref().as_str()) {
        Some(i) => Some(i as u8),
        None => {
            cx.error(
                v.span(),
                format!("logging.level: unknown level `{}`; use one of {}", v.get_ref(), LEVELS.join(", ")),
            );
            None
        }
    }
}

/// `logging.batch_interval`: the shipping period, at least 1ms (default 5s).
fn batch_interval(cx: &mut Ctx<'_>, l: &RawLogging) -> Option<u64> {
    let ns = cx.duration_or(l.batch_interval.as_ref(), "logging.batch_interval", 5 * NS_PER_S)?;
    if ns < NS_PER_MS {
        cx.error(
            l.batch_interval.as_ref().map_or(0..0, toml::Spanned::span),
            "logging.batch_interval must be at least 1ms",
        );
        return None;
    }
    Some(ns)
}
