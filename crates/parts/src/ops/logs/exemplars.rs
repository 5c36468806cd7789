//! Bounded keepers of whole log entries: a per-level reservoir sample, and client-side
//! errors grouped by fingerprint.

use std::collections::BTreeMap;

use super::Level;

/// The fingerprint under which errors beyond the tracker's bound are counted.
pub const OTHER_FINGERPRINT: &str = "other";

/// One structured log entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogEntry {
    /// When it was emitted.
    pub t_ms: i64,
    /// Its severity.
    pub level: Level,
    /// The component kind (`app`, `db`, `proxy`).
    pub component: String,
    /// The instance (`app-3`).
    pub instance: String,
    /// What happened.
    pub message: String,
    /// The request it is about, if any: the key to join logs with traces.
    pub request_id: Option<u64>,
}

/// A uniform sample of at most `capacity_per_level` entries of each level (reservoir
/// sampling, Algorithm R), so rare errors are kept even when info lines dominate.
///
/// The caller provides one random `u64` per offer (from its own seeded stream), so the
/// sample is deterministic and there is no generator inside.
#[derive(Clone, Debug)]
pub struct Exemplars {
    capacity_per_level: usize,
    kept: [Vec<LogEntry>; 4],
    offered: [u64; 4],
}

impl Exemplars {
    /// An empty keeper holding at most `capacity_per_level` entries of each level.
    pub fn new(capacity_per_level: usize) -> Exemplars {
        Exemplars { capacity_per_level, kept: Default::default(), offered: [0; 4] }
    }

    /// Offers an entry; returns whether it was kept.
    pub fn offer(&mut self, entry: LogEntry, random: u64) -> bool {
        let level = entry.level;
        self.offer_with(level, random, || entry)
    }

    /// Offers an entry of `level` built by `make` only if it is kept, so the request path
    /// does not format messages that are thrown away. Returns whether it was kept.
    pub fn offer_with(&mut self, level: Level, random: u64, make: impl FnOnce() -> LogEntry) -> bool {
        let l = level.index();
        self.offered[l] += 1;
        let seen = self.offered[l];
        let kept = &mut self.kept[l];
        if kept.len() < self.capacity_per_level {
            kept.push(make());
            return true;
        }
        // Keep the n-th entry with probability capacity / n, in a uniform slot:
        // j = floor(random × n / 2^64) is uniform in 0..n.
        let j = ((u128::from(random) * u128::from(seen)) >> 64) as usize;
        if j < kept.len() {
            kept[j] = make();
            return true;
        }
        false
    }

    /// The kept entries, in time order (then level, component, instance, message).
    pub fn entries(&self) -> Vec<&LogEntry> {
        let mut all: Vec<&LogEntry> = self.kept.iter().flatten().collect();
        all.sort();
        all
    }

    /// How many entries of `level` were offered.
    pub fn offered(&self, level: Level) -> u64 {
        self.offered[level.index()]
    }

    /// How many entries are kept in all.
    pub fn len(&self) -> usize {
        self.kept.iter().map(Vec::len).sum()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Occurrences of one error fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorGroup {
    /// How many times it occurred.
    pub count: u64,
    /// The first time.
    pub first_seen_ms: i64,
    /// The last time.
    pub last_seen_ms: i64,
}

impl ErrorGroup {
    fn new(t_ms: i64) -> ErrorGroup {
        ErrorGroup { count: 1, first_seen_ms: t_ms, last_seen_ms: t_ms }
    }

    fn record(&mut self, t_ms: i64) {
        self.count += 1;
        self.first_seen_ms = self.first_seen_ms.min(t_ms);
        self.last_seen_ms = self.last_seen_ms.max(t_ms);
    }
}

/// Client-side errors grouped by fingerprint (like Sentry's issues), such as
/// `PaymentTimeout: checkout`. At most `max_fingerprints` distinct fingerprints are
/// tracked; errors with a new fingerprint beyond that are counted under
/// [`OTHER_FINGERPRINT`].
#[derive(Clone, Debug)]
pub struct ErrorTracker {
    max_fingerprints: usize,
    groups: BTreeMap<String, ErrorGroup>,
    other: Option<ErrorGroup>,
}

impl ErrorTracker {
    /// An empty tracker of at most `max_fingerprints` fingerprints.
    pub fn new(max_fingerprints: usize) -> ErrorTracker {
        ErrorTracker { max_fingerprints, groups: BTreeMap::new(), other: None }
    }

    /// One error at `t_ms`. Allocates only for a fingerprint not seen before.
    pub fn record(&mut self, t_ms: i64, fingerprint: &str) {
        if let Some(group) = self.groups.get_mut(fingerprint) {
            group.record(t_ms);
        } else if self.groups.len() < self.max_fingerprints {
            self.groups.insert(fingerprint.to_string(), ErrorGroup::new(t_ms));
        } else {
            match &mut self.other {
                Some(other) => other.record(t_ms),
                None => self.other = Some(ErrorGroup::new(t_ms)),
            }
        }
    }

    /// Every tracked fingerprint in name order (not including the overflow).
    pub fn groups(&self) -> impl Iterator<Item = (&str, &ErrorGroup)> {
        self.groups.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The errors whose fingerprint did not fit, if any.
    pub fn other(&self) -> Option<&ErrorGroup> {
        self.other.as_ref()
    }

    /// One fingerprint's group.
    pub fn group(&self, fingerprint: &str) -> Option<&ErrorGroup> {
        self.groups.get(fingerprint)
    }

    /// The `n` most frequent fingerprints, most frequent first (ties by name), the
    /// overflow included as [`OTHER_FINGERPRINT`] if it ranks.
    pub fn top(&self, n: usize) -> Vec<(&str, ErrorGroup)> {
        let mut all: Vec<(&str, ErrorGroup)> = self.groups().map(|(k, v)| (k, *v)).collect();
        if let Some(other) = self.other {
            all.push((OTHER_FINGERPRINT, other));
        }
        all.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }

    /// Every error recorded.
    pub fn total(&self) -> u64 {
        self.groups.values().map(|g| g.count).sum::<u64>() + self.other.map_or(0, |o| o.count)
    }
}
