//! Unit and property tests of the log shipper, exemplars and error tracker.

use proptest::prelude::*;

use super::*;

fn cfg(instances: usize, buffer_capacity: u32, batch_size: u32, ingestion_latency_ms: i64) -> ShipperConfig {
    ShipperConfig { instances, buffer_capacity, batch_interval_ms: 1000, batch_size, ingestion_latency_ms }
}

#[test]
fn a_full_buffer_drops() {
    let mut s = Shipper::new(cfg(2, 3, 10, 0));
    let accepted: Vec<bool> = (0..5).map(|i| s.emit(i, 0, Level::Info)).collect();
    assert_eq!(accepted, [true, true, true, false, false]);
    assert!(s.emit(5, 1, Level::Error), "the other instance has its own buffer");
    let c = s.counts();
    assert_eq!((c.total.emitted, c.total.dropped, c.total.backlog), (6, 2, 4));
    assert_eq!(c.level(Level::Info).dropped, 2);
    assert!(c.total.is_conserved());
}

#[test]
fn a_crash_loses_exactly_the_buffer() {
    let mut s = Shipper::new(cfg(2, 100, 100, 0));
    for t in 0..7 {
        s.emit(t, 0, if t % 2 == 0 { Level::Info } else { Level::Warn });
    }
    s.emit(0, 1, Level::Error);
    assert_eq!(s.crash(10, 0), 7);
    assert_eq!(s.crash(11, 0), 0, "nothing left to lose");
    assert_eq!(s.crashes(), (2, Some(11)));
    let c = s.counts();
    assert_eq!((c.level(Level::Info).lost, c.level(Level::Warn).lost, c.total.lost), (4, 3, 7));
    assert_eq!(c.total.backlog, 1);
    s.flush_due(1000);
    let c = s.counts();
    assert_eq!((c.total.shipped, c.total.lost, c.total.backlog), (1, 7, 0));
    assert!(c.total.is_conserved());
}

#[test]
fn shipped_entries_become_visible_after_the_ingestion_latency() {
    let mut s = Shipper::new(cfg(1, 100, 100, 500));
    assert_eq!(s.next_flush(), None, "idle");
    s.emit(200, 0, Level::Error);
    assert_eq!(s.next_flush(), Some(1000));
    s.flush_due(1000);
    assert_eq!(s.counts().total.in_transit, 1);
    assert_eq!(s.next_flush(), Some(1500));
    s.flush_due(1499);
    assert_eq!(s.counts().total.shipped, 0);
    s.flush_due(1500);
    assert_eq!((s.counts().total.shipped, s.counts().total.in_transit), (1, 0));
    assert_eq!(s.max_ingestion_delay_ms(), 1300);
    assert_eq!(s.next_flush(), None);
    // After an idle spell the next tick is the first on the grid after the emission.
    s.emit(7250, 0, Level::Info);
    assert_eq!(s.next_flush(), Some(8000));
}

#[test]
fn a_store_outage_builds_a_backlog_that_drains_batch_by_batch() {
    // 10 entries per second on one instance, batches of 15 per second, buffer of 100.
    let mut s = Shipper::new(cfg(1, 100, 15, 0));
    let mut t = 0;
    let run = |s: &mut Shipper, until: i64, t: &mut i64| {
        while *t < until {
            *t += 100;
            s.emit(*t, 0, Level::Info);
            if s.next_flush().is_some_and(|f| f <= *t) {
                s.flush_due(*t);
            }
            assert!(s.counts().total.is_conserved());
        }
    };
    run(&mut s, 10_000, &mut t);
    assert!(s.buffered(0) <= 15 && s.counts().total.dropped == 0);
    s.set_store_up(t, false);
    run(&mut s, 25_000, &mut t);
    // 150 entries during the outage: the buffer fills to 100, 50 are dropped.
    assert_eq!((s.max_backlog(), s.counts().total.dropped), (100, 50));
    s.set_store_up(t, true);
    // The 10 entries before the first tick after the store returns still find the buffer
    // full; from then on it drains by 15 - 10 = 5 a second.
    run(&mut s, 35_000, &mut t);
    assert_eq!((s.counts().total.dropped, s.buffered(0)), (60, 40));
    assert_eq!(s.store_downtime_ms(t), 15_000);
    run(&mut s, 60_000, &mut t);
    assert!(s.buffered(0) <= 15, "drained: {}", s.buffered(0));
    // The oldest entry waited out the outage in the buffer.
    assert!(s.max_ingestion_delay_ms() > 15_000, "{}", s.max_ingestion_delay_ms());
}

#[test]
fn batches_are_capped_and_oldest_first() {
    let mut s = Shipper::new(cfg(1, 1000, 10, 0));
    for i in 0..10 {
        s.emit(i, 0, Level::Error);
    }
    for i in 0..10 {
        s.emit(900 + i, 0, Level::Debug);
    }
    s.flush_due(1000);
    let c = s.counts();
    assert_eq!((c.level(Level::Error).shipped, c.level(Level::Debug).shipped), (10, 0));
    assert_eq!(s.max_ingestion_delay_ms(), 1000);
}

proptest! {
    #[test]
    fn apportion_is_exact(counts in proptest::array::uniform4(0u32..1000), k_frac in 0.0f64..1.0) {
        let n: u32 = counts.iter().sum();
        prop_assume!(n > 1);
        let k = ((f64::from(n - 1) * k_frac) as u32).max(1);
        let part = super::shipper::tests_apportion(counts, k);
        prop_assert_eq!(part.iter().sum::<u32>(), k);
        for l in 0..4 {
            prop_assert!(part[l] <= counts[l]);
        }
    }

    #[test]
    fn every_entry_is_in_exactly_one_place(ops in proptest::collection::vec((0u8..6, 0usize..3, 0usize..4, 0i64..700), 1..400)) {
        let mut s = Shipper::new(ShipperConfig {
            instances: 3, buffer_capacity: 20, batch_interval_ms: 1000, batch_size: 7, ingestion_latency_ms: 1500,
        });
        let mut t = 0;
        let mut before = s.counts();
        for (op, instance, level, dt) in ops {
            t += dt;
            match op {
                0..=2 => { s.emit(t, instance, Level::ALL[level]); }
                3 => {
                    t = s.next_flush().unwrap_or(t).max(t);
                    s.flush_due(t);
                }
                4 => {
                    let buffered = u64::from(s.buffered(instance));
                    let lost_before = s.counts().total.lost;
                    prop_assert_eq!(s.crash(t, instance), buffered);
                    prop_assert_eq!(s.counts().total.lost, lost_before + buffered);
                }
                _ => s.set_store_up(t, level % 2 == 0),
            }
            for i in 0..3 {
                prop_assert!(s.buffered(i) <= 20);
            }
            let c = s.counts();
            prop_assert!(c.total.is_conserved(), "{:?}", c.total);
            for l in 0..4 {
                prop_assert!(c.levels[l].is_conserved(), "{:?}", c.levels[l]);
                prop_assert!(c.levels[l].shipped >= before.levels[l].shipped);
                prop_assert!(c.levels[l].lost >= before.levels[l].lost);
                prop_assert!(c.levels[l].dropped >= before.levels[l].dropped);
            }
            prop_assert!(s.max_backlog() >= c.total.backlog);
            before = c;
        }
        // With the store up, everything eventually ships.
        s.set_store_up(t, true);
        while let Some(f) = s.next_flush() {
            s.flush_due(f.max(t));
            t = f.max(t);
        }
        let c = s.counts().total;
        prop_assert_eq!((c.backlog, c.in_transit), (0, 0));
        prop_assert_eq!(c.emitted, c.shipped + c.dropped + c.lost);
    }
}

fn entry(t_ms: i64, level: Level, message: &str) -> LogEntry {
    LogEntry {
        t_ms,
        level,
        component: "app".into(),
        instance: "app-0".into(),
        message: message.into(),
        request_id: Some(t_ms as u64),
    }
}

#[test]
fn exemplars_keep_a_bounded_deterministic_sample_per_level() {
    let sample = |seed: u64| {
        let mut e = Exemplars::new(5);
        let mut x = seed;
        for t in 0..1000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            e.offer(entry(t, if t % 100 == 0 { Level::Error } else { Level::Info }, "m"), x);
        }
        e
    };
    let a = sample(1);
    assert_eq!(a.len(), 10);
    assert_eq!(a.offered(Level::Error), 10);
    assert_eq!(a.entries().iter().filter(|e| e.level == Level::Error).count(), 5, "errors are not crowded out");
    assert_eq!(a.entries(), sample(1).entries());
    assert!(a.entries().windows(2).all(|w| w[0] <= w[1]));
    assert!(a.entries().iter().any(|e| e.t_ms > 5), "later entries get in too");
    let mut built = 0;
    let mut e = Exemplars::new(1);
    e.offer_with(Level::Info, 0, || {
        built += 1;
        entry(0, Level::Info, "first")
    });
    e.offer_with(Level::Info, u64::MAX, || {
        built += 1;
        entry(1, Level::Info, "rejected")
    });
    assert_eq!(built, 1, "a rejected entry is never built");
}

#[test]
fn error_tracker_groups_and_bounds_fingerprints() {
    let mut tracker = ErrorTracker::new(2);
    tracker.record(5, "PaymentTimeout: checkout");
    tracker.record(1, "CartEmpty: cart");
    tracker.record(9, "PaymentTimeout: checkout");
    tracker.record(10, "Oops: search");
    tracker.record(12, "Other: thing");
    let groups: Vec<(&str, u64, i64, i64)> =
        tracker.groups().map(|(k, g)| (k, g.count, g.first_seen_ms, g.last_seen_ms)).collect();
    assert_eq!(groups, [("CartEmpty: cart", 1, 1, 1), ("PaymentTimeout: checkout", 2, 5, 9)]);
    assert_eq!(tracker.other().map(|o| (o.count, o.first_seen_ms, o.last_seen_ms)), Some((2, 10, 12)));
    assert_eq!(tracker.total(), 5);
    let top: Vec<&str> = tracker.top(2).into_iter().map(|(k, _)| k).collect();
    assert_eq!(top, ["PaymentTimeout: checkout", OTHER_FINGERPRINT], "ties by name");
}
