//! The game day's score while the game is on: error budget, revenue lost, cost and MTTR so
//! far, by the finished outcome's definitions.

use prodsim_kernel::{NS_PER_S, SimTime};
use prodsim_model::Session;
use serde_json::Value;

use crate::common;

#[test]
fn the_score_so_far_grows_with_the_outage_and_ends_as_the_summary() {
    let s = common::scenario("scenarios/payment-outage.toml");
    let mut session = Session::new(&s, s.seed).unwrap();
    session.advance_to(SimTime(10 * 60 * NS_PER_S)).unwrap();
    let quiet = session.score_so_far();
    assert_eq!((quiet.incidents, quiet.revenue_lost), (0, 0.0), "{quiet:?}");
    assert_eq!(quiet.budget_burned, Some(0.0));
    assert!(quiet.cost > 0.0, "ten minutes of servers cost something: {quiet:?}");
    session.advance_to(SimTime(45 * 60 * NS_PER_S)).unwrap();
    let during = session.score_so_far();
    eprintln!("at 10m {quiet:?}\nat 45m {during:?}");
    assert!(during.incidents >= 1 && during.revenue_lost > 0.0, "{during:?}");
    assert!(during.budget_burned.unwrap() > 0.0 && during.cost > quiet.cost, "{during:?}");
    let end = session.end();
    session.advance_to(end).unwrap();
    let last = session.score_so_far();
    let v: Value =
        serde_json::from_str(&prodsim_report::summary::Summary::from_outcome(&session.finish().unwrap()).to_json())
            .unwrap();
    let incidents = v["incidents"].as_array().unwrap();
    let sum = |k: &str| incidents.iter().map(|i| i[k].as_f64().unwrap()).sum::<f64>();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert_eq!(last.incidents, incidents.len(), "{last:?}");
    assert!(close(last.budget_burned.unwrap(), sum("budget_burned")), "{last:?} vs {}", sum("budget_burned"));
    assert!(close(last.revenue_lost, sum("lost_revenue")), "{last:?} vs {}", sum("lost_revenue"));
    assert!(close(last.cost, v["cost"]["total"].as_f64().unwrap()), "{last:?} vs {}", v["cost"]["total"]);
    assert!(close(last.mttr_s.unwrap(), v["mttr_s"].as_f64().unwrap()), "{last:?} vs {}", v["mttr_s"]);
}
