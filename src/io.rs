//! Small file helpers shared by every writer: atomic writes and reads with typed errors.
//!
//! [`write_atomically`] is public so that programs built on delgrad export their own results the
//! way delgrad does: a reader (or a crash) never sees a half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Reads a file and parses it: [`Error::Io`] when it cannot be read, [`Error::MalformedFile`]
/// (with the path and `parse`'s reason) when its content is not valid.
pub(crate) fn load_file<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> std::result::Result<T, String>,
) -> Result<T> {
    let bytes = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes).map_err(|reason| Error::MalformedFile {
        path: path.to_path_buf(),
        reason,
    })
}

/// Writes `bytes` to `path` through a temporary sibling file, fsync and rename: `path` holds
/// either its previous content or all of `bytes`, never a part. The directory must exist; any
/// failure is an [`Error::Io`] naming `path`, and the temporary file is removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(source));
    }
    // Make the rename itself durable (best effort; not every platform can open a directory).
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("delgrad-io-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary_behind() {
        let dir = scratch("replace");
        let path = dir.join("table.md");
        write_atomically(&path, b"a long first version\n").unwrap();
        write_atomically(&path, b"short\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short\n");
        assert_eq!(entries(&dir), ["table.md"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_is_a_typed_error_and_changes_nothing() {
        let dir = scratch("fail");
        let missing_dir = dir.join("no-such-dir").join("results.json");
        match write_atomically(&missing_dir, b"{}") {
            Err(Error::Io { path, .. }) => assert_eq!(path, missing_dir),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        // A directory in the way: the rename fails, the old entry and no temporary remain.
        let blocked = dir.join("blocked");
        fs::create_dir(&blocked).unwrap();
        assert!(matches!(
            write_atomically(&blocked, b"x"),
            Err(Error::Io { .. })
        ));
        assert!(blocked.is_dir());
        assert_eq!(entries(&dir), ["blocked"]);
        assert!(matches!(
            write_atomically(Path::new("/"), b"x"),
            Err(Error::Io { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
