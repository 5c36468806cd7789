//! `prodsim workshop check`: runs the student's copies of a lesson's files (or the lesson's
//! answer key) and judges each exercise: its `[[exercise.expect]]` blocks are appended to
//! the student's scenario (so they cannot be weakened) and evaluated on its run, and a
//! prediction is compared with the run's `summary.json` value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prodsim_report::ExpectationResult;
use prodsim_scenario::expect::{Check, Comparison, Expectation};
use prodsim_scenario::{Loaded, ScenarioError};

use super::catalog::Lesson;
use super::lesson::{Exercise, LessonError, Prediction};
use prodsim_scenario::diagnostic::Diagnostic;
use toml::Spanned;

/// Whose files are judged.
#[derive(Clone, Copy, Debug)]
pub enum Work<'a> {
    /// The student's working folder.
    Folder(&'a Path),
    /// The lesson's answer key (`answers/`, over the lesson's files).
    AnswerKey,
}

/// One exercise's verdict.
#[derive(Debug)]
pub struct Verdict {
    /// The exercise's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Whether every check held.
    pub solved: bool,
    /// One line per check: what it wanted and what the run gave.
    pub checks: Vec<String>,
    /// The lesson's hint (shown when not solved).
    pub hint: String,
}

/// Why a lesson could not be judged.
#[derive(Debug)]
pub enum JudgeError {
    /// The student's scenario does not load (its diagnostics name the place).
    Scenario(ScenarioError),
    /// The lesson itself is wrong (an expectation that does not fit its scenario).
    Lesson(LessonError),
    /// Anything else, in words.
    Other(String),
}

impl From<ScenarioError> for JudgeError {
    fn from(e: ScenarioError) -> Self {
        JudgeError::Scenario(e)
    }
}

/// A judged file's text and the path it is shown as.
fn read(lesson: &Lesson, work: Work<'_>, file: &str) -> Result<(PathBuf, String), JudgeError> {
    match work {
        Work::Folder(dir) => {
            let path = dir.join(file);
            if !path.is_file() {
                return Err(JudgeError::Other(format!(
                    "{} is missing: run `prodsim workshop start {} --dir {}` first",
                    path.display(),
                    lesson.slug,
                    dir.display()
                )));
            }
            Ok((path.clone(), prodsim_scenario::read_text(&path)?))
        }
        Work::AnswerKey => {
            let text =
                lesson.answer(file).ok_or_else(|| JudgeError::Other(format!("{}: no file {file}", lesson.origin)))?;
            Ok((PathBuf::from(format!("{}/answers/{file}", lesson.origin)), text.clone()))
        }
    }
}

/// Judges every exercise of `lesson` on `work`, in the lesson's order; each scenario file
/// runs once for all the exercises that use it.
pub fn check(lesson: &Lesson, work: Work<'_>) -> Result<Vec<Verdict>, JudgeError> {
    let mut by_file: BTreeMap<&str, Vec<&Exercise>> = BTreeMap::new();
    for e in &lesson.about.exercises {
        by_file.entry(e.file.get_ref().as_str()).or_default().push(e);
    }
    let mut verdicts: BTreeMap<String, Verdict> = BTreeMap::new();
    for (file, exercises) in by_file {
        let (path, text) = read(lesson, work, file)?;
        let (loaded, own) = load_with(lesson, &path, &text, &exercises)?;
        let scenario = &loaded.scenario;
        let outcome = prodsim_model::simulate(scenario, scenario.seed)
            .map_err(|e| JudgeError::Other(format!("run of {} stopped: {e}", path.display())))?;
        let judged = &scenario.expectations[own..];
        let results = prodsim_report::expect::evaluate(judged, &outcome);
        let mut results = judged.iter().zip(results).map(|(e, r)| undefined_alert(scenario, e, r));
        for e in exercises {
            let mut checks = Vec::new();
            let mut solved = true;
            for r in results.by_ref().take(e.expect.len()) {
                solved &= r.met;
                checks.push(format!("{}: {} ({})", r.name, if r.met { "met" } else { "NOT met" }, r.actual));
            }
            if let Some(p) = &e.predict {
                let (ok, line) = prediction(lesson, work, p, &outcome)?;
                solved &= ok;
                checks.push(line);
            }
            let v =
                Verdict { id: e.id.get_ref().clone(), title: e.title.clone(), solved, checks, hint: e.hint.clone() };
            verdicts.insert(v.id.clone(), v);
        }
    }
    Ok(lesson.about.exercises.iter().filter_map(|e| verdicts.remove(e.id.get_ref())).collect())
}

/// An alert expectation on an alert the student has not written yet is not met, even
/// `never_fires` (an alert that does not exist trivially never fires).
fn undefined_alert(scenario: &prodsim_scenario::Scenario, e: &Expectation, r: ExpectationResult) -> ExpectationResult {
    let Check::Alert { alert, .. } = &e.check else { return r };
    let names = scenario.topology.monitoring.as_ref().map(|m| m.alert_names()).unwrap_or_default();
    if names.contains(alert) {
        return r;
    }
    ExpectationResult { met: false, actual: format!("there is no alert rule named `{alert}` in the file yet"), ..r }
}

/// Loads `text` with the exercises' expectations appended; returns the scenario and how
/// many expectations the file itself had (they come first and are not judged).
fn load_with(lesson: &Lesson, path: &Path, text: &str, exercises: &[&Exercise]) -> Result<(Loaded, usize), JudgeError> {
    let own = prodsim_scenario::load_str(text, path)?.scenario.expectations.len();
    let tables = exercises.iter().flat_map(|e| e.expect.iter());
    let mut full = text.to_string();
    for table in tables.clone() {
        full.push_str(&expect_block(table));
    }
    match prodsim_scenario::load_str(&full, path) {
        Ok(loaded) => Ok((loaded, own)),
        // Find the block that does not fit, to point at it in lesson.toml.
        Err(err) => {
            let culprit = tables
                .clone()
                .find(|t| prodsim_scenario::load_str(&(text.to_string() + &expect_block(t)), path).is_err());
            let message = match &err {
                ScenarioError::Invalid { diagnostics, .. } => {
                    diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")
                }
                other => other.to_string(),
            };
            let file = format!("{}/{}", lesson.origin, super::lesson::LESSON_FILE);
            let source = &lesson.files[super::lesson::LESSON_FILE];
            let span = culprit.map_or(0..0, Spanned::span);
            let d = Diagnostic::error(
                source,
                span,
                format!("this [[exercise.expect]] does not fit {}: {message}", path.display()),
            );
            Err(JudgeError::Lesson(LessonError::Invalid { path: file, text: source.clone(), diagnostic: Box::new(d) }))
        }
    }
}

/// One `[[exercise.expect]]` table as an `[[expect]]` block to append to a scenario.
fn expect_block(table: &Spanned<toml::Table>) -> String {
    // A table of TOML values always serializes.
    let body = toml::to_string(table.get_ref()).unwrap_or_default();
    format!("\n[[expect]]\n{body}")
}

/// Compares the student's number with the run's value: (solved, what to say).
fn prediction(
    lesson: &Lesson,
    work: Work<'_>,
    p: &Prediction,
    outcome: &prodsim_model::Outcome,
) -> Result<(bool, String), JudgeError> {
    let (path, text) = read(lesson, work, p.file.get_ref())?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| JudgeError::Other(format!("{}: not TOML: {}", path.display(), e.message().trim())))?;
    let guess = match table.get(&p.key) {
        Some(toml::Value::Integer(i)) => *i as f64,
        Some(toml::Value::Float(f)) if f.is_finite() => *f,
        _ => {
            let said = format!(
                "prediction `{}` in {}: not written yet (write a number, `{} = 42`)",
                p.key,
                path.display(),
                p.key
            );
            return Ok((false, said));
        }
    };
    let probe = Expectation {
        name: p.metric.clone(),
        check: Check::Metric { path: p.metric.clone(), comparison: Comparison::AtLeast(f64::NEG_INFINITY) },
    };
    let result: Vec<ExpectationResult> = prodsim_report::expect::evaluate(&[probe], outcome);
    // The verdict shows the value with its unit ("1667.2 ms", "2.5 per week"): the number
    // comes first.
    let number = |r: &prodsim_report::ExpectationResult| r.actual.split_whitespace().next()?.parse::<f64>().ok();
    let actual = result.first().and_then(number).map(|v| v * p.scale);
    let Some(actual) = actual else {
        let why = result.first().map_or(String::new(), |r| r.actual.clone());
        return Err(JudgeError::Other(format!("{}: predict.metric `{}`: {why}", lesson.origin, p.metric)));
    };
    let ok = (guess - actual).abs() <= p.within;
    let verdict = if ok { "close enough" } else { "too far" };
    Ok((
        ok,
        format!("prediction `{}` = {guess}: the run gave {actual:.3} ({verdict}; within {} counts)", p.key, p.within),
    ))
}
