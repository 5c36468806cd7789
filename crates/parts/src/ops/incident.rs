//! Incident timelines and the mean times teams track across them: time to detect,
//! acknowledge, mitigate and resolve. Owns the definitions, so reports and experiments
//! compute them one way.

/// The milestones of one incident, ms of simulated time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Users start being hurt.
    pub start_ms: i64,
    /// The first paging alert fired; `None`: nothing paged.
    pub detected_ms: Option<i64>,
    /// The first page went out to a responder (after the alert's routing and group wait);
    /// `None`: no page was sent.
    pub paged_ms: Option<i64>,
    /// A responder acknowledged the page.
    pub acknowledged_ms: Option<i64>,
    /// The first action that stopped the harm took effect; `None`: no action did.
    pub mitigated_ms: Option<i64>,
    /// Users are no longer hurt.
    pub resolved_ms: i64,
}

impl Timeline {
    /// Time to detect: detected − start, ms.
    pub fn to_detect_ms(&self) -> Option<i64> {
        self.detected_ms.map(|d| d - self.start_ms)
    }

    /// Time to acknowledge: acknowledged − detected (alert to ack), ms.
    pub fn to_acknowledge_ms(&self) -> Option<i64> {
        Some(self.acknowledged_ms? - self.detected_ms?)
    }

    /// Time to mitigate: mitigated − start, ms.
    pub fn to_mitigate_ms(&self) -> Option<i64> {
        self.mitigated_ms.map(|m| m - self.start_ms)
    }

    /// Time to resolve (the incident's duration): resolved − start, ms.
    pub fn to_resolve_ms(&self) -> i64 {
        self.resolved_ms - self.start_ms
    }
}

/// Mean times across incidents, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct MeanTimes {
    /// Mean time to detect (start to first paging alert); `None` when nothing was detected.
    pub mttd_s: Option<f64>,
    /// Mean time to acknowledge (first paging alert to acknowledgement).
    pub mtta_s: Option<f64>,
    /// Mean time to mitigate (start to the first action that stopped the harm).
    pub mttm_s: Option<f64>,
    /// Mean time to resolve (start to users no longer hurt).
    pub mttr_s: Option<f64>,
    /// Incidents considered.
    pub incidents: usize,
}

/// Means across incidents: MTTD = detected − start; MTTA = acknowledged − detected
/// (Atlassian/PagerDuty: alert to ack); MTTM = mitigated − start; MTTR = resolved − start.
/// Each mean is over the incidents that have both ends; `None` when none do. Seconds.
pub fn mean_times(timelines: &[Timeline]) -> MeanTimes {
    MeanTimes {
        mttd_s: mean_s(timelines.iter().filter_map(Timeline::to_detect_ms)),
        mtta_s: mean_s(timelines.iter().filter_map(Timeline::to_acknowledge_ms)),
        mttm_s: mean_s(timelines.iter().filter_map(Timeline::to_mitigate_ms)),
        mttr_s: mean_s(timelines.iter().map(Timeline::to_resolve_ms)),
        incidents: timelines.len(),
    }
}

/// The mean of `ms` in seconds; `None` when empty.
fn mean_s(ms: impl Iterator<Item = i64>) -> Option<f64> {
    let (n, sum) = ms.fold((0u64, 0i128), |(n, s), x| (n + 1, s + i128::from(x)));
    (n > 0).then(|| sum as f64 / n as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tl(start: i64, det: Option<i64>, ack: Option<i64>, mit: Option<i64>, res: i64) -> Timeline {
        Timeline {
            start_ms: start,
            detected_ms: det,
            paged_ms: det,
            acknowledged_ms: ack,
            mitigated_ms: mit,
            resolved_ms: res,
        }
    }

    #[test]
    fn means_over_incidents_with_both_ends() {
        let t = [
            // Detected after 60 s, acked 120 s later, mitigated at 600 s, resolved at 900 s.
            tl(0, Some(60_000), Some(180_000), Some(600_000), 900_000),
            // Detected after 180 s, acked 60 s later, never mitigated, resolved after 1200 s.
            tl(1_000_000, Some(1_180_000), Some(1_240_000), None, 2_200_000),
            // Never detected: counts for MTTR only (300 s).
            tl(5_000_000, None, None, None, 5_300_000),
        ];
        let m = mean_times(&t);
        assert_eq!(m.incidents, 3);
        assert_eq!(m.mttd_s, Some(120.0));
        assert_eq!(m.mtta_s, Some(90.0));
        assert_eq!(m.mttm_s, Some(600.0));
        assert_eq!(m.mttr_s, Some(800.0));
    }

    #[test]
    fn undetected_incidents_have_no_detection_means() {
        let m = mean_times(&[tl(0, None, None, Some(30_000), 90_000)]);
        assert_eq!(m, MeanTimes { mttd_s: None, mtta_s: None, mttm_s: Some(30.0), mttr_s: Some(90.0), incidents: 1 });
        // An acknowledgement without detection (a human noticed) has no alert-to-ack time.
        assert_eq!(mean_times(&[tl(0, None, Some(5_000), None, 9_000)]).mtta_s, None);
    }

    #[test]
    fn no_incidents_no_means() {
        assert_eq!(mean_times(&[]), MeanTimes::default());
    }
}
