//! Property-testing failure recovery from your own tests: the fault-schedule generator is a
//! `proptest` strategy and the invariant checkers are plain functions, so a `proptest!`
//! block can throw random fault schedules at any scenario. proptest shrinks a failure to a
//! minimal schedule, as `prodsim check` does.

use crate::common;

use std::sync::LazyLock;

use prodsim_kernel::NS_PER_S;
use prodsim_lab::chaos::checkers::{conservation, ledger, recovery};
use prodsim_lab::chaos::{FaultSpace, Mode, Schedule, Window, schedules};
use prodsim_scenario::Scenario;
use proptest::prelude::*;

/// The robust shop, shortened to 6 simulated minutes to keep the test quick.
static SHOP: LazyLock<Scenario> = LazyLock::new(|| {
    let mut s = common::scenario("scenarios/checkout-robust.toml");
    s.duration_ns = 6 * 60 * NS_PER_S;
    s
});

/// Faults between the warmup and +3m; the shop then has two minutes to recover and one
/// to show it.
fn shop_schedules() -> BoxedStrategy<Schedule> {
    let mut space = FaultSpace::of(&SHOP);
    // A crash mid-charge (an OOM kill included) loses the payment in this shop: it has no
    // reconciliation job.
    space.choices.retain(|c| !matches!(c.kind, "crash" | "memory_leak"));
    let window = Window { earliest_ns: SHOP.warmup_ns, latest_end_ns: 3 * 60 * NS_PER_S, run_end_ns: SHOP.duration_ns };
    schedules(&space, window, Mode::Recovery, 2)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_shop_loses_nothing_and_recovers_from_any_two_faults(schedule in shop_schedules()) {
        let seed = 5;
        let outcome = prodsim_model::simulate(&schedule.apply(&SHOP), seed).expect("runs within its limits");
        let baseline = prodsim_model::simulate(&Schedule { faults: Vec::new() }.apply(&SHOP), seed).expect("runs");
        let window = recovery::Window::after(&SHOP, schedule.last_end_ns().unwrap_or(0), 2 * 60 * NS_PER_S);
        let mut violations = conservation::check(&outcome);
        violations.extend(ledger::check(&outcome));
        violations.extend(recovery::check(&outcome, &baseline, &window, &recovery::Tolerance::default()));
        prop_assert!(violations.is_empty(), "{:?} broke {:?}", schedule.lines(), violations);
    }
}
