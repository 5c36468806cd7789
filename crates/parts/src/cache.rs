//! A response cache (LRU with a time to live) and Zipf key popularity to drive it.
//!
//! [`ResponseCache`] answers "is a fresh response for this key cached" and remembers
//! responses it is given, evicting the least recently used when full. Every operation is
//! O(1) and allocation-free after construction: entries live in a slab preallocated for the
//! capacity, threaded on an intrusive doubly linked list (most recently used at the head),
//! and a `HashMap` from key to slab slot, created with room for twice the capacity, finds
//! them. The map uses a fixed-key hasher and is only ever looked up, never iterated, so
//! runs stay deterministic and the table never grows: with at most `capacity` live keys in
//! room for `2 × capacity`, its tombstones are always cleaned by rehashing in place.
//!
//! [`Zipf`] draws keys with Zipf popularity (key `k` with weight `1/(k+1)^s`), the classic
//! model of web object popularity (Breslau et al., "Web caching and Zipf-like
//! distributions", 1999).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rand_distr::Distribution;

use prodsim_kernel::SimTime;

/// The end of a list.
const NIL: u32 = u32::MAX;

/// One cached response.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    stored: SimTime,
    /// Towards the most recently used end.
    prev: u32,
    /// Towards the least recently used end; the next free slot while free.
    next: u32,
}

/// A fast hasher for the cache's `u64` keys (Fibonacci hashing with a final mix): the keys
/// come from the simulation, not from an adversary, so SipHash's protection against hash
/// flooding buys nothing, and it cost about a tenth of a proxied request's time.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let x = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// An LRU cache of responses with a time to live.
#[derive(Clone, Debug)]
pub struct ResponseCache {
    capacity: usize,
    ttl_ns: u64,
    entries: Vec<Entry>,
    index: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    /// First free slot of the slab below `entries.len()`.
    free: u32,
    hits: u64,
    misses: u64,
    evictions: u64,
    expirations: u64,
}

impl ResponseCache {
    /// An empty cache for `capacity` keys (at most `u32::MAX - 1`; 0 caches nothing)
    /// whose entries stay fresh for `ttl_ns` nanoseconds after they are stored (0: never
    /// fresh). Memory follows the entries stored: a small block is allocated now.
    pub fn new(capacity: usize, ttl_ns: u64) -> Self {
        let capacity = capacity.min(NIL as usize - 1);
        let preallocated = capacity.min(4096);
        ResponseCache {
            capacity,
            ttl_ns,
            entries: Vec::with_capacity(preallocated),
            index: HashMap::with_capacity_and_hasher(preallocated * 2, BuildHasherDefault::default()),
            head: NIL,
            tail: NIL,
            free: NIL,
            hits: 0,
            misses: 0,
            evictions: 0,
            expirations: 0,
        }
    }

    /// Whether a fresh response for `key` is cached: a hit iff present and stored less than
    /// the TTL ago. A hit makes the key the most recently used; an expired entry is removed.
    pub fn lookup(&mut self, now: SimTime, key: u64) -> bool {
        let Some(&slot) = self.index.get(&key) else {
            self.misses += 1;
            return false;
        };
        if now.since(self.entries[slot as usize].stored) >= self.ttl_ns {
            self.index.remove(&key);
            self.unlink(slot);
            self.entries[slot as usize].next = self.free;
            self.free = slot;
            self.expirations += 1;
            self.misses += 1;
            return false;
        }
        self.unlink(slot);
        self.link_front(slot);
        self.hits += 1;
        true
    }

    /// Stores a fresh response for `key` as the most recently used, evicting the least
    /// recently used key when the cache is full. Storing a cached key refreshes it.
    pub fn insert(&mut self, now: SimTime, key: u64) {
        if self.capacity == 0 {
            return;
        }
        if let Some(&slot) = self.index.get(&key) {
            self.entries[slot as usize].stored = now;
            self.unlink(slot);
            self.link_front(slot);
            return;
        }
        let entry = Entry { key, stored: now, prev: NIL, next: NIL };
        let slot = if self.free != NIL {
            let slot = self.free;
            self.free = self.entries[slot as usize].next;
            self.entries[slot as usize] = entry;
            slot
        } else if self.entries.len() < self.capacity {
            self.entries.push(entry);
            (self.entries.len() - 1) as u32
        } else {
            let slot = self.tail;
            self.unlink(slot);
            self.index.remove(&self.entries[slot as usize].key);
            self.evictions += 1;
            self.entries[slot as usize] = entry;
            slot
        };
        self.link_front(slot);
        self.index.insert(key, slot);
    }

    /// Lookups that found a fresh response.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that found nothing or an expired response.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Keys evicted to make room.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Expired entries removed by lookups.
    pub fn expirations(&self) -> u64 {
        self.expirations
    }

    /// Hits over lookups, 0 before the first lookup.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 { 0.0 } else { self.hits as f64 / lookups as f64 }
    }

    /// Keys cached now, fresh or expired but not yet removed.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The most keys the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn unlink(&mut self, slot: u32) {
        let Entry { prev, next, .. } = self.entries[slot as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
    }

    fn link_front(&mut self, slot: u32) {
        let old_head = self.head;
        let entry = &mut self.entries[slot as usize];
        entry.prev = NIL;
        entry.next = old_head;
        if old_head == NIL {
            self.tail = slot;
        } else {
            self.entries[old_head as usize].prev = slot;
        }
        self.head = slot;
    }
}

/// Why a [`Zipf`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZipfError {
    /// There must be at least one key.
    #[error("a Zipf distribution needs at least one key")]
    NoKeys,
    /// The exponent must be a finite number of at least 0.
    #[error("the Zipf exponent must be a finite number of at least 0")]
    BadExponent,
}

/// Zipf key popularity over `0..keys`: key `k` is drawn with probability proportional to
/// `1/(k+1)^exponent`, so key 0 is the most popular. Exponent 0 is uniform.
///
/// Sampling is `rand_distr::Zipf` (rejection sampling, O(1) expected, no tables).
#[derive(Clone, Copy, Debug)]
pub struct Zipf {
    keys: u64,
    dist: rand_distr::Zipf<f64>,
}

impl Zipf {
    /// Zipf popularity over `keys` keys with the given exponent.
    pub fn new(keys: u64, exponent: f64) -> Result<Self, ZipfError> {
        if keys == 0 {
            return Err(ZipfError::NoKeys);
        }
        if !(exponent.is_finite() && exponent >= 0.0) {
            return Err(ZipfError::BadExponent);
        }
        let dist = rand_distr::Zipf::new(keys as f64, exponent).map_err(|_| ZipfError::BadExponent)?;
        Ok(Zipf { keys, dist })
    }

    /// Draws a key in `0..keys`.
    pub fn sample<R: rand::Rng + ?Sized>(&mut self, rng: &mut R) -> u64 {
        let rank: f64 = self.dist.sample(rng);
        // Ranks are whole numbers in 1..=keys; `as` saturates, and the clamp guards the
        // float rounding of very large key counts.
        (rank as u64).saturating_sub(1).min(self.keys - 1)
    }

    /// The number of keys.
    pub fn keys(&self) -> u64 {
        self.keys
    }
}

#[cfg(test)]
mod tests;
