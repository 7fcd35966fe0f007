//! Reading and writing Yin-Yang samples as `x,y,label` CSV.
//!
//! The format is the one of the shipped splits: a header line `x,y,label`, then one sample per
//! line, coordinates written as the shortest decimal that round-trips (Python's `repr(float)`),
//! the label as an integer 0, 1 or 2, lines ending in `\n`. [`write_csv`] reproduces the shipped
//! files byte for byte; [`read_csv`] also accepts `\r\n` line endings, blanks around fields and
//! empty lines (skipped, as CSV readers commonly do).

use std::path::Path;

use super::yinyang::{YinYangSample, NUM_CLASSES};
use crate::error::{Error, Result};

/// The header line of the format.
pub const CSV_HEADER: &str = "x,y,label";

/// Reads samples from an `x,y,label` CSV file.
///
/// Errors: [`Error::Io`] if the file cannot be read, [`Error::MalformedFile`] (naming the
/// line) if the header is missing or wrong, a line has other than 3 fields, a coordinate is not
/// a finite number, or a label is not 0, 1 or 2.
pub fn read_csv(path: impl AsRef<Path>) -> Result<Vec<YinYangSample>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(&text).map_err(|e| match e {
        Error::Malformed(reason) => Error::MalformedFile {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })
}

/// Parses `x,y,label` CSV text. Errors are [`Error::Malformed`] naming the line; see
/// [`read_csv`] for what is checked.
pub fn parse_csv(text: &str) -> Result<Vec<YinYangSample>> {
    // Field counts are checked here rather than by the reader, to name the expected fields.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(1, |p| line_at(text, p.byte()));
        Error::Malformed(format!("line {line}: {e}"))
    };
    let header = reader.headers().map_err(csv_err)?;
    if header.is_empty() {
        return Err(Error::Malformed(format!(
            "empty file, expected header `{CSV_HEADER}`"
        )));
    }
    if !header.iter().eq(CSV_HEADER.split(',')) {
        let line = header.position().map_or(1, |p| line_at(text, p.byte()));
        return Err(Error::Malformed(format!(
            "line {line}: expected header `{CSV_HEADER}`, got `{}`",
            join(header)
        )));
    }
    let mut samples = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        let bad = |reason: String| {
            let line = record.position().map_or(1, |p| line_at(text, p.byte()));
            Error::Malformed(format!("line {line}: {reason}"))
        };
        if record.len() != 3 {
            return Err(bad(format!(
                "expected 3 fields `x,y,label`, got {} in `{}`",
                record.len(),
                join(&record)
            )));
        }
        let coord = |name: &str, s: &str| -> Result<f64> {
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                Ok(v) => Err(bad(format!("{name} must be finite, got {v}"))),
                Err(_) => Err(bad(format!("{name} `{s}` is not a number"))),
            }
        };
        let x = coord("x", &record[0])?;
        let y = coord("y", &record[1])?;
        let label = match record[2].parse::<usize>() {
            Ok(l) if l < NUM_CLASSES => l,
            _ => return Err(bad(format!("label `{}` is not one of 0, 1, 2", &record[2]))),
        };
        samples.push(YinYangSample { x, y, label });
    }
    Ok(samples)
}

/// The 1-based line of the record the reader started reading at byte `start`. The reader's own
/// line numbers are not used: a record's position is where reading resumed after the previous
/// record, so it lags behind skipped empty lines and the `\n` of a `\r\n` ending.
fn line_at(text: &str, start: u64) -> usize {
    let start = usize::try_from(start).map_or(text.len(), |s| s.min(text.len()));
    let skipped = text.as_bytes()[start..]
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    1 + text.as_bytes()[..start + skipped]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// A record's fields as they would be written, for messages.
fn join(record: &csv::StringRecord) -> String {
    record.iter().collect::<Vec<_>>().join(",")
}

/// Formats samples as `x,y,label` CSV text (header included, every line ending in `\n`).
///
/// Errors: [`Error::Malformed`] if a coordinate is not finite or a label is not 0, 1 or 2
/// (the file could not be read back).
pub fn format_csv(samples: &[YinYangSample]) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(40 * (samples.len() + 1)));
    // Writing into memory fails only on a bug of ours; still an error, not a panic.
    let write_err = |e: csv::Error| Error::Malformed(format!("cannot format CSV: {e}"));
    writer
        .write_record(CSV_HEADER.split(','))
        .map_err(write_err)?;
    for (i, s) in samples.iter().enumerate() {
        if !(s.x.is_finite() && s.y.is_finite()) || s.label >= NUM_CLASSES {
            return Err(Error::Malformed(format!(
                "sample {i} ({}, {}, label {}) cannot be written: coordinates must be finite and the label 0, 1 or 2",
                s.x, s.y, s.label
            )));
        }
        writer
            .write_record([py_repr(s.x), py_repr(s.y), s.label.to_string()])
            .map_err(write_err)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Malformed(format!("cannot format CSV: {}", e.error())))?;
    String::from_utf8(bytes).map_err(|e| Error::Malformed(format!("cannot format CSV: {e}")))
}

/// Writes samples to an `x,y,label` CSV file (see [`format_csv`]), atomically.
pub fn write_csv(path: impl AsRef<Path>, samples: &[YinYangSample]) -> Result<()> {
    let path = path.as_ref();
    let text = format_csv(samples).map_err(|e| match e {
        Error::Malformed(reason) => Error::MalformedFile {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })?;
    crate::io::write_atomically(path, text.as_bytes())
}

/// A finite f64 written like Python's `repr(float)`: the shortest round-tripping digits, in
/// positional notation if the decimal exponent is in [-4, 16) (always with a fractional part,
/// `1.0`), otherwise in scientific notation with a signed exponent of at least two digits
/// (`1e-05`, `1.5e+16`).
pub fn py_repr(v: f64) -> String {
    debug_assert!(v.is_finite());
    // Rust's `{:e}` gives the shortest round-tripping digits: `d[.ddd]e<exp>`.
    let sci = format!("{:e}", v);
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` output has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp < 0 {
            // 0.000ddd
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if exp + 1 >= n {
            // ddd000.0
            format!("{sign}{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        let cases: [(f64, &str); 16] = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.5, "0.5"),
            (0.1, "0.1"),
            (123.25, "123.25"),
            (0.6803075385877797, "0.6803075385877797"),
            (0.450499251969543, "0.450499251969543"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (3.2e-5, "3.2e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
        ];
        for (v, expected) in cases {
            assert_eq!(py_repr(v), expected, "repr of {v:e}");
        }
    }

    #[test]
    fn round_trip() {
        let samples = vec![
            YinYangSample {
                x: 0.6803075385877797,
                y: 0.450499251969543,
                label: 2,
            },
            YinYangSample {
                x: 1e-7,
                y: 0.999999999999,
                label: 0,
            },
        ];
        let text = format_csv(&samples).unwrap();
        assert!(text.starts_with("x,y,label\n0.6803075385877797,0.450499251969543,2\n"));
        assert_eq!(parse_csv(&text).unwrap(), samples);
        // CRLF, blanks and empty lines are accepted too.
        let crlf = text.replace('\n', "\r\n").replace(',', " , ");
        assert_eq!(parse_csv(&crlf).unwrap(), samples);
        let gaps = format!("\n{}\n\n", text.replacen('\n', "\n\n", 2));
        assert_eq!(parse_csv(&gaps).unwrap(), samples);
        assert!(parse_csv("x,y,label\n").unwrap().is_empty());
    }

    #[test]
    fn malformed_input_is_rejected() {
        let bad = [
            ("", "empty file"),
            ("a,b,c\n", "line 1"),
            ("x,y,label\n0.1,0.2\n", "line 2: expected 3 fields"),
            (
                "x,y,label\n0.1,0.2,1\n0.1,0.2,1,4\n",
                "line 3: expected 3 fields",
            ),
            ("x,y,label\n0.1,zz,1\n", "line 2: y `zz` is not a number"),
            ("x,y,label\nnan,0.2,1\n", "line 2: x must be finite"),
            ("x,y,label\n0.1,0.2,3\n", "line 2: label `3`"),
            ("x,y,label\n0.1,0.2,-1\n", "line 2: label `-1`"),
            ("x,y,label\n0.1,0.2,1.0\n", "line 2: label `1.0`"),
            ("x,y,label\n \n", "line 2: expected 3 fields"),
            // Lines are counted across skipped empty lines and `\r\n` endings.
            (
                "x,y,label\r\n0.1,0.2,1\r\n\r\n\r\n0.1,0.2,5\r\n",
                "line 5: label `5`",
            ),
            ("\nx,y\n", "line 2: expected header"),
        ];
        for (text, msg) in bad {
            match parse_csv(text) {
                Err(Error::Malformed(reason)) => {
                    assert!(reason.contains(msg), "`{reason}` lacks `{msg}`")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let nan = [YinYangSample {
            x: f64::NAN,
            y: 0.0,
            label: 0,
        }];
        assert!(matches!(format_csv(&nan), Err(Error::Malformed(_))));
        let label = [YinYangSample {
            x: 0.0,
            y: 0.0,
            label: 3,
        }];
        assert!(matches!(format_csv(&label), Err(Error::Malformed(_))));
    }

    #[test]
    fn file_errors_are_typed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let missing = dir.join("missing.csv");
        assert!(matches!(read_csv(&missing), Err(Error::Io { .. })));
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "x,y,label\n0.1,0.2,7\n").unwrap();
        match read_csv(&bad) {
            Err(Error::MalformedFile { path, reason }) => {
                assert_eq!(path, bad);
                assert!(reason.contains("line 2"));
            }
            other => panic!("{other:?}"),
        }
        let good = dir.join("good.csv");
        let samples = crate::data::YinYang::generate(20, 1);
        write_csv(&good, &samples).unwrap();
        assert_eq!(read_csv(&good).unwrap(), samples);
    }
}
