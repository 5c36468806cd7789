//! Latency histograms recorded on the hot path in a handful of instructions.
//!
//! A [`Counts`] uses HdrHistogram's exact bucket layout (lowest discernible value 1 ns,
//! highest trackable one day, 2 or 3 significant digits) but keeps its counts in a plain
//! array and does no saturation or range bookkeeping per value; at the end of a run (or of
//! a time-series row) it becomes an `hdrhistogram::Histogram` with identical counts
//! ([`Counts::to_hdr`]), or answers quantiles exactly as HdrHistogram would
//! ([`Counts::value_at_quantile`]). Recording through `hdrhistogram` directly cost about a
//! tenth of a single-server run's instructions; this costs a third of that.

use hdrhistogram::Histogram;

use crate::outcome::{LATENCY_MAX_TRACKABLE_NS, Latency};

/// Counts of latencies in HdrHistogram's buckets.
#[derive(Clone, Debug)]
pub(crate) struct Counts {
    counts: Vec<u64>,
    /// The lowest and highest index counted since the last reset (`lo > hi` when none):
    /// a reset and a quantile touch only that range, so a time-series row's histogram
    /// costs its range, not the whole layout.
    lo: usize,
    hi: usize,
    /// log2 of half the sub-buckets per bucket.
    half_magnitude: u32,
    /// Values below this are in bucket 0 (the sub-bucket count, less one).
    mask: u64,
    /// 64 less the sub-bucket count's magnitude: leading zeros of bucket 0.
    zeros_base: u32,
    /// Significant digits.
    sigfig: u8,
    /// Values recorded.
    pub count: u64,
    /// Their exact sum, ns.
    pub sum_ns: u128,
    /// Their exact maximum, ns.
    pub max_ns: u64,
}

impl Counts {
    /// Empty counts with `sigfig` (2 or 3) significant digits.
    pub fn new(sigfig: u8) -> Counts {
        // HdrHistogram: the sub-bucket count is the smallest power of two at least
        // 2 × 10^sigfig; the bucket count covers the highest trackable value.
        let sub_magnitude = (2.0 * 10f64.powi(i32::from(sigfig))).log2().ceil() as u32;
        let sub_count = 1u64 << sub_magnitude;
        let mut buckets = 1;
        let mut smallest_untrackable = sub_count;
        while smallest_untrackable <= LATENCY_MAX_TRACKABLE_NS {
            smallest_untrackable <<= 1;
            buckets += 1;
        }
        let len = (buckets + 1) << (sub_magnitude - 1);
        Counts {
            counts: vec![0; len as usize],
            lo: usize::MAX,
            hi: 0,
            half_magnitude: sub_magnitude - 1,
            mask: sub_count - 1,
            zeros_base: 64 - sub_magnitude,
            sigfig,
            count: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }

    /// The index of `value`'s bucket (`value` at least 1; past the array beyond the range).
    #[inline(always)]
    fn index(&self, value: u64) -> usize {
        let bucket = self.zeros_base - (value | self.mask).leading_zeros();
        let sub = (value >> bucket) as usize;
        ((bucket as usize + 1) << self.half_magnitude) + sub - (1 << self.half_magnitude)
    }

    /// The lowest value of bucket `index`.
    fn value_of(&self, index: usize) -> u64 {
        let half = 1usize << self.half_magnitude;
        let (mut bucket, mut sub) = ((index >> self.half_magnitude) as i64 - 1, (index & (half - 1)) + half);
        if bucket < 0 {
            sub -= half;
            bucket = 0;
        }
        (sub as u64) << bucket
    }

    /// The highest value bucket `index` holds.
    fn highest_of(&self, index: usize) -> u64 {
        let low = self.value_of(index);
        let bucket = self.zeros_base - (low | self.mask).leading_zeros();
        low + (1u64 << bucket) - 1
    }

    /// Records one latency (in the last bucket beyond the range, as HdrHistogram's
    /// saturating record does; exact in the sum and the maximum).
    #[inline(always)]
    pub fn record(&mut self, ns: u64) {
        let i = self.index(ns.max(1));
        match self.counts.get_mut(i) {
            Some(c) => {
                *c += 1;
                self.lo = self.lo.min(i);
                self.hi = self.hi.max(i);
            }
            None => self.record_beyond_range(),
        }
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    #[cold]
    fn record_beyond_range(&mut self) {
        let i = self.index(LATENCY_MAX_TRACKABLE_NS);
        self.counts[i] += 1;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    /// Empties the counts, keeping the allocation.
    pub fn reset(&mut self) {
        if let Some(used) = self.counts.get_mut(self.lo..=self.hi) {
            used.fill(0);
        }
        (self.lo, self.hi) = (usize::MAX, 0);
        self.count = 0;
        self.sum_ns = 0;
        self.max_ns = 0;
    }

    /// The `q` quantile (0..=1), as HdrHistogram's `value_at_quantile` gives it (the
    /// highest value equivalent to the bucket the quantile falls in, the lowest for
    /// `q = 0`); `None` when empty.
    pub fn value_at_quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let target = ((q.min(1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.used() {
            seen += c;
            if seen >= target {
                return Some(if q == 0.0 { self.value_of(i) } else { self.highest_of(i) });
            }
        }
        None
    }

    /// The counted range, with indices.
    fn used(&self) -> impl Iterator<Item = (usize, &u64)> {
        let used = self.counts.get(self.lo..=self.hi).unwrap_or_default();
        used.iter().enumerate().map(move |(k, c)| (self.lo + k, c))
    }

    /// The same counts as an HdrHistogram (identical buckets and counts).
    pub fn to_hdr(&self) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, LATENCY_MAX_TRACKABLE_NS, self.sigfig)
            .expect("constant histogram bounds are valid");
        for (i, &c) in self.used().filter(|(_, c)| **c > 0) {
            h.saturating_record_n(self.value_of(i), c);
        }
        h
    }

    /// The counts as an outcome's latency distribution.
    pub fn to_latency(&self) -> Latency {
        Latency { histogram: self.to_hdr(), count: self.count, sum_ns: self.sum_ns, max_ns: self.max_ns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn counts_are_hdrhistograms(
            before in proptest::collection::vec(0u64..200_000_000_000_000, 0..50),
            values in proptest::collection::vec(0u64..200_000_000_000_000, 1..400),
            sigfig in 2u8..=3,
        ) {
            // Counts from before a reset must leave no trace.
            let mut fast = Counts::new(sigfig);
            for &v in &before {
                fast.record(v);
            }
            fast.reset();
            let mut hdr = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_TRACKABLE_NS, sigfig).expect("bounds");
            for &v in &values {
                fast.record(v);
                hdr.saturating_record(v.max(1));
            }
            let converted = fast.to_hdr();
            prop_assert_eq!(converted.len(), hdr.len());
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
                prop_assert_eq!(fast.value_at_quantile(q), Some(hdr.value_at_quantile(q)));
                prop_assert_eq!(converted.value_at_quantile(q), hdr.value_at_quantile(q));
            }
            prop_assert_eq!(fast.max_ns, values.iter().copied().max().unwrap_or(0));
        }
    }

    #[test]
    fn empty_and_reset() {
        let mut c = Counts::new(2);
        assert_eq!(c.value_at_quantile(0.5), None);
        c.record(5);
        assert_eq!(c.value_at_quantile(0.5), Some(5));
        c.reset();
        assert_eq!((c.count, c.value_at_quantile(0.99)), (0, None));
    }
}
