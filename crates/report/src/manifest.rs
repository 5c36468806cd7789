//! A report folder as one set: `manifest.json`, written last, lists every file of the run
//! with its size and SHA-256. A reader trusts the folder when the manifest is there and
//! every file matches it; while a run writes (or after it was killed mid-write) there is no
//! manifest, so a folder never passes for a mix of two runs.
//!
//! [`begin`] opens a folder for a new set: it removes the old manifest first, and the
//! hidden temporary files that killed writers left behind. [`seal`] then removes the files
//! of the old set that the new one did not rewrite, and writes the manifest. [`verify`]
//! checks a folder as a reader would.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ReportError;
use crate::atomic::{ensure_dir, write_atomic};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// One file of a set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the contents, lower-case hex.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of this format.
    pub manifest_version: u32,
    /// The prodsim that wrote the set.
    pub prodsim_version: String,
    /// Every file of the set, by path.
    pub files: Vec<Entry>,
}

/// A folder opened for a new set: what the old set held.
#[derive(Debug)]
pub struct Opened {
    dir: PathBuf,
    previous: Vec<String>,
}

/// Opens `dir` (created if missing) for a new set: the old manifest goes first, then
/// stale temporary files of writers that are no longer running.
pub fn begin(dir: &Path) -> Result<Opened, ReportError> {
    ensure_dir(dir)?;
    let manifest = dir.join(MANIFEST);
    let previous = read(&manifest).map(|m| m.files.into_iter().map(|e| e.path).collect()).unwrap_or_default();
    match std::fs::remove_file(&manifest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(reason) => return Err(ReportError { path: manifest, reason }),
    }
    remove_stale_temporaries(dir);
    Ok(Opened { dir: dir.to_path_buf(), previous })
}

/// Seals the set: files of the old set not in `written` are removed, and the manifest of
/// `written` (those inside the folder) is written last. Returns the manifest's path.
pub fn seal(opened: Opened, written: &[PathBuf]) -> Result<PathBuf, ReportError> {
    let mut files = Vec::new();
    for path in written {
        let Ok(relative) = path.strip_prefix(&opened.dir) else { continue };
        let name = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        if name == MANIFEST || files.iter().any(|e: &Entry| e.path == name) {
            continue;
        }
        let (bytes, sha256) = digest(path).map_err(|reason| ReportError { path: path.clone(), reason })?;
        files.push(Entry { path: name, bytes, sha256 });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for old in &opened.previous {
        if !files.iter().any(|e| &e.path == old) && !old.contains("..") {
            let _ = std::fs::remove_file(opened.dir.join(old));
        }
    }
    let manifest = Manifest { manifest_version: 1, prodsim_version: env!("CARGO_PKG_VERSION").to_string(), files };
    let path = opened.dir.join(MANIFEST);
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Why a folder is not one complete set.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// No manifest: a run is writing, was killed mid-write, or the folder is no report.
    #[error("no {MANIFEST}: the set is incomplete")]
    NoManifest,
    /// A listed file is missing or differs from the manifest.
    #[error("{0} does not match {MANIFEST}")]
    Mismatch(String),
}

/// Checks `dir` as a reader would: a manifest, and every file it lists as it says.
pub fn verify(dir: &Path) -> Result<Manifest, Untrusted> {
    let manifest = read(&dir.join(MANIFEST)).ok_or(Untrusted::NoManifest)?;
    for e in &manifest.files {
        match digest(&dir.join(&e.path)) {
            Ok((bytes, sha256)) if bytes == e.bytes && sha256 == e.sha256 => {}
            Ok(_) | Err(_) => return Err(Untrusted::Mismatch(e.path.clone())),
        }
    }
    Ok(manifest)
}

fn read(path: &Path) -> Option<Manifest> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Size and SHA-256 (hex) of the file at `path`.
fn digest(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, hex))
}

/// Removes `.NAME.PID.N.tmp` files (see [`write_atomic`]) whose writer is not running.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = temporary_writer(&name) else { continue };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The writer's process id, when `name` is one of [`write_atomic`]'s temporary files.
fn temporary_writer(name: &str) -> Option<u32> {
    let stem = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = stem.rsplitn(3, '.');
    let _counter: u64 = parts.next()?.parse().ok()?;
    parts.next()?.parse().ok()
}

/// Whether process `pid` is running (Linux: it has a `/proc` entry; elsewhere a writer is
/// assumed gone, as a report folder is not shared by two live runs).
fn process_alive(pid: u32) -> bool {
    cfg!(target_os = "linux") && Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("prodsim-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_sealed_set_verifies_and_a_changed_file_does_not() {
        let d = dir("seal");
        let opened = begin(&d).expect("begin");
        assert_eq!(verify(&d), Err(Untrusted::NoManifest));
        write_atomic(&d.join("a.json"), b"{}").expect("write");
        seal(opened, &[d.join("a.json")]).expect("seal");
        let m = verify(&d).expect("verifies");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].sha256, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        std::fs::write(d.join("a.json"), b"{ }").expect("tamper");
        assert_eq!(verify(&d), Err(Untrusted::Mismatch("a.json".into())));
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn a_new_set_removes_the_old_sets_other_files_and_stale_temporaries() {
        let d = dir("replace");
        let opened = begin(&d).expect("begin");
        for f in ["a.txt", "b.txt"] {
            write_atomic(&d.join(f), f.as_bytes()).expect("write");
        }
        seal(opened, &[d.join("a.txt"), d.join("b.txt")]).expect("seal");
        std::fs::write(d.join(".a.txt.999999999.3.tmp"), b"torn").expect("stale");
        std::fs::write(d.join("notes.md"), b"mine").expect("foreign");
        let opened = begin(&d).expect("begin");
        assert!(!d.join(".a.txt.999999999.3.tmp").exists(), "a dead writer's temporary is removed");
        write_atomic(&d.join("a.txt"), b"new").expect("write");
        seal(opened, &[d.join("a.txt")]).expect("seal");
        assert!(!d.join("b.txt").exists(), "the old set's file the new one did not write is gone");
        assert!(d.join("notes.md").exists(), "files that were never part of a set stay");
        assert_eq!(verify(&d).expect("verifies").files.len(), 1);
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn temporary_names_give_their_writer() {
        assert_eq!(temporary_writer(".summary.json.1234.7.tmp"), Some(1234));
        assert_eq!(temporary_writer("summary.json"), None);
        assert_eq!(temporary_writer(".x.tmp"), None);
    }
}
