//! Atomic file writes: a report is either the old file or the complete new one, never a
//! torn half, even if the process dies mid-write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::ReportError;

/// Writes `bytes` to `path` through a hidden temporary file in the same directory (created
/// if missing), flushed to disk, then renamed over `path`. The temporary name carries the
/// process id and a counter, so parallel writers in one process never share one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let err = |reason| ReportError { path: path.to_path_buf(), reason };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    ensure_dir(&dir).map_err(|e| ReportError { path: path.to_path_buf(), reason: e.reason })?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: leave no temp file behind; the original error is what matters.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Creates `dir` and its parents if missing; a file in the way is said as such ("… is a
/// file, not a directory"), not as the OS's "File exists".
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|reason| {
        let blocker = dir.ancestors().find(|a| a.is_file());
        match blocker {
            Some(file) => ReportError {
                path: dir.to_path_buf(),
                reason: std::io::Error::other(format!("{} is a file, not a directory", file.display())),
            },
            None => ReportError { path: dir.to_path_buf(), reason },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("prodsim-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("a.txt");
        write_atomic(&path, b"one").expect("write");
        write_atomic(&path, b"two").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let err = write_atomic(Path::new("/proc/prodsim-cannot-write-here/x.json"), b"x").unwrap_err();
        assert!(err.to_string().contains("/proc/prodsim-cannot-write-here/x.json"), "{err}");
    }
}
