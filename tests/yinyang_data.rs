//! The built-in Yin-Yang generator against the shipped splits (tests/fixtures/yinyang) and the
//! docs/model.md test vectors.

use std::path::PathBuf;

use delgrad::data::{
    class_counts, format_csv, read_csv, InputEncoding, Mt19937, Split, YinYang, YinYangDataset,
    YinYangSample,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("yinyang")
        .join(name)
}

/// Every x and y equal as f64 (`==`, bit for bit up to the sign of zero) and every label equal.
fn assert_identical(generated: &[YinYangSample], expected: &[YinYangSample], what: &str) {
    assert_eq!(generated.len(), expected.len(), "{what}: length");
    for (i, (g, e)) in generated.iter().zip(expected).enumerate() {
        assert!(
            g.x == e.x && g.y == e.y && g.label == e.label,
            "{what}: sample {i} generated {g:?}, file has {e:?}"
        );
    }
}

fn check_split(split: Split, file: &str, counts: [usize; 3]) {
    let expected = read_csv(fixture(file)).unwrap();
    let generated = YinYang::split(split);
    assert_eq!(generated.len(), split.size());
    assert_identical(&generated, &expected, file);
    assert_eq!(class_counts(&generated), counts, "{file}: class counts");
    // Writing the generated split reproduces the shipped file byte for byte.
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    assert!(
        format_csv(&generated).unwrap() == text,
        "{file}: written CSV differs"
    );
}

#[test]
fn train_split_matches_fixture() {
    check_split(Split::Train, "train.csv", [1681, 1702, 1617]);
    assert_eq!((Split::Train.size(), Split::Train.seed()), (5000, 42));
}

#[test]
fn validation_split_matches_fixture() {
    check_split(Split::Validation, "val.csv", [316, 336, 348]);
    assert_eq!(
        (Split::Validation.size(), Split::Validation.seed()),
        (1000, 41)
    );
}

#[test]
fn test_split_matches_fixture() {
    check_split(Split::Test, "test.csv", [350, 316, 334]);
    assert_eq!((Split::Test.size(), Split::Test.seed()), (1000, 40));
}

#[test]
fn shortcuts_are_the_standard_splits() {
    assert_eq!(YinYang::train(), YinYang::generate(5000, 42));
    assert_eq!(YinYang::validation(), YinYang::generate(1000, 41));
    assert_eq!(YinYang::test(), YinYang::generate(1000, 40));
    let ds = YinYangDataset::from_csv(fixture("val.csv")).unwrap();
    assert_identical(
        ds.samples(),
        YinYangDataset::validation().samples(),
        "dataset",
    );
}

/// docs/model.md: seed 42 gives class 2, then 0.7965429868602328, 0.1834347898661638; the
/// first training sample is (0.6803075385877797, 0.450499251969543), label 2.
#[test]
fn spec_test_vectors() {
    let mut rng = Mt19937::new(42);
    assert_eq!(rng.randint(3), 2);
    let x = rng.next_f64() * 2.0 * 0.5;
    let y = rng.next_f64() * 2.0 * 0.5;
    assert_eq!(x, 0.7965429868602328);
    assert_eq!(y, 0.1834347898661638);
    // That first point is in the disc but of class 0, not the goal 2, so the sampler draws on.
    assert!(YinYang::default().in_disc(x, y));
    assert_eq!(YinYang::default().which_class(x, y), 0);
    let first = YinYang::train()[0];
    assert_eq!(
        first,
        YinYangSample {
            x: 0.6803075385877797,
            y: 0.450499251969543,
            label: 2
        }
    );
}

#[test]
fn every_point_lies_in_the_unit_disc_with_its_class() {
    let yy = YinYang::default();
    for (name, samples) in [
        ("train", YinYang::train()),
        ("validation", YinYang::validation()),
        ("test", YinYang::test()),
    ] {
        for (i, s) in samples.iter().enumerate() {
            let r = ((s.x - 0.5).powi(2) + (s.y - 0.5).powi(2)).sqrt();
            assert!(r <= 0.5, "{name} sample {i} at radius {r}");
            assert!((0.0..=1.0).contains(&s.x) && (0.0..=1.0).contains(&s.y));
            assert_eq!(yy.which_class(s.x, s.y), s.label, "{name} sample {i}");
        }
    }
}

#[test]
fn encoding_of_the_first_training_sample() {
    let s = YinYang::train()[0];
    let t = InputEncoding::default().encode_sample(&s);
    let expected: Vec<f64> = [s.x, s.y, 1.0 - s.x, 1.0 - s.y]
        .iter()
        .map(|v| 0.15 + v * (2.0 - 0.15))
        .collect();
    assert_eq!(t, expected);
    let hw = InputEncoding::hardware().encode_sample(&s);
    assert_eq!(hw.len(), 20);
    assert!(hw
        .chunks(5)
        .zip(&expected)
        .all(|(c, e)| c.iter().all(|v| v == e)));
}
