//! Walking a dotted path through the tree, and the nearest valid path when it goes wrong.

use super::tree::{Length, Names, Needs, Node, SUMMARY};
use super::{Found, Leaf, PathError, Reason, SummaryPaths};
use crate::diagnostic::nearest;

/// The segments of a dotted path with their byte offsets.
fn segments(path: &str) -> Vec<(usize, &str)> {
    let mut at = 0;
    path.split('.')
        .map(|s| {
            let out = (at, s);
            at += s.len() + 1;
            out
        })
        .collect()
}

/// The key of `keys` nearest to `word` (as the loader's did-you-mean); among equally near
/// keys, the one sharing the longest prefix with `word`, then the last in order (`p98`
/// gives `p99`, not `p90`).
fn nearest_key<'k>(word: &str, keys: &[&'k str]) -> Option<&'k str> {
    let best = nearest(word, keys.iter().copied())?;
    let distance = strsim::damerau_levenshtein(word, best);
    let prefix = |k: &str| k.chars().zip(word.chars()).take_while(|(a, b)| a == b).count();
    keys.iter().copied().filter(|k| strsim::damerau_levenshtein(word, k) == distance).max_by_key(|k| (prefix(k), *k))
}

/// A name of `names`' family with dots that `rest` (the path from the name on) starts
/// with: the path splits at its dots, so the report cannot read it.
fn dotted_name(names: Names, known: &[String], rest: &str, offset: usize) -> Option<PathError> {
    let v = known.iter().find(|v| v.contains('.') && (rest == v.as_str() || rest.starts_with(&format!("{v}."))))?;
    Some(PathError {
        span: offset..offset + v.len(),
        reason: Reason::Unreadable,
        message: format!(
            "the {} `{v}` has dots, and a metric path splits at every dot: it cannot be read",
            names.what().0
        ),
        suggestion: None,
    })
}

/// A name the scenario does not give to a key of `names`' family.
fn unknown_name(names: Names, known: &[String], segment: &str, offset: usize) -> PathError {
    let (one, many) = names.what();
    let listed = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    PathError {
        span: offset..offset + segment.len(),
        reason: Reason::UnknownName,
        message: format!("this scenario has no {one} `{segment}` ({many}: {listed})"),
        suggestion: None,
    }
}

impl SummaryPaths {
    pub(super) fn walk(&self, path: &str) -> Result<Leaf, PathError> {
        let mut node = &SUMMARY;
        let parts = segments(path);
        for &(offset, segment) in &parts {
            let walked = &path[..offset.saturating_sub(1)];
            let full = &path[..offset + segment.len()];
            let error = |reason, message: String| PathError {
                span: offset..offset + segment.len(),
                reason,
                message,
                suggestion: None,
            };
            node = match node {
                Node::Leaf(_) => {
                    let message = format!("`{walked}` is a value, not an object: no key `{segment}`");
                    return Err(error(Reason::BelowLeaf, message));
                }
                Node::Object(fields) => match self.find(fields, segment) {
                    Found::Present(child) => child,
                    Found::Absent(Needs::Never) => {
                        let message = format!(
                            "`{full}` holds the verdicts of the expectations, which are evaluated before it is written; an expectation cannot check another"
                        );
                        return Err(error(Reason::Unreadable, message));
                    }
                    Found::Absent(needs) => {
                        let message = format!(
                            "summary.json has `{full}` only with {}, which this scenario has not",
                            needs.describe()
                        );
                        return Err(error(Reason::Absent, message));
                    }
                    Found::Missing => {
                        return Err(error(Reason::UnknownKey, format!("summary.json has no key `{full}`")));
                    }
                },
                Node::Named(Names::Labels, child) => child,
                Node::Named(names, child) => {
                    let known = self.names(*names);
                    if let Some(e) = dotted_name(*names, &known, &path[offset..], offset) {
                        return Err(e);
                    }
                    if !known.iter().any(|n| n == segment) {
                        return Err(unknown_name(*names, &known, segment, offset));
                    }
                    child
                }
                Node::List(length, child) => {
                    self.index(*length, walked, segment, offset)?;
                    child
                }
            };
        }
        match node {
            Node::Leaf(leaf) => Ok(*leaf),
            other => Err(PathError {
                span: 0..path.len(),
                reason: Reason::NotALeaf,
                message: self.not_a_leaf(path, other),
                suggestion: None,
            }),
        }
    }

    /// Checks a list index: a number, below the list's length when that is known.
    fn index(&self, length: Length, walked: &str, segment: &str, offset: usize) -> Result<(), PathError> {
        let span = offset..offset + segment.len();
        let Ok(i) = segment.parse::<usize>() else {
            let message = format!("`{walked}` is a list: index it with a number (0 for the first element)");
            return Err(PathError { span, reason: Reason::BadIndex, message, suggestion: None });
        };
        match self.length(length) {
            Some((n, what)) if i >= n => {
                let range = if n == 0 { String::new() } else { format!(", numbered 0 to {}", n - 1) };
                let message = format!("no element {i} in `{walked}`: this scenario has {n} {what}{range}");
                Err(PathError { span, reason: Reason::BadIndex, message, suggestion: None })
            }
            _ => Ok(()),
        }
    }

    fn not_a_leaf(&self, path: &str, node: &Node) -> String {
        match node {
            Node::Object(fields) => {
                let keys: Vec<&str> = self.keys(fields).into_iter().map(|(k, _)| k).collect();
                format!("`{path}` is an object: name one of its keys ({})", keys.join(", "))
            }
            Node::Named(Names::Labels, _) => format!("`{path}` is an object: name a label"),
            Node::Named(names, _) => {
                format!("`{path}` is an object: name one of its {} ({})", names.what().1, self.names(*names).join(", "))
            }
            Node::List(..) => format!("`{path}` is a list: index an element, e.g. `{path}.0`"),
            Node::Leaf(_) => String::new(),
        }
    }

    /// The nearest valid path: each wrong segment replaced by its nearest key (an index
    /// put in where a list needs one), or else the shortest path that ends in `path`.
    pub(super) fn suggest(&self, path: &str) -> Option<String> {
        let valid = |p: &String| self.walk(p).is_ok();
        self.correct(path).filter(valid).or_else(|| {
            let tail = format!(".{path}");
            self.templates()
                .into_iter()
                .map(|t| t.path.replace("<n>", "0"))
                .filter(|p| p.ends_with(&tail) && valid(p))
                .min_by_key(String::len)
        })
    }

    fn correct(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('.').collect();
        self.correct_from(&SUMMARY, &segments).map(|fixed| fixed.join("."))
    }

    /// `segments` read from `node` on, each wrong one replaced by its nearest; `None` when
    /// some segment has no near key or the path does not end at a value.
    fn correct_from(&self, node: &Node, segments: &[&str]) -> Option<Vec<String>> {
        let Some((&segment, rest)) = segments.split_first() else {
            return matches!(node, Node::Leaf(_)).then(Vec::new);
        };
        let (fixed, tail) = match node {
            Node::Leaf(_) => return None,
            Node::Object(fields) => {
                let keys = self.keys(fields);
                let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
                let k = if names.contains(&segment) { segment } else { nearest_key(segment, &names)? };
                let child = keys.iter().find(|(name, _)| *name == k).map(|(_, n)| *n)?;
                (k.to_string(), self.correct_from(child, rest)?)
            }
            Node::Named(Names::Labels, child) => (segment.to_string(), self.correct_from(child, rest)?),
            Node::Named(names, child) => {
                let known = self.names(*names);
                let names: Vec<&str> = known.iter().map(String::as_str).collect();
                let k = if names.contains(&segment) { segment } else { nearest_key(segment, &names)? };
                (k.to_string(), self.correct_from(child, rest)?)
            }
            Node::List(length, child) => match segment.parse::<usize>() {
                Ok(i) => {
                    let last = self.length(*length).map(|(n, _)| n.saturating_sub(1));
                    (last.map_or(i, |l| i.min(l)).to_string(), self.correct_from(child, rest)?)
                }
                // An index left out (read the segment again below it), or a word for one.
                Err(_) => {
                    ("0".to_string(), self.correct_from(child, segments).or_else(|| self.correct_from(child, rest))?)
                }
            },
        };
        Some(std::iter::once(fixed).chain(tail).collect())
    }
}
