//! The counters behind the exported metrics, updated as requests and calls finish: one
//! block per scrape target (the balancer, every instance of every station, the retry
//! queue, the payment ledger). Updates are array increments at indices computed from the
//! target, the class and the code; nothing allocates. A process that dies loses its
//! counters, as a real one does, so `rate()` sees the reset. `monitoring.rs` turns the
//! blocks into samples at every scrape.

use prodsim_kernel::SimTime;

use crate::measure::recorder::Fate;

/// Status codes counted by `http_requests_total`, in slot order.
pub const CODES: [&str; 6] = ["200", "403", "429", "500", "503", "504"];
/// The `outcome` label values of `auth_attempts_total`.
pub const AUTH_OUTCOMES: [&str; 2] = ["success", "failure"];
/// Slot of `403` (the proxy's filter blocked it) in [`CODES`].
pub const FORBIDDEN: usize = 1;
/// Slot of `429` (the proxy's rate limit) in [`CODES`].
pub const TOO_MANY: usize = 2;
/// Slot of `503` in [`CODES`].
pub const UNAVAILABLE: usize = 4;
/// Outcomes counted by `dependency_requests_total`, in slot order.
pub const OUTCOMES: [&str; 4] = ["success", "error", "timeout", "rejected"];
/// Outcomes counted by `payments_total`, in slot order (the ledger's totals).
pub const PAYMENT_OUTCOMES: [&str; 4] = ["attempted", "completed", "failed", "lost"];

/// Ops counted by `db_query_duration_seconds`, in slot order.
pub const DB_OPS: [&str; 2] = ["read", "write"];

/// A dependency call's outcome, as the caller saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepOutcome {
    /// Answered.
    Success = 0,
    /// Failed or refused.
    Error = 1,
    /// The caller's timeout fired.
    Timeout = 2,
    /// The circuit breaker refused it.
    Rejected = 3,
}

/// The HTTP status a fate answers with.
#[inline]
pub fn code_of(fate: Fate) -> usize {
    match fate {
        Fate::Completed => 0,
        Fate::Failed => 3,
        Fate::Rejected => 4,
        Fate::TimedOut => 5,
    }
}

/// The counters of every target.
pub(crate) struct Counters {
    /// Whether anything is counted (monitoring is on).
    pub(crate) enabled: bool,
    classes: usize,
    stations: usize,
    /// First target of each station (the balancer is target 0).
    base: Vec<usize>,
    /// The retry queue's target (`usize::MAX`: none).
    pub(crate) retry_target: usize,
    /// Bucket upper bounds in ns (the last bucket, `+Inf`, is implied).
    bounds_ns: Vec<u64>,
    /// `http_requests_total`: target × class × code.
    pub(crate) http: Vec<u64>,
    /// `http_request_duration_seconds` buckets, not cumulative: target × class × bucket.
    pub(crate) hist: Vec<u64>,
    /// `http_request_duration_seconds_sum` in ns: target × class.
    pub(crate) hist_sum_ns: Vec<u64>,
    /// `dependency_requests_total`: target × callee station × outcome.
    pub(crate) deps: Vec<u64>,
    /// CPU work started, ns, per target.
    pub(crate) cpu_ns: Vec<u64>,
    /// `db_query_duration_seconds` buckets, not cumulative: target × op × bucket.
    pub(crate) db_hist: Vec<u64>,
    /// `db_query_duration_seconds_sum` in ns: target × op.
    pub(crate) db_sum_ns: Vec<u64>,
    /// `orders_total` per class (the balancer's).
    pub(crate) orders: Vec<u64>,
    /// `revenue_total` per class (the balancer's), currency units.
    pub(crate) revenue: Vec<f64>,
    /// `signups_total` per class (the balancer's).
    pub(crate) signups: Vec<u64>,
    /// `auth_attempts_total` per class × outcome ([`AUTH_OUTCOMES`]; the balancer's).
    pub(crate) auth: Vec<u64>,
    /// `node_network_receive_bytes_total` per target: the host's, so a process crash
    /// does not reset it.
    pub(crate) net_rx_bytes: Vec<u64>,
    /// `node_network_transmit_bytes_total` per target, like `net_rx_bytes`.
    pub(crate) net_tx_bytes: Vec<u64>,
}

impl Counters {
    /// Counters for `targets` targets, `classes` request classes, the stations whose
    /// first targets are `base` and the bucket bounds `buckets` (seconds); all empty when
    /// `enabled` is false.
    pub(crate) fn new(enabled: bool, targets: usize, classes: usize, base: Vec<usize>, buckets: &[f64]) -> Counters {
        let n = if enabled { targets } else { 0 };
        let stations = base.len();
        let bounds_ns: Vec<u64> = buckets.iter().map(|b| (b * 1e9).round() as u64).collect();
        Counters {
            enabled,
            classes,
            stations,
            http: vec![0; n * classes * CODES.len()],
            hist: vec![0; n * classes * (bounds_ns.len() + 1)],
            hist_sum_ns: vec![0; n * classes],
            deps: vec![0; n * stations * OUTCOMES.len()],
            cpu_ns: vec![0; n],
            db_hist: vec![0; n * DB_OPS.len() * (bounds_ns.len() + 1)],
            db_sum_ns: vec![0; n * DB_OPS.len()],
            orders: vec![0; if enabled { classes } else { 0 }],
            revenue: vec![0.0; if enabled { classes } else { 0 }],
            signups: vec![0; if enabled { classes } else { 0 }],
            auth: vec![0; if enabled { classes * AUTH_OUTCOMES.len() } else { 0 }],
            net_rx_bytes: vec![0; n],
            net_tx_bytes: vec![0; n],
            base,
            retry_target: usize::MAX,
            bounds_ns,
        }
    }

    /// The target of instance `i` of station `s` (`None` for the proxy's pseudo-station,
    /// and for every station when counters are off).
    #[inline(always)]
    pub(crate) fn target(&self, s: u16, i: u32) -> Option<usize> {
        if !self.enabled {
            return None;
        }
        self.base.get(usize::from(s)).map(|b| b + i as usize)
    }

    /// Buckets per histogram, `+Inf` included.
    pub(crate) fn buckets(&self) -> usize {
        self.bounds_ns.len() + 1
    }

    /// A request of `class` ended on `target` with status slot `code` (see [`code_of`])
    /// after `latency_ns`.
    #[inline]
    pub(crate) fn request(&mut self, target: usize, class: u16, code: usize, latency_ns: u64) {
        if !self.enabled {
            return;
        }
        let tc = target * self.classes + usize::from(class);
        self.http[tc * CODES.len() + code] += 1;
        let b = self.bounds_ns.partition_point(|&x| x < latency_ns);
        let per = self.buckets();
        self.hist[tc * per + b] += 1;
        self.hist_sum_ns[tc] += latency_ns;
    }

    /// A request refused with `code` (an index into [`CODES`]) at `target`, without a
    /// duration worth observing.
    #[inline]
    pub(crate) fn refused(&mut self, target: usize, class: u16, code: usize) {
        if !self.enabled {
            return;
        }
        let tc = target * self.classes + usize::from(class);
        self.http[tc * CODES.len() + code] += 1;
        let per = self.buckets();
        self.hist[tc * per] += 1;
    }

    /// A database query of op slot `op` (see [`DB_OPS`]) ended on `target` after
    /// `latency_ns`.
    #[inline]
    pub(crate) fn query(&mut self, target: usize, op: usize, latency_ns: u64) {
        if !self.enabled {
            return;
        }
        let to = target * DB_OPS.len() + op;
        let b = self.bounds_ns.partition_point(|&x| x < latency_ns);
        let per = self.buckets();
        self.db_hist[to * per + b] += 1;
        self.db_sum_ns[to] += latency_ns;
    }

    /// A user was answered with success for a request of `class`: an order if the class is
    /// a payment (`order`), and `revenue` earned.
    #[inline]
    pub(crate) fn sale(&mut self, class: u16, order: bool, revenue: f64) {
        if !self.enabled {
            return;
        }
        let c = usize::from(class);
        self.orders[c] += u64::from(order);
        self.revenue[c] += revenue;
    }

    /// A successful request of a signup class was answered.
    #[inline]
    pub(crate) fn signup(&mut self, class: u16) {
        if self.enabled {
            self.signups[usize::from(class)] += 1;
        }
    }

    /// A login attempt of `class` was answered: it succeeded when `success`.
    #[inline]
    pub(crate) fn auth(&mut self, class: u16, success: bool) {
        if self.enabled {
            self.auth[usize::from(class) * AUTH_OUTCOMES.len() + usize::from(!success)] += 1;
        }
    }

    /// `target`'s host received `rx` bytes and sent `tx` bytes.
    #[inline]
    pub(crate) fn network(&mut self, target: usize, rx: u64, tx: u64) {
        if self.enabled {
            self.net_rx_bytes[target] += rx;
            self.net_tx_bytes[target] += tx;
        }
    }

    /// The query histogram of `target`, op slot `op`: each bucket's own count.
    pub(crate) fn query_histogram(&self, target: usize, op: usize) -> &[u64] {
        let base = (target * DB_OPS.len() + op) * self.buckets();
        &self.db_hist[base..base + self.buckets()]
    }

    /// The query histogram's `_sum` (seconds) of `target`, op slot `op`.
    pub(crate) fn query_sum_seconds(&self, target: usize, op: usize) -> f64 {
        self.db_sum_ns[target * DB_OPS.len() + op] as f64 / 1e9
    }

    /// `target` called station `callee` with `outcome`.
    #[inline]
    pub(crate) fn dependency(&mut self, target: usize, callee: usize, outcome: DepOutcome) {
        if !self.enabled {
            return;
        }
        self.deps[(target * self.stations + callee) * OUTCOMES.len() + outcome as usize] += 1;
    }

    /// `target` started `ns` of CPU work.
    #[inline]
    pub(crate) fn cpu(&mut self, target: usize, ns: u64) {
        if self.enabled {
            self.cpu_ns[target] = self.cpu_ns[target].saturating_add(ns);
        }
    }

    /// `target`'s process died: its counters start again from zero.
    pub(crate) fn reset(&mut self, target: usize) {
        if !self.enabled {
            return;
        }
        let c = self.classes;
        let b = self.buckets();
        self.http[target * c * CODES.len()..(target + 1) * c * CODES.len()].fill(0);
        self.hist[target * c * b..(target + 1) * c * b].fill(0);
        self.hist_sum_ns[target * c..(target + 1) * c].fill(0);
        let d = self.stations * OUTCOMES.len();
        self.deps[target * d..(target + 1) * d].fill(0);
        self.cpu_ns[target] = 0;
        let q = DB_OPS.len();
        self.db_hist[target * q * b..(target + 1) * q * b].fill(0);
        self.db_sum_ns[target * q..(target + 1) * q].fill(0);
    }

    /// `http_requests_total` of `target`, `class`, code slot `code`.
    pub(crate) fn http_at(&self, target: usize, class: usize, code: usize) -> u64 {
        self.http[(target * self.classes + class) * CODES.len() + code]
    }

    /// The histogram of `target`, `class`: each bucket's own count (not cumulative).
    pub(crate) fn histogram(&self, target: usize, class: usize) -> &[u64] {
        let base = (target * self.classes + class) * self.buckets();
        &self.hist[base..base + self.buckets()]
    }

    /// The cumulative count of bucket `b` (and every bucket below) of `target`, `class`.
    #[cfg(test)]
    fn cumulative_bucket(&self, target: usize, class: usize, b: usize) -> u64 {
        self.histogram(target, class)[..=b].iter().sum()
    }

    /// The histogram's `_sum` (seconds) of `target`, `class`.
    pub(crate) fn sum_seconds(&self, target: usize, class: usize) -> f64 {
        self.hist_sum_ns[target * self.classes + class] as f64 / 1e9
    }

    /// `dependency_requests_total` of `target` calling `callee` with outcome slot `o`.
    pub(crate) fn dep_at(&self, target: usize, callee: usize, o: usize) -> u64 {
        self.deps[(target * self.stations + callee) * OUTCOMES.len() + o]
    }
}

/// Ground truth for the SLO: good and bad user requests per bucket of answer time.
#[derive(Clone, Debug, Default)]
pub(crate) struct Truth {
    /// Bucket width, ns (0: off).
    pub(crate) resolution_ns: u64,
    /// A slower answer is bad, ns.
    pub(crate) latency_ns: u64,
    /// Per bucket: (requests, bad requests).
    pub(crate) buckets: Vec<(u64, u64)>,
    /// Per bucket: revenue lost to bad requests (their class's `revenue`).
    pub(crate) lost: Vec<f64>,
    /// Per bucket: (requests that ran a harmful release's version, bad ones among them),
    /// to tell the failures a release caused from those a fault did.
    pub(crate) on_release: Vec<(u64, u64)>,
}

impl Truth {
    /// A user got `fate` at `answered` after `latency_ns`.
    #[inline]
    pub(crate) fn record(&mut self, answered: SimTime, fate: Fate, latency_ns: u64, revenue: f64, harmful: bool) {
        if self.resolution_ns == 0 {
            return;
        }
        let k = (answered.as_nanos() / self.resolution_ns) as usize;
        if k >= self.buckets.len() {
            self.buckets.resize(k + 1, (0, 0));
            self.lost.resize(k + 1, 0.0);
            self.on_release.resize(k + 1, (0, 0));
        }
        let bad = u64::from(fate != Fate::Completed || latency_ns > self.latency_ns);
        let b = &mut self.buckets[k];
        b.0 += 1;
        b.1 += bad;
        if harmful {
            let r = &mut self.on_release[k];
            r.0 += 1;
            r.1 += bad;
        }
        if fate != Fate::Completed {
            self.lost[k] += revenue;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reset_and_buckets() {
        let mut c = Counters::new(true, 2, 2, vec![1, 1, 1], &[0.1, 1.0]);
        c.request(1, 1, code_of(Fate::Completed), 50_000_000);
        c.request(1, 1, code_of(Fate::Failed), 500_000_000);
        c.request(1, 1, code_of(Fate::TimedOut), 5_000_000_000);
        c.request(0, 0, code_of(Fate::Completed), 100_000_000); // on the bound: le="0.1"
        assert_eq!((c.http_at(1, 1, 0), c.http_at(1, 1, 3), c.http_at(1, 1, 5)), (1, 1, 1));
        assert_eq!(
            (c.cumulative_bucket(1, 1, 0), c.cumulative_bucket(1, 1, 1), c.cumulative_bucket(1, 1, 2)),
            (1, 2, 3)
        );
        assert_eq!(c.cumulative_bucket(0, 0, 0), 1);
        assert!((c.sum_seconds(1, 1) - 5.55).abs() < 1e-9);
        c.dependency(1, 2, DepOutcome::Timeout);
        assert_eq!(c.dep_at(1, 2, 2), 1);
        c.reset(1);
        assert_eq!((c.http_at(1, 1, 0), c.dep_at(1, 2, 2), c.cumulative_bucket(1, 1, 2)), (0, 0, 0));
        assert_eq!(c.http_at(0, 0, 0), 1);
        let mut off = Counters::new(false, 2, 2, vec![1, 1, 1], &[0.1]);
        off.request(1, 1, 0, 1);
        assert!(off.http.is_empty());
    }

    #[test]
    fn truth_buckets_by_answer_time() {
        let mut t = Truth { resolution_ns: 60_000_000_000, latency_ns: 1_000_000_000, ..Truth::default() };
        t.record(SimTime(1), Fate::Completed, 10, 5.0, false);
        t.record(SimTime(61_000_000_000), Fate::Completed, 2_000_000_000, 5.0, true);
        t.record(SimTime(62_000_000_000), Fate::Failed, 10, 5.0, false);
        assert_eq!(t.buckets, vec![(1, 0), (2, 2)]);
        assert_eq!(t.on_release, vec![(0, 0), (1, 1)], "the slow answer ran a harmful release");
        assert_eq!(t.lost, vec![0.0, 5.0], "only the failed request's revenue is lost");
    }
}
