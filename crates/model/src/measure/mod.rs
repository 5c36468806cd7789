//! What the run measures as it goes: request fates, latency histograms and the time series
//! ([`recorder`]), per-component rows ([`series`]), the counters behind the exported
//! metrics and the SLO's ground truth ([`metrics`]). Nothing here allocates per event.

pub(crate) mod histogram;
pub(crate) mod metrics;
pub(crate) mod recorder;
pub(crate) mod series;

use prodsim_kernel::SimTime;

/// Every measurement of a run.
pub(crate) struct Measure {
    /// Fates, latencies and `timeseries.csv` rows.
    pub recorder: recorder::Recorder,
    /// `components.csv` rows.
    pub series: series::Series,
    /// The counters behind the exported metrics (empty without monitoring).
    pub counters: metrics::Counters,
    /// Good and bad user requests per bucket, for the SLO's ground truth.
    pub truth: metrics::Truth,
    /// The first instant at which a row of either series is due.
    pub next_checkpoint: SimTime,
}
