//! Resolving `[[workload]] weekly = { weekend_factor }`: a weekly cycle folded into the
//! workload's stages. The scenario's `start_time` (what the wall clock reads at simulated
//! time zero, seconds since Monday 00:00) says which simulated hours are Saturday and
//! Sunday; during them every rate is multiplied by `weekend_factor`. It multiplies the
//! diurnal cycle's steps as well, so the two cycles compose.

use toml::Spanned;

use super::ctx::Ctx;
use crate::limits::MAX_RATE_PER_S;
use crate::monitoring::WEEK_S;
use crate::topology_schema::RawWeekly;
use prodsim_kernel::SimTime;
use prodsim_parts::Stage;

/// Largest `weekend_factor`.
pub(super) const MAX_WEEKEND_FACTOR: f64 = 10.0;

/// Seconds from Monday 00:00 to Saturday 00:00.
const WEEKEND_START_S: u64 = 5 * 86_400;

/// Nanoseconds in a week.
const NS_PER_WEEK: u64 = WEEK_S * 1_000_000_000;

/// Whether the wall-clock instant `week_s` seconds after Monday 00:00 (mod a week) falls
/// on Saturday or Sunday.
fn is_weekend_ns(week_start_s: u64, t_ns: u64) -> bool {
    let week_start_ns = (week_start_s % WEEK_S) * 1_000_000_000;
    let wall_ns = (week_start_ns + t_ns % NS_PER_WEEK) % NS_PER_WEEK;
    wall_ns >= WEEKEND_START_S * 1_000_000_000
}

/// The simulated instants in `(0, duration_ns)` at which the weekend starts or ends.
fn transitions_ns(week_start_s: u64, duration_ns: u64) -> Vec<u64> {
    let week_start_ns = (week_start_s % WEEK_S) * 1_000_000_000;
    // Saturday 00:00 and Monday 00:00 of the wall clock, as offsets in a week.
    let marks_ns = [WEEKEND_START_S * 1_000_000_000, 0];
    let mut out = Vec::new();
    for mark_ns in marks_ns {
        // First simulated time at which the wall clock reads `mark_ns`.
        let mut t = (mark_ns + NS_PER_WEEK - week_start_ns) % NS_PER_WEEK;
        while t < duration_ns {
            if t > 0 {
                out.push(t);
            }
            t += NS_PER_WEEK;
        }
    }
    out.sort_unstable();
    out
}

/// Multiplies `stages` by the weekly cycle: `rate × weekend_factor` on Saturday and Sunday
/// of the wall clock that starts at `week_start_s` (seconds since Monday 00:00), the rate
/// unchanged on weekdays. New stages start at each weekend's start and end.
pub(super) fn apply(
    cx: &mut Ctx<'_>,
    weekly: &Spanned<RawWeekly>,
    stages: Vec<Stage>,
    duration_ns: u64,
    week_start_s: u64,
) -> Option<Vec<Stage>> {
    let factor_field = &weekly.get_ref().weekend_factor;
    let factor = *factor_field.get_ref();
    if !(0.0..=MAX_WEEKEND_FACTOR).contains(&factor) {
        cx.error(
            factor_field.span(),
            format!("weekly.weekend_factor must be between 0 and {MAX_WEEKEND_FACTOR}, got {factor}"),
        );
        return None;
    }
    let mut times: Vec<u64> = transitions_ns(week_start_s, duration_ns);
    times.extend(stages.iter().map(|s| s.at.as_nanos()));
    times.sort_unstable();
    times.dedup();
    let out: Vec<Stage> = times
        .into_iter()
        .map(|t| {
            let i = stages.partition_point(|s| s.at.as_nanos() <= t).saturating_sub(1);
            let f = if is_weekend_ns(week_start_s, t) { factor } else { 1.0 };
            Stage { at: SimTime(t), rate: stages[i].rate * f }
        })
        .collect();
    if let Some(top) = out.iter().map(|s| s.rate).find(|r| *r > MAX_RATE_PER_S) {
        cx.error(
            factor_field.span(),
            format!("weekly.weekend_factor {factor} makes a weekend rate of {top} requests per second, above {MAX_RATE_PER_S:e}"),
        );
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{is_weekend_ns, transitions_ns};
    use crate::load_str;
    use std::path::Path;

    const H_NS: u64 = 3_600_000_000_000;
    const D_NS: u64 = 24 * H_NS;

    fn load(start: &str, duration: &str, workload: &str) -> Result<crate::Loaded, String> {
        let text = format!(
            "[scenario]\nname = \"w\"\nduration = \"{duration}\"\n{start}\n[servers]\ncount = 1\nworkers = 4\nservice_time = \"exp(10ms)\"\n[[workload]]\nname = \"w\"\n{workload}\n"
        );
        load_str(&text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_weekend_is_saturday_and_sunday_of_the_wall_clock() {
        // Monday 09:00: Saturday starts 4 days 15 hours in, Monday 2 days later.
        let start_s = 9 * 3600;
        assert!(!is_weekend_ns(start_s, 0));
        assert!(!is_weekend_ns(start_s, 4 * D_NS + 15 * H_NS - 1));
        assert!(is_weekend_ns(start_s, 4 * D_NS + 15 * H_NS));
        assert!(is_weekend_ns(start_s, 6 * D_NS + 15 * H_NS - 1));
        assert!(!is_weekend_ns(start_s, 6 * D_NS + 15 * H_NS));
        assert_eq!(
            transitions_ns(start_s, 14 * D_NS),
            vec![4 * D_NS + 15 * H_NS, 6 * D_NS + 15 * H_NS, 11 * D_NS + 15 * H_NS, 13 * D_NS + 15 * H_NS]
        );
        // Starting on Sunday noon: the weekend is under way at time zero.
        let sun_s = 6 * 86_400 + 12 * 3600;
        assert!(is_weekend_ns(sun_s, 0));
        assert_eq!(transitions_ns(sun_s, 7 * D_NS), vec![12 * H_NS, 5 * D_NS + 12 * H_NS]);
    }

    #[test]
    fn weekly_folds_into_the_stages_and_multiplies_the_diurnal_cycle() {
        let l = load("start_time = \"fri 12:00\"", "3d", "rate = 100\nweekly = { weekend_factor = 0.5 }").unwrap();
        let rates: Vec<(u64, f64)> = l.scenario.workloads[0].stages.iter().map(|s| (s.at.as_nanos(), s.rate)).collect();
        assert_eq!(rates, vec![(0, 100.0), (12 * H_NS, 50.0), (2 * D_NS + 12 * H_NS, 100.0)]);
        // With a diurnal cycle, the weekend's steps are the weekday's times the factor.
        let both = load(
            "start_time = \"fri 12:00\"",
            "2d",
            "rate = 100\ndiurnal = { amplitude = 0.5, period = \"1d\" }\nweekly = { weekend_factor = 2 }",
        )
        .unwrap();
        let stages = &both.scenario.workloads[0].stages;
        let at = |t: u64| stages[stages.partition_point(|s| s.at.as_nanos() <= t) - 1].rate;
        // Friday 13:00 and Saturday 13:00 are at the same phase of the day.
        assert!((at(25 * H_NS) - 2.0 * at(H_NS)).abs() < 1e-9, "{} {}", at(25 * H_NS), at(H_NS));
        assert!((at(25 * H_NS) - at(H_NS)).abs() > 1.0, "the weekend doubles a diurnal step");
    }

    #[test]
    fn weekly_mistakes_name_the_field_and_its_bounds() {
        let e = load("", "1h", "rate = 1\nweekly = { weekend_factor = 11 }").unwrap_err();
        assert!(e.contains("weekly.weekend_factor must be between 0 and 10, got 11"), "{e}");
        let e = load("", "1h", "rate = 1\nweekly = { weekend_factor = -1 }").unwrap_err();
        assert!(e.contains("weekly.weekend_factor"), "{e}");
        let e = load("", "1h", "rate = 1\nweekly = { weekend = 1 }").unwrap_err();
        assert!(e.contains("weekend"), "{e}");
        let e = load("", "1h", "users = 5\nthink_time = \"exp(1s)\"\nweekly = { weekend_factor = 1 }").unwrap_err();
        assert!(e.contains("no `rate`, `stages`, `diurnal` or `weekly`"), "{e}");
        let e = load("", "7d", "rate = 5e7\nweekly = { weekend_factor = 10 }").unwrap_err();
        assert!(e.contains("weekend rate"), "{e}");
        // The error carries a line and column.
        let e = load("", "1h", "rate = 1\nweekly = { weekend_factor = 11 }").unwrap_err();
        assert!(e.contains("t.toml:12:"), "{e}");
    }
}
