//! Resolving `[logging]`: the lowest level written, access-log sampling, and how each
//! instance ships its buffer to the log store. Errors name the field and what it accepts.

use super::monitoring::LoggingSpec;
use super::schema::RawScenario;
use super::validate::Ctx;
use prodsim_kernel::NS_PER_S;

/// Level names, lowest first.
pub const LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];
/// Most entries one instance may buffer.
const MAX_BUFFER: u32 = 100_000_000;
/// Most entries of one level kept for `--logs`.
const MAX_EXEMPLARS: u32 = 1_000_000;

/// Resolves `[logging]`; `Some(None)` without it, `None` when something is wrong.
pub fn resolve(cx: &mut Ctx<'_>, raw: &RawScenario) -> Option<Option<LoggingSpec>> {
    let Some(l) = &raw.logging else { return Some(None) };
    let l = l.get_ref();
    let mut ok = true;
    let level = match &l.level {
        Some(v) => match LEVELS.iter().position(|n| *n == v.get_ref().as_str()) {
            Some(i) => i as u8,
            None => {
                cx.error(
                    v.span(),
                    format!("logging.level: unknown level `{}`; use one of {}", v.get_ref(), LEVELS.join(", ")),
                );
                ok = false;
                1
            }
        },
        None => 1,
    };
    let sampling = match &l.sampling {
        Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
            cx.error(v.span(), format!("logging.sampling must be a share between 0 and 1, got {}", v.get_ref()));
            ok = false;
            1.0
        }
        Some(v) => *v.get_ref(),
        None => 1.0,
    };
    let mut count = |cx: &mut Ctx<'_>, v: Option<&toml::Spanned<u32>>, field: &str, default: u32, max: u32| -> u32 {
        match v {
            Some(v) if *v.get_ref() == 0 || *v.get_ref() > max => {
                cx.error(v.span(), format!("{field} must be 1 to {max}, got {}", v.get_ref()));
                ok = false;
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        }
    };
    let buffer = count(cx, l.buffer.as_ref(), "logging.buffer", 10_000, MAX_BUFFER);
    let batch_size = count(cx, l.batch_size.as_ref(), "logging.batch_size", 5_000, MAX_BUFFER);
    let exemplars = count(cx, l.exemplars.as_ref(), "logging.exemplars", 250, MAX_EXEMPLARS);
    let batch_interval_ns = match &l.batch_interval {
        Some(v) => match cx.duration(v, "logging.batch_interval") {
            Some(ns) if ns >= 1_000_000 => ns,
            Some(_) => {
                cx.error(v.span(), "logging.batch_interval must be at least 1ms");
                ok = false;
                0
            }
            None => {
                ok = false;
                0
            }
        },
        None => 5 * NS_PER_S,
    };
    let ingestion_latency_ns = match &l.ingestion_latency {
        Some(v) => cx.duration(v, "logging.ingestion_latency").unwrap_or_else(|| {
            ok = false;
            0
        }),
        None => 2 * NS_PER_S,
    };
    ok.then_some(Some(LoggingSpec {
        level,
        sampling,
        buffer,
        batch_interval_ns,
        batch_size,
        ingestion_latency_ns,
        exemplars,
    }))
}
