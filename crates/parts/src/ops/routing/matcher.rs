//! Label sets and Alertmanager label matchers (`severity="page"`, `service=~"pay.*"`).

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

use super::RoutingError;

/// An alert's labels (or annotations), sorted by name.
pub type LabelSet = BTreeMap<String, String>;

/// How a [`Matcher`] compares a label's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchOp {
    /// `=`: equal.
    Eq,
    /// `!=`: not equal.
    Ne,
    /// `=~`: the whole value matches the regular expression.
    Re,
    /// `!~`: the whole value does not match the regular expression.
    NotRe,
}

impl MatchOp {
    /// The operator as written in a matcher: `=`, `!=`, `=~` or `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }
}

/// One label matcher, as in Alertmanager routes, inhibit rules and silences.
///
/// A missing label matches as the empty string, as in Alertmanager: `team!="db"` matches
/// alerts with no `team` label, and `team=""` matches only those. Regular expressions are
/// anchored at both ends (`service=~"pay.*"` does not match `prepay`).
///
/// Build one with [`Matcher::parse`] or [`Matcher::new`]; they compile the regular
/// expression once. Changing `value` afterwards does not recompile it.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The label's name.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or regular expression compared with.
    pub value: String,
    /// `^(?:value)$`, compiled, for `Re` and `NotRe`.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// A matcher from its parts, compiling the regular expression of `Re` and `NotRe`.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher, RoutingError> {
        if !is_label_name(name) {
            return Err(RoutingError::InvalidMatcher {
                text: format!("{name}{}{value:?}", op.as_str()),
                reason: format!("`{name}` is not a label name (letters, digits and `_`, not starting with a digit)"),
            });
        }
        let regex = match op {
            MatchOp::Eq | MatchOp::Ne => None,
            MatchOp::Re | MatchOp::NotRe => Some(
                Regex::new(&format!("^(?:{})$", re2_ascii_classes(value)))
                    .map_err(|e| RoutingError::InvalidRegex { name: name.to_string(), reason: e.to_string() })?,
            ),
        };
        Ok(Matcher { name: name.to_string(), op, value: value.to_string(), regex })
    }

    /// Parses Alertmanager matcher syntax: a label name, an operator (`=`, `!=`, `=~`,
    /// `!~`) and a value, double-quoted (with `\"`, `\\` and `\n` escapes, as
    /// Alertmanager; any other backslash is kept) or bare. Regexes follow Go RE2: `\d`,
    /// `\w`, `\s` and `\b` are ASCII-only.
    /// Spaces around the parts are allowed: `severity = "page"`, `service=~pay.*`.
    pub fn parse(text: &str) -> Result<Matcher, RoutingError> {
        let invalid =
            |reason: &str| RoutingError::InvalidMatcher { text: text.to_string(), reason: reason.to_string() };
        let rest = text.trim();
        let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        let (name, rest) = rest.split_at(name_len);
        if name.is_empty() {
            return Err(invalid("expected a label name first"));
        }
        let rest = rest.trim_start();
        let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
            (MatchOp::Re, r)
        } else if let Some(r) = rest.strip_prefix("!~") {
            (MatchOp::NotRe, r)
        } else if let Some(r) = rest.strip_prefix("!=") {
            (MatchOp::Ne, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (MatchOp::Eq, r)
        } else {
            return Err(invalid("expected an operator (`=`, `!=`, `=~` or `!~`) after the label name"));
        };
        let rest = rest.trim();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            unquote(quoted).map_err(invalid)?
        } else if rest.contains('"') {
            return Err(invalid("a bare value cannot contain `\"`; quote the whole value"));
        } else {
            rest.to_string()
        };
        Matcher::new(name, op, &value).map_err(|e| match e {
            RoutingError::InvalidMatcher { reason, .. } => invalid(&reason),
            other => other,
        })
    }

    /// Parses a comma-separated list of matchers, optionally in braces, as `amtool` and
    /// Alertmanager's `matchers` fields accept: `{severity="page", service=~"pay.*"}`.
    /// Commas inside quoted values do not split. An empty list (`{}` or ``) is allowed.
    pub fn parse_set(text: &str) -> Result<Vec<Matcher>, RoutingError> {
        let trimmed = text.trim();
        let inner = match trimmed.strip_prefix('{') {
            Some(rest) => rest.strip_suffix('}').ok_or_else(|| RoutingError::InvalidMatcher {
                text: text.to_string(),
                reason: "missing closing `}`".to_string(),
            })?,
            None => trimmed,
        };
        let mut matchers = Vec::new();
        let (mut start, mut quoted, mut escaped) = (0, false, false);
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    matchers.push(Matcher::parse(&inner[start..i])?);
                    start = i + 1;
                }
                _ => {}
            }
        }
        // A trailing comma is tolerated, as in PromQL selectors.
        if !inner[start..].trim().is_empty() {
            matchers.push(Matcher::parse(&inner[start..])?);
        }
        Ok(matchers)
    }

    /// Whether `labels` satisfy this matcher (a missing label counts as `""`).
    pub fn matches(&self, labels: &LabelSet) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        self.matches_value(value)
    }

    /// Whether a label value satisfies this matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Eq => value == self.value,
            MatchOp::Ne => value != self.value,
            MatchOp::Re => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRe => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }
}

/// Shows the matcher in the syntax [`Matcher::parse`] reads: `service=~"pay.*"`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// Whether all matchers match (an empty list matches everything).
pub(crate) fn all_match(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `pattern` with Perl classes made ASCII-only, as in Go's RE2 (where `\d` does not match
/// `٣` and `\w` does not match `é`): `\d`, `\w`, `\s` and their negations become explicit
/// classes (inside a class too), `\b` and `\B` the regex crate's ASCII word boundaries.
fn re2_ascii_classes(pattern: &str) -> String {
    const DIGIT: &str = "0-9";
    const WORD: &str = "0-9A-Za-z_";
    const SPACE: &str = "\\t\\n\\f\\r ";
    let mut out = String::with_capacity(pattern.len() + 16);
    let (mut chars, mut in_class) = (pattern.chars().peekable(), false);
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let class = match next {
                    'd' | 'D' => Some(DIGIT),
                    'w' | 'W' => Some(WORD),
                    's' | 'S' => Some(SPACE),
                    _ => None,
                };
                match (class, next.is_ascii_uppercase(), in_class) {
                    (Some(set), false, true) => out.push_str(set),
                    (Some(set), false, false) => out.push_str(&format!("[{set}]")),
                    (Some(set), true, _) => out.push_str(&format!("[^{set}]")),
                    (None, _, _) if !in_class && (next == 'b' || next == 'B') => {
                        out.push_str(&format!("(?-u:\\{next})"))
                    }
                    (None, _, _) => {
                        out.push(c);
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal, not the end of the class.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The value of a double-quoted string whose opening quote is already consumed; nothing
/// but spaces may follow the closing quote.
fn unquote(quoted: &str) -> Result<String, &'static str> {
    let mut value = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                return if chars.as_str().trim().is_empty() {
                    Ok(value)
                } else {
                    Err("unexpected text after the closing quote")
                };
            }
            '\\' => match chars.next() {
                Some('"') => value.push('"'),
                Some('\\') => value.push('\\'),
                Some('n') => value.push('\n'),
                // Keep other escapes as written, as Alertmanager does (`\t` stays two
                // characters), so regexes like "\d+" survive.
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return Err("unterminated escape at the end"),
            },
            c => value.push(c),
        }
    }
    Err("missing closing quote")
}
