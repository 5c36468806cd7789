//! Random fault schedules: the proptest strategy that draws them from a [`FaultSpace`], and
//! the [`Schedule`] value that a `check` case runs, prints and writes back as `[[faults]]`.
//!
//! The encoding is chosen so that proptest's shrinking means *simpler*: every random part of
//! a fault is a number that shrinks toward 0, and 0 is the simple end. The choice index
//! shrinks toward the space's first (simplest) kind and smallest target; a parameter toward
//! the mildest value (a small slowdown, a short hang); a duration toward the shortest
//! ([`MIN_DURATION_S`]); and a start, counted back from the latest possible start, toward
//! the latest one. A shrunk counterexample thus has few faults, short and late and mild.
//!
//! Times are whole seconds and parameters have at most two decimals, so a schedule written
//! with [`Schedule::to_toml`] reads back as the very same faults.

use proptest::collection::vec;
use proptest::strategy::{BoxedStrategy, Just, Strategy};

use super::space::{Choice, FaultSpace};
use prodsim_kernel::units::{NS_PER_MS, format_duration};
use prodsim_kernel::{Dist, NS_PER_S};
use prodsim_parts::faults::{Fault, FaultKind};
use prodsim_scenario::Scenario;

/// Shortest generated fault, in seconds (shorter when the window itself is shorter).
pub const MIN_DURATION_S: u64 = 10;

/// Resolution of a parameter: its value is `low + (high - low) * step / PARAM_STEPS`.
const PARAM_STEPS: u32 = 10_000;

/// Whether generated faults stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Faults end by [`Window::latest_end_ns`]; then the run continues (can the system
    /// recover?).
    Recovery,
    /// Faults never end: each lasts until the run ends (does the system stay safe while
    /// they last?).
    Safety,
}

/// Where faults may fall in simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// No fault starts before this (e.g. after the warm-up).
    pub earliest_ns: u64,
    /// In [`Mode::Recovery`] every fault has ended by this; in [`Mode::Safety`] every fault
    /// starts before it.
    pub latest_end_ns: u64,
    /// The end of the run (the scenario's duration): where a fault without a duration ends.
    pub run_end_ns: u64,
}

/// A fault schedule: the faults of one case, sorted by start time (then by kind/target name
/// for ties).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The faults, sorted.
    pub faults: Vec<Fault>,
}

impl Schedule {
    /// The scenario with its own `[[faults]]` replaced by this schedule (everything else
    /// cloned unchanged, including `[[expect]]`, whose fault indices then name this
    /// schedule's faults). The schedule must hold only faults the scenario's topology can
    /// take, as [`FaultSpace::of`] gives them.
    pub fn apply(&self, scenario: &Scenario) -> Scenario {
        Scenario { faults: self.faults.clone(), ..scenario.clone() }
    }

    /// When the last fault ends (a crash/primary_crash counts at its start), `None` when
    /// empty.
    pub fn last_end_ns(&self) -> Option<u64> {
        self.faults.iter().map(|f| f.end_ns.max(f.start_ns)).max()
    }

    /// The faults as `[[faults]]` tables, exactly as a scenario file writes them (kind,
    /// target, at, duration and the kind's parameters); loading a file with them gives back
    /// equal `Fault`s.
    ///
    /// A fault that lasts until the end of the run is written with the duration that takes
    /// it there: a `Fault` does not record that it had none, and the two load the same.
    pub fn to_toml(&self) -> toml::value::Array {
        self.faults.iter().map(|f| toml::Value::Table(fault_table(f))).collect()
    }

    /// One line per fault for terminal output, e.g.
    /// `"+12m30s for 3m  timeouts on payment_api (calls hang 2m)"`.
    pub fn lines(&self) -> Vec<String> {
        self.faults
            .iter()
            .map(|f| {
                let span = if instantaneous(&f.kind) || f.end_ns <= f.start_ns {
                    String::new()
                } else {
                    format!(" for {}", format_duration(f.end_ns - f.start_ns))
                };
                let kind = f.kind.name();
                format!("+{}{span}  {kind} on {} ({})", format_duration(f.start_ns), f.target_name, f.kind.describe())
            })
            .collect()
    }

    /// Sorts the faults by start, then kind name, then target name (stable otherwise).
    fn sorted(mut faults: Vec<Fault>) -> Schedule {
        faults.sort_by(|a, b| {
            a.start_ns
                .cmp(&b.start_ns)
                .then_with(|| a.kind.name().cmp(b.kind.name()))
                .then_with(|| a.target_name.cmp(&b.target_name))
        });
        Schedule { faults }
    }
}

/// Whether the kind happens at an instant and has no duration (its recovery is the
/// component's own: a restart, a failover).
fn instantaneous(kind: &FaultKind) -> bool {
    matches!(kind, FaultKind::Crash | FaultKind::PrimaryCrash | FaultKind::DataLoss)
}

/// The `[[faults]]` table of one fault.
fn fault_table(f: &Fault) -> toml::Table {
    use toml::Value;
    let mut t = toml::Table::new();
    let text = |s: String| Value::String(s);
    t.insert("kind".into(), text(f.kind.name().to_string()));
    t.insert("target".into(), text(f.target_name.clone()));
    t.insert("at".into(), text(format_duration(f.start_ns)));
    if !instantaneous(&f.kind) && f.end_ns > f.start_ns {
        t.insert("duration".into(), text(format_duration(f.end_ns - f.start_ns)));
    }
    match &f.kind {
        FaultKind::Slowdown { factor } | FaultKind::SlowQueries { factor } | FaultKind::TrafficSpike { factor } => {
            t.insert("factor".into(), Value::Float(*factor));
        }
        FaultKind::Timeouts { hang_ns } => {
            t.insert("hang".into(), text(format_duration(*hang_ns)));
        }
        FaultKind::ErrorRate { rate } => {
            t.insert("rate".into(), Value::Float(*rate));
        }
        FaultKind::AddedLatency { latency } => {
            t.insert("latency".into(), text(latency.to_string()));
        }
        FaultKind::ReplicationLag { lag_ns } => {
            t.insert("lag".into(), text(format_duration(*lag_ns)));
        }
        FaultKind::MemoryLeak { mb_per_s } => {
            t.insert("mb_per_s".into(), Value::Float(*mb_per_s));
        }
        FaultKind::ConnectionLeak { per_s } => {
            t.insert("per_s".into(), Value::Float(*per_s));
        }
        FaultKind::Partition { from: (first, end), hang_ns } => {
            // The space cuts off one server or all of them; a range of several is `servers`.
            let from = if end - first == 1 { format!("server-{first}") } else { "servers".to_string() };
            t.insert("from".into(), text(from));
            t.insert("hang".into(), text(format_duration(*hang_ns)));
        }
        FaultKind::Ddos { rate, clients } => {
            t.insert("rate".into(), Value::Float(*rate));
            t.insert("clients".into(), Value::Integer(i64::from(*clients)));
        }
        FaultKind::CredentialStuffing { rate, clients, failure_ratio, .. } => {
            t.insert("rate".into(), Value::Float(*rate));
            t.insert("clients".into(), Value::Integer(i64::from(*clients)));
            t.insert("failure_ratio".into(), Value::Float(*failure_ratio));
        }
        FaultKind::Outage
        | FaultKind::Crash
        | FaultKind::PrimaryCrash
        | FaultKind::DataLoss
        | FaultKind::RegionOutage
        | FaultKind::NotificationOutage => {}
    }
    t
}

/// `step` of [`PARAM_STEPS`] on the integer grid `low..=high`; step 0 is `low`.
fn grid(step: u32, low: u32, high: u32) -> u32 {
    let step = u64::from(step.min(PARAM_STEPS));
    let extra = u64::from(high.saturating_sub(low)) * step / u64::from(PARAM_STEPS);
    low + extra as u32
}

/// `step` on `low..=high` hundredths, as a number with at most two decimals (the nearest
/// `f64` to it, which is what a file's `1.55` parses to).
fn cents(step: u32, low: u32, high: u32) -> f64 {
    f64::from(grid(step, low, high)) / 100.0
}

/// The kind named `name` with parameters drawn from `p` and `q` (each in
/// `0..=PARAM_STEPS`, 0 the mildest) and a partition's `from`; `None` for an unknown name.
///
/// Ranges: slowdown ×1.5–10, added latency const 50 ms–2 s, error rate 5–100%, timeouts
/// hang 10–120 s, slow queries ×2–20, replication lag 1–60 s, traffic spike ×1.5–4, memory
/// leak 1–50 MiB/s, connection leak 0.5–5 /s, partition hang 10–120 s, ddos 100–5000
/// requests/s from 1–1000 clients.
fn kind_named(name: &str, p: u32, q: u32, from: (u32, u32)) -> Option<FaultKind> {
    let secs = |lo, hi| u64::from(grid(p, lo, hi)) * NS_PER_S;
    Some(match name {
        "slowdown" => FaultKind::Slowdown { factor: cents(p, 150, 1000) },
        "added_latency" => {
            FaultKind::AddedLatency { latency: Dist::constant(u64::from(grid(p, 50, 2000)) * NS_PER_MS) }
        }
        "error_rate" => FaultKind::ErrorRate { rate: cents(p, 5, 100) },
        "timeouts" => FaultKind::Timeouts { hang_ns: secs(10, 120) },
        "slow_queries" => FaultKind::SlowQueries { factor: cents(p, 200, 2000) },
        "replication_lag" => FaultKind::ReplicationLag { lag_ns: secs(1, 60) },
        "traffic_spike" => FaultKind::TrafficSpike { factor: cents(p, 150, 400) },
        "outage" => FaultKind::Outage,
        "memory_leak" => FaultKind::MemoryLeak { mb_per_s: cents(p, 100, 5000) },
        "connection_leak" => FaultKind::ConnectionLeak { per_s: cents(p, 50, 500) },
        "partition" => FaultKind::Partition { from, hang_ns: secs(10, 120) },
        "crash" => FaultKind::Crash,
        "primary_crash" => FaultKind::PrimaryCrash,
        "data_loss" => FaultKind::DataLoss,
        "region_outage" => FaultKind::RegionOutage,
        "ddos" => FaultKind::Ddos { rate: f64::from(grid(p, 100, 5000)), clients: grid(q, 1, 1000) },
        _ => return None,
    })
}

/// The window in whole seconds, with room for at least a one-second fault.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// First second a fault may start at.
    earliest_s: u64,
    /// Second by which faults end (recovery) or before which they start (safety).
    end_s: u64,
    /// Shortest fault, seconds.
    min_duration_s: u64,
    /// `mode`.
    mode: Mode,
    /// Where open-ended faults end.
    run_end_ns: u64,
}

impl Plan {
    /// Rounds the window inward to whole seconds. A window shorter than a second is
    /// widened to one second after its start (the caller should give a real window).
    fn new(window: Window, mode: Mode) -> Plan {
        let earliest_s = window.earliest_ns.div_ceil(NS_PER_S);
        let end_s = (window.latest_end_ns / NS_PER_S).max(earliest_s + 1);
        let min_duration_s = MIN_DURATION_S.min(end_s - earliest_s);
        Plan { earliest_s, end_s, min_duration_s, mode, run_end_ns: window.run_end_ns }
    }

    /// Seconds of the window.
    fn span_s(&self) -> u64 {
        self.end_s - self.earliest_s
    }

    /// Most seconds a fault may last beyond the shortest.
    fn max_extra_s(&self) -> u64 {
        self.span_s() - self.min_duration_s
    }

    /// `(start_ns, end_ns)` of a fault lasting `min_duration_s + extra_s` (recovery) that
    /// starts up to `earlier_s` before its latest possible start.
    fn times(&self, instant: bool, extra_s: u64, earlier_s: u64) -> (u64, u64) {
        let held_s = match (instant, self.mode) {
            // An instantaneous fault, or one that never ends, takes the last second at most.
            (true, _) | (false, Mode::Safety) => 1,
            (false, Mode::Recovery) => self.min_duration_s + extra_s.min(self.max_extra_s()),
        };
        // `earlier_s` is drawn over the whole span and scaled to the room this fault leaves,
        // so starts spread evenly over that room (clamping would pile long faults up at the
        // earliest start).
        let room_s = self.span_s() - held_s;
        let earlier_s = u64::try_from(
            u128::from(earlier_s.min(self.span_s())) * u128::from(room_s) / u128::from(self.span_s().max(1)),
        )
        .unwrap_or(room_s);
        let start_s = self.end_s - held_s - earlier_s.min(room_s);
        let start_ns = start_s * NS_PER_S;
        let end_ns = match (instant, self.mode) {
            (true, _) => start_ns,
            // As the loader ends a fault without a duration.
            (false, Mode::Safety) => self.run_end_ns.max(start_ns),
            (false, Mode::Recovery) => (start_s + held_s) * NS_PER_S,
        };
        (start_ns, end_ns)
    }
}

/// `choice` as one fault from `start_ns` to `end_ns` (an instantaneous kind, a crash,
/// happens at `start_ns`), with mid-range parameters (slowdown ×5.75, error rate 52.5%,
/// calls hanging 65 s, ...: the middle of the ranges [`schedules`] draws from) and a
/// partition cutting off `from`. `None` for a kind no schedule generates.
pub fn fault_of(choice: &Choice, from: (u32, u32), start_ns: u64, end_ns: u64) -> Option<Fault> {
    let mid = PARAM_STEPS / 2;
    let kind = kind_named(choice.kind, mid, mid, from)?;
    let end_ns = if instantaneous(&kind) { start_ns } else { end_ns.max(start_ns) };
    Some(Fault { kind, target: choice.target, target_name: choice.target_name.clone(), start_ns, end_ns })
}

/// The proptest strategy of schedules over `space`: 1..=max_faults faults (max_faults >= 1)
/// in `window`.
///
/// Each fault is one of the space's choices with parameters, a duration and a start; all
/// of them shrink toward the simple end (see the module comment). `window.run_end_ns` must
/// be the scenario's duration for open-ended ([`Mode::Safety`]) faults to equal the loaded
/// ones. A `max_faults` of 0 is taken as 1; an empty space gives only empty schedules.
pub fn schedules(space: &FaultSpace, window: Window, mode: Mode, max_faults: usize) -> BoxedStrategy<Schedule> {
    let choices: Vec<_> =
        space.choices.iter().filter(|c| kind_named(c.kind, 0, 0, (0, 1)).is_some()).cloned().collect();
    if choices.is_empty() {
        return Just(Schedule { faults: Vec::new() }).boxed();
    }
    let mut sources: Vec<(u32, u32)> = space.partition_sources().iter().map(|s| s.from).collect();
    if sources.is_empty() {
        sources.push((0, 1));
    }
    let plan = Plan::new(window, mode);
    let parts = (
        0..choices.len(),
        0..=PARAM_STEPS,
        0..=PARAM_STEPS,
        0..sources.len(),
        0..=plan.max_extra_s(),
        0..=plan.span_s(),
    );
    let fault = parts.prop_map(move |(c, p, q, s, extra_s, earlier_s)| {
        let choice = &choices[c];
        let kind = kind_named(choice.kind, p, q, sources[s]).unwrap_or(FaultKind::Outage);
        let (start_ns, end_ns) = plan.times(instantaneous(&kind), extra_s, earlier_s);
        Fault { kind, target: choice.target, target_name: choice.target_name.clone(), start_ns, end_ns }
    });
    vec(fault, 1..=max_faults.max(1)).prop_map(Schedule::sorted).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::units::NS_PER_MIN;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::path::Path;

    fn load(text: &str) -> Scenario {
        match prodsim_scenario::load_str(text, Path::new("x.toml")) {
            Ok(l) => l.scenario,
            Err(e) => panic!("scenario does not load: {e:?}"),
        }
    }

    /// The scenario text as a table, without its faults and expectations.
    fn base_table(text: &str) -> toml::Table {
        let mut t: toml::Table = text.parse().expect("valid toml");
        t.remove("faults");
        t.remove("expect");
        t
    }

    /// Payment-outage with two regions and `[logging]`: services, storage, a database with
    /// replicas, regions, monitoring and the log store.
    fn everything() -> String {
        let regions = r#"
[[regions]]
name = "us-east"
share = 0.5
servers = 3
rtt = "const(10ms)"
rtt_to = { eu-west = "80ms" }

[[regions]]
name = "eu-west"
share = 0.5
servers = 5
rtt = "const(20ms)"

[logging]
"#;
        format!("{}{regions}", include_str!("../../../../scenarios/payment-outage.toml"))
    }

    fn runner(seed: u8) -> TestRunner {
        let config = Config { cases: 1, ..Config::default() };
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]))
    }

    fn window(s: &Scenario) -> Window {
        Window { earliest_ns: s.warmup_ns, latest_end_ns: s.duration_ns * 3 / 4, run_end_ns: s.duration_ns }
    }

    /// Writes `cases` random schedules into the scenario file and loads them back: the
    /// faults, and the whole scenario, must come back equal.
    fn round_trip(text: &str, mode: Mode, cases: usize) {
        let table = base_table(text);
        let base_text = toml::to_string(&table).expect("serialises");
        let base = load(&base_text);
        let space = FaultSpace::of(&base);
        let strategy = schedules(&space, window(&base), mode, 4);
        let mut runner = runner(7);
        for _ in 0..cases {
            let schedule = strategy.new_tree(&mut runner).expect("tree").current();
            let mut t = table.clone();
            t.insert("faults".into(), toml::Value::Array(schedule.to_toml()));
            let text = toml::to_string(&t).expect("serialises");
            let loaded = match prodsim_scenario::load_str(&text, Path::new("x.toml")) {
                Ok(l) => l.scenario,
                Err(e) => panic!("{e:?}\nschedule:\n{}", schedule.lines().join("\n")),
            };
            assert_eq!(loaded.faults, schedule.faults, "{}", schedule.lines().join("\n"));
            assert_eq!(loaded, schedule.apply(&base));
        }
    }

    #[test]
    fn schedules_load_back_identically() {
        round_trip(include_str!("../../../../scenarios/payment-outage.toml"), Mode::Recovery, 150);
        round_trip(include_str!("../../../../scenarios/payment-outage.toml"), Mode::Safety, 50);
        round_trip(&everything(), Mode::Recovery, 200);
        round_trip(include_str!("../../../../scenarios/quickstart.toml"), Mode::Recovery, 50);
        round_trip(include_str!("../../../../scenarios/quickstart.toml"), Mode::Safety, 20);
        round_trip(include_str!("../../../../scenarios/ddos.toml"), Mode::Recovery, 50);
    }

    /// Every choice of the space, with every partition source and extreme parameters, in
    /// one file: the loader accepts each and resolves it to the same fault.
    #[test]
    fn every_choice_loads_back() {
        for text in [everything(), include_str!("../../../../scenarios/ddos.toml").to_string()] {
            let table = base_table(&text);
            let base = load(&toml::to_string(&table).expect("serialises"));
            let space = FaultSpace::of(&base);
            let plan = Plan::new(window(&base), Mode::Recovery);
            let mut faults = Vec::new();
            for (i, c) in space.choices.iter().enumerate() {
                for source in space.partition_sources() {
                    for p in [0, 1234, PARAM_STEPS] {
                        let kind = kind_named(c.kind, p, PARAM_STEPS - p, source.from).expect("known kind");
                        let (start_ns, end_ns) = plan.times(instantaneous(&kind), i as u64, p.into());
                        let target_name = c.target_name.clone();
                        faults.push(Fault { kind, target: c.target, target_name, start_ns, end_ns });
                    }
                }
            }
            let schedule = Schedule::sorted(faults);
            let mut t = table.clone();
            t.insert("faults".into(), toml::Value::Array(schedule.to_toml()));
            let loaded = load(&toml::to_string(&t).expect("serialises"));
            assert_eq!(loaded.faults, schedule.faults);
        }
    }

    #[test]
    fn every_choice_is_generated_somewhere() {
        let s = load(&everything());
        let space = FaultSpace::of(&s);
        assert!(space.kinds().contains(&"region_outage") && space.kinds().contains(&"partition"));
        assert!(space.targets().contains(&"log_store".to_string()));
        let strategy = schedules(&space, window(&s), Mode::Recovery, 8);
        let mut runner = runner(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..400 {
            for f in strategy.new_tree(&mut runner).expect("tree").current().faults {
                seen.insert(f.kind.name());
            }
        }
        assert_eq!(seen.len(), space.kinds().len(), "{seen:?}");
    }

    #[test]
    fn faults_stay_in_the_window() {
        let s = load(include_str!("../../../../scenarios/payment-outage.toml"));
        let space = FaultSpace::of(&s);
        let w =
            Window { earliest_ns: 2 * NS_PER_MIN + 1, latest_end_ns: 60 * NS_PER_MIN - 1, run_end_ns: s.duration_ns };
        let mut runner = runner(11);
        for mode in [Mode::Recovery, Mode::Safety] {
            let strategy = schedules(&space, w, mode, 6);
            for _ in 0..300 {
                let schedule = strategy.new_tree(&mut runner).expect("tree").current();
                assert!((1..=6).contains(&schedule.faults.len()));
                assert!(schedule.faults.windows(2).all(|p| p[0].start_ns <= p[1].start_ns));
                for f in &schedule.faults {
                    assert!(f.start_ns >= w.earliest_ns && f.start_ns < w.latest_end_ns, "{f:?}");
                    assert_eq!(f.start_ns % NS_PER_S, 0);
                    let instant = instantaneous(&f.kind);
                    match mode {
                        _ if instant => assert_eq!(f.end_ns, f.start_ns),
                        Mode::Recovery => {
                            assert!(f.end_ns <= w.latest_end_ns, "{f:?}");
                            assert!(f.end_ns - f.start_ns >= MIN_DURATION_S * NS_PER_S);
                        }
                        Mode::Safety => assert_eq!(f.end_ns, w.run_end_ns),
                    }
                }
                assert!(schedule.last_end_ns().is_some());
            }
        }
    }

    /// Accepting every simplification ends at one fault: the first choice, its mildest
    /// parameter, the shortest duration, the latest start.
    #[test]
    fn shrinking_goes_to_one_short_late_mild_fault() {
        let s = load(include_str!("../../../../scenarios/payment-outage.toml"));
        let space = FaultSpace::of(&s);
        let w = window(&s);
        for (mode, seed) in [(Mode::Recovery, 1), (Mode::Recovery, 2), (Mode::Safety, 3)] {
            let mut tree = schedules(&space, w, mode, 8).new_tree(&mut runner(seed)).expect("tree");
            let mut steps = 0;
            while tree.simplify() {
                steps += 1;
                assert!(steps < 100_000, "shrinking does not end");
            }
            let last = tree.current();
            assert_eq!(last.faults.len(), 1);
            let f = &last.faults[0];
            assert_eq!(f.kind, FaultKind::Slowdown { factor: 1.5 });
            assert_eq!(f.target_name, "server-0");
            let end_ns = w.latest_end_ns / NS_PER_S * NS_PER_S;
            match mode {
                Mode::Recovery => {
                    assert_eq!(f.end_ns, end_ns);
                    assert_eq!(f.end_ns - f.start_ns, MIN_DURATION_S * NS_PER_S);
                }
                Mode::Safety => {
                    assert_eq!(f.start_ns, end_ns - NS_PER_S);
                    assert_eq!(f.end_ns, w.run_end_ns);
                }
            }
        }
    }

    // Library users reach the strategy through `crate::chaos` in their own `proptest!`.
    proptest::proptest! {
        #![proptest_config(Config { cases: 16, ..Config::default() })]
        #[test]
        fn usable_in_proptest_blocks(schedule in {
            let s = load(include_str!("../../../../scenarios/quickstart.toml"));
            crate::chaos::schedules(&crate::chaos::FaultSpace::of(&s), window(&s), crate::chaos::Mode::Safety, 3)
        }) {
            proptest::prop_assert!((1..=3).contains(&schedule.faults.len()));
            proptest::prop_assert!(schedule.faults.iter().all(|f| matches!(
                f.target,
                prodsim_parts::faults::FaultTarget::Server(_) | prodsim_parts::faults::FaultTarget::AllServers | prodsim_parts::faults::FaultTarget::Workloads
            )));
        }
    }

    #[test]
    fn parameters_shrink_to_their_mildest_and_round_to_cents() {
        assert_eq!(kind_named("error_rate", 0, 0, (0, 1)), Some(FaultKind::ErrorRate { rate: 0.05 }));
        assert_eq!(kind_named("error_rate", PARAM_STEPS, 0, (0, 1)), Some(FaultKind::ErrorRate { rate: 1.0 }));
        assert_eq!(kind_named("timeouts", 0, 0, (0, 1)), Some(FaultKind::Timeouts { hang_ns: 10 * NS_PER_S }));
        assert_eq!(kind_named("ddos", PARAM_STEPS, 0, (0, 1)), Some(FaultKind::Ddos { rate: 5000.0, clients: 1 }));
        assert_eq!(cents(1234, 150, 1000), 2.54);
        assert_eq!(kind_named("nope", 0, 0, (0, 1)), None);
    }

    #[test]
    fn lines_and_tables() {
        let schedule = Schedule::sorted(vec![
            Fault {
                kind: FaultKind::Timeouts { hang_ns: 120 * NS_PER_S },
                target: prodsim_parts::faults::FaultTarget::Service(1),
                target_name: "payment_api".into(),
                start_ns: 750 * NS_PER_S,
                end_ns: 930 * NS_PER_S,
            },
            Fault {
                kind: FaultKind::Crash,
                target: prodsim_parts::faults::FaultTarget::Server(2),
                target_name: "server-2".into(),
                start_ns: 60 * NS_PER_S,
                end_ns: 60 * NS_PER_S,
            },
        ]);
        assert_eq!(
            schedule.lines(),
            vec![
                "+1m  crash on server-2 (process dies, supervisor restarts it)",
                "+12m30s for 3m  timeouts on payment_api (calls hang 2m)",
            ]
        );
        assert_eq!(schedule.last_end_ns(), Some(930 * NS_PER_S));
        let tables = schedule.to_toml();
        let crash = tables[0].as_table().expect("table");
        assert!(!crash.contains_key("duration"));
        let timeouts = tables[1].as_table().expect("table");
        assert_eq!(timeouts.get("duration").and_then(|v| v.as_str()), Some("3m"));
        assert_eq!(timeouts.get("hang").and_then(|v| v.as_str()), Some("2m"));
        assert_eq!(Schedule { faults: Vec::new() }.last_end_ns(), None);
    }
}
