//! Shards and partial results: how one experiment is split over many processes (a Slurm
//! array, a Kubernetes Indexed Job) and merged back into exactly the result one process
//! would have computed.
//!
//! Shard `K/N` owns the tasks (runs of `compare` and `sweep`, cases of `check`) whose
//! global index `t` has `t % N == K`. Striding keeps shards balanced when variants differ in
//! cost, and lets [`interleave`] put every shard's runs back in global task order, so the
//! merge feeds the very same accumulation code the unsharded command runs, in the very
//! same order: floating-point sums come out bit for bit the same.
//!
//! A [`Partial`] is self-describing: the format, the prodsim version, the command line that
//! defines the experiment, the scenario's text and hash, the shard, and its per-run records.
//! Floats are stored as their IEEE-754 bits so that NaN and every last bit survive JSON.
//! [`check_set`] makes sure a set of partials is one experiment with every shard exactly
//! once. This module does no I/O: the binary reads and writes the files.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::check::CaseRecords;
use crate::{compare, sweep};

/// Most shards one experiment may be split into.
pub const MAX_SHARDS: u32 = 10_000;

/// The format tag every partial file starts with; a new layout gets a new tag.
pub const FORMAT: &str = "prodsim-partial/1";

/// One shard of an experiment: `index` in `0..count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

impl Shard {
    /// The whole experiment as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard runs task `t`.
    pub fn owns(self, t: usize) -> bool {
        t % self.count as usize == self.index as usize
    }

    /// The global indices of the tasks this shard owns among `total`, increasing.
    pub fn tasks(self, total: usize) -> impl Iterator<Item = usize> {
        (self.index as usize..total).step_by(self.count as usize)
    }

    /// How many of `total` tasks this shard owns.
    pub fn task_count(self, total: usize) -> usize {
        total.saturating_sub(self.index as usize).div_ceil(self.count as usize)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `K/N` with `0 <= K < N <= MAX_SHARDS`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let expected = "expected K/N with 0 <= K < N, e.g. 0/4 (shards are numbered from 0)";
        let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}`: {expected}"))?;
        let k: u32 = k.trim().parse().map_err(|_| format!("`{s}`: K `{k}` is not a number; {expected}"))?;
        let n: u32 = n.trim().parse().map_err(|_| format!("`{s}`: N `{n}` is not a number; {expected}"))?;
        if n == 0 || n > MAX_SHARDS {
            return Err(format!("`{s}`: N must be 1 to {MAX_SHARDS}"));
        }
        if k >= n {
            return Err(format!("`{s}`: K must be less than N ({expected})"));
        }
        Ok(Shard { index: k, count: n })
    }
}

/// What defines one experiment; equal in every partial of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// The prodsim version that wrote it.
    pub prodsim_version: String,
    /// The subcommand: `compare`, `sweep` or `check`.
    pub command: String,
    /// The command line that defines the experiment (without `--shard`, `--out`, `--jobs`
    /// and `--quiet`), as `prodsim merge` parses it back.
    pub argv: Vec<String>,
    /// FNV-1a 64 of the scenario file's bytes, in hex.
    pub scenario_hash: String,
    /// The scenario file's text, so that the merge needs no access to the file.
    pub scenario_text: String,
    /// Tasks of the whole experiment (runs, or cases for `check`).
    pub tasks: u64,
}

impl Header {
    /// The header of `command`'s experiment `argv` on `scenario_text` with `tasks` tasks.
    pub fn new(version: &str, command: &str, argv: Vec<String>, scenario_text: &str, tasks: u64) -> Header {
        Header {
            format: FORMAT.to_string(),
            prodsim_version: version.to_string(),
            command: command.to_string(),
            argv,
            scenario_hash: fnv1a64_hex(scenario_text.as_bytes()),
            scenario_text: scenario_text.to_string(),
            tasks,
        }
    }

    /// The first field in which `other` differs from `self`, with both values, for an error.
    pub fn difference(&self, other: &Header) -> Option<(&'static str, String, String)> {
        let pair = |name, a: &dyn fmt::Debug, b: &dyn fmt::Debug| Some((name, format!("{a:?}"), format!("{b:?}")));
        if self.format != other.format {
            return pair("format", &self.format, &other.format);
        }
        if self.prodsim_version != other.prodsim_version {
            return pair("prodsim_version", &self.prodsim_version, &other.prodsim_version);
        }
        if self.command != other.command || self.argv != other.argv {
            return pair("argv", &self.argv.join(" "), &other.argv.join(" "));
        }
        if self.scenario_hash != other.scenario_hash || self.scenario_text != other.scenario_text {
            return pair("scenario_hash", &self.scenario_hash, &other.scenario_hash);
        }
        if self.tasks != other.tasks {
            return pair("tasks", &self.tasks, &other.tasks);
        }
        None
    }
}

/// FNV-1a 64 of `bytes`, as 16 hex digits.
pub fn fnv1a64_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The per-task records of one shard, by command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Records {
    /// `compare`: one record per run, in global task order.
    Compare(Vec<compare::RunRecord>),
    /// `sweep`: one record per run, in global task order.
    Sweep(Vec<sweep::RunRecord>),
    /// `check`: the cases run, in case order.
    Check(CaseRecords),
}

impl Records {
    /// The subcommand these records belong to.
    pub fn command(&self) -> &'static str {
        match self {
            Records::Compare(_) => "compare",
            Records::Sweep(_) => "sweep",
            Records::Check(_) => "check",
        }
    }
}

/// One shard's partial result: what defines the experiment, the shard, and its records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// What defines the experiment.
    pub header: Header,
    /// Which shard this is.
    pub shard: Shard,
    /// Its records.
    pub records: Records,
}

impl Partial {
    /// The partial as JSON text.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(self).expect("a partial serialises")
    }

    /// Reads a partial from JSON text.
    pub fn from_json(text: &str) -> Result<Partial, ShardError> {
        let probe: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ShardError::Unreadable(format!("not JSON: {e}")))?;
        let format = probe.get("header").and_then(|h| h.get("format")).and_then(|f| f.as_str());
        if format != Some(FORMAT) {
            return Err(ShardError::Unreadable(format!(
                "not a prodsim partial of format {FORMAT} (found format {format:?})"
            )));
        }
        serde_json::from_value(probe).map_err(|e| ShardError::Unreadable(e.to_string()))
    }

    /// The file name of shard `shard`'s partial: `partial-K-of-N.json`.
    pub fn file_name(shard: Shard) -> String {
        format!("partial-{}-of-{}.json", shard.index, shard.count)
    }

    /// Whether this partial is shard `shard` of the experiment `header`, complete.
    pub fn matches(&self, header: &Header, shard: Shard) -> bool {
        self.header == *header && self.shard == shard && self.records.command() == header.command
    }
}

/// Why a set of partials cannot be merged.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShardError {
    /// A file is not a readable partial.
    #[error("{0}")]
    Unreadable(String),
    /// No partial was given.
    #[error("no partial files (partial-K-of-N.json) found in {0}")]
    Empty(String),
    /// A partial belongs to another experiment.
    #[error(
        "{file} belongs to another experiment: its {field} is {found}, but {first} has {expected}; \
         merge only the partials of one experiment"
    )]
    Foreign {
        /// The foreign partial.
        file: String,
        /// The first partial, which defines the experiment.
        first: String,
        /// The field that differs.
        field: String,
        /// Its value in the first partial.
        expected: String,
        /// Its value in the foreign one.
        found: String,
    },
    /// Two partials are the same shard.
    #[error("shard {shard} is present twice: {first} and {second}; keep one of them")]
    Duplicate {
        /// The shard.
        shard: Shard,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// Some shards have no partial.
    #[error("{} of {count} shards missing: {}; run them (with --shard K/{count}) and merge again", missing.len(), list(missing, *count))]
    Missing {
        /// Their indices.
        missing: Vec<u32>,
        /// Shards in all.
        count: u32,
    },
    /// A partial's records do not fit its shard.
    #[error("{file}: {message}")]
    Incomplete {
        /// The partial.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// The first few shards of a list, as `K/N`.
fn list(missing: &[u32], count: u32) -> String {
    let shown: Vec<String> = missing.iter().take(10).map(|k| format!("{k}/{count}")).collect();
    let more = if missing.len() > 10 { format!(" and {} more", missing.len() - 10) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Checks that `partials` (each with the name of its file) are every shard of one
/// experiment exactly once, and returns them sorted by shard index.
pub fn check_set(mut partials: Vec<(String, Partial)>) -> Result<Vec<(String, Partial)>, ShardError> {
    let Some((first_name, first)) = partials.first().map(|(n, p)| (n.clone(), p.header.clone())) else {
        return Err(ShardError::Empty("the given paths".to_string()));
    };
    let count = partials[0].1.shard.count;
    for (name, p) in &partials {
        let difference = first.difference(&p.header).or_else(|| {
            (p.shard.count != count).then(|| ("shard count", count.to_string(), p.shard.count.to_string()))
        });
        if let Some((field, expected, found)) = difference {
            return Err(ShardError::Foreign {
                file: name.clone(),
                first: first_name,
                field: field.to_string(),
                expected,
                found,
            });
        }
        if p.records.command() != first.command {
            return Err(ShardError::Incomplete {
                file: name.clone(),
                message: format!("holds {} records in a {} experiment", p.records.command(), first.command),
            });
        }
    }
    partials.sort_by(|a, b| a.1.shard.index.cmp(&b.1.shard.index).then_with(|| a.0.cmp(&b.0)));
    for pair in partials.windows(2) {
        if pair[0].1.shard == pair[1].1.shard {
            return Err(ShardError::Duplicate {
                shard: pair[0].1.shard,
                first: pair[0].0.clone(),
                second: pair[1].0.clone(),
            });
        }
    }
    let present: Vec<u32> = partials.iter().map(|(_, p)| p.shard.index).collect();
    let missing: Vec<u32> = (0..count).filter(|k| present.binary_search(k).is_err()).collect();
    if !missing.is_empty() {
        return Err(ShardError::Missing { missing, count });
    }
    Ok(partials)
}

/// Checks that shard `shard` of `total` tasks holds `len` records.
pub fn check_len(file: &str, shard: Shard, total: usize, len: usize) -> Result<(), ShardError> {
    let want = shard.task_count(total);
    if len == want {
        return Ok(());
    }
    Err(ShardError::Incomplete {
        file: file.to_string(),
        message: format!("shard {shard} of {total} tasks must hold {want} records, but holds {len}"),
    })
}

/// The records of every shard (sorted by shard index, each in its own task order) in
/// global task order: task `t` is record `t / N` of shard `t % N`.
pub fn interleave<R>(shards: Vec<Vec<R>>) -> impl Iterator<Item = R> {
    let mut iters: Vec<std::vec::IntoIter<R>> = shards.into_iter().map(Vec::into_iter).collect();
    let n = iters.len().max(1);
    let mut k = 0usize;
    std::iter::from_fn(move || {
        // Shards hold their counts of a strided split, so the first exhausted shard in
        // round-robin order marks the end of the global order.
        let next = iters.get_mut(k)?.next();
        k = (k + 1) % n;
        next
    })
}

/// Floats as IEEE-754 bits: exact, and NaN survives (JSON has no NaN).
pub fn to_bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The floats of [`to_bits`].
pub fn from_bits(bits: &[u64]) -> Vec<f64> {
    bits.iter().map(|b| f64::from_bits(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_evenly() {
        assert_eq!("2/7".parse::<Shard>(), Ok(Shard { index: 2, count: 7 }));
        for (bad, needle) in [("7/7", "less than N"), ("1", "K/N"), ("a/2", "not a number"), ("0/0", "1 to")] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let total = 23;
        let mut seen = vec![0u32; total];
        for k in 0..7 {
            let s = Shard { index: k, count: 7 };
            let tasks: Vec<usize> = s.tasks(total).collect();
            assert_eq!(tasks.len(), s.task_count(total));
            assert!(tasks.len() == 3 || tasks.len() == 4);
            for t in tasks {
                assert!(s.owns(t));
                seen[t] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert_eq!(Shard { index: 5, count: 7 }.task_count(3), 0);
    }

    #[test]
    fn interleave_restores_global_order() {
        for n in [1usize, 2, 3, 7] {
            let total = 20;
            let shards: Vec<Vec<usize>> =
                (0..n).map(|k| Shard { index: k as u32, count: n as u32 }.tasks(total).collect()).collect();
            assert_eq!(interleave(shards).collect::<Vec<_>>(), (0..total).collect::<Vec<_>>());
        }
    }

    fn partial(k: u32, n: u32, argv: &str) -> (String, Partial) {
        let header = Header::new("0.1.0", "sweep", vec![argv.to_string()], "x = 1", 10);
        let shard = Shard { index: k, count: n };
        (format!("p{k}"), Partial { header, shard, records: Records::Sweep(Vec::new()) })
    }

    #[test]
    fn sets_with_missing_duplicate_or_foreign_shards_are_refused() {
        let ok = check_set(vec![partial(1, 2, "a"), partial(0, 2, "a")]).expect("complete");
        assert_eq!(ok[0].1.shard.index, 0);
        let e = check_set(vec![partial(0, 3, "a"), partial(2, 3, "a")]).unwrap_err().to_string();
        assert!(e.contains("1 of 3 shards missing: 1/3"), "{e}");
        let e = check_set(vec![partial(0, 2, "a"), partial(0, 2, "a"), partial(1, 2, "a")]).unwrap_err().to_string();
        assert!(e.contains("shard 0/2 is present twice"), "{e}");
        let e = check_set(vec![partial(0, 2, "a"), partial(1, 2, "b")]).unwrap_err().to_string();
        assert!(e.contains("p1 belongs to another experiment: its argv"), "{e}");
        let e = check_set(vec![partial(0, 2, "a"), partial(1, 3, "a")]).unwrap_err().to_string();
        assert!(e.contains("shard count"), "{e}");
    }

    #[test]
    fn partials_round_trip_through_json_and_refuse_other_files() {
        let (_, p) = partial(0, 1, "a");
        assert_eq!(Partial::from_json(&p.to_json()).expect("reads"), p);
        let e = Partial::from_json("{\"a\": 1}").unwrap_err().to_string();
        assert!(e.contains("not a prodsim partial"), "{e}");
        assert!(Partial::from_json("nope").unwrap_err().to_string().contains("not JSON"));
        let bits = to_bits(&[f64::NAN, 0.1 + 0.2, -0.0]);
        let back = from_bits(&bits);
        assert!(back[0].is_nan() && back[1] == 0.1 + 0.2 && back[2].to_bits() == (-0.0f64).to_bits());
    }
}
