//! MNIST from its standard IDX files, with optional downscaling, and a fixed split of the
//! 10,000-image test file for measurements.
//!
//! A directory holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each possibly gzipped and then
//! possibly named with `.gz` (see [`super::idx`]). Features are the raw pixel values 0..255 as
//! f64 (means of them when downscaled); labels are the digits.
//!
//! Nothing is downloaded: the user points at a directory that has the files.

use std::path::{Path, PathBuf};

use super::idx::{read_idx_images, read_idx_labels};
use super::split::{split_items_unchecked, split_unchecked, DataSplits};
use super::ClassItem;
use crate::error::{Error, Result};

/// Number of classes.
pub const MNIST_CLASSES: usize = 10;
/// Fractions `[train, validation, test]` of [`mnist_t10k_split`].
pub const MNIST_T10K_SPLIT_FRACTIONS: [f64; 3] = [0.6, 0.2, 0.2];
/// Seed of [`mnist_t10k_split`].
pub const MNIST_T10K_SPLIT_SEED: u64 = 0;

/// Which pair of MNIST files to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MnistPart {
    /// `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` (60,000 images).
    Train,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (10,000 images).
    Test,
}

impl MnistPart {
    /// The standard file names `(images, labels)`, without `.gz`.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            MnistPart::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            MnistPart::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }
    }
}

/// How [`mnist_with`] turns images into features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MnistOptions {
    /// `Some((rows, cols))`: area-average every image down (or up) to this size with
    /// [`downscale`]; `None`: the images as stored (28x28).
    pub size: Option<(usize, usize)>,
}

impl MnistOptions {
    /// 16x16 images, the size Fast & Deep (Göltz et al. 2021) trained its MNIST networks on.
    pub const SIZE_16: MnistOptions = MnistOptions {
        size: Some((16, 16)),
    };
}

/// One part of MNIST from `dir` at its stored size (see [`mnist_with`]).
pub fn mnist(dir: impl AsRef<Path>, part: MnistPart) -> Result<Vec<ClassItem>> {
    mnist_with(dir, part, &MnistOptions::default())
}

/// One part of MNIST from `dir`, images optionally resized. For each file the plain name is
/// used if it exists, else the name with `.gz` ([`Error::MissingFile`] naming both if neither
/// does). The image and label counts must agree ([`Error::CountMismatch`]) and labels must be
/// digits ([`Error::MalformedFile`]).
pub fn mnist_with(
    dir: impl AsRef<Path>,
    part: MnistPart,
    options: &MnistOptions,
) -> Result<Vec<ClassItem>> {
    let dir = dir.as_ref();
    let (images_name, labels_name) = part.file_names();
    let images_path = find_file(dir, images_name)?;
    let labels_path = find_file(dir, labels_name)?;
    let images = read_idx_images(&images_path)?;
    let labels = read_idx_labels(&labels_path)?;
    if images.count != labels.len() {
        return Err(Error::CountMismatch {
            images_path,
            images: images.count,
            labels_path,
            labels: labels.len(),
        });
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= MNIST_CLASSES)
    {
        return Err(Error::MalformedFile {
            path: labels_path,
            reason: format!("label {l} of item {i} is not a digit 0..9"),
        });
    }
    let size = images.rows * images.cols;
    let mut items = Vec::with_capacity(images.count);
    for (i, &label) in labels.iter().enumerate() {
        // In range: the reader checked that the file holds `count * rows * cols` pixels.
        let pixels = &images.pixels[i * size..(i + 1) * size];
        let features = match options.size {
            None => pixels.iter().map(|&p| f64::from(p)).collect(),
            Some((out_rows, out_cols)) => {
                downscale(pixels, images.rows, images.cols, out_rows, out_cols)?
            }
        };
        items.push(ClassItem::new(features, usize::from(label)));
    }
    Ok(items)
}

/// `dir/name` if it exists, else `dir/name.gz`.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let plain = dir.join(name);
    if plain.exists() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        return Ok(gz);
    }
    Err(Error::MissingFile {
        path: plain,
        also_tried: Some(gz),
    })
}

/// Resizes one row-major `rows x cols` image to `out_rows x out_cols` by area averaging: an
/// output pixel covers a `rows / out_rows` by `cols / out_cols` patch of the input, and its
/// value is the mean of the input pixels under that patch, each weighted by the area it
/// overlaps. Unlike nearest-neighbour or bilinear sampling this keeps every input pixel's
/// ink (the mean intensity of the image is unchanged) and does not alias thin strokes when
/// shrinking, and 28 to 16 is not an integer factor, so plain block means do not apply.
///
/// The weights are exact integers (overlaps measured in units of `1 / (out_rows * out_cols)`
/// of an input pixel) and each output is one division, so a constant image stays exactly
/// constant and an unchanged size returns the input values exactly. [`Error::Shape`] if
/// `pixels` is not `rows * cols` long, or if a non-empty output is asked of an empty image.
pub fn downscale(
    pixels: &[u8],
    rows: usize,
    cols: usize,
    out_rows: usize,
    out_cols: usize,
) -> Result<Vec<f64>> {
    if rows.checked_mul(cols) != Some(pixels.len()) {
        return Err(Error::Shape(format!(
            "downscale: {} pixels for a {rows}x{cols} image",
            pixels.len()
        )));
    }
    let n_out = out_rows
        .checked_mul(out_cols)
        .ok_or_else(|| Error::Shape(format!("downscale: {out_rows}x{out_cols} is too large")))?;
    if n_out == 0 {
        return Ok(Vec::new());
    }
    if pixels.is_empty() {
        return Err(Error::Shape(format!(
            "downscale: a {out_rows}x{out_cols} image from an empty {rows}x{cols} one"
        )));
    }
    let row_weights = overlaps(rows, out_rows)?;
    let col_weights = overlaps(cols, out_cols)?;
    let denominator = rows as f64 * cols as f64;
    let mut out = Vec::with_capacity(n_out);
    for rw in &row_weights {
        for cw in &col_weights {
            let mut numerator: u128 = 0;
            for &(r, wr) in rw {
                for &(c, wc) in cw {
                    numerator += u128::from(wr * wc) * u128::from(pixels[r * cols + c]);
                }
            }
            out.push(numerator as f64 / denominator);
        }
    }
    Ok(out)
}

/// For each of `n_out` output cells along one axis, the input cells it overlaps and by how
/// much. Output cell `o` spans `[o * n_in, (o + 1) * n_in)` and input cell `k` spans
/// `[k * n_out, (k + 1) * n_out)` on a common integer grid, so the overlaps of one output cell
/// sum to `n_in`.
fn overlaps(n_in: usize, n_out: usize) -> Result<Vec<Vec<(usize, u64)>>> {
    let too_large = || Error::Shape(format!("downscale: {n_in} to {n_out} is too large"));
    let n_in = u64::try_from(n_in).map_err(|_| too_large())?;
    let n_out64 = u64::try_from(n_out).map_err(|_| too_large())?;
    n_in.checked_mul(n_out64).ok_or_else(too_large)?;
    Ok((0..n_out64)
        .map(|o| {
            let (start, end) = (o * n_in, (o + 1) * n_in);
            (start / n_out64..end.div_ceil(n_out64))
                .map(|k| {
                    let overlap = end.min((k + 1) * n_out64) - start.max(k * n_out64);
                    (k as usize, overlap)
                })
                .collect()
        })
        .collect())
}

/// The fixed split of the 10,000-image MNIST test file used for measurements here when the
/// training file is not available: stratified by class, fractions 0.6/0.2/0.2, seed 0 (see
/// [`crate::data::split`] for the rule). On the standard file (class counts 980, 1135, 1032,
/// 1010, 982, 892, 958, 1028, 974, 1009 for the digits 0 to 9) that is 5,999 training, 2,001
/// validation and 2,000 test images; per class:
///
/// | part       | 0   | 1   | 2   | 3   | 4   | 5   | 6   | 7   | 8   | 9   |
/// |------------|-----|-----|-----|-----|-----|-----|-----|-----|-----|-----|
/// | training   | 588 | 681 | 619 | 606 | 589 | 535 | 575 | 617 | 584 | 605 |
/// | validation | 196 | 227 | 207 | 202 | 197 | 179 | 191 | 205 | 195 | 202 |
/// | test       | 196 | 227 | 206 | 202 | 196 | 178 | 192 | 206 | 195 | 202 |
///
/// Random rather than by position on purpose: the first 5,000 images of that file come from
/// cleaner writers than the last 5,000, so a cut by position would be biased. Results on this
/// split are not comparable with published numbers for the full MNIST benchmark.
pub fn mnist_t10k_split(items: Vec<ClassItem>) -> DataSplits {
    let labels: Vec<usize> = items.iter().map(|item| item.label).collect();
    let indices = split_unchecked(&labels, MNIST_T10K_SPLIT_FRACTIONS, MNIST_T10K_SPLIT_SEED);
    split_items_unchecked(items, &indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::{gzip, idx_bytes};
    use crate::data::idx::{IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};

    /// Writes a 3-image 2x2 `part` into `dir`, images gzipped or not.
    fn write_part(dir: &Path, part: MnistPart, gz: bool, labels: &[u8]) {
        let (img, lab) = part.file_names();
        let images = idx_bytes(
            IDX_IMAGES_MAGIC,
            &[3, 2, 2],
            &[0, 255, 10, 20, 1, 2, 3, 4, 9, 9, 9, 9],
        );
        let labels = idx_bytes(IDX_LABELS_MAGIC, &[labels.len() as u32], labels);
        if gz {
            std::fs::write(dir.join(format!("{img}.gz")), gzip(&images)).unwrap();
        } else {
            std::fs::write(dir.join(img), images).unwrap();
        }
        std::fs::write(dir.join(lab), labels).unwrap();
    }

    #[test]
    fn reads_both_parts() {
        let dir = tempfile::tempdir().unwrap();
        write_part(dir.path(), MnistPart::Train, true, &[3, 0, 9]);
        write_part(dir.path(), MnistPart::Test, false, &[1, 2, 3]);
        let train = mnist(dir.path(), MnistPart::Train).unwrap();
        assert_eq!(train.len(), 3);
        assert_eq!(train[0], ClassItem::new(vec![0.0, 255.0, 10.0, 20.0], 3));
        assert_eq!(train[2], ClassItem::new(vec![9.0; 4], 9));
        let test = mnist(dir.path(), MnistPart::Test).unwrap();
        assert_eq!(test[1], ClassItem::new(vec![1.0, 2.0, 3.0, 4.0], 2));
        // Downscaled to 1x1: the mean of each image.
        let small = mnist_with(
            dir.path(),
            MnistPart::Test,
            &MnistOptions { size: Some((1, 1)) },
        )
        .unwrap();
        assert_eq!(small[0].features, vec![285.0 / 4.0]);
        assert_eq!(small[2].features, vec![9.0]);
    }

    #[test]
    fn missing_files_name_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        match mnist(dir.path(), MnistPart::Test) {
            Err(Error::MissingFile { path, also_tried }) => {
                assert_eq!(path, dir.path().join("t10k-images-idx3-ubyte"));
                assert_eq!(
                    also_tried,
                    Some(dir.path().join("t10k-images-idx3-ubyte.gz"))
                );
            }
            other => panic!("{other:?}"),
        }
        // Images there, labels not.
        write_part(dir.path(), MnistPart::Test, false, &[1, 2, 3]);
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        assert!(matches!(
            mnist(dir.path(), MnistPart::Test),
            Err(Error::MissingFile { path, .. }) if path.ends_with("t10k-labels-idx1-ubyte")
        ));
    }

    #[test]
    fn counts_must_agree_and_labels_be_digits() {
        let dir = tempfile::tempdir().unwrap();
        write_part(dir.path(), MnistPart::Test, false, &[1, 2]);
        match mnist(dir.path(), MnistPart::Test) {
            Err(Error::CountMismatch { images, labels, .. }) => {
                assert_eq!((images, labels), (3, 2))
            }
            other => panic!("{other:?}"),
        }
        write_part(dir.path(), MnistPart::Test, false, &[1, 10, 2]);
        match mnist(dir.path(), MnistPart::Test) {
            Err(Error::MalformedFile { path, reason }) => {
                assert!(path.ends_with("t10k-labels-idx1-ubyte"));
                assert!(reason.contains("label 10 of item 1"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn downscale_by_area() {
        // 2x2 blocks of a 4x4 image: plain block means.
        let img: Vec<u8> = (0..16).collect();
        let out = downscale(&img, 4, 4, 2, 2).unwrap();
        assert_eq!(out, vec![2.5, 4.5, 10.5, 12.5]);
        // A non-integer factor: 3 -> 2 columns; the middle input is shared half and half.
        let out = downscale(&[30, 60, 90], 1, 3, 1, 2).unwrap();
        assert_eq!(out, vec![(30.0 + 30.0) / 1.5, (30.0 + 90.0) / 1.5]);
        // Unchanged size is the identity; a constant image stays constant at 28 -> 16.
        let img: Vec<u8> = (0..28 * 28).map(|i| (i * 7 % 256) as u8).collect();
        let same = downscale(&img, 28, 28, 28, 28).unwrap();
        assert_eq!(same, img.iter().map(|&p| f64::from(p)).collect::<Vec<_>>());
        let flat = downscale(&[77; 28 * 28], 28, 28, 16, 16).unwrap();
        assert_eq!(flat, vec![77.0; 256]);
        // The mean intensity is kept.
        let small = downscale(&img, 28, 28, 16, 16).unwrap();
        let mean_in = img.iter().map(|&p| f64::from(p)).sum::<f64>() / 784.0;
        let mean_out = small.iter().sum::<f64>() / 256.0;
        assert!((mean_in - mean_out).abs() < 1e-9, "{mean_in} vs {mean_out}");
    }

    #[test]
    fn downscale_rejects_bad_shapes() {
        assert!(matches!(
            downscale(&[1, 2, 3], 2, 2, 1, 1),
            Err(Error::Shape(_))
        ));
        assert!(matches!(downscale(&[], 0, 0, 1, 1), Err(Error::Shape(_))));
        assert_eq!(
            downscale(&[1, 2, 3, 4], 2, 2, 0, 5).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn t10k_split_is_stratified() {
        let items: Vec<ClassItem> = (0..100)
            .map(|i| ClassItem::new(vec![i as f64], i % 10))
            .collect();
        let s = mnist_t10k_split(items.clone());
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (60, 20, 20)
        );
        for counts in s.class_counts(10) {
            let n = counts[0];
            assert!(counts.iter().all(|&c| c == n));
        }
        assert_eq!(s, mnist_t10k_split(items));
    }
}
