use super::*;
use crate::units::{NS_PER_MS, NS_PER_S};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

fn p(s: &str) -> Dist {
    match parse(s) {
        Ok(d) => d,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

fn err(s: &str) -> DistError {
    match parse(s) {
        Ok(d) => panic!("{s:?} should not parse, got {d}"),
        Err(e) => e,
    }
}

fn rng() -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(7)
}

#[test]
fn canonical_forms_round_trip() {
    let cases = [
        ("const(5ms)", "const(5ms)"),
        ("const(0s)", "const(0s)"),
        ("exp(20ms)", "exp(20ms)"),
        ("exp(mean=1.5s)", "exp(1.5s)"),
        ("uniform(1ms, 9ms)", "uniform(1ms, 9ms)"),
        ("normal(50ms, 5ms)", "normal(50ms, 5ms)"),
        ("lognormal(median=20ms, p99=200ms)", "lognormal(median=20ms, p99=200ms)"),
        ("lognormal(20ms, 200ms)", "lognormal(median=20ms, p99=200ms)"),
        ("lognormal(mean=20ms, sd=30ms)", "lognormal(mean=20ms, sd=30ms)"),
        ("erlang(4, 10ms)", "erlang(4, 10ms)"),
        ("gamma(shape=2.5, mean=10ms)", "gamma(shape=2.5, mean=10ms)"),
        ("gamma(2.5, 10ms)", "gamma(shape=2.5, mean=10ms)"),
        ("pareto(scale=1ms, shape=1.5)", "pareto(scale=1ms, shape=1.5)"),
        ("pareto(1ms, 1.5)", "pareto(scale=1ms, shape=1.5)"),
        ("weibull(10ms, 2)", "weibull(scale=10ms, shape=2)"),
        ("mix(0.99: const(1ms), 0.01: const(1s))", "mix(0.99: const(1ms), 0.01: const(1s))"),
        (
            "mix(0.5:mix(0.5:exp(1ms),0.5:const(2ms)),0.5:uniform(1ms,2ms))",
            "mix(0.5: mix(0.5: exp(1ms), 0.5: const(2ms)), 0.5: uniform(1ms, 2ms))",
        ),
    ];
    for (input, canonical) in cases {
        let d = p(input);
        assert_eq!(d.to_string(), canonical, "{input}");
        assert_eq!(p(canonical), d, "{input}");
    }
}

#[test]
fn keywords_positions_and_whitespace_agree() {
    let want = p("pareto(1ms, 1.5)");
    for s in [
        "pareto(scale=1ms, shape=1.5)",
        "pareto(shape=1.5, scale=1ms)",
        "pareto(1ms, shape=1.5)",
        "  pareto ( 1 ms ,\n\tshape = 1.5 )  ",
    ] {
        assert_eq!(p(s), want, "{s}");
    }
    assert_eq!(p("uniform(high=9ms, low=1ms)"), p("uniform(1ms, 9ms)"));
    assert_eq!(p("lognormal(p99=200ms, median=20ms)"), p("lognormal(20ms, 200ms)"));
}

#[test]
fn constructors() {
    assert_eq!(Dist::constant(5 * NS_PER_MS), p("const(5ms)"));
    assert_eq!(Dist::exponential(20e6), p("exp(20ms)"));
    assert_eq!(Dist::exponential(0.2), p("exp(1ns)"));
    assert_eq!(Dist::constant(7).to_string(), "const(7ns)");
    assert_eq!("exp(20ms)".parse::<Dist>(), Ok(p("exp(20ms)")));
}

#[test]
#[should_panic(expected = "mean must be finite and > 0")]
fn exponential_rejects_zero_mean() {
    let _ = Dist::exponential(0.0);
}

/// (input, offset, len, message)
const ERRORS: &[(&str, usize, usize, &str)] = &[
    (
        "expo(20ms)",
        0,
        4,
        "unknown distribution `expo`, expected one of const, exp, uniform, normal, lognormal, \
         erlang, gamma, pareto, weibull, mix; did you mean `exp`?",
    ),
    ("  Exp(20ms)", 2, 3, "did you mean `exp`?"),
    ("", 0, 0, "expected a distribution such as `exp(20ms)`"),
    ("(1ms)", 0, 1, "expected a distribution such as `exp(20ms)`"),
    ("20ms", 0, 4, "write `const(20ms)` for a fixed value"),
    ("exp 20ms", 4, 1, "expected `(` after `exp`"),
    ("exp(20ms", 8, 0, "exp: expected `)` to close `exp(`"),
    ("exp(20ms))", 9, 1, "unexpected `)` after the distribution"),
    ("exp()", 4, 1, "exp: missing parameter `mean`; usage: exp(mean)"),
    ("exp(0s)", 4, 2, "exp: mean must be > 0"),
    ("exp(20)", 6, 0, "exp: mean: expected a unit: ns, us, ms, s, m, h, d"),
    ("exp(20sec)", 6, 3, "exp: mean: unknown unit `sec`"),
    ("exp(-1ms)", 4, 1, "exp: mean: negative durations are not allowed"),
    ("exp(1ms,)", 8, 1, "exp: expected a value"),
    ("exp(1ms, 2ms)", 9, 3, "exp: too many arguments; usage: exp(mean)"),
    ("exp(mena=1ms)", 4, 4, "exp: unknown parameter `mena`, expected one of mean; did you mean `mean`?"),
    ("uniform(9ms, 1ms)", 8, 3, "uniform: low (9ms) must be below high (1ms)"),
    ("uniform(1ms, 1ms)", 8, 3, "uniform: low (1ms) must be below high (1ms)"),
    ("uniform(1ms)", 11, 1, "uniform: missing parameter `high`"),
    ("uniform(low=1ms, 2ms)", 17, 3, "uniform: positional argument after a keyword argument"),
    ("uniform(1ms, low=2ms)", 13, 3, "uniform: parameter `low` given twice"),
    ("normal(5ms, 0s)", 12, 2, "normal: sd must be > 0"),
    ("lognormal(20ms, 20ms)", 16, 4, "lognormal: p99 (20ms) must be above median (20ms)"),
    ("lognormal(0s, 20ms)", 10, 2, "lognormal: median must be > 0"),
    ("lognormal(median=1ms, sd=2ms)", 22, 2, "lognormal: give either (median, p99) or (mean, sd)"),
    ("lognormal(mean=1ms)", 18, 1, "lognormal: missing parameter `sd`"),
    ("erlang(0, 10ms)", 7, 1, "erlang: k must be a positive integer, got `0`"),
    ("erlang(2.5, 10ms)", 7, 3, "erlang: k must be a positive integer"),
    ("erlang(4, 0s)", 10, 2, "erlang: mean must be > 0"),
    ("gamma(shape=-1, mean=1ms)", 12, 2, "gamma: shape must be > 0, got -1"),
    ("pareto(1ms, 0)", 12, 1, "pareto: shape must be > 0"),
    ("pareto(1ms, 1.5ms)", 12, 5, "pareto: shape is a plain number without a unit, got `1.5ms`"),
    ("pareto(1ms, x)", 12, 1, "pareto: shape must be a number, got `x`"),
    ("pareto(1ms, inf)", 12, 3, "pareto: shape must be a finite number"),
    ("pareto(0s, 2)", 7, 2, "pareto: scale must be > 0"),
    ("weibull(1ms, 0)", 13, 1, "weibull: shape must be > 0"),
    ("mix(0.5: const(1ms), 0.4: const(2ms))", 0, 37, "mix: weights must sum to 1, got 0.9"),
    ("mix(0: const(1ms), 1: const(2ms))", 4, 1, "mix: weight must be > 0, got 0"),
    ("mix(const(1ms))", 4, 5, "mix: expected `weight: distribution`"),
    ("mix()", 4, 1, "mix: expected `weight: distribution`"),
    ("mix(1: expp(1ms))", 7, 4, "did you mean `exp`?"),
    ("mix(1: const(1ms) x)", 18, 1, "mix: expected `,` or `)` after a component"),
    ("exp(1ms) é", 9, 2, "unexpected `é` after the distribution"),
];

#[test]
fn errors_have_offsets_and_messages() {
    for &(input, offset, len, message) in ERRORS {
        let e = err(input);
        assert!(e.message.contains(message), "{input:?}: message {:?} lacks {message:?}", e.message);
        assert_eq!((e.offset, e.len), (offset, len), "{input:?}: {}", e.message);
    }
    let e = err("mix(1: ".repeat(MAX_MIX_DEPTH + 1).as_str());
    assert!(e.message.contains("nested more than"), "{}", e.message);
}

fn sample_stats(d: &Dist, n: usize) -> (f64, f64, f64) {
    let mut rng = rng();
    let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
    for _ in 0..n {
        let x = d.sample_ns(&mut rng) as f64;
        s1 += x;
        s2 += x * x;
        s4 += x * x * x * x;
    }
    let n = n as f64;
    (s1 / n, s2 / n, s4 / n)
}

#[test]
fn sample_moments_match_closed_forms() {
    const N: usize = 200_000;
    for s in [
        "const(5ms)",
        "exp(20ms)",
        "uniform(1ms, 9ms)",
        "normal(50ms, 5ms)",
        "normal(1ms, 2ms)",
        "lognormal(median=20ms, p99=200ms)",
        "lognormal(mean=20ms, sd=30ms)",
        "erlang(4, 10ms)",
        "erlang(1, 3ms)",
        "gamma(shape=2.5, mean=10ms)",
        "gamma(shape=0.5, mean=10ms)",
        "pareto(scale=1ms, shape=4.5)",
        "weibull(scale=10ms, shape=1.5)",
        "weibull(scale=10ms, shape=0.7)",
        "mix(0.99: const(1ms), 0.01: const(1s))",
        "mix(0.3: exp(1ms), 0.7: mix(0.5: uniform(1ms, 3ms), 0.5: erlang(2, 5ms)))",
    ] {
        let d = p(s);
        let mean = d.mean_ns().expect("finite mean");
        let m2 = d.second_moment_ns2().expect("finite second moment");
        let (got_mean, got_m2, got_m4) = sample_stats(&d, N);
        let se_mean = ((m2 - mean * mean).max(0.0) / N as f64).sqrt();
        assert!((got_mean - mean).abs() <= 5.0 * se_mean + 1.0, "{s}: sample mean {got_mean} vs {mean} (se {se_mean})");
        let se_m2 = ((got_m4 - got_m2 * got_m2).max(0.0) / N as f64).sqrt();
        assert!((got_m2 - m2).abs() <= 6.0 * se_m2 + 2.0 * mean, "{s}: sample E[S^2] {got_m2} vs {m2} (se {se_m2})");
    }
}

#[test]
fn lognormal_fit_hits_the_percentiles() {
    let d = p("lognormal(median=20ms, p99=200ms)");
    let mut rng = rng();
    let n = 200_000;
    let (mut below_p99, mut below_median) = (0, 0);
    for _ in 0..n {
        let x = d.sample_ns(&mut rng);
        below_p99 += usize::from(x < 200 * NS_PER_MS);
        below_median += usize::from(x < 20 * NS_PER_MS);
    }
    let f99 = below_p99 as f64 / n as f64;
    let f50 = below_median as f64 / n as f64;
    assert!((f99 - 0.99).abs() < 0.001, "fraction below p99: {f99}");
    assert!((f50 - 0.5).abs() < 0.005, "fraction below median: {f50}");
}

#[test]
fn infinite_moments_are_none() {
    let d = p("pareto(1ms, 1)");
    assert_eq!((d.mean_ns(), d.second_moment_ns2()), (None, None));
    let d = p("pareto(1ms, 1.5)");
    assert_eq!(d.mean_ns(), Some(3.0 * NS_PER_MS as f64));
    assert_eq!(d.second_moment_ns2(), None);
    let d = p("mix(0.5: const(1ms), 0.5: pareto(1ms, 0.9))");
    assert_eq!(d.mean_ns(), None);
    let d = p("erlang(4, 10ms)");
    assert_eq!(d.mean_ns(), Some(1e7));
    assert_eq!(d.second_moment_ns2(), Some(1.25e14));
}

#[test]
fn samples_are_clamped_and_deterministic() {
    let mut r = rng();
    assert_eq!(p("const(18446744073709551615ns)").sample_ns(&mut r), MAX_SAMPLE_NS);
    let heavy = p("pareto(1d, 0.05)");
    assert!((0..1000).all(|_| heavy.sample_ns(&mut r) <= MAX_SAMPLE_NS));
    let d = p("normal(1ms, 10ms)");
    let zeros = (0..1000).filter(|_| d.sample_ns(&mut r) == 0).count();
    assert!(zeros > 400, "about 46% of draws clamp to 0, got {zeros}");
    let d = p("mix(0.5: exp(1s), 0.5: lognormal(1ms, 5ms))");
    let a: Vec<u64> = (0..100).map(|_| d.sample_ns(&mut rng())).collect();
    let b: Vec<u64> = (0..100).map(|_| d.sample_ns(&mut rng())).collect();
    assert_eq!(a, b);
    let x = p("uniform(1s, 2s)").sample_ns(&mut r);
    assert!((NS_PER_S..2 * NS_PER_S).contains(&x));
}

fn dur(n: u64) -> String {
    format_duration(n)
}

/// Valid distribution strings, written in assorted styles.
fn leaf() -> impl Strategy<Value = String> {
    const BIG: u64 = 1 << 50;
    prop_oneof![
        any::<u64>().prop_map(|n| format!("const({})", dur(n))),
        (1..BIG).prop_map(|n| format!("exp(mean = {})", dur(n))),
        (0..BIG, 1..BIG).prop_map(|(a, b)| format!("uniform({},{})", dur(a), dur(a + b))),
        (0..BIG, 1..BIG).prop_map(|(m, s)| format!("normal(sd={}, mean={})", dur(s), dur(m))),
        (1..BIG, 1..BIG).prop_map(|(m, d)| format!("lognormal({}, {})", dur(m), dur(m + d))),
        (1..BIG, 1..BIG).prop_map(|(m, s)| format!("lognormal(mean={}, sd={})", dur(m), dur(s))),
        (1..1000u32, 1..BIG).prop_map(|(k, m)| format!("erlang(k={k}, mean={})", dur(m))),
        (0.01..100.0f64, 1..BIG).prop_map(|(k, m)| format!("gamma({k}, {})", dur(m))),
        (1..BIG, 0.01..10.0f64).prop_map(|(s, k)| format!("pareto({}, shape={k})", dur(s))),
        (1..BIG, 0.1..10.0f64).prop_map(|(s, k)| format!(" weibull ( {} , {k} ) ", dur(s))),
    ]
}

fn dist_string() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec((1..1000u32, inner), 1..4).prop_map(|items| {
            let total: u32 = items.iter().map(|(w, _)| w).sum();
            let parts: Vec<String> =
                items.iter().map(|(w, d)| format!("{}: {d}", f64::from(*w) / f64::from(total))).collect();
            format!("mix({})", parts.join(", "))
        })
    })
}

proptest! {
    #[test]
    fn display_round_trips(s in dist_string()) {
        let d = parse(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        let shown = d.to_string();
        prop_assert_eq!(parse(&shown), Ok(d.clone()), "{} -> {}", s, shown);
        let x = d.sample_ns(&mut rng());
        prop_assert!(x <= MAX_SAMPLE_NS);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        if let Err(e) = parse(&s) {
            prop_assert!(e.offset + e.len <= s.len());
        }
    }

    #[test]
    fn dist_like_strings_never_panic(
        s in "[a-z]{0,9}\\(([0-9.]{0,4}(ms|s|us|ns|x)?|[a-z]{1,6}=|[:,() ]|mix\\(|é){0,12}\\)?"
    ) {
        if let Err(e) = parse(&s) {
            prop_assert!(s.is_char_boundary(e.offset), "{:?}", e);
            prop_assert!(s.is_char_boundary(e.offset + e.len), "{:?}", e);
        }
    }

    #[test]
    fn mutated_valid_strings_never_panic(s in dist_string(), cut in any::<prop::sample::Index>()) {
        let cut = s.char_indices().map(|(i, _)| i).nth(cut.index(s.chars().count())).unwrap_or(0);
        for variant in [&s[..cut], &s[cut..]] {
            if let Err(e) = parse(variant) {
                prop_assert!(e.offset + e.len <= variant.len());
            }
        }
    }
}
