//! `--tsdb DIR`: the run's time-series store as a Prometheus TSDB block, so that
//! `prometheus --storage.tsdb.path=DIR` serves the run as it was measured — staleness
//! markers included, which the OpenMetrics text export cannot carry (a crashed server's
//! series ends when it crashed, not 5 minutes later). The block is the on-disk format of
//! Prometheus 2 and 3 (`meta.json` version 1, index format 2, chunks format 1, XOR
//! chunks of at most 120 samples), written as Prometheus's own compactor writes one.
//!
//! The block's ULID is derived from its contents (time from its first sample, the rest from
//! a SHA-256 of its bytes), so the same run gives the same block byte for byte. Writing is
//! atomic: the block is built in `ULID.tmp-for-creation` (a name Prometheus itself cleans
//! up) and renamed into place; blocks an earlier prodsim export left in `DIR` are then
//! removed, so the directory holds one run. A block that prodsim did not write is never
//! touched: the export is refused instead.

mod index;
mod xor;

use std::path::{Path, PathBuf};

use prodsim_parts::ops::tsdb::{Labels, Sample, Tsdb};
use sha2::{Digest, Sha256};

use self::index::ChunkMeta;
use self::xor::{SAMPLES_PER_CHUNK, XorChunk, put_uvarint};
use super::ReportError;

const MAGIC_CHUNKS: u32 = 0x85BD_40DD;
const CHUNKS_VERSION: u8 = 1;
/// Prometheus's chunk segment size: a new `chunks/NNNNNN` file starts past it.
const SEGMENT_BYTES: usize = 512 << 20;
const ENCODING_XOR: u8 = 1;
const MAGIC_TOMBSTONES: u32 = 0x0130_BA30;
/// The suffix Prometheus gives (and on startup removes) a block still being written.
const TMP_SUFFIX: &str = ".tmp-for-creation";

/// One block, ready to be written.
#[derive(Debug)]
pub struct Block {
    /// The block's ULID, its directory's name.
    pub ulid: String,
    /// Its files, by path inside the block's directory.
    pub files: Vec<(String, Vec<u8>)>,
    /// Series in the block.
    pub series: usize,
    /// Samples in the block, staleness markers included.
    pub samples: usize,
}

/// A series' samples as Prometheus would hold them: of several at one timestamp, the last.
fn distinct_times(samples: &[Sample]) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::with_capacity(samples.len());
    for s in samples {
        match out.last_mut() {
            Some(last) if last.t_ms == s.t_ms => *last = *s,
            _ => out.push(*s),
        }
    }
    out
}

/// The chunk segment files and each series' chunk metadata.
fn chunks(series: &[(&Labels, Vec<Sample>)]) -> (Vec<Vec<u8>>, Vec<Vec<ChunkMeta>>, usize) {
    let header = |out: &mut Vec<u8>| {
        out.extend_from_slice(&MAGIC_CHUNKS.to_be_bytes());
        out.extend_from_slice(&[CHUNKS_VERSION, 0, 0, 0]);
    };
    let mut segments = vec![Vec::new()];
    header(&mut segments[0]);
    let mut metas = Vec::with_capacity(series.len());
    let mut count = 0;
    for (_, samples) in series {
        let mut mine = Vec::new();
        for part in samples.chunks(SAMPLES_PER_CHUNK) {
            let mut chunk = XorChunk::default();
            part.iter().for_each(|s| chunk.append(s.t_ms, s.v));
            let data = chunk.bytes();
            if segments.last().is_some_and(|s| s.len() + data.len() + 16 > SEGMENT_BYTES) {
                let mut next = Vec::new();
                header(&mut next);
                segments.push(next);
            }
            let seq = segments.len() as u64 - 1;
            let Some(seg) = segments.last_mut() else { continue };
            let reference = seq << 32 | seg.len() as u64;
            put_uvarint(seg, data.len() as u64);
            let checked_from = seg.len();
            seg.push(ENCODING_XOR);
            seg.extend_from_slice(&data);
            let crc = index::crc32c(&seg[checked_from..]);
            seg.extend_from_slice(&crc.to_be_bytes());
            let (first, last) = (part[0].t_ms, part[part.len() - 1].t_ms);
            mine.push(ChunkMeta { min_t_ms: first, max_t_ms: last, reference });
            count += 1;
        }
        metas.push(mine);
    }
    (segments, metas, count)
}

/// A ULID (Crockford base32 of 48 bits of milliseconds and 80 bits of entropy).
fn ulid(time_ms: u64, entropy: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut v = u128::from(time_ms & ((1 << 48) - 1)) << 80;
    for (i, b) in entropy.iter().take(10).enumerate() {
        v |= u128::from(*b) << (72 - 8 * i);
    }
    (0..26).map(|i| ALPHABET[((v >> (125 - 5 * i)) & 31) as usize] as char).collect()
}

/// The block of every series in `tsdb` that has samples; `None` when none has.
pub fn block(tsdb: &Tsdb) -> Option<Block> {
    let mut series: Vec<(&Labels, Vec<Sample>)> =
        tsdb.series().filter(|(_, _, s)| !s.is_empty()).map(|(_, l, s)| (l, distinct_times(s))).collect();
    if series.is_empty() {
        return None;
    }
    series.sort_by(|a, b| a.0.cmp(b.0));
    let samples: usize = series.iter().map(|(_, s)| s.len()).sum();
    let min_t_ms = series.iter().map(|(_, s)| s[0].t_ms).min()?;
    let max_t_ms = series.iter().map(|(_, s)| s[s.len() - 1].t_ms).max()?;
    let (segments, metas, chunk_count) = chunks(&series);
    let with_chunks: Vec<(&Labels, Vec<ChunkMeta>)> = series.iter().map(|(l, _)| *l).zip(metas).collect();
    let index = index::index(&with_chunks);
    let mut hash = Sha256::new();
    hash.update(&index);
    segments.iter().for_each(|s| hash.update(s));
    let ulid = ulid(min_t_ms.max(0) as u64, &hash.finalize()[..10]);
    let meta = serde_json::json!({
        "ulid": ulid,
        "minTime": min_t_ms,
        "maxTime": max_t_ms + 1,
        "stats": { "numSamples": samples, "numSeries": series.len(), "numChunks": chunk_count },
        "compaction": { "level": 1, "sources": [ulid] },
        "version": 1,
        "prodsim": { "written_by": concat!("prodsim ", env!("CARGO_PKG_VERSION")) },
    });
    let mut tombstones = MAGIC_TOMBSTONES.to_be_bytes().to_vec();
    tombstones.push(1);
    tombstones.extend_from_slice(&index::crc32c(&[]).to_be_bytes());
    let mut files = vec![
        ("meta.json".to_string(), serde_json::to_vec_pretty(&meta).unwrap_or_default()),
        ("index".to_string(), index),
        ("tombstones".to_string(), tombstones),
    ];
    for (i, seg) in segments.into_iter().enumerate() {
        files.push((format!("chunks/{:06}", i + 1), seg));
    }
    Some(Block { ulid, files, series: series.len(), samples })
}

/// Whether `name` is a block directory's name (a ULID).
fn is_ulid(name: &str) -> bool {
    name.len() == 26 && name.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// The ULID-named blocks in `dir` (a missing `dir` has none); an error names a block that
/// prodsim did not write.
fn earlier_blocks(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let err = |reason| ReportError { path: dir.to_path_buf(), reason };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(e)),
    };
    let mut blocks = Vec::new();
    for entry in entries {
        let path = entry.map_err(err)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(TMP_SUFFIX) {
            let _ = std::fs::remove_dir_all(&path);
        } else if is_ulid(&name) && path.join("meta.json").is_file() {
            let meta = std::fs::read(path.join("meta.json")).map_err(err)?;
            let ours = serde_json::from_slice::<serde_json::Value>(&meta).is_ok_and(|m| m.get("prodsim").is_some());
            if !ours {
                return Err(err(std::io::Error::other(format!(
                    "holds block {name}, which prodsim did not write; --tsdb writes into an empty directory or one of its own exports"
                ))));
            }
            blocks.push(path);
        }
    }
    Ok(blocks)
}

/// Writes `block` into the Prometheus data directory `dir` (created if missing) and
/// removes the blocks of earlier exports; returns the block's directory.
pub fn write(dir: &Path, block: &Block) -> Result<PathBuf, ReportError> {
    let earlier = earlier_blocks(dir)?;
    let tmp = dir.join(format!("{}{TMP_SUFFIX}", block.ulid));
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |reason| ReportError { path, reason }
    };
    super::atomic::ensure_dir(&tmp.join("chunks"))?;
    // An empty write-ahead log makes DIR a data directory promtool's read-only commands
    // (`promtool tsdb dump`) open as they open Prometheus's own.
    super::atomic::ensure_dir(&dir.join("wal"))?;
    for (name, bytes) in &block.files {
        let path = tmp.join(name);
        std::fs::write(&path, bytes).and_then(|()| std::fs::File::open(&path)?.sync_all()).map_err(err(&path))?;
    }
    let target = dir.join(&block.ulid);
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(err(&target))?;
    }
    std::fs::rename(&tmp, &target).map_err(err(&target))?;
    for old in earlier.iter().filter(|p| **p != target) {
        std::fs::remove_dir_all(old).map_err(err(old))?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A uvarint at the start of `b` and its width in bytes.
    fn uvarint(b: &[u8]) -> (usize, usize) {
        let mut v = 0usize;
        for (i, byte) in b.iter().enumerate() {
            v |= usize::from(byte & 0x7f) << (7 * i);
            if *byte < 0x80 {
                return (v, i + 1);
            }
        }
        (v, b.len())
    }

    fn store() -> Tsdb {
        let mut db = Tsdb::new();
        let up = db.series_id(labels(&[("__name__", "up"), ("instance", "server-1")]));
        let req = db.series_id(labels(&[("__name__", "http_requests_total"), ("code", "200")]));
        for k in 0..300i64 {
            db.append(req, k * 15_000, k as f64 * 3.5);
            if k < 100 {
                db.append(up, k * 15_000, 1.0);
            }
        }
        db.mark_stale(up, 100 * 15_000);
        db
    }

    #[test]
    fn ulids_are_26_crockford_characters_starting_with_the_time() {
        let u = ulid(0, &[0xff; 10]);
        assert_eq!(u.len(), 26);
        assert!(u.starts_with("0000000000"), "{u}");
        assert!(is_ulid(&u));
        assert_eq!(ulid(1, &[0; 10]), "00000000010000000000000000");
    }

    #[test]
    fn a_block_keeps_stale_markers_and_cuts_chunks_at_120_samples() {
        let b = block(&store()).expect("a block");
        assert_eq!(b.series, 2);
        assert_eq!(b.samples, 300 + 101);
        let meta: serde_json::Value = serde_json::from_slice(&b.files[0].1).expect("meta.json");
        assert_eq!(meta["minTime"], 0);
        assert_eq!(meta["maxTime"], 299 * 15_000 + 1);
        assert_eq!(meta["stats"]["numChunks"], 3 + 1);
        // The same store gives the same block, byte for byte.
        let again = block(&store()).expect("a block");
        assert_eq!(again.ulid, b.ulid);
        assert!(again.files == b.files);
    }

    #[test]
    fn the_last_chunk_of_a_crashed_series_ends_in_its_stale_marker() {
        let b = block(&store()).expect("a block");
        let seg = &b.files.iter().find(|(n, _)| n == "chunks/000001").expect("chunks").1;
        // The chunks of http_requests_total come first (sorted label sets); up's is the last.
        let mut at = 8;
        let mut last = Vec::new();
        while at < seg.len() {
            let (len, width) = uvarint(&seg[at..]);
            let checked = &seg[at + width..at + width + 1 + len];
            let crc = &seg[at + width + 1 + len..at + width + 5 + len];
            assert_eq!(checked[0], ENCODING_XOR);
            assert_eq!(u32::from_be_bytes(crc.try_into().expect("4 bytes")), index::crc32c(checked));
            last = xor::tests::decode(&checked[1..]);
            at += width + 1 + len + 4;
        }
        assert_eq!(last.len(), 101);
        assert_eq!(last.last(), Some(&(1_500_000, prodsim_parts::ops::tsdb::STALE_NAN_BITS)));
    }

    #[test]
    fn writing_replaces_an_earlier_export_and_refuses_a_foreign_block() {
        let dir = std::env::temp_dir().join(format!("prodsim-tsdb-block-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = block(&store()).expect("a block");
        let mut db = store();
        let extra = db.series_id(labels(&[("__name__", "x")]));
        db.append(extra, 0, 1.0);
        let second = block(&db).expect("a block");
        assert_ne!(first.ulid, second.ulid);
        write(&dir, &first).expect("first export");
        std::fs::create_dir_all(dir.join(format!("{}{TMP_SUFFIX}", "01ARZ3NDEKTSV4RRFFQ69G5FAV"))).expect("stale tmp");
        let path = write(&dir, &second).expect("second export");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, vec![second.ulid.clone(), "wal".to_string()]);
        assert!(path.join("chunks/000001").is_file() && path.join("index").is_file());
        let foreign = dir.join("01ARZ3NDEKTSV4RRFFQ69G5FAV");
        std::fs::create_dir_all(&foreign).expect("foreign block");
        std::fs::write(foreign.join("meta.json"), b"{\"ulid\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"version\":1}")
            .expect("meta");
        let e = write(&dir, &first).expect_err("a foreign block is not replaced");
        assert!(e.to_string().contains("which prodsim did not write"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
