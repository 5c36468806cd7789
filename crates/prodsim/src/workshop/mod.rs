//! The curriculum behind `prodsim workshop`: lessons as data (a folder per lesson with
//! `lesson.toml`, scenario and exercise files and an answer key), where they come from
//! (built in, or an instructor's folder), copying one into a working folder, and judging
//! a student's work. The CLI (`cli/workshop.rs`) only prints what these return.

pub mod catalog;
pub mod judge;
pub mod lesson;

use std::path::{Path, PathBuf};

use catalog::Lesson;

/// Copies the lesson's student files into `dir` (created if needed) and returns the paths
/// written; refuses to overwrite an existing file unless `force`.
pub fn start(lesson: &Lesson, dir: &Path, force: bool) -> Result<Vec<PathBuf>, String> {
    let targets: Vec<(PathBuf, &String)> = lesson.student_files().map(|(rel, text)| (dir.join(rel), text)).collect();
    if !force {
        let existing: Vec<String> =
            targets.iter().filter(|(p, _)| p.exists()).map(|(p, _)| p.display().to_string()).collect();
        if !existing.is_empty() {
            return Err(format!(
                "{} already exist{}; pass --force to overwrite (your edits there would be lost) or choose another --dir",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            ));
        }
    }
    let mut written = Vec::new();
    for (path, text) in targets {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
