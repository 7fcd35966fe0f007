//! The IDX file format of MNIST: a big-endian `u32` magic number, one big-endian `u32` per
//! dimension, then the unsigned bytes of the array, row-major.
//!
//! Only the two kinds MNIST uses are read: images (magic 2051: unsigned bytes, 3 dimensions
//! `count x rows x cols`) and labels (magic 2049: unsigned bytes, 1 dimension). Files may be
//! gzipped; that is detected from their first bytes, not their name. A file must hold exactly
//! the bytes its header announces: fewer is [`Error::Truncated`], more is
//! [`Error::MalformedFile`] (trailing bytes usually mean two files were concatenated or the
//! header is wrong). Byte counts in errors are of the decompressed content, header included.

use std::path::Path;

use super::gz::read_maybe_gzipped;
use crate::error::{Error, Result};

/// Magic number of an IDX file of unsigned bytes in 3 dimensions (MNIST images).
pub const IDX_IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX file of unsigned bytes in 1 dimension (MNIST labels).
pub const IDX_LABELS_MAGIC: u32 = 2049;

/// The images of an IDX3 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// `count * rows * cols` pixel values, image after image, each row-major.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// The pixels of image `i`, row-major; `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let size = self.rows * self.cols;
        let start = i.checked_mul(size)?;
        if i >= self.count {
            return None;
        }
        self.pixels.get(start..start + size)
    }
}

/// Reads an IDX3 image file (magic 2051), gzipped or not.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let bytes = read_maybe_gzipped(path)?;
    let (dims, data) = parse_idx(bytes, path, IDX_IMAGES_MAGIC, 3)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: data,
    })
}

/// Reads an IDX1 label file (magic 2049), gzipped or not.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = read_maybe_gzipped(path)?;
    let (_, data) = parse_idx(bytes, path, IDX_LABELS_MAGIC, 1)?;
    Ok(data)
}

/// Checks the header of `bytes` and returns its dimensions and the data after it.
fn parse_idx(
    mut bytes: Vec<u8>,
    path: &Path,
    magic: u32,
    n_dims: usize,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let header_len = 4 * (1 + n_dims);
    let truncated = |expected: u64, found: usize| Error::Truncated {
        path: path.to_path_buf(),
        expected,
        found: found as u64,
    };
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() < 4 {
        return Err(truncated(header_len as u64, bytes.len()));
    }
    let found = word(0);
    if found != magic {
        return Err(Error::BadMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
        });
    }
    if bytes.len() < header_len {
        return Err(truncated(header_len as u64, bytes.len()));
    }
    let dims: Vec<usize> = (0..n_dims).map(|d| word(4 + 4 * d) as usize).collect();
    // u32 dimensions multiply past u64 only in a corrupt header; say so instead of overflowing.
    let data_len = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|n| n.checked_add(header_len as u64))
        .ok_or_else(|| Error::MalformedFile {
            path: path.to_path_buf(),
            reason: format!("header dimensions {dims:?} describe more than 2^64 bytes"),
        })?;
    if (bytes.len() as u64) < data_len {
        return Err(truncated(data_len, bytes.len()));
    }
    if (bytes.len() as u64) > data_len {
        return Err(Error::MalformedFile {
            path: path.to_path_buf(),
            reason: format!(
                "{} bytes after the {data_len} its header announces",
                bytes.len() as u64 - data_len
            ),
        });
    }
    bytes.drain(..header_len);
    Ok((dims, bytes))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// An IDX file of unsigned bytes with these dimensions.
    pub(crate) fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn reads_plain_and_gzipped_files() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 10) as u8).collect();
        let images = idx_bytes(IDX_IMAGES_MAGIC, &[2, 3, 4], &pixels);
        let labels = idx_bytes(IDX_LABELS_MAGIC, &[2], &[7, 1]);
        // A gzipped file under a plain name: the content decides, not the name.
        for (name, bytes) in [
            ("plain", images.clone()),
            ("gz.gz", gzip(&images)),
            ("gz-no-suffix", gzip(&images)),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let got = read_idx_images(&p).unwrap();
            assert_eq!((got.count, got.rows, got.cols), (2, 3, 4), "{name}");
            assert_eq!(got.pixels, pixels, "{name}");
            assert_eq!(got.image(1).unwrap(), &pixels[12..]);
            assert!(got.image(2).is_none());
        }
        for (name, bytes) in [("l", labels.clone()), ("l.gz", gzip(&labels))] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(read_idx_labels(&p).unwrap(), vec![7, 1]);
        }
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("absent-idx3-ubyte");
        assert!(matches!(read_idx_images(&p), Err(Error::MissingFile { path, .. }) if path == p));
        assert!(matches!(read_idx_labels(&p), Err(Error::MissingFile { path, .. }) if path == p));
    }

    #[test]
    fn wrong_magic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels-as-images");
        std::fs::write(&p, gzip(&idx_bytes(IDX_LABELS_MAGIC, &[1], &[3]))).unwrap();
        match read_idx_images(&p) {
            Err(Error::BadMagic {
                path,
                found,
                expected,
            }) => {
                assert_eq!(path, p);
                assert_eq!((found, expected), (2049, 2051));
            }
            other => panic!("{other:?}"),
        }
        let q = dir.path().join("images-as-labels");
        std::fs::write(&q, idx_bytes(IDX_IMAGES_MAGIC, &[1, 1, 1], &[3])).unwrap();
        assert!(matches!(
            read_idx_labels(&q),
            Err(Error::BadMagic {
                found: 2051,
                expected: 2049,
                ..
            })
        ));
    }

    #[test]
    fn truncated_data_and_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("short");
        // Header says 2 images of 2x2 (8 bytes of data), 5 are there.
        let bytes = idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 2], &[1, 2, 3, 4, 5]);
        for gz in [false, true] {
            let content = if gz { gzip(&bytes) } else { bytes.clone() };
            std::fs::write(&p, content).unwrap();
            match read_idx_images(&p) {
                Err(Error::Truncated {
                    path,
                    expected,
                    found,
                }) => {
                    assert_eq!(path, p);
                    assert_eq!((expected, found), (16 + 8, 16 + 5));
                }
                other => panic!("{other:?}"),
            }
        }
        // Cut inside the header and inside the magic.
        std::fs::write(&p, &bytes[..10]).unwrap();
        assert!(matches!(
            read_idx_images(&p),
            Err(Error::Truncated {
                expected: 16,
                found: 10,
                ..
            })
        ));
        std::fs::write(&p, &bytes[..2]).unwrap();
        assert!(matches!(
            read_idx_labels(&p),
            Err(Error::Truncated {
                expected: 8,
                found: 2,
                ..
            })
        ));
        // Labels: 3 announced, 2 present.
        std::fs::write(&p, idx_bytes(IDX_LABELS_MAGIC, &[3], &[1, 2])).unwrap();
        assert!(matches!(
            read_idx_labels(&p),
            Err(Error::Truncated {
                expected: 11,
                found: 10,
                ..
            })
        ));
    }

    #[test]
    fn trailing_bytes_and_absurd_headers_are_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("long");
        std::fs::write(&p, idx_bytes(IDX_LABELS_MAGIC, &[1], &[1, 2])).unwrap();
        assert!(matches!(
            read_idx_labels(&p),
            Err(Error::MalformedFile { .. })
        ));
        let huge = u32::MAX;
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[huge, huge, huge], &[])).unwrap();
        assert!(matches!(
            read_idx_images(&p),
            Err(Error::MalformedFile { .. })
        ));
        // Large but representable: an ordinary truncation, nothing allocated for it.
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[huge, 28, 28], &[])).unwrap();
        assert!(matches!(read_idx_images(&p), Err(Error::Truncated { .. })));
    }
}
