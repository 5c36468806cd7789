//! Prometheus's XOR chunk encoding (Gorilla, with millisecond timestamps): a big-endian
//! sample count, then a bit stream of the first timestamp (varint) and value (64 bits),
//! the second timestamp's delta (uvarint), and from the third on each timestamp's
//! delta-of-delta in 1, 16, 20, 24 or 68 bits; every value after the first is the XOR with
//! the previous one, with its leading and trailing zero bits elided. Written bit for bit as
//! `tsdb/chunkenc/xor.go` of Prometheus 2 writes it, so Prometheus reads a chunk back
//! exactly, staleness markers included (they are values like any other).

/// The most samples Prometheus puts in one chunk; prodsim cuts chunks at the same size.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// A stream of bits, most significant bit first within each byte.
#[derive(Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 when a new byte is needed).
    free: u8,
}

impl BitWriter {
    fn bit(&mut self, one: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if one {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 1 << self.free;
            }
        }
    }

    /// The low `n` bits of `value`, most significant first.
    fn bits(&mut self, value: u64, n: u32) {
        for i in (0..n).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    fn byte(&mut self, b: u8) {
        self.bits(u64::from(b), 8);
    }
}

/// Go's `binary.PutUvarint`.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Go's `binary.PutVarint` (zig-zag, then uvarint).
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Whether `x` fits Prometheus's signed `nbits` field (`bitRange`).
fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

/// One XOR chunk being written.
#[derive(Debug)]
pub struct XorChunk {
    stream: BitWriter,
    count: u16,
    t_ms: i64,
    delta_ms: u64,
    value_bits: u64,
    /// Leading zeros of the last stored XOR (0xff before the first).
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        XorChunk {
            stream: BitWriter::default(),
            count: 0,
            t_ms: 0,
            delta_ms: 0,
            value_bits: 0,
            leading: 0xff,
            trailing: 0,
        }
    }
}

impl XorChunk {
    /// Appends a sample; timestamps must increase.
    pub fn append(&mut self, t_ms: i64, v: f64) {
        let mut delta_ms = 0;
        let mut buf = Vec::with_capacity(10);
        match self.count {
            0 => {
                put_varint(&mut buf, t_ms);
                buf.iter().for_each(|&b| self.stream.byte(b));
                self.stream.bits(v.to_bits(), 64);
            }
            1 => {
                delta_ms = t_ms.wrapping_sub(self.t_ms) as u64;
                put_uvarint(&mut buf, delta_ms);
                buf.iter().for_each(|&b| self.stream.byte(b));
                self.value(v.to_bits());
            }
            _ => {
                delta_ms = t_ms.wrapping_sub(self.t_ms) as u64;
                self.delta_of_delta(delta_ms.wrapping_sub(self.delta_ms) as i64);
                self.value(v.to_bits());
            }
        }
        self.t_ms = t_ms;
        self.value_bits = v.to_bits();
        self.delta_ms = delta_ms;
        self.count += 1;
    }

    fn delta_of_delta(&mut self, dod: i64) {
        let s = &mut self.stream;
        if dod == 0 {
            s.bit(false);
        } else if bit_range(dod, 14) {
            s.bits(0b10, 2);
            s.bits(dod as u64, 14);
        } else if bit_range(dod, 17) {
            s.bits(0b110, 3);
            s.bits(dod as u64, 17);
        } else if bit_range(dod, 20) {
            s.bits(0b1110, 4);
            s.bits(dod as u64, 20);
        } else {
            s.bits(0b1111, 4);
            s.bits(dod as u64, 64);
        }
    }

    /// `xorWrite`: the XOR with the previous value, reusing the previous window when it fits.
    fn value(&mut self, bits: u64) {
        let delta = bits ^ self.value_bits;
        let s = &mut self.stream;
        if delta == 0 {
            s.bit(false);
            return;
        }
        s.bit(true);
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            s.bit(false);
            s.bits(delta >> self.trailing, 64 - u32::from(self.leading) - u32::from(self.trailing));
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        s.bit(true);
        s.bits(u64::from(leading), 5);
        let significant = 64 - u32::from(leading) - u32::from(trailing);
        // 64 significant bits are written as 0 in the 6-bit field; readers map it back.
        s.bits(u64::from(significant), 6);
        s.bits(delta >> trailing, significant);
    }

    /// The chunk's bytes: the sample count, then the bit stream.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.stream.bytes.len());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.stream.bytes);
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader of the format, as `xorIterator` reads it, to check the writer against.
    struct BitReader<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl BitReader<'_> {
        fn bit(&mut self) -> bool {
            let b = self.bytes[self.pos / 8] >> (7 - self.pos % 8) & 1;
            self.pos += 1;
            b == 1
        }
        fn bits(&mut self, n: u32) -> u64 {
            (0..n).fold(0, |acc, _| acc << 1 | u64::from(self.bit()))
        }
        fn uvarint(&mut self) -> u64 {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let b = self.bits(8);
                v |= (b & 0x7f) << shift;
                if b < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
    }

    /// Decodes a chunk written by [`XorChunk::bytes`].
    pub(crate) fn decode(chunk: &[u8]) -> Vec<(i64, u64)> {
        let n = u16::from_be_bytes([chunk[0], chunk[1]]) as usize;
        let mut r = BitReader { bytes: &chunk[2..], pos: 0 };
        let mut out: Vec<(i64, u64)> = Vec::new();
        let (mut t, mut delta, mut v, mut leading, mut trailing) = (0i64, 0i64, 0u64, 0u32, 0u32);
        for i in 0..n {
            match i {
                0 => {
                    let z = r.uvarint();
                    t = (z >> 1) as i64 ^ -((z & 1) as i64);
                    v = r.bits(64);
                }
                _ => {
                    if i == 1 {
                        delta = r.uvarint() as i64;
                    } else {
                        let width = if !r.bit() {
                            0
                        } else if !r.bit() {
                            14
                        } else if !r.bit() {
                            17
                        } else if !r.bit() {
                            20
                        } else {
                            64
                        };
                        let mut dod = r.bits(width) as i64;
                        if width > 0 && width < 64 && dod > 1 << (width - 1) {
                            dod -= 1 << width;
                        }
                        delta += dod;
                    }
                    t += delta;
                    if r.bit() {
                        if r.bit() {
                            leading = r.bits(5) as u32;
                            let mut sig = r.bits(6) as u32;
                            if sig == 0 {
                                sig = 64;
                            }
                            trailing = 64 - leading - sig;
                        }
                        v ^= r.bits(64 - leading - trailing) << trailing;
                    }
                }
            }
            out.push((t, v));
        }
        out
    }

    #[test]
    fn samples_round_trip_through_every_width() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let times = [0i64, 15_000, 30_000, 45_000, 45_001, 60_000, 60_010, 200_000, 900_000, 90_000_000, 90_000_015];
        let values = [1.0, 1.0, 2.5, -3.0, 0.1, stale, f64::MAX, 0.0, f64::INFINITY, 7.0, 7.0];
        let mut c = XorChunk::default();
        for (t, v) in times.iter().zip(values) {
            c.append(*t, v);
        }
        let got = decode(&c.bytes());
        let want: Vec<(i64, u64)> = times.iter().zip(values).map(|(t, v)| (*t, v.to_bits())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn negative_first_timestamps_and_edges_of_each_width() {
        let mut c = XorChunk::default();
        let mut t = -5_000i64;
        let mut times = vec![t];
        c.append(t, 0.0);
        let mut delta = 1000i64;
        for dod in [8192, -8191, 65536, -65535, 524_288, -524_287, 10_000_000] {
            delta += dod;
            t += delta.max(1);
            delta = delta.max(1);
            times.push(t);
            c.append(t, t as f64);
        }
        let got: Vec<i64> = decode(&c.bytes()).iter().map(|s| s.0).collect();
        assert_eq!(got, times);
    }
}
