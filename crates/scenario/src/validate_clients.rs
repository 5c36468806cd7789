//! Resolving who sends requests and from where: `[[regions]]` (users, app servers and the
//! network between them), closed workloads (users with think time) and the diurnal cycle
//! of open workloads.

use toml::Spanned;

use super::diagnostic::{Diagnostic, nearest};
use super::schema::{RawScenario, RawWorkload};
use super::topology::{ClientSpec, ClosedLoop, Network, RegionSpec};
use super::validate::Ctx;
use prodsim_kernel::{Dist, NS_PER_S, SimTime};
use prodsim_parts::Stage;

/// Stages per diurnal period: the smooth cycle becomes this many constant steps.
const DIURNAL_STEPS: u64 = 240;

/// Most stages a diurnal cycle may generate over a run.
const MAX_DIURNAL_STAGES: u64 = 100_000;

/// Whether a workload is closed (its users wait for answers and think).
pub(super) fn is_closed(w: &RawWorkload) -> bool {
    w.think_time.is_some()
}

/// The servers of each region by name, `(name, first, end)`, as `[[regions]]` places
/// them (region by region, in file order). Used to resolve region fault targets.
pub(super) fn region_ranges(raw: &RawScenario) -> Vec<(String, u32, u32)> {
    let mut first = 0u32;
    raw.regions
        .iter()
        .map(|r| {
            let r = r.get_ref();
            let end = first.saturating_add(*r.servers.get_ref());
            let out = (r.name.get_ref().clone(), first, end);
            first = end;
            out
        })
        .collect()
}

/// Resolves `[[regions]]`; `Some(None)` without any.
pub(super) fn resolve_network(cx: &mut Ctx<'_>, raw: &RawScenario, servers: u32) -> Option<Option<Network>> {
    if raw.regions.is_empty() {
        return Some(None);
    }
    let names: Vec<&str> = raw.regions.iter().map(|r| r.get_ref().name.get_ref().as_str()).collect();
    let mut ok = true;
    let mut regions = Vec::with_capacity(names.len());
    let mut first_server = 0u32;
    for (i, spanned) in raw.regions.iter().enumerate() {
        let r = spanned.get_ref();
        let name = r.name.get_ref();
        if names[..i].contains(&name.as_str()) {
            cx.error(r.name.span(), format!("region name `{name}` is used twice; names must be unique"));
            ok = false;
        }
        let share = match &r.share {
            Some(s) if !s.get_ref().is_finite() || *s.get_ref() < 0.0 => {
                cx.error(s.span(), format!("regions.share must be zero or a positive number, got {}", s.get_ref()));
                ok = false;
                0.0
            }
            Some(s) => *s.get_ref(),
            None => 1.0,
        };
        let rtt = match &r.rtt {
            Some(d) => cx.dist(d, "regions.rtt"),
            None => Some(Dist::constant(0)),
        };
        let loss = match &r.loss {
            Some(l) if !(0.0..1.0).contains(l.get_ref()) => {
                cx.error(
                    l.span(),
                    format!("regions.loss must be a probability from 0 up to (not including) 1, got {}", l.get_ref()),
                );
                None
            }
            Some(l) => Some(*l.get_ref()),
            None => Some(0.0),
        };
        let count = *r.servers.get_ref();
        match (rtt, loss) {
            (Some(rtt), Some(loss)) => {
                regions.push(RegionSpec { name: name.clone(), share, servers: count, first_server, rtt, loss })
            }
            _ => ok = false,
        }
        first_server = first_server.saturating_add(count);
    }
    if first_server != servers {
        let list: Vec<String> = raw
            .regions
            .iter()
            .map(|r| format!("{} {}", r.get_ref().name.get_ref(), r.get_ref().servers.get_ref()))
            .collect();
        cx.error(
            raw.regions[0].get_ref().servers.span(),
            format!(
                "the regions place {first_server} app servers ({}) but [servers].count is {servers}; they must match",
                list.join(", ")
            ),
        );
        ok = false;
    }
    if raw.regions.iter().all(|r| r.get_ref().share.as_ref().is_some_and(|s| *s.get_ref() == 0.0)) {
        cx.error(raw.regions[0].span(), "at least one region needs a positive `share` of the users");
        ok = false;
    }
    let cross_rtt_ns = cross_round_trips(cx, raw, &names, &mut ok);
    if !ok {
        return None;
    }
    let server_region =
        regions.iter().enumerate().flat_map(|(i, r)| std::iter::repeat_n(i as u16, r.servers as usize)).collect();
    Some(Some(Network { regions, server_region, cross_rtt_ns }))
}

/// The `rtt_to` matrix: each pair of regions needs a round trip, given in either region.
fn cross_round_trips(cx: &mut Ctx<'_>, raw: &RawScenario, names: &[&str], ok: &mut bool) -> Vec<Vec<u64>> {
    let n = names.len();
    let mut given: Vec<Vec<Option<u64>>> = vec![vec![None; n]; n];
    for (c, spanned) in raw.regions.iter().enumerate() {
        let r = spanned.get_ref();
        for (to, d) in &r.rtt_to {
            let Some(t) = names.iter().position(|n| n == to) else {
                let msg = format!("regions.rtt_to: unknown region `{to}`; regions: {}", names.join(", "));
                let diag = Diagnostic::error(cx.text, d.span(), msg);
                cx.diags.push(match nearest(to, names.iter().copied()) {
                    Some(m) => diag.with_help(format!("did you mean `{m}`?")),
                    None => diag,
                });
                *ok = false;
                continue;
            };
            if t == c {
                cx.error(d.span(), "regions.rtt_to names the region itself; its own round trip is `rtt`");
                *ok = false;
                continue;
            }
            match cx.duration(d, "regions.rtt_to") {
                Some(ns) => given[c][t] = Some(ns),
                None => *ok = false,
            }
        }
    }
    let mut out = vec![vec![0u64; n]; n];
    for c in 0..n {
        for r in 0..n {
            if c == r {
                continue;
            }
            match given[c][r].or(given[r][c]) {
                Some(ns) => out[c][r] = ns,
                None if *ok => {
                    cx.error(
                        raw.regions[c].get_ref().name.span(),
                        format!(
                            "no round trip between regions `{}` and `{}`: add rtt_to = {{ {} = \"80ms\" }} to one of them",
                            names[c], names[r], names[r]
                        ),
                    );
                    *ok = false;
                }
                None => {}
            }
        }
    }
    out
}

/// Resolves each workload's region and closed loop.
pub(super) fn resolve_clients(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    network: Option<&Network>,
) -> Option<Vec<ClientSpec>> {
    let mut ok = true;
    let mut out = Vec::with_capacity(raw.workload.len());
    for w in &raw.workload {
        let region = match (&w.region, network) {
            (None, _) => None,
            (Some(r), None) => {
                cx.error(r.span(), "workload.region needs [[regions]] describing the regions");
                ok = false;
                None
            }
            (Some(r), Some(net)) => {
                let names = net.regions.iter().map(|x| x.name.as_str());
                match net.regions.iter().position(|x| &x.name == r.get_ref()) {
                    Some(i) => Some(i as u16),
                    None => {
                        let all: Vec<&str> = names.clone().collect();
                        let msg =
                            format!("workload.region: unknown region `{}`; regions: {}", r.get_ref(), all.join(", "));
                        let diag = Diagnostic::error(cx.text, r.span(), msg);
                        cx.diags.push(match nearest(r.get_ref(), names) {
                            Some(m) => diag.with_help(format!("did you mean `{m}`?")),
                            None => diag,
                        });
                        ok = false;
                        None
                    }
                }
            }
        };
        let closed = match (&w.think_time, &w.users) {
            (Some(t), Some(u)) => {
                let users = cx.positive_count(u, "workload.users");
                match (cx.dist(t, "workload.think_time"), users) {
                    (Some(think_time), Some(users)) => Some(ClosedLoop { users, think_time }),
                    _ => {
                        ok = false;
                        None
                    }
                }
            }
            (Some(t), None) => {
                cx.error(
                    t.span(),
                    "a closed workload (with `think_time`) needs `users`, the number of users in the loop",
                );
                ok = false;
                None
            }
            (None, _) => None,
        };
        out.push(ClientSpec { region, closed });
    }
    ok.then_some(out)
}

/// Checks that a closed workload gives no rates; the error names the first one found.
pub(super) fn check_closed(cx: &mut Ctx<'_>, w: &RawWorkload) -> bool {
    let name = w.name.get_ref();
    let span = match (&w.rate, w.stages.first(), &w.diurnal) {
        (Some(r), _, _) => r.span(),
        (_, Some(s), _) => s.span(),
        (_, _, Some(d)) => d.span(),
        _ => return true,
    };
    cx.error(
        span,
        format!(
            "workload `{name}` is closed (it has `think_time`): its users set the pace, so it takes no `rate`, `stages` or `diurnal`"
        ),
    );
    false
}

/// Multiplies `stages` by the workload's diurnal cycle over `duration_ns`:
/// `rate × (1 + amplitude × cos(2π (t − peak) / period))`, in constant steps of
/// 1/240 of the period (6 minutes of a 24-hour day).
pub(super) fn apply_diurnal(
    cx: &mut Ctx<'_>,
    diurnal: &Spanned<super::topology_schema::RawDiurnal>,
    stages: Vec<Stage>,
    duration_ns: u64,
) -> Option<Vec<Stage>> {
    let d = diurnal.get_ref();
    let amplitude = *d.amplitude.get_ref();
    if !(0.0..=1.0).contains(&amplitude) {
        cx.error(d.amplitude.span(), format!("diurnal.amplitude must be between 0 and 1, got {amplitude}"));
        return None;
    }
    let period = match &d.period {
        Some(p) => cx.duration(p, "diurnal.period")?,
        None => 24 * 3600 * NS_PER_S,
    };
    let step = period / DIURNAL_STEPS;
    if step == 0 {
        let span = d.period.as_ref().map_or(diurnal.span(), Spanned::span);
        cx.error(span, format!("diurnal.period must be at least {DIURNAL_STEPS}ns"));
        return None;
    }
    if duration_ns / step > MAX_DIURNAL_STAGES {
        let span = d.period.as_ref().map_or(diurnal.span(), Spanned::span);
        cx.error(span, "diurnal.period is too short for this run: it would make more than 100,000 rate steps");
        return None;
    }
    let peak = match &d.peak {
        Some(p) => cx.duration(p, "diurnal.peak")?,
        None => period / 4,
    };
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

#[cfg(test)]
mod tests {
    use crate::load_str;
    use std::path::Path;

    const BASE: &str = r#"
[scenario]
name = "r"
duration = "1m"
[servers]
count = 4
workers = 4
service_time = "exp(10ms)"
"#;

    fn load(extra: &str) -> Result<crate::Loaded, String> {
        load_str(&format!("{BASE}{extra}"), Path::new("t.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn regions_place_servers_and_fill_the_round_trip_matrix() {
        let l = load(
            r#"
[[workload]]
name = "w"
rate = 10
[[regions]]
name = "us"
servers = 3
rtt = "const(20ms)"
rtt_to = { eu = "80ms" }
[[regions]]
name = "eu"
servers = 1
share = 2
"#,
        )
        .unwrap();
        let net = l.scenario.topology.network.unwrap();
        assert_eq!(net.server_region, vec![0, 0, 0, 1]);
        assert_eq!(net.cross_rtt_ns, vec![vec![0, 80_000_000], vec![80_000_000, 0]]);
        assert_eq!(net.regions[1].first_server, 3);
        assert_eq!(net.regions[1].share, 2.0);
    }

    #[test]
    fn region_mistakes_name_the_field() {
        let e = load("[[workload]]\nname = \"w\"\nrate = 1\n[[regions]]\nname = \"us\"\nservers = 3\n").unwrap_err();
        assert!(e.contains("place 3 app servers") && e.contains("[servers].count is 4"), "{e}");
        let e = load(
            "[[workload]]\nname = \"w\"\nrate = 1\n[[regions]]\nname = \"us\"\nservers = 2\n[[regions]]\nname = \"eu\"\nservers = 2\n",
        )
        .unwrap_err();
        assert!(e.contains("no round trip between regions `us` and `eu`"), "{e}");
        let e = load(
            "[[workload]]\nname = \"w\"\nrate = 1\n[[regions]]\nname = \"us\"\nservers = 4\nrtt_to = { ue = \"1ms\" }\nloss = 1.5\n",
        )
        .unwrap_err();
        assert!(e.contains("unknown region `ue`") && e.contains("regions.loss"), "{e}");
        let e = load("[[workload]]\nname = \"w\"\nrate = 1\nregion = \"mars\"\n").unwrap_err();
        assert!(e.contains("needs [[regions]]"), "{e}");
    }

    #[test]
    fn closed_workloads_take_users_and_think_time_but_no_rate() {
        let l = load("[[workload]]\nname = \"w\"\nusers = 50\nthink_time = \"exp(1s)\"\n").unwrap();
        let clients = l.scenario.topology.clients;
        assert_eq!(clients[0].closed.as_ref().map(|c| c.users), Some(50));
        let e = load("[[workload]]\nname = \"w\"\nrate = 5\nusers = 50\nthink_time = \"exp(1s)\"\n").unwrap_err();
        assert!(e.contains("is closed") && e.contains("no `rate`"), "{e}");
        let e = load("[[workload]]\nname = \"w\"\nthink_time = \"exp(1s)\"\n").unwrap_err();
        assert!(e.contains("needs `users`"), "{e}");
    }

    #[test]
    fn diurnal_cycle_swings_the_rate_around_its_mean() {
        let l = load(
            "[[workload]]\nname = \"w\"\nrate = 100\ndiurnal = { amplitude = 0.5, period = \"1m\", peak = \"15s\" }\n",
        )
        .unwrap();
        let stages = &l.scenario.workloads[0].stages;
        assert_eq!(stages.len(), 240);
        let max = stages.iter().map(|s| s.rate).fold(0.0, f64::max);
        let min = stages.iter().map(|s| s.rate).fold(f64::MAX, f64::min);
        assert!((max - 150.0).abs() < 0.1 && (min - 50.0).abs() < 0.1, "{min} {max}");
        let mean: f64 = stages.iter().map(|s| s.rate).sum::<f64>() / 240.0;
        assert!((mean - 100.0).abs() < 1e-6, "{mean}");
        // The peak is at 15 s.
        let peak = stages.iter().max_by(|a, b| a.rate.total_cmp(&b.rate)).unwrap();
        assert!((peak.at.as_nanos() as i64 - 15_000_000_000).abs() <= 250_000_000, "{:?}", peak.at);
        let e = load("[[workload]]\nname = \"w\"\nrate = 1\ndiurnal = { amplitude = 2 }\n").unwrap_err();
        assert!(e.contains("diurnal.amplitude"), "{e}");
    }
}
