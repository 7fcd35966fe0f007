//! Reproduction of the four reference Yin-Yang networks trained by the authors' code: loading the
//! `delgrad-network` files, encoding the 1000 test samples and running the f64 evaluator must give
//! every recorded output spike time to 1e-9 and exactly the published test accuracies.
//!
//! Fixtures (see tests/fixtures/README.md): `reference/<name>.json`,
//! `reference/<name>_test_output_times.csv` (`sample,label,t0,t1,t2`, `inf` = no spike) and
//! `yinyang/test.csv` (`x,y,label`).

use std::path::PathBuf;

use delgrad::{first_spike_class, NetworkFile};

const TOLERANCE: f64 = 1e-9;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Rows of a CSV file with the expected header, split on commas.
fn read_csv(rel: &str, header: &str) -> Vec<Vec<String>> {
    let path = fixture(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header), "header of {}", path.display());
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
        .collect()
}

fn parse_f64(s: &str) -> f64 {
    // Rust parses "inf" as +inf, which is how the CSVs write "no spike".
    s.parse()
        .unwrap_or_else(|e| panic!("not a number: {s:?} ({e})"))
}

/// The Yin-Yang test split: points and labels.
fn test_set() -> (Vec<(f64, f64)>, Vec<usize>) {
    let rows = read_csv("yinyang/test.csv", "x,y,label");
    assert_eq!(rows.len(), 1000);
    let points = rows
        .iter()
        .map(|r| (parse_f64(&r[0]), parse_f64(&r[1])))
        .collect();
    let labels = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    (points, labels)
}

/// Recorded output times `[1000][3]` and labels of one reference network.
fn recorded(name: &str) -> (Vec<[f64; 3]>, Vec<usize>) {
    let rows = read_csv(
        &format!("reference/{name}_test_output_times.csv"),
        "sample,label,t0,t1,t2",
    );
    assert_eq!(rows.len(), 1000);
    let mut times = Vec::new();
    let mut labels = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 5, "row {k} of {name}");
        assert_eq!(r[0].parse::<usize>().unwrap(), k, "sample index of row {k}");
        labels.push(r[1].parse().unwrap());
        times.push([parse_f64(&r[2]), parse_f64(&r[3]), parse_f64(&r[4])]);
    }
    (times, labels)
}

/// Checks one network; returns the largest deviation from the recorded times.
fn check(name: &str, expected_correct: usize) -> f64 {
    let start = std::time::Instant::now();
    let net = NetworkFile::load(fixture(&format!("reference/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let (points, labels) = test_set();
    let (rec_times, rec_labels) = recorded(name);
    assert_eq!(rec_labels, labels, "{name}: labels differ from test.csv");

    let input: Vec<f64> = points
        .iter()
        .flat_map(|&(x, y)| net.encoding.encode(&[x, y]).unwrap())
        .collect();
    let layers = net.forward(&input, points.len()).unwrap();
    assert_eq!(layers.len(), net.layers.len());
    let out = layers.last().unwrap();
    let n_out = net.layers.last().unwrap().outputs;
    assert_eq!(n_out, 3);

    let mut max_dev = 0.0f64;
    let mut silent = 0;
    let mut correct = 0;
    let mut correct_recorded = 0;
    for (k, rec) in rec_times.iter().enumerate() {
        let ours = &out[k * n_out..(k + 1) * n_out];
        for (j, (&t, &r)) in ours.iter().zip(rec).enumerate() {
            if r == f64::INFINITY {
                silent += 1;
                assert_eq!(
                    t,
                    f64::INFINITY,
                    "{name} sample {k} output {j}: expected no spike"
                );
            } else {
                assert!(r.is_finite(), "{name} sample {k} output {j}: recorded {r}");
                let dev = (t - r).abs();
                assert!(
                    dev <= TOLERANCE,
                    "{name} sample {k} output {j}: got {t}, recorded {r} (|diff| {dev:e})"
                );
                max_dev = max_dev.max(dev);
            }
        }
        correct += usize::from(first_spike_class(ours) == Some(labels[k]));
        correct_recorded += usize::from(first_spike_class(rec) == Some(labels[k]));
    }
    assert_eq!(
        correct_recorded, expected_correct,
        "{name}: accuracy of the recorded times"
    );
    assert_eq!(correct, expected_correct, "{name}: accuracy");
    println!(
        "{name}: {correct}/1000 correct ({:.1} %), {silent} silent outputs, max |t - t_ref| = \
         {max_dev:e}, {:.1} ms",
        correct as f64 / 10.0,
        start.elapsed().as_secs_f64() * 1e3
    );
    max_dev
}

#[test]
fn h30_w_reproduces_reference() {
    check("h30_w", 967);
}

#[test]
fn h30_wa_reproduces_reference() {
    check("h30_wa", 975);
}

#[test]
fn h30_ws_reproduces_reference() {
    check("h30_ws", 982);
}

#[test]
fn h5_ws_reproduces_reference() {
    check("h5_ws", 954);
}

/// The presets the files claim: layer sizes, delay kinds and parameter counts of the fixtures'
/// README.
#[test]
fn reference_files_describe_the_documented_presets() {
    use delgrad::DelayKind;
    for (name, sizes, kind, params) in [
        ("h30_w", [4, 30, 3], DelayKind::None, 210),
        ("h30_wa", [4, 30, 3], DelayKind::Axonal, 244),
        ("h30_ws", [4, 30, 3], DelayKind::Synaptic, 420),
        ("h5_ws", [4, 5, 3], DelayKind::Synaptic, 70),
    ] {
        let net = NetworkFile::load(fixture(&format!("reference/{name}.json"))).unwrap();
        assert_eq!(net.layers.len(), 2, "{name}");
        assert_eq!(net.layers[0].inputs, sizes[0], "{name}");
        assert_eq!(net.layers[0].outputs, sizes[1], "{name}");
        assert_eq!(net.layers[1].outputs, sizes[2], "{name}");
        let mut count = 0;
        for layer in &net.layers {
            assert_eq!(layer.delays.kind(), kind, "{name}");
            count += layer.weights_flat().len();
            count += layer.delays_flat().values().map_or(0, Vec::len);
        }
        assert_eq!(count, params, "{name}");
        assert_eq!(net.lif_params(), delgrad::LifParams::ideal(), "{name}");
        assert_eq!(net.encoding, delgrad::network::Encoding::YIN_YANG, "{name}");
    }
}
