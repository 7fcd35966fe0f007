//! Small file helpers shared by every writer: atomic writes and reads with typed errors.
//!
//! [`write_atomically`] is public so that programs built on delgrad export their own results the
//! way delgrad does: a reader (or a crash) never sees a half-written file.

use std::fs;
use std::io::Write;
use std::path::Path;

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
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A sibling, so that the rename stays within one file system; named after the target so that
    // one left behind by a crash says what it was for.
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile creates owner-only files; results are meant to be read like any file the user
    // writes, so ask for what `File::create` asks for (the umask still applies).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // Dropping the temporary file on any error below deletes it.
    let mut tmp = builder.tempfile_in(dir).map_err(io_err)?;
    tmp.write_all(bytes).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    // Make the rename itself durable (best effort; not every platform can open a directory).
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.md");
        write_atomically(&path, b"a long first version\n").unwrap();
        write_atomically(&path, b"short\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short\n");
        assert_eq!(entries(dir.path()), ["table.md"]);
    }

    #[test]
    fn a_failed_write_is_a_typed_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = dir.path().join("no-such-dir").join("results.json");
        match write_atomically(&missing_dir, b"{}") {
            Err(Error::Io { path, source }) => {
                assert_eq!(path, missing_dir);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        // A directory in the way: the rename fails, the old entry and no temporary remain.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        assert!(matches!(
            write_atomically(&blocked, b"x"),
            Err(Error::Io { .. })
        ));
        assert!(blocked.is_dir());
        assert_eq!(entries(dir.path()), ["blocked"]);
        assert!(matches!(
            write_atomically(Path::new("/"), b"x"),
            Err(Error::Io { .. })
        ));
    }

    /// The written file gets the permissions a plain `File::create` would give it, not the
    /// owner-only ones of a temporary file.
    #[cfg(unix)]
    #[test]
    fn the_file_is_as_readable_as_a_plainly_created_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        fs::write(&plain, b"x").unwrap();
        let atomic = dir.path().join("atomic.txt");
        write_atomically(&atomic, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }
}
