//! Conservation: every request that arrived is completed, rejected, timed out, failed or
//! still in flight at the end, counted exactly once — in the totals, per request class,
//! per region, and over the whole time series.

use super::{Invariant, Violation};
use prodsim_model::outcome::{Outcome, RequestCounts};

/// Checks that the request counts of `outcome` add up.
pub fn check(outcome: &Outcome) -> Vec<Violation> {
    let mut found = Vec::new();
    balance("requests", &outcome.requests, &mut found);
    {
        let system = &outcome.system;
        for (group, parts) in [("class", &system.classes), ("region", &system.regions)] {
            if parts.is_empty() {
                continue;
            }
            let mut sum = RequestCounts::default();
            for part in parts {
                balance(&format!("{group} {}", part.name), &part.requests, &mut found);
                add(&mut sum, &part.requests);
            }
            if sum != outcome.requests {
                found.push(Violation::new(
                    Invariant::Conservation,
                    format!(
                        "the {group}es do not add up to the totals: {} against {}",
                        fates(&sum),
                        fates(&outcome.requests)
                    ),
                ));
            }
        }
    }
    rows(outcome, &mut found);
    found
}

/// `counts` balances: arrived = completed + rejected + timed out + failed + in flight.
fn balance(what: &str, c: &RequestCounts, found: &mut Vec<Violation>) {
    let accounted = c.finished() + c.in_flight;
    if accounted != c.arrived {
        found.push(Violation::new(
            Invariant::Conservation,
            format!(
                "{what}: {} arrived but {accounted} are accounted for ({}); {} counted {}",
                c.arrived,
                fates(c),
                c.arrived.abs_diff(accounted),
                if accounted > c.arrived { "twice" } else { "nowhere" }
            ),
        ));
    }
}

/// The time series (every request from time zero, warmup included) balances too: arrivals
/// = completions + rejections + timeouts + failures + in flight at the end.
fn rows(outcome: &Outcome, found: &mut Vec<Violation>) {
    let Some(last) = outcome.rows.last() else { return };
    let (mut arrived, mut finished) = (0u64, 0u64);
    for r in &outcome.rows {
        arrived += r.arrivals;
        finished += r.completions + r.rejections + r.timeouts + r.failures;
    }
    if arrived != finished + last.in_flight {
        found.push(Violation::new(
            Invariant::Conservation,
            format!(
                "time series: {arrived} arrivals but {finished} finished and {} in flight at the end",
                last.in_flight
            ),
        ));
    }
}

fn add(sum: &mut RequestCounts, c: &RequestCounts) {
    sum.arrived += c.arrived;
    sum.completed += c.completed;
    sum.rejected += c.rejected;
    sum.timed_out += c.timed_out;
    sum.failed += c.failed;
    sum.in_flight += c.in_flight;
}

fn fates(c: &RequestCounts) -> String {
    format!(
        "arrived {}, completed {}, rejected {}, timed out {}, failed {}, in flight {}",
        c.arrived, c.completed, c.rejected, c.timed_out, c.failed, c.in_flight
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(arrived: u64, completed: u64, failed: u64, in_flight: u64) -> RequestCounts {
        RequestCounts { arrived, completed, failed, in_flight, ..RequestCounts::default() }
    }

    #[test]
    fn balanced_counts_pass_and_a_lost_request_is_named() {
        let mut found = Vec::new();
        balance("requests", &counts(10, 7, 2, 1), &mut found);
        assert!(found.is_empty());
        balance("requests", &counts(10, 7, 2, 0), &mut found);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("1 counted nowhere"), "{}", found[0].message);
        balance("class checkout", &counts(10, 9, 2, 0), &mut found);
        assert!(found[1].message.contains("1 counted twice"), "{}", found[1].message);
    }
}
