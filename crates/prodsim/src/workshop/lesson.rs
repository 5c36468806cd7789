//! A lesson's `lesson.toml`: its schema (serde, with spans) and the checks that tie it to
//! the lesson's files, every problem an error at the file's line and column.

use std::collections::BTreeSet;
use std::fmt;

use prodsim_scenario::diagnostic::Diagnostic;
use serde::Deserialize;
use toml::Spanned;

/// The name every lesson's description has inside its folder.
pub const LESSON_FILE: &str = "lesson.toml";
/// The folder inside a lesson that holds its answer key.
pub const ANSWERS_DIR: &str = "answers";

/// A lesson file that cannot be used.
#[derive(Debug)]
pub enum LessonError {
    /// A problem at a place in a file.
    Invalid {
        /// The file, as it is shown (`workshop/01-ci-cd/lesson.toml`).
        path: String,
        /// Its text, for the snippet.
        text: String,
        /// What is wrong, where.
        diagnostic: Box<Diagnostic>,
    },
    /// Anything else: a folder that cannot be read, a lesson that does not exist.
    Other(String),
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LessonError::Invalid { path, diagnostic: d, .. } => {
                write!(f, "{path}:{}:{}: error: {}", d.line, d.column, d.message)
            }
            LessonError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for LessonError {}

/// `lesson.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonFile {
    /// What the lesson is.
    pub lesson: About,
    /// Its exercises, in order.
    #[serde(default, rename = "exercise")]
    pub exercises: Vec<Exercise>,
}

/// `[lesson]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    /// One line.
    pub title: String,
    /// Minutes an instructor should plan for it.
    pub minutes: u32,
    /// What the student can do afterwards.
    pub goals: Vec<String>,
    /// What happens in the scenario and why, in a paragraph or two.
    pub story: String,
    /// The scenario to run with `--narrate` first (one of the lesson's files).
    pub narrate: Spanned<String>,
}

/// `[[exercise]]`: predict, then run; judged by `[[exercise.expect]]` blocks on the run of
/// `file`, and/or by a prediction the student writes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Short name, unique in the lesson (`smallest-pool`).
    pub id: Spanned<String>,
    /// One line.
    pub title: String,
    /// What to predict and what to change.
    pub task: String,
    /// The scenario (one of the lesson's files) whose run judges it.
    pub file: Spanned<String>,
    /// Said when it is not solved.
    pub hint: String,
    /// Expectations in the scenario format's `[[expect]]` keys, checked on the run of
    /// `file` (the student's copy; the student cannot weaken them).
    #[serde(default)]
    pub expect: Vec<Spanned<toml::Table>>,
    /// A number the student predicts, compared with a `summary.json` value of the run.
    #[serde(default)]
    pub predict: Option<Prediction>,
}

/// `[exercise.predict]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// The file the student writes the number into (one of the lesson's files, TOML).
    pub file: Spanned<String>,
    /// The key of the number in it.
    pub key: String,
    /// The `summary.json` path of the value it predicts.
    pub metric: String,
    /// The value is multiplied by this before comparing (100 for a share in percent).
    #[serde(default = "one")]
    pub scale: f64,
    /// Largest distance between the prediction and the scaled value that still counts.
    pub within: f64,
}

fn one() -> f64 {
    1.0
}

/// Parses `text` (the lesson file shown as `path`) and checks it against the lesson's
/// `files` (paths inside the lesson folder).
pub fn parse(path: &str, text: &str, files: &BTreeSet<String>) -> Result<LessonFile, LessonError> {
    let invalid = |d: Diagnostic| LessonError::Invalid {
        path: path.to_string(),
        text: text.to_string(),
        diagnostic: Box::new(d),
    };
    let lesson: LessonFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        invalid(Diagnostic::error(text, span, e.message().trim().to_string()))
    })?;
    let known = |name: &Spanned<String>, what: &str| -> Result<(), LessonError> {
        if files.contains(name.get_ref()) {
            return Ok(());
        }
        let list: Vec<&str> = files.iter().map(String::as_str).filter(|f| !f.starts_with(ANSWERS_DIR)).collect();
        Err(invalid(Diagnostic::error(
            text,
            name.span(),
            format!("{what} `{}` is not a file of this lesson (files: {})", name.get_ref(), list.join(", ")),
        )))
    };
    known(&lesson.lesson.narrate, "lesson.narrate")?;
    if lesson.exercises.is_empty() {
        return Err(invalid(Diagnostic::error(text, 0..0, "a lesson needs at least one [[exercise]]")));
    }
    let mut ids = BTreeSet::new();
    for e in &lesson.exercises {
        if !ids.insert(e.id.get_ref().clone()) {
            return Err(invalid(Diagnostic::error(
                text,
                e.id.span(),
                format!("exercise id `{}` is used twice", e.id.get_ref()),
            )));
        }
        known(&e.file, "exercise.file")?;
        if let Some(p) = &e.predict {
            known(&p.file, "exercise.predict.file")?;
        }
        if e.expect.is_empty() && e.predict.is_none() {
            let message = format!(
                "exercise `{}` checks nothing: give it [[exercise.expect]] blocks or a predict",
                e.id.get_ref()
            );
            return Err(invalid(Diagnostic::error(text, e.id.span(), message)));
        }
    }
    Ok(lesson)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[lesson]
title = "t"
minutes = 10
goals = ["g"]
story = "s"
narrate = "a.toml"

[[exercise]]
id = "one"
title = "t"
task = "t"
file = "a.toml"
hint = "h"
[[exercise.expect]]
metric = "availability"
at_least = 0.99
"#;

    fn files() -> BTreeSet<String> {
        ["a.toml".to_string(), "lesson.toml".to_string()].into()
    }

    #[test]
    fn a_good_lesson_parses() {
        let l = parse("l.toml", GOOD, &files()).expect("parses");
        assert_eq!(l.exercises.len(), 1);
        assert_eq!(l.exercises[0].expect.len(), 1);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("l.toml", &GOOD.replace("hint =", "hnt ="), &files()).expect_err("fails");
        assert!(e.to_string().starts_with("l.toml:14:1: error: unknown field `hnt`"), "{e}");
        let e = parse("l.toml", &GOOD.replace("file = \"a.toml\"", "file = \"b.toml\""), &files()).expect_err("fails");
        assert_eq!(
            e.to_string(),
            "l.toml:13:8: error: exercise.file `b.toml` is not a file of this lesson (files: a.toml, lesson.toml)"
        );
    }
}
