//! The observability part of a scenario, resolved: scraping and rule evaluation
//! (`[monitoring]`), alerting and recording rules with their PromQL parsed (`[[alerts]]`,
//! `[[rules]]`, and the burn-rate alerts `[slo]` generates), notification routing
//! (`[routing]`), the service level objective that defines the ground truth's incidents,
//! and logging (`[logging]`). See `docs/alerting.md`.

pub use prodsim_parts::ops::calendar::{BusinessHours, WEEK_S};
use prodsim_parts::ops::routing::RoutingConfig;
use prodsim_parts::ops::rules::{AlertRule, RecordingRule};

/// `[scenario] start_time` when absent: Monday 09:00.
pub const DEFAULT_START_S: u64 = 9 * 3600;

/// The monitoring stack of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitoringSpec {
    /// Scrape period, ns.
    pub scrape_interval_ns: u64,
    /// Rule evaluation period, ns.
    pub evaluation_interval_ns: u64,
    /// Samples older than this are dropped from the store, ns.
    pub retention_ns: u64,
    /// `http_request_duration_seconds` bucket bounds in seconds, ascending (`+Inf` implied).
    pub buckets: Vec<f64>,
    /// Recording rules, evaluated before every rule set's alerts.
    pub recording: Vec<RecordingRule>,
    /// Alerting rule sets, each evaluated, routed and scored on its own over the same series.
    pub sets: Vec<AlertSet>,
    /// The notification routing every set's alerts go through.
    pub routing: RoutingConfig,
    /// The objective behind the ground truth; `None` without `[slo]`.
    pub slo: Option<SloSpec>,
    /// Working hours, for pages out of hours.
    pub business_hours: BusinessHours,
}

impl MonitoringSpec {
    /// The names of the alerting rules of every set (written, ready and burn-rate rules),
    /// in set then file order, without repeats.
    pub fn alert_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for rule in self.sets.iter().flat_map(|s| s.rules.iter()) {
            if !names.contains(&rule.name) {
                names.push(rule.name.clone());
            }
        }
        names
    }
}

/// One named set of alerting rules.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSet {
    /// The set's name (`set` of `[[alerts]]`; `"default"` when absent).
    pub name: String,
    /// Its rules, in file order.
    pub rules: Vec<AlertRule>,
}

/// `[slo]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct SloSpec {
    /// Share of requests that must be good.
    pub objective: f64,
    /// A request slower than this is bad, ns; `None`: only errors are bad.
    pub latency_ns: Option<u64>,
    /// The budget's period, ns.
    pub window_ns: u64,
    /// Width of the ground truth's buckets, ns.
    pub resolution_ns: u64,
    /// Burn rate above which a bucket belongs to an incident (tested, see
    /// `incident_significance`).
    pub incident_burn_rate: f64,
    /// Significance level of the one-sided binomial test that rejects "this bucket's bad
    /// share is at most `incident_burn_rate` × the budget".
    pub incident_significance: f64,
    /// Fewest bad requests a bad bucket has.
    pub incident_min_bad: u64,
    /// Shortest incident, ns.
    pub min_incident_ns: u64,
    /// Incidents separated by less than this merge, ns.
    pub merge_gap_ns: u64,
}

impl SloSpec {
    /// The error budget: the share of requests allowed to be bad.
    pub fn budget(&self) -> f64 {
        1.0 - self.objective
    }
}

/// `[logging]`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggingSpec {
    /// Lowest level written (0 debug, 1 info, 2 warn, 3 error).
    pub level: u8,
    /// Share of `info` access-log lines written.
    pub sampling: f64,
    /// Entries an instance buffers.
    pub buffer: u32,
    /// Shipping period, ns.
    pub batch_interval_ns: u64,
    /// Most entries per shipment.
    pub batch_size: u32,
    /// Delay until shipped entries are searchable, ns.
    pub ingestion_latency_ns: u64,
    /// Entries of each level kept for `--logs`.
    pub exemplars: u32,
}

/// Parses `"mon 09:00"` into seconds after Monday 00:00.
pub fn parse_week_time(text: &str) -> Result<u64, String> {
    let mut parts = text.split_whitespace();
    let (Some(day), Some(time), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected a weekday and a time, e.g. \"mon 09:00\"".into());
    };
    let d = weekday(day)?;
    Ok(u64::from(d) * 86_400 + u64::from(parse_clock(time)?))
}

/// Parses `"mon-fri 09:00-17:00"` (or `"mon,wed 08:00-12:00"`, `"sat 10:00-14:00"`).
pub fn parse_business_hours(text: &str) -> Result<BusinessHours, String> {
    let mut parts = text.split_whitespace();
    let (Some(days), Some(hours), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected days and hours, e.g. \"mon-fri 09:00-17:00\"".into());
    };
    let mut mask = 0u8;
    for item in days.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (weekday(a)?, weekday(b)?);
                if a > b {
                    return Err(format!("`{item}`: the first day must come before the last (weeks start on monday)"));
                }
                for d in a..=b {
                    mask |= 1 << d;
                }
            }
            None => mask |= 1 << weekday(item)?,
        }
    }
    let Some((a, b)) = hours.split_once('-') else {
        return Err("expected hours as \"09:00-17:00\"".into());
    };
    let (start_s, end_s) = (parse_clock(a)?, parse_clock(b)?);
    if start_s >= end_s {
        return Err(format!("`{hours}`: the working day must end after it starts"));
    }
    Ok(BusinessHours { days: mask, start_s, end_s })
}

fn weekday(text: &str) -> Result<u8, String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = text.to_ascii_lowercase();
    DAYS.iter()
        .position(|d| lower.starts_with(d) && lower.len() >= 3)
        .map(|i| i as u8)
        .ok_or_else(|| format!("`{text}` is not a weekday; use one of {}", DAYS.join(", ")))
}

fn parse_clock(text: &str) -> Result<u32, String> {
    let bad = || format!("`{text}` is not a time of day; expected HH:MM (24-hour)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_times_and_business_hours() {
        assert_eq!(parse_week_time("mon 09:00"), Ok(9 * 3600));
        assert_eq!(parse_week_time("Sunday 23:30"), Ok(6 * 86_400 + 23 * 3600 + 1800));
        assert!(parse_week_time("funday 09:00").unwrap_err().contains("not a weekday"));
        assert!(parse_week_time("mon 9").unwrap_err().contains("HH:MM"));
        let b = parse_business_hours("mon-fri 09:00-17:00").unwrap();
        assert_eq!(b, BusinessHours::default());
        assert!(b.contains(10 * 3600));
        assert!(!b.contains(8 * 3600));
        assert!(!b.contains(5 * 86_400 + 10 * 3600)); // Saturday
        assert!(b.contains(WEEK_S + 10 * 3600)); // the next Monday
        let w = parse_business_hours("sat,sun 10:00-14:00").unwrap();
        assert_eq!(w.days, 0b110_0000);
        assert!(parse_business_hours("fri-mon 09:00-17:00").is_err());
        assert!(parse_business_hours("mon 17:00-09:00").is_err());
    }
}
