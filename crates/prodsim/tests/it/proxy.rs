//! The reverse proxy, malicious traffic and the `ddos` fault: the cache hit ratio emerges
//! from Zipf popularity and grows with capacity; a hit never reaches the app servers; the
//! per-client rate limit catches a few heavy clients; the filter catches its detection
//! share; an attack hurts users without the proxy's defences and not with them; malicious
//! requests stay out of the users' figures; runs are deterministic; validation errors
//! name the field and what it accepts.

use crate::common;

use crate::common::{from_text, load_errors as invalid, run_own_seed as run, system};

use crate::common::scenario;
use prodsim_model::outcome::{MaliciousOutcome, ProxyOutcome};
use prodsim_report::summary::Summary;
use prodsim_scenario::Scenario;

const MINUTE: u64 = 60_000_000_000;

fn proxy(o: &prodsim_model::Outcome) -> ProxyOutcome {
    system(o).proxy.expect("a proxy")
}

fn malicious(o: &prodsim_model::Outcome) -> MaliciousOutcome {
    system(o).malicious.expect("malicious requests")
}

/// A small site: 500 requests a second, one cacheable class, two app servers, a proxy.
/// `{proxy}` is replaced by extra proxy sections, `{workload}` by extra workload keys.
const SITE: &str = r#"
[scenario]
name = "site"
seed = 3
duration = "4m"

[[workload]]
name = "users"
rate = 500
{workload}

[servers]
count = 2
workers = 16
queue_capacity = 50
timeout = "5s"

[[requests]]
name = "page"
weight = 1
steps = [{ cpu = "exp(10ms)" }]

[proxy]
instances = 1
workers = 4
{proxy}
"#;

fn site(proxy: &str, workload: &str) -> Scenario {
    from_text(&SITE.replace("{proxy}", proxy).replace("{workload}", workload))
}

fn cache(capacity: u32) -> String {
    format!("[proxy.cache]\ncapacity = {capacity}\nttl = \"1h\"\nkeys = 100000\nzipf = 1.0\nclasses = [\"page\"]\n")
}

#[test]
fn the_hit_ratio_emerges_from_zipf_and_grows_with_capacity() {
    let ratios: Vec<f64> = [100, 1_000, 10_000]
        .iter()
        .map(|&c| proxy(&run(&site(&cache(c), ""))).cache_hit_ratio().expect("lookups"))
        .collect();
    assert!(ratios[0] > 0.2 && ratios[2] < 0.9, "{ratios:?}");
    assert!(ratios[0] < ratios[1] && ratios[1] < ratios[2], "{ratios:?}");
    // Uniform popularity over 100,000 pages: 1,000 cached pages answer about 1%.
    let uniform = site(&cache(1_000).replace("zipf = 1.0", "zipf = 0"), "");
    let r = proxy(&run(&uniform)).cache_hit_ratio().expect("lookups");
    assert!(r < 0.03, "{r}");
}

#[test]
fn a_cache_hit_never_reaches_the_app_servers() {
    let o = run(&site(&cache(5_000), ""));
    let p = proxy(&o);
    assert!(p.cache_hits > 10_000, "{p:?}");
    assert_eq!(p.requests, p.cache_hits + p.forwarded, "{p:?}");
    let served: u64 = o.servers.iter().map(|s| s.served).sum();
    assert!(served <= p.forwarded && served + 100 > p.forwarded, "served {served}, {p:?}");
    // Hits are answered at the proxy: the median is the proxy's CPU, not a page's 10 ms.
    assert!(o.latency.quantile_ms(0.5).expect("completions") < 1.0);
}

#[test]
fn the_rate_limit_catches_a_few_heavy_clients_and_spares_users() {
    let attack = "\n[[faults]]\nkind = \"ddos\"\ntarget = \"workload\"\nat = \"1m\"\nduration = \"2m\"\nrate = 2000\nclients = 10\n";
    let text =
        SITE.replace("{proxy}", "[proxy.rate_limit]\nper_client = 5\nburst = 10\n").replace("{workload}", "") + attack;
    let o = run(&from_text(&text));
    let m = malicious(&o);
    // Ten clients may send 5 a second each (plus their bursts): 100 over 2 minutes.
    assert!(m.arrived > 200_000, "{m:?}");
    assert!(m.rate_limited + 6_200 >= m.arrived && m.rate_limited < m.arrived, "{m:?}");
    let users = o.requests;
    assert!(users.error_ratio().expect("finished") < 0.001, "{users:?}");
    assert_eq!(proxy(&o).rate_limited, m.rate_limited, "no user was rate limited");
}

#[test]
fn the_filter_catches_its_detection_share() {
    let o = run(&site("[proxy.filter]\ndetection = 0.8\nfalse_positives = 0.001\n", "malicious = 0.2"));
    let m = malicious(&o);
    let p = proxy(&o);
    let caught = m.filtered as f64 / m.arrived as f64;
    assert!((caught - 0.8).abs() < 0.01, "{m:?}");
    assert_eq!(p.filtered, m.filtered);
    let fp = p.false_positives as f64 / o.requests.arrived as f64;
    assert!((0.0005..0.0015).contains(&fp), "{p:?}");
    assert_eq!(o.requests.rejected, p.false_positives, "blocked users are rejected");
}

#[test]
fn malicious_requests_stay_out_of_the_users_figures() {
    let o = run(&site("", "malicious = 0.5"));
    let m = malicious(&o);
    let users = o.requests.arrived;
    let share = m.arrived as f64 / (m.arrived + users) as f64;
    assert!((share - 0.5).abs() < 0.01, "{m:?} users {users}");
    let classes: u64 = system(&o).classes.iter().map(|c| c.requests.arrived).sum();
    assert_eq!(classes, users);
    let rows: u64 = o.rows.iter().map(|r| r.arrivals).sum();
    assert_eq!(rows, users, "time series rows count users only (no warmup here)");
    let accounted = m.served + m.failed + m.filtered + m.rate_limited;
    assert!(accounted <= m.arrived && accounted + 100 > m.arrived, "{m:?}");
}

/// `scenarios/ddos.toml` cut to eight minutes: three of them under attack.
fn ddos(without_defences: bool) -> Scenario {
    let text = std::fs::read_to_string(common::repo_path("scenarios/ddos.toml")).expect("read");
    let text = if without_defences {
        let limit =
            "[proxy.rate_limit]\nper_client = 5                  # requests per second per client\nburst = 20\n";
        let filter = "[proxy.filter]\ndetection = 0.9                 # share of malicious requests the WAF blocks\n\
                      false_positives = 0.0001        # share of real users' requests it blocks by mistake\n";
        assert!(text.contains(limit) && text.contains(filter), "the defences changed in ddos.toml");
        text.replace(limit, "").replace(filter, "")
    } else {
        text
    };
    let mut s = from_text(&text);
    s.duration_ns = 8 * MINUTE;
    s
}

#[test]
fn ddos_hurts_users_without_the_proxys_defences_and_not_with_them() {
    let defended = run(&ddos(false));
    let exposed = run(&ddos(true));
    let e1 = defended.requests.error_ratio().expect("finished");
    let e2 = exposed.requests.error_ratio().expect("finished");
    assert!(e1 < 0.001, "with rate limit and filter: {e1}");
    assert!(e2 > 0.05, "without them: {e2}");
    let m = malicious(&defended);
    assert!(m.rate_limited > m.arrived / 2 && m.filtered > 0, "{m:?}");
    assert!(malicious(&exposed).served > 10 * m.served);
    let p = proxy(&defended);
    assert!(p.cache_hit_ratio().is_some_and(|r| r > 0.3), "{p:?}");
    assert!(p.bytes_saved > 0 && p.tls_handshakes > 0, "{p:?}");
}

#[test]
fn same_seed_same_summary() {
    let s = ddos(false);
    let a = Summary::from_outcome(&run(&s)).to_json();
    let b = Summary::from_outcome(&run(&s)).to_json();
    assert_eq!(a, b);
    for key in ["\"proxy\"", "\"cache_hit_ratio\"", "\"malicious\"", "\"rate_limited\""] {
        assert!(a.contains(key), "{key} missing");
    }
    let other = Summary::from_outcome(&prodsim_model::simulate(&s, s.seed + 1).expect("runs")).to_json();
    assert_ne!(a, other);
}

#[test]
fn scenarios_without_a_proxy_have_no_proxy_keys() {
    let mut s = scenario("scenarios/payment-outage.toml");
    s.duration_ns = 3 * MINUTE;
    let json = Summary::from_outcome(&run(&s)).to_json();
    assert!(!json.contains("\"proxy\"") && !json.contains("\"malicious\""));
}

#[test]
fn validation_errors_name_the_field_and_what_it_accepts() {
    let cases = [
        (SITE.replace("{proxy}", &cache(10).replace("[\"page\"]", "[\"pgae\"]")), "did you mean `page`?"),
        (SITE.replace("{proxy}", &cache(10).replace("[\"page\"]", "[\"pgae\"]")), "classes: page"),
        (SITE.replace("{proxy}", &cache(0)), "proxy.cache.capacity must be 1 to"),
        (SITE.replace("{proxy}", "tls_resumption = 0.5\n"), "needs proxy.tls_handshake"),
        (SITE.replace("{proxy}", "tls_handshake = \"exp(1ms)\"\ntls_resumption = 2\n"), "between 0 and 1"),
        (SITE.replace("{proxy}", "[proxy.compression]\ncpu = \"exp(1ms)\"\nratio = 1.5\n"), "must be in (0, 1]"),
        (SITE.replace("{proxy}", "[proxy.rate_limit]\nper_client = 0\n"), "per_client must be a positive number"),
        (SITE.replace("{proxy}", "[proxy.filter]\ndetection = 1.2\n"), "proxy.filter.detection must be a share"),
        (SITE.replace("{proxy}", "cpu = \"expo(1ms)\"\n"), "proxy.cpu"),
        (SITE.replace("{proxy}", "worker = 2\n"), "did you mean `workers`?"),
        (SITE.replace("{proxy}", "").replace("{workload}", "malicious = -0.1"), "malicious must be a share"),
        (SITE.replace("{proxy}", "").replace("{workload}", "users = 0"), "users must be 1 to"),
        (
            SITE.replace("{proxy}", "").replace("{workload}", "")
                + "[[faults]]\nkind = \"ddos\"\ntarget = \"workload\"\nat = \"1m\"\nrate = 10\n",
            "needs `clients`",
        ),
        (
            SITE.replace("{proxy}", "").replace("{workload}", "")
                + "[[faults]]\nkind = \"ddos\"\ntarget = \"servers\"\nat = \"1m\"\nrate = 10\nclients = 5\n",
            "hits `workload`",
        ),
        (
            SITE.replace("{proxy}", "").replace("{workload}", "")
                + "[[faults]]\nkind = \"ddos\"\ntarget = \"workload\"\nat = \"1m\"\nrate = 10\nclients = 5\nfactor = 2\n",
            "takes no `factor`",
        ),
    ];
    for (text, expected) in cases {
        let text = text.replace("{workload}", "");
        let err = invalid(&text);
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
}
