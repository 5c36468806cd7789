//! YAML in and out for the Prometheus formats: reading a document into spanned nodes
//! (saphyr's `MarkedYaml`), typed field access that refuses unknown keys with their line and
//! column, Prometheus durations, and double-quoted output scalars.

use std::collections::BTreeMap;
use std::ops::Range;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A problem in a YAML file, at a byte range of its text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Byte range in the file's text.
    pub span: Range<usize>,
    /// What is wrong, and what is supported instead.
    pub message: String,
}

impl YamlError {
    /// An error at `span`.
    pub fn new(span: Range<usize>, message: impl Into<String>) -> YamlError {
        YamlError { span, message: message.into() }
    }
}

/// A parsed document and the text it came from (saphyr counts characters, spans here are
/// bytes).
pub(crate) struct Doc<'t> {
    text: &'t str,
}

/// One node of a document.
pub(crate) type Node<'t> = MarkedYaml<'t>;

impl<'t> Doc<'t> {
    /// Parses the one document in `text` (an empty file is an empty mapping).
    pub(crate) fn parse(text: &'t str) -> Result<(Doc<'t>, Option<Node<'t>>), YamlError> {
        let doc = Doc { text };
        let mut docs = MarkedYaml::load_from_str(text).map_err(|e| {
            let at = doc.byte(e.marker().index());
            YamlError::new(at..at, format!("invalid YAML: {}", e.info()))
        })?;
        if docs.len() > 1 {
            let at = doc.span(&docs[1]);
            return Err(YamlError::new(at, "expected one YAML document, found several"));
        }
        Ok((doc, docs.pop()))
    }

    /// The byte offset of character `index`.
    fn byte(&self, index: usize) -> usize {
        self.text.char_indices().nth(index).map_or(self.text.len(), |(b, _)| b)
    }

    /// The byte range of a node (its start, for a collection).
    pub(crate) fn span(&self, node: &Node<'_>) -> Range<usize> {
        let start = self.byte(node.span.start.index());
        let end = self.byte(node.span.end.index()).max(start);
        start..end
    }

    /// An error at `node`.
    pub(crate) fn err(&self, node: &Node<'_>, message: impl Into<String>) -> YamlError {
        YamlError::new(self.span(node), message)
    }

    /// The entries of a mapping, refusing keys not in `allowed` (named in the message as
    /// outside prodsim's supported subset when in `known`, unknown otherwise).
    pub(crate) fn map<'n>(
        &self,
        node: &'n Node<'t>,
        what: &str,
        allowed: &[&str],
        known: &[&str],
    ) -> Result<Fields<'n, 't>, YamlError> {
        let node = untag(node);
        let YamlData::Mapping(map) = &node.data else {
            return Err(self.err(node, format!("{what}: expected a mapping")));
        };
        let mut fields = Vec::new();
        for (k, v) in map {
            let key = self.str(k, what)?;
            if !allowed.contains(&key.as_str()) {
                let message = if known.contains(&key.as_str()) {
                    format!("{what}: `{key}` is not supported by prodsim (see docs/prometheus.md)")
                } else {
                    format!("{what}: unknown field `{key}`, expected one of {}", allowed.join(", "))
                };
                return Err(self.err(k, message));
            }
            fields.push((key, v));
        }
        Ok(Fields { fields })
    }

    /// A scalar as text (numbers and booleans as written); null is refused.
    pub(crate) fn str(&self, node: &Node<'_>, what: &str) -> Result<String, YamlError> {
        match &untag(node).data {
            YamlData::Value(Scalar::String(s)) => Ok(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => Ok(i.to_string()),
            YamlData::Value(Scalar::FloatingPoint(f)) => Ok(f.to_string()),
            YamlData::Value(Scalar::Boolean(b)) => Ok(b.to_string()),
            YamlData::Representation(s, _, _) => Ok(s.to_string()),
            YamlData::Alias(_) => Err(self.err(node, format!("{what}: YAML aliases are not supported"))),
            _ => Err(self.err(node, format!("{what}: expected a string"))),
        }
    }

    /// A boolean.
    pub(crate) fn bool(&self, node: &Node<'_>, what: &str) -> Result<bool, YamlError> {
        match &untag(node).data {
            YamlData::Value(Scalar::Boolean(b)) => Ok(*b),
            _ => Err(self.err(node, format!("{what}: expected true or false"))),
        }
    }

    /// A sequence's items (null is an empty sequence).
    pub(crate) fn seq<'n>(&self, node: &'n Node<'t>, what: &str) -> Result<Vec<&'n Node<'t>>, YamlError> {
        match &untag(node).data {
            YamlData::Sequence(items) => Ok(items.iter().collect()),
            YamlData::Value(Scalar::Null) => Ok(Vec::new()),
            _ => Err(self.err(node, format!("{what}: expected a list"))),
        }
    }

    /// A list of strings.
    pub(crate) fn strings(&self, node: &Node<'t>, what: &str) -> Result<Vec<String>, YamlError> {
        self.seq(node, what)?.into_iter().map(|n| self.str(n, what)).collect()
    }

    /// A mapping of strings to strings (null is empty).
    pub(crate) fn string_map(&self, node: &Node<'t>, what: &str) -> Result<BTreeMap<String, String>, YamlError> {
        if matches!(untag(node).data, YamlData::Value(Scalar::Null)) {
            return Ok(BTreeMap::new());
        }
        let YamlData::Mapping(map) = &untag(node).data else {
            return Err(self.err(node, format!("{what}: expected a mapping of names to strings")));
        };
        map.iter().map(|(k, v)| Ok((self.str(k, what)?, self.str(v, what)?))).collect()
    }

    /// A Prometheus duration, in ms.
    pub(crate) fn duration_ms(&self, node: &Node<'_>, what: &str) -> Result<i64, YamlError> {
        let text = self.str(node, what)?;
        parse_prom_duration(&text).map_err(|e| self.err(node, format!("{what}: {e}")))
    }
}

/// A node without its tag.
fn untag<'n, 't>(node: &'n Node<'t>) -> &'n Node<'t> {
    match &node.data {
        YamlData::Tagged(_, inner) => inner,
        _ => node,
    }
}

/// A mapping's fields, in file order.
pub(crate) struct Fields<'n, 't> {
    fields: Vec<(String, &'n Node<'t>)>,
}

impl<'n, 't> Fields<'n, 't> {
    /// The value of `key`, if present and not null.
    pub(crate) fn get(&self, key: &str) -> Option<&'n Node<'t>> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .filter(|v| !matches!(untag(v).data, YamlData::Value(Scalar::Null)))
    }
}

/// Parses a Prometheus duration (`model.ParseDuration`): integer amounts of `y` (365d),
/// `w`, `d`, `h`, `m`, `s`, `ms`, largest first, such as `1h30m`; `0` alone is zero.
pub fn parse_prom_duration(text: &str) -> Result<i64, String> {
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let bad = || format!("`{text}` is not a Prometheus duration (e.g. `30s`, `5m`, `1h30m`)");
    if text == "0" {
        return Ok(0);
    }
    let (mut rest, mut total, mut last) = (text, 0i64, usize::MAX);
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        // `ms` before `m`: try the longer unit first.
        let unit = if rest.starts_with("ms") {
            6
        } else {
            UNITS.iter().position(|(u, _)| rest.starts_with(u)).ok_or_else(bad)?
        };
        if last != usize::MAX && unit <= last {
            return Err(bad());
        }
        last = unit;
        rest = &rest[UNITS[unit].0.len()..];
        total = n.checked_mul(UNITS[unit].1).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
    }
    Ok(total)
}

/// Formats ms as a Prometheus duration: `1h30m`, `500ms`, `0s`.
pub fn format_prom_duration(ms: i64) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    const UNITS: [(&str, i64); 5] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)];
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in UNITS {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// `text` as a YAML double-quoted scalar (JSON string escapes are YAML escapes).
pub(crate) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations_both_ways() {
        assert_eq!(parse_prom_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_prom_duration("500ms"), Ok(500));
        assert_eq!(parse_prom_duration("1m1ms"), Ok(60_001));
        assert_eq!(parse_prom_duration("2w1d"), Ok(15 * 86_400_000));
        assert_eq!(parse_prom_duration("0"), Ok(0));
        for bad in ["", "5", "1.5s", "30m1h", "1s1s", "-1s", "1x"] {
            assert!(parse_prom_duration(bad).is_err(), "{bad}");
        }
        for ms in [0, 1, 500, 15_000, 5_400_000, 90_061_001] {
            assert_eq!(parse_prom_duration(&format_prom_duration(ms)), Ok(ms.max(0)));
        }
        assert_eq!(format_prom_duration(5_400_000), "1h30m");
    }

    #[test]
    fn unknown_and_unsupported_keys_are_located() {
        let text = "groups:\n  - name: a\n    limit: 3\n";
        let (doc, root) = Doc::parse(text).unwrap();
        let root = root.unwrap();
        let top = doc.map(&root, "rule file", &["groups"], &[]).unwrap();
        let groups = doc.seq(top.get("groups").unwrap(), "groups").unwrap();
        let e = doc.map(groups[0], "group", &["name", "rules"], &["limit"]).err().unwrap();
        assert!(e.message.contains("`limit` is not supported"), "{}", e.message);
        assert_eq!(crate::diagnostic::line_column(text, e.span.start), (3, 5));
        let e = doc.map(groups[0], "group", &["name"], &[]).err().unwrap();
        assert!(e.message.contains("unknown field `limit`"), "{}", e.message);
        let e = Doc::parse("a: [").err().unwrap();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }

    #[test]
    fn hostile_documents_are_errors_not_crashes() {
        let deep = format!("groups: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Doc::parse(&deep).err().unwrap().message.contains("recursion limit"));
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            laughs.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        assert!(Doc::parse(&laughs).err().unwrap().message.contains("alias expansion"));
    }
}
