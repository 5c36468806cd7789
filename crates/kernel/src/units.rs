//! Duration strings in scenario files: parsing (`"250ms"`, `"1h30m"`, `"1.5s"`) into exact
//! integer nanoseconds, and formatting nanoseconds back into a canonical string.
//!
//! # Grammar
//!
//! A duration is one or more *components* `NUMBER UNIT`, summed, with optional whitespace around
//! the whole string, between components and between a number and its unit (`"1h30m"`,
//! `"1h 30m"`, `"5 ms"`). Components may come in any order and repeat (`"30m1h"` is 90 minutes).
//!
//! * `NUMBER` is ASCII digits with an optional fraction: `250`, `1.5`, `0.001`. A sign, an
//!   exponent or a leading `.` is rejected.
//! * `UNIT` is one of `ns`, `us` (also `µs`/`μs`), `ms`, `s`, `m` (minutes), `h`, `d` (24 h).
//!
//! Arithmetic is exact: integers never go through floating point, and a fraction is multiplied
//! out digit by digit, so `"0.1ms"` is exactly 100 000 ns. A fraction of a nanosecond rounds to
//! the nearest nanosecond, halves rounding up (`"1.5ns"` is 2 ns). A total above `u64::MAX`
//! nanoseconds (about 584 years) is an error.

use std::fmt::Write as _;

/// Nanoseconds in one microsecond.
pub const NS_PER_US: u64 = 1_000;
/// Nanoseconds in one millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
/// Nanoseconds in one second.
pub const NS_PER_S: u64 = 1_000_000_000;
/// Nanoseconds in one minute.
pub const NS_PER_MIN: u64 = 60 * NS_PER_S;
/// Nanoseconds in one hour.
pub const NS_PER_H: u64 = 60 * NS_PER_MIN;
/// Nanoseconds in one day (24 hours).
pub const NS_PER_D: u64 = 24 * NS_PER_H;

/// Nanoseconds as milliseconds, for reports and charts (never for ordering).
#[inline]
pub fn ns_to_ms(ns: u64) -> f64 {
    ns as f64 / NS_PER_MS as f64
}

/// A sum of nanoseconds as milliseconds, for reports (means of latency sums).
#[inline]
pub fn ns_sum_to_ms(ns: u128) -> f64 {
    ns as f64 / NS_PER_MS as f64
}

/// Nanoseconds as seconds, for reports and Prometheus-facing values (never for ordering).
#[inline]
pub fn ns_to_s(ns: u64) -> f64 {
    ns as f64 / NS_PER_S as f64
}

/// Nanoseconds as hours, for billing.
#[inline]
pub fn ns_to_h(ns: u64) -> f64 {
    ns as f64 / NS_PER_H as f64
}

/// Whole milliseconds at or before `ns`: the timestamps of the monitoring stack, which
/// counts time in milliseconds as Prometheus does.
#[inline]
pub fn ns_to_ms_floor(ns: u64) -> i64 {
    // u64::MAX / 10^6 fits an i64.
    (ns / NS_PER_MS) as i64
}

/// A timestamp in milliseconds (see [`ns_to_ms_floor`]) as nanoseconds; negative ones
/// are time zero.
#[inline]
pub fn ms_to_ns(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).saturating_mul(NS_PER_MS)
}

/// Seconds (a rate's reciprocal, a configured float) as whole nanoseconds, rounded to
/// the nearest and saturating; negative and NaN are zero.
#[inline]
pub fn s_to_ns(s: f64) -> u64 {
    // `as` saturates at the bounds and maps NaN to 0.
    (s * NS_PER_S as f64).round() as u64
}

/// Milliseconds (a float) as whole nanoseconds, rounded to the nearest and saturating.
#[inline]
pub fn ms_to_ns_f64(ms: f64) -> u64 {
    (ms * NS_PER_MS as f64).round() as u64
}

/// The unit list named in error messages.
const EXPECTED_UNITS: &str = "ns, us, ms, s, m, h, d";

/// Accepted unit spellings and their size in nanoseconds.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", NS_PER_US),
    ("\u{b5}s", NS_PER_US),  // µs, MICRO SIGN
    ("\u{3bc}s", NS_PER_US), // μs, GREEK SMALL LETTER MU
    ("ms", NS_PER_MS),
    ("s", NS_PER_S),
    ("m", NS_PER_MIN),
    ("h", NS_PER_H),
    ("d", NS_PER_D),
];

/// Common spellings that are not units here, with the unit the user most likely meant.
const UNIT_ALIASES: &[(&str, &str)] = &[
    ("nsec", "ns"),
    ("nanos", "ns"),
    ("usec", "us"),
    ("micros", "us"),
    ("msec", "ms"),
    ("millis", "ms"),
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
    ("min", "m"),
    ("mins", "m"),
    ("minute", "m"),
    ("minutes", "m"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hour", "h"),
    ("hours", "h"),
    ("day", "d"),
    ("days", "d"),
];

/// Why a duration string was rejected, and where.
///
/// `offset` is the byte offset into the string given to [`parse_duration`] where the problem
/// starts; `len` is the byte length of the offending part (at least 1, except when the problem
/// is the end of the input, where it is 0). `message` says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct UnitError {
    /// Byte offset into the input where the problem starts.
    pub offset: usize,
    /// Byte length of the offending part; 0 only when the input ended too early.
    pub len: usize,
    /// What was wrong and what was expected instead.
    pub message: String,
}

impl UnitError {
    fn new(offset: usize, len: usize, message: impl Into<String>) -> Self {
        UnitError { offset, len, message: message.into() }
    }

    /// The same error with its offset moved right by `by` bytes: for a duration that was cut
    /// out of a larger string starting at byte `by`.
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// Byte length of the character starting at `pos`, or 0 at the end of `s`.
fn char_len_at(s: &str, pos: usize) -> usize {
    s.get(pos..).and_then(|rest| rest.chars().next()).map_or(0, char::len_utf8)
}

fn skip_ws(s: &str, mut pos: usize) -> usize {
    while let Some(c) = s.get(pos..).and_then(|rest| rest.chars().next()) {
        if !c.is_whitespace() {
            break;
        }
        pos += c.len_utf8();
    }
    pos
}

fn skip_digits(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    pos
}

/// `digits.frac × unit`, exactly, rounded to the nearest integer (halves up). `None` on overflow.
fn component_ns(int_digits: &str, frac_digits: &str, unit: u64) -> Option<u128> {
    let mut int: u128 = 0;
    for b in int_digits.bytes() {
        int = int.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
    }
    let mut total = int.checked_mul(u128::from(unit))?;
    // Multiply the decimal fraction 0.d1d2..dn by `unit` from the right: the final carry is the
    // integer part of the product and the first product digit decides the rounding.
    let mut carry: u128 = 0;
    let mut first_digit: u128 = 0;
    for b in frac_digits.bytes().rev() {
        let v = u128::from(b - b'0') * u128::from(unit) + carry;
        first_digit = v % 10;
        carry = v / 10;
    }
    total = total.checked_add(carry + u128::from(first_digit >= 5))?;
    Some(total)
}

/// Parses a duration string into integer nanoseconds, exactly.
///
/// See the [module documentation](self) for the grammar. Examples: `"250ms"` → 250 000 000,
/// `"1h30m"` → 5 400 000 000 000, `"1.5s"` → 1 500 000 000, `"0s"` → 0.
///
/// # Errors
///
/// A [`UnitError`] locating the problem: an empty string, a number without a unit ("expected a
/// unit: ns, us, ms, s, m, h, d"), an unknown unit, a negative value, or a total that overflows
/// `u64` nanoseconds.
pub fn parse_duration(s: &str) -> Result<u64, UnitError> {
    let bytes = s.as_bytes();
    let mut pos = skip_ws(s, 0);
    if pos == s.len() {
        return Err(UnitError::new(pos, 0, "expected a duration such as `250ms` or `1h30m`"));
    }
    let mut total: u64 = 0;
    while pos < s.len() {
        let start = pos;
        match bytes[pos] {
            b'-' => {
                return Err(UnitError::new(pos, 1, "negative durations are not allowed"));
            }
            b'.' => {
                return Err(UnitError::new(pos, 1, "expected a digit before `.` (write `0.5s`, not `.5s`)"));
            }
            b if !b.is_ascii_digit() => {
                let len = char_len_at(s, pos);
                let found = &s[pos..pos + len];
                return Err(UnitError::new(
                    pos,
                    len,
                    format!("unexpected `{found}`, expected a number such as `250` in `250ms`"),
                ));
            }
            _ => {}
        }
        let int_end = skip_digits(bytes, pos);
        let int_digits = &s[start..int_end];
        pos = int_end;
        let mut frac_digits = "";
        if pos < bytes.len() && bytes[pos] == b'.' {
            let frac_start = pos + 1;
            pos = skip_digits(bytes, frac_start);
            if pos == frac_start {
                return Err(UnitError::new(frac_start - 1, 1, "expected digits after `.`"));
            }
            frac_digits = &s[frac_start..pos];
        }

        pos = skip_ws(s, pos);
        let unit_start = pos;
        while let Some(c) = s[pos..].chars().next() {
            if !c.is_alphabetic() {
                break;
            }
            pos += c.len_utf8();
        }
        let unit = &s[unit_start..pos];
        if unit.is_empty() {
            return Err(UnitError::new(
                unit_start,
                char_len_at(s, unit_start),
                format!("expected a unit: {EXPECTED_UNITS}"),
            ));
        }
        let Some(&(_, unit_ns)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            let mut message = format!("unknown unit `{unit}`, expected one of {EXPECTED_UNITS}");
            let lower = unit.to_lowercase();
            if let Some((_, meant)) = UNIT_ALIASES.iter().find(|(alias, _)| *alias == lower) {
                let _ = write!(message, "; did you mean `{meant}`?");
            } else if lower != unit && UNITS.iter().any(|(name, _)| *name == lower) {
                let _ = write!(message, "; units are lowercase: `{lower}`");
            }
            return Err(UnitError::new(unit_start, unit.len(), message));
        };

        let overflow = || {
            UnitError::new(
                start,
                pos - start,
                format!("duration is too long: the maximum is {} ({} ns)", format_duration(u64::MAX), u64::MAX),
            )
        };
        let value = component_ns(int_digits, frac_digits, unit_ns).ok_or_else(overflow)?;
        let value = u64::try_from(value).map_err(|_| overflow())?;
        total = total.checked_add(value).ok_or_else(overflow)?;
        pos = skip_ws(s, pos);
    }
    Ok(total)
}

/// Writes `value / unit` as a decimal with no trailing zeros, then `suffix`.
/// `unit` must be a power of ten.
fn write_decimal(out: &mut String, value: u64, unit: u64, suffix: &str) {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        let _ = write!(out, "{whole}{suffix}");
    } else {
        let width = unit.ilog10() as usize;
        let digits = format!("{frac:0width$}");
        let _ = write!(out, "{whole}.{}{suffix}", digits.trim_end_matches('0'));
    }
}

/// Formats nanoseconds as a canonical duration string that [`parse_duration`] reads back to
/// exactly the same value, for every `u64`.
///
/// The form is: whole days, hours and minutes as a compound (`"1d2h"`, `"1h30m"`, zero parts
/// left out), followed by the sub-minute remainder written with the largest unit among `s`,
/// `ms`, `us`, `ns` that it reaches, as an exact decimal without trailing zeros (`"2m30s"`,
/// `"1.5s"`, `"250ms"`, `"1h500ms"`, `"1.234us"`, `"7ns"`). Zero is `"0s"`. Microseconds are
/// written `us`, never `µs`.
pub fn format_duration(ns: u64) -> String {
    let mut out = String::new();
    let minutes = ns / NS_PER_MIN;
    let rem = ns % NS_PER_MIN;
    for (count, suffix) in [(minutes / (24 * 60), "d"), ((minutes / 60) % 24, "h"), (minutes % 60, "m")] {
        if count > 0 {
            let _ = write!(out, "{count}{suffix}");
        }
    }
    if rem >= NS_PER_S {
        write_decimal(&mut out, rem, NS_PER_S, "s");
    } else if rem >= NS_PER_MS {
        write_decimal(&mut out, rem, NS_PER_MS, "ms");
    } else if rem >= NS_PER_US {
        write_decimal(&mut out, rem, NS_PER_US, "us");
    } else if rem > 0 || out.is_empty() {
        let _ = write!(out, "{rem}{}", if ns == 0 { "s" } else { "ns" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_and_saturate() {
        assert_eq!(ns_to_ms(1_500_000), 1.5);
        assert_eq!(ns_sum_to_ms(2_500_000), 2.5);
        assert_eq!(ns_to_s(NS_PER_S / 4), 0.25);
        assert_eq!(ns_to_h(NS_PER_H * 3), 3.0);
        assert_eq!(ns_to_ms_floor(1_999_999), 1);
        assert_eq!(ms_to_ns(ns_to_ms_floor(7 * NS_PER_MS)), 7 * NS_PER_MS);
        assert_eq!(ms_to_ns(-5), 0);
        assert_eq!(s_to_ns(0.1), 100_000_000);
        assert_eq!(s_to_ns(-1.0), 0);
        assert_eq!(s_to_ns(f64::NAN), 0);
        assert_eq!(s_to_ns(1e300), u64::MAX);
        assert_eq!(ms_to_ns_f64(2.5), 2_500_000);
    }
    use proptest::prelude::*;

    fn err(s: &str) -> UnitError {
        parse_duration(s).expect_err(s)
    }

    #[test]
    fn parses_simple_and_compound_forms() {
        let cases: &[(&str, u64)] = &[
            ("0s", 0),
            ("7ns", 7),
            ("3us", 3_000),
            ("3µs", 3_000),
            ("3μs", 3_000),
            ("250ms", 250 * NS_PER_MS),
            ("1.5s", 1_500 * NS_PER_MS),
            ("0.1ms", 100_000),
            ("2m30s", 150 * NS_PER_S),
            ("1h30m", 90 * NS_PER_MIN),
            ("1h 30m", 90 * NS_PER_MIN),
            ("30m1h", 90 * NS_PER_MIN),
            ("  5 ms\t", 5 * NS_PER_MS),
            ("2d", 2 * NS_PER_D),
            ("1.5ns", 2),
            ("1.4999ns", 1),
            ("0.0000000015s", 2),
            ("0.333333333333333333333333333333333333333333333333s", 333_333_333),
            ("1.000000000000000000000000000000000000000000000001h", NS_PER_H),
            ("000012ms", 12 * NS_PER_MS),
            ("18446744073709551615ns", u64::MAX),
            ("213503d23h34m33.709551615s", u64::MAX),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn missing_unit() {
        let e = err("250");
        assert_eq!((e.offset, e.len), (3, 0));
        assert_eq!(e.message, "expected a unit: ns, us, ms, s, m, h, d");
        let e = err("1h 30");
        assert_eq!((e.offset, e.len), (5, 0));
        let e = err("1 2ms");
        assert_eq!((e.offset, e.len), (2, 1));
    }

    #[test]
    fn unknown_unit() {
        let e = err("5sec");
        assert_eq!((e.offset, e.len), (1, 3));
        assert_eq!(e.message, "unknown unit `sec`, expected one of ns, us, ms, s, m, h, d; did you mean `s`?");
        let e = err("1h5MS");
        assert_eq!((e.offset, e.len), (3, 2));
        assert!(e.message.contains("units are lowercase: `ms`"), "{}", e.message);
        let e = err("1e3ms");
        assert_eq!((e.offset, e.len), (1, 1));
        assert!(e.message.starts_with("unknown unit `e`"));
    }

    #[test]
    fn rejects_bad_numbers() {
        let e = err("-5ms");
        assert_eq!((e.offset, e.len), (0, 1));
        assert_eq!(e.message, "negative durations are not allowed");
        let e = err("1s-5ms");
        assert_eq!((e.offset, e.len), (2, 1));
        let e = err("1.s");
        assert_eq!((e.offset, e.len), (1, 1));
        assert_eq!(e.message, "expected digits after `.`");
        let e = err(".5s");
        assert_eq!((e.offset, e.len), (0, 1));
        let e = err("5ms)");
        assert_eq!((e.offset, e.len), (3, 1));
        assert!(e.message.starts_with("unexpected `)`"));
        let e = err("   ");
        assert_eq!((e.offset, e.len), (3, 0));
        let e = err("");
        assert_eq!((e.offset, e.len), (0, 0));
        let e = err("5ms é");
        assert_eq!((e.offset, e.len), (4, 2));
    }

    #[test]
    fn rejects_overflow() {
        let e = err("18446744073709551616ns");
        assert_eq!((e.offset, e.len), (0, 22));
        assert!(e.message.starts_with("duration is too long"), "{}", e.message);
        let e = err("213503d 1d");
        assert_eq!((e.offset, e.len), (8, 2));
        assert!(err("99999999999999999999999999999999999999999999d").message.contains("too long"));
    }

    #[test]
    fn formats_canonically() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (7, "7ns"),
            (1_234, "1.234us"),
            (250 * NS_PER_MS, "250ms"),
            (1_500 * NS_PER_MS, "1.5s"),
            (2 * NS_PER_S + 1, "2.000000001s"),
            (150 * NS_PER_S, "2m30s"),
            (90 * NS_PER_MIN, "1h30m"),
            (NS_PER_H + 500 * NS_PER_MS, "1h500ms"),
            (NS_PER_D + 2 * NS_PER_H, "1d2h"),
            (u64::MAX, "213503d23h34m33.709551615s"),
        ];
        for &(ns, want) in cases {
            assert_eq!(format_duration(ns), want);
        }
    }

    #[test]
    fn error_display_has_offset() {
        assert_eq!(err("5x").to_string(), "unknown unit `x`, expected one of ns, us, ms, s, m, h, d (at byte 1)");
        assert_eq!(err("5x").shifted(10).offset, 11);
    }

    proptest! {
        #[test]
        fn format_round_trips(ns in any::<u64>()) {
            prop_assert_eq!(parse_duration(&format_duration(ns)), Ok(ns));
        }

        #[test]
        fn small_values_round_trip(ns in 0u64..10_000_000_000) {
            prop_assert_eq!(parse_duration(&format_duration(ns)), Ok(ns));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Err(e) = parse_duration(&s) {
                prop_assert!(e.offset <= s.len());
                prop_assert!(e.offset + e.len <= s.len());
            }
        }

        #[test]
        fn duration_like_strings_never_panic(s in "[0-9.\\- hdmsnuµxé]{0,16}") {
            if let Err(e) = parse_duration(&s) {
                prop_assert!(s.is_char_boundary(e.offset));
                prop_assert!(s.is_char_boundary(e.offset + e.len));
            }
        }
    }
}
