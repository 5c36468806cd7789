//! Alert fatigue: how a responder's chance to miss a page and their acknowledgement delay
//! grow with the pages they got in the last `window` (simulated time). `Fatigue` owns the
//! formula and the sliding window; it is pure (no RNG, no clock): the caller passes the
//! times at which the responder was paged and the base values of their `[[oncall.responders]]`.
//!
//! Model (linear, capped): with `n` pages to the responder in `(now - window, now)`,
//! `miss = min(base_miss + n * miss_per_page, miss_max)` (never below `base_miss`) and
//! `ack_delay = base_delay + n * ack_delay_per_page`. `OnCall::with_fatigue` applies it.

use prodsim_kernel::NS_PER_S;

/// The fatigue settings (`[oncall.fatigue]`), resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct FatigueSpec {
    /// The look-back window, ns (`window`, default 24 h).
    pub window_ns: u64,
    /// Added miss probability per recent page (`miss_per_page`).
    pub miss_per_page: f64,
    /// Cap on the miss probability (`miss_max`, at most 1).
    pub miss_max: f64,
    /// Added acknowledgement delay per recent page, ns (`ack_delay_per_page`).
    pub ack_delay_per_page_ns: u64,
}

impl FatigueSpec {
    /// The default window: 24 h.
    pub const DEFAULT_WINDOW_NS: u64 = 24 * 3600 * NS_PER_S;
    /// The default added miss probability per recent page: 0.02 (ten pages in a day add 20
    /// points).
    pub const DEFAULT_MISS_PER_PAGE: f64 = 0.02;
    /// The default cap on the miss probability: 0.5.
    pub const DEFAULT_MISS_MAX: f64 = 0.5;
    /// The default added acknowledgement delay per recent page: 30 s.
    pub const DEFAULT_ACK_DELAY_PER_PAGE_NS: u64 = 30 * NS_PER_S;

    /// Pages in `paged_ns` that fall in the window ending at `now_ns` (strictly after
    /// `now_ns - window`, at or before `now_ns`).
    pub fn recent_pages(&self, paged_ns: &[u64], now_ns: u64) -> u32 {
        let n = paged_ns.iter().filter(|&&t| self.in_window(t, now_ns)).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Whether a page at `paged_ns` falls in the window ending at `now_ns` (see
    /// [`FatigueSpec::recent_pages`]).
    pub fn in_window(&self, paged_ns: u64, now_ns: u64) -> bool {
        paged_ns <= now_ns && now_ns - paged_ns < self.window_ns
    }

    /// The miss probability after `recent` pages, from the responder's `base_miss`.
    pub fn miss_probability(&self, base_miss: f64, recent: u32) -> f64 {
        let added = base_miss + f64::from(recent) * self.miss_per_page;
        added.min(self.miss_max.min(1.0)).max(base_miss).clamp(0.0, 1.0)
    }

    /// The acknowledgement delay after `recent` pages, from a sampled `base_delay_ns`.
    pub fn ack_delay_ns(&self, base_delay_ns: u64, recent: u32) -> u64 {
        base_delay_ns.saturating_add(self.ack_delay_per_page_ns.saturating_mul(u64::from(recent)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H_NS: u64 = 3600 * NS_PER_S;

    fn spec() -> FatigueSpec {
        FatigueSpec {
            window_ns: FatigueSpec::DEFAULT_WINDOW_NS,
            miss_per_page: 0.05,
            miss_max: 0.5,
            ack_delay_per_page_ns: 30 * NS_PER_S,
        }
    }

    #[test]
    fn window_counts_only_the_last_24_hours() {
        let s = spec();
        let pages = [H_NS, 10 * H_NS, 30 * H_NS, 47 * H_NS];
        // At 48 h the window is (24 h, 48 h]: 30 h and 47 h.
        assert_eq!(s.recent_pages(&pages, 48 * H_NS), 2);
        // A page exactly at now - window is out; one at now is in.
        assert_eq!(s.recent_pages(&[24 * H_NS, 48 * H_NS], 48 * H_NS), 1);
        // Future pages do not count.
        assert_eq!(s.recent_pages(&pages, 20 * H_NS), 2);
    }

    #[test]
    fn miss_probability_grows_linearly_then_caps() {
        let s = spec();
        assert!((s.miss_probability(0.02, 0) - 0.02).abs() < 1e-12);
        assert!((s.miss_probability(0.02, 4) - 0.22).abs() < 1e-12);
        assert!((s.miss_probability(0.02, 100) - 0.5).abs() < 1e-12);
        // A base above the cap is not lowered by fatigue.
        assert!((s.miss_probability(0.7, 3) - 0.7).abs() < 1e-12);
    }

    #[test]
    fn ack_delay_adds_per_recent_page() {
        let s = spec();
        assert_eq!(s.ack_delay_ns(60 * NS_PER_S, 0), 60 * NS_PER_S);
        assert_eq!(s.ack_delay_ns(60 * NS_PER_S, 10), 360 * NS_PER_S);
        assert_eq!(s.ack_delay_ns(u64::MAX, 10), u64::MAX);
    }
}
