//! Embeds the built-in workshop lessons (`workshop/` at the repository root) into the
//! binary: a generated list of (path inside `workshop/`, `include_str!` of the file), sorted
//! by path, so `prodsim workshop` works from the installed binary with nothing else.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workshop");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    if root.is_dir() {
        walk(&root, &mut files);
    }
    files.sort();
    let mut out = String::from("/// The built-in lessons' files: (path inside `workshop/`, text), sorted by path.\n");
    out.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let rel = path.strip_prefix(&root).expect("under the root").to_string_lossy().replace('\\', "/");
        let abs = path.canonicalize().expect("a file that exists");
        out.push_str(&format!("    ({rel:?}, include_str!({:?})),\n", abs.display().to_string()));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lessons.rs");
    std::fs::write(dest, out).expect("write the lesson list");
}

/// Every file under `dir`, recursively; directories are watched for new files.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    println!("cargo::rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.is_file() {
            println!("cargo::rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
}
