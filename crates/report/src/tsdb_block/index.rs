//! A block's `index` file, format 2 as `tsdb/docs/format/index.md` of Prometheus describes
//! it: the symbol table, each series (16-byte aligned, its id its offset / 16) with its
//! chunks' time ranges and references, a label index and a postings list per label pair
//! (the all-series list under the empty pair first), their offset tables, and the table of
//! contents. Integers are big-endian; each section ends with its CRC32 (Castagnoli).

use std::collections::BTreeMap;

use prodsim_parts::ops::tsdb::Labels;

use super::xor::{put_uvarint, put_varint};

const MAGIC_INDEX: u32 = 0xBAAA_D700;
const INDEX_VERSION: u8 = 2;

/// Where one chunk of a series is and which times it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// The chunk's first sample time, in milliseconds.
    pub min_t_ms: i64,
    /// Its last sample time.
    pub max_t_ms: i64,
    /// Its reference in the chunk files (segment << 32 | offset).
    pub reference: u64,
}

/// The CRC32 (Castagnoli) Prometheus puts after every section.
pub fn crc32c(bytes: &[u8]) -> u32 {
    const CASTAGNOLI: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    CASTAGNOLI.checksum(bytes)
}

/// `len <4b> | body | CRC32 <4b>`.
fn section(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32c(body).to_be_bytes());
}

fn pad_to(out: &mut Vec<u8>, align: usize) {
    while out.len() % align != 0 {
        out.push(0);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Postings: label pair → the ids of the series that have it (the empty pair: every series).
type Postings<'a> = BTreeMap<(&'a str, &'a str), Vec<u32>>;

/// The index of `series`, which must be sorted by label set (each label set sorted by name)
/// and each have at least one chunk.
pub fn index(series: &[(&Labels, Vec<ChunkMeta>)]) -> Vec<u8> {
    let mut symbols: Vec<&str> =
        series.iter().flat_map(|(l, _)| l.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()])).collect();
    symbols.sort_unstable();
    symbols.dedup();
    let symbol_ref = |s: &str| symbols.binary_search(&s).map_or(0, |i| i as u64);

    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC_INDEX.to_be_bytes());
    out.push(INDEX_VERSION);
    let symbols_at = out.len() as u64;
    let mut body = (symbols.len() as u32).to_be_bytes().to_vec();
    symbols.iter().for_each(|s| put_str(&mut body, s));
    section(&mut out, &body);

    pad_to(&mut out, 16);
    let series_at = out.len() as u64;
    let postings = write_series(&mut out, series, &symbol_ref);
    pad_to(&mut out, 4);
    let label_indices_at = out.len() as u64;
    let label_offsets = write_label_indices(&mut out, &postings, &symbol_ref);
    pad_to(&mut out, 4);
    let postings_at = out.len() as u64;
    let mut postings_offsets = Vec::new();
    for (pair, ids) in &postings {
        pad_to(&mut out, 4);
        postings_offsets.push((*pair, out.len() as u64));
        let mut body = (ids.len() as u32).to_be_bytes().to_vec();
        ids.iter().for_each(|id| body.extend_from_slice(&id.to_be_bytes()));
        section(&mut out, &body);
    }

    let label_offset_table_at = out.len() as u64;
    let mut body = (label_offsets.len() as u32).to_be_bytes().to_vec();
    for (name, at) in &label_offsets {
        body.push(1);
        put_str(&mut body, name);
        put_uvarint(&mut body, *at);
    }
    section(&mut out, &body);

    let postings_offset_table_at = out.len() as u64;
    let mut body = (postings_offsets.len() as u32).to_be_bytes().to_vec();
    for ((name, value), at) in &postings_offsets {
        body.push(2);
        put_str(&mut body, name);
        put_str(&mut body, value);
        put_uvarint(&mut body, *at);
    }
    section(&mut out, &body);

    let toc: Vec<u8> =
        [symbols_at, series_at, label_indices_at, label_offset_table_at, postings_at, postings_offset_table_at]
            .iter()
            .flat_map(|r| r.to_be_bytes())
            .collect();
    out.extend_from_slice(&toc);
    out.extend_from_slice(&crc32c(&toc).to_be_bytes());
    out
}

/// Writes every series, each 16-byte aligned, and returns the postings of their label pairs.
fn write_series<'a>(
    out: &mut Vec<u8>,
    series: &[(&'a Labels, Vec<ChunkMeta>)],
    symbol_ref: &dyn Fn(&str) -> u64,
) -> Postings<'a> {
    let mut postings: Postings<'a> = BTreeMap::new();
    for (labels, chunks) in series {
        pad_to(out, 16);
        let id = (out.len() / 16) as u32;
        postings.entry(("", "")).or_default().push(id);
        for (k, v) in labels.iter() {
            postings.entry((k.as_str(), v.as_str())).or_default().push(id);
        }
        let entry = series_entry(labels, chunks, symbol_ref);
        put_uvarint(out, entry.len() as u64);
        out.extend_from_slice(&entry);
        out.extend_from_slice(&crc32c(&entry).to_be_bytes());
    }
    postings
}

/// Writes one label index per label name (its values as symbol references) and returns
/// where each is.
fn write_label_indices<'a>(
    out: &mut Vec<u8>,
    postings: &Postings<'a>,
    symbol_ref: &dyn Fn(&str) -> u64,
) -> Vec<(&'a str, u64)> {
    let mut names: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    postings.keys().filter(|(k, _)| !k.is_empty()).for_each(|(k, v)| names.entry(k).or_default().push(v));
    let mut offsets = Vec::new();
    for (name, values) in names {
        pad_to(out, 4);
        offsets.push((name, out.len() as u64));
        let mut body = 1u32.to_be_bytes().to_vec();
        body.extend_from_slice(&(values.len() as u32).to_be_bytes());
        values.iter().for_each(|v| body.extend_from_slice(&(symbol_ref(v) as u32).to_be_bytes()));
        section(out, &body);
    }
    offsets
}

/// One series: its labels as symbol references, then its chunks' ranges and references,
/// each after the first as a delta to the one before.
fn series_entry(labels: &Labels, chunks: &[ChunkMeta], symbol_ref: &dyn Fn(&str) -> u64) -> Vec<u8> {
    let mut e = Vec::new();
    put_uvarint(&mut e, labels.len() as u64);
    for (k, v) in labels.iter() {
        put_uvarint(&mut e, symbol_ref(k));
        put_uvarint(&mut e, symbol_ref(v));
    }
    put_uvarint(&mut e, chunks.len() as u64);
    let mut prev: Option<ChunkMeta> = None;
    for c in chunks {
        match prev {
            None => {
                put_varint(&mut e, c.min_t_ms);
                put_uvarint(&mut e, (c.max_t_ms - c.min_t_ms) as u64);
                put_uvarint(&mut e, c.reference);
            }
            Some(p) => {
                put_uvarint(&mut e, (c.min_t_ms - p.max_t_ms) as u64);
                put_uvarint(&mut e, (c.max_t_ms - c.min_t_ms) as u64);
                put_varint(&mut e, c.reference as i64 - p.reference as i64);
            }
        }
        prev = Some(*c);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_castagnoli() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn the_toc_points_at_each_section_and_series_are_16_byte_aligned() {
        let a: Labels = vec![("__name__".into(), "up".into()), ("instance".into(), "a".into())];
        let b: Labels = vec![("__name__".into(), "up".into()), ("instance".into(), "b".into())];
        let chunk = |r| vec![ChunkMeta { min_t_ms: 0, max_t_ms: 15_000, reference: r }];
        let bytes = index(&[(&a, chunk(8)), (&b, chunk(40))]);
        assert_eq!(&bytes[..5], &[0xBA, 0xAA, 0xD7, 0x00, 2]);
        let toc = &bytes[bytes.len() - 52..];
        let refs: Vec<u64> = toc[..48].chunks(8).map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes"))).collect();
        assert_eq!(refs[0], 5);
        assert_eq!(refs[1] % 16, 0);
        // In file order: symbols, series, label indices, postings, the two offset tables.
        let file_order = [refs[0], refs[1], refs[2], refs[4], refs[3], refs[5]];
        assert!(file_order.windows(2).all(|w| w[0] < w[1]), "sections in order: {refs:?}");
        assert_eq!(u32::from_be_bytes(toc[48..].try_into().expect("4 bytes")), crc32c(&toc[..48]));
        // Symbols: __name__, a, b, instance, up.
        assert_eq!(u32::from_be_bytes(bytes[9..13].try_into().expect("4 bytes")), 5);
    }
}
