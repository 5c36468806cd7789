//! Per-instance log buffers shipped in batches to a log store that can go down.

use std::collections::VecDeque;

use super::{Level, LogsError};

/// How many runs (stretches of entries emitted close in time) a buffer tracks; more runs
/// only sharpen the ingestion delay measured for a shipment.
const RUNS: usize = 8;

/// How logs are buffered and shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShipperConfig {
    /// Instances, each with its own buffer (indexed `0..instances`).
    pub instances: usize,
    /// Entries one instance's buffer holds; more are dropped.
    pub buffer_capacity: u32,
    /// How often each instance ships a batch.
    pub batch_interval_ms: i64,
    /// The most entries one instance ships per batch.
    pub batch_size: u32,
    /// From shipment to visible in the store.
    pub ingestion_latency_ms: i64,
}

impl ShipperConfig {
    /// Checks the interval and batch size are positive and the latency not negative.
    pub fn check(&self) -> Result<(), LogsError> {
        if self.batch_interval_ms <= 0 {
            return Err(LogsError::BatchInterval(self.batch_interval_ms));
        }
        if self.batch_size == 0 {
            return Err(LogsError::BatchSize);
        }
        if self.ingestion_latency_ms < 0 {
            return Err(LogsError::IngestionLatency(self.ingestion_latency_ms));
        }
        Ok(())
    }
}

/// Where entries went, for one level or all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Emitted by components.
    pub emitted: u64,
    /// Accepted by the store and visible in it.
    pub shipped: u64,
    /// Refused because the instance's buffer was full.
    pub dropped: u64,
    /// In a buffer when its instance crashed.
    pub lost: u64,
    /// Still in buffers.
    pub backlog: u64,
    /// Shipped, not yet visible (within the ingestion latency).
    pub in_transit: u64,
}

impl LogCounts {
    /// Whether every emitted entry is in exactly one place.
    pub fn is_conserved(&self) -> bool {
        self.emitted == self.shipped + self.dropped + self.lost + self.backlog + self.in_transit
    }

    fn add(&mut self, other: &LogCounts) {
        self.emitted += other.emitted;
        self.shipped += other.shipped;
        self.dropped += other.dropped;
        self.lost += other.lost;
        self.backlog += other.backlog;
        self.in_transit += other.in_transit;
    }
}

/// [`LogCounts`] per level (indexed by [`Level::index`]) and in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogCountsByLevel {
    /// One per level, least severe first.
    pub levels: [LogCounts; 4],
    /// The sum of the levels.
    pub total: LogCounts,
}

impl LogCountsByLevel {
    /// The counts of one level.
    pub fn level(&self, level: Level) -> LogCounts {
        self.levels[level.index()]
    }
}

/// Entries emitted close in time: when the first was emitted and how many of each level.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    t_first_ms: i64,
    counts: [u32; 4],
}

impl Run {
    fn total(&self) -> u32 {
        self.counts.iter().sum()
    }
}

/// One instance's buffer: a ring of runs, oldest first, in fixed storage.
#[derive(Clone, Copy, Debug, Default)]
struct Buffer {
    runs: [Run; RUNS],
    head: usize,
    len: usize,
    total: u32,
}

impl Buffer {
    fn slot(&self, i: usize) -> usize {
        (self.head + i) % RUNS
    }

    /// Starts a new run at `t_ms`; when the ring is full, first merges the two adjacent
    /// runs closest in time (the later joins the earlier, whose start it keeps).
    fn start_run(&mut self, t_ms: i64) {
        if self.len == RUNS {
            let closest = (0..RUNS - 1)
                .min_by_key(|&i| self.runs[self.slot(i + 1)].t_first_ms - self.runs[self.slot(i)].t_first_ms)
                .unwrap_or(0);
            let later = self.runs[self.slot(closest + 1)];
            let a = self.slot(closest);
            add_counts(&mut self.runs[a].counts, later.counts);
            for i in closest + 1..RUNS - 1 {
                let (to, from) = (self.slot(i), self.slot(i + 1));
                self.runs[to] = self.runs[from];
            }
            self.len -= 1;
        }
        let slot = self.slot(self.len);
        self.runs[slot] = Run { t_first_ms: t_ms, counts: [0; 4] };
        self.len += 1;
    }

    /// Takes up to `max` entries, oldest runs first (within a run, levels in proportion);
    /// returns them per level and the emit time of the oldest.
    fn take(&mut self, max: u32) -> ([u32; 4], i64) {
        let mut taken = [0u32; 4];
        let oldest_ms = self.runs[self.head].t_first_ms;
        let mut room = max;
        while room > 0 && self.len > 0 {
            let run = &mut self.runs[self.head];
            let n = run.total();
            let part = if n <= room { run.counts } else { apportion(run.counts, room) };
            for level in 0..4 {
                taken[level] += part[level];
                run.counts[level] -= part[level];
            }
            let moved = part.iter().sum::<u32>();
            room -= moved;
            self.total -= moved;
            if n <= moved {
                self.head = (self.head + 1) % RUNS;
                self.len -= 1;
            }
        }
        (taken, oldest_ms)
    }

    fn clear(&mut self) -> [u32; 4] {
        let mut counts = [0u32; 4];
        for i in 0..self.len {
            let run = self.runs[self.slot(i)];
            add_counts(&mut counts, run.counts);
        }
        *self = Buffer::default();
        counts
    }
}

/// Adds per-level counts.
fn add_counts(into: &mut [u32; 4], from: [u32; 4]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// `k` of a run's entries (k below its total) split across levels in proportion to their
/// counts, by largest remainder (ties to the more severe level): exact, never more than a
/// level has.
fn apportion(counts: [u32; 4], k: u32) -> [u32; 4] {
    let n: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let mut part = [0u32; 4];
    let mut remainders = [(0u64, 0usize); 4];
    for level in 0..4 {
        let exact = u64::from(counts[level]) * u64::from(k);
        part[level] = (exact / n) as u32;
        remainders[level] = (exact % n, level);
    }
    let mut left = k - part.iter().sum::<u32>();
    remainders.sort_by(|a, b| b.cmp(a));
    for &(remainder, level) in &remainders {
        if left == 0 || remainder == 0 {
            break;
        }
        part[level] += 1;
        left -= 1;
    }
    debug_assert_eq!(left, 0);
    part
}

/// A batch on its way into the store.
#[derive(Clone, Copy, Debug)]
struct Shipment {
    visible_ms: i64,
    counts: [u32; 4],
    oldest_ms: i64,
}

/// Log buffers on every instance, shipping batches to one log store.
///
/// Buffers hold counts, not entries: a ring of up to 8 runs per instance, each run the
/// entries emitted within half a batch interval of its first one, counted per level.
/// Batches take the oldest runs first; a run only partly shipped gives up its levels in
/// proportion. Totals are exact; the order of levels within a run is approximated, and a
/// shipment's ingestion delay is measured from the first entry of its oldest run (an upper
/// bound when runs had to be merged, in long outages).
///
/// All instances ship on one grid of ticks every `batch_interval_ms`; call
/// [`Shipper::flush_due`] at [`Shipper::next_flush`].
///
/// ```
/// use prodsim_parts::ops::logs::{Level, Shipper, ShipperConfig};
///
/// let mut logs = Shipper::new(ShipperConfig {
///     instances: 2, buffer_capacity: 1000, batch_interval_ms: 1000, batch_size: 500, ingestion_latency_ms: 2000,
/// });
/// assert!(logs.emit(250, 0, Level::Error)); // on the request path: counts only
/// logs.emit(300, 1, Level::Info);
/// assert_eq!(logs.next_flush(), Some(1000));
/// logs.flush_due(1000); // both batches leave; visible at 3000
/// assert_eq!(logs.counts().total.in_transit, 2);
/// logs.flush_due(logs.next_flush().unwrap());
/// assert_eq!(logs.counts().level(Level::Error).shipped, 1);
/// assert_eq!(logs.max_ingestion_delay_ms(), 2750);
/// assert!(logs.counts().total.is_conserved());
/// ```
#[derive(Clone, Debug)]
pub struct Shipper {
    cfg: ShipperConfig,
    /// A new run starts when an entry comes this long after the newest run's first.
    run_span_ms: i64,
    buffers: Vec<Buffer>,
    /// Entries in all buffers.
    buffered: u64,
    next_flush_ms: i64,
    store_up: bool,
    in_transit: VecDeque<Shipment>,
    emitted: [u64; 4],
    shipped: [u64; 4],
    dropped: [u64; 4],
    lost: [u64; 4],
    max_backlog: u64,
    max_ingestion_delay_ms: i64,
    /// When the current store outage started.
    down_since_ms: Option<i64>,
    /// Store outages before the current one.
    downtime_ms: i64,
    crashes: u64,
    last_crash_ms: Option<i64>,
}

impl Shipper {
    /// Empty buffers on every instance; the store is up; the first tick is at
    /// `batch_interval_ms`.
    ///
    /// # Panics
    ///
    /// If `cfg.check()` fails.
    pub fn new(cfg: ShipperConfig) -> Shipper {
        if let Err(e) = cfg.check() {
            panic!("invalid log shipper configuration: {e}");
        }
        Shipper {
            cfg,
            run_span_ms: (cfg.batch_interval_ms / 2).max(1),
            buffers: vec![Buffer::default(); cfg.instances],
            buffered: 0,
            next_flush_ms: cfg.batch_interval_ms,
            store_up: true,
            in_transit: VecDeque::new(),
            emitted: [0; 4],
            shipped: [0; 4],
            dropped: [0; 4],
            lost: [0; 4],
            max_backlog: 0,
            max_ingestion_delay_ms: 0,
            down_since_ms: None,
            downtime_ms: 0,
            crashes: 0,
            last_crash_ms: None,
        }
    }

    /// One log entry emitted at `t_ms` on `instance`: buffered (true) or dropped because
    /// the buffer is full (false). Allocation-free.
    ///
    /// # Panics
    ///
    /// If `instance` is not below `instances`.
    pub fn emit(&mut self, t_ms: i64, instance: usize, level: Level) -> bool {
        let l = level.index();
        self.emitted[l] += 1;
        let buffer = &mut self.buffers[instance];
        if buffer.total >= self.cfg.buffer_capacity {
            self.dropped[l] += 1;
            return false;
        }
        if buffer.len == 0 || t_ms >= buffer.runs[buffer.slot(buffer.len - 1)].t_first_ms + self.run_span_ms {
            buffer.start_run(t_ms);
        }
        let newest = buffer.slot(buffer.len - 1);
        buffer.runs[newest].counts[l] += 1;
        buffer.total += 1;
        if self.buffered == 0 && self.next_flush_ms < t_ms {
            // Idle ticks were skipped: the next one is the first on the grid after now.
            let interval = self.cfg.batch_interval_ms;
            self.next_flush_ms += (t_ms - self.next_flush_ms).div_euclid(interval) * interval + interval;
        }
        self.buffered += 1;
        self.max_backlog = self.max_backlog.max(self.buffered);
        true
    }

    /// Delivers shipments whose ingestion finished by `t_ms`, then, if a tick is due,
    /// ships one batch per instance (unless the store is down) and moves to the next
    /// tick. A late call ships at `t_ms` and realigns to the grid.
    pub fn flush_due(&mut self, t_ms: i64) {
        self.deliver(t_ms);
        if self.next_flush_ms > t_ms {
            return;
        }
        if self.store_up && self.buffered > 0 {
            for i in 0..self.buffers.len() {
                let buffer = &mut self.buffers[i];
                if buffer.len == 0 {
                    continue;
                }
                let (counts, oldest_ms) = buffer.take(self.cfg.batch_size);
                let moved: u32 = counts.iter().sum();
                self.buffered -= u64::from(moved);
                let visible_ms = t_ms + self.cfg.ingestion_latency_ms;
                self.in_transit.push_back(Shipment { visible_ms, counts, oldest_ms });
            }
        }
        let interval = self.cfg.batch_interval_ms;
        self.next_flush_ms += (t_ms - self.next_flush_ms).div_euclid(interval) * interval + interval;
        self.deliver(t_ms);
    }

    /// When [`Shipper::flush_due`] has something to do: the next tick if anything is
    /// buffered (even while the store is down: the shipper retries), or the next
    /// shipment becoming visible; `None` when idle.
    pub fn next_flush(&self) -> Option<i64> {
        let tick = (self.buffered > 0).then_some(self.next_flush_ms);
        let delivery = self.in_transit.front().map(|s| s.visible_ms);
        match (tick, delivery) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The instance crashed at `t_ms`: its buffered entries are lost (it restarts with an
    /// empty buffer). Returns how many were lost.
    pub fn crash(&mut self, t_ms: i64, instance: usize) -> u64 {
        self.crashes += 1;
        self.last_crash_ms = Some(t_ms);
        let counts = self.buffers[instance].clear();
        let mut n = 0;
        for (lost, c) in self.lost.iter_mut().zip(counts) {
            *lost += u64::from(c);
            n += u64::from(c);
        }
        self.buffered -= n;
        n
    }

    /// The log store goes down (`up == false`) or comes back at `t_ms`. While down nothing
    /// ships, buffers fill, then drop; once back, the backlog ships one batch per instance
    /// per tick. Shipments already in transit still become visible.
    pub fn set_store_up(&mut self, t_ms: i64, up: bool) {
        match (self.down_since_ms, up) {
            (None, false) => self.down_since_ms = Some(t_ms),
            (Some(since), true) => {
                self.downtime_ms += t_ms - since;
                self.down_since_ms = None;
            }
            _ => {}
        }
        self.store_up = up;
    }

    /// How long the store has been down in all, up to `t_ms`.
    pub fn store_downtime_ms(&self, t_ms: i64) -> i64 {
        self.downtime_ms + self.down_since_ms.map_or(0, |since| t_ms - since)
    }

    /// Whether the log store is up.
    pub fn store_up(&self) -> bool {
        self.store_up
    }

    /// Where every emitted entry is, per level and in total.
    pub fn counts(&self) -> LogCountsByLevel {
        let mut backlog = [0u64; 4];
        for buffer in &self.buffers {
            for i in 0..buffer.len {
                let run = buffer.runs[buffer.slot(i)];
                for (b, c) in backlog.iter_mut().zip(run.counts) {
                    *b += u64::from(c);
                }
            }
        }
        let mut in_transit = [0u64; 4];
        for shipment in &self.in_transit {
            for (t, c) in in_transit.iter_mut().zip(shipment.counts) {
                *t += u64::from(c);
            }
        }
        let mut out = LogCountsByLevel::default();
        for l in 0..4 {
            out.levels[l] = LogCounts {
                emitted: self.emitted[l],
                shipped: self.shipped[l],
                dropped: self.dropped[l],
                lost: self.lost[l],
                backlog: backlog[l],
                in_transit: in_transit[l],
            };
            let level = out.levels[l];
            out.total.add(&level);
        }
        out
    }

    /// The most entries ever buffered at once, over all instances.
    pub fn max_backlog(&self) -> u64 {
        self.max_backlog
    }

    /// The longest time from an entry's emission to its visibility in the store, over the
    /// shipments delivered so far (measured per run, see [`Shipper`]).
    pub fn max_ingestion_delay_ms(&self) -> i64 {
        self.max_ingestion_delay_ms
    }

    /// Adds an instance with an empty buffer (scaling out); returns its index.
    pub fn add_instance(&mut self) -> usize {
        self.buffers.push(Buffer::default());
        self.buffers.len() - 1
    }

    /// How many instances there are.
    pub fn instances(&self) -> usize {
        self.buffers.len()
    }

    /// How many crashes there were, and when the last one was.
    pub fn crashes(&self) -> (u64, Option<i64>) {
        (self.crashes, self.last_crash_ms)
    }

    /// Entries buffered on one instance now.
    pub fn buffered(&self, instance: usize) -> u32 {
        self.buffers[instance].total
    }

    /// Moves shipments visible by `t_ms` into `shipped`.
    fn deliver(&mut self, t_ms: i64) {
        while let Some(front) = self.in_transit.front()
            && front.visible_ms <= t_ms
        {
            for (s, c) in self.shipped.iter_mut().zip(front.counts) {
                *s += u64::from(c);
            }
            self.max_ingestion_delay_ms = self.max_ingestion_delay_ms.max(front.visible_ms - front.oldest_ms);
            self.in_transit.pop_front();
        }
    }
}

/// [`apportion`] for the property tests.
#[cfg(test)]
pub(super) fn tests_apportion(counts: [u32; 4], k: u32) -> [u32; 4] {
    apportion(counts, k)
}
