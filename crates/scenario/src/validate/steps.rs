//! Resolving the call graph of a request class or a service: its steps (`cpu`, `call`,
//! `parallel`, `async`) and each synchronous call's timeout, retries with backoff and
//! jitter, hedging and what happens when it fails. Every callee is checked, with the
//! nearest service name when it is unknown.

use toml::Spanned;

use super::ctx::Ctx;
use crate::topology::{CallSpec, OnFailure, ServiceId, Step, Target};
use crate::topology_schema::RawStep;
use crate::units::{NS_PER_MS, NS_PER_S};

/// Most retries one call may make.
const MAX_RETRIES: u32 = 10;
/// The `on_failure` values, as the file spells them.
const ON_FAILURE: [&str; 4] = ["fail", "degrade", "retry_queue", "accept_and_queue"];

/// What a step may call: the services by id, and whether there is a database.
#[derive(Clone, Copy)]
pub(super) struct Callees<'a> {
    /// Service names in id order.
    pub(super) names: &'a [String],
    /// The scenario has a `[database]` (`call = "db"` works).
    pub(super) has_db: bool,
}

/// Resolves a list of steps; `field` names it in errors (`requests.steps`).
pub(super) fn resolve(cx: &mut Ctx<'_>, raw: &[Spanned<RawStep>], to: Callees<'_>, field: &str) -> Option<Vec<Step>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for s in raw {
        match step(cx, s, to, field) {
            Some(step) => out.push(step),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The service `name` refers to, with the nearest name when it is unknown.
pub(super) fn service_ref(cx: &mut Ctx<'_>, name: &Spanned<String>, names: &[String]) -> Option<ServiceId> {
    if let Some(i) = names.iter().position(|n| n == name.get_ref()) {
        return Some(i as ServiceId);
    }
    let defined = if names.is_empty() { "none (add a [services.NAME] section)".to_string() } else { names.join(", ") };
    let message = format!("unknown service `{}`; defined: {defined}", name.get_ref());
    cx.unknown_name(name, message, names.iter().map(String::as_str));
    None
}

fn step(cx: &mut Ctx<'_>, s: &Spanned<RawStep>, to: Callees<'_>, field: &str) -> Option<Step> {
    let st = s.get_ref();
    let kinds = usize::from(st.cpu.is_some()) + usize::from(st.call.is_some()) + usize::from(st.parallel.is_some());
    if kinds != 1 {
        cx.error(s.span(), format!("{field}: each step needs exactly one of `cpu`, `call` or `parallel`"));
        return None;
    }
    check_call_settings(cx, s, field)?;
    if let Some(cpu) = &st.cpu {
        return cx.dist(cpu, &format!("{field}.cpu")).map(Step::Work);
    }
    if let Some(parallel) = &st.parallel {
        return parallel_step(cx, s, parallel, to, field);
    }
    let call = call(cx, s, to, field)?;
    if st.is_async.as_ref().is_some_and(|a| *a.get_ref()) {
        let Target::Service(_) = call.target else {
            cx.error(s.span(), format!("{field}: an `async` call goes to a service's queue, not the database"));
            return None;
        };
        return Some(Step::Async(call.target));
    }
    Some(Step::Call(call))
}

/// Settings only a synchronous call uses are absent anywhere else, where they would be
/// silently ignored.
fn check_call_settings(cx: &mut Ctx<'_>, s: &Spanned<RawStep>, field: &str) -> Option<()> {
    let st = s.get_ref();
    let is_async = st.is_async.as_ref().is_some_and(|a| *a.get_ref());
    if st.call.is_some() && !is_async {
        return Some(());
    }
    let call_settings = [
        ("timeout", st.timeout.is_some()),
        ("retries", st.retries.is_some()),
        ("backoff", st.backoff.is_some()),
        ("backoff_max", st.backoff_max.is_some()),
        ("jitter", st.jitter.is_some()),
        ("hedge_after", st.hedge_after.is_some()),
        ("on_failure", st.on_failure.is_some()),
        ("idempotent", st.idempotent.is_some()),
        ("fallback", st.fallback.is_some()),
    ];
    let what = if st.cpu.is_some() {
        "a `cpu` step"
    } else if st.parallel.is_some() {
        "a `parallel` step (put them on each call inside it)"
    } else {
        "an `async` call (nobody waits for it)"
    };
    if let Some((key, _)) = call_settings.iter().find(|(_, given)| *given) {
        cx.error(s.span(), format!("{field}: {what} takes no `{key}`"));
        return None;
    }
    if st.call.is_none() && (st.op.is_some() || st.is_async.is_some()) {
        cx.error(s.span(), format!("{field}: {what} takes no `op` or `async`"));
        return None;
    }
    Some(())
}

/// Calls made at once: at least one, each a synchronous `call`.
fn parallel_step(
    cx: &mut Ctx<'_>,
    s: &Spanned<RawStep>,
    parallel: &[Spanned<RawStep>],
    to: Callees<'_>,
    field: &str,
) -> Option<Step> {
    let mut calls = Vec::with_capacity(parallel.len());
    for p in parallel {
        if p.get_ref().call.is_none() || p.get_ref().is_async.is_some() {
            cx.error(p.span(), format!("{field}.parallel: every entry is a synchronous `call`"));
            return None;
        }
        calls.push(call(cx, p, to, field)?);
    }
    if calls.is_empty() {
        cx.error(s.span(), format!("{field}.parallel needs at least one call"));
        return None;
    }
    Some(Step::Parallel(calls))
}

fn call(cx: &mut Ctx<'_>, s: &Spanned<RawStep>, to: Callees<'_>, field: &str) -> Option<CallSpec> {
    let st = s.get_ref();
    let target = target(cx, st, to, field)?;
    let timeout_ns = match &st.timeout {
        Some(t) => Some(cx.positive_duration(t, &format!("{field}.timeout"))?),
        None => None,
    };
    let retries = st.retries.as_ref().map_or(0, |r| *r.get_ref());
    if retries > MAX_RETRIES {
        cx.error(
            st.retries.as_ref().map_or(s.span(), Spanned::span),
            format!("{field}.retries must be at most {MAX_RETRIES}, got {retries}"),
        );
        return None;
    }
    let backoff_ns = cx.positive_duration_or(st.backoff.as_ref(), &format!("{field}.backoff"), 100 * NS_PER_MS)?;
    let backoff_max_ns =
        cx.positive_duration_or(st.backoff_max.as_ref(), &format!("{field}.backoff_max"), 10 * NS_PER_S)?;
    let jitter = jitter(cx, s, field)?;
    let hedge_after_ns = match &st.hedge_after {
        Some(h) => Some(cx.positive_duration(h, &format!("{field}.hedge_after"))?),
        None => None,
    };
    let on_failure = on_failure(cx, s, field)?;
    let fallback = fallback(cx, st, target, to, field)?;
    Some(CallSpec {
        target,
        timeout_ns,
        retries,
        backoff_ns,
        backoff_max_ns: backoff_max_ns.max(backoff_ns),
        jitter,
        hedge_after_ns,
        on_failure,
        idempotent: st.idempotent.as_ref().is_some_and(|i| *i.get_ref()),
        fallback,
    })
}

/// `fallback`: another service, for a call to a service. `Some(None)` without one.
fn fallback(cx: &mut Ctx<'_>, st: &RawStep, target: Target, to: Callees<'_>, field: &str) -> Option<Option<ServiceId>> {
    let Some(name) = &st.fallback else { return Some(None) };
    let Target::Service(primary) = target else {
        cx.error(name.span(), format!("{field}.fallback: only a call to a service can fall back, not one to `db`"));
        return None;
    };
    let id = service_ref(cx, name, to.names)?;
    if id == primary {
        cx.error(
            name.span(),
            format!("{field}.fallback: `{}` is the call's own target; name another service", name.get_ref()),
        );
        return None;
    }
    Some(Some(id))
}

/// What a call goes to: the database (with `op`) or a service.
fn target(cx: &mut Ctx<'_>, st: &RawStep, to: Callees<'_>, field: &str) -> Option<Target> {
    let callee = st.call.as_ref()?;
    if callee.get_ref() != "db" {
        if let Some(op) = &st.op {
            cx.error(op.span(), format!("{field}: `op` applies only to calls to `db`"));
            return None;
        }
        return Some(Target::Service(service_ref(cx, callee, to.names)?));
    }
    if !to.has_db {
        cx.error(callee.span(), format!("{field}: a call to `db` needs a [database] section"));
        return None;
    }
    match st.op.as_ref().map(|o| o.get_ref().as_str()) {
        Some("read") => Some(Target::DbRead),
        Some("write") => Some(Target::DbWrite),
        _ => {
            let span = st.op.as_ref().map_or(callee.span(), Spanned::span);
            cx.error(span, format!("{field}: a call to `db` needs op = \"read\" or \"write\""));
            None
        }
    }
}

/// `jitter`: `"full"` (the default) or `"none"`.
fn jitter(cx: &mut Ctx<'_>, s: &Spanned<RawStep>, field: &str) -> Option<bool> {
    let jitter = s.get_ref().jitter.as_ref();
    match jitter.map(|j| j.get_ref().as_str()) {
        None | Some("full") => Some(true),
        Some("none") => Some(false),
        Some(other) => {
            cx.error(
                jitter.map_or(s.span(), Spanned::span),
                format!("{field}.jitter must be \"full\" or \"none\", got \"{other}\""),
            );
            None
        }
    }
}

/// `on_failure`: what the caller does when the call fails for good.
fn on_failure(cx: &mut Ctx<'_>, s: &Spanned<RawStep>, field: &str) -> Option<OnFailure> {
    let Some(v) = &s.get_ref().on_failure else { return Some(OnFailure::Fail) };
    match v.get_ref().as_str() {
        "fail" => Some(OnFailure::Fail),
        "degrade" => Some(OnFailure::Degrade),
        "retry_queue" => Some(OnFailure::RetryQueue),
        "accept_and_queue" => Some(OnFailure::AcceptAndQueue),
        other => {
            let message = format!("{field}.on_failure must be one of {}; got \"{other}\"", ON_FAILURE.join(", "));
            cx.unknown_name(v, message, ON_FAILURE);
            None
        }
    }
}
