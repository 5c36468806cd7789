//! Where lessons come from: the built-in ones embedded in the binary at build time
//! (`workshop/` at the repository root, see `build.rs`), and an instructor's folder of
//! lessons (`--lessons DIR` or `PRODSIM_LESSONS`) that adds to them (a lesson with a
//! built-in one's name replaces it). A lesson is a folder `NN-slug/` with `lesson.toml`,
//! its scenario and exercise files, and `answers/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::lesson::{self, ANSWERS_DIR, LESSON_FILE, LessonError, LessonFile};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/lessons.rs"));
}

/// Largest file a lesson folder may hold (lessons are small text files).
const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most files one lesson may hold.
const MAX_FILES: usize = 64;

/// One lesson: its name, where it came from, its files and its parsed `lesson.toml`.
#[derive(Debug)]
pub struct Lesson {
    /// The folder's name, `NN-slug`.
    pub slug: String,
    /// `workshop/NN-slug` for a built-in lesson, the folder's path otherwise.
    pub origin: String,
    /// Every file by its path inside the folder (`/`-separated), with its text.
    pub files: BTreeMap<String, String>,
    /// The parsed lesson file.
    pub about: LessonFile,
}

impl Lesson {
    /// The files `start` copies: everything but `lesson.toml` and the answer key.
    pub fn student_files(&self) -> impl Iterator<Item = (&String, &String)> {
        self.files.iter().filter(|(p, _)| p.as_str() != LESSON_FILE && !p.starts_with(&format!("{ANSWERS_DIR}/")))
    }

    /// The answer key's version of `file`, or the lesson's own when the key leaves it as is.
    pub fn answer(&self, file: &str) -> Option<&String> {
        self.files.get(&format!("{ANSWERS_DIR}/{file}")).or_else(|| self.files.get(file))
    }
}

/// Every lesson, sorted by name: the built-in ones, with `extra`'s added or replacing.
pub fn load(extra: Option<&Path>) -> Result<Vec<Lesson>, LessonError> {
    let mut by_slug: BTreeMap<String, Lesson> = BTreeMap::new();
    let mut grouped: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (path, text) in embedded::FILES {
        if let Some((slug, rest)) = path.split_once('/') {
            grouped.entry(slug).or_default().insert(rest.to_string(), (*text).to_string());
        }
    }
    for (slug, files) in grouped {
        if files.contains_key(LESSON_FILE) {
            let lesson = build(slug, format!("workshop/{slug}"), files)?;
            by_slug.insert(slug.to_string(), lesson);
        }
    }
    if let Some(dir) = extra {
        for lesson in from_dir(dir)? {
            by_slug.insert(lesson.slug.clone(), lesson);
        }
    }
    Ok(by_slug.into_values().collect())
}

/// The lesson `name` names: its folder name (`02-load-balancers`), its number (`2`, `02`)
/// or its name without the number (`load-balancers`).
pub fn find<'a>(lessons: &'a [Lesson], name: &str) -> Result<&'a Lesson, LessonError> {
    let number =
        |slug: &str| slug.split_once('-').map(|(n, rest)| (n.trim_start_matches('0').to_string(), rest.to_string()));
    let wanted = name.trim_start_matches('0');
    let found =
        lessons.iter().find(|l| l.slug == name || number(&l.slug).is_some_and(|(n, rest)| n == wanted || rest == name));
    found.ok_or_else(|| {
        let names: Vec<&str> = lessons.iter().map(|l| l.slug.as_str()).collect();
        let near = prodsim_scenario::diagnostic::nearest(name, names.iter().copied())
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        LessonError::Other(format!(
            "no lesson `{name}`{near}; `prodsim workshop list` shows them: {}",
            names.join(", ")
        ))
    })
}

fn build(slug: &str, origin: String, files: BTreeMap<String, String>) -> Result<Lesson, LessonError> {
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let text = &files[LESSON_FILE];
    let about = lesson::parse(&format!("{origin}/{LESSON_FILE}"), text, &names)?;
    Ok(Lesson { slug: slug.to_string(), origin, files, about })
}

/// The lessons in `dir`: each sub-folder with a `lesson.toml`.
fn from_dir(dir: &Path) -> Result<Vec<Lesson>, LessonError> {
    let unreadable = |p: &Path, e: std::io::Error| LessonError::Other(format!("cannot read {}: {e}", p.display()));
    let mut folders: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(LESSON_FILE).is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(LessonError::Other(format!(
            "{}: no lessons here (a lesson is a folder with a {LESSON_FILE})",
            dir.display()
        )));
    }
    let mut lessons = Vec::new();
    for folder in folders {
        let mut files = BTreeMap::new();
        read_tree(&folder, &folder, &mut files)?;
        let slug = folder.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        lessons.push(build(&slug, folder.display().to_string(), files)?);
    }
    Ok(lessons)
}

fn read_tree(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) -> Result<(), LessonError> {
    let unreadable = |p: &Path, e: String| LessonError::Other(format!("cannot read {}: {e}", p.display()));
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e.to_string()))?;
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            read_tree(root, &path, files)?;
            continue;
        }
        let size = path.metadata().map_err(|e| unreadable(&path, e.to_string()))?.len();
        if size > MAX_FILE_BYTES || files.len() >= MAX_FILES {
            return Err(unreadable(&path, format!("a lesson holds at most {MAX_FILES} files of at most 1 MiB")));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e.to_string()))?;
        let rel: Vec<String> = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        files.insert(rel.join("/"), text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_lesson_parses_and_is_found_by_number_and_name() {
        let lessons = load(None).expect("built-in lessons parse");
        assert!(!lessons.is_empty());
        for l in &lessons {
            assert_eq!(find(&lessons, &l.slug).ok().map(|f| &f.slug), Some(&l.slug));
            let (n, rest) = l.slug.split_once('-').expect("NN-slug");
            assert_eq!(find(&lessons, n).ok().map(|f| &f.slug), Some(&l.slug));
            assert_eq!(find(&lessons, rest).ok().map(|f| &f.slug), Some(&l.slug));
        }
        assert!(find(&lessons, "no-such-lesson").is_err());
    }
}
