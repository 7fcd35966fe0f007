//! Reading data files that may or may not be gzipped.
//!
//! Whether a file is gzipped is decided by its first two bytes (the gzip magic `1f 8b`), not by
//! its name: a renamed or already-decompressed file reads the same.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The bytes of a file; [`Error::MissingFile`] if it does not exist.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.to_path_buf(),
                also_tried: None,
            }
        } else {
            Error::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// `bytes` decompressed if they are a gzip stream (all members of it), else unchanged. `path`
/// names the source in errors.
pub(crate) fn gunzip_if_gzipped(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::MalformedFile {
            path: path.to_path_buf(),
            reason: format!("corrupt or truncated gzip stream: {e}"),
        })?;
    Ok(out)
}

/// The (decompressed) content of a file that may be gzipped.
pub(crate) fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    gunzip_if_gzipped(read_file(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_and_gzipped_read_the_same() {
        let p = Path::new("x");
        let data = b"hello, 1f 8b".to_vec();
        assert_eq!(gunzip_if_gzipped(data.clone(), p).unwrap(), data);
        assert_eq!(gunzip_if_gzipped(gzip(&data), p).unwrap(), data);
        // Concatenated members decompress to the concatenation.
        let two = [gzip(b"ab"), gzip(b"cd")].concat();
        assert_eq!(gunzip_if_gzipped(two, p).unwrap(), b"abcd");
    }

    #[test]
    fn truncated_gzip_is_malformed() {
        let z = gzip(&[7u8; 1000]);
        let err = gunzip_if_gzipped(z[..z.len() / 2].to_vec(), Path::new("half.gz")).unwrap_err();
        assert!(matches!(err, Error::MalformedFile { .. }), "{err}");
    }

    #[test]
    fn missing_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing-here");
        let err = read_maybe_gzipped(&path).unwrap_err();
        match err {
            Error::MissingFile {
                path: p,
                also_tried,
            } => {
                assert_eq!(p, path);
                assert!(also_tried.is_none());
            }
            other => panic!("{other}"),
        }
    }
}
