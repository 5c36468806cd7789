//! The time-series store that scrapes land in and PromQL reads from.
//!
//! One [`Tsdb`] holds every series of one run: each series is interned once as a sorted
//! label set (including `__name__`) and gets a dense [`SeriesId`]; its samples are a `Vec`
//! in time order, so range lookups are binary searches. Series are also indexed by metric
//! name so a selector such as `http_requests_total{code="500"}` only looks at the series of
//! that metric.
//!
//! Staleness follows Prometheus: [`Tsdb::mark_stale`] appends a sample whose value is the
//! special "stale NaN" bit pattern Prometheus uses (`0x7ff0000000000002`). Instant
//! selectors treat a series whose latest sample is a stale marker as absent, and range
//! selectors skip stale markers.
//!
//! Time is `i64` milliseconds of simulated time, the unit Prometheus uses.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// A series' label set: `(name, value)` pairs sorted by name, including
/// `("__name__", metric)`.
pub type Labels = Vec<(String, String)>;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// The bit pattern of Prometheus's staleness marker (`value.StaleNaN`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The dense identifier of one interned series (its index in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesId(pub u32);

/// One sample of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Simulated time in milliseconds.
    pub t_ms: i64,
    /// The value; a stale marker has the [`STALE_NAN_BITS`] bit pattern.
    pub v: f64,
}

impl Sample {
    /// Whether this sample is a staleness marker rather than a value.
    pub fn is_stale(&self) -> bool {
        self.v.to_bits() == STALE_NAN_BITS
    }
}

/// One series: its labels and its samples in time order, with running totals beside
/// them so `rate()` over a long range costs two binary searches, not a scan.
#[derive(Debug, Clone)]
struct Series {
    labels: Labels,
    samples: Vec<Sample>,
    /// One per sample: the totals up to and including it.
    totals: Vec<Totals>,
    /// Samples before this index are past retention: dropped for readers, and removed
    /// from the vectors once they are half of them (so retention costs O(1) per sample
    /// amortized, not a shift of the whole window at every evaluation).
    start: usize,
}

/// Running totals of a series at one sample.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    /// What counter resets took away so far: for each value below the value before it
    /// (stale markers skipped), the value before it, as Prometheus's `rate` adds back.
    resets: f64,
    /// Stale markers so far.
    stale: u32,
}

/// What a counter did over a range: its first and last values, how many values, and what
/// resets between them took away.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterSpan {
    /// The first non-stale sample in the range.
    pub first: Sample,
    /// The last non-stale sample in the range.
    pub last: Sample,
    /// Non-stale samples in the range.
    pub count: usize,
    /// Sum of the values before each decrease between `first` and `last`.
    pub resets: f64,
}

impl Series {
    /// The totals at sample `i`, from those before it.
    fn totals_at(&self, i: usize) -> Totals {
        let s = self.samples[i];
        let before = if i == 0 { Totals::default() } else { self.totals[i - 1] };
        // (A dropped sample's totals stay valid: totals are only ever read as differences.)
        if s.is_stale() {
            return Totals { stale: before.stale + 1, ..before };
        }
        let prev = self.samples[self.start..i].iter().rev().find(|p| !p.is_stale());
        let reset = prev.filter(|p| s.v < p.v).map_or(0.0, |p| p.v);
        Totals { resets: before.resets + reset, ..before }
    }
}

/// The index of the first sample later than `t_ms` (`samples.partition_point(|s| s.t_ms <=
/// t_ms)`), found by galloping from the end nearer to `t_ms` in time: evaluations ask for
/// the newest samples (the end of a range) and for the oldest ones the store keeps (the
/// start of the longest range, just after retention's cut), so the search touches a few
/// samples near one end instead of halving a window of days of samples, cache miss after
/// cache miss.
pub fn after(samples: &[Sample], t_ms: i64) -> usize {
    let n = samples.len();
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else { return 0 };
    if last.t_ms <= t_ms {
        return n;
    }
    if first.t_ms > t_ms {
        return 0;
    }
    // Invariant: samples[lo].t_ms <= t_ms < samples[hi].t_ms (hi may be n).
    let (lo, hi) = if t_ms - first.t_ms < last.t_ms - t_ms {
        let (mut lo, mut step) = (0, 1);
        loop {
            let hi = (lo + step).min(n);
            if hi == n || samples[hi].t_ms > t_ms {
                break (lo, hi);
            }
            lo = hi;
            step *= 2;
        }
    } else {
        let (mut hi, mut step) = (n - 1, 1);
        loop {
            let lo = hi.saturating_sub(step);
            if samples[lo].t_ms <= t_ms {
                break (lo, hi);
            }
            hi = lo;
            step *= 2;
        }
    };
    lo + samples[lo..hi].partition_point(|s| s.t_ms <= t_ms)
}

/// The store of every scraped (and recorded) series of a run.
#[derive(Debug, Clone, Default)]
pub struct Tsdb {
    series: Vec<Series>,
    by_labels: BTreeMap<Labels, SeriesId>,
    by_name: BTreeMap<String, Vec<SeriesId>>,
    samples: usize,
    /// Selectors already matched (by their text), with the series count they saw: rules
    /// evaluate the same selectors every interval, and series are rarely added.
    matched: RefCell<BTreeMap<String, (usize, Vec<SeriesId>)>>,
}

/// The value of label `name` in a sorted label set, if present.
pub fn label_value<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
    labels.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok().map(|i| labels[i].1.as_str())
}

impl Tsdb {
    /// An empty store.
    pub fn new() -> Tsdb {
        Tsdb::default()
    }

    /// The id of the series with these labels, interning it if new. Labels are sorted by
    /// name first (a later duplicate name wins); labels with an empty value are dropped,
    /// as in Prometheus, where an empty label is the same as a missing one.
    pub fn series_id(&mut self, mut labels: Labels) -> SeriesId {
        labels.retain(|(_, v)| !v.is_empty());
        labels.reverse();
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        labels.dedup_by(|later, earlier| later.0 == earlier.0);
        if let Some(&id) = self.by_labels.get(&labels) {
            return id;
        }
        let id = SeriesId(u32::try_from(self.series.len()).expect("fewer than 2^32 series"));
        let name = label_value(&labels, METRIC_NAME).unwrap_or("").to_string();
        self.by_name.entry(name).or_default().push(id);
        self.by_labels.insert(labels.clone(), id);
        self.series.push(Series { labels, samples: Vec::new(), totals: Vec::new(), start: 0 });
        id
    }

    /// The id of the series with exactly these (sorted) labels, if it exists.
    pub fn lookup(&self, labels: &Labels) -> Option<SeriesId> {
        self.by_labels.get(labels).copied()
    }

    /// Appends a sample. Samples must arrive in time order per series: a sample at the
    /// same time as the last one replaces it (a rule evaluated twice at one instant), an
    /// older one is ignored (Prometheus rejects it as out of order).
    pub fn append(&mut self, id: SeriesId, t_ms: i64, v: f64) {
        let Some(series) = self.series.get_mut(id.0 as usize) else {
            return;
        };
        let start = series.start;
        match series.samples[start..].last_mut() {
            Some(last) if last.t_ms == t_ms => last.v = v,
            Some(last) if last.t_ms > t_ms => return,
            _ => {
                series.samples.push(Sample { t_ms, v });
                series.totals.push(Totals::default());
                self.samples += 1;
            }
        }
        let i = series.samples.len() - 1;
        series.totals[i] = series.totals_at(i);
    }

    /// Marks the series stale at `t_ms` (Prometheus's staleness marker): instant selectors
    /// no longer see it from `t_ms` on, until a new sample arrives. Marking an already
    /// stale (or empty) series does nothing.
    pub fn mark_stale(&mut self, id: SeriesId, t_ms: i64) {
        let Some(series) = self.series.get(id.0 as usize) else {
            return;
        };
        match series.samples[series.start..].last() {
            Some(last) if !last.is_stale() => self.append(id, t_ms, f64::from_bits(STALE_NAN_BITS)),
            _ => {}
        }
    }

    /// Retention: drops every sample older than `t_ms` (strictly before it). Nothing before
    /// `t_ms` is kept, so callers should retain at least the longest range or lookback any
    /// rule uses. Series stay interned (ids are stable) even when they have no samples left.
    pub fn retain_after(&mut self, t_ms: i64) {
        /// Dropped samples kept in a series' vectors before they are compacted.
        const COMPACT_AT: usize = 64;
        for series in &mut self.series {
            // Each sample is passed over once: the scan is O(1) per sample amortized.
            let mut cut = series.start;
            while series.samples.get(cut).is_some_and(|s| s.t_ms < t_ms) {
                cut += 1;
            }
            self.samples -= cut - series.start;
            series.start = cut;
            if cut >= COMPACT_AT && cut * 2 >= series.samples.len() {
                series.samples.drain(..cut);
                // The totals are cumulative: differences between kept samples stay right.
                series.totals.drain(..cut);
                series.start = 0;
            }
        }
    }

    /// Every series with its labels and samples (stale markers included, see
    /// [`Sample::is_stale`]), in id order.
    pub fn series(&self) -> impl Iterator<Item = (SeriesId, &Labels, &[Sample])> {
        self.series.iter().enumerate().map(|(i, s)| (SeriesId(i as u32), &s.labels, &s.samples[s.start..]))
    }

    /// The ids of the series of one metric name, in id order.
    pub fn series_of(&self, metric: &str) -> &[SeriesId] {
        self.by_name.get(metric).map_or(&[], Vec::as_slice)
    }

    /// The labels of one series. Panics if `id` does not come from this store (as do the
    /// other per-series accessors).
    pub fn labels(&self, id: SeriesId) -> &Labels {
        &self.series[id.0 as usize].labels
    }

    /// The samples of one series, in time order, stale markers included.
    pub fn samples_of(&self, id: SeriesId) -> &[Sample] {
        let s = &self.series[id.0 as usize];
        &s.samples[s.start..]
    }

    /// The last sample of one series (possibly a stale marker), if any.
    pub fn latest(&self, id: SeriesId) -> Option<Sample> {
        self.samples_of(id).last().copied()
    }

    /// The samples of one series with `start_ms < t_ms <= end_ms` (Prometheus 3's
    /// left-open range), stale markers included.
    pub fn range(&self, id: SeriesId, start_ms: i64, end_ms: i64) -> &[Sample] {
        let samples = self.samples_of(id);
        let from = after(samples, start_ms);
        let to = after(samples, end_ms);
        &samples[from..to.max(from)]
    }

    /// What a counter did in `start_ms < t <= end_ms`, from the running totals (no scan):
    /// `None` without a non-stale sample in the range.
    pub fn counter_span(&self, id: SeriesId, start_ms: i64, end_ms: i64) -> Option<CounterSpan> {
        let series = &self.series[id.0 as usize];
        let (samples, totals) = (&series.samples[series.start..], &series.totals[series.start..]);
        let from = after(samples, start_ms);
        let to = after(samples, end_ms).max(from);
        let first = (from..to).find(|&i| !samples[i].is_stale())?;
        let last = (from..to).rev().find(|&i| !samples[i].is_stale())?;
        let stale_before = totals[from].stale - u32::from(samples[from].is_stale());
        let stale = (totals[to - 1].stale - stale_before) as usize;
        Some(CounterSpan {
            first: samples[first],
            last: samples[last],
            count: to - from - stale,
            resets: totals[last].resets - totals[first].resets,
        })
    }

    /// The series matching a selector whose text is `key`, computed by `compute` unless a
    /// series was added since the last time it was asked for.
    pub fn matched(&self, key: &str, compute: impl FnOnce() -> Vec<SeriesId>) -> Vec<SeriesId> {
        let n = self.series.len();
        if let Some((seen, ids)) = self.matched.borrow().get(key) {
            if *seen == n {
                return ids.clone();
            }
        }
        let ids = compute();
        self.matched.borrow_mut().insert(key.to_string(), (n, ids.clone()));
        ids
    }

    /// The number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether the store holds no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The number of samples held (stale markers included).
    pub fn samples(&self) -> usize {
        self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn interning_sorts_labels_and_is_stable() {
        let mut db = Tsdb::new();
        let a = db.series_id(l(&[("job", "api"), ("__name__", "up")]));
        let b = db.series_id(l(&[("__name__", "up"), ("job", "api")]));
        let c = db.series_id(l(&[("__name__", "up"), ("job", "db")]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(db.labels(a), &l(&[("__name__", "up"), ("job", "api")]));
        assert_eq!(db.series_of("up"), &[a, c]);
        assert_eq!(db.len(), 2);
    }

    #[test]
    fn galloping_search_agrees_with_binary_search() {
        // Irregular times with repeats of a gap, searched at every time around them.
        let samples: Vec<Sample> = (0..300i64).map(|i| Sample { t_ms: i * 1000 + (i * i % 7) * 100, v: 0.0 }).collect();
        for len in [0, 1, 2, 3, 17, 300] {
            let s = &samples[..len];
            for t in -2000..302_000 {
                if t % 50 == 0 || t < 5000 {
                    assert_eq!(after(s, t), s.partition_point(|x| x.t_ms <= t), "len {len} t {t}");
                }
            }
        }
    }

    #[test]
    fn append_range_stale_and_retention() {
        let mut db = Tsdb::new();
        let id = db.series_id(l(&[("__name__", "m")]));
        for i in 0..10 {
            db.append(id, i * 1000, i as f64);
        }
        db.append(id, 5000, 99.0); // older: ignored
        db.append(id, 9000, 9.5); // same time: replaced
        assert_eq!(db.samples(), 10);
        let r = db.range(id, 2000, 5000);
        assert_eq!(r.iter().map(|s| s.t_ms).collect::<Vec<_>>(), [3000, 4000, 5000]);
        db.mark_stale(id, 10_000);
        db.mark_stale(id, 11_000);
        assert_eq!(db.samples(), 11);
        assert!(db.samples_of(id).last().unwrap().is_stale());
        db.retain_after(5000);
        assert_eq!(db.samples(), 6);
        assert_eq!(db.samples_of(id)[0].t_ms, 5000);
        assert_eq!(db.samples_of(id)[4].v, 9.5);
    }

    #[test]
    fn retention_at_every_evaluation_keeps_the_window_and_counters_right() {
        let mut db = Tsdb::new();
        let id = db.series_id(l(&[("__name__", "c")]));
        for i in 0..1000i64 {
            // A counter that resets every 100 samples.
            db.append(id, i * 1000, (i % 100) as f64);
            db.retain_after(i * 1000 - 60_000);
            let live = db.samples_of(id);
            assert_eq!(live.len(), (i.min(60) + 1) as usize, "at {i}");
            assert_eq!(db.samples(), live.len());
        }
        // The same window in a fresh store gives the same counter span.
        let mut fresh = Tsdb::new();
        let fid = fresh.series_id(l(&[("__name__", "c")]));
        for s in db.samples_of(id) {
            fresh.append(fid, s.t_ms, s.v);
        }
        for (from, to) in [(939_000, 999_000), (900_000, 950_000), (960_000, 999_000)] {
            assert_eq!(db.counter_span(id, from, to), fresh.counter_span(fid, from, to), "{from}..{to}");
        }
        db.mark_stale(id, 1_000_000);
        db.retain_after(2_000_000);
        assert!(db.samples_of(id).is_empty());
        db.mark_stale(id, 2_000_000);
        assert!(db.samples_of(id).is_empty(), "a series with no live sample gets no stale marker");
    }
}
