//! Alert quality against the ground truth. The simulator knows from every request when
//! users were hurt: an incident is a run of SLI buckets burning error budget at least
//! `incident_burn_rate` times too fast (bad requests over requests above that multiple of
//! the budget), at least `min_incident` long (shorter blips are noise), with gaps shorter
//! than `merge_gap` between them merged.
//! A rule set is then scored the way an on-call team would judge it: precision (firing
//! episodes that were about a real incident), recall (incidents that paged someone),
//! detection and reset times, pages per week and out of hours, flapping and duplicate
//! notifications. See `docs/alerting.md` for every definition.

/// A firing alert resolved within this long of its previous episode (same labels) is
/// flapping.
pub const FLAP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// A window in which users were hurt.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// First bad bucket's start, ms.
    pub start_ms: i64,
    /// Last bad bucket's end, ms.
    pub end_ms: i64,
    /// User requests answered in the window.
    pub requests: u64,
    /// Of those, bad ones (failed, or slower than the SLO's latency).
    pub bad: u64,
}

/// How incidents are cut from the SLI buckets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentRule {
    /// Bucket width, ms.
    pub resolution_ms: i64,
    /// Share of requests allowed to be bad (1 − objective).
    pub budget: f64,
    /// A bucket burning at least this multiple of the budget is bad.
    pub burn_rate: f64,
    /// Shortest incident, ms.
    pub min_ms: i64,
    /// Bad stretches closer than this merge, ms.
    pub merge_gap_ms: i64,
}

/// Cuts incidents from `buckets` ((requests, bad) per bucket, from time 0): runs of hurt
/// buckets at least `min_ms` long (a shorter blip is noise, not an incident), then runs
/// closer than `merge_gap_ms` merged into one, the gap's requests included.
pub fn incidents(buckets: &[(u64, u64)], rule: &IncidentRule) -> Vec<Incident> {
    let hurt = |&(n, bad): &(u64, u64)| n > 0 && bad > 0 && bad as f64 / n as f64 >= rule.burn_rate * rule.budget;
    // Runs of consecutive hurt buckets, as bucket ranges.
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (k, b) in buckets.iter().enumerate() {
        if !hurt(b) {
            continue;
        }
        match runs.last_mut() {
            Some(r) if r.end == k => r.end = k + 1,
            _ => runs.push(k..k + 1),
        }
    }
    let long_enough = |r: &std::ops::Range<usize>| (r.end - r.start) as i64 * rule.resolution_ms >= rule.min_ms;
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for r in runs.into_iter().filter(long_enough) {
        match merged.last_mut() {
            Some(last) if (r.start - last.end) as i64 * rule.resolution_ms < rule.merge_gap_ms => last.end = r.end,
            _ => merged.push(r),
        }
    }
    merged
        .into_iter()
        .map(|r| {
            let (requests, bad) = buckets[r.clone()].iter().fold((0, 0), |acc, b| (acc.0 + b.0, acc.1 + b.1));
            Incident {
                start_ms: r.start as i64 * rule.resolution_ms,
                end_ms: r.end as i64 * rule.resolution_ms,
                requests,
                bad,
            }
        })
        .collect()
}

/// One firing episode of an alert, as scored.
#[derive(Clone, Debug, PartialEq)]
pub struct FiringEpisode {
    /// The alert's name.
    pub alert: String,
    /// Its labels, rendered (`{a="b",...}`), to tell instances of one rule apart.
    pub labels: String,
    /// Whether its severity pages a human (`page` or `critical`).
    pub paging: bool,
    /// When it started firing, ms.
    pub firing_ms: i64,
    /// When it resolved, ms; `None` if still firing at the end.
    pub resolved_ms: Option<i64>,
}

/// One notification, as scored.
#[derive(Clone, Debug, PartialEq)]
pub struct SentNotification {
    /// When it was sent, ms.
    pub t_ms: i64,
    /// It carries a firing alert whose severity pages.
    pub page: bool,
    /// Names of the firing alerts it carries.
    pub alerts: Vec<String>,
    /// A resend of unchanged content (`repeat_interval`).
    pub repeat: bool,
}

/// The scores of a rule set or of one rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Quality {
    /// Firing episodes.
    pub episodes: u64,
    /// Of those, episodes overlapping an incident.
    pub true_positives: u64,
    /// `true_positives / episodes`; `None` without episodes.
    pub precision: Option<f64>,
    /// Incidents that got an alert (a page, for a whole set) over incidents; `None`
    /// without incidents.
    pub recall: Option<f64>,
    /// Mean time from an incident's start to its first alert firing, seconds.
    pub detection_time_s: Option<f64>,
    /// Mean time from an incident's end to the resolution of its last alert, seconds.
    pub reset_time_s: Option<f64>,
    /// Pages over the run's length in weeks.
    pub pages_per_week: f64,
    /// Pages sent.
    pub pages: u64,
    /// Pages sent outside business hours.
    pub pages_out_of_hours: u64,
    /// Notifications sent.
    pub notifications: u64,
    /// Episodes that started within [`FLAP_WINDOW_MS`] of the previous one's resolution.
    pub flapping: u64,
    /// Resends of unchanged notifications.
    pub duplicates: u64,
}

/// What scoring needs besides the episodes and notifications.
#[derive(Clone, Copy)]
pub struct ScoreContext<'a> {
    /// The ground truth.
    pub incidents: &'a [Incident],
    /// How long after an incident's end an alert still counts as about it, ms.
    pub slack_ms: i64,
    /// The run's length, ms.
    pub run_ms: i64,
    /// Whether a time (ms of the run) falls in business hours.
    pub in_hours: &'a dyn Fn(i64) -> bool,
    /// Recall counts only paging alerts (a whole set) or every alert (one rule).
    pub paging_recall: bool,
}

/// Whether a firing episode is about an incident: it fired before the incident's end plus
/// `slack_ms` and was still firing (or had not resolved before the run's end `run_ms`)
/// at its start.
pub fn overlaps(e: &FiringEpisode, i: &Incident, slack_ms: i64, run_ms: i64) -> bool {
    e.firing_ms <= i.end_ms + slack_ms && e.resolved_ms.unwrap_or(run_ms) >= i.start_ms
}

/// Scores `episodes` and `notifications` against the ground truth.
pub fn score(episodes: &[FiringEpisode], notifications: &[SentNotification], cx: &ScoreContext<'_>) -> Quality {
    let overlaps = |e: &FiringEpisode, i: &Incident| overlaps(e, i, cx.slack_ms, cx.run_ms);
    let mut q = Quality { episodes: episodes.len() as u64, ..Quality::default() };
    q.true_positives = episodes.iter().filter(|e| cx.incidents.iter().any(|i| overlaps(e, i))).count() as u64;
    if q.episodes > 0 {
        q.precision = Some(q.true_positives as f64 / q.episodes as f64);
    }
    let (mut detected, mut detection, mut resets, mut reset_sum) = (0u64, 0.0, 0u64, 0.0);
    for i in cx.incidents {
        let mine: Vec<&FiringEpisode> =
            episodes.iter().filter(|e| (e.paging || !cx.paging_recall) && overlaps(e, i)).collect();
        let Some(first) = mine.iter().map(|e| e.firing_ms).min() else { continue };
        detected += 1;
        detection += (first - i.start_ms).max(0) as f64 / 1000.0;
        if mine.iter().all(|e| e.resolved_ms.is_some()) {
            let last = mine.iter().filter_map(|e| e.resolved_ms).max().unwrap_or(i.end_ms);
            resets += 1;
            reset_sum += (last - i.end_ms) as f64 / 1000.0;
        }
    }
    if !cx.incidents.is_empty() {
        q.recall = Some(detected as f64 / cx.incidents.len() as f64);
    }
    if detected > 0 {
        q.detection_time_s = Some(detection / detected as f64);
    }
    if resets > 0 {
        q.reset_time_s = Some(reset_sum / resets as f64);
    }
    q.notifications = notifications.len() as u64;
    q.pages = notifications.iter().filter(|n| n.page).count() as u64;
    q.pages_out_of_hours = notifications.iter().filter(|n| n.page && !(cx.in_hours)(n.t_ms)).count() as u64;
    q.duplicates = notifications.iter().filter(|n| n.repeat).count() as u64;
    let weeks = cx.run_ms as f64 / (7.0 * 24.0 * 3600.0 * 1000.0);
    q.pages_per_week = if weeks > 0.0 { q.pages as f64 / weeks } else { 0.0 };
    let mut by_series: Vec<&FiringEpisode> = episodes.iter().collect();
    by_series.sort_by(|a, b| (&a.alert, &a.labels, a.firing_ms).cmp(&(&b.alert, &b.labels, b.firing_ms)));
    for w in by_series.windows(2) {
        if w[0].alert == w[1].alert && w[0].labels == w[1].labels {
            if let Some(r) = w[0].resolved_ms {
                if w[1].firing_ms - r < FLAP_WINDOW_MS {
                    q.flapping += 1;
                }
            }
        }
    }
    q
}

/// Whether an alert of `severity` pages a person (`page` or `critical`); anything else is a
/// ticket or a warning for working hours.
pub fn is_paging(severity: &str) -> bool {
    matches!(severity, "page" | "critical")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn rule() -> IncidentRule {
        IncidentRule { resolution_ms: MIN, budget: 0.01, burn_rate: 1.0, min_ms: 2 * MIN, merge_gap_ms: 5 * MIN }
    }

    #[test]
    fn incidents_drop_blips_then_merge_short_gaps() {
        // Minutes 2-4 bad (minute 4 at exactly the budget), 6-7 bad: two runs of at least
        // 2 minutes, 2 minutes apart, merge into one incident from 2 to 8. Minutes 11 and 13
        // are 1-minute blips (dropped before merging, so they neither count nor extend
        // it); 20-22 is a second incident.
        let mut b = vec![(100, 0); 25];
        for k in [2, 3, 6, 7, 11, 13, 20, 21] {
            b[k] = (100, 50);
        }
        b[4] = (100, 1); // 1% burns exactly the budget: hurt
        let got = incidents(&b, &rule());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].start_ms, got[0].end_ms), (2 * MIN, 8 * MIN));
        assert_eq!((got[0].requests, got[0].bad), (600, 201));
        assert_eq!((got[1].start_ms, got[1].end_ms, got[1].bad), (20 * MIN, 22 * MIN, 100));
        // Nothing hurt, nothing found; an empty bucket is never hurt.
        assert!(incidents(&[(100, 0), (0, 0), (100, 0)], &rule()).is_empty());
    }

    fn ep(alert: &str, paging: bool, firing: i64, resolved: Option<i64>) -> FiringEpisode {
        FiringEpisode { alert: alert.into(), labels: String::new(), paging, firing_ms: firing, resolved_ms: resolved }
    }

    #[test]
    fn scores_precision_recall_times_and_fatigue() {
        let inc = vec![
            Incident { start_ms: 10 * MIN, end_ms: 20 * MIN, requests: 1, bad: 1 },
            Incident { start_ms: 100 * MIN, end_ms: 110 * MIN, requests: 1, bad: 1 },
        ];
        let eps = vec![
            ep("Fast", true, 13 * MIN, Some(25 * MIN)), // detects incident 1 after 3m, resets 5m after
            ep("Noisy", false, 50 * MIN, Some(51 * MIN)), // false positive
            ep("Noisy", false, 55 * MIN, Some(56 * MIN)), // false positive, flapping (4m after)
        ];
        let notes = vec![
            SentNotification { t_ms: 13 * MIN, page: true, alerts: vec!["Fast".into()], repeat: false },
            SentNotification { t_ms: 50 * MIN, page: false, alerts: vec!["Noisy".into()], repeat: false },
            SentNotification { t_ms: 53 * MIN, page: false, alerts: vec!["Noisy".into()], repeat: true },
        ];
        let in_hours = |t: i64| t < 60 * MIN;
        let cx = ScoreContext {
            incidents: &inc,
            slack_ms: 5 * MIN,
            run_ms: 7 * 24 * 60 * MIN,
            in_hours: &in_hours,
            paging_recall: true,
        };
        let q = score(&eps, &notes, &cx);
        assert_eq!((q.episodes, q.true_positives), (3, 1));
        assert!((q.precision.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(q.recall, Some(0.5));
        assert_eq!(q.detection_time_s, Some(180.0));
        assert_eq!(q.reset_time_s, Some(300.0));
        assert_eq!((q.pages, q.pages_out_of_hours, q.notifications, q.duplicates, q.flapping), (1, 0, 3, 1, 1));
        assert!((q.pages_per_week - 1.0).abs() < 1e-12);
        // Without incidents nothing can be recalled; every episode is a false positive.
        let none = ScoreContext { incidents: &[], ..cx };
        let q = score(&eps, &notes, &none);
        assert_eq!((q.recall, q.precision), (None, Some(0.0)));
    }
}
