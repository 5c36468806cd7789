//! The text form of a [`Dist`]: [`parse`] and the canonical `Display`.

use std::fmt;

use super::{
    Dist, DistError, Invalid, LogNormalParams, MAX_MIX_DEPTH, NAMES, build_erlang, build_exp, build_gamma,
    build_lognormal, build_mix, build_normal, build_pareto, build_uniform, build_weibull,
};
use crate::units::{format_duration, parse_duration};

/// The distributions written `name(param, ..)`; `mix` has its own syntax.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Const,
    Exp,
    Uniform,
    Normal,
    LogNormal,
    Erlang,
    Gamma,
    Pareto,
    Weibull,
}

struct Form {
    kind: Kind,
    name: &'static str,
    /// Keyword names; the first `positional` may also be given by position.
    params: &'static [&'static str],
    positional: usize,
    usage: &'static str,
}

const FORMS: &[Form] = &[
    form(Kind::Const, "const", &["value"], "const(value)"),
    form(Kind::Exp, "exp", &["mean"], "exp(mean)"),
    form(Kind::Uniform, "uniform", &["low", "high"], "uniform(low, high)"),
    form(Kind::Normal, "normal", &["mean", "sd"], "normal(mean, sd)"),
    Form {
        kind: Kind::LogNormal,
        name: "lognormal",
        params: &["median", "p99", "mean", "sd"],
        positional: 2,
        usage: "lognormal(median=.., p99=..) or lognormal(mean=.., sd=..)",
    },
    form(Kind::Erlang, "erlang", &["k", "mean"], "erlang(k, mean)"),
    form(Kind::Gamma, "gamma", &["shape", "mean"], "gamma(shape=.., mean=..)"),
    form(Kind::Pareto, "pareto", &["scale", "shape"], "pareto(scale=.., shape=..)"),
    form(Kind::Weibull, "weibull", &["scale", "shape"], "weibull(scale=.., shape=..)"),
];

const fn form(kind: Kind, name: &'static str, params: &'static [&'static str], usage: &'static str) -> Form {
    Form { kind, name, params, positional: params.len(), usage }
}

/// Parses a distribution such as `exp(20ms)` or `mix(0.99: const(1ms), 0.01: const(1s))`,
/// validating every parameter and building the samplers. See the
/// [module documentation](super) for the syntax.
///
/// Never panics, whatever the input.
///
/// # Errors
///
/// A [`DistError`] with the byte offset into `s` of the first problem and a message naming
/// the distribution, the parameter and what was expected, e.g. "unknown distribution `expo`,
/// expected one of const, exp, ..; did you mean `exp`?", "uniform: low (9ms) must be below
/// high (1ms)", "erlang: k must be a positive integer, got `0`".
pub fn parse(s: &str) -> Result<Dist, DistError> {
    let mut p = Parser { src: s, pos: 0 };
    let dist = p.dist(0)?;
    match p.peek() {
        None => Ok(dist),
        Some(c) => Err(p.error_here(format!("unexpected `{c}` after the distribution"))),
    }
}

impl std::str::FromStr for Dist {
    type Err = DistError;

    /// Same as [`parse`].
    fn from_str(s: &str) -> Result<Dist, DistError> {
        parse(s)
    }
}

/// One `key = value` or positional `value` inside `name(..)`.
#[derive(Clone, Copy)]
struct Arg<'a> {
    /// The keyword and its byte offset, if given by keyword.
    key: Option<(&'a str, usize)>,
    /// The value, without surrounding whitespace.
    text: &'a str,
    /// Byte offset of `text`.
    start: usize,
}

impl Arg<'_> {
    fn error(&self, message: String) -> DistError {
        DistError::new(self.start, self.text.len(), message)
    }
}

/// A parsed `name(..)` whose arguments are bound to the form's parameters.
struct Call<'a> {
    form: &'static Form,
    /// Byte offset of the name and of the closing parenthesis.
    start: usize,
    close: usize,
    slots: Vec<Option<Arg<'a>>>,
}

impl<'a> Call<'a> {
    fn arg(&self, i: usize) -> Result<Arg<'a>, DistError> {
        self.slots[i].ok_or_else(|| {
            let f = self.form;
            DistError::new(
                self.close,
                1,
                format!("{}: missing parameter `{}`; usage: {}", f.name, f.params[i], f.usage),
            )
        })
    }

    fn duration(&self, i: usize) -> Result<u64, DistError> {
        let arg = self.arg(i)?;
        parse_duration(arg.text).map_err(|e| DistError {
            offset: arg.start + e.offset,
            len: e.len,
            message: format!("{}: {}: {}", self.form.name, self.form.params[i], e.message),
        })
    }

    fn number(&self, i: usize) -> Result<f64, DistError> {
        number(&self.arg(i)?, self.form.name, self.form.params[i])
    }

    fn positive_integer(&self, i: usize) -> Result<u32, DistError> {
        let arg = self.arg(i)?;
        match arg.text.parse::<u32>() {
            Ok(k) if k > 0 => Ok(k),
            _ => Err(arg.error(format!(
                "{}: {} must be a positive integer, got `{}`",
                self.form.name, self.form.params[i], arg.text
            ))),
        }
    }

    /// Places a build error on the parameter it blames, or on the whole call.
    fn blame(&self, inv: Invalid) -> DistError {
        match inv.param.and_then(|i| self.slots.get(i).copied().flatten()) {
            Some(arg) => arg.error(inv.message),
            None => DistError::new(self.start, self.close + 1 - self.start, inv.message),
        }
    }

    fn build(&self) -> Result<Dist, DistError> {
        let built = match self.form.kind {
            Kind::Const => Ok(Dist::Const { ns: self.duration(0)? }),
            Kind::Exp => build_exp(self.duration(0)?),
            Kind::Uniform => build_uniform(self.duration(0)?, self.duration(1)?),
            Kind::Normal => build_normal(self.duration(0)?, self.duration(1)?),
            Kind::LogNormal => build_lognormal(self.lognormal_params()?),
            Kind::Erlang => build_erlang(self.positive_integer(0)?, self.duration(1)?),
            Kind::Gamma => build_gamma(self.number(0)?, self.duration(1)?),
            Kind::Pareto => build_pareto(self.duration(0)?, self.number(1)?),
            Kind::Weibull => build_weibull(self.duration(0)?, self.number(1)?),
        };
        built.map_err(|inv| self.blame(inv))
    }

    fn lognormal_params(&self) -> Result<LogNormalParams, DistError> {
        let has = |i: usize| self.slots[i].is_some();
        let median_form = has(0) || has(1);
        if !(has(2) || has(3)) {
            return Ok(LogNormalParams::MedianP99 { median_ns: self.duration(0)?, p99_ns: self.duration(1)? });
        }
        if !median_form {
            return Ok(LogNormalParams::MeanSd { mean_ns: self.duration(2)?, sd_ns: self.duration(3)? });
        }
        let arg = self.arg(if has(2) { 2 } else { 3 })?;
        let (offset, len) = arg.key.map_or((arg.start, arg.text.len()), |(k, at)| (at, k.len()));
        Err(DistError::new(offset, len, "lognormal: give either (median, p99) or (mean, sd), not parameters of both"))
    }
}

/// A plain number (no unit): finite, as `f64`.
fn number(arg: &Arg<'_>, name: &str, param: &str) -> Result<f64, DistError> {
    let text = arg.text;
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(arg.error(format!("{name}: {param} must be a finite number, got `{text}`"))),
        Err(_) if parse_duration(text).is_ok() => {
            Err(arg.error(format!("{name}: {param} is a plain number without a unit, got `{text}`")))
        }
        Err(_) => Err(arg.error(format!("{name}: {param} must be a number, got `{text}`"))),
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// `"; did you mean `x`?"` for the closest candidate within two edits, or `""`.
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, c), c))
        .filter(|&(d, c)| d <= 2 && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map_or_else(String::new, |(_, c)| format!("; did you mean `{c}`?"))
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    /// An error at the current position, covering one character (none at the end).
    fn error_here(&self, message: impl Into<String>) -> DistError {
        DistError::new(self.pos, self.peek().map_or(0, char::len_utf8), message)
    }

    /// An ASCII identifier (letters, digits, `_`), possibly empty; skips whitespace after it.
    fn ident(&mut self) -> (&'a str, usize) {
        let start = self.pos;
        let len = self.src[start..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        self.pos += len;
        let word = &self.src[start..start + len];
        self.skip_ws();
        (word, start)
    }

    /// Byte offset of the first of `stops` at or after the current position, or the end.
    fn find(&self, stops: &[char]) -> usize {
        self.src[self.pos..].find(stops).map_or(self.src.len(), |i| self.pos + i)
    }

    /// A whole distribution, with the whitespace around it.
    fn dist(&mut self, depth: usize) -> Result<Dist, DistError> {
        self.skip_ws();
        let (name, start) = self.ident();
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            self.pos = start;
            let end = self.find(&[',', ')']);
            let raw = self.src[start..end].trim_end();
            if !raw.is_empty() && parse_duration(raw).is_ok() {
                return Err(DistError::new(
                    start,
                    raw.len(),
                    format!(
                        "expected a distribution, found the duration `{raw}`; \
                         write `const({raw})` for a fixed value"
                    ),
                ));
            }
            return Err(self.error_here("expected a distribution such as `exp(20ms)`"));
        }
        if !NAMES.contains(&name) {
            return Err(DistError::new(
                start,
                name.len(),
                format!(
                    "unknown distribution `{name}`, expected one of {}{}",
                    NAMES.join(", "),
                    did_you_mean(name, NAMES)
                ),
            ));
        }
        if self.peek() != Some('(') {
            return Err(self.error_here(format!("expected `(` after `{name}`")));
        }
        self.pos += 1;
        let dist = match FORMS.iter().find(|f| f.name == name) {
            Some(form) => self.call(form, start)?.build()?,
            None => self.mix(start, depth)?,
        };
        self.skip_ws();
        Ok(dist)
    }

    /// The arguments of `name(`, up to and including `)`, bound to the form's parameters.
    fn call(&mut self, form: &'static Form, start: usize) -> Result<Call<'a>, DistError> {
        let name = form.name;
        let mut slots = vec![None; form.params.len()];
        let (mut positional, mut keyword_seen) = (0, false);
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            let close = self.pos - 1;
            return Ok(Call { form, start, close, slots });
        }
        loop {
            self.skip_ws();
            let before = self.pos;
            let (word, word_at) = self.ident();
            let key = if !word.is_empty() && self.peek() == Some('=') {
                self.pos += 1;
                self.skip_ws();
                Some((word, word_at))
            } else {
                self.pos = before;
                None
            };
            let value_start = self.pos;
            let end = self.find(&[',', ')']);
            let text = self.src[value_start..end].trim_end();
            if text.is_empty() {
                return Err(self.error_here(format!("{name}: expected a value")));
            }
            let arg = Arg { key, text, start: value_start };
            self.pos = end;
            let slot = match key {
                None if keyword_seen => {
                    return Err(arg.error(format!("{name}: positional argument after a keyword argument")));
                }
                None if positional >= form.positional => {
                    return Err(arg.error(format!("{name}: too many arguments; usage: {}", form.usage)));
                }
                None => {
                    positional += 1;
                    positional - 1
                }
                Some((k, at)) => {
                    keyword_seen = true;
                    let Some(i) = form.params.iter().position(|p| *p == k) else {
                        return Err(DistError::new(
                            at,
                            k.len(),
                            format!(
                                "{name}: unknown parameter `{k}`, expected one of {}{}",
                                form.params.join(", "),
                                did_you_mean(k, form.params)
                            ),
                        ));
                    };
                    if slots[i].is_some() {
                        return Err(DistError::new(at, k.len(), format!("{name}: parameter `{k}` given twice")));
                    }
                    i
                }
            };
            slots[slot] = Some(arg);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    let close = self.pos - 1;
                    return Ok(Call { form, start, close, slots });
                }
                _ => {
                    return Err(self.error_here(format!("{name}: expected `)` to close `{name}(`")));
                }
            }
        }
    }

    /// The components of `mix(`, up to and including `)`.
    fn mix(&mut self, start: usize, depth: usize) -> Result<Dist, DistError> {
        if depth >= MAX_MIX_DEPTH {
            return Err(DistError::new(start, 3, format!("mix: nested more than {MAX_MIX_DEPTH} levels deep")));
        }
        let (mut weights, mut parts, mut spans) = (Vec::new(), Vec::new(), Vec::new());
        let close = loop {
            self.skip_ws();
            let weight_start = self.pos;
            let end = self.find(&[':', ',', '(', ')']);
            let text = self.src[weight_start..end].trim_end();
            if !self.src[end..].starts_with(':') || text.is_empty() {
                let message = "mix: expected `weight: distribution`, \
                               e.g. `mix(0.99: const(1ms), 0.01: const(1s))`";
                return Err(if text.is_empty() {
                    self.error_here(message)
                } else {
                    DistError::new(weight_start, text.len(), message)
                });
            }
            let arg = Arg { key: None, text, start: weight_start };
            let weight = number(&arg, "mix", "weight")?;
            self.pos = end + 1;
            let part = self.dist(depth + 1)?;
            weights.push(weight);
            parts.push(part);
            spans.push(arg);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    break self.pos - 1;
                }
                _ => return Err(self.error_here("mix: expected `,` or `)` after a component")),
            }
        };
        build_mix(weights, parts).map_err(|inv| match inv.param.and_then(|i| spans.get(i)) {
            Some(arg) => arg.error(inv.message),
            None => DistError::new(start, close + 1 - start, inv.message),
        })
    }
}

impl fmt::Display for Dist {
    /// The canonical form: `const(5ms)`, `exp(20ms)`, `uniform(1ms, 9ms)`, `normal(50ms, 5ms)`,
    /// `lognormal(median=20ms, p99=200ms)` or `lognormal(mean=20ms, sd=30ms)`,
    /// `erlang(4, 10ms)`, `gamma(shape=2.5, mean=10ms)`, `pareto(scale=1ms, shape=1.5)`,
    /// `weibull(scale=10ms, shape=1.5)`, `mix(0.99: const(1ms), 0.01: const(1s))`. Durations
    /// are written by [`format_duration`] and numbers in Rust's shortest round-trip form, so
    /// [`parse`] gives back an equal `Dist`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = format_duration;
        match self {
            Dist::Const { ns } => write!(f, "const({})", d(*ns)),
            Dist::Exp { mean_ns, .. } => write!(f, "exp({})", d(*mean_ns)),
            Dist::Uniform { low_ns, high_ns, .. } => write!(f, "uniform({}, {})", d(*low_ns), d(*high_ns)),
            Dist::Normal { mean_ns, sd_ns, .. } => {
                write!(f, "normal({}, {})", d(*mean_ns), d(*sd_ns))
            }
            Dist::LogNormal { params, .. } => match params {
                LogNormalParams::MedianP99 { median_ns, p99_ns } => {
                    write!(f, "lognormal(median={}, p99={})", d(*median_ns), d(*p99_ns))
                }
                LogNormalParams::MeanSd { mean_ns, sd_ns } => {
                    write!(f, "lognormal(mean={}, sd={})", d(*mean_ns), d(*sd_ns))
                }
            },
            Dist::Erlang { k, mean_ns, .. } => write!(f, "erlang({k}, {})", d(*mean_ns)),
            Dist::Gamma { shape, mean_ns, .. } => {
                write!(f, "gamma(shape={shape}, mean={})", d(*mean_ns))
            }
            Dist::Pareto { scale_ns, shape, .. } => write!(f, "pareto(scale={}, shape={shape})", d(*scale_ns)),
            Dist::Weibull { scale_ns, shape, .. } => write!(f, "weibull(scale={}, shape={shape})", d(*scale_ns)),
            Dist::Mix { weights, parts, .. } => {
                f.write_str("mix(")?;
                for (i, (w, part)) in weights.iter().zip(parts).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{w}: {part}")?;
                }
                f.write_str(")")
            }
        }
    }
}
