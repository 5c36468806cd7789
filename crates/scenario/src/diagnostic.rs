//! Problems found in a scenario file, located by file, line and column.
//!
//! Every error or warning the loader reports is a [`Diagnostic`] with the byte span it is
//! about, so the CLI can render the offending line with a caret, and scripts get
//! `file:line:column: message`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The scenario cannot run.
    Error,
    /// The scenario runs, but probably not as its author meant.
    Warning,
}

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Byte range in the source text the problem is about.
    pub span: Range<usize>,
    /// 1-based line of the start of the span.
    pub line: usize,
    /// 1-based column (in characters) of the start of the span.
    pub column: usize,
    /// What is wrong, and what was expected.
    pub message: String,
    /// A suggestion, such as the nearest valid name.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic about `span` of `source`.
    pub fn new(severity: Severity, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(source.len());
        let (line, column) = line_column(source, start);
        Diagnostic {
            severity,
            span: start..span.end.clamp(start, source.len()),
            line,
            column,
            message: message.into(),
            help: None,
        }
    }

    /// An error about `span` of `source`.
    pub fn error(source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, source, span, message)
    }

    /// A warning about `span` of `source`.
    pub fn warning(source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, source, span, message)
    }

    /// Adds a suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// 1-based line and character column of byte `offset` in `source`.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Why a scenario could not be loaded.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    // The OS error is part of the message, not a chained source, so that it is printed once
    // however the error is rendered.
    #[error("cannot read {}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: std::io::Error,
    },
    /// The file is larger than [`crate::limits::MAX_FILE_BYTES`]; reading stopped there.
    #[error("{} is larger than {} MiB, the most a scenario file may be (docs/limits.md)", path.display(), limit_bytes / (1024 * 1024))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit_bytes: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{} is not UTF-8 text: {what}; save it as UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// What it is instead ("it is UTF-16 (little endian)", "byte 0xff at line 3, column 7").
        what: String,
    },
    /// The file was read but is malformed or impossible.
    #[error("{}", render_plain(path, diagnostics))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Its full text, for rendering snippets.
        source_text: String,
        /// Every error found (and any warnings found alongside them).
        diagnostics: Vec<Diagnostic>,
    },
}

/// `file:line:column: severity: message` lines, one per diagnostic.
pub fn render_plain(path: &Path, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&PlainDiagnostic { path, diagnostic: d }.to_string());
    }
    out
}

/// A diagnostic displayed as `file:line:column: severity: message (help: ...)`.
pub struct PlainDiagnostic<'a> {
    /// The file it is in.
    pub path: &'a Path,
    /// The diagnostic.
    pub diagnostic: &'a Diagnostic,
}

impl fmt::Display for PlainDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diagnostic;
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {kind}: {}", self.path.display(), d.line, d.column, d.message)?;
        if let Some(help) = &d.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 2).max(1) || c.starts_with(word) || word.starts_with(c))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        assert_eq!(line_column(src, 9), (2, 4));
        assert_eq!(line_column(src, 999), (3, 1));
    }

    #[test]
    fn nearest_finds_typos_only() {
        let names = ["round_robin", "random", "least_connections", "power_of_two"];
        assert_eq!(nearest("round_robbin", names), Some("round_robin"));
        assert_eq!(nearest("least_conn", names), Some("least_connections"));
        assert_eq!(nearest("zzzzzzzz", names), None);
    }

    #[test]
    fn plain_rendering_names_file_line_column() {
        let d = Diagnostic::error("x = 1\ny = 2", 6..7, "bad y").with_help("try z");
        let text = render_plain(Path::new("s.toml"), &[d]);
        assert_eq!(text, "s.toml:2:1: error: bad y (try z)");
    }
}
