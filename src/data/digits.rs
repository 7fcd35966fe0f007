//! The 8x8 handwritten digits (UCI "Optical Recognition of Handwritten Digits", the part of 1,797
//! images that scikit-learn ships), bundled with the crate.
//!
//! Each image is 64 pixel values, row-major, integers 0..16 (the number of set pixels in a 4x4
//! block of a 32x32 bitmap); labels are the digits 0..9. The data is CC BY 4.0 (E. Alpaydin and
//! C. Kaynak); `data/digits/README.md` gives the attribution and the split.
//!
//! The file has no official split; [`digits_split`] is the fixed one this crate uses.

use std::path::{Path, PathBuf};

use super::gz::{gunzip_if_gzipped, read_file};
use super::split::{split_items_unchecked, split_unchecked, DataSplits};
use super::ClassItem;
use crate::error::{Error, Result};

/// Pixels per image (8x8).
pub const DIGITS_FEATURES: usize = 64;
/// Largest pixel value.
pub const DIGITS_MAX_PIXEL: f64 = 16.0;
/// Number of classes (the digits 0..9).
pub const DIGITS_CLASSES: usize = 10;
/// Fractions `[train, validation, test]` of [`digits_split`].
pub const DIGITS_SPLIT_FRACTIONS: [f64; 3] = [0.6, 0.2, 0.2];
/// Seed of [`digits_split`].
pub const DIGITS_SPLIT_SEED: u64 = 0;

/// The gzipped CSV shipped in the repository.
const BUNDLED: &[u8] = include_bytes!("../../data/digits/digits.csv.gz");
/// How errors name the bundled file.
const BUNDLED_NAME: &str = "<bundled data/digits/digits.csv.gz>";

/// All 1,797 bundled images, in file order.
pub fn digits() -> Result<Vec<ClassItem>> {
    let path = PathBuf::from(BUNDLED_NAME);
    parse_digits(&gunzip_if_gzipped(BUNDLED.to_vec(), &path)?, &path)
}

/// Digits from a CSV file in the bundled format (gzipped or not, detected from its content):
/// one image a line, 64 pixel values in `[0, 16]` then the label `0..9`, comma-separated, no
/// header; blank lines are skipped. [`Error::MissingFile`] if there is no such file,
/// [`Error::MalformedRow`] with the line number for a bad row.
pub fn digits_from_path(path: impl AsRef<Path>) -> Result<Vec<ClassItem>> {
    let path = path.as_ref();
    parse_digits(&gunzip_if_gzipped(read_file(path)?, path)?, path)
}

/// The fixed split of the bundled digits: stratified, fractions 0.6/0.2/0.2, seed 0 (see
/// [`crate::data::split`] for the rule). 1,078 training, 360 validation and 359 test images.
pub fn digits_split() -> Result<DataSplits> {
    let items = digits()?;
    let labels: Vec<usize> = items.iter().map(|item| item.label).collect();
    let indices = split_unchecked(&labels, DIGITS_SPLIT_FRACTIONS, DIGITS_SPLIT_SEED);
    Ok(split_items_unchecked(items, &indices))
}

fn parse_digits(bytes: &[u8], path: &Path) -> Result<Vec<ClassItem>> {
    let malformed = |line: usize, reason: String| Error::MalformedRow {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| Error::MalformedFile {
        path: path.to_path_buf(),
        reason: format!("not UTF-8 text: {e}"),
    })?;
    let mut items = Vec::new();
    for (i, row) in text.lines().enumerate() {
        let line = i + 1;
        let row = row.trim();
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if fields.len() != DIGITS_FEATURES + 1 {
            return Err(malformed(
                line,
                format!(
                    "{} fields, expected {} pixels and a label",
                    fields.len(),
                    DIGITS_FEATURES
                ),
            ));
        }
        let mut features = Vec::with_capacity(DIGITS_FEATURES);
        for (j, field) in fields[..DIGITS_FEATURES].iter().enumerate() {
            match field.parse::<f64>() {
                Ok(v) if (0.0..=DIGITS_MAX_PIXEL).contains(&v) => features.push(v),
                _ => {
                    return Err(malformed(
                        line,
                        format!("pixel {j} is {field:?}, expected a number in [0, 16]"),
                    ))
                }
            }
        }
        let label_field = fields[DIGITS_FEATURES];
        let label = match label_field.parse::<usize>() {
            Ok(l) if l < DIGITS_CLASSES => l,
            _ => {
                return Err(malformed(
                    line,
                    format!("label is {label_field:?}, expected a digit 0..9"),
                ))
            }
        };
        items.push(ClassItem::new(features, label));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn class_counts(items: &[ClassItem]) -> Vec<usize> {
        let mut counts = vec![0; DIGITS_CLASSES];
        for item in items {
            counts[item.label] += 1;
        }
        counts
    }

    #[test]
    fn bundled_digits_decode() {
        let items = digits().unwrap();
        assert_eq!(items.len(), 1797);
        assert!(items.iter().all(|it| it.features.len() == 64));
        assert_eq!(
            class_counts(&items),
            vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
        // First row of the file: a zero.
        assert_eq!(items[0].label, 0);
        assert_eq!(
            &items[0].features[..8],
            &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
        );
        let max = items
            .iter()
            .flat_map(|it| it.features.iter().copied())
            .fold(0.0, f64::max);
        assert_eq!(max, 16.0);
    }

    #[test]
    fn the_fixed_split() {
        let s = digits_split().unwrap();
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (1078, 360, 359)
        );
        let [train, validation, test] = s.class_counts(DIGITS_CLASSES);
        assert_eq!(
            train,
            vec![107, 109, 106, 110, 109, 109, 109, 107, 104, 108]
        );
        assert_eq!(validation, vec![35, 37, 36, 36, 36, 37, 36, 36, 35, 36]);
        assert_eq!(test, vec![36, 36, 35, 37, 36, 36, 36, 36, 35, 36]);
        // Freeze a few members, so that a change of rand's StdRng or shuffle is noticed.
        let all = digits().unwrap();
        let labels: Vec<usize> = all.iter().map(|it| it.label).collect();
        let idx = split_unchecked(&labels, DIGITS_SPLIT_FRACTIONS, DIGITS_SPLIT_SEED);
        assert_eq!(
            (&idx.train[..5], &idx.validation[..5], &idx.test[..5]),
            (
                &[1usize, 2, 5, 6, 7][..],
                &[0usize, 3, 4, 12, 14][..],
                &[9usize, 11, 21, 25, 27][..]
            )
        );
        assert_eq!(s.test[0], all[idx.test[0]]);
    }

    #[test]
    fn from_path_plain_and_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let row0 = format!("{}5\n", "1,".repeat(64));
        let row1 = format!("{}9\n", "16,".repeat(64));
        let text = format!("{row0}\n{row1}");
        let plain = dir.path().join("d.csv");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("d.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for p in [&plain, &gz] {
            let items = digits_from_path(p).unwrap();
            assert_eq!(items.len(), 2);
            assert_eq!(items[0], ClassItem::new(vec![1.0; 64], 5));
            assert_eq!(items[1], ClassItem::new(vec![16.0; 64], 9));
        }
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.csv");
        assert!(matches!(
            digits_from_path(&missing),
            Err(Error::MissingFile { path, .. }) if path == missing
        ));
        let good = format!("{}5", "1,".repeat(64));
        let cases = [
            format!("{}5", "1,".repeat(63)),
            format!("{}10", "1,".repeat(64)),
            format!("{}x", "1,".repeat(64)),
            format!("{}17,5", "1,".repeat(63)),
            format!("{}-1,5", "1,".repeat(63)),
            format!("{}nan,5", "1,".repeat(63)),
        ];
        for bad in cases {
            let p = dir.path().join("bad.csv");
            std::fs::write(&p, format!("{good}\n{good}\n{bad}\n")).unwrap();
            match digits_from_path(&p) {
                Err(Error::MalformedRow { path, line, .. }) => {
                    assert_eq!(path, p);
                    assert_eq!(line, 3, "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
