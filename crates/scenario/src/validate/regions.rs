//! Resolving who sends requests and from where: `[[regions]]` (users, app servers and the
//! network between them) and each workload's clients (its region, and the closed loop of
//! users with think time).

use toml::Spanned;

use super::ctx::{Allowed, Ctx};
use crate::diagnostic::Severity;
use crate::schema::RawScenario;
use crate::topology::{ClientSpec, ClosedLoop, Network, RegionSpec};
use crate::topology_schema::RawRegion;
use prodsim_kernel::Dist;

/// Resolves `[[regions]]`; `Some(None)` without any.
pub(super) fn network(cx: &mut Ctx<'_>, raw: &RawScenario, servers: u32) -> Option<Option<Network>> {
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
        match region(cx, r, first_server) {
            Some(region) => regions.push(region),
            None => ok = false,
        }
        first_server = first_server.saturating_add(*r.servers.get_ref());
    }
    ok &= check_placement(cx, raw, first_server, servers);
    let cross_rtt_ns = cross_round_trips(cx, raw, &names, &mut ok);
    if !ok {
        return None;
    }
    let server_region =
        regions.iter().enumerate().flat_map(|(i, r)| std::iter::repeat_n(i as u16, r.servers as usize)).collect();
    Some(Some(Network { regions, server_region, cross_rtt_ns }))
}

/// A packet loss rate: certain loss would never deliver anything.
const LOSS: Allowed =
    Allowed { test: |x| (0.0..1.0).contains(&x), says: "a probability from 0 up to (not including) 1" };

/// One region: its share of the users, its own round trip and loss, and the app servers it
/// holds from `first_server` on.
fn region(cx: &mut Ctx<'_>, r: &RawRegion, first_server: u32) -> Option<RegionSpec> {
    let share = cx.non_negative(r.share.as_ref(), "regions.share", 1.0);
    let rtt = match &r.rtt {
        Some(d) => cx.dist(d, "regions.rtt"),
        None => Some(Dist::constant(0)),
    };
    let loss = cx.number_or(r.loss.as_ref(), "regions.loss", 0.0, LOSS);
    Some(RegionSpec {
        name: r.name.get_ref().clone(),
        share: share?,
        servers: *r.servers.get_ref(),
        first_server,
        rtt: rtt?,
        loss: loss?,
    })
}

/// The regions place every app server of `[servers].count`, and some region has users.
fn check_placement(cx: &mut Ctx<'_>, raw: &RawScenario, placed: u32, servers: u32) -> bool {
    let mut ok = true;
    if placed != servers {
        let list: Vec<String> = raw
            .regions
            .iter()
            .map(|r| format!("{} {}", r.get_ref().name.get_ref(), r.get_ref().servers.get_ref()))
            .collect();
        cx.error(
            raw.regions[0].get_ref().servers.span(),
            format!(
                "the regions place {placed} app servers ({}) but [servers].count is {servers}; they must match",
                list.join(", ")
            ),
        );
        ok = false;
    }
    if raw.regions.iter().all(|r| r.get_ref().share.as_ref().is_some_and(|s| *s.get_ref() == 0.0)) {
        cx.error(raw.regions[0].span(), "at least one region needs a positive `share` of the users");
        ok = false;
    }
    ok
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
                cx.unknown(Severity::Error, d.span(), msg, to, names.iter().copied());
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
pub(super) fn clients(cx: &mut Ctx<'_>, raw: &RawScenario, network: Option<&Network>) -> Option<Vec<ClientSpec>> {
    let mut ok = true;
    let mut out = Vec::with_capacity(raw.workload.len());
    for w in &raw.workload {
        let region = match &w.region {
            Some(r) => workload_region(cx, r, network),
            None => Some(None),
        };
        let closed = match (&w.think_time, &w.users) {
            (Some(t), Some(u)) => {
                let users = cx.positive_count(u, "workload.users");
                let think_time = cx.dist(t, "workload.think_time");
                users.zip(think_time).map(|(users, think_time)| Some(ClosedLoop { users, think_time }))
            }
            (Some(t), None) => {
                cx.error(
                    t.span(),
                    "a closed workload (with `think_time`) needs `users`, the number of users in the loop",
                );
                None
            }
            (None, _) => Some(None),
        };
        match (region, closed) {
            (Some(region), Some(closed)) => out.push(ClientSpec { region, closed }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// `workload.region`: one of `[[regions]]`.
fn workload_region(cx: &mut Ctx<'_>, r: &Spanned<String>, network: Option<&Network>) -> Option<Option<u16>> {
    let Some(net) = network else {
        cx.error(r.span(), "workload.region needs [[regions]] describing the regions");
        return None;
    };
    if let Some(i) = net.regions.iter().position(|x| &x.name == r.get_ref()) {
        return Some(Some(i as u16));
    }
    let names: Vec<&str> = net.regions.iter().map(|x| x.name.as_str()).collect();
    let msg = format!("workload.region: unknown region `{}`; regions: {}", r.get_ref(), names.join(", "));
    cx.unknown_name(r, msg, names);
    None
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
